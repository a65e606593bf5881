#!/bin/bash
# fangkong import checkins: validation and rejects (exact file), encodings,
# idempotence, batches recorded for a running server, audit.
# Reference values come from outside fangkong: persons and venues read back
# with the sqlite3 shell, check characters and Unix times computed by
# python3.
. "$(dirname "$0")/lib.sh"
export FANGKONG_NOW=2022-03-15T12:00:00+08:00

# unix TIME: seconds since the epoch of an ISO 8601 time, by python3
unix() { python3 -c 'import sys, datetime; print(int(datetime.datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00")).timestamp()))' "$1"; }
# idnum 17DIGITS: the number with its GB 11643 check character
idnum() {
	python3 - "$1" <<'PY'
import sys
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
d = sys.argv[1]
print(d + "10X98765432"[sum(int(a) * w for a, w in zip(d, W)) % 11])
PY
}
# wrongcheck ID: the same number with a wrong check character
wrongcheck() { local c=${1:17:1}; if [ "$c" = 0 ]; then echo "${1:0:17}1"; else echo "${1:0:17}0"; fi; }

check_rc "init" 0 "$FK" init
check_rc "a small city" 0 "$FK" gen --persons 40 --seed 5 --quiet

P1=$(sql "SELECT id_number FROM persons ORDER BY id LIMIT 1")
P2=$(sql "SELECT id_number FROM persons ORDER BY id LIMIT 1 OFFSET 1")
P3=$(sql "SELECT id_number FROM persons ORDER BY id LIMIT 1 OFFSET 2")
V1=$(sql "SELECT code FROM venue_keys ORDER BY id LIMIT 1")
V2=$(sql "SELECT code FROM venue_keys ORDER BY id LIMIT 1 OFFSET 1")
# a valid number nobody in the city has (birth date 1901-01-01)
NOBODY=$(idnum 61090219010101999)
[ "$(sql "SELECT count(*) FROM persons WHERE id_number = '$NOBODY'")" = 0 ] || echo "# NOBODY exists"
BADCHK=$(wrongcheck "$P1")
LOWER=$(sql "SELECT lower(id_number) FROM persons WHERE id_number LIKE '%X' LIMIT 1")

# ---- usage ----
check_rc "--help exits 0" 0 "$FK" import --help
check_contains "--help names checkins" "$TMP/out" "checkins id_number,venue_code,time"

# ---- a file with good and bad rows ----
cat >"$TMP/c.csv" <<EOF
id_number,venue_code,time
$P1,$V1,2022-03-10T08:30:00+08:00
$P2,$V1,2022-03-10T08:31:10+08:00
$NOBODY,$V1,2022-03-10T08:32:00+08:00
$BADCHK,$V1,2022-03-10T08:33:00+08:00
$P3,NOSUCHVENUE,2022-03-10T08:34:00+08:00
$P3,$V2,2022-03-10 8:35
$P3,$V2,2022-03-15T12:04:00+08:00
$P3,$V2,2022-03-15T12:06:00+08:00
$P3,$V2,2018-12-31T23:59:59+08:00
$P3,$V2
$P3,,2022-03-10T08:36:00+08:00
,$V2,2022-03-10T08:36:00+08:00
12345,$V2,2022-03-10T08:36:00+08:00

 $P3 , $V2 ,2022-03-10T00:37:00Z
$P1,$V1,2022-03-10T00:30:00Z
$P2,$V2,"2022-03-10T09:00:00+08:00"
$P1,$V2,2019-01-01T00:00:00+08:00
EOF
check_rc "import with rejected rows exits 3" 3 "$FK" import checkins "$TMP/c.csv"
check_contains "summary counts rows" "$TMP/err" \
	"imported $TMP/c.csv (utf-8): 17 rows, 6 inserted, 1 unchanged, 10 rejected -> $TMP/c.csv.rejects.csv"
