#!/bin/bash
# fangkong import: regions, persons and venues from CSV.
# Reference results are written by hand (tests/cli/data/*.expected*) or
# computed here independently of fangkong: ID check characters with
# python3 and awk (GB 11643-1999 MOD 11-2), the database read back with the
# sqlite3 shell.
. "$(dirname "$0")/lib.sh"
DATA=$(cd "$(dirname "$0")/data" && pwd)

# fill TEMPLATE OUT: a 17-digit run followed by '@' gets its check
# character, followed by '!' a wrong one.
fill() {
	python3 - "$1" "$2" <<'PY'
import re, sys
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
C = "10X98765432"
def check(d):
    return C[sum(int(a) * w for a, w in zip(d, W)) % 11]
def sub(m):
    d, mark = m.group(1), m.group(2)
    c = check(d)
    if mark == "!":
        c = C[(C.index(c) + 1) % 11]
    return d + c
src = open(sys.argv[1], encoding="utf-8").read()
open(sys.argv[2], "w", encoding="utf-8").write(re.sub(r"(\d{17})([@!])", sub, src))
PY
}

# snapshot: every registry row and the audit log length
snapshot() {
	sqlite3 -batch "$FANGKONG_DB" \
		"SELECT * FROM regions ORDER BY code; SELECT * FROM households ORDER BY id;
		 SELECT * FROM persons ORDER BY id; SELECT * FROM venues ORDER BY code;
		 SELECT * FROM region_stats ORDER BY code; SELECT count(*) FROM audit_log;" |
		sha256sum
}

PERSON_ROWS="SELECT p.id_number, p.name, p.phone, p.grid_code, p.sex, p.birth_date,
	coalesce(h.label, ''), p.occupation FROM persons p
	LEFT JOIN households h ON h.id = p.household_id ORDER BY p.id_number"

check_rc "init" 0 "$FK" init

# ---- usage ----
check_rc "--help exits 0" 0 "$FK" import --help
check_contains "--help names the kinds" "$TMP/out" "regions  code,name,level,parent_code"
check_rc "unknown kind exits 2" 2 "$FK" import checkouts "$TMP/x.csv"
check_contains "unknown kind is named" "$TMP/err" "unknown kind 'checkouts'"
check_rc "missing FILE exits 2" 2 "$FK" import persons
check_rc "bad --batch exits 2" 2 "$FK" import persons "$TMP/x.csv" --batch 0
check_rc "missing file exits 1" 1 "$FK" import persons "$TMP/nowhere.csv"
check_contains "missing file is named" "$TMP/err" "$TMP/nowhere.csv"

# ---- regions ----
cp "$DATA/import_regions.csv" "$TMP/regions.csv"
check_rc "regions import" 0 "$FK" import regions "$TMP/regions.csv"
check_contains "regions summary" "$TMP/err" \
	"imported $TMP/regions.csv (utf-8): 7 rows, 7 inserted, 0 updated, 0 unchanged, 0 rejected"
check "regions stored at natural length" \
	"61|1|,6109|2|61,610902|3|6109,610902001|4|610902,610902001001|5|610902001,610902001001001|6|610902001001,610902001001002|6|610902001001" \
	"$(sql "SELECT code || '|' || level || '|' || coalesce(parent_code, '') FROM regions ORDER BY code" | paste -sd,)"
check "no rejects file when nothing rejected" "no" "$([ -e "$TMP/regions.csv.rejects.csv" ] && echo yes || echo no)"
check "region_stats refreshed" "7 2" "$(sql "SELECT count(*), (SELECT grids FROM region_stats WHERE code='61') FROM region_stats" | tr '|' ' ')"

cp "$DATA/import_regions_bad.csv" "$TMP/regions_bad.csv"
check_rc "regions with bad rows exit 3" 3 "$FK" import regions "$TMP/regions_bad.csv"
if diff -u "$DATA/import_regions_bad.rejects.expected" "$TMP/regions_bad.csv.rejects.csv" >"$TMP/diff"; then
	ok "regions rejects file exact"
