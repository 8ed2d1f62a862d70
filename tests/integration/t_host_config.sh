# The settings file and the policy directories, on a real start:
# polrecd.yaml settings under command-line ones; policy directories merged
# systemd style (an earlier directory's file replaces a later one's of the
# same name, a symlink to /dev/null masks it, file name order); the run
# record's SHA-256 covers every file (path and bytes); a duplicate
# expectation name across files refuses the reload, naming both places.
source "$(dirname "$0")/lib.sh"

ETC=$WORK/etc/policies.d
VENDOR=$WORK/vendor/policies.d
mkdir -p "$ETC" "$VENDOR" "$WORK/a" "$WORK/b" "$WORK/c" "$WORK/d" "$WORK/m"
exp() { # exp NAME TREE
	printf 'apiVersion: polrec.dev/v1\nkind: Expectation\nmetadata:\n  name: %s\nspec:\n  subjects: [{all: true}]\n  files:\n    protect: ["%s/**"]\n  record:\n    follow: 0s\n' "$1" "$WORK/$2"
}
exp base a >"$VENDOR/10-base.yaml"       # replaced by the etc one
exp base c >"$ETC/10-base.yaml"
exp local b >"$ETC/15-local.yaml"
exp masked m >"$VENDOR/20-net.yaml"      # masked
ln -s /dev/null "$ETC/20-net.yaml"
printf 'not a policy' >"$ETC/notes.txt"  # ignored: not *.yaml

cat >"$WORK/polrecd.yaml" <<YAML
# settings; --store on the command line wins over this one
store: $WORK/not-this-store
policy-dir: [$ETC, $VENDOR]
context-window: 30s
record-all-writes: false
YAML
POLRECD_EXTRA="--config $WORK/polrecd.yaml" start_polrecd -
check "the command line's store is used" "$([ -d "$WORK/not-this-store" ] && echo created || echo untouched)" "untouched"

for t in a b c m; do : >"$WORK/$t/1"; done
wait_incident ".path == \"$WORK/c/1\"" >/dev/null || die "etc/10-base.yaml (c/) is not in force"
wait_incident ".path == \"$WORK/b/1\"" >/dev/null || die "etc/15-local.yaml (b/) is not in force"
sleep 0.5
check "the vendor file of the same name is replaced" "$(incident_id ".path == \"$WORK/a/1\"")" ""
check "a masked file is not loaded" "$(incident_id ".path == \"$WORK/m/1\"")" ""

# the run record: both files in load order, SHA-256 over (path, length, bytes)
framed() { # framed FILE...: what the SHA-256 covers for several files
	local f n i
	for f in "$@"; do
		n=$(stat -c %s "$f")
		printf '%s\0' "$f"
		for i in 56 48 40 32 24 16 8 0; do printf "\\x$(printf %02x $(((n >> i) & 255)))"; done
		cat "$f"
	done
}
WANT=$(framed "$ETC/10-base.yaml" "$ETC/15-local.yaml" | sha256sum | cut -d' ' -f1)
START=$(sqlite3 -readonly "$STORE/polrec.db" "SELECT detail FROM runs WHERE what = 'start'")
check "start record names the files in order" \
	"$(printf '%s' "$START" | grep -o 'policy=[^ ]*')" "policy=$ETC/10-base.yaml,$ETC/15-local.yaml"
check "start record's SHA-256 covers both files" \
	"$(printf '%s' "$START" | grep -o 'sha256=[0-9a-f]*')" "sha256=$WANT"

# a second file using the name "local": refused, naming both files:lines
exp local d >"$ETC/30-dup.yaml"
kill -HUP "$PRD_PID"
for _ in $(seq 1 50); do grep -q "reload refused" "$LOG" && break; sleep 0.1; done
check "duplicate name refused with both places" \
	"$(grep -c "reload refused, policy version 1 stays in force: $ETC/30-dup.yaml:1:1: duplicate expectation name \"local\" (already used by the document at $ETC/15-local.yaml:1:1)" "$LOG")" "1"

# renamed: the reload takes it, and the hash changes with it
exp more d >"$ETC/30-dup.yaml"
kill -HUP "$PRD_PID"
for _ in $(seq 1 50); do grep -q "policy reloaded" "$LOG" && break; sleep 0.1; done
: >"$WORK/d/1"
wait_incident ".path == \"$WORK/d/1\"" >/dev/null || die "the reloaded directory's new file is not in force"
WANT2=$(framed "$ETC/10-base.yaml" "$ETC/15-local.yaml" "$ETC/30-dup.yaml" | sha256sum | cut -d' ' -f1)
check "reload record's SHA-256 covers the three files" \
	"$(sqlite3 -readonly "$STORE/polrec.db" "SELECT detail FROM runs WHERE what = 'reload'" | grep -o 'sha256=[0-9a-f]*')" "sha256=$WANT2"
stop_polrecd

# settings errors: FILE:LINE:COLUMN, exit 2, nothing started
bad() { # bad YAML EXPECTED_MESSAGE
	printf '%s\n' "$1" >"$WORK/bad.yaml"
	local rc=0 out
	out=$("$POLRECD" --config "$WORK/bad.yaml" --store "$WORK/store2" 2>&1) || rc=$?
	check "settings error: $2" "$rc $out" "2 polrecd: $WORK/bad.yaml:$2"
}
bad 'storee: /x' '1:1: unknown setting "storee" (expected a long option of polrecd, see polrecd --help)'
bad $'store: /x\nstore: /y' '2:1: store given twice'
bad 'record-all-writes: 1' '1:20: record-all-writes takes true or false, found "1"'
bad 'context-window: [1s]' '1:17: context-window takes one value, found a list'
bad 'context-window: 2h' "1:17: --context-window '2h': expected a duration like 60s, 5m or 500ms, at most 1h"
bad 'config: /etc/x' '1:1: config is not a setting (only on the command line)'
bad '- store' '1:1: expected a mapping of settings (option: value), found a list'
bad 'store: "unclosed' '2:1: YAML syntax error: found unexpected end of stream'
bad 'store: "/x\nfake: line"' '1:8: store: the value holds the control byte \x0a'
check "no store was created by a refused start" "$([ -e "$WORK/store2" ] && echo created || echo none)" "none"
rc=0; out=$("$POLRECD" --config "$WORK/missing.yaml" 2>&1) || rc=$?
check "an explicit --config that is missing" "$rc $out" "2 polrecd: $WORK/missing.yaml: cannot open: No such file or directory"
rc=0; out=$("$POLRECD" --policy-dir "$WORK/a" --store "$WORK/store2" 2>&1) || rc=$?
check "an explicit --policy-dir without policy files" "$rc $out" "2 polrecd: invalid policy: $WORK/a: no policy file (*.yaml) in this directory"
finish
