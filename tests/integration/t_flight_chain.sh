# The flight recorder's story: a shell fetches a payload from a local HTTP
# server (the download is a child that exits), writes it into a protected
# tree and runs it. The incident (the violator is the shell) holds the
# download's connection from before the violation, the download's packets
# from the packet flight recorder (tshark shows the GET and the response),
# the write, and the payload's exec after it (the follow window).
source "$(dirname "$0")/lib.sh"
: "${NETPEER:?NETPEER must point at the netpeer test tool}"

mkdir -p "$WORK/bin" "$WORK/etc"
cp "$NETPEER" "$WORK/bin/fetch"
cp "$NETPEER" "$WORK/bin/web"
P=$((43000 + RANDOM % 4000))
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: etc-unchanged
spec:
  severity: critical
  subjects: [{all: true}]
  files:
    protect: ["$WORK/etc/**"]
  record:
    follow: 5s
YAML
# a ring that holds a few seconds of a busy machine's packets
POLRECD_EXTRA="--packet-ring 16384" start_polrecd "$WORK/policy.yaml"

"$WORK/bin/web" tcp-serve 127.0.0.1 "$P" 2 >"$WORK/web.out" &
BG_PIDS+=("$!")
for _ in $(seq 1 50); do grep -q ready "$WORK/web.out" && break; sleep 0.1; done

# the attack, one shell: fetch (a child, gone before the write), write, run
bash -c '
	"$1/bin/fetch" tcp-connect 127.0.0.1 "$2" "$3" >"$1/dl.out"
	echo $$ >"$1/shell.pid"
	sleep 0.3
	printf "#!/bin/sh\ntrue\n" >"$1/etc/payload.sh"
	sleep 0.3
	/bin/sh "$1/etc/payload.sh"
	"$1/bin/fetch" tcp-connect 127.0.0.1 "$2" "$4" >/dev/null   # after: followed
	sleep 0.5
' _ "$WORK" "$P" $'GET /payload.sh HTTP/1.0\r\nHost: t\r\n\r\n' \
	$'GET /second-stage HTTP/1.0\r\nHost: t\r\n\r\n'
grep -q reply "$WORK/dl.out" || die "the download got no reply"

ID=$(wait_incident '.policy == "etc-unchanged"') || die "no incident"
SHELL_PID=$(cat "$WORK/shell.pid")
# the payload's exec arrives during the follow window
for _ in $(seq 1 50); do
	polq show "$ID" --json >"$WORK/show.json"
	jq -e '.events[] | select(.kind == "exec" and .offset_ns > 0)' "$WORK/show.json" >/dev/null && break
	sleep 0.1
done
check "violator is the shell" "$(jq -r .process.pid "$WORK/show.json")" "$SHELL_PID"
check "the write is the violation" \
	"$(jq -r '.events[] | select(.mark == "violation") | [.kind, .path] | join(" ")' "$WORK/show.json")" \
	"write $WORK/etc/payload.sh"
check "the download's connection, before, by another process" \
	"$(jq -r --argjson v "$SHELL_PID" '.events[] | select(.kind == "connect" and .offset_ns < 0 and .pid != $v) | .path' "$WORK/show.json" | grep -c "127.0.0.1:$P")" "1"
check "the download's exec, before" \
	"$(jq -r '.events[] | select(.kind == "exec" and .offset_ns < 0) | .path' "$WORK/show.json" | grep -c "/bin/fetch$")" "1"
check "the payload runs after" \
	"$(jq -r '[.events[] | select(.kind == "exec" and .offset_ns > 0)] | length >= 1' "$WORK/show.json")" "true"
check "a flow from before" "$(jq -r '[.flows[] | select(.role == "before")] | length' "$WORK/show.json")" "1"
for _ in $(seq 1 30); do
	polq show "$ID" --json >"$WORK/show.json"
	jq -e '.flows[] | select(.role == "follow" and .packets > 0)' "$WORK/show.json" >/dev/null && break
	sleep 0.1
done
check "a flow after, by a descendant (follow window)" \
	"$(jq -r '.flows[] | select(.role == "follow") | .payload' "$WORK/show.json" | grep -c "GET /second-stage")" "1"
check "timeline of the shell has the write" \
	"$(polq timeline --process "$SHELL_PID" --json | jq -r 'select(.kind == "write") | .path' | grep -c "etc/payload.sh")" "1"
polq show "$ID" | grep -E '^(=>|   ) *[-+][0-9]' | head -20

polq pcap "$ID" -o "$WORK/chain.pcap"
tshark -r "$WORK/chain.pcap" >/dev/null 2>"$WORK/tshark.err" || die "tshark failed: $(cat "$WORK/tshark.err")"
check "pcap: no warnings" "$(grep -v "Running as user" "$WORK/tshark.err" || true)" ""
check "pcap: the download's GET" \
	"$(tshark -r "$WORK/chain.pcap" -Y http.request -T fields -e http.request.uri 2>/dev/null | head -1)" "/payload.sh"
check "pcap: the response" \
	"$(tshark -r "$WORK/chain.pcap" -Y http.response -T fields -e http.response.code 2>/dev/null | sort -u)" "200"
check "pcap: the second stage, after" \
	"$(tshark -r "$WORK/chain.pcap" -Y http.request -T fields -e http.request.uri 2>/dev/null | tail -1)" "/second-stage"
stop_polrecd
finish