else
	not_ok "regions rejects file exact" "$(head -40 "$TMP/diff")"
fi
check "regions: good rows kept, parent earlier in the file counts" \
	"610902002|4,610902002001|5,610902002001001|6" \
	"$(sql "SELECT code || '|' || level FROM regions WHERE code LIKE '610902002%' ORDER BY code" | paste -sd,)"

# rename a region: updated and audited with the names; then back
before=$(sql "SELECT coalesce(max(seq), 0) FROM audit_log")
printf 'code,name,level,parent_code\n610902002,新城街道办,4,610902\n' >"$TMP/rename.csv"
check_rc "region rename exits 0" 0 "$FK" import regions "$TMP/rename.csv"
check_contains "region rename counted as updated" "$TMP/err" "1 rows, 0 inserted, 1 updated, 0 unchanged"
check "region rename audited once" "region.update|region:610902002|changed: name '新城街道' -> '新城街道办'" \
	"$(sql "SELECT action || '|' || object || '|' || detail FROM audit_log WHERE seq > $before")"
printf 'code,name,level,parent_code\n610902002,新城街道,4,610902\n' >"$TMP/rename.csv"
check_rc "region rename back" 0 "$FK" import regions "$TMP/rename.csv"

# ---- persons: one row of each bad kind ----
fill "$DATA/import_persons.csv.in" "$TMP/persons.csv"
fill "$DATA/import_persons.rejects.expected.in" "$TMP/persons.rejects.expected"
fill "$DATA/import_persons.db.expected.in" "$TMP/persons.db.expected"
echo "garbage from an earlier run" >"$TMP/persons.csv.rejects.csv"
check_rc "persons with bad rows exit 3" 3 "$FK" import persons "$TMP/persons.csv"
check_contains "persons summary" "$TMP/err" \
	"imported $TMP/persons.csv (utf-8): 16 rows, 5 inserted, 0 updated, 0 unchanged, 11 rejected -> $TMP/persons.csv.rejects.csv"
if diff -u "$TMP/persons.rejects.expected" "$TMP/persons.csv.rejects.csv" >"$TMP/diff"; then
	ok "persons rejects file exact"
else
	not_ok "persons rejects file exact" "$(head -40 "$TMP/diff")"
fi
sql "$PERSON_ROWS" >"$TMP/persons.db"
if diff -u "$TMP/persons.db.expected" "$TMP/persons.db" >"$TMP/diff"; then
	ok "persons: good rows stored (ID ending in X, sex and birth date derived, row after an unterminated quote kept)"
else
	not_ok "persons: good rows stored" "$(head -20 "$TMP/diff")"
fi
check "one household per (grid, label), shared by its members" "3 1" \
	"$(sql "SELECT count(*), (SELECT count(DISTINCT household_id) FROM persons WHERE name IN ('张三', '冯同户')) FROM households" | tr '|' ' ')"
check "inserts audited once per batch, no clear ID numbers" \
	"person.import|batch lines 2-17: 5 inserted|0" \
	"$(sql "SELECT action || '|' || detail || '|' || (SELECT count(*) FROM audit_log WHERE detail GLOB '*[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]*' OR object GLOB '*[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]*') FROM audit_log WHERE action = 'person.import'")"
check "region_stats counts persons" "5 3" \
	"$(sql "SELECT population, households FROM region_stats WHERE code = '6109'" | tr '|' ' ')"

# ---- idempotence ----
snap1=$(snapshot)
cp "$TMP/persons.csv.rejects.csv" "$TMP/rejects.first"
check_rc "second import of the same file exits 3" 3 "$FK" import persons "$TMP/persons.csv"
check_contains "second import: all rows unchanged" "$TMP/err" \
	"16 rows, 0 inserted, 0 updated, 5 unchanged, 11 rejected"
check "second import changes nothing (data, roll-ups, audit log)" "$snap1" "$(snapshot)"
check "second import writes the same rejects" "same" \
	"$(cmp -s "$TMP/rejects.first" "$TMP/persons.csv.rejects.csv" && echo same || echo different)"

