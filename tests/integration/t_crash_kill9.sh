# Crash safety: polrecd is killed with SIGKILL at a random moment during a
# burst of violations (file writes and UDP sends with packet capture), 20
# times in a row on the same store. After each kill the database passes
# PRAGMA integrity_check and polq verify (the hash chain), every incident
# listed is whole (its violator,
# lineage and violating event are there), every pcap segment the index
# names is readable, and the next start goes on appending (ids only grow).
source "$(dirname "$0")/lib.sh"
: "${NETPEER:?NETPEER must point at the netpeer test tool}"
command -v sqlite3 >/dev/null || die "sqlite3 (the CLI) is missing: CI installs it"

mkdir -p "$WORK/prot" "$WORK/bin"
cp "$NETPEER" "$WORK/bin/sender"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: crash
spec:
  subjects: [{all: true}]
  files:
    protect: ["$WORK/prot/**"]
  record:
    follow: 0s
---
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: crash-net
spec:
  subjects: [{exe: ["$WORK/bin/sender"]}]
  network:
    egress: []
  record:
    follow: 1s
YAML

sql() { sqlite3 -readonly "$STORE/polrec.db" "$1"; }
LAST_MAX=0
for round in $(seq 1 20); do
	start_polrecd "$WORK/policy.yaml"
	(
		for i in $(seq 1 400); do
			: >"$WORK/prot/r${round}_$i"
			[ $((i % 50)) -eq 0 ] && "$WORK/bin/sender" udp-send 127.66.0.1 4000 "round $round $i" >/dev/null
		done
	) &
	BURST=$!
	sleep "0.$((RANDOM % 9 + 1))"
	kill -KILL "$PRD_PID"
	wait "$PRD_PID" 2>/dev/null || true
	PRD_PID=
	wait "$BURST" 2>/dev/null || true

	[ "$(sql 'PRAGMA integrity_check')" = ok ] || die "round $round: integrity_check failed"
	polq verify >/dev/null 2>"$WORK/verify.err" || die "round $round: polq verify: $(cat "$WORK/verify.err")"
	bad=$(sql "SELECT count(*) FROM incidents i WHERE i.proc_image_id IS NULL
		OR NOT EXISTS (SELECT 1 FROM incident_lineage l WHERE l.incident_id = i.id AND l.depth = 0)
		OR NOT EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND e.mark = 1)")
	[ "$bad" = 0 ] || die "round $round: $bad incidents are not whole"
	orphans=$(sql "SELECT count(*) FROM incident_lineage l LEFT JOIN proc_images p ON p.id = l.image_id WHERE p.id IS NULL")
	[ "$orphans" = 0 ] || die "round $round: $orphans lineage rows without their image"
	max=$(sql "SELECT coalesce(max(id), 0) FROM incidents")
	[ "$max" -ge "$LAST_MAX" ] || die "round $round: incident ids went back ($max < $LAST_MAX)"
	LAST_MAX=$max
	# the last incident with packets exports to a capture tshark reads
	pid_inc=$(sql "SELECT max(f.incident_id) FROM flows f JOIN packets p ON p.flow_id = f.flow_id")
	if [ -n "$pid_inc" ]; then
		polq pcap "$pid_inc" -o "$WORK/r$round.pcap" >/dev/null 2>"$WORK/pcap.err" ||
			die "round $round: incident $pid_inc: $(cat "$WORK/pcap.err")"
	fi
	echo "round $round: killed; $max incidents, store sound"
done
ok "20 kills: integrity_check ok, incidents whole, ids only grow"

# a last clean run appends after the kills
start_polrecd "$WORK/policy.yaml"
: >"$WORK/prot/after"
wait_incident ".path == \"$WORK/prot/after\"" >/dev/null || die "no incident after the restarts"
stop_polrecd
check "ids still grow" "$([ "$(sql 'SELECT max(id) FROM incidents')" -gt "$LAST_MAX" ] && echo yes)" "yes"
check "each SIGKILL was recorded as an unclean stop at the next start" \
	"$(sqlite3 -readonly "$STORE/polrec.db" "SELECT count(*) FROM runs WHERE what = 'unclean-stop' AND instr(CAST(detail AS TEXT), 'recorder was down from') = 1")" "20"
check "leftover segments were closed at start" \
	"$(find "$STORE/pcap" -name '.seg-*.part' | wc -l)" "0"
finish
