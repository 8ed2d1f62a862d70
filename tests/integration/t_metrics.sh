# Metrics: the Prometheus text file (node_exporter textfile collector) and
# the loopback HTTP endpoint, checked by Prometheus' own parser (promtool
# check metrics). A violation moves polrec_incidents_total; a burst into a
# 4 KiB ring forces losses, and after the stop every loss counter equals
# what `polq stats --json` sums for its stage and kind; the file is always
# whole while it is rewritten; non-loopback listening is refused.
source "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || die "promtool missing (apt-get install prometheus; it is in .ci/packages)"
command -v curl >/dev/null || die "curl missing"
need_bpf

# ---- refused before anything starts: one line, exit 2 ----
refused() { # refused DESCRIPTION EXPECTED_TEXT ARGS...
	local what=$1 text=$2 out rc=0
	shift 2
	out=$("$POLRECD" --store "$STORE" "$@" 2>&1) || rc=$?
	check "$what: exit code" "$rc" 2
	check "$what: one line" "$(printf '%s\n' "$out" | wc -l)" 1
	case $out in *"$text"*) ok "$what: says '$text'" ;;
	*) echo "FAIL: $what: [$out] lacks [$text]" >&2; FAILS=$((FAILS + 1)) ;; esac
}
refused "listen on any address" "only loopback" --metrics-listen 0.0.0.0:9464
refused "listen on a LAN address" "only loopback" --metrics-listen 192.0.2.1:9464
refused "listen on [::]" "only loopback" --metrics-listen "[::]:9464"
refused "listen on a name" "numeric loopback address" --metrics-listen localhost:9464
refused "explicit file in a missing directory" "No such file or directory" \
	--metrics-file "$WORK/nowhere/polrec.prom"
refused "interval 0s" "--metrics-interval" --metrics-interval 0s
[ ! -e "$STORE" ] || die "a refused start created the store"

# ---- a recorder with both outputs ----
mkdir -p "$WORK/bin" "$WORK/prom"
cp /bin/true "$WORK/bin/t"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: metrics-test.v1
spec:
  severity: high
  subjects: [{all: true}]
  exec:
    deny: ["$WORK/bin/**"]
YAML
PROM=$WORK/prom/polrec.prom
POLRECD_EXTRA="--ring-bytes 4096 --metrics-file $PROM --metrics-interval 1s --metrics-listen 127.0.0.1:0"
start_polrecd "$WORK/policy.yaml"
port=$(sed -n 's/.*metrics: serving GET \/metrics on 127.0.0.1:0 (port \([0-9]*\)).*/\1/p' "$LOG")
[ -n "$port" ] && [ "$port" -gt 0 ] || die "no metrics port in the log"
ok "serving on 127.0.0.1:$port"

for _ in $(seq 1 50); do [ -s "$PROM" ] && break; sleep 0.1; done
[ -s "$PROM" ] || die "no metrics file after 5 s"
check "file mode" "$(stat -c %a "$PROM")" 644
promtool check metrics <"$PROM" || die "promtool refuses the file"
ok "promtool accepts the file"
grep -qx 'polrec_up 1' "$PROM" || die "polrec_up 1 missing"
sha=$(sha256sum "$WORK/policy.yaml" | cut -d' ' -f1)
grep -qx "polrec_policy_info{sha256=\"$sha\"} 1" "$PROM" || die "polrec_policy_info lacks the policy's SHA-256"
ok "polrec_policy_info names the policy's SHA-256"

value() { # value FILE SERIES: the sample's value, 0 when absent
	awk -v s="$2" 'index($0, s " ") == 1 { v = $NF } END { print v == "" ? 0 : v }' "$1"
}
before=$(value "$PROM" 'polrec_incidents_total{severity="high"}')

# ---- a violation moves the incident counters ----
# (a 4 KiB ring may lose it to other activity on the host: retried)
got=
for _ in 1 2 3; do
	"$WORK/bin/t"
	wait_incident '.policy == "metrics-test.v1"' >/dev/null && { got=1; break; }
done
[ -n "$got" ] || die "no incident for the violation"
after=$before
for _ in $(seq 1 40); do
	after=$(value "$PROM" 'polrec_incidents_total{severity="high"}')
	[ "$after" -gt "$before" ] && break
	sleep 0.1
done
[ "$after" -gt "$before" ] || die "polrec_incidents_total{severity=\"high\"} stayed at $before"
ok "polrec_incidents_total{severity=\"high\"}: $before -> $after"
grep -qx 'polrec_policy_incidents_total{policy="metrics-test.v1"} [1-9][0-9]*' "$PROM" ||
	die "per-policy counter missing"
ok "per-policy counter"

# ---- HTTP on loopback ----
code=$(curl -s -o "$WORK/http.txt" -w '%{http_code}' "http://127.0.0.1:$port/metrics")
check "GET /metrics" "$code" 200
promtool check metrics <"$WORK/http.txt" || die "promtool refuses the HTTP body"
ok "promtool accepts the HTTP body"
grep -qx 'polrec_up 1' "$WORK/http.txt" || die "HTTP body lacks polrec_up 1"
check "GET /other" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/other")" 404
check "POST /metrics" "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "http://127.0.0.1:$port/metrics")" 405
ctype=$(curl -s -o /dev/null -w '%{content_type}' "http://127.0.0.1:$port/metrics")
check "content type" "$ctype" "text/plain; version=0.0.4; charset=utf-8"