# ---- a changed row: updated and audited once, phone masked ----
zhang=$(sql "SELECT id_number FROM persons WHERE name = '张三'")
zid=$(sql "SELECT id FROM persons WHERE name = '张三'")
before=$(sql "SELECT coalesce(max(seq), 0) FROM audit_log")
printf 'id_number,name,phone,grid_code,household,occupation\n%s,张三,13911112222,610902001001001,1号楼101,教师\n' \
	"$zhang" >"$TMP/changed.csv"
check_rc "changed row exits 0" 0 "$FK" import persons "$TMP/changed.csv"
check_contains "changed row counted as updated" "$TMP/err" "1 rows, 0 inserted, 1 updated, 0 unchanged, 0 rejected"
check "changed phone stored" "13911112222" "$(sql "SELECT phone FROM persons WHERE name = '张三'")"
check "one audit row for the update, masked" \
	"1|import:$(id -un)|person.update|person:$zid|changed: phone 139****5678 -> 139****2222" \
	"$(sql "SELECT count(*) || '|' || actor || '|' || action || '|' || object || '|' || detail FROM audit_log WHERE seq > $before")"
check "audit chain intact" 0 "$("$FK" audit verify >/dev/null 2>&1; echo $?)"

# ---- BOM ----
python3 - "$TMP/bom.in" <<'PY'
import sys
open(sys.argv[1], "w", encoding="utf-8").write(
    "\ufeffid_number,name,phone,grid_code,household,occupation\n"
    "61090220000202222@,钱多多,13912340100,610902001001001,5号楼,学生\r\n")
PY
fill "$TMP/bom.in" "$TMP/bom.csv"
check_rc "BOM file exits 0" 0 "$FK" import persons "$TMP/bom.csv"
check_contains "BOM detected" "$TMP/err" "(utf-8 with bom): 1 rows, 1 inserted"
check "BOM file row stored" "钱多多|学生" "$(sql "SELECT name || '|' || occupation FROM persons WHERE name = '钱多多'")"

# ---- GB18030 (as Excel on Chinese Windows saves it) ----
printf 'id_number,name,phone,grid_code,household,occupation\n%s\n%s\n%s\n' \
	"61090219800808808@,欧阳娜娜,13912340200,610902001001002,东关小区7栋,个体经营" \
	"61090219750307333@,龚喆,,610902001001002,东关小区7栋,农民" \
	"61090219750307444@,错号码,1391234,610902001001002,东关小区8栋,农民" >"$TMP/gb.in"
fill "$TMP/gb.in" "$TMP/gb.utf8"
iconv -f UTF-8 -t GB18030 "$TMP/gb.utf8" >"$TMP/gb.csv"
check "GB18030 fixture differs from UTF-8" "different" \
	"$(cmp -s "$TMP/gb.utf8" "$TMP/gb.csv" && echo same || echo different)"
check_rc "GB18030 file with one bad row exits 3" 3 "$FK" import persons "$TMP/gb.csv"
check_contains "GB18030 detected" "$TMP/err" "(gb18030): 3 rows, 2 inserted, 0 updated, 0 unchanged, 1 rejected"
fill <(printf '4,phone,bad phone,"61090219750307444@,错号码,1391234,610902001001002,东关小区8栋,农民"\n') "$TMP/gb.rej"
check "GB18030 rejects written in UTF-8" "$(cat "$TMP/gb.rej")" "$(sed -n 2p "$TMP/gb.csv.rejects.csv")"
check "GB18030 names read back in UTF-8" "个体经营|欧阳娜娜|东关小区7栋,农民|龚喆|东关小区7栋" \
	"$(sql "SELECT p.occupation || '|' || p.name || '|' || h.label FROM persons p JOIN households h ON h.id = p.household_id WHERE p.grid_code = '610902001001002' AND h.label LIKE '东关%' ORDER BY p.id_number DESC" | paste -sd,)"

