# Network expectations over loopback: egress allow rules (TCP, UDP, IPv6),
# a host-wide egressDeny, ingress (listen, accept from a peer not allowed),
# and the packets of a violating flow exported to pcap and read by tshark.
# Traffic stays on 127.0.0.0/8 and ::1.
source "$(dirname "$0")/lib.sh"
: "${NETPEER:?NETPEER must point at the netpeer test tool}"

mkdir -p "$WORK/bin"
for n in client server sink other; do cp "$NETPEER" "$WORK/bin/$n"; done
P=$((42000 + RANDOM % 4000))   # allowed port
Q=$((P + 4001))                # not allowed
S2=$((P + 4002))               # a port the server may not listen on
D=$((P + 4003))                # data port of the violating flow with packets

cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: client-egress
spec:
  severity: high
  subjects:
    - exe: ["$WORK/bin/client"]
  network:
    egress:
      - to: ["127.0.0.1/32", "::1/128"]
        ports: ["$P/tcp", "$P/udp"]
  record:
    snaplen: 200
---
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: no-4444
spec:
  subjects: [{all: true}]
  network:
    egressDeny:
      - to: ["127.66.0.0/16"]
        ports: ["4444/tcp"]
---
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: server-ingress
spec:
  subjects:
    - exe: ["$WORK/bin/server"]
  network:
    ingress:
      - from: ["127.0.0.1/32"]
        ports: ["$P/tcp"]
YAML
start_polrecd "$WORK/policy.yaml"

"$WORK/bin/server" tcp-serve 127.0.0.1 "$P" 2 >"$WORK/server.out" &
SERVER=$!
BG_PIDS+=("$SERVER")
"$WORK/bin/sink" tcp-serve 127.0.0.3 "$D" 1 >"$WORK/sink.out" &
SINK=$!
BG_PIDS+=("$SINK")
for _ in $(seq 1 50); do
	grep -q ready "$WORK/server.out" && grep -q ready "$WORK/sink.out" && break
	sleep 0.1
done

# allowed: TCP and UDP to 127.0.0.1:P, IPv6 ::1:P (refused, but allowed)
"$WORK/bin/client" tcp-connect 127.0.0.1 "$P" hello >/dev/null
"$WORK/bin/client" udp-send 127.0.0.1 "$P" hello >/dev/null
"$WORK/bin/client" tcp-connect ::1 "$P" >/dev/null || true
sleep 0.5
check "allowed connections: no incident" "$(polq incidents --json | wc -l)" "0"

# TCP to 127.66.0.1:Q: refused, and a violation
"$WORK/bin/client" tcp-connect 127.66.0.1 "$Q" >/dev/null || true
ID=$(wait_incident '.network.dst == "127.66.0.1"') || die "no incident for the TCP connect"
polq show "$ID" --json >"$WORK/tcp.json"
check "tcp: kind" "$(jq -r .kind "$WORK/tcp.json")" "network"
check "tcp: rule" "$(jq -r .rule "$WORK/tcp.json")" "network.egress"
check "tcp: policy" "$(jq -r .policy "$WORK/tcp.json")" "client-egress"
check "tcp: 5-tuple" "$(jq -r '.network | [.direction, .protocol, .src, .dst, .dport] | join(" ")' "$WORK/tcp.json")" \
	"egress tcp 127.0.0.1 127.66.0.1 $Q"
check "tcp: source port set" "$(jq -r '.network.sport > 0' "$WORK/tcp.json")" "true"
check "tcp: result" "$(jq -r .network.result "$WORK/tcp.json")" "ECONNREFUSED"
check "tcp: violator" "$(jq -r .process.exe "$WORK/tcp.json")" "$WORK/bin/client"
check "tcp: parent is this test" "$(jq -r '.lineage[1].pid' "$WORK/tcp.json")" "$$"
check "tcp: expected names the rule" \
	"$(jq -r '.expected | startswith("network.egress: 127.0.0.1/32")' "$WORK/tcp.json")" "true"

# UDP to a new destination; a second datagram there is not new
"$WORK/bin/client" udp-send 127.66.0.1 "$Q" one >/dev/null
"$WORK/bin/client" udp-send 127.66.0.1 "$Q" two >/dev/null
wait_incident '.network.protocol == "udp"' >/dev/null || die "no incident for the UDP send"
sleep 0.3
polq incidents --json >"$WORK/all.json"
check "udp: incidents (one per process, each a new destination)" \
	"$(jq -r 'select(.network.protocol == "udp") | .network | [.direction, .dst, .dport, .result] | join(" ")' "$WORK/all.json" | sort -u)" \
	"egress 127.66.0.1 $Q ok"

# IPv6 ::1 on a port not allowed
"$WORK/bin/client" tcp-connect ::1 "$Q" >/dev/null || true
ID6=$(wait_incident '.network.dst == "::1"') || die "no incident for IPv6"
check "ipv6: tuple" "$(polq show "$ID6" --json | jq -r '.network | [.protocol, .src, .dst, .dport] | join(" ")')" \
	"tcp ::1 ::1 $Q"

