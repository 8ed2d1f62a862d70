# Every shipped rsyslog config (dist/rsyslog/*.conf) passes rsyslogd's own
# validation (-N1) with no error or warning, and a broken one is caught.
# Files a config names under /etc/polrec (CA certificates) are made real in
# a temp dir, since rsyslogd -N1 opens them; nothing else is changed.
source "$(dirname "$0")/lib.sh"

: "${POLREC_SRC:?POLREC_SRC must point at the source tree}"
command -v rsyslogd >/dev/null || die "rsyslogd missing (package rsyslog)"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=polrec-test" \
	-keyout "$WORK/ca.key" -out "$WORK/ca.crt" >/dev/null 2>&1 || die "openssl req failed"
mkdir -p "$WORK/etc"

# validate FILE: rsyslogd -N1 exits 0 and says nothing but its banner
validate() {
	local f=$1 out=$WORK/check.out rc=0
	rsyslogd -N1 -f "$f" >"$out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || { cat "$out" >&2; return 1; }
	if grep -v -e "config validation run" -e "End of config validation run. Bye." "$out" | grep -q .; then
		cat "$out" >&2
		return 1
	fi
}

n=0
for conf in "$POLREC_SRC"/dist/rsyslog/*.conf; do
	name=$(basename "$conf")
	grep -o '/etc/polrec/[A-Za-z0-9._-]*\.crt' "$conf" | sort -u | while read -r p; do
		cp "$WORK/ca.crt" "$WORK/etc/$(basename "$p")"
	done
	sed "s|/etc/polrec/|$WORK/etc/|g" "$conf" >"$WORK/$name"
	if validate "$WORK/$name"; then
		ok "$name passes rsyslogd -N1"
	else
		echo "FAIL: $name refused by rsyslogd -N1" >&2
		FAILS=$((FAILS + 1))
	fi
	# what README promises of each: a disk queue that retries forever,
	# whole lines, inotify, rotation and truncation followed
	for want in 'queue.type="Disk"' 'action.resumeRetryCount="-1"' 'queue.saveOnShutdown="on"' \
		'readMode="0"' 'mode="inotify"' 'reopenOnTruncate="on"' 'discardTruncatedMsg="off"' \
		'maxMessageSize="4m"' 'statefile.directory=' 'queue.spoolDirectory='; do
		grep -qF "$want" "$conf" || { echo "FAIL: $name lacks $want" >&2; FAILS=$((FAILS + 1)); }
	done
	n=$((n + 1))
done
check "three configs shipped" "$n" "3"
check "the pgsql template escapes as standard SQL" \
	"$(grep -c 'option.stdsql="on"' "$POLREC_SRC/dist/rsyslog/polrec-imfile-pgsql.conf")" "1"

# the check can fail: a misspelt parameter and a missing CA are refused
sed 's/reopenOnTruncate=/reopenOnTruncat=/' "$WORK/polrec-imfile-pgsql.conf" >"$WORK/typo.conf"
validate "$WORK/typo.conf" 2>/dev/null && die "a misspelt parameter passed -N1"
ok "a misspelt parameter is refused"
rm -f "$WORK/etc/es-ca.crt"
validate "$WORK/polrec-imfile-elasticsearch.conf" 2>/dev/null && die "a missing CA file passed -N1"
ok "a missing CA file is refused"
finish
