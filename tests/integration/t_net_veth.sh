# A subject on this host makes an HTTP request to a server inside a network
# namespace the test creates (a veth pair, addresses of its own): the
# connection breaks an egress rule, and the exported pcap, read by tshark,
# shows the request line. The namespace and the veth pair are always
# removed; no traffic leaves the pair.
source "$(dirname "$0")/lib.sh"
: "${NETPEER:?NETPEER must point at the netpeer test tool}"

NS=polrec-t$$
VA=prv${$}a
VB=prv${$}b
NET=10.213.$((RANDOM % 250))
SERVER=
net_cleanup() {
	if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; fi
	ip link del "$VA" 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	return 0
}
trap 'rc=$?; set +e; net_cleanup; (exit $rc); cleanup' EXIT
need_bpf

mkdir -p "$WORK/bin"
cp "$NETPEER" "$WORK/bin/fetch"
cp "$NETPEER" "$WORK/bin/web"

ip netns add "$NS"
ip link add "$VA" type veth peer name "$VB"
ip link set "$VB" netns "$NS"
ip addr add "$NET.1/30" dev "$VA"
ip link set "$VA" up
ip netns exec "$NS" ip addr add "$NET.2/30" dev "$VB"
ip netns exec "$NS" ip link set "$VB" up
ip netns exec "$NS" ip link set lo up

cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: fetch-stays-local
spec:
  severity: critical
  subjects:
    - exe: ["$WORK/bin/fetch"]
  network:
    egress:
      - to: ["127.0.0.0/8"]
YAML
start_polrecd "$WORK/policy.yaml"

ip netns exec "$NS" "$WORK/bin/web" tcp-serve "$NET.2" 8080 1 >"$WORK/web.out" &
SERVER=$!
BG_PIDS+=("$SERVER")
for _ in $(seq 1 50); do grep -q ready "$WORK/web.out" && break; sleep 0.1; done
grep -q ready "$WORK/web.out" || die "server in the namespace did not start"

"$WORK/bin/fetch" tcp-connect "$NET.2" 8080 \
	$'GET /polrec-veth-request HTTP/1.1\r\nHost: polrec-test\r\n\r\n' >"$WORK/fetch.out"
grep -q "reply" "$WORK/fetch.out" || die "no reply from the namespace: $(cat "$WORK/fetch.out")"
wait_incidents 1 || die "no incident"
ID=$(incident_id '.policy == "fetch-stays-local"')
polq show "$ID" --json >"$WORK/show.json"
check "tuple" "$(jq -r '.network | [.direction, .protocol, .src, .dst, .dport, .result] | join(" ")' "$WORK/show.json")" \
	"egress tcp $NET.1 $NET.2 8080 ok"
sleep 1.5
polq pcap "$ID" -o "$WORK/veth.pcap"
tshark -r "$WORK/veth.pcap" >/dev/null 2>"$WORK/tshark.err" || die "tshark failed: $(cat "$WORK/tshark.err")"
check "tshark reads it without warnings" "$(grep -v "Running as user" "$WORK/tshark.err" || true)" ""
check "the HTTP request line" \
	"$(tshark -r "$WORK/veth.pcap" -Y http.request -T fields -e http.request.method -e http.request.uri -e http.request.version 2>/dev/null)" \
	"$(printf 'GET\t/polrec-veth-request\tHTTP/1.1')"
check "the response" \
	"$(tshark -r "$WORK/veth.pcap" -Y http.response -T fields -e http.response.code 2>/dev/null)" "200"
check "only this flow" \
	"$(tshark -r "$WORK/veth.pcap" -T fields -e tcp.stream 2>/dev/null | sort -u)" "0"
stop_polrecd
finish
