# polq's query options against incidents the real probes recorded:
# -n and -r, --since in the forms journalctl takes, -o json, colour on a
# terminal (script(1) gives polq one) and not on a pipe, NO_COLOR, the
# pager, -f following new incidents exactly once (also across a polrecd
# restart, and ending on SIGTERM, SIGINT and a reader that went away),
# and hostile values of the new options: exit 2 and one line.
source "$(dirname "$0")/lib.sh"

# a fixed zone without tzdata: local times below are UTC+5:30
export TZ="IST-5:30"
export TERM=xterm
unset NO_COLOR POLQ_PAGER PAGER LESS

mkdir -p "$WORK/prot" "$WORK/bin"
cp /bin/true "$WORK/bin/evil"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: q-protect
spec:
  severity: high
  subjects: [{all: true}]
  files:
    protect: ["$WORK/prot/**"]
  record:
    follow: 0s   # each violation its own incident
---
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: q-exec
spec:
  severity: critical
  subjects: [{all: true}]
  exec:
    deny: ["$WORK/bin/**"]
  record:
    follow: 0s
YAML
start_polrecd "$WORK/policy.yaml"

# three incidents, more than a second apart (the local forms have seconds)
echo a > "$WORK/prot/a"
wait_incidents 1 || die "no first incident"
sleep 1.2
"$WORK/bin/evil"
wait_incidents 2 || die "no second incident"
sleep 1.2
echo c > "$WORK/prot/c"
wait_incidents 3 || die "no third incident"

ids() { jq -r .id | paste -sd' '; }
ALL=$(polq incidents --json | ids)
read -r I1 I2 I3 <<<"$ALL"
[ -n "$I3" ] || die "expected three incidents, got [$ALL]"

# ---- -n, -r ----
check "-n 2: the newest two, oldest first" "$(polq incidents -n 2 --json | ids)" "$I2 $I3"
check "--lines=1" "$(polq incidents --lines=1 --json | ids)" "$I3"
check "-r: newest first" "$(polq incidents -r --json | ids)" "$I3 $I2 $I1"
check "-r -n 2" "$(polq incidents -r -n 2 --json | ids)" "$I3 $I2"
check "text -n 1 starts with the id" "$(polq incidents -n 1 | cut -d' ' -f1)" "$I3"
check "timeline -n 1 -r: the newest event" \
	"$(polq timeline -n 1 -r --json | jq -r .incident)" "$I3"
check "timeline -r is timeline reversed" \
	"$(polq timeline -r --json | jq -r .time_ns | paste -sd' ')" \
	"$(polq timeline --json | jq -r .time_ns | tac | paste -sd' ')"

# ---- --since / --until ----
T2=$(polq show "$I2" --json | jq -r .time_ns)
S2=$((T2 / 1000000000))   # the second incident's second: it is in, the first is not
LOCAL=$(date -d "@$S2" '+%Y-%m-%d %H:%M:%S')
RFC=$(date -d "@$S2" '+%Y-%m-%dT%H:%M:%S%:z')
check "--since local '$LOCAL'" "$(polq incidents --since "$LOCAL" --json | ids)" "$I2 $I3"
check "--since RFC 3339 '$RFC'" "$(polq incidents --since "$RFC" --json | ids)" "$I2 $I3"
check "--since UTC Z" \
	"$(polq incidents --since "$(date -u -d "@$S2" '+%Y-%m-%dT%H:%M:%SZ')" --json | ids)" "$I2 $I3"
check "--since @epoch --until local" \
	"$(polq incidents --since "@$S2" --until "$(date -d "@$((S2 + 1))" '+%Y-%m-%d %H:%M:%S')" --json | ids)" "$I2"
check "--since -1h" "$(polq incidents --since -1h --json | ids)" "$ALL"
check "--since 1h30m (ago)" "$(polq incidents --since 1h30m --json | ids)" "$ALL"
check "--since '10 min ago' --until now" \
	"$(polq incidents --since '10 min ago' --until now --json | ids)" "$ALL"
# today/yesterday are local midnights: near one, the incidents may be on
# the other side; compare with what date(1) says the midnights are
MID=$(date -d 'today 00:00' +%s)
if [ "$S2" -ge $((MID + 60)) ]; then
	check "--since today" "$(polq incidents --since today --json | ids)" "$ALL"
	check "--until today" "$(polq incidents --until today >/dev/null 2>&1; echo $?)" "1"
	check "--since local date '$(date -d "@$S2" +%F)'" \
		"$(polq incidents --since "$(date -d "@$S2" +%F)" --json | ids)" "$ALL"
fi
check "--since yesterday" "$(polq incidents --since yesterday --json | ids)" "$ALL"
check "--since tomorrow: none, exit 1" "$(polq incidents --since tomorrow 2>/dev/null; echo $?)" "1"
check "--since +5m: none, exit 1" "$(polq incidents --since +5m 2>/dev/null; echo $?)" "1"

