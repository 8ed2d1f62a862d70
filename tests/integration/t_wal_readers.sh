# The WAL stays bounded while polq readers are open: a burst of
# violations while (a) `polq incidents` writes into a pipe nobody reads for
# 20 s (a pager left open), (b) `polq incidents -f` follows, and (c) short
# queries run in a loop. polq reads listings in chunks and holds no read
# snapshot while its output blocks, so the writer's checkpoints can reset
# the WAL; its size is sampled throughout and must stay small.
source "$(dirname "$0")/lib.sh"
need_bpf

mkdir -p "$WORK/prot"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: wal
spec:
  subjects: [{all: true}]
  files:
    protect: ["$WORK/prot/**"]
  record:
    follow: 0s
YAML
start_polrecd "$WORK/policy.yaml"

# enough incidents that a listing overflows a pipe (64 KiB) many times
bash -c 'for i in $(seq 1 3000); do : >"$1/prot/s$((i % 500))"; done' _ "$WORK"
wait_incidents 2000 >/dev/null || die "the seed incidents were not stored"
SEEDED=$(polq incidents --json | wc -l)

# (a) a reader whose output blocks for 20 s
mkfifo "$WORK/pipe"
( polq incidents >"$WORK/pipe"; echo "$?" >"$WORK/blocked.rc" ) &
BG_PIDS+=($!)
( exec 3<"$WORK/pipe"; sleep 20; cat <&3 >"$WORK/blocked.out" ) &
SLOW=$!
BG_PIDS+=("$SLOW")
# (b) a follower
polq incidents -f --json >"$WORK/follow.out" 2>&1 &
FOLLOW=$!
BG_PIDS+=("$FOLLOW")
# (c) short queries
( while [ ! -e "$WORK/stop" ]; do polq incidents -n 5 >/dev/null; polq stats >/dev/null; done ) &
BG_PIDS+=($!)

# the burst, 15 s, while the WAL is sampled
( end=$((SECONDS + 15)); i=0
  while [ "$SECONDS" -lt "$end" ]; do
	for _ in $(seq 1 200); do : >"$WORK/prot/b$((i % 300))"; i=$((i + 1)); done
  done ) &
BURST=$!
MAXWAL=0
while kill -0 "$BURST" 2>/dev/null; do
	w=$(stat -c %s "$STORE/polrec.db-wal" 2>/dev/null || echo 0)
	[ "$w" -gt "$MAXWAL" ] && MAXWAL=$w
	sleep 0.2
done
wait "$BURST" || true
touch "$WORK/stop"
wait "$SLOW" || true
for _ in $(seq 1 50); do [ -e "$WORK/blocked.rc" ] && break; sleep 0.2; done
kill -0 "$PRD_PID" 2>/dev/null || die "polrecd died"
TOTAL=$(polq incidents --json | wc -l)
echo "incidents: $SEEDED before the burst, $TOTAL after; largest WAL $MAXWAL bytes"

# 1 MiB checkpoint threshold plus a batch (a quarter of the 4 MiB reserve)
# and what SQLite writes past the threshold before the checkpoint runs
LIMIT=$((8 << 20))
[ "$MAXWAL" -le "$LIMIT" ] && ok "the WAL stayed bounded ($MAXWAL <= $LIMIT bytes)" ||
	{ echo "FAIL: the WAL grew to $MAXWAL bytes with readers open (limit $LIMIT)" >&2; FAILS=$((FAILS + 1)); }
[ "$TOTAL" -gt $((SEEDED + 1000)) ] && ok "the burst was recorded ($((TOTAL - SEEDED)) incidents)" ||
	{ echo "FAIL: the burst made only $((TOTAL - SEEDED)) incidents" >&2; FAILS=$((FAILS + 1)); }
check "the blocked reader finished" "$(cat "$WORK/blocked.rc" 2>/dev/null)" "0"
got=$(wc -l <"$WORK/blocked.out")
[ "$got" -ge "$SEEDED" ] && ok "the blocked reader printed every incident ($got >= $SEEDED)" ||
	{ echo "FAIL: the blocked reader printed $got lines, fewer than the $SEEDED stored before it" >&2; FAILS=$((FAILS + 1)); }
kill "$FOLLOW"
wait "$FOLLOW" || true
check "the follower printed each incident once" \
	"$(jq -r .id "$WORK/follow.out" | sort | uniq -d | wc -l)" "0"
stop_polrecd
check "integrity_check" "$(sqlite3 "$STORE/polrec.db" 'PRAGMA integrity_check')" ok
finish
