# A policy with 100,000 CIDR rules loads into the kernel's LPM trie and
# still catches the violation; an address among the rules is allowed.
# Prints the load time and the memory the maps use (README "Network rules").
source "$(dirname "$0")/lib.sh"
: "${NETPEER:?NETPEER must point at the netpeer test tool}"

mkdir -p "$WORK/bin"
cp "$NETPEER" "$WORK/bin/client"
P=$((46000 + RANDOM % 2000))

{
	cat <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: many-cidrs
spec:
  subjects:
    - exe: ["$WORK/bin/client"]
  network:
    egress:
YAML
	# 99,999 rules: /32s, /24s and IPv6 /64s, each with its own port, plus
	# the one that allows 127.0.0.1:P
	awk 'BEGIN {
		for (i = 0; i < 99999; i++) {
			j = int(i / 3)
			if (i % 3 == 0)
				printf "      - {to: [\"10.%d.%d.%d/32\"], ports: [\"%d/tcp\"]}\n", int(j / 65536), int(j / 256) % 256, j % 256, 1000 + i % 50000
			else if (i % 3 == 1)
				printf "      - {to: [\"11.%d.%d.0/24\"], ports: [\"%d/udp\"]}\n", int(j / 256), j % 256, 1000 + i % 50000
			else
				printf "      - {to: [\"fd00:0:%x::/64\"], ports: [\"%d/tcp\"]}\n", j, 1000 + i % 50000
		}
	}'
	echo "      - {to: [\"127.0.0.1/32\"], ports: [\"$P/tcp\"]}"
} >"$WORK/policy.yaml"
check "rules generated" "$(grep -c -- '- {to:' "$WORK/policy.yaml")" "100000"

MEM0=$(awk '/^Percpu:|^Slab:/ {s += $2} END {print s}' /proc/meminfo)
start_polrecd "$WORK/policy.yaml"
grep "network rules loaded" "$LOG" || die "no load line in the log"
MEM1=$(awk '/^Percpu:|^Slab:/ {s += $2} END {print s}' /proc/meminfo)
echo "kernel slab+percpu growth after start: $(( (MEM1 - MEM0) / 1024 )) MiB (rough, shared machine)"
for id in $(bpftool map show 2>/dev/null | awk -F'[: ]+' '/name net_rules/ {print $1}'); do
	bpftool map show id "$id" | sed 's/^/  /'
done

"$WORK/bin/client" tcp-connect 127.0.0.1 "$P" >/dev/null || true
"$WORK/bin/client" tcp-connect 127.66.0.1 "$P" >/dev/null || true
wait_incidents 1 || die "the violation was not caught"
sleep 0.5
check "one incident" "$(polq incidents --json | wc -l)" "1"
check "it is the 127.66.0.1 connect" "$(polq incidents --json | jq -r '.network.dst')" "127.66.0.1"
stop_polrecd
finish
