# Ordinary activity breaks no expectation: no incident at all.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/prot" "$WORK/free"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: quiet
spec:
  subjects: [{all: true}]
  files:
    protect: ["$WORK/prot/**"]
  exec:
    deny: ["$WORK/free/**"]
YAML
start_polrecd "$WORK/policy.yaml"
for i in $(seq 1 50); do echo "$i" > "$WORK/free/f$i"; done
cat "$WORK/prot" 2>/dev/null || true
ls "$WORK/prot" >/dev/null
/bin/true; /bin/ls / >/dev/null; sh -c 'exit 0'
sleep 1
check "no incidents" "$(polq incidents --json | wc -l)" "0"
check "exit code 1 when nothing matched" "$(polq incidents >/dev/null 2>&1; echo $?)" "1"
check "show of a missing incident exits 1" "$(polq show 12345 >/dev/null 2>&1; echo $?)" "1"
stop_polrecd
grep -q "store flushed" "$LOG" || die "no flush logged on SIGTERM"
finish
