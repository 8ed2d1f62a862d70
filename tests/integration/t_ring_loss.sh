# Evidence is never dropped silently: with a ring buffer of one page and a
# burst of execs, the kernel counts every failed reserve and the loss
# reaches the log, the store (polq stats) and the incidents' lost_events.
source "$(dirname "$0")/lib.sh"

cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: loss
spec:
  subjects: [{all: true}]
  exec:
    deny: ["$WORK/bin/**"]
YAML
mkdir -p "$WORK/bin"
cp /bin/true "$WORK/bin/t"
need_bpf
"$POLRECD" --store "$STORE" --policy "$WORK/policy.yaml" --ring-bytes 4096 >"$LOG" 2>&1 &
PRD_PID=$!
for _ in $(seq 1 300); do grep -q ready "$LOG" && break; sleep 0.1; done
grep -q ready "$LOG" || die "polrecd not ready"

# a burst far larger than one page can hold between two 10 ms polls
pids=()
for _ in $(seq 1 400); do "$WORK/bin/t" & pids+=($!); done
wait "${pids[@]}"    # not a bare wait: polrecd is a child too
sleep 2
"$WORK/bin/t"          # one more incident, after the loss
sleep 1.5
stop_polrecd
lost=$(polq stats --json | jq -r .lost_events)
[ "$lost" -gt 0 ] || die "no loss recorded after a burst into a 4 KiB ring (lost_events=$lost)"
ok "polq stats shows $lost lost events"
grep -q "kernel ring buffer full" "$LOG" || die "the loss was not logged"
ok "loss logged"
check "loss records name the stage" "$(polq stats --json | jq -r '.losses[0].stage')" "kernel-ringbuf"
last=$(polq incidents --json | tail -n 1 | jq -r .id)
[ "$(polq show "$last" --json | jq -r .lost_events)" -gt 0 ] || die "the last incident does not mention the loss"
ok "incident after the loss carries lost_events"
finish
