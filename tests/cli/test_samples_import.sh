#!/bin/bash
# fangkong import samples: header, each refusal as a rejected row with its
# exact line, field and reason, campaign inference (area and time window,
# the latest started, closed campaigns ignored), --campaign, idempotence,
# counters against an independent count, audit.  Campaigns and sites are
# written with the sqlite3 shell as a launch would; times by python3.
. "$(dirname "$0")/lib.sh"
export FANGKONG_NOW=2022-03-15T12:00:00+08:00

unix() { python3 -c 'import sys, datetime; print(int(datetime.datetime.fromisoformat(sys.argv[1]).timestamp()))' "$1"; }

check_rc "init" 0 "$FK" init
check_rc "a small city" 0 "$FK" gen --persons 200 --seed 11 --quiet

# the county with the most people is campaign 1's area
COMM=$(sql "SELECT substr(grid_code, 1, 6) c FROM persons GROUP BY c ORDER BY count(*) DESC, c LIMIT 1")
CITY=${COMM:0:4}
IN=($(sql "SELECT id_number FROM persons WHERE grid_code LIKE '$COMM%' ORDER BY id LIMIT 5"))
OUT=($(sql "SELECT id_number FROM persons WHERE grid_code NOT LIKE '$COMM%' ORDER BY id LIMIT 2"))
[ ${#IN[@]} = 5 ] && [ ${#OUT[@]} = 2 ] || echo "# the test city needs 5 persons in $COMM and 2 outside"
# a valid number nobody in the city has (birth date 1901-01-01), check
# character by GB 11643 computed in python3
NOBODY=$(python3 -c 'import sys; d = sys.argv[1]; W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]; print(d + "10X98765432"[sum(int(a) * w for a, w in zip(d, W)) % 11])' 61090219010101999)
[ "$(sql "SELECT count(*) FROM persons WHERE id_number = '$NOBODY'")" = 0 ] || echo "# NOBODY exists"
MAXID=$(sql "SELECT max(id) FROM persons")
D14=$(unix 2022-03-14T00:00:00+08:00); D10=$(unix 2022-03-10T00:00:00+08:00)
D20=$(unix 2022-03-20T00:00:00+08:00); D15=$(unix 2022-03-15T00:00:00+08:00)
sql "INSERT INTO campaigns(id, name, kind, region_code, starts_at, deadline, pool_size, status, population_max_id, exempt_under_age, created_at, created_by)
 VALUES (1, 'community', 'whole', '$COMM', $D14, $D20, 10, 'open', $MAXID, 3, $D14, 'test'),
        (2, 'city', 'whole', '$CITY', $D10, $D20, 10, 'open', $MAXID, 3, $D10, 'test'),
        (3, 'closed', 'whole', '$CITY', $D15, $D20, 10, 'closed', $MAXID, 3, $D15, 'test');
INSERT INTO campaign_grids(campaign_id, grid_code, expected)
 SELECT c.id, r.code, (SELECT count(*) FROM persons p WHERE p.grid_code = r.code)
 FROM campaigns c JOIN regions r ON r.level = 6 AND r.code LIKE c.region_code || '%';
INSERT INTO sites(code, name, region_code, capacity_per_hour, created_at, created_by)
 VALUES ('S1', 'one', '$CITY', 100, $D10, 'test'), ('S2', 'two', '$CITY', 100, $D10, 'test');"

# ---- usage ----
check_rc "--help exits 0" 0 "$FK" import samples --help
check_contains "--help names the columns" "$TMP/out" "tube,id_number,site,sampled_at,pool_size"
check_rc "no file is bad usage" 2 "$FK" import samples
check_rc "unknown option is bad usage" 2 "$FK" import samples x.csv --nope
check_rc "--campaign must be a number" 2 "$FK" import samples x.csv --campaign one
printf 'tube,id_number,site,time,pool_size\n' >"$TMP/hdr.csv"
check_rc "wrong header: exit 1" 1 "$FK" import samples "$TMP/hdr.csv"
check_contains "wrong header named" "$TMP/err" "expected 'tube,id_number,site,sampled_at,pool_size', got 'tube,id_number,site,time,pool_size'"
printf 'tube,id_number,site,sampled_at,pool_size\n' >"$TMP/empty.csv"
check_rc "unknown --campaign: exit 2" 2 "$FK" import samples "$TMP/empty.csv" --campaign 99

# ---- one file with every outcome ----
T=2022-03-15T09
cat >"$TMP/s.csv" <<CSV
tube,id_number,site,sampled_at,pool_size
T1,${IN[0]},S1,$T:00:00+08:00,3
T1,${IN[1]},S1,$T:01:00+08:00,3
T1,${IN[2]},S1,$T:02:00+08:00,3
T1,${IN[3]},S1,$T:03:00+08:00,3
T2,${IN[0]},S1,$T:10:00+08:00,3
T3,${OUT[0]},S1,$T:20:00+08:00,10
T3,${IN[3]},S2,$T:21:00+08:00,10
T3,${IN[3]},S1,$T:22:00+08:00,5
T4,$NOBODY,S1,$T:30:00+08:00,10
T4,${IN[4]},S9,$T:31:00+08:00,10
T4,${IN[4]},S1,yesterday,10
T4,${IN[4]},S1,$T:33:00+08:00,0
T5,${IN[4]},S1,2022-03-09T10:00:00+08:00,1
T 6,${IN[4]},S1,$T:40:00+08:00,1
T1,${IN[0]},S1,$T:00:00+08:00,3
T7,${IN[4]},S1
T7,${IN[4]},S1,2022-03-16T09:00:00+08:00,1
T1,${IN[1]},S1,$T:05:00+08:00,3
CSV
check_rc "import with rejects: exit 3" 3 "$FK" import samples "$TMP/s.csv"
check_contains "summary" "$TMP/err" "18 rows, 5 inserted, 1 unchanged, 12 rejected"
cat >"$TMP/want.csv" <<CSV
line,field,reason,raw
5,tube,tube_full: tube 'T1' is full: it holds 3 of 3 samples; bind a new tube,"T1,${IN[3]},S1,$T:03:00+08:00,3"
6,id_number,already_sampled: the person was sampled in campaign 1 at $T:00:00+08:00 into tube 'T1',"T2,${IN[0]},S1,$T:10:00+08:00,3"
8,site,"tube_bound: tube 'T3' is bound already (campaign 2, pool of 10, round); a tube is used once: bind a new tube","T3,${IN[3]},S2,$T:21:00+08:00,10"
9,pool_size,"tube_bound: tube 'T3' is bound already (campaign 2, pool of 10, round); a tube is used once: bind a new tube","T3,${IN[3]},S1,$T:22:00+08:00,5"
10,id_number,unknown_person: no person with this ID number,"T4,$NOBODY,S1,$T:30:00+08:00,10"
11,site,no site 'S9',"T4,${IN[4]},S9,$T:31:00+08:00,10"
12,sampled_at,not a time like 2022-01-10T08:30:00+08:00 (ISO 8601 with offset),"T4,${IN[4]},S1,yesterday,10"
13,pool_size,not a pool size from 1 to 20,"T4,${IN[4]},S1,$T:33:00+08:00,0"
15,tube,"not a tube code (1 to 32 letters, digits, '-' or '_')","T 6,${IN[4]},S1,$T:40:00+08:00,1"
17,,"wrong column count (expected 5, got 3)","T7,${IN[4]},S1"
18,sampled_at,in the future,"T7,${IN[4]},S1,2022-03-16T09:00:00+08:00,1"
19,sampled_at,"already_sampled: the person is in tube 'T1' already, sampled at $T:01:00+08:00","T1,${IN[1]},S1,$T:05:00+08:00,3"
CSV
check "rejects file: line, field, reason, raw" "$(cat "$TMP/want.csv")" "$(cat "$TMP/s.csv.rejects.csv")"
# campaign inference: T1 in the community's campaign (latest started, the
# closed one ignored), T3 (a person outside it) in the city's, T5 (before
# both started) in none
check "campaigns inferred" "T1|1|3|1
T3|2|1|0
T5||1|1" "$(sql "SELECT code || '|' || coalesce(campaign_id, '') || '|' || n || '|' || (closed_at IS NOT NULL) FROM tubes ORDER BY code")"
check "T1 closed at its third sample" "$(unix $T:02:00+08:00)" "$(sql "SELECT closed_at FROM tubes WHERE code = 'T1'")"
check "rows stored with the file's times and the site" "T1|${IN[0]}|$(unix $T:00:00+08:00)|S1|1
T1|${IN[1]}|$(unix $T:01:00+08:00)|S1|1
T1|${IN[2]}|$(unix $T:02:00+08:00)|S1|1
T3|${OUT[0]}|$(unix $T:20:00+08:00)|S1|1
T5|${IN[4]}|$(unix 2022-03-09T10:00:00+08:00)|S1|1" "$(sql "SELECT t.code || '|' || p.id_number || '|' || s.sampled_at || '|' || x.code || '|' || s.round FROM samples s JOIN tubes t ON t.id = s.tube_id JOIN persons p ON p.id = s.person_id JOIN sites x ON x.id = s.site_id ORDER BY s.id")"

# counters against an independent count
counters_ok() {
	sql "SELECT count(*) FROM campaign_grids g WHERE g.sampled <> (SELECT count(*) FROM samples s WHERE s.campaign_id = g.campaign_id AND s.grid_code = g.grid_code AND s.round = 1)
	 OR g.sampled_expected <> (SELECT count(*) FROM samples s JOIN persons p ON p.id = s.person_id WHERE s.campaign_id = g.campaign_id AND s.grid_code = g.grid_code AND s.round = 1 AND p.id <= $MAXID)"
}
check "campaign_grids equal a count over samples" "0" "$(counters_ok)"
check "site_hours equal a count over samples" "$(sql "SELECT coalesce(campaign_id, 0) || '|' || site_id || '|' || (sampled_at / 3600) || '|' || count(*) FROM samples GROUP BY coalesce(campaign_id, 0), site_id, sampled_at / 3600 ORDER BY 1")" \
	"$(sql "SELECT campaign_id || '|' || site_id || '|' || hour || '|' || samples FROM site_hours ORDER BY 1")"
check "audited per batch" "1|import:" "$(sql "SELECT count(*) || '|' || substr(min(actor), 1, 7) FROM audit_log WHERE action = 'sample.import'")"

# ---- idempotent: the same file again changes nothing ----
snap() { sql "SELECT (SELECT group_concat(id || ':' || tube_id || ':' || person_id) FROM samples) || '/' || (SELECT group_concat(code || ':' || n || ':' || coalesce(closed_at, '')) FROM tubes) || '/' || (SELECT sum(sampled) || ':' || sum(sampled_expected) FROM campaign_grids) || '/' || (SELECT sum(samples) FROM site_hours) || '/' || (SELECT count(*) FROM audit_log WHERE action = 'sample.import')"; }
BEFORE=$(snap)
check_rc "second import: exit 3 again" 3 "$FK" import samples "$TMP/s.csv"
check_contains "second import: nothing inserted" "$TMP/err" "18 rows, 0 inserted, 6 unchanged, 12 rejected"
check "second import changed nothing" "$BEFORE" "$(snap)"

# ---- --campaign ----
cat >"$TMP/c.csv" <<CSV
tube,id_number,site,sampled_at,pool_size
U1,${IN[3]},S1,$T:50:00+08:00,10
U1,${OUT[1]},S1,$T:51:00+08:00,10
T3,${IN[4]},S1,$T:52:00+08:00,10
CSV
check_rc "--campaign 1: exit 3" 3 "$FK" import samples "$TMP/c.csv" --campaign 1
check "--campaign 1: rejects" "line,field,reason,raw
3,id_number,out_of_area: the person is not in the population of campaign 1,\"U1,${OUT[1]},S1,$T:51:00+08:00,10\"
4,tube,\"tube_bound: tube 'T3' is bound to campaign 2, not campaign 1\",\"T3,${IN[4]},S1,$T:52:00+08:00,10\"" "$(cat "$TMP/c.csv.rejects.csv")"
check "--campaign 1 binds U1" "1|1" "$(sql "SELECT campaign_id || '|' || n FROM tubes WHERE code = 'U1'")"
printf 'tube,id_number,site,sampled_at,pool_size\nV1,%s,S1,%s:55:00+08:00,10\n' "${IN[4]}" "$T" >"$TMP/v.csv"
check_rc "--campaign 3 (closed): exit 3" 3 "$FK" import samples "$TMP/v.csv" --campaign 3
check_contains "closed campaign refused" "$TMP/v.csv.rejects.csv" "2,tube,campaign_closed: campaign 3 is closed: it takes no new samples"
check "nothing bound into the closed campaign" "0" "$(sql "SELECT count(*) FROM tubes WHERE code = 'V1'")"
check "counters still equal a count over samples" "0" "$(counters_ok)"
