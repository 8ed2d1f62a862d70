# SIGHUP reload: a valid new policy replaces the running one (its network
# rules and watched trees too) with no window in which nothing is watched;
# an invalid one is refused with its file:line:column error and the old
# one keeps running. Each policy version in force is recorded.
source "$(dirname "$0")/lib.sh"
: "${NETPEER:?NETPEER must point at the netpeer test tool}"

mkdir -p "$WORK/a" "$WORK/b" "$WORK/both" "$WORK/bin"
cp "$NETPEER" "$WORK/bin/client"
policy() { # policy TREE [EGRESS_CIDR]
	cat <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: trees
spec:
  subjects: [{all: true}]
  files:
    protect: ["$WORK/$1/**", "$WORK/both/**"]
  record:
    follow: 0s
---
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: client-net
spec:
  subjects: [{exe: ["$WORK/bin/client"]}]
  network:
    egress: [{to: ["$2"]}]
  record:
    follow: 0s
YAML
}
policy a 127.0.0.0/8 >"$WORK/policy.yaml"
start_polrecd "$WORK/policy.yaml"

: >"$WORK/a/1"
wait_incident ".path == \"$WORK/a/1\"" >/dev/null || die "policy 1 does not watch a/"
"$WORK/bin/client" udp-send 127.66.0.1 5000 x >/dev/null   # allowed by 127.0.0.0/8

# a writer that never stops while the policy changes under it
( i=0; while [ ! -e "$WORK/stop" ]; do i=$((i + 1)); : >"$WORK/both/w$i"; sleep 0.01; done; echo $i >"$WORK/writes" ) &
WRITER=$!
BG_PIDS+=("$WRITER")
sleep 0.5
policy b 10.0.0.0/8 >"$WORK/policy.yaml.new" && mv "$WORK/policy.yaml.new" "$WORK/policy.yaml"
kill -HUP "$PRD_PID"
for _ in $(seq 1 50); do grep -q "policy reloaded" "$LOG" && break; sleep 0.1; done
grep -q "policy reloaded: version=2" "$LOG" || die "no reload in the log"
sleep 0.5
: >"$WORK/a/2"                                             # not watched any more
: >"$WORK/b/1"                                             # watched now
"$WORK/bin/client" udp-send 127.66.0.2 5000 x >/dev/null   # not allowed any more
wait_incident ".path == \"$WORK/b/1\"" >/dev/null || die "policy 2 does not watch b/"
wait_incident '.network.dst == "127.66.0.2"' >/dev/null || die "policy 2's network rules are not in force"
check "a/ is no longer watched" "$(incident_id ".path == \"$WORK/a/2\"")" ""
check "127.66.0.1 was allowed by policy 1" "$(incident_id '.network.dst == "127.66.0.1"')" ""

# an invalid policy: refused, version 2 stays
printf 'apiVersion: polrec.dev/v1\nkind: Expectation\nmetadata:\n  name: broken\nspec:\n  subjects: [{all: true}]\n  files:\n    protekt: ["/x/**"]\n' >"$WORK/policy.yaml"
kill -HUP "$PRD_PID"
for _ in $(seq 1 50); do grep -q "reload refused" "$LOG" && break; sleep 0.1; done
check "refusal names file, line and column" \
	"$(grep -c "reload refused, policy version 2 stays in force: $WORK/policy.yaml:8:5: unknown key \"protekt\"" "$LOG")" "1"
: >"$WORK/b/2"
wait_incident ".path == \"$WORK/b/2\"" >/dev/null || die "the old policy stopped working after a refused reload"

touch "$WORK/stop"
wait "$WRITER"
sleep 1
stop_polrecd
W=$(cat "$WORK/writes")
check "every write during the reloads is an incident" \
	"$(polq incidents --json | jq -r 'select(.path | contains("/both/w")) | .id' | wc -l)" "$W"
check "versions recorded" \
	"$(sqlite3 -readonly "$STORE/polrec.db" "SELECT what FROM runs WHERE what IN ('start','reload','reload-refused') ORDER BY id" | tr '\n' ' ')" \
	"start reload reload-refused "
# each version in force is stored with its text, and each incident names
# the version that judged it (the refused one is not a version)
check "two policy versions stored" "$(polq --json policies | jq -s 'length')" "2"
V1=$(polq --json policies | jq -rs '.[0].sha256')
V2=$(polq --json policies | jq -rs '.[1].sha256')
check "version 1 is the first file's digest" "$V1" "$(policy a 127.0.0.0/8 | sha256sum | cut -d' ' -f1)"
check "version 2 is the second file's digest" "$V2" "$(policy b 10.0.0.0/8 | sha256sum | cut -d' ' -f1)"
check "version 2's text is stored" "$(polq policies 2 | sha256sum | cut -d' ' -f1)" "$V2"
A1=$(incident_id ".path == \"$WORK/a/1\"")
B1=$(incident_id ".path == \"$WORK/b/1\"")
check "a/1 was judged by version 1" "$(polq --json show "$A1" | jq -r .policy_version.sha256)" "$V1"
check "b/1 was judged by version 2" "$(polq --json show "$B1" | jq -r .policy_version.sha256)" "$V2"
check "incidents carry this boot's id" "$(polq --json show "$B1" | jq -r .boot_id)" \
	"$(cat /proc/sys/kernel/random/boot_id)"
check "every incident names a version" \
	"$(sqlite3 -readonly "$STORE/polrec.db" "SELECT count(*) FROM incidents WHERE policy_version IS NULL OR boot_time IS NULL")" "0"
check "every run record carries boot time" \
	"$(sqlite3 -readonly "$STORE/polrec.db" "SELECT count(*) FROM runs WHERE boot_id IS NULL OR boot_time IS NULL")" "0"
check "the chain is sound" "$(polq verify >/dev/null; echo $?)" "0"
finish
