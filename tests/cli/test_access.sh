#!/bin/bash
# fangkong init, user add|list, audit verify: the real binary against a
# temporary database, checked with the sqlite3 shell as an independent reader.
#
# Exit codes checked here (documented in src/access/cli.c): a bad value
# (unknown role, missing region, weak password, bad name) is bad usage and
# exits 2; a duplicate user is a failure of the operation and exits 1.
. "$(dirname "$0")/lib.sh"
DB=$FANGKONG_DB

# --- init ---
check_rc "init creates the database" 0 "$FK" init
cp "$TMP/out" "$TMP/init1.out"
check "init prints the admin password once on stdout" 1 "$(grep -c '^admin password: ' "$TMP/init1.out")"
PW=$(sed -n 's/^admin password: //p' "$TMP/init1.out")
check "password is 16 unambiguous characters" 1 \
	"$(printf '%s' "$PW" | grep -cE '^[ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789]{16}$')"
check "stdout holds nothing else" 1 "$(wc -l <"$TMP/init1.out" | tr -d ' ')"
check "password file has mode 0600" 600 "$(stat -c %a "$DB.admin-password" 2>&1)"
check "password file content" "$(printf 'username admin\npassword %s' "$PW")" "$(cat "$DB.admin-password")"
check "admin row" "admin|admin||cli|0" "$(sql "SELECT username,role,scope,created_by,disabled FROM users" | tr '\n' ';' | sed 's/;$//' | tr -d '\r')"
check "the admin from init need not change its password" 0 "$(sql "SELECT must_change_password FROM users WHERE username='admin'")"
check "admin password stored as argon2id" '$argon2id$' "$(sql "SELECT substr(pwhash,1,10) FROM users")"
check "admin creation audited" "cli|user.create|admin|role=admin scope=" \
	"$(sql "SELECT actor||'|'||action||'|'||object||'|'||detail FROM audit_log")"

HASH1=$(sql "SELECT pwhash FROM users")
check_rc "second init succeeds" 0 "$FK" init
check_contains "second init says nothing changed" "$TMP/err" "nothing changed"
check "second init prints no password" "" "$(cat "$TMP/out")"
check "second init keeps the admin" "1|$HASH1" "$(sql "SELECT count(*), pwhash FROM users")"
check "second init keeps the password file" "$(printf 'username admin\npassword %s' "$PW")" "$(cat "$DB.admin-password")"

# an existing password file (e.g. from an older database) is replaced, still 0600
DB2=$TMP/other.db
printf 'old\n' >"$DB2.admin-password"
chmod 644 "$DB2.admin-password"
check_rc "init over a stale password file" 0 "$FK" init --db "$DB2"
PW2=$(sed -n 's/^admin password: //p' "$TMP/out")
check "stale file replaced with mode 0600" 600 "$(stat -c %a "$DB2.admin-password")"
check "stale file holds the new password" "password $PW2" "$(sed -n 2p "$DB2.admin-password")"
check "two databases get different passwords" 1 "$([ "$PW" != "$PW2" ] && echo 1 || echo 0)"

# --- user add ---
sql "INSERT INTO regions(code,name,level,parent_code) VALUES('6109','安康市',2,NULL),('610902','汉滨区',3,'6109')"
check_rc "user add with a password" 0 "$FK" user add --username wang.grid --role grid --scope 610902 --password 'grid-pass-123'
check "no password printed when one was given" "" "$(cat "$TMP/out")"
check "user row" "wang.grid|grid|610902|cli" "$(sql "SELECT username,role,scope,created_by FROM users WHERE username='wang.grid'")"
check_rc "user add generates a password" 0 "$FK" user add --username li.lab --role lab --scope 6109
check "generated password printed once" 1 "$(grep -cE '^password: [A-Za-z2-9]{16}$' "$TMP/out")"
check "users added by the CLI must change their password at first login" "li.lab=1;wang.grid=1" \
	"$(sql "SELECT username||'='||must_change_password FROM users WHERE username<>'admin' ORDER BY username" | tr '\n' ';' | sed 's/;$//')"

check_rc "unknown role exits 2" 2 "$FK" user add --username x1 --role boss --scope 6109
check_contains "unknown role named with the choices" "$TMP/err" "unknown role 'boss' (one of: admin, command, tracer, isolation, tester, lab, grid, sentinel, venue, checkpoint, citizen)"
check_rc "duplicate user exits 1" 1 "$FK" user add --username wang.grid --role lab --scope 6109
check_contains "duplicate named" "$TMP/err" "user 'wang.grid' already exists"
check_rc "missing region exits 2" 2 "$FK" user add --username x2 --role grid --scope 610999
check_contains "missing region named" "$TMP/err" "scope region '610999' does not exist"
check_rc "weak password exits 2" 2 "$FK" user add --username x3 --role grid --scope 6109 --password short
check_contains "weak password explained" "$TMP/err" "at least 10 characters"
check_rc "bad user name exits 2" 2 "$FK" user add --username 'a b' --role grid --scope 6109
check_rc "missing --scope exits 2" 2 "$FK" user add --username x4 --role grid
check "failed adds created nobody" 3 "$(sql "SELECT count(*) FROM users")"

check_rc "user list" 0 "$FK" user list
check "user list rows" "admin	admin	;li.lab	lab	6109;wang.grid	grid	610902" \
	"$(cut -f1-3 "$TMP/out" | tail -n +2 | tr '\n' ';' | sed 's/;$//')"
check "user list shows who must change the password" "must_change_password;no;yes;yes" \
	"$(cut -f7 "$TMP/out" | tr '\n' ';' | sed 's/;$//')"

# --- help and usage ---
for c in "init" "user" "user add" "user list" "audit" "audit verify"; do
	# shellcheck disable=SC2086
	check_rc "$c --help exits 0" 0 "$FK" $c --help
	check_contains "$c --help shows usage" "$TMP/out" "usage: fangkong"
	# shellcheck disable=SC2086
	check_rc "$c with an unknown flag exits 2" 2 "$FK" $c --frobnicate
	check_contains "$c names the unknown flag" "$TMP/err" "'--frobnicate'"
done
check_rc "user without a subcommand exits 2" 2 "$FK" user
check_rc "audit with an unknown subcommand exits 2" 2 "$FK" audit fix

# --- audit verify ---
check_rc "audit verify on an intact log" 0 "$FK" audit verify
check "audit verify counts the rows" "audit log intact: 3 rows" "$(cat "$TMP/out")"
check_rc "audit verify on a missing database fails" 1 "$FK" audit verify --db "$TMP/none.db"

sql "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
sql "UPDATE audit_log SET detail='role=admin scope=6109' WHERE seq=2"
check_rc "audit verify after an edit exits 1" 1 "$FK" audit verify
check_contains "edited row named" "$TMP/err" "audit row 2 was altered (hash mismatch)"

sql "DELETE FROM audit_log WHERE seq=2"
check_rc "audit verify after a delete exits 1" 1 "$FK" audit verify
check_contains "deleted row named" "$TMP/err" "audit rows between 1 and 3 are missing (deleted)"

check_rc "the other database is intact" 0 "$FK" audit verify --db "$DB2"
FANGKONG_DB=$DB2 sql "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log;"
check_rc "audit verify on an emptied log exits 1" 1 "$FK" audit verify --db "$DB2"
check_contains "emptied log caught by the head" "$TMP/err" "audit log ends at row 0 but its head says 1: rows were deleted"
