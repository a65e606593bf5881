#!/bin/bash
# bench/testing.sh — nucleic-acid testing at city scale (issue 6, sections
# 4 and 6), each figure against a target and a baseline run in the same run
# (called by bench/run.sh; runs alone too).
#
# A city of BENCH_PERSONS persons (default 3,000,000, seed 1), then:
#   1. sampling registration at a surge: POST /api/v1/samples under wrk
#      (2 threads, TESTING_CONNS connections, 64, for TESTING_SECONDS, 20,
#      loopback; bench/samples.lua), every request a person not yet sampled
#      in a whole-city campaign put into the next place of a 10-in-1 tube
#      (the tube bound by its first sample through the campaign and site
#      fields), so no request is refused for a reason of the data.  Durable
#      registrations/s = rows in samples of the run's campaign counted
#      after the run / the run's time (a 201 is sent only once the sample is
#      committed with synchronous=FULL), p99, 503s and timeouts; then the
#      same at 10x the connections (a fresh campaign: the surge must shed
#      with 503 + Retry-After, not time out).  Targets at 64 connections:
#      >= 10,000 registrations/s, p99 <= 50 ms.
#      Baselines in the same run: the sqlite3 shell doing the same durable
#      writes of a registration (insert the sample looked up by ID number,
#      count it on the tube, the grid's coverage counters and the site's
#      hour; the same tables and indexes, WAL, synchronous=FULL) one
#      transaction per registration, and 1,000 registrations per
#      transaction; nginx serving one real 201 answer as a static file
#      (same connections, bench/code_get.lua).
#   2. result import: a 25M-person round at 10-in-1 (TESTING_TUBES tubes,
#      2,500,000): a copy of the city gets whole-city campaigns on
#      consecutive days, each sampling every person in tubes of 10, until
#      TESTING_TUBES x 10 samples exist (INSERT ... SELECT); the lab's CSV
#      (tube,result,reported_at) is mostly negative, 1 tube in 20,000
#      positive, 1 in 5,000 invalid.  `fangkong import results` (rows/s and
#      members/s), then its effects are checked against counts from the
#      rows (results, retest and resample tasks, the coverage counters).
#      Baselines: the sqlite3 shell's .import of the same CSV into a plain
#      table plus an UPDATE ... FROM joining it onto a copy of the tubes
#      (same indexes), and PostgreSQL COPY of the same file plus the same
#      UPDATE (when PostgreSQL is installed; TESTING_PG=0 skips it).
#   3. coverage: GET /api/v1/campaigns/1/coverage?depth=all on the database
#      of step 2 (campaign 1: the whole city sampled and resulted), the
#      tree of the city down to every grid; TESTING_COVERAGE_REQS (50)
#      requests one after another on one keep-alive connection: median and
#      p99, target <= 200 ms.  Baseline: sqlite3 computing the same figures
#      from the raw rows (persons, samples, tubes, campaign_exempt) with
#      GROUP BY per grid and the roll-up up the region tree in SQL; every
#      node of the API's tree must equal the reference.
# Servers listen on 127.0.0.1 only; every file and process is gone at the
# end.  Knobs: BENCH_BUILD (build) or FK, BENCH_PERSONS, TESTING_DB=FILE
# (the city: generated there and kept when missing, reused when present;
# the bench adds its campaigns and samples to it), TESTING_SECONDS,
# TESTING_CONNS, TESTING_TUBES, TESTING_ROUND_DB=FILE (build the database
# of step 2 there and keep it; replaced on every run), TESTING_SQLITE_TX
# (registrations of the one-per-transaction baseline, 10,000),
# TESTING_SQLITE_BATCH (of the batched one, 200,000),
# TESTING_COVERAGE_REQS, TESTING_PG,
# TESTING_SERVE_ARGS (extra `fangkong serve` flags), TESTING_PERF=1 (perf
# profile of the server during the 64-connection run, and its fsyncs),
# TESTING_STEPS (default "sampling results coverage"; coverage needs
# results).
#   BENCH_PERSONS=200000 TESTING_SECONDS=5 TESTING_TUBES=200000 bash bench/testing.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FK=${FK:-$ROOT/${BENCH_BUILD:-build}/fangkong}
N=${BENCH_PERSONS:-3000000}
DUR=${TESTING_SECONDS:-20}
CONNS=${TESTING_CONNS:-64}
SURGE=$((CONNS * 10))
TUBES=${TESTING_TUBES:-2500000}
SQ_TX=${TESTING_SQLITE_TX:-10000}
SQ_BATCH=${TESTING_SQLITE_BATCH:-200000}
COV_REQS=${TESTING_COVERAGE_REQS:-50}
STEPS=" ${TESTING_STEPS:-sampling results coverage} "
POOL=10
TMP=$(mktemp -d /tmp/fk-testing.XXXXXX)
chmod 755 "$TMP" # nginx's workers (nobody) and PostgreSQL (postgres) read files here
PIDS=()
PG=
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
	[ -n "$PG" ] && runuser -u postgres -- pg_ctl -D "$PG" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT
export FK_PROGRESS=0

