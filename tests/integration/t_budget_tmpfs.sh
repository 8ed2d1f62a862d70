# The disk budget on a small file system (a 32 MiB tmpfs in the work dir).
#  1. --max-store-size 16M under a long burst of violations: polrecd stays
#     up, the store stays within the budget (see below), the newest
#     incidents are there, prune records exist, the database is sound.
#  2. No size budget and a disk that really fills (a filler file): polrecd
#     stays up, logs "disk full", prunes (reason disk-full) and keeps the
#     newest incidents; after the filler is removed it says so and writes
#     again by itself.
# What is checked: the budget counts the database minus its free pages,
# the WAL, the pcap segments and the reserve; that ("used", sampled the
# same way) may pass the budget by what is written between two checks
# (5%). du also sees the free pages a prune leaves (reused before the file
# grows): 15%.
source "$(dirname "$0")/lib.sh"
need_bpf
command -v sqlite3 >/dev/null || die "sqlite3 CLI missing (.ci/packages)"

MNT=$WORK/mnt
MOUNTED=
budget_cleanup() {
	local rc=$?
	set +e # under errexit, (exit $rc) would end the trap before cleanup
	if [ -n "$PRD_PID" ] && kill -0 "$PRD_PID" 2>/dev/null; then
		kill -TERM "$PRD_PID" 2>/dev/null || true
		wait "$PRD_PID" 2>/dev/null || true
	fi
	[ -n "$MOUNTED" ] && { umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true; }
	(exit "$rc")
	cleanup
}
trap budget_cleanup EXIT

mount_tmpfs() {
	mkdir -p "$MNT"
	mount -t tmpfs -o size=32m,mode=0700 tmpfs "$MNT" || die "cannot mount a tmpfs"
	MOUNTED=1
	STORE=$MNT/store
}

unmount_tmpfs() {
	umount "$MNT"
	MOUNTED=
}

mkdir -p "$WORK/prot"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: budget
spec:
  subjects: [{all: true}]
  files:
    protect: ["$WORK/prot/**"]
  record:
    follow: 0s   # an incident per violation, closed at once
YAML

# burst SECONDS PROCS: each process opens protected files for writing
burst() {
	local secs=$1 procs=$2 pids=()
	for p in $(seq 1 "$procs"); do
		bash -c 'end=$((SECONDS + $2)); i=0
			while [ "$SECONDS" -lt "$end" ]; do
				for _ in $(seq 1 200); do : >"$1/b$3-$((i % 300))"; i=$((i + 1)); done
			done; echo "$i"' _ "$WORK/prot" "$secs" "$p" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
}

store_bytes() { du -sb "$STORE" 2>/dev/null | cut -f1; }

# what the budget counts: database minus free pages, WAL and -shm, pcap, reserve
used_bytes() {
	local db
	db=$(sqlite3 -readonly "$STORE/polrec.db" \
		"SELECT (page_count - freelist_count) * page_size FROM pragma_page_count, pragma_freelist_count, pragma_page_size" 2>/dev/null) || db=
	[ -n "$db" ] || { echo 0; return; }
	echo $((db + $(cat "$STORE"/polrec.db-wal "$STORE"/polrec.db-shm "$STORE"/.polrec-reserve 2>/dev/null | wc -c) +
		$(du -sb "$STORE/pcap" 2>/dev/null | cut -f1 || echo 0)))
}

# the writer queue has drained: the newest id stops moving
wait_quiet() {
	local last=-1 now
	for _ in $(seq 1 120); do
		now=$(sqlite3 "file:$STORE/polrec.db?mode=ro" "SELECT coalesce(max(id), 0) FROM incidents" 2>/dev/null || echo -1)
		[ "$now" = "$last" ] && return 0
		last=$now
		sleep 1
	done
	return 1
}

# mark NAME: a violation we can find afterwards; waits until it is stored
mark() {
	: >"$WORK/prot/$1"
	wait_incident ".path == \"$WORK/prot/$1\"" >/dev/null
}

sound() { # sound LABEL: integrity, foreign keys, nothing an incident owned left behind
	check "$1: integrity_check" "$(sqlite3 "$STORE/polrec.db" 'PRAGMA integrity_check')" ok
	check "$1: foreign_key_check" "$(sqlite3 "$STORE/polrec.db" 'PRAGMA foreign_key_check' | wc -l)" 0
	check "$1: no orphan rows" "$(sqlite3 "$STORE/polrec.db" "SELECT
	  (SELECT count(*) FROM proc_images WHERE incident_id NOT IN (SELECT id FROM incidents)) +
	  (SELECT count(*) FROM incident_events WHERE incident_id NOT IN (SELECT id FROM incidents)) +
	  (SELECT count(*) FROM incident_lineage WHERE incident_id NOT IN (SELECT id FROM incidents)) +
	  (SELECT count(*) FROM flows WHERE incident_id NOT IN (SELECT id FROM incidents))")" 0
}

