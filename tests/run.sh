#!/bin/bash
# Runs every suite and prints one closing line "N passed, N failed".
#   unit      Criterion (build/test-unit), and again sanitized (build-san)
#   cli       tests/cli/*.sh against build/fangkong, and again build-san
#   api       tests/api/*.mjs: a real server on a free loopback port
#   e2e       tests/e2e/*.mjs: Debian chromium via playwright-core
# Suites print TAP-style "ok - name" / "not ok - name" lines (Criterion's
# own summary is parsed).  Logs go to build/test-logs/.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
LOGS=$ROOT/build/test-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
PASS=0
FAIL=0
ONLY=${1:-}

want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ] || [ "${ONLY%%-*}" = "$1" ]; }

count_tap() { # suite logfile rc
	local suite=$1 log=$2 rc=$3 p f
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	grep '^not ok ' "$log" | sed "s/^/  [$suite] /"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "  [$suite] exited $rc without a failing test: counted as one failure (see $log)"
		tail -5 "$log" | sed 's/^/      /'
		f=1
	fi
	echo "$suite: $p passed, $f failed"
	PASS=$((PASS + p))
	FAIL=$((FAIL + f))
}

run_unit() { # suite binary
	local suite=$1 bin=$2 log=$LOGS/$1.log rc line t p f c
	"$bin" --jobs 2 >"$log" 2>&1
	rc=$?
	line=$(grep 'Synthesis:' "$log" | tail -1)
	if [ -z "$line" ]; then
		echo "  [$suite] no Criterion summary (exit $rc), see $log"
		tail -5 "$log" | sed 's/^/      /'
		FAIL=$((FAIL + 1))
		return
	fi
	p=$(echo "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
	f=$(echo "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
	c=$(echo "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
	grep -E '\[(FAIL|----)\]' "$log" | head -20 | sed "s/^/  [$suite] /"
	f=$((f + c))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	echo "$suite: $p passed, $f failed"
	PASS=$((PASS + p))
	FAIL=$((FAIL + f))
}

run_cli() { # suite binary
	local suite=$1 bin=$2 log=$LOGS/$1.log rc=0 t
	: >"$log"
	for t in tests/cli/test_*.sh; do
		[ -e "$t" ] || continue
		FK="$ROOT/$bin" bash "$t" >>"$log" 2>&1 || rc=$?
	done
	count_tap "$suite" "$log" "$rc"
}

run_node() { # suite dir binary
	local suite=$1 dir=$2 bin=$3 log=$LOGS/$1.log rc=0 t
	: >"$log"
	for t in "$dir"/*.mjs; do
		[ -e "$t" ] || continue
		FK="$ROOT/$bin" timeout 600 node "$t" >>"$log" 2>&1 || rc=$?
	done
	count_tap "$suite" "$log" "$rc"
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1
want unit && run_unit unit build/test-unit
want unit && run_unit unit-san build-san/test-unit
want cli && run_cli cli build/fangkong
want cli && run_cli cli-san build-san/fangkong
want api && run_node api tests/api build/fangkong
want e2e && run_node e2e tests/e2e build/fangkong

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ] && [ "$PASS" -gt 0 ]