need() { command -v "$1" >/dev/null 2>&1 || { echo "testing: installing $2" >&2; apt-get install -y -q "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
per() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "n/a" }'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
verdict() { awk -v c="$1" 'BEGIN { print (c ? "met" : "NOT met") }'; }
# fields of the wrk scripts' summary lines: field FILE KEY LINE-PREFIX
field() { awk -v k="$2" -v l="$3" 'index($0, l) == 1 { for (i = 1; i < NF; i++) if ($i == k) { v = $(i + 1); sub(/,$/, "", v); print v; exit } }' "$1"; }
wrk_secs() { awk -v l="$2:" '$1 == l && /requests in/ { for (i = 1; i < NF; i++) if ($(i + 1) == "s,") print $i }' "$1"; }
rps() { awk -v l="$2:" '$1 == l && /requests\/s/ { for (i = 1; i < NF; i++) if ($(i + 1) == "requests/s") print $i }' "$1"; }
# wrk bounded twice: its own -d, and a kill should it hang
wrk_run() { timeout -k 5 $((DUR + 60)) wrk -t2 --timeout 5s --latency "$@"; }
log() { echo "testing: $*" >&2; }
R=$TMP/results # key=value lines for the summary
: >"$R"
put() { echo "$1=$2" >>"$R"; }
get() { sed -n "s/^$1=//p" "$R" | tail -1; }
has() { [[ $STEPS == *" $1 "* ]]; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

echo "== testing bench: $N persons, $(nproc) cores, $(date -u +%FT%TZ)"

# ---- the city ----
if [ -n "${TESTING_DB:-}" ]; then DB=$TESTING_DB; else DB=$TMP/city.db; fi
if [ -s "$DB" ] && [ "$(sqlite3 "$DB" "SELECT count(*) FROM persons" 2>/dev/null || echo 0)" -gt 0 ]; then
	log "reusing the city in $DB"
	"$FK" init --db "$DB" >/dev/null 2>&1 || true # migrations of a city made by an older build
else
	t0=$(now)
	"$FK" init --db "$DB" >/dev/null 2>&1
	"$FK" gen --db "$DB" --persons "$N" --seed 1 >/dev/null
	log "gen: $N persons in $(since "$t0") s"
fi
P=$(sqlite3 "$DB" "SELECT count(*) FROM persons")
M=$(sqlite3 "$DB" "SELECT max(id) FROM persons")
[ "$M" = "$P" ] || { echo "testing: persons.id is not 1..$P (max $M)" >&2; exit 1; }
CITY=$(sqlite3 "$DB" "SELECT value FROM meta WHERE key='city'")
GRIDS=$(sqlite3 "$DB" "SELECT count(*) FROM regions WHERE level = 6 AND code LIKE '$CITY%'")
RUN=$(date +%s)
PW=bench-testing-pass-1

# login USER URL -> token (the first-login password change is skipped in
# these throw-away databases: tests cover it)
add_user() { # DB USER ROLE
	"$FK" user add --db "$1" --username "$2" --role "$3" --scope "$CITY" --password "$PW" >/dev/null 2>>"$TMP/users.log" ||
		{ cat "$TMP/users.log" >&2; exit 1; }
	sqlite3 "$1" "UPDATE users SET must_change_password = 0 WHERE username = '$2'"
}
login() {
	curl -sf --max-time 30 -H 'Content-Type: application/json' \
		-d "{\"username\":\"$1\",\"password\":\"$PW\"}" "$2/api/v1/sessions" | json_field '["token"]'
}
start_server() { # DB -> sets SPID, URL
	local port
	port=$(free_port)
	URL=http://127.0.0.1:$port
	local t0
	t0=$(now)
	# shellcheck disable=SC2086
	"$FK" serve --db "$1" --listen "127.0.0.1:$port" --web /nonexistent ${TESTING_SERVE_ARGS:-} >"$TMP/serve.log" 2>&1 &
	SPID=$!
	PIDS+=("$SPID")
	for _ in $(seq 6000); do
		curl -sf --max-time 2 "$URL/healthz" >/dev/null && break
		kill -0 "$SPID" 2>/dev/null || { cat "$TMP/serve.log" >&2; echo "testing: the server stopped" >&2; exit 1; }
		sleep 0.1
	done
	curl -sf --max-time 2 "$URL/healthz" >/dev/null || { cat "$TMP/serve.log" >&2; echo "testing: server not ready" >&2; exit 1; }
	READY=$(since "$t0")
	log "server on $(basename "$1"): ready in $READY s ($(grep -o '[0-9]* threads' "$TMP/serve.log" | head -1 || echo '? threads'))"
}
stop_server() {
	kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null || true
}

# ==== 1. sampling ====
if has sampling; then
	add_user "$DB" "bench.s$RUN" tester
	# a site in every county of the city
	SITES=
	for c in $(sqlite3 "$DB" "SELECT code FROM regions WHERE parent_code = '$CITY' ORDER BY code"); do
		code=BS$c
		"$FK" campaign site --db "$DB" --code "$code" --name "bench site $c" --region "$c" --capacity 5000 \
			>/dev/null 2>>"$TMP/campaign.log" || { cat "$TMP/campaign.log" >&2; exit 1; }
		SITES=${SITES:+$SITES,}$code
	done
	# three whole-city campaigns: warm-up, 64 connections, the surge; each
	# takes every person of the city once
	campaign() {
		"$FK" campaign create --db "$DB" --region "$CITY" --kind whole --name "bench $1 $RUN" --json 2>>"$TMP/campaign.log" |
			json_field '["id"]' || { cat "$TMP/campaign.log" >&2; exit 1; }
	}
	t0=$(now)
	CW=$(campaign warm)
	put create_s "$(since "$t0")"
	C64=$(campaign c$CONNS)
	CS=$(campaign c$SURGE)
	EXP=$(sqlite3 "$DB" "SELECT sum(expected) FROM campaign_grids WHERE campaign_id = $C64")
	log "campaigns $CW $C64 $CS over $CITY ($EXP expected; create took $(get create_s) s)"
	sqlite3 "$DB" "SELECT id_number FROM persons ORDER BY id" >"$TMP/persons"
	# a file for each of wrk's 2 threads: half the city each, at most what
	# 30,000 registrations/s a thread take in a run
	half=$((P / 2)); cap=$((30000 * DUR)); take=$((half < cap ? half : cap))
	awk -v h="$half" -v k="$take" 'NR <= k { print > f1 } NR > h && NR <= h + k { print > f2 } NR > h + k { exit }' \
		f1="$TMP/persons.1" f2="$TMP/persons.2" "$TMP/persons"

	start_server "$DB"
	TOKEN=$(login "bench.s$RUN" "$URL")
	export SAMPLES_TOKEN=$TOKEN SAMPLES_PERSONS=$TMP/persons SAMPLES_SITES=$SITES SAMPLES_POOL=$POOL
	# one real answer, nginx's static file
	mkdir -p "$TMP/www"
	first=$(head -1 "$TMP/persons")
	curl -s --max-time 10 -o "$TMP/www/sample.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		-d "{\"tube\":\"BW${RUN}X\",\"id_number\":\"$first\",\"campaign\":$CW,\"site\":\"${SITES%%,*}\"}" \
		"$URL/api/v1/samples" >"$TMP/first.status"
	[ "$(cat "$TMP/first.status")" = 201 ] || { cat "$TMP/www/sample.json" >&2; echo; echo "testing: POST /api/v1/samples answered $(cat "$TMP/first.status")" >&2; exit 1; }
	log "a 201 answer: $(cat "$TMP/www/sample.json")"
	SAMPLES_CAMPAIGN=$CW SAMPLES_RUN=BW$RUN SAMPLES_LABEL=warm wrk_run -c"$CONNS" -d3s -s bench/samples.lua "$URL" >"$TMP/warm.out" 2>&1
	log "warm-up: $(grep '^warm: ' "$TMP/warm.out"); $(grep '^warm status' "$TMP/warm.out")"

	sampling_run() { # LABEL CAMPAIGN CONNECTIONS
		local before c0 c1 t0 pp
		before=$(sqlite3 "$DB" "SELECT count(*) FROM samples WHERE campaign_id = $2")
		c0=$(cpu_ticks "$SPID")
		if [ "${TESTING_PERF:-0}" = 1 ] && [ "$1" = c$CONNS ] && command -v perf >/dev/null; then
			(sleep 3; perf record -F 499 -g -p "$SPID" -o "$TMP/perf.data" -- sleep 6 >/dev/null 2>&1;
			 r0=$(sqlite3 "$DB" "SELECT count(*) FROM samples WHERE campaign_id = $2")
			 perf stat -e 'syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync' -p "$SPID" -- sleep 4 2>"$TMP/perf.stat" >/dev/null || true
			 echo "rows $(($(sqlite3 "$DB" "SELECT count(*) FROM samples WHERE campaign_id = $2") - r0))" >>"$TMP/perf.stat") &
			pp=$!
		fi
		SAMPLES_CAMPAIGN=$2 SAMPLES_RUN=B$1R$RUN SAMPLES_LABEL=$1 wrk_run -c"$3" -d"${DUR}s" -s bench/samples.lua "$URL" >"$TMP/$1.out" 2>&1 ||
			{ cat "$TMP/$1.out" >&2; echo "testing: wrk failed" >&2; exit 1; }
		[ -n "${pp:-}" ] && wait "$pp"
		c1=$(cpu_ticks "$SPID")
		sleep 1 # requests still in flight when wrk stopped are written
		put "$1_rows" "$(($(sqlite3 "$DB" "SELECT count(*) FROM samples WHERE campaign_id = $2") - before))"
		put "$1_cpu" "$(awk -v a="$c0" -v b="$c1" -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / t }')"
		put "$1_secs" "$(wrk_secs "$TMP/$1.out" "$1")"
		put "$1_rate" "$(per "$(get "$1_rows")" "$(get "$1_secs")")"
		put "$1_p99" "$(field "$TMP/$1.out" p99 "$1 latency")"
		put "$1_p50" "$(field "$TMP/$1.out" p50 "$1 latency")"
		put "$1_timeout" "$(field "$TMP/$1.out" timeout "$1 errors")"
		put "$1_connect" "$(field "$TMP/$1.out" connect "$1 errors")"
		for k in 201 200 503 other exhausted; do put "$1_s$k" "$(field "$TMP/$1.out" "$k" "$1 status")"; done
		put "$1_retry" "$(awk -v l="$1 status:" 'index($0, l) == 1 { for (i = 1; i < NF; i++) if ($i == "Retry-After") { v = $(i + 1); sub(/\)/, "", v); sub(/,$/, "", v); print v } }' "$TMP/$1.out")"
		log "$1: $(get "$1_rows") rows in $(get "$1_secs") s = $(get "$1_rate")/s; $(grep "^$1 latency" "$TMP/$1.out"); $(grep "^$1 status" "$TMP/$1.out"); timeouts $(get "$1_timeout"); server CPU $(get "$1_cpu") s"
		grep "^$1 first refusal" "$TMP/$1.out" >&2 || true
		if [ "$(get "$1_sexhausted")" != 0 ]; then
			log "$1: the persons ran out ($(get "$1_sexhausted") requests went to /healthz): use a larger city or a shorter run"
		fi
	}
	sampling_run "c$CONNS" "$C64" "$CONNS"
	if [ -s "$TMP/perf.data" ]; then
		echo "server profile during the $CONNS-connection run (perf, self time):"
		perf report -i "$TMP/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -25 | sed 's/^/  /' || true
		awk '/syscalls:sys_enter_f/ { gsub(/,/, "", $1); n += $1; printf "  %s %s in 4 s\n", $2, $1 } /^rows / { r = $2 }
			END { if (n) printf "  %d samples committed in the same 4 s: %.1f a sync\n", r, r / n }' "$TMP/perf.stat"
	fi
	sampling_run "c$SURGE" "$CS" "$SURGE"
	# every 201 of the runs is a row (a row more: a request in flight at the end)
	for l in "c$CONNS" "c$SURGE"; do
		s=$(get "${l}_s201"); r=$(get "${l}_rows")
		if [ "$r" -lt "$s" ]; then echo "testing: $l: $s answers 201 but $r rows" >&2; exit 1; fi
	done
	stop_server

	# ---- baseline: the sqlite3 shell doing the same durable writes ----
	BASE=$TMP/base.db
	{
		echo "PRAGMA journal_mode = WAL;"
		sqlite3 "$DB" "SELECT sql || ';' FROM sqlite_master WHERE tbl_name IN ('tubes', 'samples', 'campaign_grids', 'site_hours') AND sql IS NOT NULL"
		echo "CREATE TABLE persons(id INTEGER PRIMARY KEY, id_number TEXT NOT NULL UNIQUE, grid_code TEXT NOT NULL);"
		echo "ATTACH '$DB' AS city;"
		echo "INSERT INTO persons SELECT id, id_number, grid_code FROM city.persons ORDER BY id;"
		echo "INSERT INTO campaign_grids(campaign_id, grid_code, expected) SELECT c.value, g.grid_code, g.expected FROM city.campaign_grids g, generate_series(1, 2) c WHERE g.campaign_id = $C64;"
	} | sqlite3 "$BASE" >/dev/null
	# one registration: the person by ID number, the sample, the tube's count
	# (closed when full), the grid's counters, the site's hour; a tube is
	# bound by its first sample
	reg_sql() { # CAMPAIGN FIRST COUNT PER-TRANSACTION
		awk -v c="$1" -v first="$2" -v cnt="$3" -v per="$4" -v t="$(date +%s)" -v pool="$POOL" '
		NR < first { next }
		NR >= first + cnt { exit }
		{
			i = NR - first; tube = c * 100000000 + int(i / pool) + 1; h = int(t / 3600)
			if (i % per == 0) print "BEGIN;"
			if (i % pool == 0)
				printf "INSERT INTO tubes(id, code, campaign_id, site_id, purpose, pool_size, opened_at, opened_by) VALUES (%d, '\''BQ%d'\'', %d, 1, '\''round'\'', %d, %d, '\''bench'\'');\n", tube, tube, c, pool, t
			printf "INSERT INTO samples(tube_id, person_id, campaign_id, round, expected, grid_code, site_id, sampled_at, sampled_by) SELECT %d, id, %d, 1, 1, grid_code, 1, %d, '\''bench'\'' FROM persons WHERE id_number = '\''%s'\'';\n", tube, c, t, $1
			printf "UPDATE tubes SET n = n + 1, closed_at = CASE WHEN n + 1 = pool_size THEN %d END WHERE id = %d;\n", t, tube
			printf "UPDATE campaign_grids SET sampled = sampled + 1, sampled_expected = sampled_expected + 1 WHERE campaign_id = %d AND grid_code = (SELECT grid_code FROM persons WHERE id_number = '\''%s'\'');\n", c, $1
			printf "INSERT INTO site_hours VALUES (%d, 1, %d, 1) ON CONFLICT DO UPDATE SET samples = samples + 1;\n", c, h
			if (i % per == per - 1 || i == cnt - 1) print "COMMIT;"
		}' "$TMP/persons"
	}
	[ "$SQ_BATCH" -le "$P" ] || SQ_BATCH=$P
	[ "$SQ_TX" -le "$P" ] || SQ_TX=$P
	reg_sql 1 1 "$SQ_TX" 1 >"$TMP/tx.sql"
	reg_sql 2 1 "$SQ_BATCH" 1000 >"$TMP/batch.sql"
	t0=$(now)
	{ echo "PRAGMA synchronous = FULL;"; cat "$TMP/tx.sql"; } | sqlite3 "$BASE"
	put sq_tx_s "$(since "$t0")"
	t0=$(now)
	{ echo "PRAGMA synchronous = FULL;"; cat "$TMP/batch.sql"; } | sqlite3 "$BASE"
	put sq_batch_s "$(since "$t0")"
	n1=$(sqlite3 "$BASE" "SELECT count(*) FROM samples WHERE campaign_id = 1")
	n2=$(sqlite3 "$BASE" "SELECT count(*) FROM samples WHERE campaign_id = 2")
	[ "$n1" = "$SQ_TX" ] && [ "$n2" = "$SQ_BATCH" ] || { echo "testing: sqlite baseline wrote $n1 and $n2 samples" >&2; exit 1; }
	put sq_tx_rate "$(per "$n1" "$(get sq_tx_s)")"
	put sq_batch_rate "$(per "$n2" "$(get sq_batch_s)")"
	log "sqlite3: $n1 registrations one per transaction in $(get sq_tx_s) s, $n2 in transactions of 1,000 in $(get sq_batch_s) s"
	rm -f "$BASE" "$BASE-wal" "$BASE-shm" "$TMP/tx.sql" "$TMP/batch.sql"

	# ---- baseline: nginx serving one 201 answer ----
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
	chmod 644 "$TMP/www/sample.json"
	nginx -c "$TMP/nginx.conf" &
	NGINX=$!
	PIDS+=("$NGINX")
	for _ in $(seq 50); do curl -sf --max-time 2 "http://127.0.0.1:$NPORT/sample.json" >/dev/null && break; sleep 0.1; done
	curl -sf --max-time 2 "http://127.0.0.1:$NPORT/sample.json" >/dev/null || { cat "$TMP/nginx.err" >&2; echo "testing: nginx does not serve the file" >&2; exit 1; }
	CODE_LABEL=nginx CODE_PATH=/sample.json CODE_TOKENS= wrk_run -c"$CONNS" -d"$((DUR < 10 ? DUR : 10))s" -s bench/code_get.lua \
		"http://127.0.0.1:$NPORT" >"$TMP/nginx.out" 2>&1
	put nginx_rate "$(rps "$TMP/nginx.out" nginx)"
	put nginx_p99 "$(field "$TMP/nginx.out" p99 "nginx latency")"
	kill "$NGINX" 2>/dev/null && wait "$NGINX" 2>/dev/null || true
fi

# ==== 2. result import ====
if has results; then
	RDB=${TESTING_ROUND_DB:-$TMP/round.db}
	NS=$((TUBES * POOL))
	NCAMP=$(((NS + P - 1) / P))
	# day 1 of the round: NCAMP + 2 days ago, 00:00 +08:00
	BASE_T=$(( ($(date +%s) + 28800) / 86400 * 86400 - 28800 - (NCAMP + 2) * 86400 ))
	t0=$(now)
	rm -f "$RDB" "$RDB-wal" "$RDB-shm"
	sqlite3 "$DB" "VACUUM INTO '$RDB'"
	# campaign c samples persons 1..n_c (every person, the last campaign as
	# many as are left), in tubes of 10 numbered on from the campaign
	# before's; sampled 07:00-21:00 of day c in person order, reported at
	# 04:00 the next day
	sqlite3 "$RDB" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -1048576;
BEGIN;
DELETE FROM case_candidates; DELETE FROM tasks; DELETE FROM site_hours; DELETE FROM samples;
DELETE FROM tubes; DELETE FROM campaign_grids; DELETE FROM campaign_exempt; DELETE FROM campaign_targets;
DELETE FROM campaigns; DELETE FROM sites;
INSERT INTO sites(id, code, name, region_code, capacity_per_hour, created_at, created_by)
VALUES (1, 'RS$CITY', 'bench round site', '$CITY', 1000000, $BASE_T, 'bench.testing');
CREATE TEMP TABLE camp(c INTEGER PRIMARY KEY, n INTEGER, st INTEGER, toff INTEGER);
INSERT INTO camp SELECT value, min($P, $NS - (value - 1) * $P), $BASE_T + (value - 1) * 86400 + 25200, 0
FROM generate_series(1, $NCAMP);
UPDATE camp SET toff = (SELECT coalesce(sum((b.n + $POOL - 1) / $POOL), 0) FROM camp b WHERE b.c < camp.c);
INSERT INTO campaigns(id, name, kind, region_code, starts_at, deadline, pool_size, status,
	population_max_id, exempt_under_age, created_at, created_by, policy_version)
SELECT c, 'bench round day ' || c, 'whole', '$CITY', st - 25200, st - 25200 + 7 * 86400, $POOL, 'open',
	$P, 0, st - 25200, 'bench.testing', 'bench' FROM camp;
INSERT INTO tubes(id, code, campaign_id, site_id, purpose, pool_size, n, opened_at, opened_by, closed_at)
SELECT toff + j, printf('R%09d', toff + j), c, 1, 'round', $POOL, min($POOL, n - (j - 1) * $POOL),
	st + ((j - 1) * $POOL) * 50400 / n, 'bench.testing', st + min(n - 1, j * $POOL - 1) * 50400 / n
FROM (SELECT camp.*, g.value AS j FROM camp, generate_series(1, (camp.n + $POOL - 1) / $POOL) g)
ORDER BY c, j;
INSERT INTO samples(tube_id, person_id, campaign_id, round, expected, grid_code, site_id, sampled_at, sampled_by)
SELECT toff + (p.id - 1) / $POOL + 1, p.id, c, 1, 1, p.grid_code, 1, st + (p.id - 1) * 50400 / n, 'bench.testing'
FROM camp JOIN persons p ON p.id <= camp.n
ORDER BY c, p.id;
INSERT INTO campaign_grids(campaign_id, grid_code, expected, sampled, sampled_expected)
SELECT c, r.code, (SELECT count(*) FROM persons p WHERE p.grid_code = r.code),
	(SELECT count(*) FROM persons p WHERE p.grid_code = r.code AND p.id <= n),
	(SELECT count(*) FROM persons p WHERE p.grid_code = r.code AND p.id <= n)
FROM camp, regions r WHERE r.level = 6 AND r.code LIKE '$CITY%';
COMMIT;
SQL
	put round_build_s "$(since "$t0")"
	RT=$(sqlite3 "$RDB" "SELECT count(*) FROM tubes")
	RS=$(sqlite3 "$RDB" "SELECT count(*) FROM samples")
	[ "$RT" = "$TUBES" ] && [ "$RS" = "$NS" ] || { echo "testing: round database has $RT tubes, $RS samples" >&2; exit 1; }
	log "round: $NCAMP campaigns, $RT tubes, $RS samples built in $(get round_build_s) s ($(du -m "$RDB" | cut -f1) MB)"

	# the lab's CSV: 1 tube in 20,000 positive, 1 in 5,000 invalid
	CSV=$TMP/results.csv
	{
		echo "tube,result,reported_at"
		sqlite3 -csv "$RDB" "SELECT t.code, CASE WHEN t.id % 20000 = 7 THEN 'positive' WHEN t.id % 5000 = 3 THEN 'invalid' ELSE 'negative' END,
			strftime('%Y-%m-%dT%H:%M:%S', c.starts_at + 86400 + 14400 + t.id % 3600 + 28800, 'unixepoch') || '+08:00'
			FROM tubes t JOIN campaigns c ON c.id = t.campaign_id ORDER BY t.id"
	} >"$CSV"
	chmod 644 "$CSV"
	# the tubes as they are before the results, for the baselines
	sqlite3 -csv "$RDB" "SELECT id, code, campaign_id, site_id, purpose, pool_size, n, opened_at, opened_by, closed_at FROM tubes ORDER BY id" >"$TMP/tubes.csv"
	chmod 644 "$TMP/tubes.csv"
	read -r E_POS E_INV E_RES E_POSM E_RETEST E_CAND E_RESAMPLE < <(sqlite3 -separator ' ' "$RDB" "SELECT
		sum(t.id % 20000 = 7), sum(t.id % 20000 <> 7 AND t.id % 5000 = 3),
		sum(CASE WHEN t.id % 20000 = 7 OR t.id % 5000 <> 3 THEN n ELSE 0 END),
		sum(CASE WHEN t.id % 20000 = 7 THEN n ELSE 0 END),
		sum(CASE WHEN t.id % 20000 = 7 AND n > 1 THEN n ELSE 0 END),
		sum(t.id % 20000 = 7 AND n = 1),
		sum(CASE WHEN t.id % 20000 <> 7 AND t.id % 5000 = 3 THEN n ELSE 0 END) FROM tubes t")
	sqlite3 "$RDB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	sync

	# fangkong import results
	t0=$(now)
	rc=0
	"$FK" import results "$CSV" --db "$RDB" --lab bench.lab >"$TMP/import.out" 2>&1 || rc=$?
	put imp_s "$(since "$t0")"
	sed 's/^/  /' "$TMP/import.out" | tail -5 >&2
	[ "$rc" = 0 ] || { echo "testing: fangkong import results exited $rc" >&2; head -20 "$CSV.rejects.csv" >&2 2>/dev/null; exit 1; }
	put imp_rate "$(per "$TUBES" "$(get imp_s)")"
	put imp_mrate "$(per "$NS" "$(get imp_s)")"
	# its effects against counts from the rows
	read -r G_RESULTED G_POS G_TUBES G_RETEST G_RESAMPLE G_CAND < <(sqlite3 -separator ' ' "$RDB" "SELECT
		(SELECT sum(resulted) FROM campaign_grids), (SELECT sum(positive) FROM campaign_grids),
		(SELECT count(*) FROM tubes WHERE result IS NOT NULL),
		(SELECT count(*) FROM tasks WHERE kind = 'retest'), (SELECT count(*) FROM tasks WHERE kind = 'resample'),
		(SELECT count(*) FROM case_candidates)")
	CHECK="tubes with a result $G_TUBES/$TUBES, resulted $G_RESULTED/$E_RES, positive $G_POS/$E_POSM, retest tasks $G_RETEST/$E_RETEST, resample tasks $G_RESAMPLE/$E_RESAMPLE, candidates $G_CAND/$E_CAND"
	if [ "$G_TUBES $G_RESULTED $G_POS $G_RETEST $G_RESAMPLE $G_CAND" = "$TUBES $E_RES $E_POSM $E_RETEST $E_RESAMPLE $E_CAND" ]; then
		put imp_check ok
	else
		put imp_check MISMATCH
	fi
	log "import: $(get imp_s) s; effects (found/expected): $CHECK: $(get imp_check)"

	# baseline: sqlite3 .import + UPDATE ... FROM onto a copy of the tubes
	SQB=$TMP/sqtubes.db
	{
		echo "PRAGMA journal_mode = WAL;"
		sqlite3 "$RDB" "SELECT sql || ';' FROM sqlite_master WHERE tbl_name = 'tubes' AND sql IS NOT NULL"
		echo "CREATE TEMP TABLE t0(id, code, campaign_id, site_id, purpose, pool_size, n, opened_at, opened_by, closed_at);"
		echo ".import --csv $TMP/tubes.csv t0"
		echo "INSERT INTO tubes(id, code, campaign_id, site_id, purpose, pool_size, n, opened_at, opened_by, closed_at)"
		echo "  SELECT id, code, campaign_id, site_id, purpose, pool_size, n, opened_at, opened_by, nullif(closed_at, '') FROM t0 ORDER BY id;"
	} | sqlite3 "$SQB" >/dev/null
	t0=$(now)
	sqlite3 "$SQB" >/dev/null <<SQL
PRAGMA synchronous = FULL;
CREATE TABLE r(tube TEXT, result TEXT, reported_at TEXT);
.import --csv --skip 1 $CSV r
UPDATE tubes SET result = r.result, resulted_at = unixepoch(r.reported_at), lab = 'bench.lab',
	result_by = 'bench', closed_at = coalesce(closed_at, unixepoch(r.reported_at))
FROM r WHERE tubes.code = r.tube;
SQL
	put sq_imp_s "$(since "$t0")"
	n=$(sqlite3 "$SQB" "SELECT count(*) FROM tubes WHERE result IS NOT NULL")
	[ "$n" = "$TUBES" ] || { echo "testing: sqlite baseline set $n results" >&2; exit 1; }
	rm -f "$SQB" "$SQB-wal" "$SQB-shm"
	log "sqlite3 .import + UPDATE: $(get sq_imp_s) s"

	# baseline: PostgreSQL COPY + UPDATE ... FROM
	PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
	if [ "${TESTING_PG:-1}" = 1 ] && [ -n "$PGBIN" ]; then
		export PATH=$PGBIN:$PATH
		PG=$TMP/pg
		mkdir -p "$PG"
		chown postgres: "$PG"
		runuser -u postgres -- initdb -D "$PG" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
		PGPORT=$(free_port)
		cat >>"$PG/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = ''
shared_buffers = 2GB
work_mem = 256MB
maintenance_work_mem = 1GB
max_wal_size = 16GB
EOF
		runuser -u postgres -- pg_ctl -D "$PG" -l "$PG/log" -w start >/dev/null
		PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres)
		"${PSQL[@]}" -d postgres -c "CREATE DATABASE bench"
		PGVER=$("${PSQL[@]}" -d bench -A -t -c "SHOW server_version" | cut -d' ' -f1)
		"${PSQL[@]}" -d bench <<EOF
CREATE TABLE tubes(id bigint PRIMARY KEY, code text NOT NULL UNIQUE, campaign_id bigint, site_id bigint NOT NULL,
	purpose text NOT NULL, pool_size int NOT NULL, n int NOT NULL, opened_at bigint NOT NULL, opened_by text NOT NULL,
	closed_at bigint, result text, resulted_at bigint, lab text NOT NULL DEFAULT '', result_by text NOT NULL DEFAULT '');
COPY tubes(id, code, campaign_id, site_id, purpose, pool_size, n, opened_at, opened_by, closed_at) FROM '$TMP/tubes.csv' (FORMAT csv);
CREATE INDEX tubes_campaign ON tubes(campaign_id, purpose, result);
CREATE INDEX tubes_result ON tubes(result, resulted_at) WHERE result IS NOT NULL;
VACUUM ANALYZE tubes;
CHECKPOINT;
EOF
		t0=$(now)
		"${PSQL[@]}" -d bench <<EOF
BEGIN;
CREATE TABLE r(tube text, result text, reported_at timestamptz);
COPY r FROM '$CSV' (FORMAT csv, HEADER true);
UPDATE tubes SET result = r.result, resulted_at = extract(epoch FROM r.reported_at)::bigint, lab = 'bench.lab',
	result_by = 'bench', closed_at = coalesce(closed_at, extract(epoch FROM r.reported_at)::bigint)
FROM r WHERE tubes.code = r.tube;
COMMIT;
EOF
		put pg_imp_s "$(since "$t0")"
		n=$("${PSQL[@]}" -d bench -A -t -c "SELECT count(*) FROM tubes WHERE result IS NOT NULL")
		[ "$n" = "$TUBES" ] || { echo "testing: PostgreSQL baseline set $n results" >&2; exit 1; }
		runuser -u postgres -- pg_ctl -D "$PG" -m fast -w stop >/dev/null
		rm -rf "$PG"
		PG=
		put pg_ver "$PGVER"
		log "PostgreSQL $PGVER COPY + UPDATE: $(get pg_imp_s) s"
	fi
	rm -f "$TMP/tubes.csv"
fi

# ==== 3. coverage ====
if has coverage && has results; then
	add_user "$RDB" "bench.v$RUN" command
	start_server "$RDB"
	put cov_ready "$READY"
	TOKEN=$(login "bench.v$RUN" "$URL")
	python3 - "$URL" "$TOKEN" "$COV_REQS" "$TMP" >>"$R" <<'PY'
import http.client, json, sys, time, urllib.parse
url, token, n, tmp = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
u = urllib.parse.urlsplit(url)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
path = "/api/v1/campaigns/1/coverage?depth=all"
hdr = {"Authorization": "Bearer " + token}
times = []
for i in range(n + 1):
    t0 = time.perf_counter()
    c.request("GET", path, headers=hdr)
    r = c.getresponse()
    body = r.read()
    dt = time.perf_counter() - t0
    if r.status != 200:
        sys.exit(f"coverage: {r.status} {body[:300]!r}")
    if i > 0:  # the first request warms the caches
        times.append(dt * 1000)
open(tmp + "/coverage.json", "wb").write(body)
times.sort()
def pct(p):
    k = (len(times) - 1) * p / 100
    f = int(k)
    return times[f] + (times[min(f + 1, len(times) - 1)] - times[f]) * (k - f)
def count(node):
    return 1 + sum(count(ch) for ch in node.get("children", []))
j = json.loads(body)
print(f"cov_p50={pct(50):.1f}")
print(f"cov_p99={pct(99):.1f}")
print(f"cov_max={times[-1]:.1f}")
print(f"cov_bytes={len(body)}")
print(f"cov_nodes={count(j['tree'])}")
PY
	stop_server
	log "coverage: p50 $(get cov_p50) ms, p99 $(get cov_p99) ms, $(get cov_nodes) nodes, $(get cov_bytes) bytes"

	# baseline: the same figures from the raw rows, per grid and rolled up
	cat >"$TMP/coverage.sql" <<SQL
WITH RECURSIVE
pop(id) AS (SELECT id FROM persons WHERE id <= (SELECT population_max_id FROM campaigns WHERE id = 1)),
ex(grid, exempt) AS (SELECT p.grid_code, count(*) FROM campaign_exempt e JOIN persons p ON p.id = e.person_id
	WHERE e.campaign_id = 1 GROUP BY p.grid_code),
g(grid, persons) AS (SELECT p.grid_code, count(*) FROM pop JOIN persons p ON p.id = pop.id GROUP BY p.grid_code),
s(grid, sampled, sampled_expected, resulted, positive) AS (
	SELECT s.grid_code, count(*), sum(s.expected), sum(t.result IN ('negative', 'positive')), sum(t.result = 'positive')
	FROM samples s JOIN tubes t ON t.id = s.tube_id WHERE s.campaign_id = 1 AND s.round = 1 GROUP BY s.grid_code),
leaf(code, expected, exempt, sampled, sampled_expected, resulted, positive) AS (
	SELECT r.code, coalesce(g.persons, 0) - coalesce(ex.exempt, 0), coalesce(ex.exempt, 0), coalesce(s.sampled, 0),
		coalesce(s.sampled_expected, 0), coalesce(s.resulted, 0), coalesce(s.positive, 0)
	FROM regions r LEFT JOIN g ON g.grid = r.code LEFT JOIN ex ON ex.grid = r.code LEFT JOIN s ON s.grid = r.code
	WHERE r.level = 6 AND r.code LIKE '$CITY%'),
anc(grid, code) AS (SELECT code, code FROM leaf
	UNION ALL SELECT a.grid, r.parent_code FROM anc a JOIN regions r ON r.code = a.code WHERE a.code <> '$CITY')
SELECT a.code, sum(l.expected), sum(l.exempt), sum(l.sampled), sum(l.resulted), sum(l.positive),
	sum(l.expected) - sum(l.sampled_expected)
FROM anc a JOIN leaf l ON l.code = a.grid GROUP BY a.code ORDER BY a.code;
SQL
	: >"$TMP/sqcov.times"
	for _ in 1 2 3; do
		t0=$(now)
		sqlite3 -csv "$RDB" <"$TMP/coverage.sql" >"$TMP/coverage.csv"
		echo "$(since "$t0")" >>"$TMP/sqcov.times"
	done
	put sq_cov_s "$(sort -n "$TMP/sqcov.times" | sed -n 2p)"
	# every node of the API's tree against the reference
	put cov_check "$(python3 - "$TMP/coverage.json" "$TMP/coverage.csv" <<'PY'
import csv, json, sys
tree = json.load(open(sys.argv[1]))["tree"]
ref = {r[0]: tuple(map(int, r[1:])) for r in csv.reader(open(sys.argv[2]))}
api = {}
def walk(n):
    api[n["code"]] = (n["expected"], n["exempt"], n["sampled"], n["resulted"], n["positive"], n["missing"])
    for ch in n.get("children", []):
        walk(ch)
walk(tree)
bad = [c for c in ref if api.get(c) != ref[c]] + [c for c in api if c not in ref]
print("ok" if not bad else f"MISMATCH at {len(bad)} of {len(ref)} nodes, e.g. {bad[0]} api {api.get(bad[0])} ref {ref.get(bad[0])}")
PY
)"
	log "sqlite3 coverage from raw rows: $(get sq_cov_s) s (median of 3); the API's tree against it: $(get cov_check)"
fi

# ==== summary ====
echo
echo "== testing bench summary: $P persons, $GRIDS grids, $(nproc) cores"
row() { printf '  %-44s %-30s %s\n' "$1" "$2" "$3"; }
if has sampling; then
	c=c$CONNS s=c$SURGE
	echo "sampling registration, POST /api/v1/samples (tubes of $POOL, whole-city campaign; campaign create $(get create_s) s)"
	row "fangkong, $CONNS connections, $(get "${c}_secs") s" "$(get "${c}_rate") durable/s" "p50 $(get "${c}_p50") ms, p99 $(get "${c}_p99") ms; $(get "${c}_rows") rows, $(get "${c}_s503") 503, $(get "${c}_sother") other refusals, $(get "${c}_timeout") timeouts; server CPU $(get "${c}_cpu") s"
	row "fangkong, $SURGE connections (surge), $(get "${s}_secs") s" "$(get "${s}_rate") durable/s" "p50 $(get "${s}_p50") ms, p99 $(get "${s}_p99") ms; $(get "${s}_rows") rows, $(get "${s}_s503") 503 ($(get "${s}_retry") with Retry-After), $(get "${s}_sother") other refusals, $(get "${s}_timeout") timeouts, $(get "${s}_connect") connect errors"
	row "sqlite3, 1 registration a transaction" "$(get sq_tx_rate) durable/s" "$SQ_TX registrations in $(get sq_tx_s) s, WAL, synchronous=FULL; fangkong/sqlite3 $(ratio "$(get "${c}_rate")" "$(get sq_tx_rate)")"
	row "sqlite3, 1,000 registrations a transaction" "$(get sq_batch_rate) durable/s" "$SQ_BATCH in $(get sq_batch_s) s; fangkong/sqlite3 $(ratio "$(get "${c}_rate")" "$(get sq_batch_rate)")"
	row "nginx, one 201 answer as a static file" "$(get nginx_rate) req/s" "p99 $(get nginx_p99) ms, $CONNS connections; fangkong/nginx $(ratio "$(get "${c}_rate")" "$(get nginx_rate)")"
	echo "  target >= 10,000 durable registrations/s at $CONNS connections: $(verdict "$(awk -v r="$(get "${c}_rate")" 'BEGIN { print (r >= 10000) }')"); p99 <= 50 ms: $(verdict "$(awk -v p="$(get "${c}_p99")" 'BEGIN { print (p <= 50) }')"); surge sheds with 503, no timeouts: $(verdict "$(awk -v t="$(get "${s}_timeout")" 'BEGIN { print (t == 0) }')") ($(get "${s}_s503") shed)"
fi
if has results; then
	echo "result import, $TUBES tubes of a $NS-person round at $POOL-in-1 ($NCAMP whole-city campaigns; $E_POS positive, $E_INV invalid tubes; database built in $(get round_build_s) s)"
	row "fangkong import results" "$(get imp_rate) rows/s" "$(get imp_s) s, $(get imp_mrate) members/s; effects checked: $(get imp_check)"
	row "sqlite3 .import + UPDATE FROM (tubes only)" "$(per "$TUBES" "$(get sq_imp_s)") rows/s" "$(get sq_imp_s) s; fangkong/sqlite3 time $(ratio "$(get imp_s)" "$(get sq_imp_s)")"
	if [ -n "$(get pg_imp_s)" ]; then
		row "PostgreSQL $(get pg_ver) COPY + UPDATE FROM" "$(per "$TUBES" "$(get pg_imp_s)") rows/s" "$(get pg_imp_s) s; fangkong/PostgreSQL time $(ratio "$(get imp_s)" "$(get pg_imp_s)")"
	fi
	echo "  $CHECK"
fi
if has coverage && has results; then
	echo "coverage tree of the city to every grid, GET /api/v1/campaigns/1/coverage?depth=all ($(get cov_nodes) nodes, $(get cov_bytes) bytes; server ready in $(get cov_ready) s)"
	row "fangkong, $COV_REQS requests in turn" "median $(get cov_p50) ms" "p99 $(get cov_p99) ms, max $(get cov_max) ms; every node equals the reference: $(get cov_check)"
	row "sqlite3 from raw rows (GROUP BY + roll-up)" "$(awk -v s="$(get sq_cov_s)" 'BEGIN { printf "%.0f ms", s * 1000 }')" "median of 3; sqlite3/fangkong $(ratio "$(awk -v s="$(get sq_cov_s)" 'BEGIN { print s * 1000 }')" "$(get cov_p50)")"
	echo "  target <= 200 ms: $(verdict "$(awk -v p="$(get cov_p99)" 'BEGIN { print (p <= 200) }')") (p99)"
fi
echo "== testing bench done"