# ---- -o ----
check "-o json is --json" "$(polq incidents -o json | ids)" "$ALL"
check "global -o json" "$(polq -o json incidents | ids)" "$ALL"
check "-o json for show" "$(polq show "$I1" --output json | jq -r .id)" "$I1"
check "-o json for stats" "$(polq stats -o json | jq -r .incidents)" "3"
check "-o text after --json" "$(polq --json incidents -n 1 -o text | cut -d' ' -f1)" "$I3"
polq -o ocsf timeline >"$WORK/ocsf.out" 2>"$WORK/ocsf.err" && die "-o ocsf timeline succeeded"
check "-o ocsf: one line" "$(cat "$WORK/ocsf.err")" "polq: -o ocsf: not available for timeline"
check "-o ocsf incidents: Detection Findings" \
	"$(polq -o ocsf incidents | jq -r 'select(.class_uid == 2004) | .class_uid' | sort -u)" "2004"
check "-o ecs show: the incident" "$(polq show "$(polq incidents --json | jq -rs '.[0].id')" -o ecs | head -n 1 | jq -r .event.kind)" "alert"
check "pcap keeps -o as a path" \
	"$(cd "$WORK" && polq pcap "$I1" -o json 2>/dev/null; echo $?; test -f "$WORK/json" && echo file)" \
	"$(printf '0\nfile')"

