#!/bin/bash
# fangkong gen --days: a city that moves.  Every property is measured with
# the sqlite3 shell on the rows written; the day boundaries come from
# python3.
. "$(dirname "$0")/lib.sh"
# a Thursday: the three days generated are Monday 14 to Wednesday 16 March
export FANGKONG_NOW=2022-03-17T15:00:00+08:00
END=$(python3 -c 'import datetime; print(int(datetime.datetime(2022, 3, 17, tzinfo=datetime.timezone(datetime.timedelta(hours=8))).timestamp()))')
START=$((END - 3 * 86400))
DAYS=3
PERSONS=500
LOCALDAY="((t + 28800) / 86400)"

# ---- usage ----
check_rc "--help exits 0" 0 "$FK" gen --help
check_contains "--help names --days" "$TMP/out" "--days N"
check_rc "--days 0 is bad usage" 2 "$FK" gen --days 0
check_rc "--days x is bad usage" 2 "$FK" gen --days x
check_rc "--days 400 is bad usage" 2 "$FK" gen --days 400
check_rc "--days without a value is bad usage" 2 "$FK" gen --days

# ---- a city, 60 more supermarkets in one grid, then its moves ----
check_rc "city" 0 "$FK" gen --persons $PERSONS --seed 9 --quiet
GRID=$(sql "SELECT grid_code FROM persons GROUP BY grid_code ORDER BY count(*) DESC LIMIT 1")
{
	echo "code,name,region_code,kind"
	for i in $(seq 1 60); do echo "SM$i,超市$i,$GRID,supermarket"; done
} >"$TMP/venues.csv"
check_rc "60 supermarkets" 0 "$FK" import venues "$TMP/venues.csv"
check_rc "moves for the city in the database" 0 "$FK" gen --days $DAYS --seed 9
check_contains "count printed" "$TMP/out" "check-ins: $(sql "SELECT count(*) FROM checkins") over 3 days"
cp "$FANGKONG_DB" "$TMP/a.db"

check "every person every day" $((PERSONS * DAYS)) \
	"$(sql "SELECT count(*) FROM (SELECT DISTINCT person_id, $LOCALDAY FROM checkins)")"
check "3 to 7 scans a person a day" "3 7" \
	"$(sql "SELECT min(n), max(n) FROM (SELECT count(*) n FROM checkins GROUP BY person_id, $LOCALDAY)" | tr '|' ' ')"
check "mean scans a day between 4.5 and 5.5" 1 \
	"$(sql "SELECT avg(n) BETWEEN 4.5 AND 5.5 FROM (SELECT count(*) n FROM checkins GROUP BY person_id, $LOCALDAY)")"
check "the 3 days before today (+08:00)" 1 \
	"$(sql "SELECT min(t) >= $START AND max(t) < $END FROM checkins")"
check "scans between 06:00 and 22:00" 0 \
	"$(sql "SELECT count(*) FROM checkins WHERE (t + 28800) % 86400 NOT BETWEEN 6 * 3600 AND 22 * 3600")"
check "lunch busier than mid-afternoon" 1 \
	"$(sql "SELECT sum((t + 28800) % 86400 / 3600 = 12) > 2 * sum((t + 28800) % 86400 / 3600 = 14) FROM checkins")"
check "generated rows: source 0, no temperature" "0|0" \
	"$(sql "SELECT sum(source != 0), sum(temp_dc IS NOT NULL) FROM checkins")"
check "every row in a recorded batch" "$(sql "SELECT count(*) FROM checkins")" \
	"$(sql "SELECT sum(rows) FROM checkin_batches")"
check "every row names a person and a venue" 0 \
	"$(sql "SELECT count(*) FROM checkins c WHERE NOT EXISTS (SELECT 1 FROM persons p WHERE p.id = c.person_id)
		OR NOT EXISTS (SELECT 1 FROM venue_keys k WHERE k.id = c.venue_id)")"

# heavy tail: 61 supermarkets, the busiest takes several times a fair share
check "busiest supermarket takes over 3/61 of supermarket scans" 1 \
	"$(sql "SELECT max(n) * 61 > 3 * sum(n) FROM (SELECT count(*) n FROM checkins c JOIN venue_keys k ON k.id = c.venue_id
		JOIN venues v ON v.code = k.code WHERE v.kind = 'supermarket' GROUP BY c.venue_id)")"
