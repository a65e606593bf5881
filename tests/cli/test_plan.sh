#!/bin/bash
# fangkong plan-testing: capacity of a testing round under Dorfman's model.
# Every figure is recomputed here by python3 from the model written out in
# this file (whole tubes, expected counts rounded up, rates from the flags),
# not read back from the program; the seed county (seed 001: 13,000 tests a
# day = 130,000 persons a day at 10-in-1, a round of 7 days) and the
# published optimum at p = 1 % (k = 11, 5.11 persons per test, Hanel and
# Thurner 2020) are checked as plain numbers.
. "$(dirname "$0")/lib.sh"

# jf FILE EXPR: a Python expression over the JSON document d
jf() { python3 -S -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2" 2>&1; }

# ref PERSONS HOURS P POOL [SWABS SHIFT OPEN SITE LAB]: the expected JSON
# figures as sorted "key=value" lines (python3, independent of the program)
ref() {
	python3 -S - "$@" <<'PY'
import math, sys
n, hours, p, pool = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
swabs, shift, open_h, site = (int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]),
                              int(sys.argv[8])) if len(sys.argv) > 5 else (60, 6.0, 15.0, 240)
lab = int(sys.argv[9]) if len(sys.argv) > 9 else 0
def up(x):  # a count rounded up; 130000.0000000001 is 130000
    r = round(x)
    return int(r) if abs(x - r) <= 1e-9 * max(1.0, x) else math.ceil(x)
def e(k):
    return 1.0 if k == 1 else 1.0 / k + 1.0 - (1.0 - p) ** k
def pool_fig(k, name):
    full, r = divmod(n, k)
    qk, qr = 1 - (1 - p) ** k, (1 - (1 - p) ** r if r else 0.0)
    tubes = full + (1 if r else 0)
    retests = up(k * full * qk + r * qr) if k > 1 else 0
    tests = tubes + retests
    return {name + '.size': k, name + '.tubes': tubes,
            name + '.expected_positive_tubes': up(full * qk + qr),
            name + '.expected_retests': retests, name + '.tests': tests,
            name + '.tubes_per_day': up(tubes * 24 / hours),
            name + '.tests_per_day': up(tests * 24 / hours)}
best = min(range(1, 65), key=lambda k: (e(k), k))
valid = min((1, 5, 10, 20), key=lambda k: (e(k), k))
per_hour = n / (hours * open_h / 24)
out = {'persons': n, 'persons_per_day': up(n * 24 / hours), 'expected_positives': up(n * p)}
out.update(pool_fig(pool, 'pool'))
out.update(pool_fig(best, 'best_pool'))
out.update(pool_fig(valid, 'best_validated_pool'))
at_once = up(per_hour / swabs)
out.update({'sampling.persons_per_hour': up(per_hour), 'sampling.samplers_at_once': at_once,
            'sampling.samplers': at_once * up(open_h / shift),
            'sampling.sites': up(per_hour / site)})
if lab:
    out['lab.shortfall_per_day'] = max(0, out['pool.tests_per_day'] - lab)
for k in sorted(out):
    print(f'{k}={out[k]}')
PY
}

# got FILE [LAB]: the same keys from the program's JSON
got() {
	python3 -S - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
keys = ['persons', 'persons_per_day', 'expected_positives']
for g in ('pool', 'best_pool', 'best_validated_pool'):
    keys += [g + '.' + k for k in ('size', 'tubes', 'expected_positive_tubes', 'expected_retests',
                                   'tests', 'tubes_per_day', 'tests_per_day')]
keys += ['sampling.' + k for k in ('persons_per_hour', 'samplers_at_once', 'samplers', 'sites')]
if len(sys.argv) > 2:
    keys.append('lab.shortfall_per_day')
def get(k):
    v = d
    for part in k.split('.'):
        v = v[part]
    return v
for k in sorted(keys):
    print(f'{k}={get(k)}')
PY
}

