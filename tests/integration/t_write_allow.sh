# A subject that may write only below one tree breaks its expectation when
# it writes anywhere else; other processes are not judged by it.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/bin" "$WORK/allowed" "$WORK/elsewhere"
cp /usr/bin/touch "$WORK/bin/writer"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: writer-confined
spec:
  severity: medium
  subjects:
    - exe: ["$WORK/bin/writer"]
  files:
    writeAllow: ["$WORK/allowed/**"]
YAML
start_polrecd "$WORK/policy.yaml"

"$WORK/bin/writer" "$WORK/allowed/fine"
touch "$WORK/elsewhere/by-touch"       # not a subject
"$WORK/bin/writer" "$WORK/elsewhere/bad" &
BADPID=$!
wait $BADPID

wait_incidents 1 || die "no incident"
sleep 0.5
polq incidents --json > "$WORK/inc.json"
check "one incident" "$(wc -l < "$WORK/inc.json")" "1"
check "path" "$(jq -r .path "$WORK/inc.json")" "$WORK/elsewhere/bad"
check "rule" "$(jq -r .rule "$WORK/inc.json")" "files.writeAllow"
check "policy" "$(jq -r .policy "$WORK/inc.json")" "writer-confined"
check "pid" "$(jq -r .process.pid "$WORK/inc.json")" "$BADPID"
check "exe" "$(jq -r .process.exe "$WORK/inc.json")" "$WORK/bin/writer"
check "argv" "$(jq -c .process.argv "$WORK/inc.json")" "[\"$WORK/bin/writer\",\"$WORK/elsewhere/bad\"]"
check "uid" "$(jq -r .process.uid "$WORK/inc.json")" "0"
check "severity filter" "$(polq incidents --severity medium --json | wc -l)" "1"
check "severity filter excludes" "$(polq incidents --severity critical --json | wc -l)" "0"
stop_polrecd
finish
