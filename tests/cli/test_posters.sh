#!/bin/bash
# fangkong export venue-posters: one PNG and one SVG per venue of a region's
# subtree.  Every PNG is decoded with zbarimg (an independent QR reader) and
# its payload's signature recomputed with openssl from the key in meta;
# venue counts, names and addresses come from SQL on the sqlite3 shell; the
# SVG is checked with xmllint.
. "$(dirname "$0")/lib.sh"

# --- usage ---
check_rc "export --help exits 0" 0 "$FK" export --help
check_contains "export --help shows usage" "$TMP/out" "usage: fangkong export KIND"
check_contains "export --help lists venue-posters" "$TMP/out" "venue-posters"
check_rc "export without a kind is bad usage" 2 "$FK" export
check_contains "export without a kind says so" "$TMP/err" "KIND is required"
check_rc "unknown kind is bad usage" 2 "$FK" export bogus --out "$TMP/x"
check_contains "unknown kind named" "$TMP/err" "unknown kind 'bogus'"
check_contains "unknown kind lists the kinds" "$TMP/err" "venue-posters"
check_rc "venue-posters --help exits 0" 0 "$FK" export venue-posters --help
check_contains "venue-posters --help shows usage" "$TMP/out" \
	"usage: fangkong export venue-posters --region CODE --out DIR"
check_contains "venue-posters --help names the font package" "$TMP/out" "fonts-wqy-microhei"

# --- a small city ---
check_rc "gen 300 persons" 0 "$FK" gen --persons 300 --seed 1 --quiet

check_rc "no --out is bad usage" 2 "$FK" export venue-posters --region 610902
check_contains "no --out named" "$TMP/err" "--out DIR is required"
check_rc "no --region is bad usage" 2 "$FK" export venue-posters --out "$TMP/p"
check_contains "no --region named" "$TMP/err" "--region CODE is required"
check_rc "--region without a value is bad usage" 2 "$FK" export venue-posters --out "$TMP/p" --region
check_rc "unknown option is bad usage" 2 "$FK" export venue-posters --region 610902 --out "$TMP/p" --bogus
check_contains "unknown option named" "$TMP/err" "unknown option '--bogus'"
check_rc "extra argument is bad usage" 2 "$FK" export venue-posters --region 610902 --out "$TMP/p" extra
check_rc "unknown region is bad usage" 2 "$FK" export venue-posters --region 619999 --out "$TMP/p"
check_contains "unknown region named" "$TMP/err" "unknown region '619999'"
check "bad usage wrote nothing" "no" "$([ -e "$TMP/p" ] && echo yes || echo no)"
check "bad usage created no venue key" "0" "$(sql "SELECT count(*) FROM meta WHERE key='venue_key'")"

# A village with several venues, among them names that need care: XML
# specials, a control character, a name too long for two lines, an unknown
# kind.  Inserted with the sqlite3 shell like an import would.
GRID=$(sql "SELECT region_code FROM venues WHERE region_code LIKE '610902%' ORDER BY code LIMIT 1")
VILLAGE=${GRID:0:12}
LONG=$(printf '安康市汉滨区%.0s' $(seq 1 12))
sql "INSERT INTO venues(code, name, region_code, kind) VALUES
	('T-1', '测试<&>\"''店 & co' || char(7), '$GRID', 'pharmacy'),
	('T_2', '$LONG', '$GRID', 'bogus_kind'),
	('t3', '普通超市', '$GRID', 'supermarket')"

