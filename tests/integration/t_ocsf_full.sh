# polrecd --ocsf-stream on a full disk: the stream fails, recording does
# not. Every incident is still in the store, the failures are counted and
# logged (once per run of failures), and the stream file holds only whole
# lines (a short write is cut back off) that pass the OCSF checker.
source "$(dirname "$0")/lib.sh"

: "${OCSF_CHECK:?OCSF_CHECK must point at the ocsf-check binary}"
SCHEMA=${POLREC_SRC:?}/tests/data/ocsf-1.2.0

MNT=$WORK/small
MOUNTED=
full_cleanup() {
	local rc=$?
	set +e # under errexit, (exit $rc) would end the trap before cleanup
	if [ -n "$PRD_PID" ] && kill -0 "$PRD_PID" 2>/dev/null; then
		kill -TERM "$PRD_PID" 2>/dev/null || true
		wait "$PRD_PID" 2>/dev/null || true
	fi
	[ -n "$MOUNTED" ] && { umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true; }
	(exit "$rc")
	cleanup
}
trap full_cleanup EXIT

need_bpf
mkdir -p "$WORK/prot" "$MNT"
# room for about one incident's records, not for ten
mount -t tmpfs -o size=48k,mode=0700 tmpfs "$MNT" || die "cannot mount a tmpfs"
MOUNTED=1
S=$MNT/polrec.ocsf.ndjson
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: ocsf-full
spec:
  severity: high
  subjects: [{all: true}]
  files:
    protect: ["$WORK/prot/**"]
  record:
    follow: 1s
YAML

POLRECD_EXTRA="--ocsf-stream $S"
start_polrecd "$WORK/policy.yaml"
N=10
for i in $(seq 1 $N); do
	sh -c "echo $i > '$WORK/prot/f$i'"
done
wait_incidents $N || die "expected $N incidents in the store"
sleep 1
stop_polrecd

check "every incident is in the store" "$(polq incidents --json | wc -l)" "$N"
LINE=$(grep -o 'incidents streamed=[0-9]* failed=[0-9]*' "$LOG") || die "no stream stop line"
OKN=$(echo "$LINE" | sed 's/.*streamed=\([0-9]*\).*/\1/')
BAD=$(echo "$LINE" | sed 's/.*failed=\([0-9]*\)/\1/')
check "streamed + failed = incidents" "$((OKN + BAD))" "$N"
[ "$BAD" -ge 1 ] || die "the 48k stream took every incident: nothing was tested ($LINE)"
ok "$LINE"
NLOG=$(grep -c 'not streamed (it is in the store)' "$LOG" || true)
NAGAIN=$(grep -c ': writing again' "$LOG" || true)
[ "$NLOG" -ge 1 ] || die "the failure was not logged"
[ "$NLOG" -le $((NAGAIN + 1)) ] || die "failures logged $NLOG times with $NAGAIN recoveries"
ok "failure logged $NLOG time(s), recovered $NAGAIN time(s)"
if [ -s "$S" ]; then
	check "no torn line" "$(tail -c 1 "$S" | od -An -c | tr -d ' ')" '\n'
	"$OCSF_CHECK" "$SCHEMA" "$S" > "$WORK/check.txt" || { tail -n 20 "$WORK/check.txt" >&2; die "stream fails the checker"; }
	ok "what was streamed passes: $(tail -n 1 "$WORK/check.txt")"
	check "findings streamed = streamed count" "$(jq -c 'select(.class_uid == 2004)' "$S" | wc -l)" "$OKN"
else
	check "nothing streamed" "$OKN" "0"
fi
umount "$MNT"
MOUNTED=
finish
