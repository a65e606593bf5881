#!/bin/bash
# bench/code.sh — health codes at city scale (issue 5, sections 5 and 6),
# each figure against a target and, for throughput, a baseline run in the
# same run (called by bench/run.sh; runs alone too).
#
# A city of BENCH_PERSONS persons (default 3,000,000, seed 1) with the
# records codes are computed from, inserted with sqlite3 and scaled to the
# city (the figures in brackets are for 3,000,000 persons; every time lies
# in the week before now):
#   cases [200] (1 in 6 asymptomatic, 1 in 10 released), contacts [20,000]
#   (2 in 5 close, the rest secondary through a close contact; found 6 to
#   17 h after exposure), orders [5,000] on close contacts (central, home
#   isolation, home monitoring; 1 in 20 completed), a high-risk town and a
#   medium-risk community of the city plus a high-risk and a medium-risk
#   county elsewhere, negative results [1,000,000] (1 in 3 from 10-in-1
#   pooled tubes), pool_positive results [2,000] (tubes of 10, half of
#   them already followed by a negative single-tube retest), fever alerts
#   [300] (1 in 3 cleared), arrivals [2,000] (from high, medium and low
#   risk origins).
# Then:
#   1. whole-city recompute: `fangkong code --all` (median of
#      CODE_RECOMPUTE_RUNS, 3), the recompute time it reports for every
#      person; target <= 2 s.  The colour counts are printed.
#   2. code display: GET /api/v1/me/code by CODE_CITIZENS (200) citizens
#      in turn (bench/code_get.lua), wrk 2 threads, CODE_CONNS (64)
#      connections, loopback, vs nginx serving one real answer of about
#      average size as a static file, driven by the same script; the two
#      alternate for CODE_ROUNDS (2) rounds and the best round of each
#      counts (p99 of that round); targets >= 50 % of nginx's
#      requests/s, p99 <= 10 ms.
#   3. surge: at 10x the connections on /api/v1/me/code while a second
#      wrk posts scans (bench/scans.lua, CODE_CONNS connections) and a
#      third asks an optional route (CODE_OPTIONAL_PATH, default /metrics,
#      CODE_CONNS connections): code display and scans must keep answering
#      (no timeouts, no refusals); optional answers shed with 503 and
#      Retry-After are counted (and spot-checked with curl).
# Servers listen on 127.0.0.1 only; every file and process is gone at the
# end.  Knobs: BENCH_BUILD (build) or FK, BENCH_PERSONS, CODE_SECONDS (per
# wrk run, default BENCH_SECONDS or 10), CODE_DB=FILE (use this database:
# generated there and kept when missing, its city reused when present;
# the bench records are replaced on every run), CODE_SERVE_ARGS (extra
# `fangkong serve` flags).
#   BENCH_PERSONS=100000 CODE_SECONDS=3 bash bench/code.sh     a quick run
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FK=${FK:-$ROOT/${BENCH_BUILD:-build}/fangkong}
N=${BENCH_PERSONS:-3000000}
DUR=${CODE_SECONDS:-${BENCH_SECONDS:-10}}
K=${CODE_CITIZENS:-200}
CONNS=${CODE_CONNS:-64}
SURGE=$((CONNS * 10))
REPS=${CODE_RECOMPUTE_RUNS:-3}
ROUNDS=${CODE_ROUNDS:-2}
OPT=${CODE_OPTIONAL_PATH:-/metrics}
TMP=$(mktemp -d /tmp/fk-code.XXXXXX)
chmod 755 "$TMP" # nginx's workers (nobody) read the static file
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT
export FK_PROGRESS=0

