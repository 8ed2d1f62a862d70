# Self-protection: writes into the recorder's store by another process,
# signals that stop or end polrecd, and ptrace of it are incidents (the
# default policy has such an expectation; this test states the same for
# its own store). A SIGKILL is recorded at the next start from a map the
# probe keeps in bpffs (and as an unclean stop: t_crash_kill9).
source "$(dirname "$0")/lib.sh"
: "${NETPEER:?NETPEER must point at the netpeer test tool}"

cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: recorder-untouched
spec:
  severity: critical
  subjects: [{all: true}]
  files:
    protect: ["$STORE/polrec.db", "$STORE/pcap/**", "$STORE/forged"]
  recorder:
    signals: true
    ptrace: true
  record:
    follow: 0s
YAML
"$POLRECD" --check-policy "$WORK/policy.yaml" >/dev/null || die "the policy does not parse"
"$POLRECD" --print-default-policy >"$WORK/default.yaml"
grep -q "name: recorder-untouched" "$WORK/default.yaml" || die "the default policy does not protect the recorder"
start_polrecd "$WORK/policy.yaml"

echo forged >"$STORE/forged"
ID=$(wait_incident ".path == \"$STORE/forged\"") || die "a write into the store is no incident"
check "store write: rule" "$(polq show "$ID" --json | jq -r .rule)" "files.protect"

kill -STOP "$PRD_PID"; sleep 0.2; kill -CONT "$PRD_PID"
ID=$(wait_incident '.action == "signal"') || die "SIGSTOP is no incident"
polq show "$ID" --json >"$WORK/sig.json"
check "signal: rule" "$(jq -r .rule "$WORK/sig.json")" "recorder.signals"
check "signal: what" "$(jq -r .path "$WORK/sig.json")" "SIGSTOP to polrecd (pid $PRD_PID)"
check "signal: the sender is this test" "$(jq -r .process.pid "$WORK/sig.json")" "$$"
check "signal: kind" "$(jq -r .kind "$WORK/sig.json")" "recorder"
check "polq reading the store is no incident" \
	"$(polq incidents --json | jq -r 'select(.action != "signal" and .action != "ptrace") | .path' | grep -vc "/forged$" || true)" "0"

"$NETPEER" ptrace-attach "$PRD_PID" >/dev/null || die "could not ptrace polrecd"
ID=$(wait_incident '.action == "ptrace"') || die "ptrace is no incident"
check "ptrace: rule" "$(polq show "$ID" --json | jq -r .rule)" "recorder.ptrace"
check "ptrace: by netpeer" "$(polq show "$ID" --json | jq -r .process.exe)" "$NETPEER"
kill -0 "$PRD_PID" || die "polrecd did not survive the ptrace"

kill -HUP "$PRD_PID"   # a reload is not an attack
sleep 1
stop_polrecd           # SIGTERM: recorded before polrecd stops
check "SIGTERM recorded on the way out" \
	"$(polq incidents --json | jq -r 'select(.action == "signal") | .path' | grep -c '^SIGTERM to polrecd')" "1"
check "SIGHUP is not an attack" \
	"$(polq incidents --json | jq -r 'select(.action == "signal") | .path' | grep -c '^SIGHUP' || true)" "0"
check "a clean stop leaves no pinned map" "$([ -e "$(last_words_pin)" ] && echo left || echo none)" "none"

# SIGKILL: its event dies with polrecd, but the probe kept it in a map
# pinned in bpffs; the next start records who sent it
start_polrecd "$WORK/policy.yaml"
KILLED=$PRD_PID
bash -c 'kill -KILL "$1"; exec sleep 60' _ "$KILLED" &
KILLER=$!
BG_PIDS+=("$KILLER")
for _ in $(seq 1 50); do kill -0 "$KILLED" 2>/dev/null || break; sleep 0.1; done
kill -0 "$KILLED" 2>/dev/null && die "polrecd survived SIGKILL"
wait "$KILLED" 2>/dev/null || true
check "the pinned map outlives the killed polrecd" "$([ -e "$(last_words_pin)" ] && echo kept)" "kept"
start_polrecd "$WORK/policy.yaml"
ID=$(wait_incident ".path == \"SIGKILL to polrecd (pid $KILLED)\"") || die "the SIGKILL is no incident after the restart"
polq show "$ID" --json >"$WORK/kill.json"
check "SIGKILL: rule" "$(jq -r .rule "$WORK/kill.json")" "recorder.signals"
check "SIGKILL: the sender" "$(jq -r .process.pid "$WORK/kill.json")" "$KILLER"
check "SIGKILL: its lineage reaches this test" "$(jq -r '.lineage[1].pid' "$WORK/kill.json")" "$$"
check "SIGKILL: a run record names the sender" \
	"$(sqlite3 -readonly "$STORE/polrec.db" "SELECT count(*) FROM runs WHERE what = 'killed' AND CAST(detail AS TEXT) LIKE '%from pid $KILLER %'")" "1"
stop_polrecd
# the record was read once: a restart does not record it again
start_polrecd "$WORK/policy.yaml"
sleep 1
stop_polrecd
check "recorded once" \
	"$(polq incidents --json | jq -r 'select(.path | startswith("SIGKILL to polrecd")) | .id' | wc -l)" "1"
check "a clean stop removed the pin" "$([ -e "$(last_words_pin)" ] && echo left || echo none)" "none"
finish
