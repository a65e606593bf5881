#!/bin/bash
# scripts/demo_control.sh (called by `make run`): the demo city's control
# loop goes through the real commands; what it leaves is checked here
# against the rows with the sqlite3 shell.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
check_rc "city" 0 "$FK" gen --persons 3000 --days 7 --seed 4 --quiet
check_rc "demo testing rounds" 0 sh "$ROOT/scripts/demo_testing.sh" "$FANGKONG_DB" "$FK"
check_rc "demo control" 0 sh "$ROOT/scripts/demo_control.sh" "$FANGKONG_DB" "$FK"
check_contains "summary line" "$TMP/out" "orders in force"
check "one case, found on the first morning" "1" "$(sql "SELECT count(*) FROM cases")"
# every recorded contact of the case is under exactly one order in force
check "an order in force per contact" "$(sql "SELECT count(*) FROM contacts WHERE case_id = 1")" \
	"$(sql "SELECT count(DISTINCT person_id) FROM orders WHERE case_id = 1 AND status = 'active'")"
check "close contacts: central, secondary: at home" "close|central
secondary|home_isolation" "$(sql "SELECT DISTINCT category, kind FROM orders WHERE case_id = 1 ORDER BY 1")"
check "close contacts are the case's household" \
	"$(sql "SELECT group_concat(h.id) FROM persons h JOIN persons c ON c.household_id = h.household_id
	        JOIN cases k ON k.person_id = c.id WHERE h.id <> c.id ORDER BY h.id")" \
	"$(sql "SELECT group_concat(person_id) FROM (SELECT person_id FROM orders WHERE category = 'close' ORDER BY person_id)")"
check "every central order in a room" "" \
	"$(sql "SELECT o.id FROM orders o WHERE o.kind = 'central' AND o.status = 'active'
	        AND NOT EXISTS (SELECT 1 FROM stays s WHERE s.order_id = o.id AND s.left_at IS NULL)")"
check "one person a room" "" "$(sql "SELECT room_id FROM stays WHERE left_at IS NULL GROUP BY room_id HAVING count(*) > 1")"
# the five responsible people of the county reach every order of its residents
COUNTY=$(sql "SELECT substr(region_code, 1, 6) FROM responsibles LIMIT 1")
check "five responsible people for the county's home orders" "" \
	"$(sql "SELECT o.id FROM orders o JOIN persons p ON p.id = o.person_id
	        WHERE o.kind <> 'central' AND p.grid_code LIKE '$COUNTY%'
	        AND (SELECT count(responsible_id) FROM order_responsibles r WHERE r.order_id = o.id) <> 5")"
# the close contacts' seven days are over, their tests were never recorded:
# the tick extended them, naming the days
check "untested orders past their end are extended" "0" \
	"$(sql "SELECT count(*) FROM orders o WHERE o.status = 'active' AND o.orig_end < strftime('%s', 'now')
	        AND NOT EXISTS (SELECT 1 FROM order_events e WHERE e.order_id = o.id AND e.kind = 'extended')")"
check "the case's building is a high-risk area" "high|1" \
	"$(sql "SELECT level, building <> '' FROM risk_areas WHERE end_at IS NULL")"
check "the village's medium area was lowered by the tick, awaiting confirmation" "low|system|1" \
	"$(sql "SELECT level, created_by, confirmed_at IS NULL FROM risk_areas WHERE prev_id IS NOT NULL")"
