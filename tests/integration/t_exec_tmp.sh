# An exec of a binary from /tmp breaks a "no exec from /tmp" expectation;
# the incident says what ran, who ran it, and shows the exec in events.
source "$(dirname "$0")/lib.sh"

cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: no-exec-from-tmp
spec:
  severity: critical
  subjects: [{all: true}]
  exec:
    deny: ["/tmp/**", "/dev/shm/**", "/var/tmp/**"]
YAML
start_polrecd "$WORK/policy.yaml"

cp /bin/true "$WORK/evil"
/bin/true                         # benign
"$WORK/evil" --flag "two words" &
EVPID=$!
wait $EVPID

wait_incidents 1 || die "no incident"
ID=$(incident_id '.policy == "no-exec-from-tmp"')
polq show "$ID" --json > "$WORK/show.json"
check "kind" "$(jq -r .kind "$WORK/show.json")" "exec"
check "rule" "$(jq -r .rule "$WORK/show.json")" "exec.deny"
check "path" "$(jq -r .path "$WORK/show.json")" "$WORK/evil"
check "pid" "$(jq -r .process.pid "$WORK/show.json")" "$EVPID"
check "argv" "$(jq -c .process.argv "$WORK/show.json")" "[\"$WORK/evil\",\"--flag\",\"two words\"]"
check "time is RFC 3339 with ns" \
	"$(jq -r .time "$WORK/show.json" | grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$')" "1"
check "exec event in the timeline" \
	"$(jq -r '.events[] | select(.kind == "exec") | .path' "$WORK/show.json" | tail -n 1)" "$WORK/evil"
check "lineage ends at pid 1" "$(jq -r '.lineage[-1].pid' "$WORK/show.json")" "1"
check "lineage starts at the violator" "$(jq -r '.lineage[0].pid' "$WORK/show.json")" "$EVPID"
check "parent is this test shell" "$(jq -r '.lineage[1].pid' "$WORK/show.json")" "$$"
check "sha256 of the binary" "$(jq -r .who.sha256 "$WORK/show.json")" "$(sha256sum /bin/true | cut -d' ' -f1)"
check "user name" "$(jq -r .who.user "$WORK/show.json")" "root"
polq show "$ID" > "$WORK/show.txt"
grep -q "no-exec-from-tmp" "$WORK/show.txt" || die "text show lacks the policy"
grep -q -- "--flag" "$WORK/show.txt" || die "text show lacks the argv"
stop_polrecd
finish