cat >"$TMP/expected" <<EOF
line,field,reason,raw
4,id_number,unknown person,"$NOBODY,$V1,2022-03-10T08:32:00+08:00"
5,id_number,bad check digit,"$BADCHK,$V1,2022-03-10T08:33:00+08:00"
6,venue_code,unknown venue,"$P3,NOSUCHVENUE,2022-03-10T08:34:00+08:00"
7,time,"bad time (expected ISO 8601 with offset, e.g. 2022-01-10T08:30:00+08:00)","$P3,$V2,2022-03-10 8:35"
9,time,time is in the future,"$P3,$V2,2022-03-15T12:06:00+08:00"
10,time,time is before 2019,"$P3,$V2,2018-12-31T23:59:59+08:00"
11,,"wrong column count (expected 3, got 2)","$P3,$V2"
12,venue_code,empty required field,"$P3,,2022-03-10T08:36:00+08:00"
13,id_number,empty required field,",$V2,2022-03-10T08:36:00+08:00"
14,id_number,ID number is not 18 characters,"12345,$V2,2022-03-10T08:36:00+08:00"
EOF
if diff -u "$TMP/expected" "$TMP/c.csv.rejects.csv" >"$TMP/diff"; then
	ok "rejects file exact"
else
	not_ok "rejects file exact" "$(head -30 "$TMP/diff")"
fi

ROWS="SELECT p.id_number || '|' || k.code || '|' || c.t || '|' || coalesce(c.temp_dc, 'null') || '|' || c.source
	FROM checkins c JOIN persons p ON p.id = c.person_id JOIN venue_keys k ON k.id = c.venue_id
	ORDER BY c.t, c.venue_id, c.person_id"
# inserted: lines 2, 3, 8 (4 minutes ahead: inside the tolerance), 16
# (trimmed), 18 (quoted), 19; line 17 is line 2 again, in UTC
want=$(sort -t'|' -k3,3n <<EOF
$P1|$V1|$(unix 2022-03-10T08:30:00+08:00)|null|0
$P2|$V1|$(unix 2022-03-10T08:31:10+08:00)|null|0
$P3|$V2|$(unix 2022-03-15T12:04:00+08:00)|null|0
$P3|$V2|$(unix 2022-03-10T00:37:00Z)|null|0
$P2|$V2|$(unix 2022-03-10T09:00:00+08:00)|null|0
$P1|$V2|$(unix 2019-01-01T00:00:00+08:00)|null|0
EOF
)
check "stored rows (times by python3)" "$want" "$(sql "$ROWS")"
check "6 rows in checkins" 6 "$(sql "SELECT count(*) FROM checkins")"
check "one batch recorded with its range" \
	"1|6|$(unix 2019-01-01T00:00:00+08:00)|$(unix 2022-03-15T12:04:00+08:00)|$(unix $FANGKONG_NOW)" \
	"$(sql "SELECT count(*), sum(rows), min(t_min), max(t_max), max(at) FROM checkin_batches")"
check "the batch is audited" "1|batch lines 2-19: 6 inserted" \
	"$(sql "SELECT count(*), max(detail) FROM audit_log WHERE action = 'checkin.import'")"

# ---- idempotent ----
before=$(sql "SELECT count(*) FROM checkins; SELECT count(*) FROM checkin_batches; SELECT count(*) FROM audit_log" | paste -sd,)
check_rc "second import exits 3 again" 3 "$FK" import checkins "$TMP/c.csv"
check_contains "second import inserts nothing" "$TMP/err" "17 rows, 0 inserted, 7 unchanged, 10 rejected"
check "second import changes nothing" "$before" \
	"$(sql "SELECT count(*) FROM checkins; SELECT count(*) FROM checkin_batches; SELECT count(*) FROM audit_log" | paste -sd,)"
check "rejects file rewritten the same" "" "$(diff "$TMP/expected" "$TMP/c.csv.rejects.csv")"

# ---- all good: exit 0, no rejects file; lower-case x ----
printf 'id_number,venue_code,time\r\n%s,%s,2022-03-11T10:00:00+08:00\r\n' "$P2" "$V2" >"$TMP/good.csv"
if [ -n "$LOWER" ]; then
	printf '%s,%s,2022-03-11T10:00:01+08:00\r\n' "$LOWER" "$V2" >>"$TMP/good.csv"
	n=2
else
	n=1
fi
check_rc "a clean file exits 0" 0 "$FK" import checkins "$TMP/good.csv"
check_contains "clean file summary (CRLF lines)" "$TMP/err" "$n rows, $n inserted, 0 unchanged, 0 rejected"
check "no rejects file" no "$([ -e "$TMP/good.csv.rejects.csv" ] && echo yes || echo no)"

# ---- header and file errors ----
printf 'id_number,venue,time\n%s,%s,2022-03-11T10:00:00+08:00\n' "$P2" "$V2" >"$TMP/hdr.csv"
check_rc "wrong header exits 1" 1 "$FK" import checkins "$TMP/hdr.csv"
check_contains "wrong header named" "$TMP/err" "expected 'id_number,venue_code,time', got 'id_number,venue,time'"
: >"$TMP/empty.csv"
check_rc "empty file exits 1" 1 "$FK" import checkins "$TMP/empty.csv"
check_rc "missing file exits 1" 1 "$FK" import checkins "$TMP/nowhere.csv"

