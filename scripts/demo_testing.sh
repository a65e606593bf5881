#!/bin/sh
# Testing rounds for the demo city, through the real commands (campaign
# create, import samples, import results), so every counter is what the
# system itself computes:
#   1. periodic testing of the key occupations of the whole city, sampled
#      over the last 3 days, pooled 10-in-1, all negative: they are green;
#   2. a whole-area round of the most populous county, launched 30 hours
#      ago: about 65% sampled at one site per town, most tubes resulted,
#      one positive pool (its members yellow, retest tasks for their grids)
#      and one invalid tube (resample tasks).
# usage: scripts/demo_testing.sh DB [FANGKONG BINARY]
set -eu
DB=$1
FK=${2:-build/fangkong}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
q() { sqlite3 -batch -noheader "$DB" "$@"; }
NOW=$(date +%s)
iso() { date -d "@$1" +%Y-%m-%dT%H:%M:%S%:z; }

CITY=$(q "SELECT code FROM regions WHERE level = 2 ORDER BY code LIMIT 1")
COUNTY=$(q "SELECT substr(grid_code, 1, 6) c FROM persons GROUP BY c ORDER BY count(*) DESC, c LIMIT 1")

# one sampling site per town of the city
q "SELECT code FROM regions WHERE level = 4 AND code LIKE '$CITY%' ORDER BY code" |
while read -r town; do
	"$FK" campaign site --db "$DB" --code "S$town" --name "$(q "SELECT name FROM regions WHERE code = '$town'")采样点" \
		--region "$town" --capacity 600 >/dev/null
done

# 1. periodic testing of the key occupations
"$FK" campaign create --db "$DB" --region "$CITY" --kind periodic --name "重点人群定期核酸检测" \
	--starts "$(iso $((NOW - 3 * 86400)))" --pool 10 >/dev/null
P=$(q "SELECT max(id) FROM campaigns")
# persons of the campaign's occupations, ten to a tube per town, spread
# over the first 48 hours (sampling 07:00-22:00 is not modelled here)
q "WITH c AS (SELECT ',' || occupations || ',' occ, starts_at s FROM campaigns WHERE id = $P),
   m AS (SELECT p.id_number, substr(p.grid_code, 1, 9) town,
                row_number() OVER (PARTITION BY substr(p.grid_code, 1, 9) ORDER BY p.grid_code, p.id) - 1 rn,
                count(*) OVER (PARTITION BY substr(p.grid_code, 1, 9)) n
         FROM persons p, c WHERE instr(c.occ, ',' || p.occupation || ',') > 0)
   SELECT 'tube,id_number,site,sampled_at,pool_size' UNION ALL
   SELECT * FROM (SELECT printf('P%d-%s-%05d', $P, town, rn / 10) || ',' || id_number || ',S' || town || ',' ||
          strftime('%Y-%m-%dT%H:%M:%S+08:00', (SELECT s FROM c) + 3600 + rn * 172800 / n + 8 * 3600, 'unixepoch') || ',10'
   FROM m ORDER BY town, rn)" >"$TMP/periodic_samples.csv"
"$FK" import samples "$TMP/periodic_samples.csv" --db "$DB" --campaign "$P" >/dev/null
q "SELECT 'tube,result,reported_at' UNION ALL
   SELECT * FROM (SELECT t.code || ',negative,' ||
          strftime('%Y-%m-%dT%H:%M:%S+08:00', max(s.sampled_at) + 6 * 3600 + 8 * 3600, 'unixepoch')
   FROM tubes t JOIN samples s ON s.tube_id = t.id WHERE t.campaign_id = $P GROUP BY t.id ORDER BY t.code)" \
	>"$TMP/periodic_results.csv"
"$FK" import results "$TMP/periodic_results.csv" --db "$DB" --lab "市疾控中心实验室" >/dev/null

# 2. a whole-area round of the largest county, launched 30 hours ago
"$FK" campaign create --db "$DB" --region "$COUNTY" --kind whole --name "全员核酸检测（第一轮）" \
	--starts "$(iso $((NOW - 30 * 3600)))" --pool 10 >/dev/null
W=$(q "SELECT max(id) FROM campaigns")
q "WITH c AS (SELECT starts_at s FROM campaigns WHERE id = $W),
   m AS (SELECT p.id_number, substr(p.grid_code, 1, 9) town,
                row_number() OVER (PARTITION BY substr(p.grid_code, 1, 9) ORDER BY p.grid_code, p.household_id, p.id) - 1 rn,
                count(*) OVER (PARTITION BY substr(p.grid_code, 1, 9)) n
         FROM persons p WHERE p.grid_code LIKE '$COUNTY%' AND (p.id * 2654435761) % 100 < 65
           AND p.id NOT IN (SELECT person_id FROM campaign_exempt WHERE campaign_id = $W))
   SELECT 'tube,id_number,site,sampled_at,pool_size' UNION ALL
   SELECT * FROM (SELECT printf('W%d-%s-%05d', $W, town, rn / 10) || ',' || id_number || ',S' || town || ',' ||
          strftime('%Y-%m-%dT%H:%M:%S+08:00', (SELECT s FROM c) + 1800 + rn * 100800 / n + 8 * 3600, 'unixepoch') || ',10'
   FROM m ORDER BY town, rn)" >"$TMP/round_samples.csv"
"$FK" import samples "$TMP/round_samples.csv" --db "$DB" --campaign "$W" >/dev/null
# results 6 hours after a tube's last sample, for tubes resulted by now;
# the 2nd full tube to finish is positive, the 3rd invalid
q "SELECT 'tube,result,reported_at' UNION ALL
   SELECT * FROM (SELECT code || ',' || CASE k WHEN 2 THEN 'positive' WHEN 3 THEN 'invalid' ELSE 'negative' END || ',' ||
          strftime('%Y-%m-%dT%H:%M:%S+08:00', last + 6 * 3600 + 8 * 3600, 'unixepoch')
   FROM (SELECT t.code, max(s.sampled_at) last, row_number() OVER (ORDER BY max(s.sampled_at), t.code) k
         FROM tubes t JOIN samples s ON s.tube_id = t.id WHERE t.campaign_id = $W AND t.n = 10 GROUP BY t.id)
   WHERE last + 6 * 3600 <= $NOW ORDER BY code)" >"$TMP/round_results.csv"
"$FK" import results "$TMP/round_results.csv" --db "$DB" --lab "市疾控中心实验室" >/dev/null
echo "  testing: periodic campaign $P ($(q "SELECT count(*) FROM samples WHERE campaign_id = $P") sampled)," \
	"whole-area round $W of $COUNTY ($(q "SELECT count(*) FROM samples WHERE campaign_id = $W") sampled)"
