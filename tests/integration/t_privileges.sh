# Least privilege: once ready, polrecd's main thread holds only CAP_BPF,
# CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (effective, permitted and bounding
# sets), its other threads nothing, all have no_new_privs set, and still records (verdicts, reading /proc). polq needs
# only read access and never writes to the store; it does not overwrite an
# output file without --force.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/prot"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: priv
spec:
  subjects: [{all: true}]
  files:
    protect: ["$WORK/prot/**"]
YAML
POLRECD_EXTRA="--metrics-file none --metrics-listen 127.0.0.1:0 --ocsf-stream $WORK/ocsf.ndjson" \
	start_polrecd "$WORK/policy.yaml"
# capabilities belong to threads: every thread of polrecd (the store
# writer, the metrics HTTP server) holds no more than the main one, and
# the others hold nothing
NT=0
for t in /proc/"$PRD_PID"/task/*; do
	tid=${t##*/}
	[ "$tid" = "$PRD_PID" ] && continue
	NT=$((NT + 1))
	check "thread $tid ($(cat "$t/comm")): effective" "$(awk '/^CapEff/ {print $2}' "$t/status")" "0000000000000000"
	check "thread $tid: permitted" "$(awk '/^CapPrm/ {print $2}' "$t/status")" "0000000000000000"
	check "thread $tid: bounding" "$(awk '/^CapBnd/ {print $2}' "$t/status")" "0000000000000000"
	check "thread $tid: no_new_privs" "$(awk '/^NoNewPrivs/ {print $2}' "$t/status")" "1"
done
[ "$NT" -ge 2 ] && ok "$NT threads besides the main one checked" || die "expected the writer and the HTTP threads, found $NT"
# CAP_DAC_READ_SEARCH = 2, CAP_SYS_PTRACE = 19, CAP_BPF = 39
WANT=$(printf '%016x' $(( (1 << 2) | (1 << 19) | (1 << 39) )))
st=/proc/$PRD_PID/status
check "effective" "$(awk '/^CapEff/ {print $2}' "$st")" "$WANT"
check "permitted" "$(awk '/^CapPrm/ {print $2}' "$st")" "$WANT"
check "bounding" "$(awk '/^CapBnd/ {print $2}' "$st")" "$WANT"
check "no_new_privs" "$(awk '/^NoNewPrivs/ {print $2}' "$st")" "1"

# still records, with a process that runs as another user
: >"$WORK/prot/root-write"
wait_incident ".path == \"$WORK/prot/root-write\"" >/dev/null || die "no incident after dropping capabilities"
chmod 0711 "$WORK"; chmod 0777 "$WORK/prot"
setpriv --reuid=65534 --regid=65534 --clear-groups sh -c ": >'$WORK/prot/nobody-write'"
ID=$(wait_incident ".path == \"$WORK/prot/nobody-write\"") || die "no incident for another user's write"
check "another user's process is known (exe read from /proc)" \
	"$(polq show "$ID" --json | jq -r '.process.exe')" "$(realpath /bin/sh)"
stop_polrecd

# polq reads a store it cannot write (a read-only copy) and changes nothing
# in it. SQLite's WAL side files (polrec.db-shm, the readers' shared
# index, and an empty polrec.db-wal a reader creates when it is missing)
# are coordination, not content: they are left out of the sums, and the
# WAL must stay empty.
cp -a "$STORE" "$WORK/ro-store"
sums() { (cd "$WORK/ro-store" && find . -type f ! -name '*-shm' ! -name '*-wal' -exec sha256sum {} + | sort | sha256sum); }
SUM=$(sums)
chmod -R a-w "$WORK/ro-store"
"$POLQ" --store "$WORK/ro-store" incidents --json >/dev/null || die "polq cannot read a read-only store"
"$POLQ" --store "$WORK/ro-store" stats >/dev/null || die "polq stats on a read-only store"
check "polq changed nothing" "$(sums)" "$SUM"
check "no WAL content from polq" "$(stat -c %s "$WORK/ro-store/polrec.db-wal" 2>/dev/null || echo 0)" "0"
chmod -R u+w "$WORK/ro-store"

# output files are not overwritten without --force
echo precious >"$WORK/out.pcap"
set +e
polq pcap "$ID" -o "$WORK/out.pcap" 2>"$WORK/err"
rc=$?
set -e
check "pcap refuses to overwrite (exit 2)" "$rc" "2"
check "the file is untouched" "$(cat "$WORK/out.pcap")" "precious"
polq pcap "$ID" -o "$WORK/out.pcap" --force 2>/dev/null
check "--force overwrites" "$(head -c 4 "$WORK/out.pcap" | od -An -tx1 | tr -d ' ')" "4d3cb2a1"
finish
