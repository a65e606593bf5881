#!/usr/bin/env bash
# `fangkong import results`: every effect of a tube's result checked with
# independent SQL (members' results through the view, coverage counters
# recounted from samples and tubes, tasks with their deadlines, the case
# candidate), rejects with their exact line, field and reason, a second
# import that changes nothing, --policy, and the exit codes.
# Tubes and samples are written with the sqlite3 shell, every column as
# the schema's comments define it (a campaign over one county, round tubes
# of 10, 1 and 5, an empty tube, a retest and a resample tube).
. "$(dirname "$0")/lib.sh"

"$FK" init >/dev/null 2>&1
"$FK" gen --persons 300 --seed 3 >/dev/null 2>&1

t() { date -d "$1" +%s; }
T0=$(t 2022-03-01T08:00:00+08:00)   # round sampling
REP=$(t 2022-03-01T20:00:00+08:00)  # the round's results
T1=$(t 2022-03-02T07:00:00+08:00)   # retest and resample sampling
REP2=$(t 2022-03-02T12:00:00+08:00)
COUNTY=610902
# persons of the county, in id order: p[1..]
mapfile -t P < <(sql "SELECT id FROM persons WHERE grid_code LIKE '$COUNTY%' ORDER BY id")

fixture() {
	local s="" i
	s+="INSERT INTO campaigns(id,name,kind,region_code,starts_at,deadline,pool_size,status,population_max_id,exempt_under_age,created_at,created_by,policy_version)"
	s+=" VALUES(1,'全员核酸 第1轮','whole','$COUNTY',$((T0-3600)),$((T0+7*86400)),10,'open',(SELECT max(id) FROM persons),3,$((T0-3600)),'test','protocol-9');"
	s+="INSERT INTO campaign_grids(campaign_id,grid_code,expected) SELECT 1, r.code, (SELECT count(*) FROM persons p WHERE p.grid_code = r.code) FROM regions r WHERE r.level = 6 AND r.code LIKE '$COUNTY%';"
	s+="INSERT INTO sites(id,code,name,region_code,capacity_per_hour,created_at,created_by) VALUES(1,'S1','采样点一','$COUNTY',300,$T0,'test');"
	# tube id, code, purpose, pool, persons (indexes into P), sampled at
	tube() {
		local id=$1 code=$2 purpose=$3 pool=$4 at=$5 n=0 round=0 camp=1
		shift 5
		[ "$purpose" = round ] && round=1
		for i in "$@"; do
			s+="INSERT INTO samples(tube_id,person_id,campaign_id,round,expected,grid_code,site_id,sampled_at,sampled_by)"
			s+=" SELECT $id, id, $camp, $round, 1, grid_code, 1, $((at + n)), 'test' FROM persons WHERE id = ${P[$i]};"
			n=$((n + 1))
		done
		local closed=NULL
		[ "$n" -eq "$pool" ] && closed=$((at + n))
		s="INSERT INTO tubes(id,code,campaign_id,site_id,purpose,pool_size,n,opened_at,opened_by,closed_at) VALUES($id,'$code',$camp,1,'$purpose',$pool,$n,$at,'test',$closed);$s"
		if [ "$round" = 1 ]; then
			s+="UPDATE campaign_grids SET sampled = sampled + c, sampled_expected = sampled_expected + c FROM (SELECT grid_code g, count(*) c FROM samples WHERE tube_id = $id GROUP BY grid_code) WHERE campaign_id = 1 AND grid_code = g;"
		fi
	}
	tube 1 T0001 round 10 "$T0" 0 1 2 3 4 5 6 7 8 9
	tube 2 T0002 round 10 "$T0" 10 11 12 13 14 15 16 17 18 19
	tube 3 T0003 round 1 "$T0" 20
	tube 4 T0004 round 5 "$T0" 21 22 23 24 25
	tube 5 T0005 round 10 "$T0"
	tube 6 R0006 retest 1 "$T1" 10
	tube 7 R0007 resample 1 "$T1" 21
	tube 8 T0008 round 10 "$T0" 30 31 32
	sqlite3 -batch "$FANGKONG_DB" "BEGIN; $s COMMIT;"
}
fixture
check "fixture: 31 samples in 8 tubes" "31|8" "$(sql "SELECT (SELECT count(*) FROM samples), (SELECT count(*) FROM tubes)")"

iso() { TZ=Asia/Shanghai date -d "@$1" +%Y-%m-%dT%H:%M:%S+08:00; }
R=$(iso "$REP"); R2=$(iso "$REP2")
cat >"$TMP/results.csv" <<CSV
tube,result,reported_at
T0001,negative,$R
T0002,positive,$R
T0003,positive,$R
T0004,invalid,$R
T0005,negative,$R
NOPE01,negative,$R
T0001,positive,$R
T0008,maybe,$R
T0008,negative,yesterday
T0008,negative,2022-03-01T07:00:00+08:00
bad tube!,negative,$R
T0008,negative
R0006,negative,$R2
R0007,negative,$R2
T0001,negative,$R
T0008,negative,2999-01-01T00:00:00+08:00
CSV

