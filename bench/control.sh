#!/bin/bash
# bench/control.sh — the control loop at Xi'an's scale (issue 7; DOMAIN.md:
# Xi'an, December 2021, 8,572 close and 18,520 secondary contacts), each
# figure beside a baseline run in the same run (called by bench/run.sh;
# runs alone too).
#
# The bench works on a copy of a city of CONTROL_PERSONS persons (default
# 3,000,000, seed 1; CONTROL_DB=FILE: the city, generated there and kept
# when missing, reused when present; the copy is deleted at the end).
# Into the copy, with sqlite3: CONTROL_CASES (200) cases spread over the
# city whose recorded contacts add up to CONTROL_CLOSE (8,572) close and
# CONTROL_SECONDARY (18,520) secondary contacts (every secondary contact
# through a close contact of the same case; exposures spread over the last
# 7 days, so the orders end over the next 7), the five responsible people
# (五包一) of every town, 500 risk areas (grids: 1 in 5 high, started over
# the last 7 days), and with `fangkong isolation add-site` two isolation
# sites a county with rooms for 97 % of the close contacts (the rest wait
# in the queue, as in Xi'an).  Policy: protocol-9.  Then:
#   1. orders: POST /api/v1/orders/propose for every case, then POST
#      /api/v1/orders/confirm of every proposal in calls of 10,000 ids
#      (activation: rooms, test days and their tasks, the five responsible
#      people and their tasks, the queue) — orders/s.  Baseline: the
#      sqlite3 shell inserting the same orders, order_tests, tasks,
#      order_events and order_responsibles rows (rooms not chosen) from the
#      same contacts with a plain SQL script in one transaction (same
#      tables and indexes, WAL, synchronous=NORMAL like the server); the
#      row counts of both are printed.
#   2. the tick: the server's CPU while idle (CONTROL_IDLE_SECONDS, 20; the
#      tick runs every second) before and with the active orders; `fangkong
#      control tick` at now (a process's first tick reads every open row:
#      CONTROL_TICKS runs, median) before and with the orders; and one tick
#      at the end of the next day with that day's negative results and
#      health checks recorded (releases, second phases, extensions, risk
#      areas lowered; counted after it).
#   3. `fangkong code --all` (median of 3) on the city without the bench's
#      records, with its cases, contacts and risk areas but no orders, and
#      with the ~27,000 active orders.
#   4. GET /api/v1/persons/{id}/orders (CONTROL_TIMELINE_REQS, 300 persons
#      under an order) and GET /api/v1/isolation/board (CONTROL_BOARD_REQS,
#      100, or as many as CONTROL_BOARD_BUDGET seconds, 120, allow; a
#      request past it is reported as such) one after another on a
#      keep-alive connection: median and p99.  Baseline: the sqlite3 shell answering the board's
#      figures (sites, rooms free by date, tests and releases due today,
#      the queue, totals) and the same timelines from the base tables;
#      the board's counts of both are compared.
# Servers listen on 127.0.0.1 only; every file and process is gone at the
# end.  Knobs: BENCH_BUILD (build) or FK, CONTROL_PERSONS (BENCH_PERSONS),
# CONTROL_DB, CONTROL_CASES, CONTROL_CLOSE, CONTROL_SECONDARY,
# CONTROL_IDLE_SECONDS, CONTROL_TICKS (3), CONTROL_BOARD_REQS,
# CONTROL_TIMELINE_REQS, CONTROL_BOARD_BUDGET, CONTROL_SERVE_ARGS (extra
# `fangkong serve` flags), CONTROL_PERF=1 (perf profile of the idle server
# with the orders).
#   CONTROL_PERSONS=300000 CONTROL_IDLE_SECONDS=5 bash bench/control.sh   a quick run
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FK=${FK:-$ROOT/${BENCH_BUILD:-build}/fangkong}
N=${CONTROL_PERSONS:-${BENCH_PERSONS:-3000000}}
NCASES=${CONTROL_CASES:-200}
NCLOSE=${CONTROL_CLOSE:-8572}
NSEC=${CONTROL_SECONDARY:-18520}
IDLE=${CONTROL_IDLE_SECONDS:-20}
TICKS=${CONTROL_TICKS:-3}
BOARD_REQS=${CONTROL_BOARD_REQS:-100}
TL_REQS=${CONTROL_TIMELINE_REQS:-300}
BOARD_BUDGET=${CONTROL_BOARD_BUDGET:-120}
NRISK=500
POLICY=protocol-9
ACTOR=bench.control
TMP=$(mktemp -d /tmp/fk-control.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && { sleep 1; kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; } || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT
export FK_PROGRESS=0

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
per() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "n/a" }'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
log() { echo "control: $*" >&2; }
die() { echo "control: $*" >&2; exit 1; }
R=$TMP/results # key=value lines for the summary
: >"$R"
put() { echo "$1=$2" >>"$R"; }
get() { sed -n "s/^$1=//p" "$R" | tail -1; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }'; }
# CPU time of every thread of a process, in ms (schedstat: ns on CPU)
cpu_ms() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.1f", s / 1e6 }'; }
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
q() { sqlite3 "$DB" "$@"; }

echo "== control bench: $N persons, $(nproc) cores, $(date -u +%FT%TZ)"

# ---- the city, copied ----
if [ -n "${CONTROL_DB:-}" ]; then SRC=$CONTROL_DB; else SRC=$TMP/city.db; fi
if [ -s "$SRC" ] && [ "$(sqlite3 "$SRC" "SELECT count(*) FROM persons" 2>/dev/null || echo 0)" -gt 0 ]; then
	log "reusing the city in $SRC"
	sqlite3 "$SRC" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
else
	t0=$(now)
	"$FK" init --db "$SRC" >/dev/null 2>&1
	"$FK" gen --db "$SRC" --persons "$N" --seed 1 >/dev/null
	log "gen: $N persons in $(since "$t0") s"
