#!/bin/bash
# fangkong policy check | show: the shipped files check clean, a broken file
# reports every problem as FILE:LINE: reason, exit codes, JSON that parses.
# The version is compared with sha256sum of the file (an independent hash).
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export FANGKONG_POLICY_DIR="$ROOT/policy"

for name in protocol-8 protocol-9 protocol-9-20; do
	f="$ROOT/policy/$name.ini"
	check_rc "check $name exits 0" 0 "$FK" policy check "$f"
	want="$f: ok, version $name@$(sha256sum "$f" | cut -c1-12)"
	check "check $name prints its version (sha256sum)" "$want" "$(cat "$TMP/out")"
	check "check $name prints no problem" "" "$(cat "$TMP/err")"
done

check_rc "check of the three at once exits 0" 0 "$FK" policy check \
	"$ROOT/policy/protocol-8.ini" "$ROOT/policy/protocol-9.ini" "$ROOT/policy/protocol-9-20.ini"
check "three ok lines" 3 "$(grep -c ': ok, version ' "$TMP/out")"

# A broken copy of protocol 9: an unknown key, a bad value, a missing key.
bad="$TMP/bad.ini"
sed -e 's/^window_minutes = 30$/window_minutes = 30\nwindow_minute = 30/' \
	-e 's/^lookback_days = 7$/lookback_days = seven/' \
	-e '/^token_minutes = /d' "$ROOT/policy/protocol-9.ini" >"$bad"
unknown=$(grep -n '^window_minute = ' "$bad" | cut -d: -f1)
badval=$(grep -n '^lookback_days = seven' "$bad" | cut -d: -f1)
codesec=$(grep -n '^\[code\]' "$bad" | cut -d: -f1)
check_rc "a broken file exits 1" 1 "$FK" policy check "$bad"
check_contains "unknown key with file:line" "$TMP/err" \
	"$bad:$unknown: unknown key 'window_minute' in [tracing]"
check_contains "bad value with file:line and what is allowed" "$TMP/err" \
	"$bad:$badval: bad value 'seven' for lookback_days in [arrival]: an integer from 1 to 60"
check_contains "missing key at its section's line" "$TMP/err" \
	"$bad:$codesec: missing key 'token_minutes' in [code]"
check "exactly three problems" 3 "$(wc -l <"$TMP/err")"
check "problems in line order" "$unknown $badval $codesec" \
	"$(sed 's/^[^:]*:\([0-9]*\):.*/\1/' "$TMP/err" | tr '\n' ' ' | sed 's/ $//')"
check "no ok line for a broken file" "" "$(cat "$TMP/out")"

# A missing section is reported for the file as a whole (no line).
sed -e '/^\[retention\]/,/^\[targets\]/{/^\[targets\]/!d}' "$ROOT/policy/protocol-9.ini" >"$TMP/nosec.ini"
check_rc "missing section exits 1" 1 "$FK" policy check "$TMP/nosec.ini"
check "missing section names the file only" "$TMP/nosec.ini: missing section [retention]" \
	"$(cat "$TMP/err")"

# One good and one bad file: both judged, exit 1.
check_rc "good and bad together exit 1" 1 "$FK" policy check "$ROOT/policy/protocol-9.ini" "$bad"
check_contains "the good one still ok" "$TMP/out" "protocol-9.ini: ok, version protocol-9@"

check_rc "unreadable file exits 1" 1 "$FK" policy check "$TMP/none.ini"
check_contains "unreadable file named" "$TMP/err" "cannot read policy '$TMP/none.ini'"

# Usage
check_rc "check without a file is usage (2)" 2 "$FK" policy check
check_rc "unknown subcommand is usage (2)" 2 "$FK" policy frob
check_rc "no subcommand is usage (2)" 2 "$FK" policy
check_rc "unknown option is usage (2)" 2 "$FK" policy show protocol-9 --yaml
check_rc "policy --help exits 0" 0 "$FK" policy --help
check_contains "help names check and show" "$TMP/out" "fangkong policy show FILE|NAME [--json]"
check_rc "policy check --help exits 0" 0 "$FK" policy check --help
check_rc "policy show --help exits 0" 0 "$FK" policy show --help

# show: by name, JSON parses and carries the values and the version
check_rc "show --json by name exits 0" 0 "$FK" policy show protocol-9-20 --json
if python3 -m json.tool "$TMP/out" >/dev/null 2>&1; then ok "show --json parses"; else
	not_ok "show --json parses" "$(head -c 300 "$TMP/out")"; fi
py() { python3 -c "import json,sys; d=json.load(open('$TMP/out')); print($1)"; }
check "json close days" "5 [1, 2, 3, 4, 5] home_isolation 3" \
	"$(py "d['close_contact']['days'], d['close_contact']['test_days'], d['close_contact']['then_kind'], d['close_contact']['then_days']")"
check "json secondary_contacts false" "False" "$(py "d['tracing']['secondary_contacts']")"
check "json risk levels" "False 5" "$(py "d['risk_area']['medium_level'], d['risk_area']['high_to_low_days']")"
check "json periodic" "2 1" "$(py "d['periodic']['cold_chain'], d['periodic']['isolation_staff']")"
check "json version" "protocol-9-20@$(sha256sum "$ROOT/policy/protocol-9-20.ini" | cut -c1-12)" \
	"$(py "d['version']")"
check "json has every section" "16" "$(py "len([k for k in d if isinstance(d[k], dict)])")"

# show (text) is itself a policy file with the same values
check_rc "show text exits 0" 0 "$FK" policy show "$ROOT/policy/protocol-8.ini"
cp "$TMP/out" "$TMP/shown.ini"
check_rc "shown text checks clean" 0 "$FK" policy check "$TMP/shown.ini"
"$FK" policy show "$TMP/shown.ini" --json >"$TMP/a.json"
"$FK" policy show protocol-8 --json >"$TMP/b.json"
strip() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); [d.pop(k) for k in ('file','version','sha256')]; print(json.dumps(d, sort_keys=True))" "$1"; }
check "shown text gives the same values" "$(strip "$TMP/b.json")" "$(strip "$TMP/a.json")"

check_rc "show of a broken file exits 1" 1 "$FK" policy show "$bad"
check_contains "show reports the problems" "$TMP/err" "missing key 'token_minutes' in [code]"
check_rc "show of an unknown name exits 1" 1 "$FK" policy show protocol-99
check_contains "unknown name: the resolved path" "$TMP/err" "$ROOT/policy/protocol-99.ini"