check_rc "import with rejected rows exits 3" 3 "$FK" import results "$TMP/results.csv" --lab 市疾控中心
check_contains "summary: rows, recorded, unchanged, rejected" "$TMP/err" "16 rows, 6 recorded (28 members), 1 unchanged, 9 rejected"
check_contains "summary: rows/s" "$TMP/err" " rows/s"
cat >"$TMP/want_rejects.csv" <<REJ
line,field,reason,raw
6,tube,tube holds no sample,"T0005,negative,$R"
7,tube,unknown tube,"NOPE01,negative,$R"
8,result,conflicting result: the tube already has 'negative',"T0001,positive,$R"
9,result,"must be negative, positive or invalid","T0008,maybe,$R"
10,reported_at,"bad time (expected ISO 8601 with offset, e.g. 2022-01-10T08:30:00+08:00)","T0008,negative,yesterday"
11,reported_at,before the tube's last sample (2022-03-01T08:00:02+08:00),"T0008,negative,2022-03-01T07:00:00+08:00"
12,tube,not a tube code (1 to 32 of A-Z a-z 0-9 _ -),"bad tube!,negative,$R"
13,,"wrong column count (expected 3, got 2)","T0008,negative"
17,reported_at,time is in the future,"T0008,negative,2999-01-01T00:00:00+08:00"
REJ
check "rejects: line, field, reason of each refused row" "$(cat "$TMP/want_rejects.csv")" "$(cat "$TMP/results.csv.rejects.csv")"

# --- the effects, recounted independently ---
check "tubes: results, times, lab, closed" \
	"T0001|negative|$REP|市疾控中心|$((T0 + 10))
T0002|positive|$REP|市疾控中心|$((T0 + 10))
T0003|positive|$REP|市疾控中心|$((T0 + 1))
T0004|invalid|$REP|市疾控中心|$((T0 + 5))
R0006|negative|$REP2|市疾控中心|$((T1 + 1))
R0007|negative|$REP2|市疾控中心|$((T1 + 1))" \
	"$(sql "SELECT code, result, resulted_at, lab, closed_at FROM tubes WHERE result IS NOT NULL ORDER BY id")"
check "tubes refused or unknown stay without result" "T0005||T0008|" \
	"$(sql "SELECT group_concat(code || '|' || coalesce(result, ''), '|') FROM tubes WHERE result IS NULL ORDER BY id")"
check "result_by names the importing account" "import:" "$(sql "SELECT DISTINCT substr(result_by, 1, 7) FROM tubes WHERE result IS NOT NULL")"
members() { local ids="" i; for i in "$@"; do ids+="${ids:+,}${P[$i]}"; done; echo "$ids"; }
check "every member of the negative tube has a negative result" "10|negative|$REP" \
	"$(sql "SELECT count(*), group_concat(DISTINCT result), max(resulted_at) FROM person_results WHERE tube = 'T0001' AND person_id IN ($(members 0 1 2 3 4 5 6 7 8 9))")"
check "members of the positive pool are pool_positive" "10|pool_positive" \
	"$(sql "SELECT count(*), group_concat(DISTINCT result) FROM person_results WHERE tube = 'T0002' AND person_id IN ($(members 10 11 12 13 14 15 16 17 18 19))")"
check "the single positive is positive" "${P[20]}|positive" "$(sql "SELECT person_id, result FROM person_results WHERE tube = 'T0003'")"
# retest tasks: one per member of T0002, due 12 h (protocol-9 retest_hours) after the report
check "retest tasks: members, grids, due = reported + 12 h, source" \
	"$(sql "SELECT s.person_id || '|' || s.grid_code || '|' || ($REP + 12 * 3600) || '|tube:T0002|2' FROM samples s WHERE s.tube_id = 2 ORDER BY s.person_id")" \
	"$(sql "SELECT person_id || '|' || region_code || '|' || due_at || '|' || source || '|' || ref_id FROM tasks WHERE kind = 'retest' ORDER BY person_id")"
check "retest of a member done by its retest tube, the others open" \
	"${P[10]}|done|$REP2|tube:R0006;9 open" \
	"$(sql "SELECT person_id || '|' || status || '|' || done_at || '|' || done_by FROM tasks WHERE kind = 'retest' AND status = 'done'");$(sql "SELECT count(*) FROM tasks WHERE kind = 'retest' AND status = 'open'") open"
