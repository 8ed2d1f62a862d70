# A three-level chain (script -> sh -> violator) and a double-forked
# violator whose parent exited: polq reconstructs the lineage exactly, with
# the pids and argv the test itself started, up to pid 1.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/bin" "$WORK/prot"
cp /usr/bin/touch "$WORK/bin/violator"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: chain
spec:
  severity: high
  subjects: [{all: true}]
  files:
    protect: ["$WORK/prot/**"]
YAML
cat >"$WORK/level1.sh" <<SH
echo \$\$ > "$WORK/l1.pid"
sh "$WORK/level2.sh" arg-two
true
SH
cat >"$WORK/level2.sh" <<SH
echo \$\$ > "$WORK/l2.pid"
"$WORK/bin/violator" "$WORK/prot/x" &
echo \$! > "$WORK/v.pid"
wait
# double fork: the subshell exits at once, the violator is reparented
( sh -c 'sleep 1; exec "$WORK/bin/violator" "$WORK/prot/y"' & echo \$! > "$WORK/v2.pid" )
true
SH
start_polrecd "$WORK/policy.yaml"

bash "$WORK/level1.sh" one
for _ in $(seq 1 50); do [ -s "$WORK/v2.pid" ] && break; sleep 0.1; done
wait_incidents 2 || die "expected 2 incidents"

ID=$(incident_id '.path | endswith("/prot/x")')
polq show "$ID" --json > "$WORK/x.json"
check "violator pid" "$(jq -r '.lineage[0].pid' "$WORK/x.json")" "$(cat "$WORK/v.pid")"
check "violator argv" "$(jq -c '.lineage[0].argv' "$WORK/x.json")" "[\"$WORK/bin/violator\",\"$WORK/prot/x\"]"
check "level2 pid" "$(jq -r '.lineage[1].pid' "$WORK/x.json")" "$(cat "$WORK/l2.pid")"
check "level2 argv" "$(jq -c '.lineage[1].argv' "$WORK/x.json")" "[\"sh\",\"$WORK/level2.sh\",\"arg-two\"]"
check "level1 pid" "$(jq -r '.lineage[2].pid' "$WORK/x.json")" "$(cat "$WORK/l1.pid")"
check "level1 argv" "$(jq -c '.lineage[2].argv' "$WORK/x.json")" "[\"bash\",\"$WORK/level1.sh\",\"one\"]"
check "test shell" "$(jq -r '.lineage[3].pid' "$WORK/x.json")" "$$"
check "ends at pid 1" "$(jq -r '.lineage[-1].pid' "$WORK/x.json")" "1"
check "ppid links" "$(jq -r '[.lineage as $l | range(0; ($l|length)-1) | select($l[.].ppid != $l[.+1].pid)] | length' "$WORK/x.json")" "0"
check "write in events" "$(jq -r '.process.pid as $v | .events[] | select(.kind == "write" and .pid == $v) | .path' "$WORK/x.json")" "$WORK/prot/x"

ID=$(incident_id '.path | endswith("/prot/y")')
polq show "$ID" --json > "$WORK/y.json"
check "double-forked violator pid" "$(jq -r '.lineage[0].pid' "$WORK/y.json")" "$(cat "$WORK/v2.pid")"
check "its exited parent's parent is level2" "$(jq -r '.lineage[2].pid' "$WORK/y.json")" "$(cat "$WORK/l2.pid")"
check "then level1" "$(jq -r '.lineage[3].pid' "$WORK/y.json")" "$(cat "$WORK/l1.pid")"
check "ends at pid 1" "$(jq -r '.lineage[-1].pid' "$WORK/y.json")" "1"

V=$(cat "$WORK/v.pid")
polq tree "$V" > "$WORK/tree.txt" || die "polq tree $V failed"
grep -q "level2.sh" "$WORK/tree.txt" || die "tree lacks level2"
PROCID=$(jq -r '.lineage[0].process_id' "$WORK/x.json")
polq tree "$PROCID" --json > /dev/null || die "polq tree $PROCID failed"
check "tree of unknown pid exits 1" "$(polq tree 999999999 >/dev/null 2>&1; echo $?)" "1"
stop_polrecd
finish