fi
DB=$TMP/control.db
t0=$(now)
cp "$SRC" "$DB"
"$FK" init --db "$DB" >/dev/null 2>&1 || true # migrations of a city made by an older build
log "copied the city ($(du -m "$DB" | cut -f1) MB) in $(since "$t0") s"
P=$(q "SELECT count(*) FROM persons")
CITY=$(q "SELECT value FROM meta WHERE key='city'")
NEED=$((NCASES + NCLOSE + NSEC))
T0=$(date +%s)
DAY=86400

# ---- 3a. code --all on the city as it came ----
code_all() { # LABEL: median of 3 recomputes
	: >"$TMP/code.$1"
	for _ in 1 2 3; do
		timeout -k 5 600 "$FK" code --all --db "$DB" --policy "$POLICY" >"$TMP/code.out" 2>&1 ||
			{ cat "$TMP/code.out" >&2; die "fangkong code --all failed"; }
		grep -oE 'recompute: .* in [0-9.]+ ms' "$TMP/code.out" | grep -oE '[0-9.]+ ms' | head -1 | cut -d' ' -f1 >>"$TMP/code.$1"
	done
	put "code_$1" "$(median <"$TMP/code.$1")"
	put "code_$1_all" "$(paste -sd/ "$TMP/code.$1")"
	put "code_$1_colours" "$(grep -oE '^green [0-9]+, yellow [0-9]+, red [0-9]+' "$TMP/code.out")"
	put "code_$1_facts" "$(grep -oE '[0-9]+ with facts' "$TMP/code.out" | cut -d' ' -f1)"
	log "code --all ($1): $(get "code_$1") ms (runs $(get "code_$1_all")); $(get "code_$1_colours")"
}
code_all bare

# `fangkong control tick` at now, CONTROL_TICKS runs: median wall ms
cli_tick() { # LABEL
	: >"$TMP/tick.$1"
	for _ in $(seq "$TICKS"); do
		local t0
		t0=$(now)
		"$FK" control tick --db "$DB" --policy "$POLICY" >"$TMP/tick.out" 2>&1 ||
			{ cat "$TMP/tick.out" >&2; die "fangkong control tick failed"; }
		awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$TMP/tick.$1"
	done
	put "tick_$1" "$(median <"$TMP/tick.$1")"
	log "fangkong control tick ($1): $(get "tick_$1") ms (runs $(paste -sd/ "$TMP/tick.$1")): $(cat "$TMP/tick.out")"
}
cli_tick bare

# ---- the bench's records ----
t0=$(now)
CASE0=$(q "SELECT coalesce(max(id), 0) FROM cases")
CHAIN0=$(q "SELECT coalesce(max(chain_id), 0) FROM cases")
# persons spread over the city by a multiplicative hash, none already a
# case, a contact or under an order
q >/dev/null <<SQL
PRAGMA foreign_keys = ON;
BEGIN;
CREATE TABLE bench_pick(rn INTEGER PRIMARY KEY, person_id INTEGER NOT NULL);
INSERT INTO bench_pick(rn, person_id)
	SELECT row_number() OVER (ORDER BY (id * 2654435761) % 4294967291), id FROM persons p
	WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.person_id = p.id)
	  AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.person_id = p.id)
	  AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.person_id = p.id)
	ORDER BY (id * 2654435761) % 4294967291 LIMIT $NEED;
-- cases: rn 1..NCASES, found a day ago, isolated 20 h ago
INSERT INTO cases(id, person_id, classification, onset_at, first_positive_at, isolated_at,
	found_where, chain_id, created_at, created_by)
	SELECT $CASE0 + rn, person_id, 'confirmed', $T0 - 3 * $DAY, $T0 - $DAY - 7200, $T0 - 72000,
	'bench', $CHAIN0 + rn, $T0 - $DAY, '$ACTOR' FROM bench_pick WHERE rn <= $NCASES;
-- close contacts: case (k mod NCASES), exposure spread over (T0 - 7 d + 1 h, T0 - 1 h),
-- found 6 h later (at most a minute ago)
INSERT INTO contacts(person_id, case_id, degree, exposure_at, via_person, venue_id, household, found_at)
	SELECT person_id, $CASE0 + 1 + (rn - $NCASES - 1) % $NCASES, 1,
		$T0 - 7 * $DAY + 3600 + ((rn * 7919) % (7 * $DAY - 7200)), NULL, NULL, 0, 0
	FROM bench_pick WHERE rn > $NCASES AND rn <= $NCASES + $NCLOSE;
-- secondary contacts: through a close contact of the same case, exposed
-- after them
INSERT INTO contacts(person_id, case_id, degree, exposure_at, via_person, venue_id, household, found_at)
	SELECT b.person_id, c.case_id, 2, min(c.exposure_at + 3600 + (b.rn * 104729) % 86400, $T0 - 3600),
		c.person_id, NULL, 0, 0
	FROM bench_pick b JOIN bench_pick v ON v.rn = $NCASES + 1 + (b.rn - $NCASES - $NCLOSE - 1) % $NCLOSE
	JOIN contacts c ON c.person_id = v.person_id AND c.degree = 1 AND c.case_id > $CASE0
	WHERE b.rn > $NCASES + $NCLOSE;
UPDATE contacts SET found_at = min(exposure_at + 21600, $T0 - 60) WHERE case_id > $CASE0;
-- the five responsible people of every town of the city
INSERT OR IGNORE INTO responsibles(region_code, role, name, phone)
	SELECT r.code, x.role, x.zh || '·' || r.name, '139' || substr('0000000' || (r.n * 5 + x.k), -8)
	FROM (SELECT code, name, row_number() OVER (ORDER BY code) n FROM regions
		WHERE level = 4 AND code LIKE '$CITY%') r, (SELECT 'town_cadre' role, '镇干部' zh, 0 k UNION ALL SELECT 'village_cadre', '村干部', 1
		UNION ALL SELECT 'police', '民警', 2 UNION ALL SELECT 'doctor', '村医', 3
		UNION ALL SELECT 'grid_worker', '网格员', 4) x;