check_rc "init" 0 "$FK" init
check_rc "gen a small city" 0 "$FK" gen --persons 200 --seed 3
CITY=$(sql "SELECT code FROM regions WHERE level = 2 LIMIT 1")
CITY_POP=$(sql "SELECT population FROM region_stats WHERE code = '$CITY'")
check "the city has people" 1 "$([ "${CITY_POP:-0}" -gt 0 ] && echo 1)"
# seed 001's county: 7 days for the whole population at 130,000 a day
COUNTY=$(sql "SELECT code FROM regions WHERE level = 3 ORDER BY code LIMIT 1")
sql "UPDATE region_stats SET population = 910000 WHERE code = '$COUNTY'"

# --- usage and bad input: exit 2, the flag named ---
check_rc "--help" 0 "$FK" plan-testing --help
check_contains "--help names the prevalence forms" "$TMP/out" "a percent such as 0.1%"
check_contains "--help names the defaults' source" "$TMP/out" "local choice"
bad() { # NAME FLAG ARGS...
	local name=$1 flag=$2
	shift 2
	check_rc "$name: exit 2" 2 "$FK" plan-testing "$@"
	check_contains "$name: names $flag" "$TMP/err" "$flag"
}
bad "no region" --region --hours 24 --prevalence 0.01
bad "no hours" --hours --region "$CITY" --prevalence 0.01
bad "no prevalence" --prevalence --region "$CITY" --hours 24
bad "hours 0" --hours --region "$CITY" --hours 0 --prevalence 0.01
bad "hours negative" --hours --region "$CITY" --hours -5 --prevalence 0.01
bad "hours not a number" --hours --region "$CITY" --hours 1e2 --prevalence 0.01
bad "prevalence 0" --prevalence --region "$CITY" --hours 24 --prevalence 0
bad "prevalence 1" --prevalence --region "$CITY" --hours 24 --prevalence 1
bad "prevalence 100%" --prevalence --region "$CITY" --hours 24 --prevalence 100%
bad "prevalence 0%" --prevalence --region "$CITY" --hours 24 --prevalence 0%
bad "prevalence junk" --prevalence --region "$CITY" --hours 24 --prevalence 1%%
bad "pool 0" --pool --region "$CITY" --hours 24 --prevalence 0.01 --pool 0
bad "pool 65" --pool --region "$CITY" --hours 24 --prevalence 0.01 --pool 65
bad "open hours 25" --open-hours --region "$CITY" --hours 24 --prevalence 0.01 --open-hours 25
bad "shift 0" --shift-hours --region "$CITY" --hours 24 --prevalence 0.01 --shift-hours 0
bad "swabs 0" --swabs-per-hour --region "$CITY" --hours 24 --prevalence 0.01 --swabs-per-hour 0
bad "unknown region" --region --region 999999 --hours 24 --prevalence 0.01
bad "unknown flag" --frobnicate --region "$CITY" --hours 24 --prevalence 0.01 --frobnicate 1

# --- seed 001's county: 910,000 persons in 7 days, 10-in-1, negligible p ---
check_rc "county plan" 0 "$FK" plan-testing --region "$COUNTY" --hours 168 --prevalence 0.001% --json
cp "$TMP/out" "$TMP/county.json"
check "county: 130,000 persons a day" 130000 "$(jf "$TMP/county.json" 'd["persons_per_day"]')"
check "county: 13,000 tubes a day" 13000 "$(jf "$TMP/county.json" 'd["pool"]["tubes_per_day"]')"
check "county: about 13,000 tests a day (lab)" True \
	"$(jf "$TMP/county.json" '13000 <= d["pool"]["tests_per_day"] <= 13000 * 1.002')"
check "county: lab figure is the pool's" True \
	"$(jf "$TMP/county.json" 'd["lab"]["tests_per_day"] == d["pool"]["tests_per_day"]')"