check "the busiest tenth of supermarkets takes over a third" 1 \
	"$(sql "WITH s AS (SELECT count(*) n, row_number() OVER (ORDER BY count(*) DESC) r FROM checkins c
		JOIN venue_keys k ON k.id = c.venue_id JOIN venues v ON v.code = k.code
		WHERE v.kind = 'supermarket' GROUP BY c.venue_id)
		SELECT sum(CASE WHEN r <= 6 THEN n END) * 3 > sum(n) FROM s")"

# workplaces: office workers scan one office every working day, in the morning
check "office workers: one office, every day" 1 \
	"$(sql "WITH w AS (SELECT c.person_id, count(DISTINCT c.venue_id) nv, count(DISTINCT $LOCALDAY) nd
		FROM checkins c JOIN persons p ON p.id = c.person_id JOIN venue_keys k ON k.id = c.venue_id
		JOIN venues v ON v.code = k.code
		WHERE p.occupation = 'office' AND v.kind = 'office' AND (t + 28800) % 86400 < 10 * 3600
		GROUP BY c.person_id)
		SELECT count(*) > 0 AND min(nv) = 1 AND min(nd) = 3
		AND count(*) = (SELECT count(*) FROM persons WHERE occupation = 'office') FROM w")"
check "pupils at school on school days" 1 \
	"$(sql "SELECT count(DISTINCT c.person_id) > 0 FROM checkins c JOIN persons p ON p.id = c.person_id
		JOIN venue_keys k ON k.id = c.venue_id JOIN venues v ON v.code = k.code
		WHERE p.occupation = 'student' AND v.kind = 'school'")"

# households go out together: same venue within 5 minutes
check "household co-scans in over a fifth of households" 1 \
	"$(sql "WITH h AS (SELECT household_id FROM persons WHERE household_id IS NOT NULL GROUP BY household_id HAVING count(*) >= 2),
		co AS (SELECT DISTINCT a.household_id FROM checkins x JOIN persons a ON a.id = x.person_id
		JOIN checkins y ON y.venue_id = x.venue_id AND y.t BETWEEN x.t - 300 AND x.t + 300
		JOIN persons b ON b.id = y.person_id AND b.household_id = a.household_id AND b.id > a.id)
		SELECT (SELECT count(*) FROM co) * 5 > (SELECT count(*) FROM h)")"

# ---- deterministic ----
DUMP="SELECT t, venue_id, person_id, coalesce(temp_dc, ''), source FROM checkins ORDER BY t, venue_id, person_id"
HASH_A=$(sqlite3 -batch "$TMP/a.db" "$DUMP" | sha256sum)
rm -f "$FANGKONG_DB"
"$FK" gen --persons $PERSONS --seed 9 --quiet && "$FK" import venues "$TMP/venues.csv" 2>/dev/null &&
	"$FK" gen --days $DAYS --seed 9 --quiet
check "same seed, same check-ins" "$HASH_A" "$(sql "$DUMP" | sha256sum)"
check "different seed, different check-ins" 1 \
	"$(rm -f "$TMP/c.db"; "$FK" gen --db "$TMP/c.db" --persons $PERSONS --seed 9 --quiet &&
		"$FK" import venues "$TMP/venues.csv" --db "$TMP/c.db" 2>/dev/null &&
		"$FK" gen --db "$TMP/c.db" --days $DAYS --seed 10 --quiet &&
		[ "$(sqlite3 -batch "$TMP/c.db" "$DUMP" | sha256sum)" != "$HASH_A" ] && echo 1)"

# ---- one command: city then moves ----
check_rc "--persons with --days" 0 "$FK" gen --db "$TMP/d.db" --persons 200 --days 2 --seed 4
check "city and moves in one run" "200|400" \
	"$(sqlite3 -batch "$TMP/d.db" "SELECT count(*), (SELECT count(DISTINCT person_id || '-' || $LOCALDAY) FROM checkins) FROM persons")"

# ---- refusals ----
check_rc "moves twice: refused" 1 "$FK" gen --days 2 --seed 9
check_contains "refusal says why" "$TMP/err" "already holds check-ins"