# ---- 1: --max-store-size 16M on a 32 MiB tmpfs ----
mount_tmpfs
BUDGET=$((16 << 20))
LIMIT=$((BUDGET + BUDGET * 15 / 100))
ULIMIT=$((BUDGET + BUDGET * 5 / 100))
POLRECD_EXTRA="--max-store-size 16M" start_polrecd "$WORK/policy.yaml"
T0=$(date +%s)
burst 20 2 &
BURST=$!
MAX=0 UMAX=0
while kill -0 "$BURST" 2>/dev/null; do
	b=$(store_bytes); [ "${b:-0}" -gt "$MAX" ] && MAX=$b
	u=$(used_bytes); [ "${u:-0}" -gt "$UMAX" ] && UMAX=$u
	sleep 0.5
done
wait "$BURST" || true
wait_quiet || die "the writer did not drain"
b=$(store_bytes); [ "$b" -gt "$MAX" ] && MAX=$b
echo "scenario 1: burst and drain took $(( $(date +%s) - T0 )) s; largest store $MAX bytes (budget $BUDGET, limit $LIMIT)"
kill -0 "$PRD_PID" 2>/dev/null || die "polrecd died under the burst"
[ "$UMAX" -le "$ULIMIT" ] && ok "what the budget counts stayed within it (max $UMAX <= $ULIMIT)" ||
	{ echo "FAIL: the store's used bytes grew to $UMAX > $ULIMIT" >&2; FAILS=$((FAILS + 1)); }
[ "$MAX" -le "$LIMIT" ] && ok "the directory stayed within the budget (du max $MAX <= $LIMIT)" ||
	{ echo "FAIL: store grew to $MAX > $LIMIT" >&2; FAILS=$((FAILS + 1)); }
for m in newest-1 newest-2 newest-3; do mark "$m" || die "incident $m not stored"; done
ok "the newest incidents are stored"
stats=$(polq stats --json)
prunes=$(jq -r .budget.prunes.count <<<"$stats")
[ "$prunes" -gt 0 ] && ok "prune records: $prunes ($(jq -r .budget.prunes.incidents <<<"$stats") incidents)" ||
	{ echo "FAIL: no prune records" >&2; FAILS=$((FAILS + 1)); }
check "prunes say size" "$(jq -r '.budget.prunes.by_reason.size > 0' <<<"$stats")" true
check "budget limit shown" "$(jq -r .budget.max_store_size <<<"$stats")" "$BUDGET"
first=$(polq incidents --json | jq -rs '.[0].id')
[ "$first" -gt 1 ] && ok "the oldest incidents went first (first id now $first)" ||
	{ echo "FAIL: incident 1 still there" >&2; FAILS=$((FAILS + 1)); }
stop_polrecd
sound "scenario 1"
unmount_tmpfs

# ---- 2: the disk really fills ----
mount_tmpfs
POLRECD_EXTRA="" start_polrecd "$WORK/policy.yaml"
# leave about 12 MiB for the store (its 4 MiB reserve included)
avail=$(df -B1 --output=avail "$MNT" | tail -n 1)
dd if=/dev/zero of="$MNT/filler" bs=1M count=$(( (avail >> 20) - 12 )) status=none
T0=$(date +%s)
burst 12 2
wait_quiet || die "the writer did not drain"
kill -0 "$PRD_PID" 2>/dev/null || die "polrecd died on a full disk"
grep -q "disk full" "$LOG" && ok "disk full logged" ||
	{ echo "FAIL: no disk full line" >&2; FAILS=$((FAILS + 1)); }
echo "scenario 2: disk full after $(( $(date +%s) - T0 )) s: $(grep -c 'disk full' "$LOG") log line(s)"
# The newest evidence is kept while the disk is full: the oldest closed
# incidents are pruned to make room (reason disk-full), in pieces small
# enough that a prune always finds room to write.
missed=0
for m in full-1 full-2; do mark "$m" || die "incident $m not stored while the disk was full"; done
ok "the newest incidents are stored on the full disk"
stats=$(polq stats --json)
fullprunes=$(jq -r '.budget.prunes.by_reason["disk-full"] // 0' <<<"$stats")
[ "$fullprunes" -gt 0 ] && ok "disk-full prunes: $fullprunes" ||
	{ echo "FAIL: no disk-full prune records" >&2; FAILS=$((FAILS + 1)); }
check "polq stats says the disk is full" "$(jq -r .budget.disk_full <<<"$stats")" true
rm -f "$MNT/filler"
T0=$(date +%s)
for _ in $(seq 1 100); do grep -q "disk space is back" "$LOG" && break; sleep 0.2; done
grep -q "disk space is back" "$LOG" && ok "recovery logged after $(( $(date +%s) - T0 )) s" ||
	{ echo "FAIL: no recovery line" >&2; FAILS=$((FAILS + 1)); }
for m in back-1 back-2; do mark "$m" || die "incident $m not stored after space returned"; done
ok "writes resume by themselves"
for _ in $(seq 1 50); do [ "$(polq stats --json | jq -r .budget.disk_full)" = false ] && break; sleep 0.2; done
check "disk no longer full" "$(polq stats --json | jq -r .budget.disk_full)" false
# whatever was not stored is counted: store-full loss records exist when a
# marker was missed
check "what a full disk cost is counted" \
	"$(polq stats --json | jq -r --argjson m "$missed" '([.losses[] | select(.stage == "store-full") | .count] | add // 0) as $n | if $m == 1 then $n > 0 else true end')" true
stop_polrecd
sound "scenario 2"
unmount_tmpfs
finish
