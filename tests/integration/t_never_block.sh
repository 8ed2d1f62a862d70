# Never block: with polrecd stopped (SIGSTOP) for a minute, a workload that
# makes events (fork, exec, exit) runs as fast as with polrecd running: the
# ring buffer fills and the kernel counts what it cannot hold instead of
# waiting. When polrecd resumes, the loss is counted and stored.
source "$(dirname "$0")/lib.sh"

N=1500
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: quiet
spec:
  subjects: [{all: true}]
  files:
    protect: ["$WORK/nothing-here/**"]
YAML
workload() { # seconds for N fork+exec of /bin/true
	local s e
	s=$(date +%s%N)
	for _ in $(seq 1 "$N"); do /bin/true; done
	e=$(date +%s%N)
	echo $(( (e - s) / 1000000 ))
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

T_NONE=$(workload)
POLRECD_EXTRA="--ring-bytes 65536" start_polrecd "$WORK/policy.yaml"
T_RUN=$(workload)
kill -STOP "$PRD_PID"
STOPPED_AT=$(date +%s)
T_STOP=$(workload)
T_STOP2=$(workload)
while [ $(( $(date +%s) - STOPPED_AT )) -lt 60 ]; do sleep 1; done
kill -CONT "$PRD_PID"
sleep 3
kill -0 "$PRD_PID" || die "polrecd did not survive a minute of SIGSTOP"
stop_polrecd
echo "ms for $N fork+exec: unwatched $T_NONE, polrecd running $T_RUN, polrecd stopped $T_STOP / $T_STOP2"
echo "ratios to unwatched: running $(ratio "$T_RUN" "$T_NONE"), stopped $(ratio "$T_STOP" "$T_NONE")"
# stopped must not be slower than running (the recorder never makes the
# workload wait); the noise of a shared machine gets 15%
BEST_STOP=$(( T_STOP < T_STOP2 ? T_STOP : T_STOP2 ))
check "stopped recorder does not slow the workload" \
	"$(awk -v s="$BEST_STOP" -v r="$T_RUN" -v n="$T_NONE" 'BEGIN { m = (r > n ? r : n); print (s <= m * 1.15) ? "yes" : "no" }')" "yes"
lost=$(polq stats --json | jq '[.losses[] | select(.stage == "kernel-ringbuf") | .count] | add // 0')
echo "counted lost after resuming: $lost"
check "the loss was counted" "$([ "$lost" -gt 0 ] && echo yes)" "yes"
grep -q "kernel ring buffer full" "$LOG" || die "the loss was not logged"
finish
