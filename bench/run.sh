#!/bin/bash
# make bench: city-scale figures, each against a baseline run in the same run.
#   1. gen: 安康市 at its real size (BENCH_PERSONS, default 3,000,000);
#      target under 120 s.
#   2. import persons: the same persons as CSV into a fresh database, with
#      every row validated, vs the sqlite3 shell's .import of the same file
#      into an identically indexed table (no validation).
#   3. HTTP: the county list of the city with rolled-up figures, under wrk
#      (2 threads, 32 connections, loopback), vs nginx serving the same
#      response body as a static file.
#   4. roll-up: the same county figures computed by SQLite from the raw
#      persons table, vs one API request.
#   5. bench/trace.sh: contact tracing vs SQLite and PostgreSQL, check-in
#      import, index memory, start to ready, scan ingest.
#   6. bench/code.sh on the city of step 1: whole-city recompute of health
#      codes, code display vs nginx, a surge at 10x the connections.
#   7. bench/testing.sh on the city of step 1: durable sample registrations
#      under wrk (64 connections and a 10x surge) vs the sqlite3 shell doing
#      the same writes and nginx, the import of a 2.5M-tube round vs sqlite3
#      and PostgreSQL, the whole city's coverage tree vs SQL on raw rows.
#   8. bench/control.sh on a copy of the city of step 1: the control loop
#      at Xi'an's scale (8,572 close and 18,520 secondary contacts): orders
#      proposed and confirmed in bulk vs the sqlite3 shell inserting the
#      same rows, the idle tick and a day's releases, the health-code
#      recompute with and without the orders, the isolation board and a
#      person's timeline vs sqlite3 answering them from base tables.
# Servers listen on 127.0.0.1 only and are stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FK=$ROOT/${BENCH_BUILD:-build}/fangkong
N=${BENCH_PERSONS:-3000000}
DUR=${BENCH_SECONDS:-5}
TMP=$(mktemp -d /tmp/fk-bench.XXXXXX)
chmod 755 "$TMP" # nginx's workers (nobody) must read the static files
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT
export FK_PROGRESS=0

