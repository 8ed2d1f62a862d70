# Bad input gets one clear line that says where and what, an exit code of
# 2, and never a crash: policies, command lines, a damaged store.
source "$(dirname "$0")/lib.sh"

expect_policy_error() { # NAME FILE REGEX
	local out rc=0
	out=$("$POLRECD" --check-policy "$2" 2>&1 >/dev/null) || rc=$?
	check "$1: exit 2" "$rc" "2"
	check "$1: one line" "$(printf '%s\n' "$out" | wc -l)" "1"
	if printf '%s' "$out" | grep -qE -- "$3"; then ok "$1: message"; else
		echo "FAIL: $1: message [$out] does not match /$3/" >&2; FAILS=$((FAILS + 1)); fi
}

P=$WORK/p.yaml
printf 'apiVersion: polrec.dev/v1\nkind: Expectation\nmetadata: {name: a\nspec: [\n' > "$P"
expect_policy_error "malformed YAML" "$P" "^polrecd: .*p\.yaml:[0-9]+:[0-9]+: "
cat > "$P" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: a
spec:
  subjects: [{all: true}]
  files:
    wirteAllow: ["/x/**"]
YAML
expect_policy_error "unknown key" "$P" "p\.yaml:8:5: .*wirteAllow"
cat > "$P" <<YAML
apiVersion: polrec.dev/v1
kind: Expectation
metadata:
  name: a
spec:
  subjects:
    - uid: ["root"]
YAML
expect_policy_error "wrong type" "$P" "p\.yaml:7:13: "
: > "$P"
expect_policy_error "empty file" "$P" "p\.yaml:"
head -c 20971520 /dev/zero | tr '\0' 'a' > "$P"
expect_policy_error "20 MB file" "$P" "p\.yaml"
head -c 65536 /dev/urandom > "$P"
expect_policy_error "binary garbage" "$P" "p\.yaml"
expect_policy_error "missing file" "$WORK/none.yaml" "none\.yaml"
"$POLRECD" --print-default-policy > "$WORK/default.yaml"
check "default policy is valid" "$("$POLRECD" --check-policy "$WORK/default.yaml" >/dev/null 2>&1; echo $?)" "0"

rc=0; "$POLRECD" --bogus >/dev/null 2>&1 || rc=$?
check "polrecd unknown option exits 2" "$rc" "2"
rc=0; "$POLRECD" --policy "$P" --store "$WORK/s" >/dev/null 2>&1 || rc=$?
check "polrecd with a bad policy never starts (exit 2)" "$rc" "2"
[ ! -e "$WORK/s" ] || die "a bad policy created a store"

polq_err() { # NAME EXPECTED_RC ARGS...
	local name=$1 want=$2 out rc=0; shift 2
	out=$("$POLQ" "$@" 2>&1 >/dev/null) || rc=$?
	check "polq $name: exit $want" "$rc" "$want"
	check "polq $name: one line" "$(printf '%s\n' "$out" | wc -l)" "1"
}
polq_err "missing store" 2 --store "$WORK/nostore" incidents
mkdir -p "$WORK/garbage" && head -c 8192 /dev/urandom > "$WORK/garbage/polrec.db"
polq_err "garbage store" 2 --store "$WORK/garbage" incidents
polq_err "unknown command" 2 --store "$WORK/garbage" frobnicate
polq_err "bad --since" 2 --store "$WORK/garbage" incidents --since yesterdayish
polq_err "bad severity" 2 --store "$WORK/garbage" incidents --severity urgent
polq_err "show without id" 2 --store "$WORK/garbage" show
finish