# ---- BOM ----
printf '\xef\xbb\xbfid_number,venue_code,time\n%s,%s,2022-03-12T10:00:00+08:00\n' "$P1" "$V1" >"$TMP/bom.csv"
check_rc "UTF-8 with BOM imports" 0 "$FK" import checkins "$TMP/bom.csv"
check_contains "BOM detected" "$TMP/err" "(utf-8 with bom): 1 rows, 1 inserted"

# ---- GB18030 (as Excel on Chinese Windows saves it) ----
printf 'id_number,venue_code,time\n%s,%s,2022-03-13T10:00:00+08:00\n%s,场所一号,2022-03-13T10:01:00+08:00\n%s,%s,二〇二二年\n' \
	"$P1" "$V1" "$P2" "$P3" "$V1" | iconv -f UTF-8 -t GB18030 >"$TMP/gb.csv"
check_rc "GB18030 file with bad rows exits 3" 3 "$FK" import checkins "$TMP/gb.csv"
check_contains "GB18030 detected" "$TMP/err" "(gb18030): 3 rows, 1 inserted, 0 unchanged, 2 rejected"
cat >"$TMP/gb.expected" <<EOF
line,field,reason,raw
3,venue_code,unknown venue,"$P2,场所一号,2022-03-13T10:01:00+08:00"
4,time,"bad time (expected ISO 8601 with offset, e.g. 2022-01-10T08:30:00+08:00)","$P3,$V1,二〇二二年"
EOF
check "GB18030 rejects in UTF-8" "" "$(diff "$TMP/gb.expected" "$TMP/gb.csv.rejects.csv")"

# ---- invalid UTF-8 in a field ----
printf 'id_number,venue_code,time\n%s,%s,2022-03-14T10:00:00+08:00\n%s,V\xff\xfe1,2022-03-14T10:00:00+08:00\n' \
	"$P1" "$V1" "$P2" >"$TMP/bad8.csv"
check_rc "invalid UTF-8 exits 3" 3 "$FK" import checkins "$TMP/bad8.csv"
check "invalid encoding named" '3,venue_code,invalid encoding,"'"$P2"',V\xFF\xFE1,2022-03-14T10:00:00+08:00"' \
	"$(sed -n 2p "$TMP/bad8.csv.rejects.csv")"

# ---- every commit is a batch row, and each batch row's range holds its rows ----
check "batches add up to the table" "$(sql "SELECT count(*) FROM checkins")" "$(sql "SELECT sum(rows) FROM checkin_batches")"
check "each import that inserted wrote one batch" 5 "$(sql "SELECT count(*) FROM checkin_batches")"

# ---- a larger file: rows written 64 to a statement, duplicates among them ----
before=$(sql "SELECT count(*) FROM checkins")
{
	echo "id_number,venue_code,time"
	sql "SELECT p.id_number || ',' || k.code || ',' || strftime('%Y-%m-%dT%H:%M:%S+08:00', 1646000000 + p.id * 97 + k.id * 13 + 28800, 'unixepoch')
		FROM persons p, (SELECT id, code FROM venue_keys ORDER BY id LIMIT 5) k ORDER BY p.id, k.id"
} >"$TMP/big.csv"
# every fourth row again, later in the file
sed -n '2~4p' "$TMP/big.csv" >>"$TMP/big.csv"
check_rc "200 rows and 50 repeats" 0 "$FK" import checkins "$TMP/big.csv"
check_contains "repeats counted unchanged" "$TMP/err" "250 rows, 200 inserted, 50 unchanged, 0 rejected"
check "200 more rows stored" $((before + 200)) "$(sql "SELECT count(*) FROM checkins")"
check "stored times as written (sqlite3 reads them back)" 200 \
	"$(sql "SELECT count(*) FROM checkins c JOIN persons p ON p.id = c.person_id
		WHERE c.t = 1646000000 + p.id * 97 + c.venue_id * 13 AND c.venue_id <= 5")"
check_rc "again: nothing inserted" 0 "$FK" import checkins "$TMP/big.csv"
check_contains "again: all unchanged" "$TMP/err" "250 rows, 0 inserted, 250 unchanged, 0 rejected"
