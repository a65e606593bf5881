#!/bin/bash
# fangkong gen: the real tree of 安康市, a synthetic population that obeys
# the registry's rules, exact roll-ups, determinism and refusals.  Every
# figure is checked with the sqlite3 shell, an independent reader; ID check
# characters are recomputed in SQL from the GB 11643 weights.
. "$(dirname "$0")/lib.sh"

# --- usage ---
check_rc "--help exits 0" 0 "$FK" gen --help
check_contains "--help shows usage" "$TMP/out" "usage: fangkong gen"
check_contains "--help names --persons" "$TMP/out" "--persons N"
check_rc "--persons abc is bad usage" 2 "$FK" gen --persons abc
check_contains "--persons abc names the value" "$TMP/err" "'abc'"
check_rc "--persons 0 is bad usage" 2 "$FK" gen --persons 0
check_rc "--persons -5 is bad usage" 2 "$FK" gen --persons=-5
check_rc "--persons without a value is bad usage" 2 "$FK" gen --persons
check_rc "--seed x is bad usage" 2 "$FK" gen --seed x
check_rc "unknown option is bad usage" 2 "$FK" gen --bogus
check_rc "--city 61 is bad usage" 2 "$FK" gen --city 61
check_rc "a city not in the data is bad usage" 2 "$FK" gen --city 9999 --db "$TMP/nocity.db"
check_contains "unknown city named" "$TMP/err" "city '9999'"
check_rc "missing division file fails" 1 "$FK" gen --division "$TMP/none.sqlite" --db "$TMP/nodiv.db"
check_contains "missing division file named" "$TMP/err" "$TMP/none.sqlite"
FANGKONG_DIVISION="$TMP/none2.sqlite" check_rc "missing FANGKONG_DIVISION fails" 1 "$FK" gen --db "$TMP/nodiv.db"
check_contains "missing FANGKONG_DIVISION named" "$TMP/err" "$TMP/none2.sqlite"
echo "not a database" >"$TMP/junk.sqlite"
check_rc "a division file that is not SQLite fails" 1 "$FK" gen --division "$TMP/junk.sqlite" --db "$TMP/nodiv.db"

# --- a small city ---
check_rc "gen 5000 persons" 0 "$FK" gen --persons 5000 --seed 3
check_contains "summary counts persons" "$TMP/out" "persons: 5000"
check_contains "summary counts villages" "$TMP/out" "1924 communities/villages"

check "province and city" "61|陕西省|1|
6109|安康市|2|61" "$(sql "SELECT code, name, level, coalesce(parent_code, '') FROM regions WHERE level <= 2 ORDER BY code")"
check "regions per level 3/4/5" "3|10
4|139
5|1924" "$(sql "SELECT level, count(*) FROM regions WHERE level BETWEEN 3 AND 5 GROUP BY level")"
check "real county names" "汉滨区|旬阳市" \
	"$(sql "SELECT group_concat(name, '|') FROM (SELECT name FROM regions WHERE code IN ('610902', '610981') ORDER BY code)")"
check "every region's parent is its code prefix one level up" "0" \
	"$(sql "SELECT count(*) FROM regions r JOIN regions p ON p.code = r.parent_code
	        WHERE p.level != r.level - 1 OR substr(r.code, 1, length(p.code)) != p.code")"
check "grids: 15 digits under a village, named 第N网格" "0" \
	"$(sql "SELECT count(*) FROM regions WHERE level = 6 AND (length(code) != 15
	        OR parent_code != substr(code, 1, 12) OR name NOT GLOB '第[0-9]*网格')")"
check "every village has a grid" "0" \
	"$(sql "SELECT count(*) FROM regions v WHERE v.level = 5
	        AND NOT EXISTS (SELECT 1 FROM regions g WHERE g.parent_code = v.code)")"
check "address codes nationwide" "1" \
	"$(sql "SELECT count(*) > 2800 AND sum(code = '110105') = 1 AND sum(code = '610902') = 1 FROM address_codes")"
