#!/bin/bash
# fangkong keys list|rotate|revoke|sign and fangkong verify.  Signatures
# are re-checked with openssl (Ed25519, public key from the sqlite3
# shell; pseudonyms with BLAKE2BMAC), tokens decoded with coreutils base32;
# key states come from SQL.
. "$(dirname "$0")/lib.sh"

# --- usage ---
check_rc "verify --help exits 0" 0 "$FK" verify --help
check_contains "verify --help shows usage" "$TMP/out" "usage: fangkong verify TOKEN"
check_rc "verify without a token is bad usage" 2 "$FK" verify
check_rc "verify with an unknown option is bad usage" 2 "$FK" verify --bogus X
check_rc "verify with two tokens is bad usage" 2 "$FK" verify A B
check_rc "verify with no database is bad usage" 2 "$FK" verify FK1:C:AAAA --db "$TMP/none.db"
check_contains "missing database named" "$TMP/err" "none.db"
check_rc "keys --help exits 0" 0 "$FK" keys --help
check_contains "keys --help documents sign" "$TMP/out" "keys sign --person ID_NUMBER"
check_rc "keys without a subcommand is bad usage" 2 "$FK" keys
check_rc "keys with an unknown subcommand is bad usage" 2 "$FK" keys bogus

check_rc "gen 40 persons" 0 "$FK" gen --persons 40 --seed 3 --quiet
ID=$(sql "SELECT id_number FROM persons ORDER BY id LIMIT 1")
PID=$(sql "SELECT id FROM persons ORDER BY id LIMIT 1")

check_rc "keys list on a fresh database" 0 "$FK" keys list
check "no key before the first token" "0" "$(sql "SELECT count(*) FROM code_keys")"
check_rc "sign needs --person and --colour" 2 "$FK" keys sign --colour green
check_rc "sign refuses a bad colour" 2 "$FK" keys sign --person "$ID" --colour blue
check_rc "sign refuses 0 minutes" 2 "$FK" keys sign --person "$ID" --colour green --minutes 0
check_rc "sign refuses an unknown person" 2 "$FK" keys sign --person 610902199001019999 --colour green
check_contains "unknown person named" "$TMP/err" "no person with ID number"
check_rc "revoke needs a kid" 2 "$FK" keys revoke
check_rc "revoke refuses a non-number" 2 "$FK" keys revoke abc
check "bad usage made no key" "0" "$(sql "SELECT count(*) FROM code_keys")"

# --- the first token makes key 1 ---
check_rc "sign a yellow token" 0 env FANGKONG_NOW=2022-06-01T08:00:00+08:00 \
	"$FK" keys sign --person "$ID" --colour yellow --minutes 30
T1=$(cat "$TMP/out")
check "one key made" "1|1|0|0" "$(sql "SELECT kid, length(public_key) = 32, retired_at IS NOT NULL, revoked_at IS NOT NULL FROM code_keys")"
check "token has the prefix and 135 base32 characters" "yes" \
	"$([[ "$T1" =~ ^FK1:C:[A-Z2-7]{135}$ ]] && echo yes || echo no)"

# independent reading: base32 (coreutils), then openssl checks Ed25519
printf '%s=' "${T1#FK1:C:}" | base32 -d >"$TMP/raw" 2>/dev/null
check "decodes to 84 bytes" "84" "$(wc -c <"$TMP/raw" | tr -d ' ')"
head -c 20 "$TMP/raw" >"$TMP/payload"
tail -c 64 "$TMP/raw" >"$TMP/sig"
HEX=$(od -An -tx1 -v "$TMP/payload" | tr -d ' \n')
check "version 1, kid 1" "010001" "${HEX:0:6}"
check "colour byte yellow" "01" "${HEX:22:2}"
check "issued 2022-06-01T00:00:00Z" "$(printf '%08x' 1654041600)" "${HEX:24:8}"
check "expires 30 minutes later" "$(printf '%08x' $((1654041600 + 1800)))" "${HEX:32:8}"
PK_HEX=$(sql "SELECT hex(public_key) FROM code_keys WHERE kid = 1")
{ printf '302a300506032b6570032100'; echo "$PK_HEX"; } | xxd -r -p >"$TMP/pub.der"
openssl pkey -pubin -inform DER -in "$TMP/pub.der" -out "$TMP/pub.pem" 2>/dev/null
check_rc "openssl verifies the signature" 0 openssl pkeyutl -verify -pubin -inkey "$TMP/pub.pem" \
	-rawin -in "$TMP/payload" -sigfile "$TMP/sig"