# host-wide deny: any process, 127.66.0.0/16 port 4444
"$WORK/bin/other" tcp-connect 127.66.3.4 4444 >/dev/null || true
IDD=$(wait_incident '.policy == "no-4444"') || die "no incident for the host-wide deny"
polq show "$IDD" --json >"$WORK/deny.json"
check "deny: rule" "$(jq -r .rule "$WORK/deny.json")" "network.egressDeny"
check "deny: violator" "$(jq -r .process.exe "$WORK/deny.json")" "$WORK/bin/other"
check "deny: expected" "$(jq -r .expected "$WORK/deny.json")" "network.egressDeny: 127.66.0.0/16 4444/tcp"

# ingress: listening on a port not served, accepting from a peer not allowed
"$WORK/bin/server" tcp-listen 127.0.0.1 "$S2" >/dev/null
NETPEER_BIND=127.0.0.7 "$WORK/bin/other" tcp-connect 127.0.0.1 "$P" hi >/dev/null
wait_incident '.action == "accept"' >/dev/null || die "no accept incident"
sleep 0.3
polq incidents --json >"$WORK/all.json"
check "listen: incident" \
	"$(jq -r 'select(.policy == "server-ingress" and .action == "listen") | .network | [.direction, .dst, .dport] | join(" ")' "$WORK/all.json")" \
	"ingress 127.0.0.1 $S2"
check "accept: incident" \
	"$(jq -r 'select(.policy == "server-ingress" and .action == "accept") | .network | [.direction, .src, .dst, .dport] | join(" ")' "$WORK/all.json")" \
	"ingress 127.0.0.7 127.0.0.1 $P"

# the packets of a violating flow: handshake included, payload readable
"$WORK/bin/client" tcp-connect 127.0.0.3 "$D" $'GET /polrec-loopback HTTP/1.0\r\nHost: t\r\n\r\n' >/dev/null
IDP=$(wait_incident '.network.dst == "127.0.0.3"') || die "no incident for the data flow"
sleep 1.5   # packets reach the store on the writer's next batch
polq show "$IDP" --json >"$WORK/flow.json"
check "flow: violating flow indexed" \
	"$(jq -r '.flows[] | select(.role == "violation") | .rport' "$WORK/flow.json")" "$D"
check "flow: packets counted" \
	"$(jq -r '.flows[] | select(.role == "violation") | .packets >= 5' "$WORK/flow.json")" "true"
polq pcap "$IDP" -o "$WORK/flow.pcap"
if ! command -v tshark >/dev/null; then
	die "tshark is missing (CI installs it)"
fi
tshark -r "$WORK/flow.pcap" >"$WORK/tshark.out" 2>"$WORK/tshark.err" || die "tshark failed: $(cat "$WORK/tshark.err")"
check "pcap: tshark without warnings" "$(grep -v "Running as user" "$WORK/tshark.err" || true)" ""
check "pcap: the SYN is there" \
	"$(tshark -r "$WORK/flow.pcap" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.port == $D" 2>/dev/null | wc -l)" "1"
check "pcap: the request line" \
	"$(tshark -r "$WORK/flow.pcap" -Y http.request -T fields -e http.request.uri 2>/dev/null)" "/polrec-loopback"
check "pcap: both directions" \
	"$(tshark -r "$WORK/flow.pcap" -Y "tcp.port == $D" -T fields -e ip.src 2>/dev/null | sort -u | tr '\n' ' ')" "127.0.0.1 127.0.0.3 "
check "pcap: truncation visible (snaplen 200)" \
	"$(tshark -r "$WORK/flow.pcap" -T fields -e frame.cap_len 2>/dev/null | sort -n | tail -1 | awk '{print ($1 <= 200)}')" "1"
polq pcap "$IDP" -o "$WORK/flow.pcapng" --pcapng
# --force replaces the name, never what a symlink there points to, and the
# file is new (0600)
echo victim >"$WORK/victim"; chmod 0644 "$WORK/victim"
ln -s "$WORK/victim" "$WORK/link.pcap"
polq pcap "$IDP" -o "$WORK/link.pcap" --force >/dev/null
check "--force through a symlink: the target is untouched" "$(cat "$WORK/victim")" "victim"
check "--force through a symlink: a new private file" "$(stat -c '%F %a' "$WORK/link.pcap")" "regular file 600"
polq pcap "$IDP" -o "$WORK/flow.pcap" >/dev/null 2>&1 && die "an existing file was overwritten without --force"
check "no temporary file left behind" "$(find "$WORK" -maxdepth 1 -name '.polq-*' | wc -l)" "0"
check "pcapng: comment names the process" \
	"$(tshark -r "$WORK/flow.pcapng" -Y "tcp.port == $D" -T fields -e frame.comment 2>/dev/null | head -1 | grep -c "incident $IDP pid .* exe $WORK/bin/client")" "1"
check "pcapng: the direction flag of each packet (inbound and outbound)" \
	"$(tshark -r "$WORK/flow.pcapng" -Y "tcp.port == $D" -T fields -e frame.packet_flags_direction 2>/dev/null | sort -u | tr '\n' ' ')" "0x00000001 0x00000002 "
check "pcapng: the interface's name and description" \
	"$(tshark -r "$WORK/flow.pcapng" -c 1 -T fields -e frame.interface_name -e frame.interface_description 2>/dev/null)" \
	"polrec	polrec incident $IDP: the packets of its flows as the host saw them (cgroup_skb, both directions, raw IP)"

stop_polrecd
finish
