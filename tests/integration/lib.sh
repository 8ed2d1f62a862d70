# Shared helpers for the root integration tests. Each test sources this,
# gets a private work dir ($WORK, a real path) and a temp store, starts
# polrecd with its own policy and asserts on `polq --json`.
#
# Tests that need BPF fail when it is missing; they are skipped (exit 77)
# only when POLREC_SKIP_BPF_TESTS=1 says so explicitly.
set -euo pipefail

: "${POLRECD:?POLRECD must point at the polrecd binary}"
: "${POLQ:?POLQ must point at the polq binary}"

WORK=$(mktemp -d /tmp/polrec-test.XXXXXX)
WORK=$(realpath "$WORK")
STORE=$WORK/store
LOG=$WORK/polrecd.log
PRD_PID=
FAILS=0
BG_PIDS=()   # background helpers (servers) a test started: ended in cleanup

cleanup() {
	local rc=$?
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ -n "$PRD_PID" ] && kill -0 "$PRD_PID" 2>/dev/null; then
		kill -TERM "$PRD_PID" 2>/dev/null || true
		wait "$PRD_PID" 2>/dev/null || true
	fi
	if [ "$rc" -ne 0 ] && [ -f "$LOG" ]; then
		echo "---- polrecd log ----" >&2
		tail -n 40 "$LOG" >&2 || true
	fi
	# a polrecd killed without a clean stop after it leaves its last words
	# map pinned (README "Reliability"): remove this store's
	[ -d "$STORE" ] && rm -f "$(last_words_pin)"
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

# the bpffs pin of the store's last words map: polrec- and the first 16 hex
# digits of the SHA-256 of the store's real path
last_words_pin() {
	echo "/sys/fs/bpf/polrec-$(printf '%s' "$(realpath "$STORE")" | sha256sum | cut -c1-16)"
}

die() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

check() { # check DESCRIPTION ACTUAL EXPECTED
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		echo "FAIL: $1: got [$2], expected [$3]" >&2
		FAILS=$((FAILS + 1))
	fi
}

finish() {
	[ "$FAILS" -eq 0 ] || die "$FAILS check(s) failed"
	echo "PASS"
}

need_bpf() {
	if [ "$(id -u)" -ne 0 ]; then
		[ "${POLREC_SKIP_BPF_TESTS:-0}" = 1 ] && { echo "SKIP: not root"; exit 77; }
		die "integration tests load BPF probes and must run as root (or set POLREC_SKIP_BPF_TESTS=1 to skip)"
	fi
}

# start_polrecd POLICY_FILE|- : start on $STORE and wait for "ready"
start_polrecd() {
	need_bpf
	local args=(--store "$STORE")
	[ "$1" != - ] && args+=(--policy "$1")
	# more options for this test: POLRECD_EXTRA="--context-memory 8M"
	# shellcheck disable=SC2206
	[ -n "${POLRECD_EXTRA:-}" ] && args+=($POLRECD_EXTRA)
	"$POLRECD" "${args[@]}" >"$LOG" 2>&1 &
	PRD_PID=$!
	for _ in $(seq 1 600); do
		grep -q ready "$LOG" 2>/dev/null && return 0
		if ! kill -0 "$PRD_PID" 2>/dev/null; then
			if grep -q "BPF unavailable" "$LOG" && [ "${POLREC_SKIP_BPF_TESTS:-0}" = 1 ]; then
				echo "SKIP: BPF unavailable"; exit 77
			fi
			cat "$LOG" >&2
			die "polrecd exited before ready"
		fi
		sleep 0.1
	done
	die "polrecd not ready after 60 s"
}

stop_polrecd() {
	kill -TERM "$PRD_PID"
	local rc=0
	wait "$PRD_PID" || rc=$?
	PRD_PID=
	[ "$rc" -eq 0 ] || die "polrecd exited with $rc on SIGTERM"
}

# Events reach the store within the 10 ms poll plus the writer's batch;
# wait until `polq incidents` shows N incidents (or time out).
wait_incidents() { # wait_incidents N [polq incidents args...]
	local n=$1; shift
	for _ in $(seq 1 100); do
		local got
		got=$("$POLQ" --store "$STORE" incidents --json "$@" 2>/dev/null | wc -l)
		[ "$got" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

polq() { "$POLQ" --store "$STORE" "$@"; }

# the single incident matching a jq filter over `incidents --json`
incident_id() { # incident_id JQ_FILTER
	polq incidents --json | jq -r "select($1) | .id" | head -n 1
}

# wait until an incident matches a jq filter over `incidents --json`; prints its id
wait_incident() { # wait_incident JQ_FILTER
	local id
	for _ in $(seq 1 100); do
		id=$(incident_id "$1" 2>/dev/null || true)
		[ -n "$id" ] && { echo "$id"; return 0; }
		sleep 0.1
	done
	return 1
}