-- 500 risk areas: grids of the cases first, then grids spread over the
-- city; 1 in 5 high; started over the last 7 days
INSERT INTO risk_areas(region_code, level, start_at, reason, created_at, created_by, auto,
	confirmed_at, confirmed_by)
	SELECT code, CASE WHEN k % 5 = 0 THEN 'high' ELSE 'medium' END,
		$T0 - 7 * $DAY + 3600 + ((k * 7919) % (7 * $DAY - 7200)), 'bench', $T0 - $DAY, '$ACTOR', 1,
		$T0 - $DAY, '$ACTOR'
	FROM (SELECT code, row_number() OVER (ORDER BY o, (n * 2654435761) % 4294967291) k FROM (
		SELECT r.code, row_number() OVER (ORDER BY r.code) n, CASE WHEN EXISTS (SELECT 1 FROM cases c JOIN persons p ON p.id = c.person_id
			WHERE c.id > $CASE0 AND p.grid_code = r.code) THEN 0 ELSE 1 END o
		FROM regions r WHERE r.level = 6 AND r.code LIKE '$CITY%'
		AND NOT EXISTS (SELECT 1 FROM risk_areas a WHERE a.region_code = r.code AND a.end_at IS NULL)))
	WHERE k <= $NRISK;
DROP TABLE bench_pick;
COMMIT;
SQL
read -r GC GS GR GA < <(q -separator ' ' "SELECT (SELECT count(*) FROM contacts WHERE case_id > $CASE0 AND degree = 1),
	(SELECT count(*) FROM contacts WHERE case_id > $CASE0 AND degree = 2),
	(SELECT count(*) FROM responsibles), (SELECT count(*) FROM risk_areas WHERE created_by = '$ACTOR')")
[ "$GC" = "$NCLOSE" ] && [ "$GS" = "$NSEC" ] || die "contacts: $GC close, $GS secondary (expected $NCLOSE, $NSEC): is the city large enough?"
# isolation sites: two a county, rooms for 97 % of the close contacts
NCOUNTY=$(q "SELECT count(*) FROM regions WHERE parent_code = '$CITY'")
FLOORS=8
RPF=$(((NCLOSE * 97 / 100 + 2 * NCOUNTY * FLOORS - 1) / (2 * NCOUNTY * FLOORS)))
[ "$RPF" -le 99 ] || RPF=99
for c in $(q "SELECT code FROM regions WHERE parent_code = '$CITY' ORDER BY code"); do
	for s in 1 2; do
		"$FK" isolation add-site --db "$DB" --name "bench site $c-$s" --region "$c" --floors "$FLOORS" \
			--rooms-per-floor "$RPF" --address "bench" >/dev/null 2>>"$TMP/sites.log" ||
			{ cat "$TMP/sites.log" >&2; die "isolation add-site failed"; }
	done
done
ROOMS=$(q "SELECT count(*) FROM iso_rooms")
put seed_s "$(since "$t0")"
log "records: $NCASES cases, $GC close + $GS secondary contacts, $GR responsibles, $GA risk areas, $ROOMS rooms in $((NCOUNTY * 2)) sites ($(get seed_s) s)"

code_all noorders
cli_tick noorders

# ---- the server ----
PW=bench-control-pass-1
"$FK" user add --db "$DB" --username "$ACTOR" --role command --scope "$CITY" --password "$PW" >/dev/null 2>"$TMP/users.log" ||
	{ cat "$TMP/users.log" >&2; die "user add failed"; }
q "UPDATE users SET must_change_password = 0 WHERE username = '$ACTOR'"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
# shellcheck disable=SC2086
"$FK" serve --db "$DB" --listen "127.0.0.1:$PORT" --web /nonexistent --policy "$POLICY" ${CONTROL_SERVE_ARGS:-} >"$TMP/serve.log" 2>&1 &
SPID=$!
PIDS+=("$SPID")
for _ in $(seq 3000); do
	curl -sf --max-time 2 "$URL/healthz" >/dev/null && break
	kill -0 "$SPID" 2>/dev/null || { cat "$TMP/serve.log" >&2; die "the server stopped"; }
	sleep 0.1
done
curl -sf --max-time 2 "$URL/healthz" >/dev/null || { cat "$TMP/serve.log" >&2; die "server not ready"; }
TOKEN=$(curl -sf --max-time 30 -H 'Content-Type: application/json' \
	-d "{\"username\":\"$ACTOR\",\"password\":\"$PW\"}" "$URL/api/v1/sessions" | json_field '["token"]')

stop_server() { # a request still running (a board past its budget) is not waited for long
	kill "$SPID" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$SPID" 2>/dev/null || true
	wait "$SPID" 2>/dev/null || true
}
threads_ms() { for t in /proc/"$1"/task/*; do echo "$(basename "$t") $(cat "$t/comm") $(awk '{ print $1 / 1e6 }' "$t/schedstat")"; done; }
idle_cpu() { # LABEL: the server's CPU ms a second over IDLE seconds
	# what the last requests started (the health code's recompute of the
	# persons whose orders changed) settles first: a 2-s window under 40 ms
	local w0 w1 t1
	t1=$(now)
	for _ in $(seq 60); do
		w0=$(cpu_ms "$SPID"); sleep 2; w1=$(cpu_ms "$SPID")
		awk -v a="$w0" -v b="$w1" 'BEGIN { exit !(b - a < 40) }' && break
	done
	put "settle_$1" "$(since "$t1")"
	local c0 c1 t0
	threads_ms "$SPID" >"$TMP/threads.0"
	c0=$(cpu_ms "$SPID"); t0=$(now)
	if [ "${CONTROL_PERF:-0}" = 1 ] && [ "$1" = orders ] && command -v perf >/dev/null; then
		perf record -F 499 --call-graph dwarf -p "$SPID" -o "$TMP/perf.data" -- sleep "$IDLE" >/dev/null 2>&1 || sleep "$IDLE"
	else
		sleep "$IDLE"
	fi
	c1=$(cpu_ms "$SPID")
	threads_ms "$SPID" >"$TMP/threads.1"
	# the busiest threads over the window
	put "idle_$1_threads" "$(awk 'NR == FNR { a[$1] = $3; next } { d = $3 - a[$1]; if (d > 0.5) printf "%s %s %.0f ms\n", $1, $2, d }' "$TMP/threads.0" "$TMP/threads.1" | sort -k3 -n -r | head -3 | paste -sd, -)"
	put "idle_$1" "$(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$(now)" 'BEGIN { printf "%.2f", (b - a) / (t1 - t0) }')"
	log "server idle ($1): $(get "idle_$1") ms CPU a second over $IDLE s, after $(get "settle_$1") s of settling (threads: $(get "idle_$1_threads"))"
	if [ -s "$TMP/perf.data" ]; then
		echo "server profile while idle with the orders (perf, inclusive, fangkong's functions):"
		perf report -i "$TMP/perf.data" --children --sort symbol --stdio -g none 2>/dev/null |
			grep -E '^ +[0-9]' | grep -v 'sqlite3[A-Z]\|0x0000' | head -25 | sed 's/^/  /' || true
		rm -f "$TMP/perf.data"
	fi
}
idle_cpu noorders

# the HTTP client: propose, confirm, latency
cat >"$TMP/client.py" <<'PY'
import http.client, json, sys, time, urllib.parse
url, token, cmd = sys.argv[1], sys.argv[2], sys.argv[3]
u = urllib.parse.urlsplit(url)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
def call(method, path, body=None):
    c.request(method, path, body=None if body is None else json.dumps(body), headers=hdr)
    r = c.getresponse()
    data = r.read()
    if r.status != 200:
        sys.exit(f"{method} {path}: {r.status} {data[:300]!r}")
    return data
def pct(v, p):
    v = sorted(v)
    k = (len(v) - 1) * p / 100
    f = int(k)
    return v[f] + (v[min(f + 1, len(v) - 1)] - v[f]) * (k - f)
if cmd == "propose":  # case ids on stdin
    ids = [int(x) for x in sys.stdin.read().split()]
    n = sk = 0
    t0 = time.perf_counter()
    for i in ids:
        j = json.loads(call("POST", "/api/v1/orders/propose", {"case_id": i}))
        n += j["proposed"]; sk += j["skipped"]
    print(f"propose_s={time.perf_counter() - t0:.3f}\nproposed={n}\nskipped={sk}")
elif cmd == "confirm":  # order ids on stdin, calls of sys.argv[4]
    ids = [int(x) for x in sys.stdin.read().split()]
    chunk = int(sys.argv[4])
    tot = {"activated": 0, "assigned": 0, "queued": 0, "already": 0, "refused": 0}
    calls = []
    t0 = time.perf_counter()
    for k in range(0, len(ids), chunk):
        t1 = time.perf_counter()
        j = json.loads(call("POST", "/api/v1/orders/confirm", {"ids": ids[k:k + chunk]}))
        calls.append(time.perf_counter() - t1)
        for key in ("activated", "assigned", "queued", "already"):
            tot[key] += j[key]
        tot["refused"] += len(j["refused"])
    print(f"confirm_s={time.perf_counter() - t0:.3f}")
    print("confirm_calls=" + "/".join(f"{x:.2f}" for x in calls))
    for key, v in tot.items():
        print(f"{key}={v}")
elif cmd == "latency":  # paths on stdin in turn; label, time budget (s), file for the last answer
    paths = sys.stdin.read().split()
    label, budget, keep = sys.argv[4], float(sys.argv[5]), sys.argv[6]
    c.timeout = budget
    times, size, body = [], 0, b""
    start = time.perf_counter()
    for i, p in enumerate(paths):
        if time.perf_counter() - start > budget:
            break
        t0 = time.perf_counter()
        try:
            body = call("GET", p)
        except (TimeoutError, OSError):
            print(f"{label}_timeout={budget:.0f}")
            break
        times.append((time.perf_counter() - t0) * 1000)
        size += len(body)
    if body:
        open(keep, "wb").write(body)
    if times:
        if len(times) > 5:
            times = times[1:]  # the first warms the caches
        print(f"{label}_p50={pct(times, 50):.1f}\n{label}_p99={pct(times, 99):.1f}\n{label}_max={max(times):.1f}")
        print(f"{label}_bytes={len(body)}\n{label}_n={len(times)}")
elif cmd == "get":  # one answer to stdout
    sys.stdout.buffer.write(call("GET", sys.argv[4]))
PY
client() { python3 "$TMP/client.py" "$URL" "$TOKEN" "$@"; }

# ==== 1. propose and confirm ====
q "SELECT id FROM cases WHERE id > $CASE0 ORDER BY id" | client propose >>"$R" || die "propose failed"
q "SELECT id FROM orders WHERE status = 'proposed' AND case_id > $CASE0 ORDER BY id" >"$TMP/proposed"
TC=$(date +%s) # activation time of the baseline (a test day whose window ends during the
	       # confirmation is required for fangkong and may not be for the baseline)
client confirm 10000 <"$TMP/proposed" >>"$R" || die "confirm failed"
put orders "$(get proposed)"
put propose_rate "$(per "$(get proposed)" "$(get propose_s)")"
put confirm_rate "$(per "$(get activated)" "$(get confirm_s)")"
put both_rate "$(per "$(get activated)" "$(awk -v a="$(get propose_s)" -v b="$(get confirm_s)" 'BEGIN { print a + b }')")"
TA=$(date +%s)
read -r A_ORD A_TESTS A_TASKS A_EVENTS A_RESP A_STAYS A_QUEUED < <(q -separator ' ' "SELECT
	(SELECT count(*) FROM orders WHERE case_id > $CASE0 AND status = 'active'),
	(SELECT count(*) FROM order_tests t JOIN orders o ON o.id = t.order_id WHERE o.case_id > $CASE0),
	(SELECT count(*) FROM tasks t JOIN orders o ON o.id = t.order_id WHERE o.case_id > $CASE0),
	(SELECT count(*) FROM order_events e JOIN orders o ON o.id = e.order_id WHERE o.case_id > $CASE0),
	(SELECT count(*) FROM order_responsibles r JOIN orders o ON o.id = r.order_id WHERE o.case_id > $CASE0),
	(SELECT count(*) FROM stays s JOIN orders o ON o.id = s.order_id WHERE o.case_id > $CASE0),
	(SELECT count(*) FROM orders WHERE case_id > $CASE0 AND queued_at IS NOT NULL)")
put rows_fk "orders $A_ORD, order_tests $A_TESTS, tasks $A_TASKS, order_events $A_EVENTS, order_responsibles $A_RESP, stays $A_STAYS"
log "proposed $(get proposed) (skipped $(get skipped)) in $(get propose_s) s; confirmed $(get activated) in $(get confirm_s) s (calls $(get confirm_calls) s; $(get assigned) rooms, $(get queued) queued, $(get refused) refused)"
log "rows: $(get rows_fk)"
[ "$(get proposed)" = "$((NCLOSE + NSEC))" ] || log "WARNING: $(get proposed) orders proposed for $((NCLOSE + NSEC)) contacts"

# ==== 2. idle server with the orders ====
idle_cpu orders

# ==== 4. timelines and the board ====
q "SELECT DISTINCT person_id FROM orders WHERE case_id > $CASE0 ORDER BY (person_id * 2654435761) % 4294967291 LIMIT $TL_REQS" >"$TMP/tl.persons"
sed 's|.*|/api/v1/persons/&/orders|' "$TMP/tl.persons" | client latency timeline 120 "$TMP/timeline.json" >>"$R" || die "timeline failed"
log "timeline: p50 $(get timeline_p50) ms, p99 $(get timeline_p99) ms, $(get timeline_bytes) bytes"
# the board: BOARD_REQS requests or BOARD_BUDGET seconds, whichever comes first
for _ in $(seq "$BOARD_REQS"); do echo "/api/v1/isolation/board"; done | client latency board "$BOARD_BUDGET" "$TMP/board.json" >>"$R" || die "board failed"
if [ -n "$(get board_timeout)" ]; then
	log "board: one request took longer than $(get board_timeout) s"
else
	log "board: p50 $(get board_p50) ms, p99 $(get board_p99) ms, $(get board_n) requests, $(get board_bytes) bytes"
fi
stop_server

# the board's counts from the API
[ -s "$TMP/board.json" ] || echo '{"date":"'"$(TZ=Asia/Shanghai date +%F)"'","sites":[],"tests_due":[],"releases_due":[],"queue":[],"totals":{"active":0,"central":0,"home":0,"queued":0,"proposed":0}}' >"$TMP/board.json"
read -r B_SITES B_TESTS B_REL B_QUEUE B_TOT B_DATE < <(python3 - "$TMP/board.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
t = b["totals"]
free = sum(s["free"] for s in b["sites"])
occ = sum(s["occupied"] for s in b["sites"])
fbd = "/".join(str(sum(s["free_by_date"][i]["free"] for s in b["sites"])) for i in range(7))
rel = sum(1 for r in b["releases_due"] if r["releasable"])
print(f'{len(b["sites"])}:{occ}:{free}:{fbd} {len(b["tests_due"])} {len(b["releases_due"])}:{rel} {len(b["queue"])} '
      f'{t["active"]}:{t["central"]}:{t["home"]}:{t["queued"]}:{t["proposed"]} {b["date"]}')
PY
)

# ==== 3b. code --all with the orders; 2b. the CLI tick with them ====
code_all orders
cli_tick orders

# ==== 4b. the board's figures from the base tables with sqlite3 ====
DS=$(python3 -c "import datetime; d=datetime.date.fromisoformat('$B_DATE'); print(int((d - datetime.date(1970,1,1)).days) * 86400 - 28800)")
cat >"$TMP/board.sql" <<SQL
WITH cur AS (SELECT s.room_id, s.planned_leave FROM stays s WHERE s.left_at IS NULL),
rooms AS (SELECT r.site_id, r.status, (SELECT count(*) FROM cur WHERE cur.room_id = r.id) occ,
	(SELECT max(planned_leave) FROM cur WHERE cur.room_id = r.id) leave FROM iso_rooms r)
SELECT count(DISTINCT site_id) || ':' || sum(occ > 0) || ':' || sum(status = 'ready' AND occ = 0)
	|| ':' || sum(status = 'ready' AND (occ = 0 OR leave <= $DS)) || '/' || sum(status = 'ready' AND (occ = 0 OR leave <= $DS + 86400))
	|| '/' || sum(status = 'ready' AND (occ = 0 OR leave <= $DS + 2 * 86400)) || '/' || sum(status = 'ready' AND (occ = 0 OR leave <= $DS + 3 * 86400))
	|| '/' || sum(status = 'ready' AND (occ = 0 OR leave <= $DS + 4 * 86400)) || '/' || sum(status = 'ready' AND (occ = 0 OR leave <= $DS + 5 * 86400))
	|| '/' || sum(status = 'ready' AND (occ = 0 OR leave <= $DS + 6 * 86400))
FROM rooms;
SELECT count(*) FROM (SELECT t.order_id, p.id_number, p.name, t.day, t.window_end, cs.name
	FROM order_tests t JOIN orders o ON o.id = t.order_id JOIN persons p ON p.id = o.person_id
	LEFT JOIN stays cx ON cx.order_id = o.id AND cx.left_at IS NULL LEFT JOIN iso_rooms cr ON cr.id = cx.room_id
	LEFT JOIN iso_sites cs ON cs.id = cr.site_id
	WHERE o.status = 'active' AND t.required = 1 AND t.result IS NULL AND t.sampled_at IS NULL
	AND t.window_start < $DS + 86400 AND t.window_end > $DS
	AND NOT EXISTS (SELECT 1 FROM samples m WHERE m.person_id = o.person_id AND m.sampled_at >= t.window_start AND m.sampled_at < t.window_end)
	AND NOT EXISTS (SELECT 1 FROM test_results m WHERE m.person_id = o.person_id AND m.sampled_at >= t.window_start AND m.sampled_at < t.window_end)
	ORDER BY t.window_end, t.order_id);
SELECT count(*) || ':' || coalesce(sum(missing IS NULL AND NOT pos), 0) FROM (SELECT o.id, p.id_number, p.name,
	(SELECT group_concat(day) FROM order_tests t WHERE t.order_id = o.id AND t.required = 1 AND coalesce(t.result, '') <> 'negative') missing,
	EXISTS (SELECT 1 FROM test_results m WHERE m.person_id = o.person_id AND m.sampled_at >= o.start_at AND m.result IN ('positive', 'pool_positive'))
	OR EXISTS (SELECT 1 FROM samples m JOIN tubes u ON u.id = m.tube_id WHERE m.person_id = o.person_id AND m.sampled_at >= o.start_at AND u.result = 'positive') pos
	FROM orders o JOIN persons p ON p.id = o.person_id
	WHERE o.status = 'active' AND o.planned_end >= $DS AND o.planned_end < $DS + 86400 ORDER BY o.planned_end, o.id);
SELECT count(*) FROM (SELECT o.id, p.id_number, o.queued_at FROM orders o JOIN persons p ON p.id = o.person_id
	WHERE o.status = 'active' AND o.kind = 'central' AND o.queued_at IS NOT NULL ORDER BY o.queued_at, o.id);
SELECT sum(status = 'active') || ':' || sum(status = 'active' AND kind = 'central') || ':' || sum(status = 'active' AND kind <> 'central')
	|| ':' || sum(status = 'active' AND kind = 'central' AND queued_at IS NOT NULL) || ':' || sum(status = 'proposed')
FROM orders WHERE status IN ('active', 'proposed');
SQL
: >"$TMP/sqboard.times"
for _ in 1 2 3; do
	t0=$(now)
	sqlite3 "$DB" <"$TMP/board.sql" >"$TMP/sqboard.out"
	awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$TMP/sqboard.times"
done
put sq_board "$(median <"$TMP/sqboard.times")"
S_BOARD=$(paste -sd' ' "$TMP/sqboard.out")
API_BOARD="$B_SITES $B_TESTS $B_REL $B_QUEUE $B_TOT"
SQ_CMP=$(awk -v a="$API_BOARD" -v s="$S_BOARD" 'BEGIN { split(s, x, " "); sub(/^[0-9]+:/, "", x[1]); print x[1] " " x[2] " " x[3] " " x[4] " " x[5] }')
API_CMP=$(awk -v a="$API_BOARD" 'BEGIN { split(a, x, " "); sub(/^[0-9]+:/, "", x[1]); print x[1] " " x[2] " " x[3] " " x[4] " " x[5] }')
if [ -n "$(get board_timeout)" ]; then put board_check "not compared (no answer)"; elif [ "$SQ_CMP" = "$API_CMP" ]; then put board_check ok; else put board_check "MISMATCH (api $API_BOARD; sqlite3 $S_BOARD)"; fi
log "board from base tables: $(get sq_board) ms (median of 3); api [$API_BOARD] sqlite3 [$S_BOARD]: $(get board_check)"

# the same timelines from the base tables
{
	echo ".output /dev/null"
	while read -r pid; do
		cat <<SQL
SELECT id, id_number, name, phone, grid_code FROM persons WHERE id = $pid;
SELECT o.*, (SELECT group_concat(x.role || '=' || coalesce(r.name, '')) FROM order_responsibles x LEFT JOIN responsibles r ON r.id = x.responsible_id WHERE x.order_id = o.id)
	FROM orders o WHERE o.person_id = $pid ORDER BY o.start_at, o.id;
SELECT t.* FROM order_tests t JOIN orders o ON o.id = t.order_id WHERE o.person_id = $pid ORDER BY t.order_id, t.day;
SELECT e.* FROM order_events e JOIN orders o ON o.id = e.order_id WHERE o.person_id = $pid ORDER BY e.order_id, e.at, e.id;
SELECT s.*, r.number, r.floor, i.name FROM stays s JOIN iso_rooms r ON r.id = s.room_id JOIN iso_sites i ON i.id = r.site_id
	WHERE s.person_id = $pid ORDER BY s.id;
SELECT h.* FROM health_checks h JOIN orders o ON o.id = h.order_id WHERE o.person_id = $pid ORDER BY h.at;
SELECT id, created_at, classification FROM cases WHERE person_id = $pid;
SQL
	done <"$TMP/tl.persons"
} >"$TMP/timeline.sql"
: >"$TMP/sqtl.times"
for _ in 1 2 3; do
	t0=$(now)
	sqlite3 "$DB" <"$TMP/timeline.sql"
	awk -v a="$t0" -v b="$(now)" -v n="$(wc -l <"$TMP/tl.persons")" 'BEGIN { printf "%.2f\n", (b - a) * 1000 / n }' >>"$TMP/sqtl.times"
done
put sq_timeline "$(median <"$TMP/sqtl.times")"
log "timelines from base tables: $(get sq_timeline) ms a person (median of 3 runs over $(wc -l <"$TMP/tl.persons") persons)"

# ==== 1b. baseline: the same inserts by the sqlite3 shell ====
BASE=$TMP/base.db
{
	echo "PRAGMA journal_mode = WAL;"
	q "SELECT sql || ';' FROM sqlite_master WHERE tbl_name IN ('orders', 'order_tests', 'tasks', 'order_events',
		'order_responsibles', 'responsibles', 'cases', 'contacts') AND sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
	echo "CREATE TABLE persons(id INTEGER PRIMARY KEY, grid_code TEXT NOT NULL);"
	echo "ATTACH '$DB' AS city;"
	echo "INSERT INTO persons SELECT id, grid_code FROM city.persons ORDER BY id;"
	echo "INSERT INTO cases SELECT * FROM city.cases WHERE id > $CASE0;"
	echo "INSERT INTO contacts SELECT * FROM city.contacts WHERE case_id > $CASE0;"
	echo "INSERT INTO responsibles SELECT * FROM city.responsibles;"
} | sqlite3 "$BASE" >/dev/null
# (orders.persons references are kept as in the city: foreign keys on)
cat >"$TMP/inserts.sql" <<SQL
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
BEGIN;
CREATE TEMP TABLE m(degree INTEGER, kind TEXT, days INTEGER, test_day INTEGER);
INSERT INTO m VALUES (1, 'central', 7, 1), (1, 'central', 7, 2), (1, 'central', 7, 3), (1, 'central', 7, 5),
	(1, 'central', 7, 7), (2, 'home_isolation', 7, 1), (2, 'home_isolation', 7, 4), (2, 'home_isolation', 7, 7);
INSERT INTO orders(person_id, kind, category, case_id, status, start_at, planned_end, orig_end, created_at,
	created_by, phase, link_person, policy_version, activated_at, activated_by)
SELECT c.person_id, m.kind, CASE c.degree WHEN 1 THEN 'close' ELSE 'secondary' END, c.case_id, 'active',
	c.exposure_at, c.exposure_at + m.days * 86400, c.exposure_at + m.days * 86400, $TC, '$ACTOR', 1,
	CASE c.degree WHEN 2 THEN c.via_person END, 'protocol-9', $TC, '$ACTOR'
FROM contacts c JOIN (SELECT DISTINCT degree, kind, days FROM m) m ON m.degree = c.degree
WHERE c.exposure_at + m.days * 86400 > $TC
	AND NOT EXISTS (SELECT 1 FROM cases x WHERE x.person_id = c.person_id)
ORDER BY c.case_id, c.degree, c.exposure_at, c.person_id;
INSERT INTO order_tests(order_id, person_id, day, window_start, window_end, required)
SELECT o.id, o.person_id, m.test_day, o.start_at + (m.test_day - 1) * 86400, o.start_at + m.test_day * 86400,
	o.start_at + m.test_day * 86400 > $TC
FROM orders o JOIN m ON m.kind = o.kind ORDER BY o.id, m.test_day;
INSERT INTO order_events(order_id, at, kind, actor, detail)
SELECT id, $TC, 'proposed', '$ACTOR', category || ' ' || kind FROM orders
UNION ALL SELECT id, $TC, 'activated', '$ACTOR', kind FROM orders
UNION ALL SELECT id, $TC, 'assigned', '$ACTOR', 'room' FROM orders WHERE kind = 'central' ORDER BY 1;
INSERT INTO tasks(kind, person_id, region_code, due_at, created_at, source, ref_id, order_id)
SELECT 'order_test', t.person_id, p.grid_code, t.window_end, $TC, 'order:' || t.order_id, t.id, t.order_id
FROM order_tests t JOIN persons p ON p.id = t.person_id WHERE t.required = 1;
INSERT INTO order_responsibles(order_id, role, responsible_id)
SELECT o.id, x.role, (SELECT r.id FROM responsibles r WHERE r.role = x.role AND p.grid_code LIKE r.region_code || '%'
		AND r.region_code = substr(p.grid_code, 1, 9) ORDER BY r.id LIMIT 1)
FROM orders o JOIN persons p ON p.id = o.person_id,
	(SELECT 'town_cadre' role UNION ALL SELECT 'village_cadre' UNION ALL SELECT 'police' UNION ALL SELECT 'doctor'
		UNION ALL SELECT 'grid_worker') x;
INSERT INTO tasks(kind, person_id, region_code, due_at, created_at, source, ref_id, assignee_role, responsible_id, order_id, note)
SELECT 'wubao_' || x.role, o.person_id, p.grid_code, $TC + 86400, $TC, 'order:' || o.id, o.id, x.role, x.responsible_id, o.id, ''
FROM orders o JOIN persons p ON p.id = o.person_id JOIN order_responsibles x ON x.order_id = o.id
WHERE o.kind <> 'central';
INSERT INTO tasks(kind, person_id, region_code, due_at, created_at, source, ref_id, order_id, note)
SELECT 'transfer', o.person_id, p.grid_code, $TC + 86400, $TC, 'order:' || o.id, o.id, o.id, '闭环转运'
FROM orders o JOIN persons p ON p.id = o.person_id WHERE o.kind = 'central';
COMMIT;
SQL
sqlite3 "$BASE" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
t0=$(now)
sqlite3 "$BASE" <"$TMP/inserts.sql" >/dev/null
put sq_ins_s "$(since "$t0")"
read -r S_ORD S_TESTS S_TASKS S_EVENTS S_RESP < <(sqlite3 -separator ' ' "$BASE" "SELECT (SELECT count(*) FROM orders),
	(SELECT count(*) FROM order_tests), (SELECT count(*) FROM tasks), (SELECT count(*) FROM order_events),
	(SELECT count(*) FROM order_responsibles)")
put rows_sq "orders $S_ORD, order_tests $S_TESTS, tasks $S_TASKS, order_events $S_EVENTS, order_responsibles $S_RESP"
put sq_ins_rate "$(per "$S_ORD" "$(get sq_ins_s)")"
rm -f "$BASE" "$BASE-wal" "$BASE-shm"
log "sqlite3 inserts: $(get sq_ins_s) s ($(get rows_sq))"

# ==== 2c. the next day's tick: its results and checks recorded ====
D1=$((TA + DAY))
q >/dev/null <<SQL
BEGIN;
-- a negative result on every required test day of the bench's orders
-- whose window opens before the end of the day (sampled an hour in,
-- resulted 6 hours later, all before the tick)
INSERT INTO test_results(person_id, sampled_at, resulted_at, result, pooled, tube, lab)
SELECT t.person_id, s, min(s + 21600, $D1 - 60), 'negative', 1, 'BENCH' || t.id, 'bench'
FROM (SELECT t.*, max(t.window_start, $TA) + 3600 s FROM order_tests t JOIN orders o ON o.id = t.order_id
	WHERE o.case_id > $CASE0 AND o.status = 'active' AND t.required = 1) t
WHERE s < t.window_end AND s < $D1 - 120;
-- a health check in every slot (2 a day) of every active order until the tick
WITH RECURSIVE sl(slot) AS (SELECT ($TA + 28800) / 43200 UNION ALL SELECT slot + 1 FROM sl WHERE slot < ($D1 + 28800) / 43200)
INSERT INTO health_checks(order_id, person_id, at, slot, temp_dc, symptoms, by_role, by_user, created_at)
SELECT o.id, o.person_id, w.a, w.slot, 365, '', 'staff', '$ACTOR', w.a
FROM orders o JOIN (SELECT slot, max(slot * 43200 - 28800, $TA) + 60 a FROM sl) w
WHERE o.case_id > $CASE0 AND o.status = 'active' AND w.a < $D1;
COMMIT;
SQL
read -r R_RES R_CHK < <(q -separator ' ' "SELECT (SELECT count(*) FROM test_results WHERE lab = 'bench'), (SELECT count(*) FROM health_checks WHERE by_user = '$ACTOR')")
snap() { q -separator ' ' "SELECT
	(SELECT count(*) FROM orders WHERE case_id > $CASE0 AND end_reason = 'released'),
	(SELECT count(*) FROM orders WHERE case_id > $CASE0 AND phase = 2),
	(SELECT count(*) FROM order_events e JOIN orders o ON o.id = e.order_id WHERE o.case_id > $CASE0 AND e.kind = 'extended'),
	(SELECT count(*) FROM order_tests t JOIN orders o ON o.id = t.order_id WHERE o.case_id > $CASE0 AND t.result IS NOT NULL),
	(SELECT count(*) FROM tasks WHERE kind = 'check_missed'),
	(SELECT count(*) FROM risk_areas WHERE created_by <> '$ACTOR'),
	(SELECT count(*) FROM stays WHERE left_at IS NOT NULL)"; }
read -r b_rel b_ph2 b_ext b_res b_miss b_risk b_left < <(snap)
AT=$(python3 -c "import datetime; print(datetime.datetime.fromtimestamp($D1, datetime.timezone(datetime.timedelta(hours=8))).isoformat())")
t0=$(now)
"$FK" control tick --db "$DB" --policy "$POLICY" --at "$AT" >"$TMP/daytick.out" 2>&1 || { cat "$TMP/daytick.out" >&2; die "day tick failed"; }
put tick_day "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", (b - a) * 1000 }')"
read -r a_rel a_ph2 a_ext a_res a_miss a_risk a_left < <(snap)
put day_did "$((a_rel - b_rel)) released, $((a_ph2 - b_ph2)) home-monitoring phases, $((a_ext - b_ext)) extended, $((a_res - b_res)) test days resulted, $((a_left - b_left)) rooms left, $((a_risk - b_risk)) risk-area changes, $((a_miss - b_miss)) missed-check tasks"
log "day tick at $AT ($R_RES results and $R_CHK checks recorded before it): $(get tick_day) ms: $(get day_did); $(cat "$TMP/daytick.out")"

# ==== summary ====
echo
echo "== control bench summary: $P persons, $NCASES cases, $NCLOSE close + $NSEC secondary contacts, $NRISK risk areas, $ROOMS rooms, $POLICY, $(nproc) cores"
row() { printf '  %-50s %-26s %s\n' "$1" "$2" "$3"; }
echo "orders: proposal and bulk confirmation ($(get orders) orders: $(get assigned) rooms, $(get queued) queued)"
row "fangkong POST /api/v1/orders/propose x $NCASES" "$(get propose_rate) orders/s" "$(get propose_s) s"
row "fangkong POST /api/v1/orders/confirm x 10,000 ids" "$(get confirm_rate) orders/s" "$(get confirm_s) s (calls $(get confirm_calls) s)"
row "fangkong propose + confirm" "$(get both_rate) orders/s" "rows: $(get rows_fk)"
row "sqlite3, the same inserts, one transaction" "$(get sq_ins_rate) orders/s" "$(get sq_ins_s) s; rows: $(get rows_sq); fangkong/sqlite3 $(ratio "$(get both_rate)" "$(get sq_ins_rate)")"
echo "the tick (every second in the server)"
row "server idle, no orders" "$(get idle_noorders) ms CPU/s" "$IDLE s (all threads; the tick runs every second)"
row "server idle, $(get orders) active orders" "$(get idle_orders) ms CPU/s" "$IDLE s, measured once the server had settled ($(get settle_orders) s after the confirmation: the health code's recompute)"
row "fangkong control tick (process, first tick)" "$(get tick_orders) ms" "median of $TICKS, with the orders; $(get tick_noorders) ms without, $(get tick_bare) ms on the bare city"
row "fangkong control tick at the end of the next day" "$(get tick_day) ms" "$(get day_did)"
echo "whole-city health-code recompute, fangkong code --all (median of 3)"
row "bare city" "$(get code_bare) ms" "$(get code_bare_colours); $(get code_bare_facts) with facts"
row "+ cases, contacts, risk areas, no orders" "$(get code_noorders) ms" "$(get code_noorders_colours); $(get code_noorders_facts) with facts"
row "+ $(get orders) active orders" "$(get code_orders) ms" "$(get code_orders_colours); $(get code_orders_facts) with facts; orders/no orders $(ratio "$(get code_orders)" "$(get code_noorders)")"
echo "reads, one request after another on a keep-alive connection"
if [ -n "$(get board_timeout)" ]; then
	row "GET /api/v1/isolation/board" "> $(get board_timeout) s" "no answer within the budget (CONTROL_BOARD_BUDGET)$([ -n "$(get board_n)" ] && echo "; $(get board_n) answered")"
else
	row "GET /api/v1/isolation/board ($(get board_bytes) bytes)" "median $(get board_p50) ms" "p99 $(get board_p99) ms, $(get board_n) requests"
fi
row "sqlite3, the board's figures from base tables" "$(get sq_board) ms" "median of 3 (process incl.); sqlite3/fangkong $(ratio "$(get sq_board)" "$(get board_p50)"); counts equal: $(get board_check)"
row "GET /api/v1/persons/{id}/orders ($(get timeline_bytes) bytes)" "median $(get timeline_p50) ms" "p99 $(get timeline_p99) ms, $(get timeline_n) persons"
row "sqlite3, the same timelines from base tables" "$(get sq_timeline) ms a person" "sqlite3/fangkong $(ratio "$(get sq_timeline)" "$(get timeline_p50)")"
echo "== control bench done"