# ---- invalid encoding: one bad row among many good ones ----
{
	echo "code,name,region_code,kind"
	for i in $(seq 100 299); do echo "E$i,东关商店$i,610902001001,other"; done
	printf 'E900,\xff\xfe坏字,610902001001,other\n'
	echo "E901,最后一家,610902001001,other"
} >"$TMP/enc.csv"
check_rc "invalid encoding row rejected, exit 3" 3 "$FK" import venues "$TMP/enc.csv"
check_contains "invalid encoding: file still utf-8" "$TMP/err" "(utf-8): 202 rows, 201 inserted"
check "invalid encoding reject names line and field, raw escaped" \
	'202,name,invalid encoding,"E900,\xFF\xFE坏字,610902001001,other"' \
	"$(sed -n 2p "$TMP/enc.csv.rejects.csv")"
check "rows after the bad encoding kept" "最后一家" "$(sql "SELECT name FROM venues WHERE code = 'E901'")"
sql "DELETE FROM venues WHERE code GLOB 'E*'" # keep later venue checks small

# ---- over-long field and line ----
long=$(printf '%*s' 2000 '' | tr ' ' 'a')
k=$(printf '%*s' 1000 '' | tr ' ' 'b')
{
	echo "id_number,name,phone,grid_code,household,occupation"
	echo "61090219700101011@,长一,13912340300,610902001001001,,"
	echo "61090219700101022@,$long,13912340301,610902001001001,,"
	echo "61090219700101033@,长三,13912340302,610902001001001,,$k,$k,$k,$k,$k,$k,$k,$k,$k"
	echo "61090219700101044@,长四,13912340303,610902001001001,,"
} >"$TMP/long.in"
fill "$TMP/long.in" "$TMP/long.csv"
check_rc "over-long field and line rejected, exit 3" 3 "$FK" import persons "$TMP/long.csv"
check "over-long field and line reasons" \
	"3,name,field longer than 1024 bytes|4,,line longer than 8192 bytes" \
	"$(tail -n +2 "$TMP/long.csv.rejects.csv" | cut -d, -f1-3 | paste -sd'|')"
check "rows around over-long ones kept" "长一,长四" \
	"$(sql "SELECT name FROM persons WHERE name GLOB '长*' ORDER BY name" | paste -sd,)"

# ---- wrong header: nothing imported ----
before=$(snapshot)
printf 'id_number,name,mobile,grid_code,household,occupation\n%s\n' \
	"$zhang,张三,13900000000,610902001001001,,">"$TMP/header.csv"
check_rc "wrong header exits 1" 1 "$FK" import persons "$TMP/header.csv"
check_contains "wrong header message" "$TMP/err" \
	"wrong header for persons: expected 'id_number,name,phone,grid_code,household,occupation', got 'id_number,name,mobile,grid_code,household,occupation'"
check "wrong header imports nothing" "$before" "$(snapshot)"
check "wrong header writes no rejects" "no" "$([ -e "$TMP/header.csv.rejects.csv" ] && echo yes || echo no)"

# ---- venues ----
cp "$DATA/import_venues.csv" "$TMP/venues.csv"
check_rc "venues with bad rows exit 3" 3 "$FK" import venues "$TMP/venues.csv"
if diff -u "$DATA/import_venues.rejects.expected" "$TMP/venues.csv.rejects.csv" >"$TMP/diff"; then
	ok "venues rejects file exact"
else
	not_ok "venues rejects file exact" "$(head -40 "$TMP/diff")"
fi
sql "SELECT code, name, region_code, kind FROM venues ORDER BY code" >"$TMP/venues.db"
if diff -u "$DATA/import_venues.db.expected" "$TMP/venues.db" >"$TMP/diff"; then
	ok "venues: good rows stored, padded region codes normalised"
else
	not_ok "venues: good rows stored" "$(head -20 "$TMP/diff")"
