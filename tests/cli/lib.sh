# tests/cli/lib.sh — sourced by tests/cli/test_*.sh.
# $FK is the fangkong binary under test.  Each check prints TAP-style
# "ok - name" or "not ok - name" plus the detail that failed.
set -u
: "${FK:?FK must name the fangkong binary}"
TMP=$(mktemp -d /tmp/fk-cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export FANGKONG_DB="$TMP/test.db"
export FK_PROGRESS=0
SUITE=$(basename "$0" .sh)

ok() { echo "ok - $SUITE: $1"; }
not_ok() { echo "not ok - $SUITE: $1"; shift; for l in "$@"; do echo "#   $l"; done; }

# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "actual:   $3"; fi
}
# check_rc NAME EXPECTED_RC CMD...  (stdout/stderr saved in $TMP/out, $TMP/err)
check_rc() {
	local name=$1 want=$2 rc=0
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name"; else
		not_ok "$name" "expected exit $want, got $rc: $*" "stderr: $(head -c 600 "$TMP/err")"
	fi
}
# check_contains NAME FILE TEXT
check_contains() {
	if grep -qF -- "$3" "$2"; then ok "$1"; else
		not_ok "$1" "'$3' not in $2:" "$(head -c 600 "$2")"
	fi
}
# sql QUERY: run against $FANGKONG_DB with the sqlite3 shell (an independent reader)
sql() { sqlite3 -batch -noheader "$FANGKONG_DB" "$1"; }
