# A burst of violations while polq reads the store: polrecd survives (no
# SIGBUS from a reinitialised -shm), and every violation is either an
# incident or a counted loss: incidents + lost == violations.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/prot"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: burst
spec:
  subjects: [{all: true}]
  files:
    protect: ["$WORK/prot/**"]
  record:
    follow: 0s   # each violation its own incident (no joining)
YAML
start_polrecd "$WORK/policy.yaml"
N=3000
( for i in $(seq 1 "$N"); do : > "$WORK/prot/f$i"; done ) &
WRITER=$!
while kill -0 "$WRITER" 2>/dev/null; do polq stats --json >/dev/null || true; sleep 0.02; done
wait "$WRITER"
for _ in $(seq 1 100); do polq stats --json >/dev/null || true; sleep 0.05; done
kill -0 "$PRD_PID" 2>/dev/null || die "polrecd died while polq was reading"
stop_polrecd
inc=$(polq stats --json | jq -r .incidents)
lost=$(polq stats --json | jq -r .lost_events)
check "every violation is an incident or a counted loss" "$((inc + lost))" "$N"
finish