fi
# fixed, the file imports whole and a stale rejects file goes away
grep -v -e casino -e 远方 -e 'V005' -e 'V 07' -e 'V008' -e '东关超市二' "$TMP/venues.csv" >"$TMP/venues_ok.csv"
cp "$TMP/venues.csv.rejects.csv" "$TMP/venues_ok.csv.rejects.csv"
check_rc "venues without bad rows exit 0" 0 "$FK" import venues "$TMP/venues_ok.csv"
check_contains "venues unchanged on re-import" "$TMP/err" "4 rows, 0 inserted, 0 updated, 4 unchanged, 0 rejected"
check "stale rejects file removed" "no" "$([ -e "$TMP/venues_ok.csv.rejects.csv" ] && echo yes || echo no)"

# ---- kill -9 mid-import: committed batches kept, no half row ----
N=300000
BATCH=5000
awk -v n=$N 'BEGIN {
	split("7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2", w, " ");
	split("1 0 X 9 8 7 6 5 4 3 2", c, " ");
	print "id_number,name,phone,grid_code,household,occupation";
	for (i = 0; i < n; i++) {
		k = int(i / 1000);
		d = sprintf("610902%04d%02d%02d%03d", 1900 + k % 100, 1 + int(k / 100), 1 + i % 28, i % 1000);
		s = 0;
		for (j = 1; j <= 17; j++) s += substr(d, j, 1) * w[j];
		printf "%s%s,人员%d,139%08d,61090200100100%d,h%d,\n", d, c[s % 11 + 1], i, i, 1 + int(i / 3) % 2, int(i / 3);
	}
}' >"$TMP/big.csv"
check "generated file has valid check digits (python3 agrees with awk)" "0" \
	"$(python3 -c "
import sys
W=[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2]; C='10X98765432'; bad=0
for i,l in enumerate(open('$TMP/big.csv')):
    if i==0 or i%997: continue
    d=l[:17]; bad+= C[sum(int(a)*b for a,b in zip(d,W))%11]!=l[17]
print(bad)")"
base=$(sql "SELECT count(*) FROM persons")
"$FK" import persons "$TMP/big.csv" --batch $BATCH >/dev/null 2>"$TMP/big.err" &
pid=$!
got=0
for _ in $(seq 1 2000); do
	got=$(sqlite3 -batch "$FANGKONG_DB" "SELECT count(*) FROM persons" 2>/dev/null || echo 0)
	[ "${got:-0}" -ge $((base + 2 * BATCH)) ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.01
done
if kill -9 $pid 2>/dev/null; then
	wait $pid 2>/dev/null
	ok "import killed mid-file"
else
	wait $pid
	not_ok "import killed mid-file" "the import finished before it could be killed ($got rows)"
fi
check "integrity after kill -9" "ok" "$(sql "PRAGMA integrity_check")"
after=$(sql "SELECT count(*) FROM persons")
kept=$((after - base))
check "kill -9 keeps whole batches only ($kept rows)" "0 yes" \
	"$((kept % BATCH)) $([ "$kept" -gt 0 ] && [ "$kept" -lt $N ] && echo yes || echo no)"
check "no half rows: every person has a household in its grid" "0" \
	"$(sql "SELECT count(*) FROM persons p LEFT JOIN households h ON h.id = p.household_id WHERE p.id_number GLOB '610902????????????' AND p.name GLOB '人员*' AND (h.id IS NULL OR h.grid_code <> p.grid_code)")"
check_rc "re-import after kill completes" 0 "$FK" import persons "$TMP/big.csv" --batch $BATCH
check_contains "re-import inserts exactly the missing rows" "$TMP/err" \
	"$N rows, $((N - kept)) inserted, 0 updated, $kept unchanged, 0 rejected"
check "re-import yields all rows" "$N $N $((N / 3))" \
	"$(sql "SELECT count(*), count(DISTINCT id_number), (SELECT count(*) FROM households WHERE label GLOB 'h*') FROM persons WHERE name GLOB '人员*'" | tr '|' ' ')"
check "roll-ups exact after import" "$((base + N))" "$(sql "SELECT population FROM region_stats WHERE code = '61'")"
