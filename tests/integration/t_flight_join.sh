# A second violation of the same expectation by the same process within
# the follow window joins the open incident; one after the window opens a
# new incident. Another process's violation is its own incident.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/etc"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: etc-unchanged
spec:
  subjects: [{all: true}]
  files:
    protect: ["$WORK/etc/**"]
  record:
    follow: 2s
YAML
start_polrecd "$WORK/policy.yaml"

bash -c '
	echo a >"$1/etc/a"
	sleep 0.5
	echo b >"$1/etc/b"     # within 2 s: joins
	sleep 3
	echo c >"$1/etc/c"     # after the window: a new incident
' _ "$WORK"
wait_incidents 2 || die "expected two incidents"
sleep 0.5
polq incidents --json >"$WORK/inc.json"
check "two incidents" "$(wc -l <"$WORK/inc.json")" "2"
FIRST=$(jq -r 'select(.path | endswith("/etc/a")) | .id' "$WORK/inc.json")
check "the first holds two violations" "$(polq show "$FIRST" --json | jq -r .violations)" "2"
check "the joined one is marked" \
	"$(polq show "$FIRST" --json | jq -r '.events[] | select(.mark == "joined") | .path')" "$WORK/etc/b"
check "the second is the write after the window" \
	"$(jq -r 'select(.id != '"$FIRST"') | .path' "$WORK/inc.json")" "$WORK/etc/c"
polq show "$FIRST" | sed -n '/events/,$p' | head -12
stop_polrecd
finish