check "meta city" "6109|安康市" \
	"$(sql "SELECT (SELECT value FROM meta WHERE key = 'city') || '|' || (SELECT value FROM meta WHERE key = 'city_name')")"

check "persons" "5000" "$(sql "SELECT count(*) FROM persons")"
ID_SUM="(substr(id_number,1,1)*7 + substr(id_number,2,1)*9 + substr(id_number,3,1)*10
	+ substr(id_number,4,1)*5 + substr(id_number,5,1)*8 + substr(id_number,6,1)*4
	+ substr(id_number,7,1)*2 + substr(id_number,8,1)*1 + substr(id_number,9,1)*6
	+ substr(id_number,10,1)*3 + substr(id_number,11,1)*7 + substr(id_number,12,1)*9
	+ substr(id_number,13,1)*10 + substr(id_number,14,1)*5 + substr(id_number,15,1)*8
	+ substr(id_number,16,1)*4 + substr(id_number,17,1)*2)"
check "every ID number has a correct check character" "0" \
	"$(sql "SELECT count(*) FROM persons WHERE length(id_number) != 18
	        OR substr(id_number, 1, 17) GLOB '*[^0-9]*'
	        OR substr('10X98765432', $ID_SUM % 11 + 1, 1) != substr(id_number, 18, 1)")"
check "some ID numbers end in X" "1" "$(sql "SELECT count(*) > 0 FROM persons WHERE id_number LIKE '%X'")"
check "birth date in the ID number is the birth date, real, 1900..2021" "0" \
	"$(sql "SELECT count(*) FROM persons WHERE substr(id_number, 7, 8) != replace(birth_date, '-', '')
	        OR date(birth_date) IS NOT birth_date OR birth_date < '1900-01-01' OR birth_date > '2021-12-31'")"
check "sex digit matches sex" "0" \
	"$(sql "SELECT count(*) FROM persons WHERE (substr(id_number, 17, 1) % 2 = 1) != (sex = 1)")"
check "both sexes, near 105:100" "1" \
	"$(sql "SELECT sum(sex = 1) * 1.0 / sum(sex = 2) BETWEEN 0.9 AND 1.2 FROM persons")"
check "ID address codes are real county codes" "0" \
	"$(sql "SELECT count(*) FROM persons WHERE substr(id_number, 1, 6) NOT IN (SELECT code FROM address_codes)")"
check "most are born in a county of the city" "1" \
	"$(sql "SELECT sum(substr(id_number, 1, 4) = '6109') * 1.0 / count(*) BETWEEN 0.9 AND 0.99 FROM persons")"
check "ID numbers unique" "5000" "$(sql "SELECT count(DISTINCT id_number) FROM persons")"
check "phones unique" "5000" "$(sql "SELECT count(DISTINCT phone) FROM persons")"
check "phones are mobile numbers" "0" \
	"$(sql "SELECT count(*) FROM persons WHERE phone NOT GLOB '1[3-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'")"
check "names are 2-4 characters" "0" \
	"$(sql "SELECT count(*) FROM persons WHERE length(name) NOT BETWEEN 2 AND 4")"
check "every person in a grid" "0" \
	"$(sql "SELECT count(*) FROM persons p LEFT JOIN regions g ON g.code = p.grid_code WHERE g.level IS NOT 6")"
check "household sizes 1..6" "0" \
	"$(sql "SELECT count(*) FROM (SELECT count(*) n FROM persons GROUP BY household_id) WHERE n NOT BETWEEN 1 AND 6")"
check "no empty household" "0" \
	"$(sql "SELECT count(*) FROM households h WHERE NOT EXISTS (SELECT 1 FROM persons p WHERE p.household_id = h.id)")"
check "every person in a household" "0" "$(sql "SELECT count(*) FROM persons WHERE household_id IS NULL")"
check "a household's members live in its grid" "0" \
	"$(sql "SELECT count(*) FROM persons p JOIN households h ON h.id = p.household_id WHERE p.grid_code != h.grid_code")"
