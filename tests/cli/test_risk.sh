#!/usr/bin/env bash
# fangkong risk set|list and the lowering by `fangkong control tick --at`:
# exit codes, the rows recorded (checked with the sqlite3 shell), exact due
# times from the policy file's day counts.
. "$(dirname "$0")/lib.sh"

$FK init >/dev/null 2>&1
$FK gen --persons 300 --seed 9 >/dev/null 2>&1 || { not_ok "gen"; exit 0; }
G=$(sql "SELECT grid_code FROM households WHERE label LIKE '%号楼%' ORDER BY grid_code LIMIT 1")
TOWN=${G:0:9}
B=$(sql "SELECT substr(label, 1, instr(label, '号楼') + 1) FROM households WHERE grid_code = '$G' ORDER BY label LIMIT 1")
ini() { sed -n '/^\[risk_area\]/,/^\[/p' "$(dirname "$0")/../../policy/$1.ini" | sed -n "s/^$2 *= *\([0-9]*\).*/\1/p"; }
H2M=$(ini protocol-9 high_to_medium_days)
M2LH=$(ini protocol-9 medium_to_low_after_high_days)
T0=2022-03-01T08:00:00+08:00
T0S=$(date -d "$T0" +%s)

check_rc "help" 0 $FK risk --help
check_contains "help names set" "$TMP/out" "fangkong risk set"
check_rc "no subcommand" 2 $FK risk
check_rc "missing reason" 2 $FK risk set --region "$G" --level high
check_rc "bad level" 2 $FK risk set --region "$G" --level severe --reason x
check_contains "bad level message" "$TMP/err" "'level'"
check_rc "bad region" 2 $FK risk set --region 61x --level high --reason x
check_rc "unknown region" 2 $FK risk set --region 610999999999999 --level high --reason x
check_rc "building of a town" 2 $FK risk set --region "$TOWN" --building "$B" --level high --reason x
check_contains "building message" "$TMP/err" "'building'"
check_rc "unknown building" 2 $FK risk set --region "$G" --building 99号楼 --level high --reason x
check_rc "bad start" 2 $FK risk set --region "$G" --level high --start tomorrow --reason x
check_rc "low with nothing in force" 2 $FK risk set --region "$G" --level low --reason x
check "nothing recorded" "0" "$(sql "SELECT count(*) FROM risk_areas")"

check_rc "designate high" 0 $FK risk set --region "$G" --level high --start "$T0" --reason 确诊
check "high row" "high|$T0S||1|cli" "$(sql "SELECT level, start_at, coalesce(end_at, ''), auto, substr(created_by, 1, 3) FROM risk_areas")"
check_rc "designate a building medium" 0 $FK risk set --region "$G" --building "$B" --level medium --start "$T0" --reason 楼栋 --manual
check "building row" "$B|medium|0" "$(sql "SELECT building, level, auto FROM risk_areas WHERE id = 2")"
check_rc "list" 0 $FK risk list
check "list shows both" "2" "$(grep -c "$G" "$TMP/out")"
check_rc "list json" 0 $FK risk list --json
check "json countdown" "medium $(( T0S + H2M * 86400 ))" \
	"$(python3 -c "import json,sys,datetime; a=json.load(open('$TMP/out'))['items'][0]['countdown']; print(a['next_level'], int(datetime.datetime.fromisoformat(a['due_at']).timestamp()))")"

D1=$(( T0S + H2M * 86400 ))
check_rc "tick a second early" 0 $FK control tick --at "$(date -u -d "@$(( D1 - 1 + 28800 ))" +%Y-%m-%dT%H:%M:%S+08:00)"
check "not lowered yet" "1" "$(sql "SELECT count(*) FROM risk_areas WHERE end_at IS NULL AND building = ''")"
check "still high" "high" "$(sql "SELECT level FROM risk_areas WHERE end_at IS NULL AND building = ''")"
# a tick long after both due times lowers twice, each at its exact time
D2=$(( D1 + M2LH * 86400 ))
check_rc "late tick" 0 $FK control tick --at "$(date -u -d "@$(( D2 + 5 * 86400 + 28800 ))" +%Y-%m-%dT%H:%M:%S+08:00)"
check "lowered at the exact times" "high|$T0S|$D1
medium|$D1|$D2
low|$D2|$D2" "$(sql "SELECT level, start_at, end_at FROM risk_areas WHERE building = '' ORDER BY id")"
check "system rows await confirmation" "2|0" "$(sql "SELECT count(*), count(confirmed_at) FROM risk_areas WHERE created_by = 'system'")"
check "the manual building area stays" "medium|" "$(sql "SELECT level, coalesce(end_at, '') FROM risk_areas WHERE id = 2")"
check_rc "lower the building by hand" 0 $FK risk set --region "$G" --building "$B" --level low --reason 解除
check "building ended" "0" "$(sql "SELECT count(*) FROM risk_areas WHERE end_at IS NULL")"
check "audited" "3" "$(sql "SELECT count(*) FROM audit_log WHERE action = 'risk.set'")"
check "lowering audited" "2" "$(sql "SELECT count(*) FROM audit_log WHERE action = 'risk.lower'")"
check_rc "20 measures refuse medium" 2 $FK risk set --region "$G" --level medium --reason x --policy protocol-9-20
check_rc "audit chain intact" 0 $FK audit verify