# the pseudonym: BLAKE2b-128 keyed with meta's key over the id (8 bytes BE),
# first 8 bytes (openssl's BLAKE2BMAC is keyed BLAKE2b)
PKEY=$(sql "SELECT value FROM meta WHERE key = 'pseudonym_key'")
printf '%016x' "$PID" | xxd -r -p >"$TMP/id.bin"
WANT_PSEUDO=$(openssl mac -macopt hexkey:"$PKEY" -macopt size:16 -in "$TMP/id.bin" BLAKE2BMAC | tr 'A-F' 'a-f' | cut -c1-16)
check "pseudonym bytes are keyed BLAKE2b of the person id" "$WANT_PSEUDO" "${HEX:6:16}"

# --- verify ---
export FANGKONG_NOW=2022-06-01T08:10:00+08:00
check_rc "valid token exits 0" 0 "$FK" verify "$T1"
check_contains "prints VALID" "$TMP/out" "VALID"
check_contains "prints the colour" "$TMP/out" "yellow (黄码)"
check_contains "prints expires" "$TMP/out" "expires:   2022-06-01T08:30:00+08:00"
check_contains "prints the key id" "$TMP/out" "kid:       1"
check_contains "prints the pseudonym" "$TMP/out" "pseudonym: $WANT_PSEUDO"
check_rc "verify --json" 0 "$FK" verify "$T1" --json
check "json says valid yellow" "true yellow 1 $WANT_PSEUDO" \
	"$(node -e 'const j=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(j.valid,j.colour,j.kid,j.pseudonym)' <"$TMP/out")"
check_rc "expired one second at expires" 1 "$FK" verify "$T1" --at 2022-06-01T08:30:00+08:00
check_contains "says expired" "$TMP/out" "INVALID expired"
check_rc "valid one second before expires" 0 "$FK" verify "$T1" --at 2022-06-01T08:29:59+08:00
check_rc "expired by FANGKONG_NOW" 1 env FANGKONG_NOW=2022-06-02T00:00:00+08:00 "$FK" verify "$T1"
check_rc "truncated token exits 1" 1 "$FK" verify "${T1:0:120}"
check_contains "says malformed" "$TMP/out" "INVALID malformed"
check_rc "garbage exits 1" 1 "$FK" verify "hello"
# tamper: change one character of the signature part
C=${T1:100:1}; R=A; [ "$C" = A ] && R=B
TAMPERED="${T1:0:100}$R${T1:101}"
check_rc "tampered token exits 1" 1 "$FK" verify "$TAMPERED"
check_contains "says bad signature" "$TMP/out" "INVALID bad_signature"
check_rc "verify refuses --db with --keys" 2 "$FK" verify "$T1" --db "$FANGKONG_DB" --keys "$TMP/k.json"

# --- offline: the published keys only, no database ---
check_rc "keys list --json" 0 "$FK" keys list --json
cp "$TMP/out" "$TMP/keys.json"
PK_B64=$(echo "$PK_HEX" | xxd -r -p | base64)
check "published key is the stored one" "1 Ed25519 $PK_B64 active" \
	"$(node -e 'const j=JSON.parse(require("fs").readFileSync(0,"utf8"));const k=j.keys[0];console.log(k.kid,k.alg,k.public_key,k.status)' <"$TMP/keys.json")"
