# Helpers of the host tests (install layout, unit, man pages, completion):
# no BPF, no root needed except where a test says so. $POLREC_BUILD is the
# build tree, $POLREC_SRC the source tree.
set -euo pipefail
: "${POLREC_BUILD:?POLREC_BUILD must point at the build tree}"
: "${POLREC_SRC:?POLREC_SRC must point at the source tree}"

WORK=$(mktemp -d /tmp/polrec-host.XXXXXX)
FAILS=0
trap 'rc=$?; rm -rf "$WORK"; exit $rc' EXIT

die() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
check() { # check DESCRIPTION ACTUAL EXPECTED
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		printf 'FAIL: %s:\n--- got\n%s\n--- expected\n%s\n' "$1" "$2" "$3" >&2
		FAILS=$((FAILS + 1))
	fi
}
finish() {
	[ "$FAILS" -eq 0 ] || die "$FAILS check(s) failed"
	echo "PASS"
}
# the prefix the build was configured with
configured_prefix() {
	sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$POLREC_BUILD/CMakeCache.txt"
}
