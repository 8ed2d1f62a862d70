# Tamper evidence end to end: polrecd writes a few incidents (protected
# tree, a loopback connect with packets); polq verify finds the chain sound,
# signs a checkpoint, exports a bundle; then each tampering, done with the
# sqlite3 CLI on a copy of the store, is caught and named: a flipped byte,
# a deleted row, an inserted row, two reordered chain records, a cut tail
# (only against the checkpoint), a changed pcap segment (--full), a changed
# bundle file.
source "$(dirname "$0")/lib.sh"
: "${NETPEER:?NETPEER must point at the netpeer test tool}"
command -v sqlite3 >/dev/null || die "sqlite3 CLI missing (apt-get install sqlite3)"
command -v openssl >/dev/null || die "openssl CLI missing"

mkdir -p "$WORK/prot" "$WORK/bin"
cp "$NETPEER" "$WORK/bin/client"
cp "$NETPEER" "$WORK/bin/sink"
D=$((46000 + RANDOM % 4000))
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: verify-protect
spec:
  severity: high
  subjects: [{all: true}]
  files:
    protect: ["$WORK/prot/**"]
  record:
    follow: 0s
---
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: verify-egress
spec:
  subjects:
    - exe: ["$WORK/bin/client"]
  network:
    egress:
      - to: ["127.0.0.1/32"]
        ports: ["1/tcp"]
  record:
    snaplen: 200
    follow: 1s
YAML
start_polrecd "$WORK/policy.yaml"
"$WORK/bin/sink" tcp-serve 127.0.0.3 "$D" 1 >/dev/null &
BG_PIDS+=($!)
sleep 0.3
echo one > "$WORK/prot/f1"
echo two > "$WORK/prot/f2"
echo three > "$WORK/prot/f3"
"$WORK/bin/client" tcp-connect 127.0.0.3 "$D" $'GET /polrec-verify HTTP/1.0\r\n\r\n' >/dev/null || true
wait_incidents 4 || die "expected 4 incidents"
sleep 1.5   # the follow window of the network incident
stop_polrecd

DB=$STORE/polrec.db
q() { sqlite3 "$1/polrec.db" "$2"; }
ID1=$(incident_id '.path | endswith("/f1")')
ID2=$(incident_id '.path | endswith("/f2")')
IDN=$(incident_id '.kind == "network"')
[ -n "$ID1" ] && [ -n "$ID2" ] && [ -n "$IDN" ] || die "incidents missing"

# ---- a sound store ----
check "verify: sound" "$(polq verify >/dev/null; echo $?)" "0"
check "verify --full: sound" "$(polq verify --full >/dev/null; echo $?)" "0"
check "verify --json" "$(polq verify --json | jq -r .sound)" "true"
check "packets are chained" "$(q "$STORE" "SELECT count(*) > 0 FROM chain WHERE kind = 'packets'")" "1"
check "runs are chained" "$(q "$STORE" "SELECT count(*) > 0 FROM chain WHERE kind = 'run'")" "1"
check "usage: --checkpoint needs --pubkey" "$(polq verify --checkpoint x >/dev/null 2>&1; echo $?)" "2"

# ---- a checkpoint signed with a key outside the store ----
openssl genpkey -algorithm ed25519 -out "$WORK/key.pem" 2>/dev/null
openssl pkey -in "$WORK/key.pem" -pubout -out "$WORK/pub.pem" 2>/dev/null
check "checkpoint" "$(polq checkpoint --key "$WORK/key.pem" -o "$WORK/cp" >/dev/null; echo $?)" "0"
check "checkpoint: no overwrite" \
	"$(polq checkpoint --key "$WORK/key.pem" -o "$WORK/cp" >/dev/null 2>&1; echo $?)" "2"
check "verify against the checkpoint" \
	"$(polq verify --checkpoint "$WORK/cp" --pubkey "$WORK/pub.pem" >/dev/null; echo $?)" "0"
openssl genpkey -algorithm ed25519 -out "$WORK/other.pem" 2>/dev/null
openssl pkey -in "$WORK/other.pem" -pubout -out "$WORK/other.pub.pem" 2>/dev/null
check "a checkpoint checked with another key" \
	"$(polq verify --checkpoint "$WORK/cp" --pubkey "$WORK/other.pub.pem" 2>&1 >/dev/null | grep -c 'bad signature')" "1"

# ---- an incident bundle ----
check "export" "$(polq export "$IDN" -o "$WORK/bundle" >/dev/null; echo $?)" "0"
check "export: no overwrite" "$(polq export "$IDN" -o "$WORK/bundle" >/dev/null 2>&1; echo $?)" "2"
check "bundle files" "$(ls "$WORK/bundle" | tr '\n' ' ')" "MANIFEST chain.json incident.json incident.pcap incident.pcapng "
check "MANIFEST is sha256sum format" "$(cd "$WORK/bundle" && sha256sum -c --quiet MANIFEST; echo $?)" "0"
check "verify-bundle" "$(polq verify-bundle "$WORK/bundle" >/dev/null; echo $?)" "0"
check "bundle: the incident's chain record" \
	"$(jq -r '[.records[] | select(.kind == "incident")][0].ref' "$WORK/bundle/chain.json")" "$IDN"
