# A fork storm of 10,000 short processes with a small context cap: the
# process table stays under the cap (exited processes are let go early,
# counted), polrecd's memory stays bounded, and the incidents raised
# during the storm keep their whole lineage up to this test.
source "$(dirname "$0")/lib.sh"

CAP_MB=4
mkdir -p "$WORK/etc"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: etc-unchanged
spec:
  subjects: [{all: true}]
  files:
    protect: ["$WORK/etc/**"]
  record:
    follow: 0s
YAML
POLRECD_EXTRA="--context-memory ${CAP_MB}M" start_polrecd "$WORK/policy.yaml"

# 10,000 processes; every 1,000th writes into the tree from two levels down
for i in $(seq 1 10000); do
	if [ $((i % 1000)) -eq 0 ]; then
		/bin/sh -c '/bin/sh -c "echo x > $1/etc/f$2"' _ "$WORK" "$i"
	else
		/bin/true
	fi
done
wait_incidents 10 || die "expected 10 incidents"
RSS_KB=$(awk '/^VmHWM/ {print $2}' "/proc/$PRD_PID/status")
stop_polrecd
PEAK=$(grep -o 'context_peak=[0-9]*' "$LOG" | cut -d= -f2)
EVICTED=$(grep -o 'context_evicted=[0-9]*' "$LOG" | cut -d= -f2)
echo "context peak $PEAK bytes (cap $((CAP_MB << 20))), evicted $EVICTED, polrecd VmHWM $((RSS_KB / 1024)) MiB"
check "context under the cap" "$([ "$PEAK" -le $((CAP_MB << 20)) ] && echo yes)" "yes"
check "early evictions were counted" "$([ "$EVICTED" -gt 0 ] && echo yes)" "yes"
# the ring buffer (16 MiB), SQLite's cache and the binary come on top
check "polrecd resident memory bounded (< 128 MiB)" "$([ "$RSS_KB" -lt $((128 * 1024)) ] && echo yes)" "yes"
check "10 incidents" "$(polq incidents --json | wc -l)" "10"
check "every incident's lineage reaches this test" \
	"$(for id in $(polq incidents --json | jq -r .id); do
		polq show "$id" --json | jq -r --argjson t $$ '[.lineage[] | select(.pid == $t)] | length'
	done | sort -u)" "1"
check "and is at least 3 deep (sh, sh, test)" \
	"$(for id in $(polq incidents --json | jq -r .id); do
		polq show "$id" --json | jq -r '.lineage | length >= 3'
	done | sort -u)" "true"
finish
