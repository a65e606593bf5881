#!/bin/sh
# The control loop in the demo city, through the real commands (isolation
# add-site, responsible import, case add, orders confirm, risk set, control
# tick), so every order, room, task and countdown is what the system
# itself decided:
#   1. two isolation sites in the most populous county (6 floors of 20
#      rooms), and one small site that is nearly full elsewhere;
#   2. the five responsible people (五包一) of that county's towns, villages
#      and grids: town cadres and police at the towns, village cadres and
#      doctors at the villages, a grid worker per grid (names of residents;
#      in a tiny village one resident may hold two roles);
#   3. a case found on the first morning of the generated week: its
#      contacts' orders proposed and confirmed by the command 3 hours
#      later, rooms assigned, test days and tasks scheduled;
#   4. the case's building a high-risk area designated 5 days ago (2 days
#      left on its countdown), and another village of the county a
#      medium-risk area designated 8 days ago (its countdown has ended: the
#      tick lowers it, awaiting confirmation);
#   5. a tick at now: test days past are recorded, missed checks become
#      tasks.
# usage: scripts/demo_control.sh DB [FANGKONG BINARY]
set -eu
DB=$1
FK=${2:-build/fangkong}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
q() { sqlite3 -batch -noheader "$DB" "$@"; }
NOW=$(date +%s)
iso() { date -d "@$1" +%Y-%m-%dT%H:%M:%S%:z; }
at() { FANGKONG_NOW=$1; export FANGKONG_NOW; shift; "$@"; unset FANGKONG_NOW; }

COUNTY=$(q "SELECT substr(grid_code, 1, 6) c FROM persons GROUP BY c ORDER BY count(*) DESC, c LIMIT 1")
# the county's two most populous towns, and one town of another county
TOWNS=$(q "SELECT substr(grid_code, 1, 9) t FROM persons WHERE grid_code LIKE '$COUNTY%'
           GROUP BY t ORDER BY count(*) DESC, t LIMIT 2")
OTHER=$(q "SELECT substr(grid_code, 1, 9) t FROM persons WHERE grid_code NOT LIKE '$COUNTY%'
           GROUP BY t ORDER BY count(*) DESC, t LIMIT 1")

# 1. isolation sites
n=0
for town in $TOWNS; do
	n=$((n + 1))
	"$FK" isolation add-site --db "$DB" --name "$(q "SELECT name FROM regions WHERE code = '$town'")集中隔离点$n" \
		--region "$town" --floors 6 --rooms-per-floor 20 --address "隔离酒店$n号楼" >/dev/null
done
"$FK" isolation add-site --db "$DB" --name "$(q "SELECT name FROM regions WHERE code = '$OTHER'")集中隔离点" \
	--region "$OTHER" --floors 1 --rooms-per-floor 8 --address "乡镇卫生院旧址" >/dev/null

# 2. the five responsible people of the county, named after residents
q "WITH x(lv, role, k) AS (VALUES (4, 'town_cadre', 1), (4, 'police', 2), (5, 'village_cadre', 1),
                               (5, 'doctor', 2), (6, 'grid_worker', 3)),
   ranked AS (SELECT r.code, r.level, p.name, p.phone,
                     row_number() OVER (PARTITION BY r.code ORDER BY p.id) rn,
                     count(*) OVER (PARTITION BY r.code) n
              FROM regions r JOIN persons p ON p.grid_code >= r.code AND p.grid_code < r.code || 'z'
              WHERE r.code LIKE '$COUNTY%' AND r.level >= 4)
   SELECT 'region_code,role,name,phone' UNION ALL
   SELECT * FROM (SELECT ranked.code || ',' || x.role || ',' || ranked.name || ',' || ranked.phone
                  FROM ranked JOIN x ON x.lv = ranked.level AND ranked.rn = (x.k - 1) % ranked.n + 1
                  ORDER BY ranked.code, x.role)" \
	>"$TMP/responsibles.csv"
"$FK" responsible import "$TMP/responsibles.csv" --db "$DB" >/dev/null

# 3. a case found on the first morning of the check-ins (06:50), isolated
# at 05:30 before anyone scanned: its close contacts are its household,
# its secondary contacts those the household met that morning (a case
# later in the week has most of the generated city within two steps).
# The command confirmed the orders three hours later; by now the close
# contacts' 7 days are ending.
DAY1=$(q "SELECT coalesce(min(t), $NOW - 7 * 86400) - (coalesce(min(t), $NOW - 7 * 86400) + 28800) % 86400
          FROM checkins")
T1=$((DAY1 + 6 * 3600 + 50 * 60))
C1=$(q "SELECT p.id_number FROM persons p WHERE p.grid_code LIKE '$COUNTY%'
        AND (SELECT count(*) FROM persons h WHERE h.household_id = p.household_id) >= 3
        AND EXISTS (SELECT 1 FROM checkins c, persons h WHERE h.household_id = p.household_id
                    AND h.id <> p.id AND c.person_id = h.id AND c.t BETWEEN $DAY1 AND $T1)
        ORDER BY p.id LIMIT 1")
at "$(iso $T1)" "$FK" case add --db "$DB" --person "$C1" --onset "$(iso $((DAY1 + 3 * 3600)))" \
	--isolated "$(iso $((DAY1 + 5 * 3600 + 30 * 60)))" --found "发热门诊" >/dev/null
at "$(iso $((T1 + 3 * 3600)))" "$FK" orders confirm --db "$DB" --case "$C1" >/dev/null
P1=$(q "SELECT id FROM persons WHERE id_number = '$C1'")

# 4. risk areas: the case's building, and a village designated 8 days ago
GRID=$(q "SELECT grid_code FROM persons WHERE id = $P1")
BUILDING=$(q "SELECT substr(h.label, 1, instr(h.label, '楼')) FROM persons p JOIN households h ON h.id = p.household_id
              WHERE p.id = $P1")
"$FK" risk set --db "$DB" --region "$GRID" --building "$BUILDING" --level high \
	--start "$(iso $((NOW - 5 * 86400)))" --reason "病例居住楼栋" >/dev/null
VILLAGE=$(q "SELECT code FROM regions WHERE level = 5 AND code LIKE '$COUNTY%' AND code <> substr('$GRID', 1, 12)
             ORDER BY code LIMIT 1 OFFSET 3")
"$FK" risk set --db "$DB" --region "$VILLAGE" --level medium --start "$(iso $((NOW - 8 * 86400)))" \
	--reason "病例活动轨迹涉及" >/dev/null

# 5. the loop catches up to now
"$FK" control tick --db "$DB" >/dev/null
echo "  control: $(q "SELECT count(*) FROM orders WHERE status = 'active'") orders in force" \
	"($(q "SELECT count(*) FROM stays WHERE left_at IS NULL") in rooms," \
	"$(q "SELECT count(*) FROM orders WHERE status = 'active' AND queued_at IS NOT NULL") queued)," \
	"$(q "SELECT count(*) FROM risk_areas WHERE end_at IS NULL") risk areas in force"
