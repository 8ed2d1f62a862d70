# polrecd with no --policy runs the embedded default: an exec from
# /dev/shm is an incident; it refuses to start when not root.
source "$(dirname "$0")/lib.sh"

need_bpf
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$POLRECD" --store "$WORK/nobody" 2>&1) && die "polrecd started as nobody"
check "not root: one clear line" "$(printf '%s\n' "$out" | wc -l)" "1"
printf '%s' "$out" | grep -q "must run as root" || die "unclear message: $out"

start_polrecd -
SHM=$(mktemp -d /dev/shm/polrec-test.XXXXXX)
cp /bin/true "$SHM/dropper"
"$SHM/dropper" &
PID=$!
wait $PID
rm -rf "$SHM"
wait_incidents 1 || die "no incident from the default policy"
check "the violator" "$(polq incidents --json | jq -r "select(.process.pid == $PID) | .path")" "$SHM/dropper"
check "exec kind" "$(polq incidents --json | jq -r "select(.process.pid == $PID) | .kind")" "exec"
stat -c '%a' "$STORE" | grep -qx 700 || die "store dir is not 0700"
stat -c '%a' "$STORE/polrec.db" | grep -qx 600 || die "polrec.db is not 0600"
stop_polrecd
finish
