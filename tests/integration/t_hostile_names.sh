# File names with a newline, with bytes that are not UTF-8, and a path of
# about 4000 bytes are recorded faithfully and printed safely: escaped in
# text, valid JSON with the exact bytes in *_b64.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/prot"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: hostile
spec:
  subjects: [{all: true}]
  files:
    protect: ["$WORK/prot/**"]
YAML
start_polrecd "$WORK/policy.yaml"

NL_NAME=$'evil\nFAKE LINE'
echo x > "$WORK/prot/$NL_NAME"
BAD_NAME=$(printf 'bad\xff\xfename')
echo x > "$WORK/prot/$BAD_NAME"
LONG=$WORK/prot
while [ ${#LONG} -lt 3800 ]; do LONG=$LONG/$(printf 'd%.0s' $(seq 1 150)); done
mkdir -p "$LONG"
LONGFILE=$LONG/$(printf 'f%.0s' $(seq 1 $((4000 - ${#LONG} - 1))))
echo x > "$LONGFILE"
check "long path is 4000 bytes" "${#LONGFILE}" "4000"

wait_incidents 3 || die "expected 3 incidents"
sleep 0.5
polq incidents --json > "$WORK/inc.json"
jq -e . "$WORK/inc.json" >/dev/null || die "incidents --json is not valid JSON"
check "newline name round-trips" \
	"$(jq -r 'select(.path | contains("FAKE")) | .path' "$WORK/inc.json")" "$WORK/prot/$NL_NAME"
check "non-UTF-8 name exact in path_b64" \
	"$(jq -r 'select(.path_b64 != null) | .path_b64' "$WORK/inc.json" | base64 -d | od -An -tx1 | tr -d ' \n')" \
	"$(printf '%s' "$WORK/prot/$BAD_NAME" | od -An -tx1 | tr -d ' \n')"
check "4000-byte path exact" \
	"$(jq -r 'select(.path | length > 3000) | .path' "$WORK/inc.json")" "$LONGFILE"

ID=$(incident_id '.path | contains("FAKE")')
polq show "$ID" > "$WORK/show.txt"
check "text output never starts a line with the forged text" "$(grep -c '^FAKE LINE' "$WORK/show.txt" || true)" "0"
grep -qF 'evil\nFAKE LINE' "$WORK/show.txt" || die "newline not escaped as \\n in text output"
polq incidents > "$WORK/list.txt"
check "one text line per incident" "$(wc -l < "$WORK/list.txt")" "3"
grep -qF 'bad\xff\xfename' "$WORK/list.txt" || die "invalid UTF-8 not escaped as \\xNN in text"
ID=$(incident_id '.path | length > 3000')
polq show "$ID" --json | jq -e . >/dev/null || die "show --json of the long path is not valid JSON"
stop_polrecd
finish
