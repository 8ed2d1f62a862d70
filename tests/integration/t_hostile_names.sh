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
  record:
    follow: 0s   # each violation its own incident (no joining)
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
# hostile argv: a newline and bytes that are not UTF-8 in the arguments
cp /usr/bin/touch "$WORK/toucher"
ARG_NL=$'one\ntwo'
ARG_BAD=$(printf 'x\xffy')
(cd "$WORK" && "$WORK/toucher" "$WORK/prot/argv-test" "$ARG_NL" "$ARG_BAD")

wait_incidents 4 || die "expected 4 incidents"
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
check "one text line per incident" "$(wc -l < "$WORK/list.txt")" "4"
grep -qF 'bad\xff\xfename' "$WORK/list.txt" || die "invalid UTF-8 not escaped as \\xNN in text"
ID=$(incident_id '.path | endswith("argv-test")')
polq show "$ID" --json > "$WORK/argv.json"
check "argv with a newline round-trips" "$(jq -r '.process.argv[2]' "$WORK/argv.json")" "$ARG_NL"
check "non-UTF-8 argv exact in argv_b64" \
	"$(jq -r '.process.argv_b64[3]' "$WORK/argv.json" | base64 -d | od -An -tx1 | tr -d ' \n')" \
	"$(printf '%s' "$ARG_BAD" | od -An -tx1 | tr -d ' \n')"
polq show "$ID" > "$WORK/argv.txt"
grep -qF 'one\ntwo' "$WORK/argv.txt" || die "argv newline not escaped in text"
check "no line starts with the second half of the argument" "$(grep -c '^two' "$WORK/argv.txt" || true)" "0"
ID=$(incident_id '.path | length > 3000')
polq show "$ID" --json | jq -e . >/dev/null || die "show --json of the long path is not valid JSON"
stop_polrecd
finish
