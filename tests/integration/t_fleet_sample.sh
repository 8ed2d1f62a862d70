# The fleet path without polrecd: hand-written OCSF findings
# (data/ocsf-sample.ndjson) go through the shipped rsyslog config into a
# private PostgreSQL. Each line must arrive byte for byte (quotes,
# backslashes, non-ASCII, escaped control characters in a file name; a
# 200 KB line), a line that is not JSON is kept without stalling the
# queue, a line over the 4 MiB limit is kept cut and marked, findings
# written while the database is down arrive when it is back, and
# rotations (also one while rsyslog is stopped) and an rsyslog restart
# lose nothing and store each finding once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fleet_lib.sh"

FIXTURE=$POLREC_SRC/tests/integration/data/ocsf-sample.ndjson
pg_start
rsyslog_start

hex() { od -An -tx1 | tr -d ' \n'; }
# emit LINE: append one line with one write(), as polrecd does
emit() { printf '%s\n' "$1" >>"$STREAM"; }
# a fixture finding with another incident id
variant() { jq -c --arg u "$2" '.finding_info.uid = $u' <<<"$1"; }

install -m 0600 /dev/null "$STREAM"
mapfile -t L <"$FIXTURE"
[ "${#L[@]}" -eq 3 ] || die "fixture should hold 3 lines"
for l in "${L[@]}"; do emit "$l"; done
wait_rows 3 || die "the fixture did not arrive"

# 1. byte for byte: the stored line and its hash are the fixture's line
for i in 0 1 2; do
	uid=$(jq -r .finding_info.uid <<<"${L[$i]}")
	check "line $uid kept exactly" \
		"$(pgq -v u="$uid" <<<"SELECT encode(line_sha256, 'hex') FROM polrec_findings WHERE finding_uid = :'u';")" \
		"$(printf '%s' "${L[$i]}" | sha256sum | cut -d' ' -f1)"
	check "line $uid parsed to the same JSON" \
		"$(pgq -v u="$uid" -v j="${L[$i]}" <<<"SELECT finding = :'j'::jsonb FROM polrec_findings WHERE finding_uid = :'u';")" "t"
