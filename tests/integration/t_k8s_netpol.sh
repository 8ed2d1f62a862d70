# Kubernetes NetworkPolicy documents as expectations, with the real probes
# over loopback: the subject is a cgroup the test creates (annotation
# polrec.dev/cgroup), ipBlock except and endPort are judged, NetworkPolicies
# selecting the same process add up (an incident names every one that
# refused), processes outside the cgroup are not judged, and a process
# moved into the cgroup after its exec is judged where it is.
source "$(dirname "$0")/lib.sh"
: "${NETPEER:?NETPEER must point at the netpeer test tool}"

CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CGROOT" ] || die "no cgroup v2 tree mounted"
NAME=polrec-k8s-$$
CG1=$CGROOT/$NAME-1   # selected by NetworkPolicies a and b
CG2=$CGROOT/$NAME-2   # selected by a only

# Processes still in a test cgroup go back to the root, then it goes.
k8s_cleanup() {
	local rc=$? cg pid
	set +e # a failing step here must not skip the rest of the cleanup
	for cg in "$CG1" "$CG2"; do
		[ -d "$cg" ] || continue
		while read -r pid; do
			echo "$pid" >"$CGROOT/cgroup.procs" 2>/dev/null || true
		done <"$cg/cgroup.procs"
		rmdir "$cg" 2>/dev/null || echo "cannot remove $cg" >&2
	done
	(exit "$rc")
	cleanup
}
trap k8s_cleanup EXIT

need_bpf
mkdir "$CG1" "$CG2"

mkdir -p "$WORK/bin"
cp "$NETPEER" "$WORK/bin/client"
cp "$NETPEER" "$WORK/bin/server"
P=$((1000 + RANDOM % 1001))     # allowed by a: 127.0.0.0/8 except 127.0.0.66, 1000-2000/tcp
O=$((3000 + RANDOM % 1000))     # outside a's ports
B=$((4000 + RANDOM % 1000))     # allowed by b: 127.0.0.66 only

cat >"$WORK/policy.yaml" <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: a
  namespace: polrec-test
  annotations:
    polrec.dev/cgroup: "/$NAME-1, /$NAME-2"
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock:
        cidr: 127.0.0.0/8
        except: [127.0.0.66/32]
    ports:
    - {protocol: TCP, port: 1000, endPort: 2000}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: b
  namespace: polrec-test
  annotations:
    polrec.dev/cgroup: /$NAME-1
    polrec.dev/severity: high
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 127.0.0.66/32}}]
    ports: [{port: $B}]
YAML

# what cannot be evaluated on the host is refused with its position
cat >"$WORK/bad.yaml" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, annotations: {polrec.dev/pod-uid: 6f1c2a9e-0d4b-4c57-9e1f-3b2a8c7d5e40}}
spec:
  ingress:
  - from:
    - podSelector: {matchLabels: {app: web}}
YAML
rc=0
"$POLRECD" --check-policy "$WORK/bad.yaml" >"$WORK/bad.out" 2>&1 || rc=$?
check "podSelector peer: refused" "$rc" "2"
check "podSelector peer: where and why" "$(grep -c "bad.yaml:7:7: \"podSelector\" peers cannot be evaluated by polrec" "$WORK/bad.out")" "1"
"$POLRECD" --check-policy "$WORK/policy.yaml" >"$WORK/check.out" 2>&1 || die "the test policy does not check: $(cat "$WORK/check.out")"

start_polrecd "$WORK/policy.yaml"
# a cgroup created less than a second before polrecd last looked for an
# unknown cgroup id is found on its next look (README, Limits)
sleep 1.2

"$WORK/bin/server" tcp-serve 127.0.0.1 "$P" 2 >"$WORK/server.out" &
BG_PIDS+=("$!")
for _ in $(seq 1 50); do grep -q ready "$WORK/server.out" && break; sleep 0.1; done
grep -q ready "$WORK/server.out" || die "server not ready"

# run_in CGROUP ARGS...: a shell moves itself into CGROUP, then execs ARGS
run_in() {
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$@"
}