printf 'x' | dd of="$WORK/bundle/incident.json" bs=1 seek=3 conv=notrunc 2>/dev/null
check "verify-bundle: a changed file" "$(polq verify-bundle "$WORK/bundle" 2>&1 >/dev/null)" \
	"polq: incident.json: SHA-256 differs from MANIFEST (changed)"

# ---- tampering, each on a fresh copy ----
T=$WORK/t
copy() { rm -rf "$T"; cp -a "$STORE" "$T"; }
tampered() { # tampered DESCRIPTION EXPECTED_LINE [polq verify args]
	local what=$1 want=$2 out rc=0
	shift 2
	out=$("$POLQ" --store "$T" verify "$@" 2>&1 >/dev/null) || rc=$?
	check "$what: exit 1" "$rc" "1"
	check "$what: named" "$out" "polq: $want"
}
seq_of() { q "$T" "SELECT seq FROM chain WHERE kind = '$1' AND ref = $2"; }

copy
S=$(seq_of incident "$ID1")
q "$T" "UPDATE incidents SET path = CAST(replace(CAST(path AS TEXT), '/f1', '/F1') AS BLOB) WHERE id = $ID1"
tampered "flipped byte" "chain record $S (incident $ID1): content changed"

copy
S=$(seq_of incident "$ID1")
q "$T" "UPDATE proc_images SET exe = x'2f746d702f78' WHERE id = (SELECT image_id FROM incident_lineage WHERE incident_id = $ID1 AND depth = 1)"
tampered "changed lineage" "chain record $S (incident $ID1): content changed"

copy
S=$(seq_of incident "$ID2")
q "$T" "DELETE FROM incidents WHERE id = $ID2"
tampered "deleted row" "chain record $S (incident $ID2): record missing (deleted)"

copy
S=$(seq_of incident "$ID2")
q "$T" "DELETE FROM chain WHERE seq = $S"
tampered "deleted chain record" "chain record $S missing (deleted)"

copy
NEW=$(q "$T" "INSERT INTO incidents (time, policy, rule, severity, kind, action, path, expected, actual) VALUES (1, 'verify-protect', 'files.protect', 'high', 'file', 'write', CAST('/etc/x' AS BLOB), x'', x''); SELECT last_insert_rowid()")
tampered "inserted row" "incident $NEW not in the chain (inserted, or the chain's tail was cut)"

copy
S=$(seq_of incident "$ID1")
q "$T" "CREATE TEMP TABLE a AS SELECT * FROM chain WHERE seq = $S; CREATE TEMP TABLE b AS SELECT * FROM chain WHERE seq = $((S + 1));
UPDATE chain SET (time, kind, ref, first_row, nrows, content, prev, hash) = (SELECT time, kind, ref, first_row, nrows, content, prev, hash FROM b) WHERE seq = $S;
UPDATE chain SET (time, kind, ref, first_row, nrows, content, prev, hash) = (SELECT time, kind, ref, first_row, nrows, content, prev, hash FROM a) WHERE seq = $((S + 1));"
tampered "reordered" "chain records $S and $((S + 1)) out of order"

# the tail: the last records (stop run, closed segment) and their rows go;
# the chain alone still looks sound, the checkpoint catches it
copy
HEAD=$(q "$T" "SELECT max(seq) FROM chain")
CUT=$(q "$T" "SELECT max(seq) + 1 FROM chain WHERE kind NOT IN ('run', 'segment', 'loss')")
[ "$CUT" -le "$HEAD" ] || die "no run/segment records at the chain's tail"
q "$T" "DELETE FROM runs WHERE id IN (SELECT ref FROM chain WHERE kind = 'run' AND seq >= $CUT);
DELETE FROM losses WHERE id IN (SELECT ref FROM chain WHERE kind = 'loss' AND seq >= $CUT);
DELETE FROM chain WHERE seq >= $CUT"
check "cut tail: verify alone passes" "$("$POLQ" --store "$T" verify >/dev/null; echo $?)" "0"
tampered "cut tail" "the chain ends at $((CUT - 1)) but checkpoint $WORK/cp says $HEAD (truncated)" \
	--checkpoint "$WORK/cp" --pubkey "$WORK/pub.pem"

copy
SEG=$(q "$T" "SELECT ref FROM chain WHERE kind = 'segment' ORDER BY seq LIMIT 1")
[ -n "$SEG" ] || die "no closed segment"
printf 'x' | dd of="$T/pcap/seg-$SEG.pcap" bs=1 seek=40 conv=notrunc 2>/dev/null
check "changed segment: verify alone passes" "$("$POLQ" --store "$T" verify >/dev/null; echo $?)" "0"
tampered "changed segment" "pcap segment $SEG ($T/pcap/seg-$SEG.pcap): file changed (its SHA-256 is not the one chained)" --full

finish