done
# the hostile file name, compared as bytes after the jsonb round trip
check "quotes, backslashes, non-ASCII and control characters in a file name" \
	"$(pgq <<<"SELECT encode(convert_to(finding #>> '{evidences,0,file,path}', 'UTF8'), 'hex') FROM polrec_findings WHERE finding_uid = '2';")" \
	"$(jq -j '.evidences[0].file.path' <<<"${L[1]}" | hex)"
check "extracted columns" \
	"$(pgq <<<"SELECT class_uid, severity_id, title, device, to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS') FROM polrec_findings WHERE finding_uid = '1';")" \
	"2004|5|daemons-spawn-no-shells: exec.deny /usr/bin/dash|web-1.example.org|2025-11-26T10:01:26.123"
check "sender and source file" \
	"$(pgq <<<"SELECT DISTINCT sender = '$(hostname)', source_file FROM polrec_findings;")" "t|$STREAM"
# lineage: the violator, its parent and grandparent, found by jsonpath
check "violator and lineage by jsonpath" \
	"$(pgq <<<"SELECT finding_uid FROM polrec_findings WHERE finding @? '\$.** ? (@.pid == 4243 && @.parent_process.pid == 4242 && @.parent_process.parent_process.pid == 900)';")" "1"
check "violator's cmd_line" \
	"$(pgq <<<"SELECT jsonb_path_query_first(finding, '\$.**.process ? (@.pid == 4243).cmd_line') #>> '{}' FROM polrec_findings WHERE finding_uid = '1';")" \
	"$(jq -r '.evidences[0].process.cmd_line' <<<"${L[0]}")"

# 2. a 200 KB line (past rsyslog's default 8 KB messages) arrives whole
BIG=$(jq -c '.finding_info.uid = "big" | .evidences[0].process.cmd_line += " " + ("A" * 200000)' \
	<<<"${L[0]}")
emit "$BIG"
# 3. a line that is not JSON (with a quote) is kept and does not stall
emit "not JSON: it's a torn line {\"a\":"
emit "$(variant "${L[2]}" after-bad)"
wait_rows 6 || die "big, bad or after-bad line missing"
check "200 KB line kept exactly" \
	"$(pgq <<<"SELECT encode(line_sha256, 'hex'), length(finding #>> '{evidences,0,process,cmd_line}') FROM polrec_findings WHERE finding_uid = 'big';")" \
	"$(printf '%s' "$BIG" | sha256sum | cut -d' ' -f1)|$(jq -r '.evidences[0].process.cmd_line | length' <<<"$BIG")"
check "non-JSON line kept, marked" \
	"$(pgq <<<"SELECT line, finding IS NULL, ingest_error LIKE 'not JSON:%' FROM polrec_findings WHERE line LIKE 'not JSON:%';")" \
	"not JSON: it's a torn line {\"a\":|t|t"

# 4. the limit: a line over maxMessageSize (4 MiB) arrives cut to 4 MiB,
# kept and marked in the table, and rsyslog says so
HUGE=$(jq -c '.finding_info.uid = "huge" | .evidences[0].process.cmd_line += " " + ("B" * 5000000)' \
	<<<"${L[0]}")
emit "$HUGE"
wait_rows 7 || die "the over-long line was not kept"
check "over-long line: its first 4 MiB, marked" \
	"$(pgq <<<"SELECT octet_length(line), finding IS NULL, ingest_error LIKE 'not JSON:%', encode(line_sha256, 'hex') FROM polrec_findings WHERE line LIKE '%\"uid\":\"huge\"%';")" \
	"4194304|t|t|$(printf '%s' "$HUGE" | head -c 4194304 | sha256sum | cut -d' ' -f1)"
grep -q "message too long (${#HUGE}) with configured size 4194304" "$RSY_LOG" ||
	die "rsyslog did not log the cut line"
unset HUGE

# 5. the database goes away: findings wait in rsyslog's disk queue
pg_stop
for i in 1 2 3; do emit "$(variant "${L[0]}" "outage-$i")"; done
sleep 3
kill -0 "$RSY_PID" || die "rsyslogd died while the database was down"
check "disk queue holds them" "$(find "$RSY_DIR/spool" -name 'polrec-pgsql.0*' | grep -c .)" "1"
grep -q "action 'polrec-pgsql' suspended" "$RSY_LOG" || die "rsyslog did not log the suspension"
# ...also through a crash of rsyslog meanwhile
kill -KILL "$RSY_PID"
wait "$RSY_PID" 2>/dev/null || true
RSY_PID=
rm -f "$RSY_DIR/rsyslogd.pid"
rsyslog_start
pg_restart
wait_rows 10 60 || die "findings written during the outage did not arrive"
check "outage findings" \
	"$(pgq <<<"SELECT count(*) FROM polrec_findings WHERE finding_uid LIKE 'outage-%';")" "3"

# 6. rotation as polrecd does it: PATH.N -> PATH.N+1, PATH -> PATH.1, new PATH
rotate() {
	local i
	for i in 8 7 6 5 4 3 2 1; do
		[ -e "$STREAM.$i" ] && mv "$STREAM.$i" "$STREAM.$((i + 1))"
	done
	mv "$STREAM" "$STREAM.1"
	install -m 0600 /dev/null "$STREAM"
}
for i in 1 2; do emit "$(variant "${L[1]}" "pre-rot-$i")"; done
rotate
for i in 1 2 3; do emit "$(variant "${L[1]}" "post-rot-$i")"; done
wait_rows 15 || die "findings around the rotation missing"

# 7. a rotation while rsyslog is stopped: the rotated file's last line
# still arrives, and the restart re-sends nothing
rsyslog_stop
emit "$(variant "${L[2]}" while-stopped)"
rotate
emit "$(variant "${L[2]}" new-file-while-stopped)"
rsyslog_start
emit "$(variant "${L[2]}" after-restart)"
wait_rows 18 || die "findings around the rsyslog restart missing"
check "the line rotated while rsyslog was stopped, read from PATH.1" \
	"$(pgq <<<"SELECT source_file FROM polrec_findings WHERE finding_uid = 'while-stopped';")" "$STREAM.1"
sleep 2          # a late duplicate row would come now
# one row per finding; a line imfile read twice (it can, across a rename)
# is the same row with copies 2
check "every finding exactly once" \
	"$(pgq <<<"SELECT count(*), count(DISTINCT finding_uid) FROM polrec_findings WHERE finding IS NOT NULL;")" "16|16"
echo "info: deliveries per finding: $(pgq <<<"SELECT sum(copies) FROM polrec_findings;") for 18 rows"
check "nothing failed to parse but the bad and the over-long line" \
	"$(pgq <<<"SELECT count(*) FROM polrec_findings WHERE ingest_error IS NOT NULL;")" "2"
grep -qi "error" "$RSY_ERR" && { cat "$RSY_ERR" >&2; die "rsyslogd wrote errors on stderr"; }
grep -q "action 'polrec-pgsql' resumed" "$RSY_LOG" || die "rsyslog did not log the resumption"
rsyslog_stop
finish
