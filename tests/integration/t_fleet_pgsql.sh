# End to end on loopback: polrecd writes its OCSF stream (--ocsf-stream),
# the shipped rsyslog config tails it into a private PostgreSQL, and SQL on
# the jsonb finds the incident with the violating process (pid, cmd_line)
# and its parent, as this test started them. Then a small
# --ocsf-stream-size forces rotations while more violations happen, and
# every incident must arrive exactly once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fleet_lib.sh"

ROT_SIZE=4096          # bytes: a finding or two per file
ROT_KEEP=50            # enough that rsyslog reads each file before it goes
MORE=10                # violations after the first

"$POLRECD" --help 2>&1 | grep -q -- --ocsf-stream ||
	die "this polrecd has no --ocsf-stream option"
mkdir -p "$WORK/sbin"
cp /bin/bash "$WORK/sbin/nginx"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: daemons-spawn-no-shells
spec:
  severity: critical
  subjects:
    - exe: ["**/nginx"]
  exec:
    deny: ["/bin/*sh", "/usr/bin/*sh", "/usr/bin/dash", "/usr/bin/bash"]
  record:
    follow: 1s
YAML
# the fake daemon records its pid, then runs a shell script with plain
# argv (no blanks: any joining of argv into cmd_line gives the same text)
cat >"$WORK/daemon.sh" <<'SH'
echo $$ >"$1/daemon.$2.pid"
/bin/sh "$1/v.sh" "$1" "$2"
true
SH
cat >"$WORK/v.sh" <<'SH'
echo $$ >"$1/shell.$2.pid"
SH

pg_start
rsyslog_start
POLRECD_EXTRA="--ocsf-stream $STREAM --ocsf-stream-size $ROT_SIZE --ocsf-stream-keep $ROT_KEEP"
start_polrecd "$WORK/policy.yaml"

"$WORK/sbin/nginx" "$WORK/daemon.sh" "$WORK" 0
D=$(cat "$WORK/daemon.0.pid")
V=$(cat "$WORK/shell.0.pid")
wait_incidents 1 || die "no incident in the store"
ID=$(incident_id '.policy == "daemons-spawn-no-shells"')
[ -n "$ID" ] || die "no incident id"
check "the stream file is private" "$(stat -c %a "$STREAM")" "600"
wait_rows 1 30 "class_uid = 2004" || die "the finding did not reach PostgreSQL within 30 s"

# the row whose finding_info.uid names incident ID (the id alone, or
# with a prefix such as a store id)
BY_ID="finding_uid = :'id' OR finding_uid ~ ('[^0-9]' || :'id' || '\$')"
check "one row for the incident" \
	"$(pgq -v id="$ID" <<<"SELECT count(*) FROM polrec_findings WHERE $BY_ID;")" "1"
check "a Detection Finding" \
	"$(pgq -v id="$ID" <<<"SELECT class_uid, finding #>> '{metadata,version}' FROM polrec_findings WHERE $BY_ID;")" \
	"2004|1.2.0"
check "severity critical (5)" \
	"$(pgq -v id="$ID" <<<"SELECT severity_id FROM polrec_findings WHERE $BY_ID;")" "5"
check "title names the expectation" \
	"$(pgq -v id="$ID" <<<"SELECT title LIKE '%daemons-spawn-no-shells%' FROM polrec_findings WHERE $BY_ID;")" "t"
# the violating process: the finding's first evidence, with its lineage as
# nested parent_process (query/ocsf.c)
PROC="(finding #> '{evidences,0,process}')"
check "violator's pid and cmd_line" \
	"$(pgq -v id="$ID" -v v="$V" <<<"SELECT $PROC ->> 'pid', $PROC ->> 'cmd_line' FROM polrec_findings WHERE $BY_ID;")" \
	"$V|/bin/sh $WORK/v.sh $WORK 0"
check "violator's executable" \
	"$(pgq -v id="$ID" -v v="$V" <<<"SELECT $PROC #>> '{file,path}' FROM polrec_findings WHERE $BY_ID;")" \
	"$(realpath /bin/sh)"
check "lineage: the parent is the fake daemon" \
	"$(pgq -v id="$ID" -v v="$V" <<<"SELECT $PROC #>> '{parent_process,pid}', $PROC #>> '{parent_process,file,path}', $PROC #>> '{parent_process,cmd_line}' FROM polrec_findings WHERE $BY_ID;")" \
	"$D|$WORK/sbin/nginx|$WORK/sbin/nginx $WORK/daemon.sh $WORK 0"
check "lineage: then this test's shell" \
	"$(pgq -v id="$ID" -v v="$V" <<<"SELECT $PROC #>> '{parent_process,parent_process,pid}' FROM polrec_findings WHERE $BY_ID;")" \
	"$$"
check "the incident's activity records arrived, correlated by the finding's uid" \
	"$(pgq -v id="$ID" <<<"SELECT count(*) > 0 FROM polrec_findings a JOIN polrec_findings f
		ON a.finding #>> '{metadata,correlation_uid}' = f.finding_uid
		WHERE a.class_uid IN (1001, 1007, 4001) AND f.class_uid = 2004
		AND (f.finding_uid = :'id' OR f.finding_uid ~ ('[^0-9]' || :'id' || '\$'));")" "t"
check "the same process as polq shows" \
	"$(polq show "$ID" --json | jq -r '[.process.pid, .lineage[1].pid] | @tsv')" "$V	$D"

# rotation: more violations through a stream of a few KB per file
for i in $(seq 1 "$MORE"); do
	"$WORK/sbin/nginx" "$WORK/daemon.sh" "$WORK" "$i"
	sleep 0.2
done
wait_incidents $((MORE + 1)) || die "expected $((MORE + 1)) incidents in the store"
[ -e "$STREAM.1" ] || die "no rotation happened ($STREAM.1 missing) at --ocsf-stream-size $ROT_SIZE"
ok "the stream rotated ($(find "$WORK" -maxdepth 1 -name 'ocsf.ndjson.*' | wc -l) rotated files)"
wait_rows $((MORE + 1)) 60 "class_uid = 2004" || die "findings missing after rotation"
sleep 2          # a duplicate row would come now
check "rows: one per incident" \
	"$(pgq <<<"SELECT count(*), count(DISTINCT finding_uid) FROM polrec_findings WHERE class_uid = 2004;")" \
	"$((MORE + 1))|$((MORE + 1))"
echo "info: deliveries: $(pgq <<<"SELECT sum(copies) FROM polrec_findings;") for $((MORE + 1)) findings"
for id in $(polq incidents --json | jq -r .id); do
	n=$(pgq -v id="$id" <<<"SELECT count(*) FROM polrec_findings WHERE $BY_ID;")
	[ "$n" = 1 ] || { echo "FAIL: incident $id has $n rows" >&2; FAILS=$((FAILS + 1)); }
done
for i in $(seq 1 "$MORE"); do
	v=$(cat "$WORK/shell.$i.pid")
	n=$(pgq -v v="$v" <<<"SELECT count(*) FROM polrec_findings WHERE class_uid = 2004 AND finding #>> '{evidences,0,process,pid}' = :'v' AND finding #> '{evidences,0,process,parent_process}' IS NOT NULL;")
	[ "$n" = 1 ] || { echo "FAIL: violator $v (round $i) in $n rows" >&2; FAILS=$((FAILS + 1)); }
done
check "nothing failed to parse" \
	"$(pgq <<<"SELECT count(*) FROM polrec_findings WHERE ingest_error IS NOT NULL;")" "0"
stop_polrecd
rsyslog_stop
finish
