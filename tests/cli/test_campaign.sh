#!/usr/bin/env bash
# fangkong campaign: create (whole, core, designated, periodic, targeted),
# list, show, close and site on a small generated city.  Every expected
# count comes from the sqlite3 shell over persons, orders and regions,
# written from the definitions (population of the area at launch, less
# infants under 3 years at the start and persons under central or home
# isolation then), never from the code under test.
. "$(dirname "$0")/lib.sh"

"$FK" init >/dev/null 2>&1
"$FK" gen --persons 1500 --seed 11 >/dev/null 2>&1
START='2022-01-10T08:00:00+08:00'
T=$(date -d "$START" +%s)
COUNTY=$(sql "SELECT substr(grid_code, 1, 6) FROM persons GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
CUTOFF=$(sql "SELECT date('2022-01-10', '-3 years')")

# persons on the age boundary: born on the cutoff day (3 years old that day:
# expected) and the day after (younger: exempt)
P1=$(sql "SELECT id FROM persons WHERE grid_code LIKE '$COUNTY%' AND birth_date < '2000-01-01' ORDER BY id LIMIT 1")
P2=$(sql "SELECT id FROM persons WHERE grid_code LIKE '$COUNTY%' AND birth_date < '2000-01-01' ORDER BY id LIMIT 1 OFFSET 1")
sql "UPDATE persons SET birth_date = '$CUTOFF' WHERE id = $P1;
     UPDATE persons SET birth_date = date('$CUTOFF', '+1 day') WHERE id = $P2"
# orders: in force at the start (central, home isolation, one completed
# later), and ones that do not count (ended before, starting after,
# home monitoring, cancelled); one on an infant (exempt once)
mapfile -t Q < <(sql "SELECT id FROM persons WHERE grid_code LIKE '$COUNTY%' AND birth_date < '2000-01-01' ORDER BY id LIMIT 8 OFFSET 2")
INF=$(sql "SELECT id FROM persons WHERE grid_code LIKE '$COUNTY%' AND birth_date > '$CUTOFF' ORDER BY id LIMIT 1")
order() { # person kind status start end [ended]
	sql "INSERT INTO orders(person_id, kind, status, start_at, planned_end, ended_at, created_at, created_by)
	     VALUES($1, '$2', '$3', $4, $5, ${6:-NULL}, $4, 'test')"
}
D=86400
order "${Q[0]}" central active $((T - D)) $((T + 13 * D))
order "${Q[1]}" home_isolation active $((T - 3 * D)) $((T + 4 * D))
order "${Q[2]}" central completed $((T - 5 * D)) $((T + 9 * D)) $((T + D))
order "${Q[3]}" central completed $((T - 9 * D)) $((T + 5 * D)) $((T - D))
order "${Q[4]}" central active $((T + D)) $((T + 14 * D))
order "${Q[5]}" home_monitoring active $((T - D)) $((T + 7 * D))
order "${Q[6]}" central cancelled $((T - D)) $((T + 13 * D))
order "${Q[0]}" home_isolation active $((T - D)) $((T + 7 * D))
order "$INF" central active $((T - D)) $((T + 13 * D))

# reference: the area's population, its exempt and per-grid figures
AREA="p.grid_code LIKE '$COUNTY%'"
ISO="SELECT o.person_id FROM orders o WHERE o.kind IN ('central','home_isolation')
     AND o.status IN ('active','completed') AND o.start_at <= $T
     AND coalesce(o.ended_at, o.planned_end) > $T"
ref_exempt() { sql "SELECT count(*) FROM persons p WHERE $AREA AND (p.birth_date > '$CUTOFF' OR p.id IN ($ISO))"; }
POP=$(sql "SELECT count(*) FROM persons p WHERE $AREA")
EX=$(ref_exempt)
AGE=$(sql "SELECT count(*) FROM persons p WHERE $AREA AND p.birth_date > '$CUTOFF'")
ISOC=$(sql "SELECT count(*) FROM persons p WHERE $AREA AND p.birth_date <= '$CUTOFF' AND p.id IN ($ISO)")
check "reference sees 3 isolated persons and some infants" "3 yes" "$ISOC $([ "$AGE" -gt 1 ] && echo yes)"

check_rc "create a whole-area campaign" 0 "$FK" campaign create --region "$COUNTY" --kind whole \
	--name "全员检测 第1轮" --starts "$START" --pool 10
check "create prints the id and the totals" \
	"campaign 1 created: expected $((POP - EX)), exempt $EX (age $AGE, isolation $ISOC)" "$(cat "$TMP/out")"
check "campaign row" "whole|$COUNTY|$T|$((T + 7 * D))|10|open|3|protocol-9@" \
	"$(sql "SELECT kind, region_code, starts_at, deadline, pool_size, status, exempt_under_age,
	        substr(policy_version, 1, 11) FROM campaigns WHERE id = 1")"
check "population frozen at the highest person id" "$(sql 'SELECT max(id) FROM persons')" \
	"$(sql 'SELECT population_max_id FROM campaigns WHERE id = 1')"
check "exempt rows by reason" "age|$AGE
isolation|$ISOC" "$(sql "SELECT reason, count(*) FROM campaign_exempt WHERE campaign_id = 1 GROUP BY 1 ORDER BY 1")"
check "boundary birthdays: the cutoff day is expected, the day after exempt" "$P2" \
	"$(sql "SELECT group_concat(person_id) FROM campaign_exempt WHERE campaign_id = 1 AND person_id IN ($P1, $P2)")"
check "an isolated infant is exempt once, for age" "age" \
	"$(sql "SELECT group_concat(reason) FROM campaign_exempt WHERE campaign_id = 1 AND person_id = $INF")"
check "exempt for isolation: exactly the orders in force at the start" \
	"$(printf '%s\n' "${Q[0]}" "${Q[1]}" "${Q[2]}" | sort -n | paste -sd,)" \
	"$(sql "SELECT group_concat(person_id) FROM (SELECT person_id FROM campaign_exempt WHERE campaign_id = 1 AND reason = 'isolation' ORDER BY person_id)")"
# every grid of the county has a row, empty ones included; per grid the
# expected and exempt match the reference
REF_GRIDS=$(sql "SELECT r.code, (SELECT count(*) FROM persons p WHERE p.grid_code = r.code)
	- (SELECT count(*) FROM persons p WHERE p.grid_code = r.code AND (p.birth_date > '$CUTOFF' OR p.id IN ($ISO))),
	(SELECT count(*) FROM persons p WHERE p.grid_code = r.code AND (p.birth_date > '$CUTOFF' OR p.id IN ($ISO)))
	FROM regions r WHERE r.level = 6 AND r.code LIKE '$COUNTY%' ORDER BY r.code")
check "campaign_grids: every grid, expected and exempt per grid" "$REF_GRIDS" \
	"$(sql "SELECT grid_code, expected, exempt FROM campaign_grids WHERE campaign_id = 1 ORDER BY grid_code")"
check "some grids of the county are empty and still listed" "yes" \
	"$(sql "SELECT CASE WHEN count(*) > 0 THEN 'yes' ELSE 'no' END FROM campaign_grids WHERE campaign_id = 1 AND expected = 0 AND exempt = 0")"
check "audited as the CLI user" "cli:${USER:-$(id -un)}|campaign.create|campaign:1" \
	"$(sql "SELECT actor, action, object FROM audit_log WHERE action = 'campaign.create'")"

# show and list
check_rc "show --json" 0 "$FK" campaign show 1 --json
check "show --json: counts are sums of the grid rows" \
	"$(printf '%s|%s|0|0|0|%s|1|全员检测 第1轮|whole|%s|10|open' $((POP - EX)) "$EX" $((POP - EX)) "$COUNTY")" \
	"$(jq -r '[.expected, .exempt, .sampled, .resulted, .positive, .missing, .id, .name, .kind, .region.code, .pool_size, .status] | join("|")' "$TMP/out")"
check "show --json: times in +08:00" "$START|2022-01-17T08:00:00+08:00" \
	"$(jq -r '[.starts_at, .deadline] | join("|")' "$TMP/out")"
check_rc "show as text" 0 "$FK" campaign show 1
check_contains "show text names the expected count" "$TMP/out" "expected  $((POP - EX))"
check_rc "show an unknown campaign" 1 "$FK" campaign show 99
check_contains "show: message" "$TMP/err" "no campaign 99"

# core: deadline from the policy (3 days); a grid as a designated area (24 h)
GRID=$(sql "SELECT grid_code FROM persons p WHERE $AREA GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
check_rc "create a core campaign" 0 "$FK" campaign create --region "$COUNTY" --kind core --starts "$START" --json
check "core deadline: 3 days" "2022-01-13T08:00:00+08:00|$((POP - EX))" "$(jq -r '[.deadline, .expected] | join("|")' "$TMP/out")"
check_rc "create a designated area over one grid" 0 "$FK" campaign create --region "$GRID" --kind designated \
	--starts "$START" --pool 1 --json
GPOP=$(sql "SELECT count(*) FROM persons p WHERE p.grid_code = '$GRID'")
GEX=$(sql "SELECT count(*) FROM persons p WHERE p.grid_code = '$GRID' AND (p.birth_date > '$CUTOFF' OR p.id IN ($ISO))")
check "designated: 24 hours, the grid's figures, one grid row" \
	"2022-01-11T08:00:00+08:00|$((GPOP - GEX))|$GEX|1|1" \
	"$(jq -r '[.deadline, .expected, .exempt, .pool_size] | join("|")' "$TMP/out")|$(sql "SELECT count(*) FROM campaign_grids WHERE campaign_id = 3")"
# periodic: the policy's occupations by default, or those named
check_rc "create a periodic campaign (cold chain and couriers)" 0 "$FK" campaign create --region 6109 \
	--kind periodic --occupations cold_chain,courier --starts "$START" --json
PP=$(sql "SELECT count(*) FROM persons p WHERE p.occupation IN ('cold_chain','courier')")
PX=$(sql "SELECT count(*) FROM persons p WHERE p.occupation IN ('cold_chain','courier') AND (p.birth_date > '$CUTOFF' OR p.id IN ($ISO))")
check "periodic: occupations and expected" '["cold_chain","courier"]'"|$((PP - PX))|$((PP + 0))" \
	"$(jq -c '.occupations' "$TMP/out")|$(jq -r '.expected' "$TMP/out")|$(sql "SELECT sum(expected + exempt) FROM campaign_grids WHERE campaign_id = 4")"
check_rc "periodic with the policy's occupations" 0 "$FK" campaign create --region 6109 --kind periodic --json
check "periodic default occupations" '["cold_chain","port","isolation_staff","medical","courier","transport"]' \
	"$(jq -c '.occupations' "$TMP/out")"
# targeted: an ID-number file (BOM, CRLF, blank line, a duplicate)
mapfile -t TG < <(sql "SELECT id_number FROM persons p WHERE $AREA ORDER BY id LIMIT 3")
printf '\xEF\xBB\xBF%s\r\n\n%s\r\n%s\n%s\n' "${TG[0]}" "${TG[1]}" "${TG[2]}" "${TG[1]}" >"$TMP/targets.txt"
check_rc "create a targeted campaign" 0 "$FK" campaign create --region "$COUNTY" --kind targeted \
	--persons "$TMP/targets.txt" --starts "$START"
TX=$(sql "SELECT count(*) FROM persons p WHERE p.id_number IN ('${TG[0]}','${TG[1]}','${TG[2]}') AND (p.birth_date > '$CUTOFF' OR p.id IN ($ISO))")
check "targeted: the listed persons only" "campaign 6 created: expected $((3 - TX)), exempt $TX" \
	"$(sed 's/ (age.*//' "$TMP/out")"
check "targeted: targets stored once each" "3" "$(sql "SELECT count(*) FROM campaign_targets WHERE campaign_id = 6")"
OUTSIDE=$(sql "SELECT id_number FROM persons WHERE grid_code NOT LIKE '$COUNTY%' LIMIT 1")
printf '%s\n%s\n110101199003074514\n' "${TG[0]}" "$OUTSIDE" >"$TMP/bad.txt"
check_rc "targeted: a person outside the area is refused" 2 "$FK" campaign create --region "$COUNTY" \
	--kind targeted --persons "$TMP/bad.txt"
check_contains "targeted: the message names the file line" "$TMP/err" "line 2: no person with ID number '$OUTSIDE'"
printf '%s\n110101199003074514\n' "${TG[0]}" >"$TMP/bad.txt"
check_rc "targeted: an unknown ID number is refused" 2 "$FK" campaign create --region "$COUNTY" \
	--kind targeted --persons "$TMP/bad.txt"
check_contains "targeted: unknown: line 2" "$TMP/err" "line 2: no person with ID number '110101199003074514'"
check "refused launches wrote nothing" "6|6" \
	"$(sql "SELECT count(*) FROM campaigns")|$(sql "SELECT count(DISTINCT campaign_id) FROM campaign_grids")"

# bad usage: exit 2 and the flag named
bad() { # name expected-text args...
	local name=$1 text=$2
	shift 2
	check_rc "bad usage: $name" 2 "$FK" campaign "$@"
	check_contains "bad usage: $name: message" "$TMP/err" "$text"
}
bad "no region" "--region" create --kind whole
bad "no kind" "--kind" create --region "$COUNTY"
bad "unknown kind" "--kind 'all'" create --region "$COUNTY" --kind all
bad "pool 7" "--pool '7'" create --region "$COUNTY" --kind whole --pool 7
bad "bad start" "--starts 'tomorrow'" create --region "$COUNTY" --kind whole --starts tomorrow
bad "start without offset" "--starts '2022-01-10T08:00:00'" create --region "$COUNTY" --kind whole --starts 2022-01-10T08:00:00
bad "deadline before start" "--deadline must be after" create --region "$COUNTY" --kind whole \
	--starts "$START" --deadline 2022-01-09T08:00:00+08:00
bad "unknown region" "--region '999999'" create --region 999999 --kind whole
bad "region not a code" "--region 'abc'" create --region abc --kind whole
bad "occupations on a whole campaign" "--occupations" create --region "$COUNTY" --kind whole --occupations port
bad "bad occupation" "'cold chain'" create --region 6109 --kind periodic --occupations 'cold chain'
bad "targeted without a file" "--persons" create --region "$COUNTY" --kind targeted
bad "persons on a whole campaign" "--persons" create --region "$COUNTY" --kind whole --persons "$TMP/targets.txt"
bad "unknown option" "usage:" create --region "$COUNTY" --kind whole --bogus
bad "unknown subcommand" "unknown subcommand 'launch'" launch
bad "show without an id" "give the campaign ID" show
bad "close with a bad id" "'x' is not a campaign ID" close x
bad "site without capacity" "--capacity" site --code S1 --name 点 --region "$COUNTY"
bad "site capacity 0" "--capacity '0'" site --code S1 --name 点 --region "$COUNTY" --capacity 0
bad "site bad code" "--code 'S 1'" site --code 'S 1' --name 点 --region "$COUNTY" --capacity 100
bad "site bad hours" "--opens '7:00'" site --code S1 --name 点 --region "$COUNTY" --capacity 100 --opens 7:00
bad "site closes before opens" "--closes must be after --opens" site --code S1 --name 点 --region "$COUNTY" \
	--capacity 100 --opens 20:00 --closes 08:00
bad "site unknown region" "--region '610999'" site --code S1 --name 点 --region 610999 --capacity 100
check "bad usage wrote nothing" "6|0" "$(sql "SELECT count(*) FROM campaigns")|$(sql "SELECT count(*) FROM sites")"
check_rc "--help" 0 "$FK" campaign --help
check_contains "--help lists create" "$TMP/out" "fangkong campaign create --region CODE --kind KIND"
check_rc "create --help" 0 "$FK" campaign create --help
check_rc "no subcommand" 2 "$FK" campaign

# list and close
check_rc "list --json" 0 "$FK" campaign list --json
check "list: newest first, every campaign" "6,5,4,3,2,1" "$(jq -r 'map(.id) | join(",")' "$TMP/out")"
check_rc "list as text" 0 "$FK" campaign list
check "list text: a header and one line each" "7" "$(wc -l <"$TMP/out")"
check_rc "close" 0 "$FK" campaign close 2
check "close: message" "campaign 2 closed" "$(cat "$TMP/out")"
check_rc "close again" 0 "$FK" campaign close 2
check "close again: nothing changes" "campaign 2 was already closed|closed|1" \
	"$(cat "$TMP/out")|$(sql "SELECT status FROM campaigns WHERE id = 2")|$(sql "SELECT count(*) FROM audit_log WHERE action = 'campaign.close'")"
check_rc "close an unknown campaign" 1 "$FK" campaign close 42

# sites
check_rc "add a site" 0 "$FK" campaign site --code HB-01 --name 汉滨区一号采样点 --region "$COUNTY" --capacity 400 \
	--opens 06:30 --closes 23:00
check "site row" "HB-01|汉滨区一号采样点|$COUNTY|400|390|1380" \
	"$(sql "SELECT code, name, region_code, capacity_per_hour, opens, closes FROM sites")"
check_rc "the same site again" 0 "$FK" campaign site --code HB-01 --name 汉滨区一号采样点 --region "$COUNTY" \
	--capacity 400 --opens 06:30 --closes 23:00 --json
check "the same site again: unchanged, its JSON" \
	"{\"code\":\"HB-01\",\"capacity_per_hour\":400,\"opens\":\"06:30\",\"closes\":\"23:00\"}" \
	"$(jq -c '{code, capacity_per_hour, opens, closes}' "$TMP/out")"
check_rc "the same code with other values" 1 "$FK" campaign site --code HB-01 --name 汉滨区一号采样点 \
	--region "$COUNTY" --capacity 500
check_contains "conflict: message" "$TMP/err" "site 'HB-01' exists with other values"
check "one site, audited once" "1|1" "$(sql "SELECT count(*) FROM sites")|$(sql "SELECT count(*) FROM audit_log WHERE action = 'site.create'")"
check_rc "the audit chain holds" 0 "$FK" audit verify