check "resample tasks: one per member of T0004, due 24 h after the report" \
	"$(sql "SELECT s.person_id || '|' || s.grid_code || '|' || ($REP + 24 * 3600) || '|tube:T0004' FROM samples s WHERE s.tube_id = 4 ORDER BY s.person_id")" \
	"$(sql "SELECT person_id || '|' || region_code || '|' || due_at || '|' || source FROM tasks WHERE kind = 'resample' ORDER BY person_id")"
check "the resample of one member closed their task" "${P[21]}|done|tube:R0007;4 open" \
	"$(sql "SELECT person_id || '|' || status || '|' || done_by FROM tasks WHERE kind = 'resample' AND status = 'done'");$(sql "SELECT count(*) FROM tasks WHERE kind = 'resample' AND status = 'open'") open"
check "a case candidate for the single positive" "${P[20]}|3|$T0|$REP|pending|" \
	"$(sql "SELECT person_id, tube_id, sampled_at, resulted_at, status, coalesce(case_id, '') FROM case_candidates")"
# coverage: resulted = round members of a negative or positive round tube,
# plus members whose resample task after an invalid round tube was settled
REF_GRIDS="SELECT s.grid_code, count(*), sum(t.result = 'positive') FROM samples s JOIN tubes t ON t.id = s.tube_id
  WHERE s.round = 1 AND (t.result IN ('negative', 'positive')
   OR (t.result = 'invalid' AND EXISTS (SELECT 1 FROM tasks k WHERE k.kind = 'resample' AND k.ref_id = t.id
       AND k.person_id = s.person_id AND k.status = 'done')))
  GROUP BY s.grid_code ORDER BY s.grid_code"
check "campaign_grids resulted and positive per grid" "$(sql "$REF_GRIDS")" \
	"$(sql "SELECT grid_code, resulted, positive FROM campaign_grids WHERE campaign_id = 1 AND (resulted > 0 OR positive > 0) ORDER BY grid_code")"
check "campaign totals: 10 + 10 + 1 + 1 resulted, 11 positive" "22|11" \
	"$(sql "SELECT sum(resulted), sum(positive) FROM campaign_grids WHERE campaign_id = 1")"
check "one audit row for the batch" "1" "$(sql "SELECT count(*) FROM audit_log WHERE action = 'result.import'")"

# --- the same file again: nothing changes ---
snap() { sql "SELECT * FROM tubes ORDER BY id; SELECT * FROM tasks ORDER BY id; SELECT * FROM case_candidates; SELECT * FROM campaign_grids ORDER BY grid_code" | md5sum; }
before=$(snap)
check_rc "second import still reports the rejected rows" 3 "$FK" import results "$TMP/results.csv" --lab 市疾控中心
check_contains "second import: everything unchanged" "$TMP/err" "16 rows, 0 recorded (0 members), 7 unchanged, 9 rejected"
check "second import changed no row" "$before" "$(snap)"
check "second import: the same rejects" "$(cat "$TMP/want_rejects.csv")" "$(cat "$TMP/results.csv.rejects.csv")"

# --- a clean file exits 0; --policy sets the task deadlines ---
sed 's/^retest_hours = .*/retest_hours = 6/' "$(dirname "$FK")/../policy/protocol-9.ini" >"$TMP/fast-retest.ini"
printf 'tube,result,reported_at\nT0008,positive,%s\n' "$R" >"$TMP/ok.csv"
check_rc "a file without rejects exits 0" 0 "$FK" import results "$TMP/ok.csv" --policy "$TMP/fast-retest.ini"
check "no rejects file for a clean import" "no" "$([ -e "$TMP/ok.csv.rejects.csv" ] && echo yes || echo no)"
check "--policy: retest due reported + 6 h" "3|$((REP + 6 * 3600))" \
	"$(sql "SELECT count(*), max(due_at) FROM tasks WHERE source = 'tube:T0008'")"

# --- usage and failures ---
check_rc "no file: usage, exit 2" 2 "$FK" import results
check_rc "unknown option: exit 2" 2 "$FK" import results "$TMP/ok.csv" --frobnicate
check_rc "--lab too long: exit 2" 2 "$FK" import results "$TMP/ok.csv" --lab "$(printf 'x%.0s' $(seq 65))"
check_rc "missing file: exit 1" 1 "$FK" import results "$TMP/none.csv"
printf 'tube,outcome,reported_at\nT0008,positive,%s\n' "$R" >"$TMP/bad_header.csv"
check_rc "wrong header: exit 1" 1 "$FK" import results "$TMP/bad_header.csv"
check_contains "wrong header names the expected one" "$TMP/err" "expected 'tube,result,reported_at'"
check_rc "--help: exit 0" 0 "$FK" import results --help
check_contains "--help shows the columns" "$TMP/out" "tube,result,reported_at"