need() { command -v "$1" >/dev/null 2>&1 || { echo "bench: installing $2" >&2; apt-get install -y -q "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx

now() { date +%s.%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== fangkong bench: $N persons, $(nproc) cores, $(date -u +%FT%TZ)"

# 1. gen
DB=$TMP/city.db
$FK init --db "$DB" >/dev/null 2>&1
t0=$(now)
$FK gen --db "$DB" --persons "$N" --seed 1 >/dev/null
t1=$(now)
GEN=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
echo "gen: $N persons in ${GEN} s ($(awk -v n="$N" -v s="$GEN" 'BEGIN { printf "%.0f", n / s }') persons/s); target <= 120 s: $(awk -v s="$GEN" 'BEGIN { print (s <= 120 ? "met" : "NOT met") }')"

# 2. import vs sqlite3 .import
sqlite3 -csv "$DB" "SELECT code, name, level, coalesce(parent_code,'') FROM regions ORDER BY level, code" >"$TMP/regions.body"
{ echo "code,name,level,parent_code"; cat "$TMP/regions.body"; } >"$TMP/regions.csv"
sqlite3 -csv "$DB" "SELECT p.id_number, p.name, p.phone, p.grid_code, h.label, p.occupation FROM persons p JOIN households h ON h.id = p.household_id" >"$TMP/persons.body"
{ echo "id_number,name,phone,grid_code,household,occupation"; cat "$TMP/persons.body"; } >"$TMP/persons.csv"
DB2=$TMP/import.db
$FK init --db "$DB2" >/dev/null 2>&1
sqlite3 "$DB" ".mode insert address_codes" "SELECT * FROM address_codes" | sqlite3 "$DB2"
$FK import regions "$TMP/regions.csv" --db "$DB2" >/dev/null 2>&1
t0=$(now)
$FK import persons "$TMP/persons.csv" --db "$DB2" 2>"$TMP/import.log" || { cat "$TMP/import.log"; exit 1; }
t1=$(now)
IMP=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
BASE=$TMP/base.db
sqlite3 "$BASE" "PRAGMA journal_mode=WAL; CREATE TABLE persons(id_number TEXT NOT NULL UNIQUE, name TEXT, phone TEXT, grid_code TEXT, household TEXT, occupation TEXT); CREATE INDEX pg ON persons(grid_code); CREATE INDEX pn ON persons(name);" >/dev/null
t0=$(now)
sqlite3 "$BASE" ".mode csv" ".import $TMP/persons.body persons"
t1=$(now)
SIMP=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
IROWS=$(sqlite3 "$DB2" "SELECT count(*) FROM persons")
echo "import persons: $IROWS rows in ${IMP} s ($(awk -v n="$IROWS" -v s="$IMP" 'BEGIN { printf "%.0f", n / s }') rows/s, validated, audited, batched)"
echo "  baseline sqlite3 .import (no validation): ${SIMP} s; fangkong/sqlite3 time ratio $(ratio "$IMP" "$SIMP")"

# 3. HTTP vs nginx
PORT=$(free_port)
$FK serve --db "$DB" --listen "127.0.0.1:$PORT" --web "$ROOT/web" >"$TMP/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
$FK user add --db "$DB" --username bench.cmd --role command --scope 6109 --password bench-initial-1 >/dev/null 2>&1
TOKEN=$(curl -sf -H 'content-type: application/json' -d '{"username":"bench.cmd","password":"bench-initial-1"}' "http://127.0.0.1:$PORT/api/v1/sessions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
# a user added by the CLI changes the initial password before anything else
curl -sf -H 'content-type: application/json' -H "Authorization: Bearer $TOKEN" \
	-d '{"old_password":"bench-initial-1","new_password":"bench-password-1"}' "http://127.0.0.1:$PORT/api/v1/me/password"
URL="http://127.0.0.1:$PORT/api/v1/regions?parent=6109"
curl -sf -H "Authorization: Bearer $TOKEN" "$URL" >"$TMP/counties.json"
mkdir -p "$TMP/www"
cp "$TMP/counties.json" "$TMP/www/counties.json"
NPORT=$(free_port)
cat >"$TMP/nginx.conf" <<EOF
worker_processes 2;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/nb; proxy_temp_path $TMP/np; fastcgi_temp_path $TMP/nf; uwsgi_temp_path $TMP/nu; scgi_temp_path $TMP/ns;
  server { listen 127.0.0.1:$NPORT; root $TMP/www; location / { default_type application/json; } }
}
EOF
nginx -c "$TMP/nginx.conf" &
PIDS+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$NPORT/counties.json" >/dev/null && break; sleep 0.1; done
# a baseline that answers 403 or 404 would time an error page, not the file
curl -sf --max-time 2 "http://127.0.0.1:$NPORT/counties.json" >/dev/null ||
	{ cat "$TMP/nginx.err" >&2; echo "bench: nginx does not serve the file" >&2; exit 1; }
wrk_run() { wrk -t2 -c32 -d"${DUR}s" --latency "$@" 2>&1; }
W1=$(wrk_run -H "Authorization: Bearer $TOKEN" "$URL")
W2=$(wrk_run "http://127.0.0.1:$NPORT/counties.json")
rps() { echo "$1" | awk '/Requests\/sec/ {print $2}'; }
p99() { echo "$1" | awk '$1 == "99%" {print $2}'; }
R1=$(rps "$W1"); R2=$(rps "$W2")
echo "http GET /api/v1/regions?parent=6109 ($(wc -c <"$TMP/counties.json") bytes): $R1 req/s, p99 $(p99 "$W1")"
echo "  baseline nginx, same body as a static file: $R2 req/s, p99 $(p99 "$W2"); fangkong/nginx throughput ratio $(ratio "$R1" "$R2")"

# 4. roll-up computed by SQLite from raw rows vs one API request
t0=$(now)
for _ in 1 2 3; do
	sqlite3 "$DB" "SELECT r.code, r.name, (SELECT count(*) FROM persons p WHERE p.grid_code >= r.code AND p.grid_code < r.code || ':') FROM regions r WHERE r.parent_code = '6109'" >/dev/null
done
t1=$(now)
SQ=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 3 }')
t0=$(now)
for _ in $(seq 20); do curl -sf -H "Authorization: Bearer $TOKEN" "$URL" >/dev/null; done
t1=$(now)
AP=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 20 }')
echo "county roll-up: API request (curl, incl. process start) ${AP} s; SQLite counting raw persons ${SQ} s; sqlite/fangkong ratio $(ratio "$SQ" "$AP")"

# 5. contact tracing, check-in import, index memory, start-up, scan ingest
"$ROOT/bench/trace.sh"

# 6. health codes (the servers of step 3 stop first: nothing else runs on the city)
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
CODE_DB=$DB "$ROOT/bench/code.sh"

# 7. nucleic-acid testing (its campaigns and samples go into the same city)
TESTING_DB=$DB "$ROOT/bench/testing.sh"

# 8. the control loop (on its own copy of the city)
CONTROL_DB=$DB "$ROOT/bench/control.sh"
echo "== done"
