# Conservation: exactly N violations at many times the capacity of a
# one-page ring buffer. Every one is either an incident or counted lost:
# incidents + file events lost in the kernel + incidents dropped by the
# writer = N; and the incident written after the losses shows them as
# gaps.
source "$(dirname "$0")/lib.sh"

N=20000
mkdir -p "$WORK/prot"
cat >"$WORK/policy.yaml" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: conservation
spec:
  subjects: [{all: true}]
  files:
    protect: ["$WORK/prot/**"]
  record:
    follow: 0s
YAML
POLRECD_EXTRA="--ring-bytes 4096" start_polrecd "$WORK/policy.yaml"
bash -c 'for i in $(seq 1 '"$N"'); do : >"$1/prot/f$i"; done' _ "$WORK"
sleep 2
: >"$WORK/prot/last"    # one more, after the burst, to carry the gap
wait_incident ".path == \"$WORK/prot/last\"" >/dev/null || die "no incident after the burst"
stop_polrecd

inc=$(polq incidents --json | jq -r 'select(.path != "'"$WORK/prot/last"'") | .id' | wc -l)
kern=$(polq stats --json | jq '[.losses[] | select(.stage == "kernel-ringbuf" and .kind == "file") | .count] | add // 0')
queue=$(polq stats --json | jq '[.losses[] | select(.stage == "recorder-queue" and .kind == "incident") | .count] | add // 0')
echo "N=$N incidents=$inc kernel-lost(file)=$kern queue-dropped=$queue"
[ "$kern" -gt 0 ] || die "the burst did not overflow a 4 KiB ring: the test proves nothing"
# Every violation is accounted for, exactly: the kernel counts drops per
# kind, and by-name operations of other processes (rename, unlink, ...,
# always sent) are counted as "file-op", apart from write-opens ("file"),
# which only this workload makes in the watched tree.
T=$((inc + kern + queue))
check "incidents + counted losses == N exactly" "$T" "$N"
LAST=$(incident_id ".path == \"$WORK/prot/last\"")
check "the incident after the loss shows the gap" \
	"$(polq show "$LAST" --json | jq '[.gaps[] | select(.kind == "file")] | length > 0')" "true"
polq show "$LAST" | sed -n '/^gaps/,$p' | head -5
finish
