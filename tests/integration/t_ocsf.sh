# polrecd --ocsf-stream: a real violation reaches the stream as an OCSF
# 1.2.0 Detection Finding (and its activity records) that passes the
# schema checker, names the violating process and its parent, and says
# what `polq export -o ocsf` says; a small --ocsf-stream-size forces
# rotation, and the generations stay bounded with no line torn.
source "$(dirname "$0")/lib.sh"

: "${OCSF_CHECK:?OCSF_CHECK must point at the ocsf-check binary}"
SCHEMA=${POLREC_SRC:?}/tests/data/ocsf-1.2.0
command -v jq >/dev/null || die "jq is needed"

: "${NETPEER:?NETPEER must point at the netpeer test tool}"
mkdir -p "$WORK/prot" "$WORK/stream" "$WORK/bin"
cp "$NETPEER" "$WORK/bin/client"
cp "$NETPEER" "$WORK/bin/sink"
D=$((46000 + RANDOM % 4000))   # the sink's port: not allowed to the client
S=$WORK/stream/polrec.ocsf.ndjson
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: ocsf-prot
spec:
  severity: critical
  subjects: [{all: true}]
  files:
    protect: ["$WORK/prot/**"]
  record:
    follow: 1s
---
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: ocsf-egress
spec:
  severity: medium
  subjects:
    - exe: ["$WORK/bin/client"]
  network:
    egress:
      - to: ["127.0.0.1/32"]
        ports: ["1/tcp"]
  record:
    follow: 1s
YAML
# the violator's parent: a script whose pid and name the finding must carry
cat >"$WORK/parent.sh" <<SH
echo \$\$ > "$WORK/parent.pid"
touch "$WORK/prot/first" &
echo \$! > "$WORK/child.pid"
wait
SH

POLRECD_EXTRA="--ocsf-stream $S --ocsf-stream-size 16K --ocsf-stream-keep 3"
start_polrecd "$WORK/policy.yaml"
check "stream created 0600" "$(stat -c %a "$S")" "600"

bash "$WORK/parent.sh" one
ID=$(wait_incident ".path == \"$WORK/prot/first\"") || die "no incident for prot/first"
# the stream follows the commit: wait for the finding to appear
UIDQ=
for _ in $(seq 1 100); do
	UIDQ=$(jq -r "select(.class_uid == 2004 and .unmapped.polrec.incident_id == $ID) | .finding_info.uid" "$S" 2>/dev/null | head -n 1)
	[ -n "$UIDQ" ] && break
	sleep 0.1
done
[ -n "$UIDQ" ] || die "incident $ID not in the stream"

"$OCSF_CHECK" "$SCHEMA" "$S" > "$WORK/check1.txt" || { cat "$WORK/check1.txt" >&2; die "stream fails the OCSF schema"; }
ok "stream passes the schema: $(tail -n 1 "$WORK/check1.txt")"
jq -c "select(.class_uid == 2004 and .finding_info.uid == \"$UIDQ\")" "$S" > "$WORK/finding.json"
check "one finding" "$(wc -l < "$WORK/finding.json")" "1"
check "class" "$(jq -r '.type_uid' "$WORK/finding.json")" "200401"
check "severity critical" "$(jq -r '.severity_id' "$WORK/finding.json")" "5"
check "violator pid" "$(jq -r '.evidences[0].process.pid' "$WORK/finding.json")" "$(cat "$WORK/child.pid")"
check "violator image" "$(jq -r '.evidences[0].process.file.path' "$WORK/finding.json")" "$(realpath /usr/bin/touch)"
check "file written" "$(jq -r '.evidences[0].file.path' "$WORK/finding.json")" "$WORK/prot/first"
check "parent pid" "$(jq -r '.evidences[0].process.parent_process.pid' "$WORK/finding.json")" "$(cat "$WORK/parent.pid")"
check "parent command line" "$(jq -r '.evidences[0].process.parent_process.cmd_line' "$WORK/finding.json")" "bash $WORK/parent.sh one"
check "lineage reaches pid 1" "$(jq -r '[.evidences[0].process | recurse(.parent_process; . != null) | .pid] | last' "$WORK/finding.json")" "1"
check "expectation named" "$(jq -r '.unmapped.polrec.expectation' "$WORK/finding.json")" "ocsf-prot"
# its activity records follow it, each pointing back
NREL=$(jq -r '.finding_info.related_events | length' "$WORK/finding.json")
check "activity records streamed" "$(jq -r "select(.metadata.correlation_uid == \"$UIDQ\") | .metadata.uid" "$S" | sort | tr '\n' ' ')" \
	"$(jq -r '.finding_info.related_events[].uid' "$WORK/finding.json" | sort | tr '\n' ' ')"
