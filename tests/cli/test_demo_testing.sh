#!/bin/bash
# scripts/demo_testing.sh (called by `make run`): the demo city's testing
# rounds go through the real commands; every figure it leaves is checked
# here against the rows with the sqlite3 shell.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
check_rc "city" 0 "$FK" gen --persons 3000 --seed 4 --quiet
check_rc "demo testing rounds" 0 sh "$ROOT/scripts/demo_testing.sh" "$FANGKONG_DB" "$FK"
check_contains "summary line" "$TMP/out" "testing: periodic campaign 1"
check "two campaigns" "1|periodic
2|whole" "$(sql "SELECT id, kind FROM campaigns ORDER BY id")"
# the periodic round: every key-occupation person of the city, all negative
check "periodic: every key occupation sampled once" \
	"$(sql "SELECT count(*) FROM persons p, campaigns c WHERE c.id = 1
	        AND instr(',' || c.occupations || ',', ',' || p.occupation || ',') > 0")" \
	"$(sql "SELECT count(DISTINCT person_id) FROM samples WHERE campaign_id = 1")"
check "periodic: all results negative" "negative" \
	"$(sql "SELECT DISTINCT t.result FROM samples s JOIN tubes t ON t.id = s.tube_id WHERE s.campaign_id = 1")"
# the whole-area round: counters equal the rows
check "round: sampled per grid equals the samples" "" \
	"$(sql "SELECT g.grid_code FROM campaign_grids g WHERE g.campaign_id = 2 AND g.sampled !=
	        (SELECT count(*) FROM samples s WHERE s.campaign_id = 2 AND s.round = 1 AND s.grid_code = g.grid_code)")"
check "round: resulted per grid equals members of valid tubes" "" \
	"$(sql "SELECT g.grid_code FROM campaign_grids g WHERE g.campaign_id = 2 AND g.resulted !=
	        (SELECT count(*) FROM samples s JOIN tubes t ON t.id = s.tube_id WHERE s.campaign_id = 2
	         AND s.round = 1 AND s.grid_code = g.grid_code AND t.result IN ('negative', 'positive'))")"
check "round: one positive pool of 10, one invalid tube" "invalid|1|10
positive|1|10" "$(sql "SELECT result, count(*), sum(n) FROM tubes WHERE campaign_id = 2 AND result IN ('positive', 'invalid') GROUP BY result")"
check "round: retest and resample tasks for their members" "resample|10
retest|10" "$(sql "SELECT kind, count(*) FROM tasks WHERE status = 'open' GROUP BY kind")"
check "round: about 65% of the county sampled" "1" \
	"$(sql "SELECT sum(sampled) * 100 / sum(expected) BETWEEN 55 AND 70 FROM campaign_grids WHERE campaign_id = 2")"
