#!/bin/bash
# fangkong export missing: a campaign's missing list as .xlsx, one sheet per
# grid.  The campaign is launched and sampled with the CLI (campaign create,
# campaign site, import samples); the file is read back with xlsx2csv (an
# independent reader) and every sheet compared with the missing persons
# computed by the sqlite3 shell from persons, campaign_exempt and samples.
. "$(dirname "$0")/lib.sh"

export FANGKONG_NOW=2022-01-12T10:00:00+08:00

# --- usage ---
check_rc "export missing --help exits 0" 0 "$FK" export missing --help
check_contains "--help shows usage" "$TMP/out" "usage: fangkong export missing --campaign ID --region CODE --out FILE.xlsx"
check_rc "gen 1500 persons" 0 "$FK" gen --persons 1500 --seed 5 --quiet

COUNTY=$(sql "SELECT substr(grid_code, 1, 6) c FROM persons GROUP BY c ORDER BY count(*) DESC, c LIMIT 1")
OTHER=$(sql "SELECT substr(grid_code, 1, 6) c FROM persons GROUP BY c ORDER BY count(*) DESC, c LIMIT 1 OFFSET 1")
TOWN=$(sql "SELECT substr(grid_code, 1, 9) t FROM persons WHERE grid_code LIKE '$COUNTY%' GROUP BY t ORDER BY count(*) DESC, t LIMIT 1")

check_rc "no --campaign is bad usage" 2 "$FK" export missing --region "$COUNTY" --out "$TMP/m.xlsx"
check_contains "no --campaign named" "$TMP/err" "--campaign ID is required"
check_rc "no --out is bad usage" 2 "$FK" export missing --campaign 1 --region "$COUNTY"
check_contains "no --out named" "$TMP/err" "--out FILE.xlsx is required"
check_rc "unknown option is bad usage" 2 "$FK" export missing --campaign 1 --region "$COUNTY" --out "$TMP/m.xlsx" --bogus
check_rc "unknown campaign is bad usage" 2 "$FK" export missing --campaign 7 --region "$COUNTY" --out "$TMP/m.xlsx"
check_contains "unknown campaign named" "$TMP/err" "no campaign 7"
check_rc "a bad region code is bad usage" 2 "$FK" export missing --campaign 1 --region 61x --out "$TMP/m.xlsx"

# --- launch, a site, samples ---
check_rc "campaign create" 0 "$FK" campaign create --region "$COUNTY" --kind whole --name "第一轮" \
	--starts 2022-01-12T08:00:00+08:00 --pool 10
C=$(sql "SELECT max(id) FROM campaigns")
check_rc "campaign site" 0 "$FK" campaign site --code S1 --name 一号点 --region "$COUNTY" --capacity 300
check "the campaign has exempt infants" "yes" \
	"$([ "$(sql "SELECT count(*) FROM campaign_exempt WHERE campaign_id = $C")" -gt 0 ] && echo yes || echo no)"
# every other person of the town, its first grid wholly, and one exempt infant
FULL=$(sql "SELECT grid_code FROM persons WHERE grid_code LIKE '$TOWN%' GROUP BY grid_code ORDER BY grid_code LIMIT 1")
{
	echo "tube,id_number,site,sampled_at,pool_size"
	sql "SELECT id_number FROM persons p WHERE grid_code LIKE '$TOWN%' AND (id % 2 = 0 OR grid_code = '$FULL')
	     AND NOT EXISTS (SELECT 1 FROM campaign_exempt e WHERE e.campaign_id = $C AND e.person_id = p.id)
	     UNION ALL SELECT * FROM (SELECT p.id_number FROM persons p JOIN campaign_exempt e ON e.person_id = p.id
	     AND e.campaign_id = $C WHERE p.grid_code LIKE '$COUNTY%' ORDER BY p.id LIMIT 1)" |
		awk '{ printf "T%05d,%s,S1,2022-01-12T09:%02d:00+08:00,10\n", int((NR - 1) / 10), $1, NR % 60 }'
} >"$TMP/samples.csv"
check_rc "import samples" 0 "$FK" import samples "$TMP/samples.csv" --campaign "$C"