check "household labels: flats in communities, houses in villages" "0" \
	"$(sql "SELECT count(*) FROM households h JOIN regions g ON g.code = h.grid_code JOIN regions v ON v.code = g.parent_code
	        WHERE CASE WHEN v.name LIKE '%社区%' OR v.name LIKE '%居委会%'
	        THEN h.label NOT GLOB '[1-9]*号楼[1-9]*单元[1-9]*[0-9][0-9]'
	        ELSE h.label NOT GLOB '[1-9]*组[1-9]*号' END")"
check "every household has an adult" "0" \
	"$(sql "SELECT count(*) FROM (SELECT max(birth_date) <= '2003-12-31' OR min(birth_date) <= '2003-12-31' ok
	        FROM persons GROUP BY household_id) WHERE NOT ok")"
check "grids hold at most 1,500 persons" "0" \
	"$(sql "SELECT count(*) FROM (SELECT count(*) n FROM persons GROUP BY grid_code) WHERE n > 1500")"
check "children are children or students" "0" \
	"$(sql "SELECT count(*) FROM persons WHERE birth_date > '2004-01-01' AND occupation NOT IN ('child', 'student')")"
check "under-6s are children" "0" \
	"$(sql "SELECT count(*) FROM persons WHERE birth_date > '2016-01-01' AND occupation != 'child'")"
check "no retired or student under 18 at work" "0" \
	"$(sql "SELECT count(*) FROM persons WHERE birth_date < '1962-01-01' AND occupation IN ('student', 'child')")"
check "venues in grids, codes V + village code + 4 digits" "0" \
	"$(sql "SELECT count(*) FROM venues v JOIN regions r ON r.code = v.region_code
	        WHERE length(v.code) != 17 OR substr(v.code, 1, 1) != 'V' OR substr(v.code, 2, 12) != r.parent_code
	        OR r.level != 6 OR substr(v.code, 14) GLOB '*[^0-9]*'")"
check "venue names start with their county" "0" \
	"$(sql "SELECT count(*) FROM venues v JOIN regions c ON c.code = substr(v.region_code, 1, 6)
	        WHERE v.kind != 'bank' AND substr(v.name, 1, length(c.name)) != c.name")"
check "venues of the main kinds" "1" \
	"$(sql "SELECT count(DISTINCT kind) >= 10 AND sum(kind = 'pharmacy') > 0 AND sum(kind = 'supermarket') > 0 FROM venues")"

# --- region_stats ---
check "a stats row per region" "0" \
	"$(sql "SELECT count(*) FROM regions r LEFT JOIN region_stats s ON s.code = r.code WHERE s.code IS NULL")"
check "grid population = its persons" "0" \
	"$(sql "SELECT count(*) FROM regions g JOIN region_stats s ON s.code = g.code WHERE g.level = 6
	        AND (s.population != (SELECT count(*) FROM persons p WHERE p.grid_code = g.code)
	        OR s.households != (SELECT count(*) FROM households h WHERE h.grid_code = g.code)
	        OR s.venues != (SELECT count(*) FROM venues x WHERE x.region_code = g.code)
	        OR s.grids != 1)")"
for f in population households venues grids; do
	check "region_stats.$f: a region is the sum of its children" "0" \
		"$(sql "SELECT count(*) FROM regions r JOIN region_stats s ON s.code = r.code WHERE r.level < 6
		        AND s.$f != (SELECT coalesce(sum(cs.$f), 0) FROM regions c JOIN region_stats cs ON cs.code = c.code
		                     WHERE c.parent_code = r.code)")"
done
check "city totals" "5000|$(sql "SELECT count(*) FROM households")|$(sql "SELECT count(*) FROM venues")|$(sql "SELECT count(*) FROM regions WHERE level = 6")" \
	"$(sql "SELECT population || '|' || households || '|' || venues || '|' || grids FROM region_stats WHERE code = '6109'")"

