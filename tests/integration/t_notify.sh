# polrecd under systemd's notify protocol (sd_notify): a stand-in notify
# socket (tests/host/notifysock.c) receives what systemd would: READY=1
# once the probes are attached, STATUS= lines that follow the incidents,
# WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 then READY=1 around a
# SIGHUP reload, STOPPING=1 at the end.
source "$(dirname "$0")/lib.sh"
: "${NOTIFYSOCK:?NOTIFYSOCK must point at the notifysock test tool}"
need_bpf

mkdir -p "$WORK/prot"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: notify-test
spec:
  subjects: [{all: true}]
  files:
    protect: ["$WORK/prot/**"]
  record:
    follow: 0s
YAML
SOCK=$WORK/notify.sock
MSGS=$WORK/notify.log
"$NOTIFYSOCK" "$SOCK" >"$MSGS" &
BG_PIDS+=($!)
for _ in $(seq 1 50); do grep -q LISTENING "$MSGS" && break; sleep 0.1; done
grep -q LISTENING "$MSGS" || die "notifysock did not start"

# 1 s: polrecd must ping every 500 ms (the period systemd would enforce)
NOTIFY_SOCKET=$SOCK WATCHDOG_USEC=1000000 start_polrecd "$WORK/policy.yaml"
for _ in $(seq 1 50); do grep -q "READY=1" "$MSGS" && break; sleep 0.1; done
check "READY=1 once ready" "$(grep -c '^MSG [0-9]* READY=1|STATUS=recording: 0 incidents' "$MSGS")" "1"
check "READY=1 after the ready line" "$(grep -c 'polrecd: ready' "$LOG")" "1"

sleep 3
WD=$(grep -c ' WATCHDOG=1$' "$MSGS" || true)
[ "$WD" -ge 5 ] && ok "WATCHDOG=1 pings: $WD in about 3 s" || check "WATCHDOG=1 at least 5 times in 3 s" "$WD" ">= 5"
# the longest gap between pings stays under the 1 s period
GAP=$(grep ' WATCHDOG=1$' "$MSGS" | awk 'NR > 1 && $2 - p > m { m = $2 - p } { p = $2 } END { print m + 0 }')
[ "$GAP" -lt 1000 ] && ok "longest watchdog gap ${GAP} ms" || check "watchdog gap under 1000 ms" "$GAP" "< 1000"

: >"$WORK/prot/x"
wait_incidents 1 || die "no incident"
for _ in $(seq 1 30); do grep -q "STATUS=recording: 1 incidents" "$MSGS" && break; sleep 0.1; done
check "STATUS= follows the incidents" "$(grep -c '^MSG [0-9]* STATUS=recording: 1 incidents, 0 events lost, policy version 1' "$MSGS")" "1"

# a stopped loop stops the pings (what makes systemd restart a wedged one)
kill -STOP "$PRD_PID"
sleep 0.3
N=$(grep -c ' WATCHDOG=1$' "$MSGS")
sleep 1.5
check "no WATCHDOG=1 while the loop is stopped" "$(grep -c ' WATCHDOG=1$' "$MSGS")" "$N"
kill -CONT "$PRD_PID"
for _ in $(seq 1 20); do [ "$(grep -c ' WATCHDOG=1$' "$MSGS")" -gt "$N" ] && break; sleep 0.1; done
check "WATCHDOG=1 again once it runs" "$([ "$(grep -c ' WATCHDOG=1$' "$MSGS")" -gt "$N" ] && echo yes)" "yes"

N=$(wc -l <"$MSGS")
kill -HUP "$PRD_PID"
for _ in $(seq 1 50); do grep -q "policy reloaded" "$LOG" && break; sleep 0.1; done
sleep 0.3
AFTER=$(tail -n +"$((N + 1))" "$MSGS" | grep -v ' WATCHDOG=1$' | cut -d' ' -f3- | cut -c1-37 | head -n 2 | tr '\n' ';')
check "RELOADING=1 then READY=1 around SIGHUP" \
	"$(printf '%s' "$AFTER" | sed 's/MONOTONIC_USEC=[0-9]*/MONOTONIC_USEC=N/')" \
	"RELOADING=1|MONOTONIC_USEC=N;READY=1|STATUS=recording: 1 incidents;"
check "the new version in STATUS=" "$(grep -c 'READY=1|STATUS=.*policy version 2' "$MSGS")" "1"

stop_polrecd
sleep 0.2
check "STOPPING=1 on stop" "$(grep -c ' STOPPING=1$' "$MSGS")" "1"
finish