# The reference: "grid,n,name,id_number,phone,household,occupation" for the
# persons of region $1 in the campaign's population, counted at launch, not
# exempt, with no round sample; $2 = 1 masks as the contract says.
reference() {
	sql "WITH m AS (SELECT p.grid_code g, p.id, p.name, p.id_number i, p.phone ph,
	       coalesce(h.label, '') hh, p.occupation o FROM persons p LEFT JOIN households h ON h.id = p.household_id,
	       campaigns k WHERE k.id = $C AND p.grid_code >= '$1' AND p.grid_code < '$1:' AND p.id <= k.population_max_id
	       AND p.grid_code LIKE k.region_code || '%'
	       AND NOT EXISTS (SELECT 1 FROM campaign_exempt e WHERE e.campaign_id = $C AND e.person_id = p.id)
	       AND NOT EXISTS (SELECT 1 FROM samples s WHERE s.campaign_id = $C AND s.round = 1 AND s.person_id = p.id))
	     SELECT g || ',' || row_number() OVER (PARTITION BY g ORDER BY id) || ',' ||
	       CASE WHEN $2 = 0 THEN name || ',' || i || ',' || ph
	       ELSE CASE length(name) WHEN 1 THEN '*' WHEN 2 THEN substr(name, 1, 1) || '*'
	            ELSE substr(name, 1, 1) || substr('**********', 1, length(name) - 2) || substr(name, -1) END
	         || ',' || substr(i, 1, 6) || '********' || substr(i, 15) || ',' || substr(ph, 1, 3) || '****' || substr(ph, 8) END
	       || ',' || hh || ',' || o FROM m ORDER BY g, id"
}
# xlsx2csv -a of $1 as "grid,<row>" for the data rows; titles to $1.titles,
# header rows to $1.heads
sheets() {
	xlsx2csv -a "$1" | awk -v titles="$1.titles" -v heads="$1.heads" '
		/^-------- [0-9]+ - / { g = $4; r = 0; next }
		/^$/ { next }
		{ r++; if (r == 1) print g "," $0 >titles; else if (r == 2) print $0 >heads; else print g "," $0 }'
}

check_rc "export the town, masked" 0 "$FK" export missing --campaign "$C" --region "$TOWN" --out "$TMP/m.xlsx"
reference "$TOWN" 1 >"$TMP/want"
sheets "$TMP/m.xlsx" >"$TMP/got"
check "masked rows equal the SQL missing set" "$(cat "$TMP/want")" "$(cat "$TMP/got")"
check "some persons are missing" "yes" "$([ -s "$TMP/want" ] && echo yes || echo no)"
check "one sheet per grid with a missing person" "$(cut -d, -f1 "$TMP/want" | uniq)" "$(cut -d, -f1 "$TMP/m.xlsx.titles")"
check "no sheet for the fully sampled grid" "0" "$(grep -c "^$FULL," "$TMP/m.xlsx.titles")"
check "every sheet has the header row" "序号,姓名,证件号码,电话,户,职业" "$(sort -u "$TMP/m.xlsx.heads")"
check_contains "the title names the campaign" "$TMP/m.xlsx.titles" "第一轮（第${C}号）未采样人员"
N=$(wc -l <"$TMP/want")
G=$(cut -d, -f1 "$TMP/want" | uniq | wc -l)
echo "# the town: $N missing persons in $G grids"
check_contains "the summary counts persons and grids" "$TMP/out" "missing list: $N persons in $G grids of $TOWN"
check "the export is audited, masked" "missing.export|campaign:$C region:$TOWN|$N missing persons in $G grids, masked -> xlsx" \
	"$(sql "SELECT action || '|' || object || '|' || detail FROM audit_log ORDER BY seq DESC LIMIT 1")"
check "the audit actor is the CLI user" "cli:" "$(sql "SELECT substr(actor, 1, 4) FROM audit_log ORDER BY seq DESC LIMIT 1")"

check_rc "export the town, unmasked" 0 "$FK" export missing --campaign "$C" --region "$TOWN" --out "$TMP/u.xlsx" --unmask
reference "$TOWN" 0 >"$TMP/want"
sheets "$TMP/u.xlsx" >"$TMP/got"
check "unmasked rows equal the SQL missing set" "$(cat "$TMP/want")" "$(cat "$TMP/got")"
check "the unmasked export is audited as such" "missing.export_unmasked" \
	"$(sql "SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1")"

check_rc "export the whole county" 0 "$FK" export missing --campaign "$C" --region "$COUNTY" --out "$TMP/c.xlsx"
reference "$COUNTY" 1 >"$TMP/want"
sheets "$TMP/c.xlsx" >"$TMP/got"
check "county rows equal the SQL missing set" "$(cat "$TMP/want")" "$(cat "$TMP/got")"

check_rc "a region outside the area is bad usage" 2 "$FK" export missing --campaign "$C" --region "$OTHER" --out "$TMP/o.xlsx"
check_contains "the area is named" "$TMP/err" "is not in campaign $C's area '$COUNTY'"
check "nothing written for it" "no" "$([ -e "$TMP/o.xlsx" ] && echo yes || echo no)"
check_rc "audit chain intact" 0 "$FK" audit verify
