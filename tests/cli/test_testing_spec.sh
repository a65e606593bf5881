#!/bin/bash
# Testing from the command line, written from the issue and the shared
# contract, not from the code: `campaign create|site`, `import samples` and
# `import results` on files with deliberately bad rows (each bad row must be
# listed in FILE.rejects.csv with its line and the field at fault, exit 3,
# every good row kept), re-imports that change nothing, and `plan-testing`
# against Dorfman's model computed here in Python.  Every expected count
# (results per person, retest and resample tasks and their due times from
# the policy file, candidates, coverage totals) is written down from the
# rows of the files, and read back with the sqlite3 shell.
. "$(dirname "$0")/lib.sh"

ROOT=$(realpath "$(dirname "$0")/../..")
POLICY=$ROOT/policy/protocol-9.ini
HOUR=3600
# a key of the [testing] section of the policy file
pol() { awk -F'=' -v k="$1" '/^\[/{s=$0} s=="[testing]" && $1~"^"k" *$" {gsub(/ /,"",$2); print $2}' "$POLICY"; }
RETEST_H=$(pol retest_hours)
RESAMPLE_H=$(pol resample_hours)
check "policy numbers read" "yes" "$([ -n "$RETEST_H" ] && [ -n "$RESAMPLE_H" ] && echo yes)"
unix() { date -d "$1" +%s; }
jf() { python3 -S -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2" 2>&1; }

check_rc "gen a small city" 0 "$FK" gen --persons 600 --seed 11
AREA=$(sql "SELECT substr(grid_code, 1, 6) c FROM persons GROUP BY c HAVING count(*) >= 30 ORDER BY c LIMIT 1")
TOWN=$(sql "SELECT code FROM regions WHERE level = 4 AND code LIKE '$AREA%' ORDER BY code LIMIT 1")
mapfile -t IDN < <(sql "SELECT id_number FROM persons WHERE grid_code LIKE '$AREA%' ORDER BY id LIMIT 14")
check "fourteen persons in $AREA" "14" "${#IDN[@]}"
pid() { sql "SELECT id FROM persons WHERE id_number = '$1'"; }

# ---- a campaign and a site
START=2022-03-01T08:00:00+08:00
check_rc "campaign create" 0 "$FK" campaign create --region "$AREA" --kind whole --name 第一轮 \
	--starts "$START" --deadline 2022-03-08T08:00:00+08:00 --json
cp "$TMP/out" "$TMP/campaign.json"
CID=$(jf "$TMP/campaign.json" 'd["id"]')
EXPECTED=$(jf "$TMP/campaign.json" 'd["expected"]')
# the rest still runs (and fails where it must) when the campaign is missing
[[ "$CID" =~ ^[0-9]+$ ]] || CID=0
[[ "$EXPECTED" =~ ^[0-9]+$ ]] || EXPECTED=-1
check "no isolation order in the generated city" "0" "$(sql 'SELECT count(*) FROM orders')"
check "campaign id" "$(sql 'SELECT max(id) FROM campaigns')" "$CID"
check "expected = persons of the area (nobody young or isolated here)" \
	"$(sql "SELECT count(*) FROM persons WHERE grid_code LIKE '$AREA%' AND birth_date <= '2019-03-01'")" \
	"$EXPECTED"
# default deadlines from the policy file: core +campaign_core_days,
# designated +campaign_designated_hours (on another county, closed at once)
OTHER=$(sql "SELECT substr(grid_code, 1, 6) c FROM persons WHERE c <> '$AREA' GROUP BY c ORDER BY c LIMIT 1")
for k in core designated; do
	check_rc "campaign create --kind $k" 0 "$FK" campaign create --region "$OTHER" --kind $k --starts "$START" --json
	case $k in core) want=$(($(unix $START) + $(pol campaign_core_days) * 86400)) ;;
		designated) want=$(($(unix $START) + $(pol campaign_designated_hours) * HOUR)) ;; esac
	check "$k: the default deadline" "$want" "$(unix "$(jf "$TMP/out" 'd["deadline"]')")"
	K_ID=$(jf "$TMP/out" 'd["id"]')
	check_rc "$k: closed" 0 "$FK" campaign close "$K_ID"
	check_rc "$k: closed again" 0 "$FK" campaign close "$K_ID"
	check "$k: status" "closed" "$(sql "SELECT status FROM campaigns WHERE id = '$K_ID'")"