[ "$NREL" -ge 1 ] || die "the finding names no activity records"
check "the violating write is a File System Activity" \
	"$(jq -r "select(.metadata.correlation_uid == \"$UIDQ\" and .unmapped.polrec.mark == \"violation\") | .class_uid" "$S")" "1001"

# polq export -o ocsf: the same finding (what the stream wrote at commit;
# events the follow window appended later may add related records)
polq export -o ocsf "$ID" > "$WORK/export.ndjson" || die "polq export -o ocsf $ID failed"
"$OCSF_CHECK" "$SCHEMA" "$WORK/export.ndjson" > "$WORK/check2.txt" || { cat "$WORK/check2.txt" >&2; die "export fails the schema"; }
SAME='{uid: .finding_info.uid, title: .finding_info.title, time, severity_id, ev: .evidences, actor, message}'
check "export gives the same finding" "$(head -n 1 "$WORK/export.ndjson" | jq -c "$SAME")" "$(jq -c "$SAME" "$WORK/finding.json")"
check "export -o ecs names the process" "$(polq export -o ecs "$ID" | jq -r '[.event.kind, .process.pid, .process.parent.pid] | join(" ")')" \
	"alert $(cat "$WORK/child.pid") $(cat "$WORK/parent.pid")"

# a network incident over loopback, with the packets of its flow
"$WORK/bin/sink" tcp-serve 127.0.0.3 "$D" 1 >"$WORK/sink.out" &
BG_PIDS+=("$!")
for _ in $(seq 1 50); do grep -q ready "$WORK/sink.out" && break; sleep 0.1; done
"$WORK/bin/client" tcp-connect 127.0.0.3 "$D" $'GET /ocsf HTTP/1.0\r\n\r\n' >/dev/null
NID=$(wait_incident '.network.dst == "127.0.0.3"') || die "no network incident"
for _ in $(seq 1 100); do
	jq -e "select(.class_uid == 2004 and .unmapped.polrec.incident_id == $NID)" "$S" >/dev/null 2>&1 && break
	sleep 0.1
done
jq -c "select(.class_uid == 2004 and .unmapped.polrec.incident_id == $NID)" "$S" > "$WORK/net.json"
check "network finding streamed" "$(wc -l < "$WORK/net.json")" "1"
check "network evidence" "$(jq -r '.evidences[0] | [.src_endpoint.ip, .dst_endpoint.ip, .dst_endpoint.port, .connection_info.direction_id, .connection_info.protocol_name] | join(" ")' "$WORK/net.json")" \
	"127.0.0.1 127.0.0.3 $D 2 tcp"
check "network violator" "$(jq -r '.evidences[0].process.file.path' "$WORK/net.json")" "$WORK/bin/client"
sleep 1.5   # the flow's packets reach the store on the writer's next batches
polq export -o ocsf "$NID" > "$WORK/net.ndjson" || die "polq export -o ocsf $NID failed"
"$OCSF_CHECK" "$SCHEMA" "$WORK/net.ndjson" > "$WORK/check4.txt" || { cat "$WORK/check4.txt" >&2; die "network export fails the schema"; }
ok "network export passes: $(tail -n 1 "$WORK/check4.txt")"
check "the flow's traffic" "$(jq -r "select(.class_uid == 4001 and .activity_id == 6 and .dst_endpoint.port == $D) | .traffic.packets >= 3" "$WORK/net.ndjson" | head -n 1)" "true"
check "ecs network fields" "$(polq export -o ecs "$NID" | jq -r '[.destination.ip, .destination.port, .network.transport, .network.direction] | join(" ")')" \
	"127.0.0.3 $D tcp egress"

