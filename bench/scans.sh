#!/bin/bash
# Scan ingest benchmark: durable scans/s and latency of POST /api/v1/scans
# from 64 connections on loopback (wrk + bench/scans.lua), against a city
# of SCANS_CITY persons.  Every request is a new scan by a venue device (ID
# number read from the card, normal temperature); a 201 is sent only after
# the scan is committed with synchronous=FULL, so 201s/s = durable scans/s.
# Target: >= 20,000 durable scans/s with p99 <= 50 ms.
#   FK=build/fangkong SCANS_CITY=200000 SCANS_SECONDS=10 SCANS_CONNS=64 bench/scans.sh
# SCANS_SERVE_ARGS passes extra flags to `fangkong serve` (e.g. --threads 16).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FK=${FK:-$ROOT/build/fangkong}
N=${SCANS_CITY:-200000}
DUR=${SCANS_SECONDS:-10}
CONNS=${SCANS_CONNS:-64}
TMP=$(mktemp -d /tmp/fk-scans.XXXXXX)
SERVER=
cleanup() {
	[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
export FK_PROGRESS=0
command -v wrk >/dev/null || { echo "scans: needs wrk (apt-get install wrk)" >&2; exit 1; }

DB=$TMP/city.db
"$FK" init --db "$DB" >/dev/null 2>&1
"$FK" gen --db "$DB" --persons "$N" --seed 1 >/dev/null 2>&1
CITY=$(sqlite3 "$DB" "SELECT value FROM meta WHERE key='city'")
"$FK" user add --db "$DB" --username gate1 --role venue --scope "$CITY" \
	--password initial-pass-1 >/dev/null 2>&1
sqlite3 "$DB" "SELECT id_number FROM persons" >"$TMP/persons"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
# shellcheck disable=SC2086
"$FK" serve --db "$DB" --listen "127.0.0.1:$PORT" --web /nonexistent ${SCANS_SERVE_ARGS:-} \
	>"$TMP/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -sf "$URL/healthz" >/dev/null && break; sleep 0.1; done
grep -o '[0-9]* threads' "$TMP/serve.log" | sed 's/^/server: /'

# the venue key exists once the server has started: sign every venue code
python3 - "$DB" >"$TMP/venues" <<'PY'
import base64, hashlib, hmac, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
key = bytes.fromhex(db.execute("SELECT value FROM meta WHERE key='venue_key'").fetchone()[0])
for (code,) in db.execute("SELECT code FROM venues"):
    sig = hmac.new(key, b"V:" + code.encode(), hashlib.sha512).digest()[:10]
    print(f"FK1:V:{code}:{base64.b32encode(sig).decode()}")
PY

json() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
TOKEN=$(curl -sf -H 'Content-Type: application/json' \
	-d '{"username":"gate1","password":"initial-pass-1"}' "$URL/api/v1/sessions" | json token)
curl -sf -o /dev/null -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
	-d '{"old_password":"initial-pass-1","new_password":"bench-pass-12"}' "$URL/api/v1/me/password"

export SCANS_TOKEN=$TOKEN SCANS_PERSONS=$TMP/persons SCANS_VENUES=$TMP/venues
echo "scans: $N persons, $(wc -l <"$TMP/venues") venues, $CONNS connections, ${DUR} s, $(nproc) cores"
SCANS_RUN=warm wrk -t2 -c"$CONNS" -d2s -s bench/scans.lua "$URL" >/dev/null
before=$(sqlite3 "$DB" "SELECT count(*) FROM scan_requests")
SCANS_RUN=run wrk -t2 -c"$CONNS" -d"${DUR}s" --timeout 5s -s bench/scans.lua "$URL" | tee "$TMP/wrk.out" |
	grep -E '^(scans|durable|latency|  Non-2xx|  Socket)'
after=$(sqlite3 "$DB" "SELECT count(*) FROM scan_requests")
echo "scans: $((after - before)) rows committed during the run (scan_requests)"
rate=$(awk '/^durable scans\/s/ { print $3 }' "$TMP/wrk.out")
p99=$(awk '/^latency ms/ { print $8 }' "$TMP/wrk.out")
awk -v r="$rate" -v p="$p99" 'BEGIN { printf "scan ingest: %.0f durable scans/s (target >= 20000: %s), p99 %.1f ms (target <= 50: %s)\n", r, (r >= 20000 ? "met" : "NOT met"), p, (p <= 50 ? "met" : "NOT met") }'
