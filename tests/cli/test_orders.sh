#!/bin/bash
# fangkong orders propose|confirm|list on a small generated city: a case
# added with `fangkong case add` proposes an order for every recorded
# contact (its household members and a venue contact made here with
# `fangkong import checkins`); proposing again proposes nothing; confirm by
# case and category, then every proposal; usage errors exit 2.  Expected
# starts and ends are recomputed in SQL from the contacts table and the
# protocol-9 numbers (close contacts: 7 days).
. "$(dirname "$0")/lib.sh"

DAY=86400
NOW=2022-06-10T12:00:00+08:00
export FANGKONG_NOW=$NOW
NOW_S=$(date -d "$NOW" +%s)

check_rc "init" 0 "$FK" init
check_rc "gen a small city" 0 "$FK" gen --persons 1000 --seed 11 --quiet
# the case: a person living with at least two others
HH=$(sql "SELECT household_id FROM persons WHERE household_id IS NOT NULL
          GROUP BY household_id HAVING count(*) >= 3 ORDER BY household_id LIMIT 1")
CASE_IDN=$(sql "SELECT id_number FROM persons WHERE household_id = $HH ORDER BY id LIMIT 1")
CASE_PID=$(sql "SELECT id FROM persons WHERE household_id = $HH ORDER BY id LIMIT 1")
# a venue contact from another household, 10 minutes after the case
OTHER_IDN=$(sql "SELECT id_number FROM persons WHERE household_id IS NOT $HH ORDER BY id LIMIT 1")
OTHER_PID=$(sql "SELECT id FROM persons WHERE id_number = '$OTHER_IDN'")
VENUE=$(sql "SELECT code FROM venues ORDER BY code LIMIT 1")
cat >"$TMP/checkins.csv" <<EOF
id_number,venue_code,time
$CASE_IDN,$VENUE,2022-06-09T10:00:00+08:00
$OTHER_IDN,$VENUE,2022-06-09T10:10:00+08:00
EOF
check_rc "import the check-ins" 0 "$FK" import checkins "$TMP/checkins.csv"

check_rc "case add proposes orders" 0 "$FK" case add --person "$CASE_IDN" \
	--onset 2022-06-09T20:00:00+08:00 --json
CASE_ID=$(sql "SELECT id FROM cases WHERE person_id = $CASE_PID")
NCONTACTS=$(sql "SELECT count(*) FROM contacts WHERE case_id = $CASE_ID")
NCLOSE=$(sql "SELECT count(*) FROM contacts WHERE case_id = $CASE_ID AND degree = 1")
check "close contacts: the household and the venue contact" \
	"$(sql "SELECT count(*) FROM persons WHERE household_id = $HH")" "$NCLOSE"
check_contains "case add reports the proposals" "$TMP/out" "\"orders_proposed\":$NCONTACTS"
# household: start = found_at (not isolated); venue: start = exposure
# protocol 9: close contacts 7 days central, secondary ones 7 days at home
check "every proposal: start and end from contacts and 7 days" "$NCONTACTS" \
	"$(sql "SELECT count(*) FROM orders o JOIN contacts c ON c.person_id = o.person_id
	        AND c.case_id = o.case_id WHERE o.case_id = $CASE_ID AND o.status = 'proposed'
	        AND o.category = CASE c.degree WHEN 1 THEN 'close' ELSE 'secondary' END
	        AND o.kind = CASE c.degree WHEN 1 THEN 'central' ELSE 'home_isolation' END
	        AND coalesce(o.link_person, 0) = coalesce(c.via_person, 0) AND o.phase = 1
	        AND o.start_at = CASE WHEN c.household THEN c.found_at ELSE c.exposure_at END
	        AND o.planned_end = o.start_at + 7 * $DAY AND o.orig_end = o.planned_end")"
check "the venue contact starts at its exposure" \
	"$(date -d 2022-06-09T10:10:00+08:00 +%s)" \
	"$(sql "SELECT start_at FROM orders WHERE person_id = $OTHER_PID")"

check_rc "propose again" 0 "$FK" orders propose --case "$CASE_IDN" --json
check "proposing again proposes nothing" "{\"case_id\":$CASE_ID,\"proposed\":0,\"skipped\":$NCONTACTS}" \
	"$(cat "$TMP/out")"
check "order.propose is audited" "1" "$(sql "SELECT count(*) FROM audit_log WHERE action = 'order.propose'")"

check_rc "list proposed as JSON" 0 "$FK" orders list --status proposed --json
check "the list holds every proposal" "$NCONTACTS" \
	"$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$TMP/out")"
check_rc "list as text" 0 "$FK" orders list
check_contains "the text list names the venue contact" "$TMP/out" "$OTHER_IDN"

check_rc "confirm the case's close contacts" 0 "$FK" orders confirm --case "$CASE_IDN" --category close
check_contains "confirm reports the count" "$TMP/out" "$NCLOSE orders activated"
check "the close ones active, activated now" "$NCLOSE" \
	"$(sql "SELECT count(*) FROM orders WHERE status = 'active' AND activated_at = $NOW_S
	        AND activated_by LIKE 'cli:%'")"
check "activation events" "$NCLOSE" "$(sql "SELECT count(*) FROM order_events WHERE kind = 'activated'")"
check_rc "confirm --all-proposed" 0 "$FK" orders confirm --all-proposed --json
check "the secondary contacts confirmed" "$((NCONTACTS - NCLOSE))" \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["activated"])' "$TMP/out")"
check_rc "confirm --all-proposed with none left" 0 "$FK" orders confirm --all-proposed --json
check "nothing more to confirm" '{"activated":0,"assigned":0,"queued":0}' "$(cat "$TMP/out")"

# became_case: the venue contact becomes a case; its order ends, and the
# secondary contacts who came through it become close contacts
NSEC=$(sql "SELECT count(*) FROM orders WHERE link_person = $OTHER_PID AND status = 'active'")
check_rc "the venue contact becomes a case" 0 "$FK" case add --person "$OTHER_IDN" \
	--first-positive 2022-06-10T11:00:00+08:00
check "its order ended as became_case" "completed|became_case" \
	"$(sql "SELECT status, end_reason FROM orders WHERE person_id = $OTHER_PID AND case_id = $CASE_ID")"
check "secondary orders through it upgraded" "$NSEC|$NSEC" \
	"$(sql "SELECT count(*) FROM orders WHERE link_person = $OTHER_PID AND end_reason = 'upgraded'")|$(sql "SELECT count(*) FROM orders n JOIN orders s ON s.id = n.prev_order
	        WHERE s.link_person = $OTHER_PID AND n.category = 'close' AND n.status = 'active'
	        AND n.start_at = s.start_at AND n.planned_end = s.start_at + 7 * $DAY")"

# usage
check_rc "no subcommand" 2 "$FK" orders
check_rc "unknown subcommand" 2 "$FK" orders frobnicate
check_rc "propose without --case" 2 "$FK" orders propose
check_rc "confirm without a choice" 2 "$FK" orders confirm
check_rc "confirm with both" 2 "$FK" orders confirm --case "$CASE_IDN" --all-proposed
check_rc "a bad category" 2 "$FK" orders confirm --case "$CASE_IDN" --category nope
check_rc "a bad status" 2 "$FK" orders list --status nope
check_rc "an unknown person" 1 "$FK" orders propose --case 610000190001010000
check_rc "a person who is no case" 1 "$FK" orders propose --case \
	"$(sql "SELECT id_number FROM persons WHERE id NOT IN (SELECT person_id FROM cases) ORDER BY id DESC LIMIT 1")"
check_rc "--help" 0 "$FK" orders --help