# allowed: a allows 127.0.0.1:P (CG2), b allows 127.0.0.66:B (CG1, where
# a refuses it: one allowing is enough)
run_in "$CG2" "$WORK/bin/client" tcp-connect 127.0.0.1 "$P" hello >/dev/null
run_in "$CG1" "$WORK/bin/client" tcp-connect 127.0.0.1 "$P" hello >/dev/null
run_in "$CG1" "$WORK/bin/client" tcp-connect 127.0.0.66 "$B" >/dev/null || true
# outside both cgroups: not a subject of either
"$WORK/bin/client" tcp-connect 127.0.0.66 "$P" >/dev/null || true
"$WORK/bin/client" tcp-connect 127.0.0.1 "$O" >/dev/null || true
sleep 1
check "allowed and unselected traffic: no incident" "$(polq incidents --json | wc -l)" "0"

# CG2 to the except: a alone selects it
run_in "$CG2" "$WORK/bin/client" tcp-connect 127.0.0.66 "$P" >/dev/null || true
ID=$(wait_incident ".network.dst == \"127.0.0.66\" and .network.dport == $P") ||
	die "no incident for the except"
polq show "$ID" --json >"$WORK/except.json"
check "except: policy" "$(jq -r .policy "$WORK/except.json")" "NetworkPolicy/polrec-test/a"
check "except: networkPolicies" "$(jq -c .network.networkPolicies "$WORK/except.json")" '["polrec-test/a"]'
check "except: rule" "$(jq -r .rule "$WORK/except.json")" "network.egress"
check "except: direction and tuple" \
	"$(jq -r '.network | [.direction, .protocol, .src, .dst, .dport] | join(" ")' "$WORK/except.json")" \
	"egress tcp 127.0.0.1 127.0.0.66 $P"
check "except: severity (default)" "$(jq -r .severity "$WORK/except.json")" "medium"
check "except: who" "$(jq -r .process.exe "$WORK/except.json")" "$WORK/bin/client"
check "except: its cgroup" "$(jq -r .who.cgroup "$WORK/except.json")" "/$NAME-2"
check "except: expected" "$(jq -r .expected "$WORK/except.json")" \
	"polrec-test/a: network.egress: 127.0.0.0/8 except 127.0.0.66/32 1000-2000/tcp"

# CG2 to a port outside 1000-2000
run_in "$CG2" "$WORK/bin/client" tcp-connect 127.0.0.1 "$O" >/dev/null || true
ID=$(wait_incident ".network.dport == $O") || die "no incident for the port outside"
check "port outside: tuple and policy" \
	"$(polq show "$ID" --json | jq -r '[.policy, .network.direction, .network.dst, .network.dport] | join(" ")')" \
	"NetworkPolicy/polrec-test/a egress 127.0.0.1 $O"

# CG1 to the except on P: a and b both select it and both refuse
run_in "$CG1" "$WORK/bin/client" tcp-connect 127.0.0.66 "$P" >/dev/null || true
ID=$(wait_incident ".network.dst == \"127.0.0.66\" and (.network.networkPolicies | length) == 2") ||
	die "no incident naming both NetworkPolicies"
polq show "$ID" --json >"$WORK/union.json"
check "union: policy" "$(jq -r .policy "$WORK/union.json")" "NetworkPolicy/polrec-test/a,polrec-test/b"
check "union: networkPolicies" "$(jq -c .network.networkPolicies "$WORK/union.json")" \
	'["polrec-test/a","polrec-test/b"]'
check "union: severity (the highest)" "$(jq -r .severity "$WORK/union.json")" "high"
check "union: its cgroup" "$(jq -r .who.cgroup "$WORK/union.json")" "/$NAME-1"
check "union: expected names both" "$(jq -r .expected "$WORK/union.json")" \
	"polrec-test/a: network.egress: 127.0.0.0/8 except 127.0.0.66/32 1000-2000/tcp | polrec-test/b: network.egress: 127.0.0.66/32 $B/tcp"

# moved into CG2 after its exec, then connecting (bash's /dev/tcp, no exec)
bash -c 'echo $$ >"$1/cgroup.procs" && exec 3<>"/dev/tcp/127.0.0.1/$2"' bash "$CG2" "$O" \
	2>/dev/null || true
ID=$(wait_incident ".network.dport == $O and (.process.exe | endswith(\"bash\"))") ||
	die "no incident for a process moved into the cgroup"
check "moved: policy" "$(polq show "$ID" --json | jq -r .policy)" "NetworkPolicy/polrec-test/a"

sleep 0.5
check "incidents in all" "$(polq incidents --json | wc -l)" "4"
finish