# --- refusals ---
check_rc "a second gen on the same database is refused" 1 "$FK" gen --persons 100
check_contains "refusal says why" "$TMP/err" "already holds 5000 persons"
check "the refused gen changed nothing" "5000" "$(sql "SELECT count(*) FROM persons")"

# --- determinism ---
dump_sha() { sqlite3 "$1" ".dump persons households venues regions" | sha256sum | cut -d' ' -f1; }
"$FK" gen --persons 3000 --seed 7 --db "$TMP/a.db" >/dev/null 2>&1
"$FK" gen --persons 3000 --seed 7 --db "$TMP/b.db" >/dev/null 2>&1
"$FK" gen --persons 3000 --seed 8 --db "$TMP/c.db" >/dev/null 2>&1
A=$(dump_sha "$TMP/a.db")
B=$(dump_sha "$TMP/b.db")
C=$(dump_sha "$TMP/c.db")
check "same seed, identical data" "$A" "$B"
if [ "$A" != "$C" ] && [ -n "$C" ]; then ok "different seed, different data"; else
	not_ok "different seed, different data" "seed 7 and 8 both gave $A"; fi
check "persons dump of the same seed identical" \
	"$(sqlite3 "$TMP/a.db" ".dump persons" | sha256sum)" "$(sqlite3 "$TMP/b.db" ".dump persons" | sha256sum)"

# --- a fuller city: grid sizes and occupation shares ---
check_rc "gen 100000 persons" 0 "$FK" gen --persons 100000 --db "$TMP/big.db" --quiet
big() { sqlite3 -batch -noheader "$TMP/big.db" "$1"; }
check "grids of split villages hold 300-1500 persons" "0" \
	"$(big "SELECT count(*) FROM (SELECT g.parent_code v, count(*) n FROM persons p JOIN regions g ON g.code = p.grid_code
	        GROUP BY p.grid_code) x WHERE (SELECT count(*) FROM regions WHERE parent_code = x.v) > 1 AND n NOT BETWEEN 300 AND 1500")"
check "mean household size 2.4-2.8" "1" \
	"$(big "SELECT (SELECT count(*) FROM persons) * 1.0 / (SELECT count(*) FROM households) BETWEEN 2.4 AND 2.8")"
check "communities are bigger than villages" "1" \
	"$(big "SELECT avg(CASE WHEN v.name LIKE '%社区%' OR v.name LIKE '%居委会%' THEN s.population END)
	        > 2 * avg(CASE WHEN NOT (v.name LIKE '%社区%' OR v.name LIKE '%居委会%') THEN s.population END)
	        FROM regions v JOIN region_stats s ON s.code = v.code WHERE v.level = 5")"
check "key occupations at realistic shares" "1" \
	"$(big "SELECT sum(occupation = 'cold_chain') BETWEEN 150 AND 500 AND sum(occupation = 'port') BETWEEN 100 AND 350
	        AND sum(occupation = 'courier') BETWEEN 600 AND 1500 AND sum(occupation = 'transport') BETWEEN 1400 AND 2800
	        AND sum(occupation = 'medical') BETWEEN 600 AND 1500 AND sum(occupation = 'isolation_staff') BETWEEN 40 AND 200
	        FROM persons")"
check "age pyramid: 0-14 10-25%, 60+ 14-26%" "1" \
	"$(big "SELECT sum(birth_date > '2007-01-01') * 1.0 / count(*) BETWEEN 0.10 AND 0.25
	        AND sum(birth_date <= '1962-01-01') * 1.0 / count(*) BETWEEN 0.14 AND 0.26 FROM persons")"
check "persons indexes are back after gen" "persons_grid persons_household persons_name persons_occupation" \
	"$(big "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'persons' AND sql IS NOT NULL ORDER BY name)")"
check "foreign keys hold" "" "$(big "PRAGMA foreign_key_check")"
check "integrity" "ok" "$(big "PRAGMA integrity_check")"