need() { command -v "$1" >/dev/null 2>&1 || { echo "code: installing $2" >&2; apt-get install -y -q "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
verdict() { awk -v c="$1" 'BEGIN { print (c ? "met" : "NOT met") }'; }
# fields of bench/code_get.lua's and bench/scans.lua's summary lines
field() { awk -v k="$2" -v l="$3" 'index($0, l) == 1 { for (i = 1; i < NF; i++) if ($i == k) { v = $(i + 1); sub(/,$/, "", v); print v; exit } }' "$1"; }
rps() { awk -v l="$2:" '$1 == l && /requests\/s/ { for (i = 1; i < NF; i++) if ($(i + 1) == "requests/s") print $i }' "$1"; }
# wrk bounded twice: its own -d, and a kill should it hang
wrk_run() { timeout -k 5 $((DUR + 60)) wrk -t2 --timeout 5s --latency "$@"; }
log() { echo "code: $*" >&2; }

echo "== code bench: $N persons, $(nproc) cores, $(date -u +%FT%TZ)"

# ---- the city ----
if [ -n "${CODE_DB:-}" ]; then DB=$CODE_DB; else DB=$TMP/city.db; fi
if [ -s "$DB" ] && [ "$(sqlite3 "$DB" "SELECT count(*) FROM persons" 2>/dev/null || echo 0)" -gt 0 ]; then
	log "reusing the city in $DB"
else
	t0=$(now)
	"$FK" init --db "$DB" >/dev/null 2>&1
	"$FK" gen --db "$DB" --persons "$N" --seed 1 >/dev/null
	log "gen: $N persons in $(since "$t0") s"
fi
M=$(sqlite3 "$DB" "SELECT max(id) FROM persons")
P=$(sqlite3 "$DB" "SELECT count(*) FROM persons")
[ "$M" = "$P" ] || { echo "code: persons.id is not 1..$P (max $M)" >&2; exit 1; }
CITY=$(sqlite3 "$DB" "SELECT value FROM meta WHERE key='city'")
NV=$(sqlite3 "$DB" "SELECT count(*) FROM venue_keys")

# ---- the records, scaled to the city ----
scale() { awk -v n="$P" -v c="$1" -v m="$2" -v q="${3:-1}" 'BEGIN { x = int(c * n / 3000000 / q + 0.5) * q; if (x < m) x = m; print x }'; }
NC=$(scale 200 10)
NCT=$(scale 20000 100)
NO=$(scale 5000 40)
NNEG=$(scale 1000000 1000)
NPP=$(scale 2000 20 10)
NF=$(scale 300 10)
NA=$(scale 2000 20)
HIGH=$(sqlite3 "$DB" "SELECT code FROM regions WHERE level = 4 ORDER BY code LIMIT 1 OFFSET 3")
MEDIUM=$(sqlite3 "$DB" "SELECT code FROM regions WHERE level = 5 AND code NOT LIKE '$HIGH%' ORDER BY code DESC LIMIT 1")
NOW=$(date +%s)
D=86400
t0=$(now)
# person of row i in set `off`: 1 + (i * 2654435761 + off) mod P, one to one
# over i < P (2654435761 is a prime above any P): a set never
# names a person twice
pid() { echo "(1 + ($1 * 2654435761 + $2) % $P)"; }
FOUND="($NOW - $D * (1 + i % 6) - (i * 7919) % 43200 + 21600 + (i % 12) * 3600)" # contact i found
sqlite3 "$DB" >/dev/null <<SQL
PRAGMA cache_size = -524288;
BEGIN;
DELETE FROM contacts WHERE case_id IN (SELECT id FROM cases WHERE created_by = 'bench.code');
DELETE FROM orders WHERE created_by = 'bench.code';
DELETE FROM cases WHERE created_by = 'bench.code';
DELETE FROM risk_areas WHERE created_by = 'bench.code';
DELETE FROM test_results WHERE lab = 'bench.code';
DELETE FROM alerts WHERE kind = 'fever' AND detail LIKE 'bench.code%';
DELETE FROM arrivals WHERE recorded_by = 'bench.code';
CREATE TEMP TABLE k(i INTEGER PRIMARY KEY);
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < $NNEG - 1)
INSERT INTO k SELECT i FROM s;
CREATE TEMP TABLE b AS SELECT coalesce(max(id), 0) AS c0 FROM cases;
INSERT INTO cases(id, person_id, classification, onset_at, first_positive_at, isolated_at,
	chain_id, created_at, created_by, released_at)
SELECT c0 + 1 + i, $(pid i 11),
	CASE WHEN i % 6 = 5 THEN 'asymptomatic' ELSE 'confirmed' END,
	CASE WHEN i % 6 = 5 THEN NULL ELSE o END, o + 43200, o + 43200, c0 + 1 + i,
	o + 46800, 'bench.code', CASE WHEN i % 10 = 9 THEN $NOW - 3600 END
FROM (SELECT i, $NOW - $D * (1 + i % 7) - (i * 3571) % $D AS o FROM k WHERE i < $NC), b;
INSERT INTO contacts(person_id, case_id, degree, exposure_at, via_person, venue_id, household, found_at)
SELECT $(pid i 1234567), c0 + 1 + i % $NC, CASE WHEN i % 5 < 2 THEN 1 ELSE 2 END,
	$NOW - $D * (1 + i % 6) - (i * 7919) % 43200,
	CASE WHEN i % 5 >= 2 THEN $(pid "(i / 5 * 5)" 1234567) END,
	CASE WHEN i % 7 = 0 THEN NULL ELSE 1 + (i * 31) % $NV END,
	i % 7 = 0, $FOUND
FROM k, b WHERE i < $NCT;
INSERT INTO orders(person_id, kind, category, case_id, status, start_at, planned_end, ended_at,
	created_at, created_by)
SELECT $(pid i 1234567),
	CASE WHEN o % 10 < 6 THEN 'central' WHEN o % 10 < 9 THEN 'home_isolation' ELSE 'home_monitoring' END,
	'close', c0 + 1 + i % $NC, CASE WHEN o % 20 = 13 THEN 'completed' ELSE 'active' END,
	$FOUND, $FOUND + 7 * $D,
	CASE WHEN o % 20 = 13 THEN min($FOUND + 3 * $D, $NOW - 60) END, $FOUND, 'bench.code'
FROM (SELECT i AS o, i / 2 * 5 + i % 2 AS i FROM k WHERE i < $NO), b;
INSERT INTO risk_areas(region_code, level, start_at, end_at, reason, created_at, created_by)
VALUES ('$HIGH', 'high', $NOW - 3 * $D, NULL, 'bench', $NOW - 3 * $D, 'bench.code'),
	('$MEDIUM', 'medium', $NOW - 2 * $D, NULL, 'bench', $NOW - 2 * $D, 'bench.code'),
	('440106', 'high', $NOW - 6 * $D, NULL, 'bench', $NOW - 6 * $D, 'bench.code'),
	('310115', 'medium', $NOW - 6 * $D, NULL, 'bench', $NOW - 6 * $D, 'bench.code');
INSERT INTO test_results(person_id, sampled_at, resulted_at, result, pooled, tube, lab)
SELECT $(pid i 777), s, s + 14400 + i % 7200, 'negative', CASE WHEN i % 3 = 0 THEN 10 ELSE 1 END,
	CASE WHEN i % 3 = 0 THEN 'P' || (i / 30) ELSE 'S' || i END, 'bench.code'
FROM (SELECT i, $NOW - 28800 - (i * 104729) % 576000 AS s FROM k WHERE i < $NNEG);
INSERT INTO test_results(person_id, sampled_at, resulted_at, result, pooled, tube, lab)
SELECT $(pid i 4242), s, s + 14400, 'pool_positive', 10, 'PP' || (i / 10), 'bench.code'
FROM (SELECT i, $NOW - 20000 - $D * ((i / 10) % 3) - ((i / 10) * 37) % 3600 AS s FROM k WHERE i < $NPP);
INSERT INTO test_results(person_id, sampled_at, resulted_at, result, pooled, tube, lab)
SELECT $(pid i 4242), s + 16200, s + 19800, 'negative', 1, 'PR' || i, 'bench.code'
FROM (SELECT i, $NOW - 20000 - $D * ((i / 10) % 3) - ((i / 10) * 37) % 3600 AS s FROM k
	WHERE i < $NPP AND (i / 10) % 2 = 0);
INSERT INTO alerts(kind, person_id, region_code, at, detail, cleared_at, cleared_by)
SELECT 'fever', p, (SELECT grid_code FROM persons WHERE id = p), a, 'bench.code: 37.9 at a scan',
	CASE WHEN i % 3 = 0 AND a < $NOW - 7200 THEN a + 7200 END,
	CASE WHEN i % 3 = 0 AND a < $NOW - 7200 THEN 'bench.code' END
FROM (SELECT i, $(pid i 9999) AS p, $NOW - 60 - (i * 6007) % (3 * $D) AS a FROM k WHERE i < $NF);
INSERT INTO arrivals(person_id, origin_code, arrived_at, source, recorded_by)
SELECT $(pid i 31337), CASE i % 4 WHEN 0 THEN '440106' WHEN 1 THEN '310115' WHEN 2 THEN '110105' ELSE '510104' END,
	$NOW - 60 - (i * 8191) % (7 * $D), CASE WHEN i % 5 = 0 THEN 'push' ELSE 'checkpoint' END, 'bench.code'
FROM k WHERE i < $NA;
INSERT OR REPLACE INTO meta(key, value) VALUES ('bench_code_facts', '$NOW');
COMMIT;
SQL
echo "records: $NC cases, $NCT contacts, $NO orders, 4 risk areas (high $HIGH, medium $MEDIUM), $NNEG negative and $NPP pool_positive results, $NF fevers, $NA arrivals, inserted in $(since "$t0") s"

# ---- 1. whole-city recompute ----
: >"$TMP/recompute"
for r in $(seq "$REPS"); do
	t0=$(now)
	if ! timeout -k 5 600 "$FK" code --all --db "$DB" >"$TMP/all.out" 2>&1; then
		cat "$TMP/all.out" >&2
		echo "code: fangkong code --all failed" >&2
		exit 1
	fi
	wall=$(since "$t0")
	ms=$(grep -oE 'recompute: .* in [0-9.]+ ms' "$TMP/all.out" | grep -oE '[0-9.]+ ms$' | cut -d' ' -f1 || true)
	[ -n "$ms" ] || { cat "$TMP/all.out" >&2; echo "code: no 'recompute: ... in X ms' line" >&2; exit 1; }
	echo "$ms $wall" >>"$TMP/recompute"
	log "recompute run $r: $ms ms (command ${wall} s)"
done
sed 's/^/  /' "$TMP/all.out"
MS=$(sort -n "$TMP/recompute" | awk '{ v[NR] = $1; w[NR] = $2 } END { i = int((NR + 1) / 2); print v[i], w[i] }')
RMS=${MS% *}
ALL=$(awk '{ printf "%s%s", (NR > 1 ? ", " : ""), $1 }' "$TMP/recompute")
COLOURS=$(grep -oiE '(green|yellow|red)[^0-9a-z]{0,12}[0-9]+' "$TMP/all.out" | tr -s ' \n' ' ' | sed 's/ $//' || true)
echo "whole-city recompute: $P persons in $RMS ms (median of $REPS runs: $ALL ms; whole command ${MS#* } s); target <= 2000 ms: $(verdict "$(awk -v m="$RMS" 'BEGIN { print (m <= 2000) }')")"
echo "  colours: ${COLOURS:-see above}"

# ---- accounts: citizens, a venue device, a command user ----
RUN=$(date +%s)
PW=bench-code-pass-1
sqlite3 "$DB" "SELECT id_number FROM persons WHERE id IN (
	SELECT person_id FROM contacts WHERE case_id IN (SELECT id FROM cases WHERE created_by = 'bench.code')
	ORDER BY person_id LIMIT $((K / 4)))
	UNION SELECT id_number FROM persons WHERE id IN (SELECT person_id FROM test_results WHERE lab = 'bench.code' AND result = 'pool_positive' LIMIT $((K / 20)))
	UNION SELECT id_number FROM persons WHERE (id - 1) % $((P / K + 1)) = 0" >"$TMP/candidates"
