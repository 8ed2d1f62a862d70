# The man pages: built by scdoc into the build tree, rendered by man(1)
# without a groff warning, and complete: every option `polq --help` and
# `polrecd --help` list, every polq command, and every key of the policy
# parser's key tables (recorder/policy.c) appear in their page. The lists
# are taken from the programs and the parser, not written here.
source "$(dirname "$0")/lib.sh"
: "${POLQ:?}" "${POLRECD:?}"

render() { # render PAGE: plain text, with groff's warnings on stderr
	MANWIDTH=100 MAN_KEEP_FORMATTING=0 man --nh --nj --warnings=all -l "$POLREC_BUILD/man/$1" 2>"$WORK/$1.warn" | col -b
}
for page in polq.1 polrecd.8 polrec-policy.5; do
	[ -s "$POLREC_BUILD/man/$page" ] || die "$page not built (scdoc)"
	render "$page" >"$WORK/$page.txt"
	check "$page renders without warnings" "$(cat "$WORK/$page.warn")" ""
	check "$page has NAME and SEE ALSO" "$(grep -c -E '^(NAME|SEE ALSO)$' "$WORK/$page.txt")" "2"
done

# options: every --long and -s token the help texts list
missing() { # missing PAGE WORD...: the words the page lacks
	local page=$1 w; shift
	for w in "$@"; do
		grep -q -F -e "$w" "$WORK/$page.txt" || printf '%s ' "$w"
	done
}
QOPTS=$("$POLQ" --help | grep -o -E '(^|[ [|])--?[a-zA-Z][-a-zA-Z0-9]*' | sed 's/^[ [|]//' | sort -u)
[ "$(printf '%s\n' "$QOPTS" | wc -l)" -ge 15 ] || die "too few options found in polq --help: $QOPTS"
check "polq.1 has every option of polq --help" "$(missing polq.1 $QOPTS)" ""
QCMDS=$("$POLQ" --help | awk '/^Commands/ { c = 1; next } /^[^ ]/ { c = 0 } c && /^  [a-z]/ { print $1 }')
[ "$(printf '%s\n' "$QCMDS" | wc -l)" -ge 10 ] || die "too few commands found in polq --help"
check "polq.1 has every command" "$(for c in $QCMDS; do grep -q -E "^       $c( |$)" "$WORK/polq.1.txt" || printf '%s ' "$c"; done)" ""
check "polq.1 has the exit codes" "$(grep -c -E '^       [012]$' "$WORK/polq.1.txt")" "3"

DOPTS=$("$POLRECD" --help | grep -o -E '(^|[ [|])--?[a-zA-Z][-a-zA-Z0-9]*' | sed 's/^[ [|]//' | sort -u)
[ "$(printf '%s\n' "$DOPTS" | wc -l)" -ge 15 ] || die "too few options found in polrecd --help: $DOPTS"
check "polrecd.8 has every option of polrecd --help" "$(missing polrecd.8 $DOPTS)" ""
check "polrecd.8 has the exit codes" "$(grep -c -E '^       [012]$' "$WORK/polrecd.8.txt")" "3"

KEYS=$(grep -o -E '\{ "[a-zA-Z]+", [a-z_]+ \}' "$POLREC_SRC/recorder/policy.c" | sed -E 's/\{ "([a-zA-Z]+)".*/\1/' | sort -u)
[ "$(printf '%s\n' "$KEYS" | wc -l)" -ge 25 ] || die "too few policy keys found in recorder/policy.c"
check "polrec-policy.5 has every key of the policy language" \
	"$(for k in $KEYS; do grep -q -E "(^|[^a-zA-Z])$k([^a-zA-Z]|$)" "$WORK/polrec-policy.5.txt" || printf '%s ' "$k"; done)" ""
check "polrec-policy.5 has every severity" "$(missing polrec-policy.5 low medium high critical)" ""
finish