# rotation: many incidents through a 16K stream, 3 generations kept
N=40
for i in $(seq 1 $N); do touch "$WORK/prot/f$i"; done
# last, a name with a newline and a byte that is not UTF-8
HOSTILE="$WORK/prot/evil"$'\n'"name"$'\xff'
touch "$HOSTILE"
N=$((N + 1))
wait_incidents $((N + 2)) || die "expected $((N + 2)) incidents"
LAST=$(polq incidents --json | jq -r .id | tail -n 1)
for _ in $(seq 1 100); do
	cat "$S" "$S".[0-9]* 2>/dev/null | jq -e "select(.class_uid == 2004 and .unmapped.polrec.incident_id == $LAST)" >/dev/null 2>&1 && break
	sleep 0.1
done
stop_polrecd
grep -q "rotations=[1-9]" "$LOG" || die "no rotation logged: $(grep 'ocsf stream' "$LOG")"
check "generations bounded" "$(cd "$WORK/stream" && ls | sort | tr '\n' ' ')" \
	"polrec.ocsf.ndjson polrec.ocsf.ndjson.1 polrec.ocsf.ndjson.2 polrec.ocsf.ndjson.3 "
for f in "$S" "$S".1 "$S".2 "$S".3; do
	[ -s "$f" ] || die "$f is empty"
	check "$(basename "$f") ends with a whole line" "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" '\n'
	check "$(basename "$f") mode" "$(stat -c %a "$f")" "600"
	# each generation starts with a finding: an incident never straddles files
	check "$(basename "$f") starts with a finding" "$(head -n 1 "$f" | jq -r .class_uid)" "2004"
done
"$OCSF_CHECK" "$SCHEMA" "$S" "$S".1 "$S".2 "$S".3 > "$WORK/check3.txt" || { tail -n 20 "$WORK/check3.txt" >&2; die "rotated stream fails the schema (or a line is torn)"; }
ok "rotated generations pass: $(tail -n 1 "$WORK/check3.txt")"
check "the newest incident is in the stream" \
	"$(cat "$S" "$S".[0-9] | jq -r "select(.class_uid == 2004 and .unmapped.polrec.incident_id == $LAST) | .unmapped.polrec.incident_id")" "$LAST"
RAW=$(cat "$S" "$S".[0-9] | jq -r 'select(.class_uid == 2004) | .unmapped.polrec.raw_b64["evidences[0].file.path"] // empty' | head -n 1)
[ -n "$RAW" ] || die "no finding kept the raw bytes of the hostile name"
check "hostile name: exact bytes in raw_b64" "$(printf %s "$RAW" | base64 -d | od -An -tx1 | tr -d ' \n')" \
	"$(printf %s "$HOSTILE" | od -An -tx1 | tr -d ' \n')"
check "hostile name: shown with U+FFFD, its newline escaped" \
	"$(cat "$S" "$S".[0-9] | jq -c 'select(.class_uid == 2004 and .unmapped.polrec.raw_b64) | .evidences[0].file.name' | head -n 1)" \
	"$(printf '"evil\\nname\xef\xbf\xbd"')"
STREAMED=$(grep -o 'incidents streamed=[0-9]* failed=[0-9]*' "$LOG")
check "every incident streamed, none failed" "$STREAMED" "incidents streamed=$((N + 2)) failed=0"

# a bad option is refused at start, with the option named
RC=0
MSG=$("$POLRECD" --ocsf-stream "$S" --ocsf-stream-size 12Q 2>&1 >/dev/null) || RC=$?
check "bad size refused" "$MSG rc=$RC" \
	"polrecd: --ocsf-stream-size '12Q': expected bytes (K, M, G suffixes) from 1K to 1024G rc=2"
RC=0
MSG=$("$POLRECD" --ocsf-stream "$S" --ocsf-stream-keep 0 2>&1 >/dev/null) || RC=$?
check "bad keep refused" "$MSG rc=$RC" "polrecd: --ocsf-stream-keep '0': expected generations from 1 to 1000 rc=2"
finish