export_and_decode() { # REGION DIR: exports, then decodes every PNG into DIR.decoded
	local region=$1 dir=$2
	check_rc "export $region" 0 "$FK" export venue-posters --region "$region" --out "$dir"
	: >"$dir.decoded"
	for f in "$dir"/*.png; do
		[ -e "$f" ] || continue
		printf '%s %s\n' "$(basename "$f" .png)" "$(zbarimg --raw -q "$f" 2>/dev/null | tr -d '\n')" \
			>>"$dir.decoded"
	done
}

# --- a village ---
OUT="$TMP/posters/village"
export_and_decode "$VILLAGE" "$OUT"
WANT=$(sql "SELECT code FROM venues WHERE region_code LIKE '$VILLAGE%' ORDER BY code")
NWANT=$(sql "SELECT count(*) FROM venues WHERE region_code LIKE '$VILLAGE%'")
check "village has the four venues" "4" "$NWANT"
check "summary counts the venues" "venue posters: $NWANT venues of $VILLAGE" \
	"$(grep -o "venue posters: [0-9]* venues of [0-9]*" "$TMP/out")"
check "one PNG per venue" "$WANT" "$(ls "$OUT" | sed -n 's/\.png$//p' | LC_ALL=C sort)"
check "one SVG per venue" "$WANT" "$(ls "$OUT" | sed -n 's/\.svg$//p' | LC_ALL=C sort)"
check "no temporary files left" "" "$(ls -A "$OUT" | grep '^\.' || true)"

KEY=$(sql "SELECT value FROM meta WHERE key='venue_key'")
check "venue key created as 64 hex digits" "1" "$(echo "$KEY" | grep -cE '^[0-9a-f]{64}$')"
sig_of() { printf 'V:%s' "$1" | openssl dgst -sha512 -mac HMAC -macopt "hexkey:$KEY" -binary |
	head -c 10 | base32; }

bad=""
while read -r file payload; do
	want="FK1:V:$file:$(sig_of "$file")"
	[ "$payload" == "$want" ] || bad="$bad $file:'$payload'!='$want'"
done <"$OUT.decoded"
check "every PNG decodes to FK1:V:<its code>:<HMAC under the key in meta>" "" "$bad"
check "every PNG decoded" "$NWANT" "$(grep -c ' FK1:V:' "$OUT.decoded")"
# IHDR width and height (big-endian at bytes 16..23): 1240 x 1754 = A4 at 150 dpi
check "PNG is A4 at 150 dpi" "0 0 4 216 0 0 6 218" \
	"$(od -An -tu1 -j16 -N8 "$OUT/T-1.png" | xargs)"

if command -v xmllint >/dev/null; then
	bad=""
	for f in "$OUT"/*.svg; do xmllint --noout "$f" 2>>"$TMP/xml.err" || bad="$bad $(basename "$f")"; done
	check "every SVG is well-formed XML" "" "$bad"
else
	echo "ok - $SUITE: xmllint missing, well-formedness not checked # SKIP"
fi

# names, codes, kinds and addresses in the SVG's text
declare -A KIND=([supermarket]=超市 [market]=农贸市场 [restaurant]=餐馆 [school]=学校
	[hospital]=医院 [clinic]=诊所 [pharmacy]=药店 [station]=车站 [hotel]=宾馆 [office]=办公楼
	[factory]=工厂 [residential_gate]=小区门岗 [bank]=银行 [gym]=健身场馆 [other]=其他)
svg_text() { # the text of the <text> elements, joined, spaces dropped, entities decoded
	grep -o '<text[^>]*>[^<]*</text>' "$1" | sed 's/<[^>]*>//g' | tr -d '\n ' |
		sed 's/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g; s/&apos;/'"'"'/g; s/&amp;/\&/g'
}
bad="" rows=0
while IFS='|' read -r code name kind address; do
	rows=$((rows + 1))
	text=$(svg_text "$OUT/$code.svg")
	label=${KIND[$kind]:-$kind}
	[[ "$text" == *"场所码·进入请扫码"* ]] || bad="$bad $code:title"
	[[ "$text" == *"场所编码：$code"* ]] || bad="$bad $code:code"
	[[ "$text" == *"场所类型：$label"* ]] || bad="$bad $code:kind"
	[[ "$text" == *"场所地址：${address// /}"* ]] || bad="$bad $code:address"
	if [ "$code" != T_2 ]; then
		n=$(printf '%s' "$name" | tr -d ' \a')
		[[ "$text" == *"$n"* ]] || bad="$bad $code:name"
	fi
done < <(sql "SELECT v.code, v.name, v.kind,
		p.name || c.name || co.name || t.name || vi.name || ' ' || g.name
	FROM venues v JOIN regions g ON g.code = v.region_code
	JOIN regions vi ON vi.code = g.parent_code JOIN regions t ON t.code = vi.parent_code
	JOIN regions co ON co.code = t.parent_code JOIN regions c ON c.code = co.parent_code
	JOIN regions p ON p.code = c.parent_code
	WHERE v.region_code LIKE '$VILLAGE%' AND v.code != 'T-1' ORDER BY v.code")
check "SVG text checked for every venue but T-1" "$((NWANT - 1))" "$rows"
check "SVG shows title, name, code, kind label and address (陕西省…第N网格)" "" "$bad"
check_contains "SVG address starts at the province" "$OUT/t3.svg" "场所地址：陕西省安康市汉滨区"
check_contains "SVG escapes the name" "$OUT/T-1.svg" "测试&lt;&amp;&gt;&quot;&apos;店 &amp; co"
check "SVG drops the control character" "0" "$(grep -c $'\a' "$OUT/T-1.svg")"
check_contains "an unknown kind is shown as it is" "$OUT/T_2.svg" "场所类型：bogus_kind"
check_contains "a name too long for two lines ends in …" "$OUT/T_2.svg" "…</text>"
check_contains "SVG names a CJK font" "$OUT/t3.svg" "WenQuanYi Micro Hei"

# --- a county: the subtree spans towns and villages; the key is reused ---
OUT2="$TMP/posters/a/b/county"
export_and_decode 610902 "$OUT2"
check "nested --out created, one PNG per venue of the county" \
	"$(sql "SELECT code FROM venues WHERE region_code LIKE '610902%' ORDER BY code")" \
	"$(ls "$OUT2" | sed -n 's/\.png$//p' | LC_ALL=C sort)"
check "key kept between exports" "$KEY" "$(sql "SELECT value FROM meta WHERE key='venue_key'")"
check "same venue, same payload in both exports" \
	"$(grep '^t3 ' "$OUT.decoded")" "$(grep '^t3 ' "$OUT2.decoded")"
check "every county PNG decoded" \
	"$(sql "SELECT count(*) FROM venues WHERE region_code LIKE '610902%'")" \
	"$(grep -c ' FK1:V:' "$OUT2.decoded")"

# --- a grid and a padded code; a region without venues ---
OUT3="$TMP/posters/grid"
check_rc "export a grid, --quiet" 0 "$FK" export venue-posters --region "$GRID" --out "$OUT3" --quiet
check "--quiet prints nothing" "" "$(cat "$TMP/out")"
check "grid export has the grid's venues" \
	"$(sql "SELECT count(*) FROM venues WHERE region_code = '$GRID'")" "$(ls "$OUT3"/*.svg | wc -l)"
EMPTY=$(sql "SELECT code FROM regions WHERE level = 6 AND code NOT IN (SELECT region_code FROM venues) ORDER BY code LIMIT 1")
check_rc "a region without venues is fine" 0 "$FK" export venue-posters --region "$EMPTY" --out "$TMP/posters/empty"
check_contains "summary says 0" "$TMP/out" "venue posters: 0 venues"
check_rc "a 12-digit padded county code is accepted" 0 \
	"$FK" export venue-posters --region 610902000000 --out "$TMP/posters/padded" --quiet
check "padded code exports the county" "$(ls "$OUT2" | wc -l)" "$(ls "$TMP/posters/padded" | wc -l)"

# --- failures ---
touch "$TMP/afile"
check_rc "--out naming a file fails" 1 "$FK" export venue-posters --region "$GRID" --out "$TMP/afile"
check_contains "--out naming a file is explained" "$TMP/err" "'$TMP/afile' is not a directory"
FANGKONG_FONT="$TMP/none.ttf" check_rc "a missing font fails" 1 \
	"$FK" export venue-posters --region "$GRID" --out "$TMP/posters/nofont"
check_contains "missing font names the package" "$TMP/err" "fonts-wqy-microhei"
check_contains "missing font names the file" "$TMP/err" "$TMP/none.ttf"
LATIN=$(ls /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf 2>/dev/null || true)
if [ -n "$LATIN" ]; then
	FANGKONG_FONT="$LATIN" check_rc "a font without Chinese glyphs fails" 1 \
		"$FK" export venue-posters --region "$GRID" --out "$TMP/posters/latin"
	check_contains "font without Chinese glyphs explained" "$TMP/err" "no Chinese glyphs"
fi
check "failed exports wrote no posters" "0" "$(ls "$TMP/posters/nofont" "$TMP/posters/latin" 2>/dev/null | grep -c png)"

# a code that cannot be signed (imports refuse it; a hand-edited database
# might hold one) is skipped and named, the rest are written, exit 1
sql "INSERT INTO venues(code, name, region_code, kind) VALUES ('bad code', 'x', '$EMPTY', 'other'),
	('OK9', '好店', '$EMPTY', 'other')"
check_rc "an unsignable venue code fails the export" 1 \
	"$FK" export venue-posters --region "$EMPTY" --out "$TMP/posters/bad"
check_contains "unsignable code named" "$TMP/err" "venue code 'bad code' cannot be signed"
check "the other venue is written" "OK9.png OK9.svg" "$(ls "$TMP/posters/bad" | tr '\n' ' ' | sed 's/ $//')"