check_rc "verify --keys without a database" 0 env FANGKONG_DB="$TMP/absent.db" "$FK" verify "$T1" --keys "$TMP/keys.json"
check "no database was created" "no" "$([ -e "$TMP/absent.db" ] && echo yes || echo no)"
check_rc "tampered fails with --keys" 1 env FANGKONG_DB="$TMP/absent.db" "$FK" verify "$TAMPERED" --keys "$TMP/keys.json"
# a keys file written by hand from SQL (independent of keys list --json)
printf '{"keys":[{"kid":1,"alg":"Ed25519","public_key":"%s","status":"active"}]}' "$PK_B64" >"$TMP/hand.json"
check_rc "a hand-written keys file verifies" 0 "$FK" verify "$T1" --keys "$TMP/hand.json"
printf '{"keys":[{"kid":1,"alg":"Ed25519","public_key":"%s","status":"revoked"}]}' "$PK_B64" >"$TMP/rev.json"
check_rc "a key listed as revoked fails" 1 "$FK" verify "$T1" --keys "$TMP/rev.json"
check_contains "says revoked" "$TMP/out" "INVALID revoked_key"
printf '{"keys":[]}' >"$TMP/none.json"
check_rc "no keys: unknown key" 1 "$FK" verify "$T1" --keys "$TMP/none.json"
check_contains "says unknown key" "$TMP/out" "INVALID unknown_key"
printf 'not json' >"$TMP/bad.json"
check_rc "a bad keys file is bad usage" 2 "$FK" verify "$T1" --keys "$TMP/bad.json"
check_rc "a missing keys file is bad usage" 2 "$FK" verify "$T1" --keys "$TMP/missing.json"

# --- rotate: key 2 signs, key 1 retires and still verifies ---
check_rc "rotate" 0 "$FK" keys rotate
check "key 1 retired, key 2 active" "1|1|0
2|0|0" "$(sql "SELECT kid, retired_at IS NOT NULL, revoked_at IS NOT NULL FROM code_keys ORDER BY kid")"
check_rc "keys list after rotate" 0 "$FK" keys list
check_contains "list shows retired" "$TMP/out" "retired"
check_contains "list shows the public key" "$TMP/out" "$PK_B64"
check_rc "old token still verifies" 0 "$FK" verify "$T1"
check_rc "sign after rotate" 0 "$FK" keys sign --person "$ID" --colour green --minutes 30
T2=$(cat "$TMP/out")
check_rc "new token verifies" 0 "$FK" verify "$T2"
check_contains "signed by key 2" "$TMP/out" "kid:       2"
check "rotation audited" "1" "$(sql "SELECT count(*) FROM audit_log WHERE action = 'keys.rotate'")"

# --- revoke key 1: its tokens fail at once, key 2's do not ---
check_rc "revoke 1" 0 "$FK" keys revoke 1
check "key 1 revoked by cli" "1|cli" "$(sql "SELECT revoked_at IS NOT NULL, revoked_by FROM code_keys WHERE kid = 1")"
check_rc "revoked key's token exits 1" 1 "$FK" verify "$T1"
check_contains "says revoked" "$TMP/out" "INVALID revoked_key"
check_contains "still shows the colour" "$TMP/out" "yellow"
check_rc "other key's token still valid" 0 "$FK" verify "$T2"
check "revocation audited" "keys.revoke|kid=1" "$(sql "SELECT action, detail FROM audit_log WHERE action = 'keys.revoke'")"
check_rc "revoking again fails" 1 "$FK" keys revoke 1
check_contains "already revoked" "$TMP/err" "already revoked"
check_rc "revoking an unknown key is bad usage" 2 "$FK" keys revoke 99
check_rc "audit chain intact" 0 "$FK" audit verify
# revoking the signing key: the next token gets a new key
check_rc "revoke 2" 0 "$FK" keys revoke 2
check_rc "sign after revoking every key" 0 "$FK" keys sign --person "$ID" --colour red --minutes 5
T3=$(cat "$TMP/out")
check_rc "token of the new key verifies" 0 "$FK" verify "$T3"
check_contains "signed by key 3" "$TMP/out" "kid:       3"
check "three keys" "3" "$(sql "SELECT count(*) FROM code_keys")"