done
check_rc "campaign site" 0 "$FK" campaign site --code S1 --name 采样点一 --region "$TOWN" --capacity 200
check "site stored" "S1|$TOWN|200" "$(sql "SELECT code, region_code, capacity_per_hour FROM sites WHERE code = 'S1'")"
check_rc "a second site" 0 "$FK" campaign site --code S2 --name 采样点二 --region "$TOWN" --capacity 100
OUT=$(sql "SELECT id_number FROM persons WHERE grid_code NOT LIKE '$AREA%' ORDER BY id LIMIT 1")

# ---- samples with bad rows
T=2022-03-01T09:00:00+08:00
BAD_ID=${IDN[0]:0:17}$([ "${IDN[0]:17:1}" = 0 ] && echo 1 || echo 0) # wrong check character
cat >"$TMP/samples.csv" <<EOF
tube,id_number,site,sampled_at,pool_size
TA,${IDN[0]},S1,$T,5
TA,${IDN[1]},S1,$T,5
TA,${IDN[2]},S1,$T,5
TA,${IDN[3]},S1,$T,5
TA,${IDN[4]},S1,$T,5
TA,${IDN[5]},S1,$T,5
TB,$BAD_ID,S1,$T,5
TB,${IDN[6]},NOSITE,$T,5
TB,${IDN[6]},S1,2022-03-01 25:00,5
TB,${IDN[6]},S1,$T,5
TB,${IDN[7]},S1,$T,5
TC,${IDN[8]},S1,$T,1
TD,${IDN[9]},S1,$T,10
TD,${IDN[10]},S1,$T,10
TD,${IDN[11]},S1,$T,10
TE,${IDN[0]},S1,$T,5
TB,${IDN[12]},S2,$T,5
TB,${IDN[12]},S1,$T,10
TG,${IDN[12]},S1,$T,5
TG,${IDN[13]},S1,$T,5
TF,$OUT,S1,$T,5
EOF
snap_samples() { sql "SELECT (SELECT count(*) FROM samples) || ',' || (SELECT count(*) FROM tubes) || ',' ||
	(SELECT total(n) FROM tubes) || ',' || (SELECT count(*) FROM tubes WHERE closed_at IS NOT NULL) || ',' ||
	(SELECT total(sampled) || '/' || total(sampled_expected) FROM campaign_grids) || ',' || (SELECT total(samples) FROM site_hours)"; }
check_rc "import samples: rows rejected, exit 3" 3 "$FK" import samples "$TMP/samples.csv"
# line: 7 tube over its pool size, 8 bad ID number, 9 unknown site, 10 bad
# time, 17 a person already sampled in the campaign, 18 and 19 a bound
# tube's site and pool size differ; 22 (a person of no campaign's area) is
# sampled outside any campaign
check "sample rejects: lines" "7|8|9|10|17|18|19" "$(tail -n +2 "$TMP/samples.csv.rejects.csv" | cut -d, -f1 | paste -sd'|')"
FIELDS=$(tail -n +2 "$TMP/samples.csv.rejects.csv" | cut -d, -f1,2 | paste -sd'|')
check "sample rejects: bad ID number, unknown site, bad time name their field" "yes" \
	"$(echo "$FIELDS" | grep -q '8,id_number' && echo "$FIELDS" | grep -q '9,site' && echo "$FIELDS" | grep -q '10,sampled_at' && echo yes)"
check "sample rejects: a bound tube's other site, other pool size" "yes" \
	"$(echo "$FIELDS" | grep -q '18,site' && echo "$FIELDS" | grep -q '19,pool_size' && echo yes)"
check "sample rejects: the tube over its pool size names the tube (or its pool size)" "yes" \
	"$(echo "$FIELDS" | grep -Eq '(^|\|)7,(tube|pool_size)(\||$)' && echo yes)"
check "sample rejects: the person sampled twice names the ID number (or the tube)" "yes" \
	"$(echo "$FIELDS" | grep -Eq '(^|\|)17,(id_number|tube)(\||$)' && echo yes)"
check "samples kept: 14 rows, 13 round in the campaign" "14|13" \
	"$(sql "SELECT count(*), sum(round = 1 AND campaign_id = $CID) FROM samples")"
check "the person of no campaign's area: a tube outside campaigns" "TF||1" \
	"$(sql "SELECT code || '|' || coalesce(campaign_id, '') || '|' || n FROM tubes WHERE code = 'TF'")"
check "tubes: TA full and closed, TB 2, TC 1 closed, TD 3 open, TG 2 open" "TA|5|5|1 TB|5|2|0 TC|1|1|1 TD|10|3|0 TF|5|1|0 TG|5|2|0" \
	"$(sql "SELECT code || '|' || pool_size || '|' || n || '|' || (closed_at IS NOT NULL) FROM tubes ORDER BY code" | paste -sd' ')"
check "sampled_at as in the file" "$(unix $T)" "$(sql "SELECT DISTINCT sampled_at FROM samples")"
check "coverage counters: sampled 13" "13|13" "$(sql "SELECT total(sampled), total(sampled_expected) FROM campaign_grids WHERE campaign_id = $CID" | sed 's/\.0//g')"
cp "$TMP/samples.csv.rejects.csv" "$TMP/samples.rejects.first"
S1=$(snap_samples)
check_rc "import samples again: still exit 3" 3 "$FK" import samples "$TMP/samples.csv"
check "import samples again changes nothing" "$S1" "$(snap_samples)"
check "import samples again: the same rejects" "same" \
	"$(cmp -s "$TMP/samples.rejects.first" "$TMP/samples.csv.rejects.csv" && echo same || echo different)"

# ---- results with bad rows
R=2022-03-01T12:00:00+08:00
cat >"$TMP/results.csv" <<EOF
tube,result,reported_at
TA,negative,$R
TB,positive,$R
TC,positive,$R
NOPE,negative,$R
TA,positive,$R
TD,invalid,2022-03-01T12:00
TD,invalid,$R
TA,negative,$R
TB,maybe,$R
TG,negative,2022-03-01T08:00:00+08:00
EOF
snap_results() { sql "SELECT (SELECT count(*) || '/' || count(result) FROM tubes) || ',' || (SELECT count(*) FROM person_results) || ',' ||
	(SELECT count(*) FROM tasks) || ',' || (SELECT count(*) FROM case_candidates) || ',' ||
	(SELECT total(resulted) || '/' || total(positive) FROM campaign_grids)"; }
check_rc "import results: rows rejected, exit 3" 3 "$FK" import results "$TMP/results.csv" --lab 某检测所
# line: 5 unknown tube, 6 a conflicting result, 7 a bad time, 10 a bad
# word, 11 a result before the tube's samples
check "result rejects: lines and fields" "5,tube|6,result|7,reported_at|10,result|11,reported_at" \
	"$(tail -n +2 "$TMP/results.csv.rejects.csv" | cut -d, -f1,2 | paste -sd'|')"
check "tube results" "TA|negative TB|positive TC|positive TD|invalid TF| TG|" \
	"$(sql "SELECT code || '|' || coalesce(result, '') FROM tubes ORDER BY code" | paste -sd' ')"
check "lab recorded" "某检测所" "$(sql "SELECT DISTINCT lab FROM tubes WHERE result IS NOT NULL")"
RU=$(unix $R)
check "person_results: TA negative x5, TB pool_positive x2, TC positive x1, TD invalid x3" \
	"TA|negative|5|$RU TB|pool_positive|2|$RU TC|positive|1|$RU TD|invalid|3|$RU" \
	"$(sql "SELECT tube || '|' || result || '|' || count(*) || '|' || max(resulted_at) FROM person_results GROUP BY tube ORDER BY tube" | paste -sd' ')"
check "retest tasks for the members of TB, due reported_at + ${RETEST_H} h" \
	"$(pid "${IDN[6]}")|$((RU + RETEST_H * HOUR))|open $(pid "${IDN[7]}")|$((RU + RETEST_H * HOUR))|open" \
	"$(sql "SELECT person_id || '|' || due_at || '|' || status FROM tasks WHERE kind = 'retest' ORDER BY person_id" | paste -sd' ')"
check "resample tasks for the members of TD, due reported_at + ${RESAMPLE_H} h" \
	"$(for i in 9 10 11; do echo "$(pid "${IDN[$i]}")|$((RU + RESAMPLE_H * HOUR))"; done | sort | paste -sd' ')" \
	"$(sql "SELECT person_id || '|' || due_at FROM tasks WHERE kind = 'resample' ORDER BY person_id" | sort | paste -sd' ')"
check "one pending candidate: the person of TC" "$(pid "${IDN[8]}")|pending" \
	"$(sql "SELECT person_id || '|' || status FROM case_candidates")"
check "coverage: resulted 8 (TA 5, TB 2, TC 1), positive 3" "8|3" \
	"$(sql "SELECT total(resulted), total(positive) FROM campaign_grids WHERE campaign_id = $CID" | sed 's/\.0//g')"
check_rc "campaign show" 0 "$FK" campaign show "$CID" --json
check "campaign totals" "13|8|3|$((EXPECTED - 13))" \
	"$(jf "$TMP/out" '"%s|%s|%s|%s" % (d["sampled"], d["resulted"], d["positive"], d["missing"])')"
cp "$TMP/results.csv.rejects.csv" "$TMP/results.rejects.first"
R1=$(snap_results)
check_rc "import results again: still exit 3" 3 "$FK" import results "$TMP/results.csv" --lab 某检测所
check "import results again changes nothing" "$R1" "$(snap_results)"
check "import results again: the same rejects" "same" \
	"$(cmp -s "$TMP/results.rejects.first" "$TMP/results.csv.rejects.csv" && echo same || echo different)"
# a result closes its tube (TB and TD were open): only that may change
check "samples untouched by results" "$(echo "$S1" | cut -d, -f1-3,5-)" "$(snap_samples | cut -d, -f1-3,5-)"
check "the tubes with a result are closed" "0" "$(sql "SELECT count(*) FROM tubes WHERE result IS NOT NULL AND closed_at IS NULL")"

# a clean file: exit 0, no rejects file left behind
printf 'tube,result,reported_at\nTA,negative,%s\n' "$R" >"$TMP/clean.csv"
check_rc "import results of a clean file: exit 0" 0 "$FK" import results "$TMP/clean.csv"
check "no rejects file" "no" "$([ -e "$TMP/clean.csv.rejects.csv" ] && echo yes || echo no)"

# ---- plan-testing against Dorfman's model E(k,p) = 1/k + 1 - (1-p)^k
dorfman() { python3 -S -c "import sys; k, p = int(sys.argv[1]), float(sys.argv[2]); print(1 / (1 / k + 1 - (1 - p) ** k))" "$1" "$2"; }
best() { python3 -S -c "import sys; p = float(sys.argv[1]); print(min(range(2, 65), key=lambda k: 1 / k + 1 - (1 - p) ** k))" "$1"; }
check "Dorfman reference at 1%: pool 11" "11" "$(best 0.01)"
check_rc "plan-testing at 1%" 0 "$FK" plan-testing --region "$AREA" --hours 24 --prevalence 0.01 --json
cp "$TMP/out" "$TMP/plan.json"
check "plan: the best pool at 1% is 11" "11" "$(jf "$TMP/plan.json" 'd["best_pool"]["size"]')"
check "plan: 5.11 persons per test at pool 11" "5.11" "$(jf "$TMP/plan.json" '"%.2f" % d["best_pool"]["persons_per_test"]')"
check "plan: persons per test at 11 = Dorfman" "yes" \
	"$(python3 -S -c "import sys; print('yes' if abs(float(sys.argv[1]) - float(sys.argv[2])) < 5e-4 else sys.argv[1] + ' vs ' + sys.argv[2])" \
		"$(jf "$TMP/plan.json" 'd["best_pool"]["persons_per_test"]')" "$(dorfman 11 0.01)")"
check "plan: the pool used by default is 10, at Dorfman's figure" "10|yes" \
	"$(jf "$TMP/plan.json" 'd["pool"]["size"]')|$(python3 -S -c "import sys; print('yes' if abs(float(sys.argv[1]) - float(sys.argv[2])) < 5e-4 else 'no')" \
		"$(jf "$TMP/plan.json" 'd["pool"]["persons_per_test"]')" "$(dorfman 10 0.01)")"
check "plan: persons = the population of the region" "$(sql "SELECT count(*) FROM persons WHERE grid_code LIKE '$AREA%'")" \
	"$(jf "$TMP/plan.json" 'd["persons"]')"
check_rc "plan-testing at 1% as a percent" 0 "$FK" plan-testing --region "$AREA" --hours 24 --prevalence 1% --json
check "1% and 0.01 plan alike" "$(cat "$TMP/plan.json")" "$(cat "$TMP/out")"
check_rc "plan-testing text" 0 "$FK" plan-testing --region "$AREA" --hours 24 --prevalence 0.01
check_contains "the text names 5.11 persons per test" "$TMP/out" "5.11"
check_rc "plan-testing at 0.1%: best 32" 0 "$FK" plan-testing --region "$AREA" --hours 24 --prevalence 0.001 --json
check "plan at 0.1%: pool 32, 15.9 persons per test" "32|15.9|$(best 0.001)" \
	"$(jf "$TMP/out" '"%d|%.1f" % (d["best_pool"]["size"], d["best_pool"]["persons_per_test"])')|32"
check_rc "plan-testing: no region is bad usage" 2 "$FK" plan-testing --hours 24 --prevalence 0.01
