# The installed polrecd.service passes `systemd-analyze verify` with no
# output at all (verify prints unknown keys, bad values and missing
# executables as warnings and still exits 0, so any output fails), its
# Documentation= man pages resolve to the installed ones, it holds the
# settings README.md ("Installing") promises, and its exposure score
# (systemd-analyze security --offline) stays at or below 5.0.
source "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || die "systemd-analyze missing (package systemd, .ci/packages)"

PREFIX=$(configured_prefix)
DEST=$WORK/root
DESTDIR=$DEST cmake --install "$POLREC_BUILD" >/dev/null
UNIT=$DEST$PREFIX/lib/systemd/system/polrecd.service
[ -f "$UNIT" ] || die "no unit at $UNIT"
# the binary lives in DESTDIR: verify checks that ExecStart exists and is
# executable, so point it there (only that line changes)
mkdir -p "$WORK/units"
sed "s#^ExecStart=$PREFIX/sbin/polrecd#ExecStart=$DEST$PREFIX/sbin/polrecd#" "$UNIT" >"$WORK/units/polrecd.service"
check "ExecStart rewritten to the DESTDIR binary" \
	"$(grep -c "^ExecStart=$DEST$PREFIX/sbin/polrecd$" "$WORK/units/polrecd.service")" "1"
verify() { # verify UNIT: verify's whole output, with the man pages of DESTDIR
	MANPATH=$DEST$PREFIX/share/man SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$1" 2>&1 || echo "exit $?"
}
check "systemd-analyze verify: no warnings" "$(verify "$WORK/units/polrecd.service")" ""

# the check can fail: a broken copy is reported
sed -e 's/^UMask=0077/UMask=0077\nProtectSystm=strict/' -e 's/^Documentation=.*/& man:polrecd-nope(8)/' \
	"$WORK/units/polrecd.service" >"$WORK/units/broken.service"
OUT=$(verify "$WORK/units/broken.service")
check "verify catches an unknown key" "$(printf '%s\n' "$OUT" | grep -c "Unknown key 'ProtectSystm'")" "1"
check "verify catches a missing man page" "$(printf '%s\n' "$OUT" | grep -c "man polrecd-nope(8)")" "1"

# what the unit promises
for kv in Type=notify "ExecReload=/bin/kill -HUP \$MAINPID" WatchdogSec=30s Restart=on-failure \
	RestartPreventExitStatus=2 StateDirectory=polrec StateDirectoryMode=0700 \
	ConfigurationDirectory=polrec LogsDirectory=polrec LogsDirectoryMode=0700 UMask=0077 \
	NoNewPrivileges=yes ProtectSystem=strict ProtectHome=read-only PrivateTmp=yes \
	ProtectKernelTunables=yes ProtectControlGroups=yes \
	"CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SETPCAP CAP_SYS_PTRACE CAP_DAC_READ_SEARCH"; do
	check "unit has $kv" "$(grep -c -x -F "$kv" "$UNIT")" "1"
done
check "no CAP_SYS_ADMIN" "$(grep -c 'CAP_SYS_ADMIN$\|CAP_SYS_ADMIN ' <(grep '^CapabilityBoundingSet' "$UNIT") || true)" "0"

SCORE=$(systemd-analyze security --offline=yes --no-pager "$WORK/units/polrecd.service" 2>&1 |
	sed -n 's/.*Overall exposure level for polrecd.service: \([0-9.]*\).*/\1/p')
[ -n "$SCORE" ] || die "no exposure score from systemd-analyze security"
if awk -v s="$SCORE" 'BEGIN { exit !(s <= 5.0) }'; then
	ok "exposure level $SCORE (at most 5.0)"
else
	check "exposure level at most 5.0" "$SCORE" "<= 5.0"
fi
finish