head -n "$K" "$TMP/candidates" >"$TMP/citizens"
t0=$(now)
i=0
while read -r idn; do
	"$FK" user add --db "$DB" --username "bench.c$RUN.$i" --role citizen --person "$idn" \
		--password "$PW" </dev/null >/dev/null 2>>"$TMP/users.log" &
	i=$((i + 1))
	if ((i % 4 == 0)); then wait; fi
done <"$TMP/citizens"
wait
"$FK" user add --db "$DB" --username "bench.v$RUN" --role venue --scope "$CITY" --password "$PW" >/dev/null 2>>"$TMP/users.log"
"$FK" user add --db "$DB" --username "bench.m$RUN" --role command --scope "$CITY" --password "$PW" >/dev/null 2>>"$TMP/users.log"
# the first-login password change is skipped in this throw-away database
# (tests cover it): every account logs in once, nothing else
sqlite3 "$DB" "UPDATE users SET must_change_password = 0 WHERE username LIKE 'bench._$RUN%'"
NU=$(sqlite3 "$DB" "SELECT count(*) FROM users WHERE username LIKE 'bench.c$RUN.%'")
[ "$NU" -eq "$(wc -l <"$TMP/citizens")" ] || { cat "$TMP/users.log" >&2; echo "code: $NU citizen accounts created" >&2; exit 1; }
log "$NU citizen accounts in $(since "$t0") s"

