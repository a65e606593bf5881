#!/bin/bash
# fangkong code: a person's health code at any time under any policy, end
# to end on a small generated city.  The records (cases, contacts, orders,
# risk areas, test results, arrivals, fever alerts, overrides) are written
# with the sqlite3 shell; every expected colour, rule and boundary is
# written down from the rule table (src/healthcode/healthcode.h) and the
# shipped policies' numbers (close contacts 14 / 7 / 5 days, secondary
# contacts 7 days and none under the 20 measures, arrivals from high-risk
# areas 14 / 7 / 7 days, couriers tested every 3 days), not read back from
# the engine.  The --all counts are recounted in SQL.
. "$(dirname "$0")/lib.sh"

ROOT=$(realpath "$(dirname "$0")/../..")
DAY=86400
HOUR=3600
T0=1654012800 # 2022-06-01T00:00:00+08:00

iso() { date -u -d "@$(($1 + 8 * HOUR))" +%Y-%m-%dT%H:%M:%S+08:00; }
# jf FILE EXPR: a Python expression over the JSON document d
jf() { python3 -S -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2" 2>&1; }

# code_at NAME ID_NUMBER T POLICY COLOUR RULES: the colour and the sorted
# rule names (comma-separated, "" for none) of `fangkong code --json` at T
code_at() {
	local name=$1 id=$2 t=$3 pol=$4 colour=$5 rules=$6 rc=0
	"$FK" code --person "$id" --at "$(iso "$t")" --policy "$pol" --json >"$TMP/code.json" \
		2>"$TMP/code.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		not_ok "$name" "fangkong code exited $rc" "stderr: $(head -c 400 "$TMP/code.err")"
		return
	fi
	check "$name" "$colour|$rules" \
		"$(jf "$TMP/code.json" 'd["colour"] + "|" + ",".join(sorted(r["rule"] for r in d["rules"]))')"
}

# --- a small city and its people ---
check_rc "gen a small city" 0 "$FK" gen --persons 300 --seed 7
KEY_OCC="'cold_chain','port','isolation_staff','medical','courier','transport'"
# persons with no key occupation, one a grid, none sharing a grid
Q_PEOPLE="SELECT id || '|' || id_number || '|' || grid_code FROM persons
	WHERE occupation NOT IN ($KEY_OCC) AND id IN (SELECT min(id) FROM persons GROUP BY grid_code)
	ORDER BY id LIMIT 12"
mapfile -t PEOPLE < <(sql "$Q_PEOPLE")
check "12 persons on distinct grids" "12" "${#PEOPLE[@]}"
pid() { echo "${PEOPLE[$1]}" | cut -d'|' -f1; }
pidn() { echo "${PEOPLE[$1]}" | cut -d'|' -f2; }
pgrid() { echo "${PEOPLE[$1]}" | cut -d'|' -f3; }
C=$(pid 0) C_ID=$(pidn 0)   # a case, released on day 20
K=$(pid 1) K_ID=$(pidn 1)   # close contact of C
S=$(pid 2) S_ID=$(pidn 2)   # secondary contact of C through K
O=$(pid 3) O_ID=$(pidn 3)   # close contact of C, then under a central order
V=$(pid 4) V_ID=$(pidn 4)   # fever reported, cleared
Q=$(pid 5) Q_ID=$(pidn 5)   # member of a positive pooled tube, retested
A=$(pid 6) A_ID=$(pidn 6)   # arrived from a high-risk area
R=$(pid 7) R_ID=$(pidn 7) R_GRID=$(pgrid 7) # lives in a high-risk grid
M=$(pid 8) M_ID=$(pidn 8) M_GRID=$(pgrid 8) # lives in a medium-risk grid
G=$(pid 9) G_ID=$(pidn 9)   # no record at all
P=$(sql "SELECT id FROM persons WHERE occupation = 'courier' ORDER BY id LIMIT 1")
P_ID=$(sql "SELECT id_number FROM persons WHERE id = $P")

E=$((T0 - DAY))  # exposure of the close contacts
F=$((T0 + 2 * HOUR)) # when they were found
sql "INSERT INTO cases(id, person_id, classification, onset_at, chain_id, created_at, created_by, released_at)
	VALUES(1, $C, 'confirmed', $((T0 - 2 * DAY)), 1, $T0, 'test', $((T0 + 20 * DAY)));
INSERT INTO contacts(person_id, case_id, degree, exposure_at, via_person, household, found_at)
	VALUES($K, 1, 1, $E, NULL, 0, $F), ($O, 1, 1, $E, NULL, 0, $F),
	       ($S, 1, 2, $T0, $K, 0, $F);
INSERT INTO orders(person_id, kind, category, case_id, status, start_at, planned_end, created_at, created_by)
	VALUES($O, 'central', 'close', 1, 'active', $((T0 + DAY)), $((T0 + 8 * DAY)), $((T0 + DAY)), 'test');
INSERT INTO alerts(kind, person_id, region_code, at, detail, cleared_at, cleared_by)
	VALUES('fever', $V, '610902', $((T0 + 3 * HOUR)), '37.9', $((T0 + DAY)), 'test');
INSERT INTO test_results(person_id, sampled_at, resulted_at, result, pooled, tube, lab) VALUES
	($Q, $T0, $((T0 + 6 * HOUR)), 'pool_positive', 10, 'T1', 'lab'),
	($Q, $((T0 + 8 * HOUR)), $((T0 + 20 * HOUR)), 'negative', 1, 'T2', 'lab'),
	($P, $T0, $((T0 + 5 * HOUR)), 'negative', 10, 'T3', 'lab');
INSERT INTO risk_areas(region_code, level, start_at, end_at, created_at, created_by) VALUES
	('420106', 'high', $((T0 - 10 * DAY)), NULL, $T0, 'test'),
	('$R_GRID', 'high', $((T0 + 2 * DAY)), $((T0 + 5 * DAY)), $T0, 'test'),
	('$M_GRID', 'medium', $T0, NULL, $T0, 'test');
INSERT INTO arrivals(person_id, origin_code, arrived_at, source, recorded_by)
	VALUES($A, '420106001', $((T0 + DAY)), 'checkpoint', 'test');"
check "records inserted" "1|3|1|1|3|3|1" "$(sql "SELECT (SELECT count(*) FROM cases) || '|' ||
	(SELECT count(*) FROM contacts) || '|' || (SELECT count(*) FROM orders) || '|' ||
	(SELECT count(*) FROM alerts) || '|' || (SELECT count(*) FROM test_results) || '|' ||
	(SELECT count(*) FROM risk_areas) || '|' || (SELECT count(*) FROM arrivals)")"

# --- usage and refusals ---
check_rc "--help exits 0" 0 "$FK" code --help
check_contains "--help shows usage" "$TMP/out" "fangkong code --person"
check_rc "no --person nor --all is bad usage" 2 "$FK" code
check_rc "an unknown option is bad usage" 2 "$FK" code --person "$G_ID" --bogus
check_rc "--person without a value is bad usage" 2 "$FK" code --person
check_rc "an unknown person is bad usage" 2 "$FK" code --person 110101199003077777
check_contains "the unknown person is named" "$TMP/err" "110101199003077777"
check_rc "--at that is not a time is bad usage" 2 "$FK" code --person "$G_ID" --at yesterday
check_contains "the bad --at is named" "$TMP/err" "yesterday"
check_rc "--at without an offset is bad usage" 2 "$FK" code --person "$G_ID" --at 2022-06-01T10:00:00
check_rc "--at 2022-13-45 is bad usage" 2 "$FK" code --person "$G_ID" --at 2022-13-45T00:00:00+08:00
check_rc "--at without a value is bad usage" 2 "$FK" code --person "$G_ID" --at
check_rc "an unknown policy name is refused" 2 "$FK" code --person "$G_ID" --policy protocol-99
check_contains "the unknown policy is named" "$TMP/err" "protocol-99"
printf '[policy]\nname = broken\n' >"$TMP/broken.ini"
rc=0
"$FK" code --person "$G_ID" --policy "$TMP/broken.ini" >"$TMP/out" 2>"$TMP/err" || rc=$?
check "a broken policy file is refused" "refused" "$([ "$rc" -ne 0 ] && echo refused || echo "exit 0")"
check_contains "the broken policy file is named" "$TMP/err" "broken.ini"

# --- the JSON members ---
check_rc "--json for a person with no record" 0 "$FK" code --person "$G_ID" --at "$(iso $T0)" --json
cp "$TMP/out" "$TMP/g.json"
check "no record: green, no rules, not overridden" "green|0|False|green" \
	"$(jf "$TMP/g.json" 'd["colour"] + "|" + str(len(d["rules"])) + "|" + str(d["overridden"]) + "|" + d["computed"]')"
check "the full ID number (an operator tool)" "$G_ID" "$(jf "$TMP/g.json" 'd["person"]["id_number"]')"
check "at echoes --at" "$(iso $T0)" "$(jf "$TMP/g.json" 'd["at"]')"
check "colour_zh" "绿码" "$(jf "$TMP/g.json" 'd["colour_zh"]')"
SHA9=$(sha256sum "$ROOT/policy/protocol-9.ini" | cut -c1-12)
SHA20=$(sha256sum "$ROOT/policy/protocol-9-20.ini" | cut -c1-12)
check "default policy: protocol-9, versioned by the file's SHA-256" "protocol-9@$SHA9" \
	"$(jf "$TMP/g.json" 'd["policy_version"]')"
check_rc "--policy as a file" 0 "$FK" code --person "$G_ID" --policy "$ROOT/policy/protocol-9-20.ini" --json
check "a policy file's version" "protocol-9-20@$SHA20" "$(jf "$TMP/out" 'd["policy_version"]')"
check_rc "plain text output" 0 "$FK" code --person "$K_ID" --at "$(iso $((F + HOUR)))"
check_contains "text names the colour" "$TMP/out" "red"
check_contains "text names the close contact rule" "$TMP/out" "close"

# --- every rule at its boundaries (start-1, start, end-1, end) ---
# case [recorded, released)
code_at "case: before recorded" "$C_ID" $((T0 - 1)) protocol-9 green ""
code_at "case: recorded" "$C_ID" $T0 protocol-9 red case
code_at "case: last second before release" "$C_ID" $((T0 + 20 * DAY - 1)) protocol-9 red case
code_at "case: released" "$C_ID" $((T0 + 20 * DAY)) protocol-9 green ""
"$FK" code --person "$C_ID" --at "$(iso $T0)" --policy protocol-9 --json >"$TMP/c.json" 2>/dev/null
check "case: its end and next change are the release" "$(iso $((T0 + 20 * DAY)))|$(iso $((T0 + 20 * DAY)))" \
	"$(jf "$TMP/c.json" 'd["rules"][0]["end"] + "|" + str(d["next_change"])')"
check "case: its start is the record" "$(iso $T0)" "$(jf "$TMP/c.json" 'd["rules"][0]["start"]')"
check "case: a reason in both languages and evidence" "True" \
	"$(jf "$TMP/c.json" 'all(d["rules"][0][k] for k in ("reason_zh", "reason_en", "evidence"))')"
code_at "case: same under the 20 measures" "$C_ID" $T0 protocol-9-20 red case

# close contact [found, exposure + close days): 14 / 7 / 5
for pol in protocol-8:14 protocol-9:7 protocol-9-20:5; do
	p=${pol%%:*} d=${pol##*:}
	code_at "close ($p): before found" "$K_ID" $((F - 1)) "$p" green ""
	code_at "close ($p): found" "$K_ID" $F "$p" red close
	code_at "close ($p): last second of day $d" "$K_ID" $((E + d * DAY - 1)) "$p" red close
	code_at "close ($p): after $d days" "$K_ID" $((E + d * DAY)) "$p" green ""
done
"$FK" code --person "$K_ID" --at "$(iso $F)" --policy protocol-9 --json >"$TMP/k.json" 2>/dev/null
check "close: next change at exposure + 7 days" "$(iso $((E + 7 * DAY)))" "$(jf "$TMP/k.json" 'd["next_change"]')"

# secondary contact: yellow [found, exposure + 7 days) under protocols 8 and 9,
# nothing under the 20 measures
for p in protocol-8 protocol-9; do
	code_at "secondary ($p): before found" "$S_ID" $((F - 1)) "$p" green ""
	code_at "secondary ($p): found" "$S_ID" $F "$p" yellow secondary
	code_at "secondary ($p): last second" "$S_ID" $((T0 + 7 * DAY - 1)) "$p" yellow secondary
	code_at "secondary ($p): after 7 days" "$S_ID" $((T0 + 7 * DAY)) "$p" green ""
done
code_at "secondary (protocol-9-20): not identified" "$S_ID" $F protocol-9-20 green ""
code_at "secondary (protocol-9-20): not identified a day on" "$S_ID" $((F + DAY)) protocol-9-20 green ""

# close contact, then an order from day 1 to day 8: the order ends the close rule
code_at "order: close contact before the order" "$O_ID" $((T0 + DAY - 1)) protocol-9 red close
code_at "order: the order starts, the close rule ends" "$O_ID" $((T0 + DAY)) protocol-9 red order
code_at "order: last second" "$O_ID" $((T0 + 8 * DAY - 1)) protocol-8 red order
code_at "order: ended (after 7 close days)" "$O_ID" $((T0 + 8 * DAY)) protocol-9 green ""
code_at "order: ended, the close rule does not come back (protocol 8)" "$O_ID" $((T0 + 8 * DAY)) protocol-8 green ""

# fever [reported, cleared)
code_at "fever: before" "$V_ID" $((T0 + 3 * HOUR - 1)) protocol-9 green ""
code_at "fever: reported" "$V_ID" $((T0 + 3 * HOUR)) protocol-9 yellow fever
code_at "fever: last second" "$V_ID" $((T0 + DAY - 1)) protocol-9-20 yellow fever
code_at "fever: cleared" "$V_ID" $((T0 + DAY)) protocol-9 green ""

# pool positive [resulted, single negative retest resulted)
code_at "pool: before the result" "$Q_ID" $((T0 + 6 * HOUR - 1)) protocol-9 green ""
code_at "pool: pooled tube positive" "$Q_ID" $((T0 + 6 * HOUR)) protocol-9 yellow pool
code_at "pool: last second before the retest" "$Q_ID" $((T0 + 20 * HOUR - 1)) protocol-9 yellow pool
code_at "pool: negative retest" "$Q_ID" $((T0 + 20 * HOUR)) protocol-9 green ""

# arrival from a high-risk area [arrived, arrived + 14 / 7 / 7 days)
for pol in protocol-8:14 protocol-9:7 protocol-9-20:7; do
	p=${pol%%:*} d=${pol##*:}
	code_at "arrival ($p): before" "$A_ID" $((T0 + DAY - 1)) "$p" green ""
	code_at "arrival ($p): arrived" "$A_ID" $((T0 + DAY)) "$p" red arrival
	code_at "arrival ($p): last second" "$A_ID" $((T0 + DAY + d * DAY - 1)) "$p" red arrival
	code_at "arrival ($p): after $d days" "$A_ID" $((T0 + DAY + d * DAY)) "$p" green ""
done

# resident of a high-risk grid [area start, area end)
code_at "resident: before" "$R_ID" $((T0 + 2 * DAY - 1)) protocol-9 green ""
code_at "resident: high-risk area" "$R_ID" $((T0 + 2 * DAY)) protocol-9 red resident
code_at "resident: last second" "$R_ID" $((T0 + 5 * DAY - 1)) protocol-9-20 red resident
code_at "resident: lifted" "$R_ID" $((T0 + 5 * DAY)) protocol-9 green ""
# medium: yellow under protocol 9, no level under the 20 measures
code_at "resident medium (protocol-9)" "$M_ID" $T0 protocol-9 yellow resident
code_at "resident medium (protocol-9): before" "$M_ID" $((T0 - 1)) protocol-9 green ""
code_at "resident medium (protocol-9-20): no medium level" "$M_ID" $T0 protocol-9-20 green ""

# periodic: a courier (every 3 days) tested at T0
code_at "periodic: never tested before T0" "$P_ID" $((T0 - 1)) protocol-9 yellow periodic
code_at "periodic: tested" "$P_ID" $T0 protocol-9 green ""
code_at "periodic: last second in time" "$P_ID" $((T0 + 3 * DAY - 1)) protocol-9 green ""
code_at "periodic: overdue" "$P_ID" $((T0 + 3 * DAY)) protocol-9 yellow periodic

# --- what-if: now is long after; the past is still answered ---
export FANGKONG_NOW=$(iso $((T0 + 60 * DAY)))
check_rc "now (no --at)" 0 "$FK" code --person "$K_ID" --json
check "close contact green now" "green|$(iso $((T0 + 60 * DAY)))" "$(jf "$TMP/out" 'd["colour"] + "|" + d["at"]')"
code_at "the same close contact red at a past --at" "$K_ID" $((F + DAY)) protocol-9 red close
unset FANGKONG_NOW

# --- an override: green over the close contact's red, [T0+2d, T0+3d) ---
sql "INSERT INTO users(id, username, pwhash, role, scope, created_at, created_by) VALUES
	(901, 'hc_a', 'x', 'health', '6109', $T0, 'test'), (902, 'hc_b', 'x', 'health', '6109', $T0, 'test');
INSERT INTO overrides(id, colour, category, reason, end_at, persons, status, requested_by, requested_at,
	approved_by, approved_at, policy_version)
	VALUES(1, 'green', 'data_error', 'wrong exposure', $((T0 + 3 * DAY)), 1, 'active', 901,
	$((T0 + 2 * DAY - HOUR)), 902, $((T0 + 2 * DAY)), 'protocol-9@x');
INSERT INTO override_persons VALUES(1, $K);"
code_at "override: before approval" "$K_ID" $((T0 + 2 * DAY - 1)) protocol-9 red close
"$FK" code --person "$K_ID" --at "$(iso $((T0 + 2 * DAY)))" --policy protocol-9 --json >"$TMP/o.json" 2>"$TMP/err"
check "override: green over red, computed red" "green|True|red" \
	"$(jf "$TMP/o.json" 'd["colour"] + "|" + str(d["overridden"]) + "|" + d["computed"]')"
check "override: the close rule is still shown" "True" \
	"$(jf "$TMP/o.json" '"close" in [r["rule"] for r in d["rules"]]')"
"$FK" code --person "$K_ID" --at "$(iso $((T0 + 3 * DAY - 1)))" --policy protocol-9 --json >"$TMP/o.json" 2>"$TMP/err"
check "override: last second" "green|True" "$(jf "$TMP/o.json" 'd["colour"] + "|" + str(d["overridden"])')"
"$FK" code --person "$K_ID" --at "$(iso $((T0 + 3 * DAY)))" --policy protocol-9 --json >"$TMP/o.json" 2>"$TMP/err"
check "override: ended" "red|False" "$(jf "$TMP/o.json" 'd["colour"] + "|" + str(d["overridden"])')"

# --- most severe first: the case person is also a fever case ---
sql "INSERT INTO alerts(kind, person_id, region_code, at, detail) VALUES('fever', $C, '610902', $((T0 - HOUR)), '38.5')"
"$FK" code --person "$C_ID" --at "$(iso $((T0 + HOUR)))" --json >"$TMP/s.json" 2>"$TMP/err"
check "two rules, most severe first" "red|case,fever" \
	"$(jf "$TMP/s.json" 'd["colour"] + "|" + ",".join(r["rule"] for r in d["rules"])')"

# --- the run is audited ---
before=$(sql "SELECT count(*) FROM audit_log")
"$FK" code --person "$R_ID" --at "$(iso $T0)" >/dev/null 2>&1
check "a code run adds an audit row" "$((before + 1))" "$(sql "SELECT count(*) FROM audit_log")"

# --- --all: colour counts of every person, recounted in SQL ---
AT=$((T0 + 4 * DAY))
# at T0+4d under protocol 9: red = C (case), K (close), O (order), A (arrival),
# everyone in R's grid (resident); yellow = S (secondary), everyone in M's
# grid, every key occupation not tested in the last N days (P: overdue from
# T0+3d; the others never tested); the rest green.
want=$(sql "WITH red(id) AS (SELECT id FROM persons WHERE id IN ($C, $K, $O, $A) OR grid_code = '$R_GRID'),
	yel(id) AS (SELECT id FROM persons WHERE (id = $S OR grid_code = '$M_GRID'
		OR occupation IN ($KEY_OCC)) AND id NOT IN (SELECT id FROM red))
	SELECT ((SELECT count(*) FROM persons) - (SELECT count(*) FROM red) - (SELECT count(*) FROM yel))
	|| '|' || (SELECT count(*) FROM yel) || '|' || (SELECT count(*) FROM red)")
check_rc "--all --json" 0 "$FK" code --all --at "$(iso $AT)" --policy protocol-9 --json
check "--all counts green|yellow|red" "$want" \
	"$(jf "$TMP/out" '"|".join(str((d.get("counts") or d)[k]) for k in ("green", "yellow", "red"))')"
check_rc "--all text" 0 "$FK" code --all --at "$(iso $AT)" --policy protocol-9
check_contains "--all text names red" "$TMP/out" "red"
check_contains "--all text gives the red count" "$TMP/out" "${want##*|}"
check_rc "--all and --person together are bad usage" 2 "$FK" code --all --person "$K_ID"