# ---- colour: only on a terminal, only when asked for ----
ESC=$'\e'
has_esc() { grep -c "$ESC" || true; }
check "pipe: no colour" "$(polq incidents | has_esc)" "0"
check "--color=always on a pipe: colour" "$(polq incidents --color=always | has_esc)" "3"
check "--color=always: critical in bold red" \
	"$(polq incidents --color=always | grep -c "${ESC}\[1;31mcritical${ESC}\[0m")" "1"
check "--color=always --json: none" "$(polq incidents --color=always --json | has_esc)" "0"
# script(1): polq on a pseudo-terminal, as a person sees it
on_tty() { script -qec "$*" /dev/null | tr -d '\r'; }
Q="$POLQ --store $STORE"
check "terminal: colour" "$(on_tty "$Q incidents --no-pager" | has_esc)" "3"
check "terminal, NO_COLOR=1: none" "$(on_tty "NO_COLOR=1 $Q incidents --no-pager" | has_esc)" "0"
check "terminal, NO_COLOR empty: colour" \
	"$(on_tty "NO_COLOR= $Q incidents --no-pager" | has_esc)" "3"
check "terminal, TERM=dumb: none" "$(on_tty "TERM=dumb $Q incidents --no-pager" | has_esc)" "0"
check "terminal, --color=never: none" "$(on_tty "$Q incidents --no-pager --color=never" | has_esc)" "0"

# ---- the pager ----
check "terminal: the pager gets the text" \
	"$(on_tty "POLQ_PAGER='sed s/^/P:/' $Q incidents" | grep -c '^P:')" "3"
check "POLQ_PAGER before PAGER" \
	"$(on_tty "PAGER=false POLQ_PAGER='sed s/^/P:/' $Q incidents" | grep -c '^P:')" "3"
check "--no-pager" "$(on_tty "POLQ_PAGER='sed s/^/P:/' $Q incidents --no-pager" | grep -c '^P:')" "0"
check "json is not paged" "$(on_tty "POLQ_PAGER='sed s/^/P:/' $Q incidents --json" | grep -c '^P:')" "0"
check "pipe: not paged" "$(POLQ_PAGER='sed s/^/P:/' polq incidents | grep -c '^P:')" "0"
check "LESS=FRX for the pager when unset" \
	"$(on_tty "POLQ_PAGER='sh -c \"echo LESS=\\\$LESS; cat >/dev/null\"' $Q incidents")" "LESS=FRX"
check "a pager that cannot start: printed directly" \
	"$(on_tty "POLQ_PAGER=/nonexistent/pager $Q incidents 2>/dev/null" | grep -c "^$I1 ")" "1"
# a pager that quits at once: exit 0 and not a word on stderr
on_tty "POLQ_PAGER=true $Q timeline 2>$WORK/pager.err; echo rc=\$?" >"$WORK/pager.out"
check "pager quit: exit 0" "$(grep -o 'rc=[0-9]*' "$WORK/pager.out")" "rc=0"
check "pager quit: no noise" "$(cat "$WORK/pager.err")" ""

# ---- -f ----
wait_lines() { # wait_lines FILE N
	for _ in $(seq 1 100); do
		[ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# follow ARGS...: polq incidents -f ARGS in the background, its pid in FPID
# (polq itself, not a subshell: the signals below must reach it)
follow() {
	"$POLQ" --store "$STORE" incidents -f "$@" &
	FPID=$!
	BG_PIDS+=("$FPID")
}
# stopped PID: wait (at most 10 s) for it to exit; its status in RC
stopped() {
	for _ in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		RC="still running"
		return 0
	fi
	RC=0
	wait "$1" || RC=$?
}

follow --json >"$WORK/follow.out" 2>"$WORK/follow.err"
wait_lines "$WORK/follow.out" 3 || die "-f did not print the existing incidents"
echo d > "$WORK/prot/d"
"$WORK/bin/evil"
wait_incidents 5 || die "no new incidents"
wait_lines "$WORK/follow.out" 5 || die "-f did not print the new incidents"
# polrecd restarts under it; a violation after the restart comes too
stop_polrecd
start_polrecd "$WORK/policy.yaml"
echo e > "$WORK/prot/e"
wait_incidents 6 || die "no incident after the restart"
wait_lines "$WORK/follow.out" 6 || die "-f missed the incident after the restart"
# a burst: commits land while polq polls
for i in $(seq 1 30); do echo "$i" > "$WORK/prot/burst-$i"; done
wait_incidents 36 || die "the burst did not make 30 incidents"
wait_lines "$WORK/follow.out" 36 || die "-f missed incidents of the burst"
sleep 1   # a few more polls: nothing comes twice
kill -TERM "$FPID"
stopped "$FPID"
check "-f: SIGTERM exits 0" "$RC" "0"
check "-f: every incident exactly once, in id order" \
	"$(ids <"$WORK/follow.out")" "$(polq incidents --json | jq -r .id | sort -n | paste -sd' ')"
check "-f: one JSON object per line" "$(jq -c .id "$WORK/follow.out" | wc -l)" "36"
check "-f: nothing on stderr" "$(cat "$WORK/follow.err")" ""

# -n 0: only new ones, with a filter; SIGINT ends it too
follow -n 0 --policy q-exec >"$WORK/follow2.out" 2>&1
sleep 0.5
echo h > "$WORK/prot/h"   # another expectation's: not shown
"$WORK/bin/evil"
wait_lines "$WORK/follow2.out" 1 || die "-f -n 0 did not print the new incident"
kill -INT "$FPID"
stopped "$FPID"
check "-f: SIGINT exits 0" "$RC" "0"
check "-f -n 0: just the new one, as text" \
	"$(wc -l <"$WORK/follow2.out") $(grep -c ' q-exec ' "$WORK/follow2.out")" "1 1"

# a reader that goes away: the next write ends polq with 0, quietly
mkfifo "$WORK/fifo"
head -n 1 <"$WORK/fifo" >"$WORK/follow3.out" &
HPID=$!
BG_PIDS+=("$HPID")
follow -n 0 --json >"$WORK/fifo" 2>"$WORK/follow3.err"
sleep 0.5
echo f > "$WORK/prot/f"
wait_lines "$WORK/follow3.out" 1 || die "-f | head: no line"
stopped "$HPID"
echo g > "$WORK/prot/g"
stopped "$FPID"
check "-f | head -n 1: one line" "$(wc -l <"$WORK/follow3.out")" "1"
check "-f | head -n 1: polq exits 0" "$RC" "0"
check "-f | head -n 1: no noise" "$(cat "$WORK/follow3.err")" ""

# ---- hostile values of the new options ----
bad() { # bad DESCRIPTION ARGS...: exit 2, one line on stderr, no raw ESC
	local d=$1 rc=0; shift
	polq "$@" >"$WORK/bad.out" 2>"$WORK/bad.err" || rc=$?
	check "$d: exit 2" "$rc" "2"
	check "$d: one line" "$(wc -l <"$WORK/bad.err")" "1"
	check "$d: no raw ESC" "$(has_esc <"$WORK/bad.err")" "0"
	check "$d: nothing on stdout" "$(wc -c <"$WORK/bad.out")" "0"
}
bad "--since with a newline and ESC" incidents --since $'1h\n\e[2Jpolq: forged'
bad "--until non-UTF-8" timeline --until $'\xff\xfe today'
bad "-n newline" incidents -n $'1\n2'
bad "-n negative" incidents -n -3
bad "-o unknown" incidents -o $'json\e[31m'
bad "--color unknown" --color=$'\xffalways' incidents
bad "-f with -r" incidents -f -r
bad "-n for show" show "$I1" -n 1
bad "--since out of range" incidents --since 1969-12-31
polq incidents --since $'\e]0;x\a' -o json >"$WORK/bad.out" 2>/dev/null || true
check "JSON error object for -o json" "$(jq -r 'has("error")' "$WORK/bad.out")" "true"

stop_polrecd
finish
