# A write into a protected tree through a relative path, through a symlink
# and by rename is recorded with the real absolute path resolved in the
# kernel, not the string the program passed.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/prot/sub" "$WORK/free"
ln -s "$WORK/prot" "$WORK/link"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: test-protect
spec:
  severity: high
  subjects:
    - all: true
  files:
    protect: ["$WORK/prot/**"]
  record:
    follow: 0s   # each violation its own incident (no joining)
YAML
start_polrecd "$WORK/policy.yaml"

(cd "$WORK/prot/sub" && echo rel > ../rel.txt)
echo via-link > "$WORK/link/linked.txt"
echo moved > "$WORK/free/m.txt"
(cd "$WORK/free" && mv m.txt ../prot/sub/../moved.txt)
echo benign > "$WORK/free/ok.txt"
# the in-kernel filter caches "not watched" per directory: a directory
# moved into the tree must be watched at once
mkdir "$WORK/free/d"
echo before > "$WORK/free/d/cached.txt"
echo before > "$WORK/free/d/cached.txt"
mv "$WORK/free/d" "$WORK/prot/d"
echo after > "$WORK/prot/d/cached.txt"

wait_incidents 5 --policy test-protect || die "expected 5 incidents"
sleep 0.5
polq incidents --json > "$WORK/inc.json"
check "relative write names the real path" \
	"$(jq -r 'select(.path | endswith("rel.txt")) | .path' "$WORK/inc.json")" "$WORK/prot/rel.txt"
check "symlink write names the real path" \
	"$(jq -r 'select(.path | endswith("linked.txt")) | .path' "$WORK/inc.json")" "$WORK/prot/linked.txt"
check "rename into the tree names the real target" \
	"$(jq -r 'select(.action == "rename" and (.path | endswith("moved.txt"))) | .path' "$WORK/inc.json")" "$WORK/prot/moved.txt"
check "write in a directory moved into the tree" \
	"$(jq -r 'select(.action == "write" and (.path | endswith("cached.txt"))) | .path' "$WORK/inc.json")" "$WORK/prot/d/cached.txt"
check "the move itself" "$(jq -r 'select(.action == "rename" and (.path | endswith("/d"))) | .path' "$WORK/inc.json")" "$WORK/prot/d"
# the test shell broke the expectation twice: the later incident's
# timeline still shows the earlier write, stored once with the first
ID=$(jq -r 'select(.action == "write" and (.path | endswith("cached.txt"))) | .id' "$WORK/inc.json")
check "earlier events of the same violator in a later incident" \
	"$(polq show "$ID" --json | jq -r '[.events[] | select(.path == "'"$WORK/prot/linked.txt"'")] | length')" "1"
check "rule" "$(jq -r '.rule' "$WORK/inc.json" | sort -u)" "files.protect"
check "kind" "$(jq -r '.kind' "$WORK/inc.json" | sort -u)" "file"
check "severity" "$(jq -r '.severity' "$WORK/inc.json" | sort -u)" "high"
check "no incident outside the tree" "$(grep -c ok.txt "$WORK/inc.json" || true)" "0"
check "incidents exit code 0" "$(polq incidents >/dev/null; echo $?)" "0"
check "no such policy exits 1" "$(polq incidents --policy nope >/dev/null 2>&1; echo $?)" "1"
stop_polrecd
# hostile filters are values, never SQL: they match nothing, change nothing
SUM=$(sha256sum "$STORE/polrec.db")
N=$(polq incidents --json | wc -l)
for f in "x' OR 1=1 --" "x\" OR \"1\"=\"1" "'; DROP TABLE incidents; --" "%" "*"; do
	rc=0; out=$(polq incidents --json --policy "$f" 2>/dev/null) || rc=$?
	check "hostile --policy [$f] matches nothing" "$rc:$out" "1:"
done
check "the store is unchanged" "$(sha256sum "$STORE/polrec.db")" "$SUM"
check "every incident is still there" "$(polq incidents --json | wc -l)" "$N"
finish
