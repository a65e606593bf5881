#!/usr/bin/env bash
# fangkong isolation: add-site (rooms numbered floor * 100 + i, every
# refused option named, a name taken) and list (counts against the sqlite3
# shell over iso_rooms and stays).
. "$(dirname "$0")/lib.sh"

"$FK" init >/dev/null 2>&1
"$FK" gen --persons 300 --seed 5 >/dev/null 2>&1
COUNTY=$(sql "SELECT substr(grid_code, 1, 6) FROM persons GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")

check_rc "add-site" 0 "$FK" isolation add-site --name 县隔离酒店 --region "$COUNTY" --floors 3 --rooms-per-floor 4 --address 建设路1号
check_contains "add-site prints the id" "$TMP/out" "isolation site 1 added: 县隔离酒店, 12 rooms"
check "rooms numbered floor*100+i" "101,102,103,104,201,202,203,204,301,302,303,304" \
	"$(sql "SELECT group_concat(number) FROM (SELECT number FROM iso_rooms WHERE site_id = 1 ORDER BY floor, number)")"
check "floors and bathrooms" "3|1|1|12" "$(sql "SELECT max(floor), min(bathroom), max(capacity), count(*) FROM iso_rooms WHERE site_id = 1")"
check "site row" "$COUNTY|建设路1号|open" "$(sql "SELECT region_code, address, status FROM iso_sites WHERE id = 1")"
check "audited" "1" "$(sql "SELECT count(*) FROM audit_log WHERE action = 'isolation.site.add' AND object = 'iso_site:1'")"

check_rc "add-site --no-bathroom --json" 0 "$FK" isolation add-site --name 镇隔离点 --region "${COUNTY}001" --floors 1 --rooms-per-floor 2 --no-bathroom --json
check "json has rooms" '["101","102"]' "$(node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).rooms.map(r=>r.number)))' "$TMP/out")"
check "no bathroom" "0" "$(sql "SELECT max(bathroom) FROM iso_rooms WHERE site_id = 2")"

check_rc "name taken" 1 "$FK" isolation add-site --name 县隔离酒店 --region "$COUNTY" --floors 1 --rooms-per-floor 1
check_contains "name taken: message" "$TMP/err" "县隔离酒店"
check_rc "unknown region" 2 "$FK" isolation add-site --name x --region "${COUNTY}999" --floors 1 --rooms-per-floor 1
check_contains "unknown region: message" "$TMP/err" "--region"
for bad in "--floors 0" "--floors 100" "--floors x" "--rooms-per-floor 0" "--rooms-per-floor 100"; do
	# shellcheck disable=SC2086
	check_rc "refused: $bad" 2 "$FK" isolation add-site --name y --region "$COUNTY" --floors 1 --rooms-per-floor 1 $bad
	check_contains "refused: $bad names the option" "$TMP/err" "${bad%% *}"
done
check_rc "missing --floors" 2 "$FK" isolation add-site --name y --region "$COUNTY" --rooms-per-floor 1
check_contains "missing --floors: message" "$TMP/err" "--floors is required"
check_rc "missing --name" 2 "$FK" isolation add-site --region "$COUNTY" --floors 1 --rooms-per-floor 1
check_rc "bad region code" 2 "$FK" isolation add-site --name y --region 61x --floors 1 --rooms-per-floor 1
check_rc "blank name" 2 "$FK" isolation add-site --name "  " --region "$COUNTY" --floors 1 --rooms-per-floor 1
check_rc "unknown subcommand" 2 "$FK" isolation remove
check_rc "help" 0 "$FK" isolation --help
check "nothing added by the refusals" "2" "$(sql "SELECT count(*) FROM iso_sites")"

# a person in a room, a room out of service: list against SQL
P=$(sql "SELECT id FROM persons ORDER BY id LIMIT 1")
sql "INSERT INTO orders(person_id, kind, status, start_at, planned_end, created_at, created_by) VALUES($P, 'central', 'active', 1, 999999999, 1, 'test');
     INSERT INTO stays(order_id, room_id, person_id, assigned_at, assigned_by, planned_leave) VALUES((SELECT max(id) FROM orders), (SELECT id FROM iso_rooms WHERE site_id = 1 AND number = '101'), $P, 1, 'test', 999999999);
     UPDATE iso_rooms SET status = 'cleaning' WHERE site_id = 1 AND number = '102'"
check_rc "list" 0 "$FK" isolation list
want=$(sql "SELECT s.id, (SELECT count(*) FROM iso_rooms r WHERE r.site_id = s.id), (SELECT count(*) FROM iso_rooms r WHERE r.site_id = s.id AND r.status = 'ready'),
	(SELECT count(*) FROM iso_rooms r WHERE r.site_id = s.id AND EXISTS (SELECT 1 FROM stays x WHERE x.room_id = r.id AND x.left_at IS NULL)),
	(SELECT count(*) FROM iso_rooms r WHERE r.site_id = s.id AND r.status = 'ready' AND NOT EXISTS (SELECT 1 FROM stays x WHERE x.room_id = r.id AND x.left_at IS NULL))
	FROM iso_sites s ORDER BY s.id" | tr '|' ' ')
got=$(awk 'NR > 1 { print $1, $(NF-3), $(NF-2), $(NF-1), $NF }' "$TMP/out")
check "list counts = SQL" "$want" "$got"
check "list: site 1 has 12 rooms, 11 ready, 1 occupied, 10 free" "1 12 11 1 10" "$(echo "$got" | head -1)"
check_rc "list --json" 0 "$FK" isolation list --json
check "list --json free" "10,2" "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).map(s=>s.free).join())' "$TMP/out")"
check_rc "list: unexpected argument" 2 "$FK" isolation list extra
