#!/bin/sh
# make run: a demo city in fangkong.db (created once), then serve it.
#   FANGKONG_DB   database file            (default fangkong.db)
#   PERSONS       persons in the demo city (default 200000)
#   DAYS          days of check-ins before today (default 7)
#   LISTEN        address to serve         (default 127.0.0.1:8080)
set -eu
cd "$(dirname "$0")/.."
FK=build/fangkong
DB=${FANGKONG_DB:-fangkong.db}
LISTEN=${LISTEN:-127.0.0.1:8080}
if [ ! -f "$DB" ]; then
	echo "Creating the demo city 安康市 in $DB ..."
	$FK init --db "$DB"
	$FK gen --db "$DB" --city 6109 --persons "${PERSONS:-200000}" --days "${DAYS:-7}" --seed 1
	scripts/demo_testing.sh "$DB" "$FK"
	scripts/demo_control.sh "$DB" "$FK"
	echo
	echo "Log in at http://$LISTEN as 'admin' with the password printed above"
	echo "(also in $DB.admin-password, readable only by you)."
else
	echo "Using the existing $DB; the first admin login is in $DB.admin-password"
	echo "(delete $DB to start a new demo city)."
fi
exec $FK serve --db "$DB" --listen "$LISTEN" --web web