# ---- the file is replaced atomically: a reader never sees part of it ----
# read it as fast as possible while polrecd rewrites it every second; each
# read must be a whole exposition (first and last family, final newline)
# bounded: 8 idle connections take every slot; a 9th request gets no answer
for fd in 10 11 12 13 14 15 16 17; do eval "exec $fd<>/dev/tcp/127.0.0.1/$port"; done
sleep 0.3
code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "http://127.0.0.1:$port/metrics" || true)
check "a 9th connection is not served" "$code" 000
for fd in 10 11 12 13 14 15 16 17; do eval "exec $fd<&-"; done
sleep 0.3
check "served again once they are gone" \
	"$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' "http://127.0.0.1:$port/metrics")" 200

# an idle connection, to be closed by the server's 5 s timeout
exec 7<>"/dev/tcp/127.0.0.1/$port"
t_idle=$SECONDS
reads=0
inodes=()
end=$((SECONDS + 4))
while [ $SECONDS -lt $end ]; do
	cp "$PROM" "$WORK/read.txt"
	head -n 1 "$WORK/read.txt" | grep -q '^# HELP polrec_up ' || die "read $reads: file starts wrong"
	[ "$(tail -c 1 "$WORK/read.txt" | od -An -c | tr -d ' ')" = '\n' ] || die "read $reads: no final newline"
	grep -q '^polrec_pruned_bytes_total{reason="pcap-size"} ' "$WORK/read.txt" ||
		die "read $reads: the last family is missing (partial file)"
	if [ $((reads % 50)) -eq 0 ]; then
		promtool check metrics <"$WORK/read.txt" >/dev/null 2>&1 || die "read $reads: promtool refuses it"
		inodes+=("$(stat -c %i "$PROM")")
	fi
	reads=$((reads + 1))
done
ninodes=$(printf '%s\n' "${inodes[@]}" | sort -u | wc -l)
[ "$ninodes" -ge 2 ] || die "the file was not replaced during $reads reads"
ok "$reads reads while it was replaced ($ninodes files seen): every one whole"
sleep $((t_idle + 7 - SECONDS > 0 ? t_idle + 7 - SECONDS : 0))
idle_rc=0
timeout 5 cat <&7 >/dev/null || idle_rc=$?
exec 7<&-
check "an idle HTTP connection is closed by the timeout" "$idle_rc" 0

# ---- forced losses: a burst far larger than a 4 KiB ring ----
pids=()
for _ in $(seq 1 400); do "$WORK/bin/t" & pids+=($!); done
wait "${pids[@]}"
sleep 2
stop_polrecd

# ---- after the stop ----
grep -qx 'polrec_up 0' "$PROM" || die "the file lacks polrec_up 0 after the stop"
ok "polrec_up 0 after the stop"
promtool check metrics <"$PROM" || die "promtool refuses the final file"
[ -z "$(find "$WORK/prom" -name '*.tmp')" ] || die "a temp file was left behind"
ok "no temp file left"
polq stats --json | jq -r '.losses | group_by(.stage + " " + .kind)[] |
	"\(.[0].stage) \(.[0].kind) \(map(.count) | add)"' >"$WORK/polq-losses.txt"
[ -s "$WORK/polq-losses.txt" ] || die "no loss recorded after a burst into a 4 KiB ring"
while read -r stage kind n; do
	check "loss $stage/$kind matches polq stats" \
		"$(value "$PROM" "polrec_events_lost_total{stage=\"$stage\",kind=\"$kind\"}")" "$n"
done <"$WORK/polq-losses.txt"
# and no counter says more than the store holds
grep '^polrec_events_lost_total{' "$PROM" | while read -r series n; do
	[ "$n" = 0 ] && continue
	stage=$(sed 's/.*stage="\([^"]*\)".*/\1/' <<<"$series")
	kind=$(sed 's/.*kind="\([^"]*\)".*/\1/' <<<"$series")
	grep -qx "$stage $kind $n" "$WORK/polq-losses.txt" || die "$series $n is not in polq stats"
done
ok "every nonzero loss counter is in polq stats"
raised=$(grep '^polrec_incidents_total{' "$PROM" | awk '{ s += $NF } END { print s }')
stored=$(polq incidents --json | wc -l)
qdrop=$(value "$PROM" 'polrec_events_lost_total{stage="recorder-queue",kind="incident"}')
check "incidents raised = stored + dropped by the queue" "$raised" "$((stored + qdrop))"

# ---- IPv6 loopback, and no file at all ----
rm -f "$PROM"
POLRECD_EXTRA="--metrics-file none --metrics-listen [::1]:0"
start_polrecd "$WORK/policy.yaml"
port6=$(sed -n 's/.*metrics: serving GET \/metrics on \[::1\]:0 (port \([0-9]*\)).*/\1/p' "$LOG")
[ -n "$port6" ] || die "no [::1] metrics port in the log"
# 503 until the first tick's snapshot, a second after start
for _ in $(seq 1 30); do
	code=$(curl -gs -o "$WORK/http6.txt" -w '%{http_code}' "http://[::1]:$port6/metrics" || true)
	[ "$code" = 200 ] && break
	check "before the first snapshot" "$code" 503
	sleep 0.1
done
check "GET on [::1]" "$code" 200
grep -qx 'polrec_up 1' "$WORK/http6.txt" || die "[::1]: body lacks polrec_up 1"
ok "served on [::1]:$port6"
stop_polrecd
[ ! -e "$PROM" ] || die "--metrics-file none wrote a file"
ok "--metrics-file none writes nothing"
finish
