# A process posing as a network daemon (a binary named nginx) spawns a
# shell: the exec is judged against the image that runs it.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/sbin"
cp /bin/bash "$WORK/sbin/nginx"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: daemons-spawn-no-shells
spec:
  severity: critical
  subjects:
    - exe: ["**/nginx"]
  exec:
    deny: ["/bin/*sh", "/usr/bin/*sh", "/usr/bin/dash", "/usr/bin/bash"]
YAML
start_polrecd "$WORK/policy.yaml"

# a benign child of the fake daemon, then a shell
"$WORK/sbin/nginx" -c "/bin/true; echo \$\$ > $WORK/daemon.pid; /bin/sh -c 'echo \$\$ > $WORK/shell.pid; true'; true"
/bin/sh -c 'true; true'          # a shell, but not spawned by a daemon

wait_incidents 1 || die "no incident"
sleep 0.5
check "exactly one incident" "$(polq incidents --json | wc -l)" "1"
ID=$(incident_id '.policy == "daemons-spawn-no-shells"')
polq show "$ID" --json > "$WORK/show.json"
check "rule" "$(jq -r .rule "$WORK/show.json")" "exec.deny"
check "shell pid" "$(jq -r .process.pid "$WORK/show.json")" "$(cat "$WORK/shell.pid")"
check "shell path resolved" "$(jq -r .path "$WORK/show.json")" "$(realpath /bin/sh)"
check "parent is the fake daemon" "$(jq -r '.lineage[1].exe' "$WORK/show.json")" "$WORK/sbin/nginx"
check "parent pid" "$(jq -r '.lineage[1].pid' "$WORK/show.json")" "$(cat "$WORK/daemon.pid")"
stop_polrecd
finish