# ---- the server ----
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
t0=$(now)
# shellcheck disable=SC2086
"$FK" serve --db "$DB" --listen "127.0.0.1:$PORT" --web /nonexistent ${CODE_SERVE_ARGS:-} >"$TMP/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 3000); do
	curl -sf --max-time 2 "$URL/healthz" >/dev/null && break
	kill -0 "${PIDS[0]}" 2>/dev/null || { cat "$TMP/serve.log" >&2; exit 1; }
	sleep 0.1
done
curl -sf --max-time 2 "$URL/healthz" >/dev/null || { cat "$TMP/serve.log" >&2; echo "code: server not ready" >&2; exit 1; }
echo "server: ready in $(since "$t0") s ($(grep -o '[0-9]* threads' "$TMP/serve.log" || echo '? threads'))"

# logins (4 at a time: the server's per-address throttle reserves an
# attempt per login in progress) -> one token a line
python3 - "$URL" "$PW" "bench.c$RUN" "$NU" "bench.v$RUN" "bench.m$RUN" "$TMP" <<'PY'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
url, pw, prefix, n, venue, cmd, tmp = sys.argv[1:8]
def login(u):
    r = urllib.request.Request(url + "/api/v1/sessions", method="POST",
        data=json.dumps({"username": u, "password": pw}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(r, timeout=30) as f:
        return json.load(f)["token"]
with ThreadPoolExecutor(4) as ex:
    toks = list(ex.map(login, [f"{prefix}.{i}" for i in range(int(n))]))
open(tmp + "/tokens", "w").write("".join(t + "\n" for t in toks))
open(tmp + "/venue.token", "w").write(login(venue) + "\n")
open(tmp + "/cmd.token", "w").write(login(cmd) + "\n")
PY

# every citizen's code once: all must answer 200; the answer nearest the
# average size becomes nginx's static file
mkdir -p "$TMP/www"
python3 - "$URL" "$TMP" <<'PY' || exit 1
import json, sys, urllib.request, urllib.error
url, tmp = sys.argv[1:3]
bodies, colours, bad = [], {}, []
for t in open(tmp + "/tokens").read().split():
    r = urllib.request.Request(url + "/api/v1/me/code", headers={"Authorization": "Bearer " + t})
    try:
        with urllib.request.urlopen(r, timeout=30) as f:
            b = f.read()
        c = json.loads(b).get("colour", "?")
        colours[c] = colours.get(c, 0) + 1
        bodies.append(b)
    except urllib.error.HTTPError as e:
        bad.append(f"{e.code} {e.read()[:200]!r}")
if bad:
    print(f"code: GET /api/v1/me/code: {len(bad)} of {len(bad) + len(bodies)} not 200, e.g. {bad[0]}", file=sys.stderr)
    sys.exit(1)
avg = sum(map(len, bodies)) / len(bodies)
b = min(bodies, key=lambda x: abs(len(x) - avg))
open(tmp + "/www/code.json", "wb").write(b)
print(f"citizens: {len(bodies)}, colours {', '.join(f'{k} {v}' for k, v in sorted(colours.items()))}; "
      f"answers {min(map(len, bodies))}..{max(map(len, bodies))} bytes, average {avg:.0f}; static file {len(b)} bytes")
PY

# venue codes signed with the server's key (it exists once the server ran),
# and up to 100,000 persons to scan
python3 - "$DB" >"$TMP/venues" <<'PY'
import base64, hashlib, hmac, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
key = bytes.fromhex(db.execute("SELECT value FROM meta WHERE key='venue_key'").fetchone()[0])
for (code,) in db.execute("SELECT code FROM venues"):
    sig = hmac.new(key, b"V:" + code.encode(), hashlib.sha512).digest()[:10]
    print(f"FK1:V:{code}:{base64.b32encode(sig).decode()}")
PY
sqlite3 "$DB" "SELECT id_number FROM persons WHERE (id - 1) % $((P / 100000 + 1)) = 0" >"$TMP/persons"

# ---- nginx ----
NPORT=$(free_port)
cat >"$TMP/nginx.conf" <<EOF
worker_processes 2;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/nb; proxy_temp_path $TMP/np; fastcgi_temp_path $TMP/nf; uwsgi_temp_path $TMP/nu; scgi_temp_path $TMP/ns;
  server { listen 127.0.0.1:$NPORT; root $TMP/www; location / { default_type application/json; } }
}
EOF
nginx -c "$TMP/nginx.conf" &
PIDS+=($!)
for _ in $(seq 50); do curl -sf --max-time 2 "http://127.0.0.1:$NPORT/code.json" >/dev/null && break; sleep 0.1; done
curl -sf --max-time 2 "http://127.0.0.1:$NPORT/code.json" >/dev/null || { cat "$TMP/nginx.err" >&2; echo "code: nginx does not serve the file" >&2; exit 1; }

# ---- 2. code display vs nginx ----
export CODE_TOKENS=$TMP/tokens
CODE_LABEL=warm wrk_run -c"$CONNS" -d2s -s bench/code_get.lua "$URL" >/dev/null
# alternating rounds, the best of each side: other load on the machine
# hits both sides alike
: >"$TMP/code.all"; : >"$TMP/nginx.all"
for r in $(seq "$ROUNDS"); do
	CODE_LABEL=code wrk_run -c"$CONNS" -d"${DUR}s" -s bench/code_get.lua "$URL" >"$TMP/code.$r" 2>&1
	CODE_LABEL=nginx CODE_PATH=/code.json wrk_run -c"$CONNS" -d"${DUR}s" -s bench/code_get.lua \
		"http://127.0.0.1:$NPORT" >"$TMP/nginx.$r" 2>&1
	echo "$(rps "$TMP/code.$r" code) $r" >>"$TMP/code.all"
	echo "$(rps "$TMP/nginx.$r" nginx) $r" >>"$TMP/nginx.all"
	log "round $r: fangkong $(rps "$TMP/code.$r" code) req/s, p99 $(field "$TMP/code.$r" p99 "code latency") ms; nginx $(rps "$TMP/nginx.$r" nginx) req/s, p99 $(field "$TMP/nginx.$r" p99 "nginx latency") ms"
done
cp "$TMP/code.$(sort -rn "$TMP/code.all" | head -1 | cut -d' ' -f2)" "$TMP/code.out"
cp "$TMP/nginx.$(sort -rn "$TMP/nginx.all" | head -1 | cut -d' ' -f2)" "$TMP/nginx.out"
# every round counts for refusals and timeouts
E1=$(cat "$TMP"/code.[0-9]* | awk '/^code errors:/ { for (i = 1; i < NF; i++) if ($i == "status") s += $(i + 1) } END { print s + 0 }')
T1=$(cat "$TMP"/code.[0-9]* | awk '/^code errors:/ { for (i = 1; i < NF; i++) if ($i == "timeout") s += $(i + 1) } END { print s + 0 }')
R1=$(rps "$TMP/code.out" code); R2=$(rps "$TMP/nginx.out" nginx)
L1=$(field "$TMP/code.out" p99 "code latency"); L2=$(field "$TMP/nginx.out" p99 "nginx latency")
RA=$(ratio "$R1" "$R2")
echo "code display GET /api/v1/me/code ($NU citizens in turn, $CONNS connections, best of $ROUNDS x ${DUR} s): $R1 req/s, p99 $L1 ms; $E1 not 2xx, $T1 timeouts in all rounds"
echo "  baseline nginx, one answer as a static file (same script, best of $ROUNDS): $R2 req/s, p99 $L2 ms; fangkong/nginx throughput ratio $RA"
echo "  target >= 0.50 of nginx: $(verdict "$(awk -v r="$RA" 'BEGIN { print (r != "n/a" && r >= 0.5) }')"); target p99 <= 10 ms: $(verdict "$(awk -v p="$L1" -v e="$E1" 'BEGIN { print (p <= 10 && e == 0) }')")"

# ---- 3. surge ----
SCANS_TOKEN=$(cat "$TMP/venue.token") SCANS_PERSONS=$TMP/persons SCANS_VENUES=$TMP/venues SCANS_RUN=surge$RUN \
	wrk_run -c"$CONNS" -d"${DUR}s" -s bench/scans.lua "$URL" >"$TMP/scans.out" 2>&1 &
W2=$!
CODE_LABEL=optional CODE_STATUS=1 CODE_PATH=$OPT CODE_TOKENS=$TMP/cmd.token \
	wrk_run -c"$CONNS" -d"${DUR}s" -s bench/code_get.lua "$URL" >"$TMP/opt.out" 2>&1 &
W3=$!
CODE_LABEL=surge wrk_run -c"$SURGE" -d"${DUR}s" -s bench/code_get.lua "$URL" >"$TMP/surge.out" 2>&1 &
W1=$!
# spot check in the middle of the surge: the headers of an optional request
sleep "$(awk -v d="$DUR" 'BEGIN { print d / 2 }')"
SPOT=0; SPOT503=0; SPOTRA=0
for _ in $(seq 20); do
	h=$(curl -s --max-time 5 -o /dev/null -D - -H "Authorization: Bearer $(cat "$TMP/cmd.token")" "$URL$OPT" || true)
	SPOT=$((SPOT + 1))
	if echo "$h" | head -1 | grep -q ' 503'; then
		SPOT503=$((SPOT503 + 1))
		echo "$h" | grep -qi '^retry-after:' && SPOTRA=$((SPOTRA + 1))
	fi
done
rc=0
wait "$W1" || rc=1
wait "$W2" || rc=1
wait "$W3" || rc=1
[ "$rc" = 0 ] || { cat "$TMP/surge.out" "$TMP/scans.out" "$TMP/opt.out" >&2; echo "code: a surge wrk failed" >&2; exit 1; }
SR=$(rps "$TMP/surge.out" surge); SL=$(field "$TMP/surge.out" p99 "surge latency")
SE=$(field "$TMP/surge.out" status "surge errors"); ST=$(field "$TMP/surge.out" timeout "surge errors")
SC=$(field "$TMP/surge.out" connect "surge errors")
XR=$(awk '/^durable scans\/s/ { print $3 }' "$TMP/scans.out"); XL=$(field "$TMP/scans.out" p99 "latency ms")
XN=$(awk '/^scans:/ { print $(NF - 2) }' "$TMP/scans.out")
XT=$(awk '/Socket errors/ { for (i = 1; i < NF; i++) if ($i == "timeout") print $(i + 1) } END { }' "$TMP/scans.out")
XT=${XT:-0}
OR=$(rps "$TMP/opt.out" optional); OS=$(grep '^optional status:' "$TMP/opt.out" | cut -d' ' -f3-)
OT=$(field "$TMP/opt.out" timeout "optional errors")
echo "surge ($SURGE connections on GET /api/v1/me/code, $CONNS posting scans, $CONNS on GET $OPT, ${DUR} s):"
echo "  code display: $SR req/s, p99 $SL ms, $SE not 2xx, timeouts $ST, connect errors $SC"
echo "  scans: $XR durable scans/s, p99 $XL ms, $XN not 201, timeouts $XT"
echo "  optional $OPT: $OR req/s; $OS; timeouts $OT; curl spot check mid-surge: $SPOT503 of $SPOT answered 503 ($SPOTRA with Retry-After)"
echo "  target code display and scans keep answering (nothing refused, nothing timed out): $(verdict "$(awk -v a="$SE" -v b="$ST" -v c="$SC" -v d="$XN" -v e="$XT" -v r="$SR" -v x="$XR" 'BEGIN { print (a + b + c + d + e == 0 && r > 0 && x > 0) }')"); optional shed with 503 + Retry-After: $(awk -v s="$OS" 'BEGIN { split(s, f, " "); n = f[4] + 0; print (n > 0 ? "yes" : "none shed") }')"
echo "== code bench done"