check "county: figures" "$(ref 910000 168 0.00001 10)" "$(got "$TMP/county.json")"
check_rc "county single tubes" 0 "$FK" plan-testing --region "$COUNTY" --hours 168 \
	--prevalence 0.00001 --pool 1 --json
check "county: 130,000 single tests a day" 130000 "$(jf "$TMP/out" 'd["pool"]["tests_per_day"]')"
check "county: single tubes have no retests" 0 "$(jf "$TMP/out" 'd["pool"]["expected_retests"]')"

# --- published optimum (Hanel and Thurner 2020): p = 1 %: k = 11, 5.11 ---
check_rc "p = 1%" 0 "$FK" plan-testing --region "$COUNTY" --hours 72 --prevalence 1% --json
cp "$TMP/out" "$TMP/p1.json"
check "p = 1 %: best pool 11" 11 "$(jf "$TMP/p1.json" 'd["best_pool"]["size"]')"
check "p = 1 %: 5.11 persons per test" 5.11 \
	"$(jf "$TMP/p1.json" '"%.2f" % d["best_pool"]["persons_per_test"]')"
check "p = 1 %: of 1/5/10/20, 10 is best" 10 "$(jf "$TMP/p1.json" 'd["best_validated_pool"]["size"]')"
check "p = 1 %: pools of 10 pay below 20.6 %" 0.206 \
	"$(jf "$TMP/p1.json" '"%.3f" % d["pool"]["pays_below_prevalence"]')"
check "p = 1 %: figures" "$(ref 910000 72 0.01 10)" "$(got "$TMP/p1.json")"
check_rc "p = 0.01" 0 "$FK" plan-testing --region "$COUNTY" --hours 72 --prevalence 0.01 --json
check "1% and 0.01 give the same plan" "$(cat "$TMP/p1.json")" "$(cat "$TMP/out")"

# --- the city, with a remainder tube, every rate given, a lab capacity ---
check_rc "city plan" 0 "$FK" plan-testing --region "$CITY" --hours 30 --prevalence 2.5% --pool 7 \
	--swabs-per-hour 45 --shift-hours 4 --open-hours 12.5 --site-capacity 90 --lab-capacity 50 --json
cp "$TMP/out" "$TMP/city.json"
check "city: figures" "$(ref "$CITY_POP" 30 0.025 7 45 4 12.5 90 50)" "$(got "$TMP/city.json" lab)"
check "city: persons from region_stats" "$CITY_POP" "$(jf "$TMP/city.json" 'd["persons"]')"
check "city: region name" "$(sql "SELECT name FROM regions WHERE code = '$CITY'")" \
	"$(jf "$TMP/city.json" 'd["region"]["name"]')"
check "city: rates echoed" "12.5 45 4 90 50" \
	"$(jf "$TMP/city.json" '" ".join(str(d[a][b]) for a, b in [("sampling","open_hours"),("sampling","swabs_per_hour"),("sampling","shift_hours"),("sampling","site_capacity"),("lab","capacity_per_day")])')"
check "city: lab days" True \
	"$(jf "$TMP/city.json" 'abs(d["lab"]["days_needed"] - d["pool"]["tests"] / 50) < 1e-4')"
check "city: json keys" \
	"best_pool best_validated_pool days expected_positives hours lab persons persons_per_day pool prevalence region sampling" \
	"$(jf "$TMP/city.json" '" ".join(sorted(d))')"

# --- the table for people ---
check_rc "human table" 0 "$FK" plan-testing --region "$COUNTY" --hours 168 --prevalence 0.001%
for want in "人口 persons" "910,000" "日均采样人数 persons per day" "130,000" "采样管 tubes" \
	"91,000" "日均检测 tests per day (lab)" "采样人员 samplers" "采样点 sampling sites" \
	"最优 best"; do
	check_contains "table shows '$want'" "$TMP/out" "$want"
done
