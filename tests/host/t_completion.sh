# Bash completion for polq (dist/bash-completion/polq): sourced into a
# bash, its function called with COMP_WORDS as bash would set them. The
# built polq answers its --help; a store with one incident is not needed:
# incident ids come from `polq incidents`, checked against an empty store
# (nothing offered) only.
source "$(dirname "$0")/lib.sh"
: "${POLQ:?}"

mkdir -p "$WORK/bin" "$WORK/dirs/store-a" "$WORK/dirs/store-b"
: >"$WORK/dirs/file-c"
ln -s "$POLQ" "$WORK/bin/polq"
comp() { # comp WORD...: the completions of the last word, sorted, one line
	PATH=$WORK/bin:$PATH bash --norc --noprofile -c '
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_polq
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$POLREC_SRC/dist/bash-completion/polq" "$@"
}
check "registered for polq" "$(bash --norc -c "source '$POLREC_SRC/dist/bash-completion/polq'; complete -p polq")" "complete -F _polq polq"
check "commands" "$(comp polq '')" "checkpoint export help incidents pcap policies show stats timeline tree verify verify-bundle "
check "commands by prefix" "$(comp polq ver)" "verify verify-bundle "
check "incidents options" "$(comp polq incidents --)" "--color --follow --help --json --lines --no-pager --output --policy --reverse --severity --since --store --until --version "
check "options of a command given by prefix" "$(comp polq --json tim --p)" "--process "
check "pcap options" "$(comp polq pcap 3 --)" "--color --force --help --json --no-pager --output --pcapng --store --version "
check "verify options" "$(comp polq verify --)" "--checkpoint --color --full --help --json --no-pager --output --pubkey --store --version "
check "--severity values" "$(comp polq incidents --severity '')" "critical high low medium "
check "--severity by prefix" "$(comp polq incidents --severity m)" "medium "
check "--store: directories only" "$(comp polq --store "$WORK/dirs/")" "$WORK/dirs/store-a $WORK/dirs/store-b "
check "-o of pcap: files" "$(comp polq pcap 3 -o "$WORK/dirs/file")" "$WORK/dirs/file-c "
check "-o of export: directories" "$(comp polq export 3 -o "$WORK/dirs/")" "$WORK/dirs/store-a $WORK/dirs/store-b "
check "-o formats" "$(comp polq incidents -o '')" "ecs json ocsf text "
check "global options before the command" "$(comp polq --j)" "--json "
check "no ids from a store that does not exist" "$(comp polq --store "$WORK/none" show '')" ""
finish
