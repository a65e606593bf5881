/* schema.h — numbered migrations; internal to store/. Append, never edit. */
#ifndef FK_STORE_SCHEMA_H
#define FK_STORE_SCHEMA_H

static const char *const store_migrations[] = {
	/* 1: registry, access, audit */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
	/* Region codes are stored at their natural length: province 2, city 4,
	 * county 6, town 9, community/village 12, grid 15 digits.  So a
	 * subtree is a code prefix: scope checks are range scans. */
	"CREATE TABLE regions("
	" code TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" level INTEGER NOT NULL CHECK(level BETWEEN 1 AND 6),"
	" parent_code TEXT REFERENCES regions(code),"
	" updated_at INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"CREATE INDEX regions_parent ON regions(parent_code, code);"
	/* Roll-ups, rebuilt by registry_stats_refresh() after gen and import. */
	"CREATE TABLE region_stats("
	" code TEXT PRIMARY KEY REFERENCES regions(code) ON DELETE CASCADE,"
	" population INTEGER NOT NULL, households INTEGER NOT NULL,"
	" venues INTEGER NOT NULL, grids INTEGER NOT NULL) WITHOUT ROWID;"
	/* Valid ID-card address codes (6 digits), nationwide where known. */
	"CREATE TABLE address_codes(code TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE households("
	" id INTEGER PRIMARY KEY,"
	" grid_code TEXT NOT NULL REFERENCES regions(code),"
	" label TEXT NOT NULL,"
	" UNIQUE(grid_code, label));"
	"CREATE TABLE persons("
	" id INTEGER PRIMARY KEY,"
	" id_number TEXT NOT NULL UNIQUE,"
	" name TEXT NOT NULL,"
	" phone TEXT NOT NULL,"
	" grid_code TEXT NOT NULL REFERENCES regions(code),"
	" household_id INTEGER REFERENCES households(id),"
	" occupation TEXT NOT NULL DEFAULT '',"
	" sex INTEGER NOT NULL CHECK(sex IN (1,2)),"
	" birth_date TEXT NOT NULL,"
	" updated_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX persons_grid ON persons(grid_code, id);"
	"CREATE INDEX persons_name ON persons(name, id);"
	"CREATE INDEX persons_household ON persons(household_id);"
	"CREATE TABLE venues("
	" code TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" region_code TEXT NOT NULL REFERENCES regions(code),"
	" kind TEXT NOT NULL,"
	" updated_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"CREATE INDEX venues_region ON venues(region_code, code);"
	/* scope: a region code (its subtree) or '' for the whole system. */
	"CREATE TABLE users("
	" id INTEGER PRIMARY KEY,"
	" username TEXT NOT NULL UNIQUE,"
	" pwhash TEXT NOT NULL,"
	" role TEXT NOT NULL,"
	" scope TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" created_by TEXT NOT NULL,"
	" disabled INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE sessions("
	" token_hash BLOB PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" created_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" origin TEXT NOT NULL) WITHOUT ROWID;"
	/* Append-only, hash-chained: hash = H(prev_hash || row fields). */
	"CREATE TABLE audit_log("
	" seq INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" object TEXT NOT NULL,"
	" detail TEXT NOT NULL,"
	" origin TEXT NOT NULL,"
	" prev_hash BLOB NOT NULL,"
	" hash BLOB NOT NULL);"
	"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
	" BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
	"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
	" BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
	/* 2: a password set by someone else (an admin, the CLI) must be
	 * changed by its owner before the account can do anything else. */
	"ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;",
	/* 3: venue codes, check-ins, cases and chains, alerts, citizens */
	/* Integer ids for venues: check-ins and the contact index use them. */
	"CREATE TABLE venue_keys("
	" id INTEGER PRIMARY KEY,"
	" code TEXT NOT NULL UNIQUE REFERENCES venues(code));"
	"INSERT INTO venue_keys(code) SELECT code FROM venues ORDER BY code;"
	"CREATE TRIGGER venues_key AFTER INSERT ON venues"
	" BEGIN INSERT OR IGNORE INTO venue_keys(code) VALUES (NEW.code); END;"
	/* One row per scan, keyed in time order: bulk loads of time-ordered
	 * files append, the same row twice is one row (imports are
	 * idempotent), and the retention purge cuts a key range.  person_id
	 * and venue_id are checked by the writers (no FK: 70M rows). */
	"CREATE TABLE checkins("
	" t INTEGER NOT NULL,"
	" venue_id INTEGER NOT NULL,"
	" person_id INTEGER NOT NULL,"
	" temp_dc INTEGER," /* body temperature in 0.1 degC, when taken */
	" source INTEGER NOT NULL DEFAULT 0," /* enum checkin_source */
	" PRIMARY KEY(t, venue_id, person_id)) WITHOUT ROWID;"
	/* Each bulk batch (import, gen) commits one row here with the time
	 * range it wrote, so a running server finds rows another process
	 * added and brings its contact index up to date. */
	"CREATE TABLE checkin_batches("
	" id INTEGER PRIMARY KEY,"
	" t_min INTEGER NOT NULL, t_max INTEGER NOT NULL,"
	" rows INTEGER NOT NULL, at INTEGER NOT NULL);"
	/* Scans posted over HTTP, by the client's scan id: a retry answers
	 * the first result instead of scanning twice. */
	"CREATE TABLE scan_requests("
	" user_id INTEGER NOT NULL,"
	" scan_id TEXT NOT NULL,"
	" t INTEGER NOT NULL, venue_id INTEGER NOT NULL, person_id INTEGER NOT NULL,"
	" PRIMARY KEY(user_id, scan_id)) WITHOUT ROWID;"
	"CREATE TABLE cases("
	" id INTEGER PRIMARY KEY,"
	" person_id INTEGER NOT NULL UNIQUE REFERENCES persons(id),"
	" classification TEXT NOT NULL DEFAULT 'confirmed'"
	"  CHECK(classification IN ('confirmed','asymptomatic','suspected')),"
	" onset_at INTEGER,"
	" first_positive_at INTEGER,"
	" isolated_at INTEGER,"
	" found_where TEXT NOT NULL DEFAULT '',"
	" chain_id INTEGER NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" created_by TEXT NOT NULL,"
	" CHECK(onset_at IS NOT NULL OR first_positive_at IS NOT NULL));"
	"CREATE INDEX cases_chain ON cases(chain_id, id);"
	/* from_case was a source of to_case: to_case is a close (degree 1) or
	 * secondary (degree 2, through via_person) contact of from_case. */
	"CREATE TABLE case_links("
	" from_case INTEGER NOT NULL REFERENCES cases(id),"
	" to_case INTEGER NOT NULL REFERENCES cases(id),"
	" degree INTEGER NOT NULL CHECK(degree IN (1, 2)),"
	" household INTEGER NOT NULL," /* 1: same household, else a venue */
	" venue_id INTEGER,"
	" t_contact INTEGER," /* to_case's (or via's) scan time */
	" t_source INTEGER,"  /* the source's scan time */
	" via_person INTEGER,"
	" exposure_at INTEGER NOT NULL,"
	" PRIMARY KEY(from_case, to_case)) WITHOUT ROWID;"
	"CREATE INDEX case_links_to ON case_links(to_case);"
	/* Alerts for the command and the person's grid (fever at a scan...). */
	"CREATE TABLE alerts("
	" id INTEGER PRIMARY KEY,"
	" kind TEXT NOT NULL,"
	" person_id INTEGER REFERENCES persons(id),"
	" region_code TEXT NOT NULL,"
	" at INTEGER NOT NULL,"
	" detail TEXT NOT NULL,"
	" cleared_at INTEGER, cleared_by TEXT);"
	"CREATE INDEX alerts_region ON alerts(region_code, at);"
	/* a citizen's account is bound to the person it speaks for */
	"ALTER TABLE users ADD COLUMN person_id INTEGER REFERENCES persons(id);",

	/* 4: policy files, the records health codes are computed from, code
	 * keys, overrides and appeals */
	/* every policy this database has run under, by version (name@sha) */
	"CREATE TABLE policies("
	" version TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" sha256 TEXT NOT NULL,"
	" text TEXT NOT NULL,"
	" first_used_at INTEGER NOT NULL) WITHOUT ROWID;"
	/* key occupations are tested periodically: the health code finds them */
	"CREATE INDEX persons_occupation ON persons(occupation, id);"
	/* a case under treatment until released */
	"ALTER TABLE cases ADD COLUMN released_at INTEGER;"
	/* contacts of each case as found (tracing), the input of orders and
	 * codes; found_at = when the system knew */
	"CREATE TABLE contacts("
	" person_id INTEGER NOT NULL REFERENCES persons(id),"
	" case_id INTEGER NOT NULL REFERENCES cases(id),"
	" degree INTEGER NOT NULL CHECK(degree IN (1, 2)),"
	" exposure_at INTEGER NOT NULL,"
	" via_person INTEGER,"
	" venue_id INTEGER,"
	" household INTEGER NOT NULL DEFAULT 0,"
	" found_at INTEGER NOT NULL,"
	" PRIMARY KEY(person_id, case_id)) WITHOUT ROWID;"
	"CREATE INDEX contacts_case ON contacts(case_id, degree, exposure_at);"
	"CREATE INDEX contacts_found ON contacts(found_at);"
	/* control orders (the control domain extends this table) */
	"CREATE TABLE orders("
	" id INTEGER PRIMARY KEY,"
	" person_id INTEGER NOT NULL REFERENCES persons(id),"
	" kind TEXT NOT NULL CHECK(kind IN ('central','home_isolation','home_monitoring')),"
	" category TEXT NOT NULL DEFAULT 'other'"
	"  CHECK(category IN ('case','close','secondary','arrival','other')),"
	" case_id INTEGER REFERENCES cases(id),"
	" status TEXT NOT NULL DEFAULT 'active'"
	"  CHECK(status IN ('proposed','active','completed','cancelled')),"
	" start_at INTEGER NOT NULL,"
	" planned_end INTEGER NOT NULL,"
	" ended_at INTEGER,"
	" created_at INTEGER NOT NULL,"
	" created_by TEXT NOT NULL,"
	" CHECK(planned_end > start_at));"
	"CREATE INDEX orders_person ON orders(person_id, start_at);"
	"CREATE INDEX orders_end ON orders(planned_end);"
	/* risk areas: a region (down to a grid) at a level from start to end
	 * (NULL: in force); a change of level ends one row and starts another */
	"CREATE TABLE risk_areas("
	" id INTEGER PRIMARY KEY,"
	" region_code TEXT NOT NULL,"
	" level TEXT NOT NULL CHECK(level IN ('high','medium','low')),"
	" start_at INTEGER NOT NULL,"
	" end_at INTEGER,"
	" reason TEXT NOT NULL DEFAULT '',"
	" created_at INTEGER NOT NULL,"
	" created_by TEXT NOT NULL);"
	"CREATE INDEX risk_areas_region ON risk_areas(region_code);"
	/* a test result against each person (the testing domain writes it;
	 * pool_positive: member of a positive pooled tube) */
	"CREATE TABLE test_results("
	" id INTEGER PRIMARY KEY,"
	" person_id INTEGER NOT NULL REFERENCES persons(id),"
	" sampled_at INTEGER NOT NULL,"
	" resulted_at INTEGER NOT NULL,"
	" result TEXT NOT NULL CHECK(result IN ('negative','positive','invalid','pool_positive')),"
	" pooled INTEGER NOT NULL DEFAULT 1," /* persons in the tube */
	" tube TEXT NOT NULL DEFAULT '',"
	" lab TEXT NOT NULL DEFAULT '',"
	" CHECK(resulted_at >= sampled_at));"
	"CREATE INDEX test_results_person ON test_results(person_id, sampled_at);"
	"CREATE INDEX test_results_resulted ON test_results(resulted_at);"
	/* arrivals into the city (checkpoints, declarations, pushed lists) */
	"CREATE TABLE arrivals("
	" id INTEGER PRIMARY KEY,"
	" person_id INTEGER NOT NULL REFERENCES persons(id),"
	" origin_code TEXT NOT NULL,"
	" arrived_at INTEGER NOT NULL,"
	" source TEXT NOT NULL DEFAULT 'checkpoint'"
	"  CHECK(source IN ('checkpoint','declaration','push')),"
	" decision TEXT NOT NULL DEFAULT '',"
	" rule TEXT NOT NULL DEFAULT '',"
	" recorded_by TEXT NOT NULL,"
	" policy_version TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX arrivals_person ON arrivals(person_id, arrived_at);"
	"CREATE INDEX arrivals_at ON arrivals(arrived_at);"
	/* Ed25519 code-signing keys; the secret never leaves the database */
	"CREATE TABLE code_keys("
	" kid INTEGER PRIMARY KEY CHECK(kid BETWEEN 1 AND 65535),"
	" public_key BLOB NOT NULL,"
	" secret_key BLOB NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" retired_at INTEGER," /* no longer signs; its tokens still verify */
	" revoked_at INTEGER," /* its tokens fail */
	" revoked_by TEXT);"
	/* manual overrides: requested by one health-role user, approved by a
	 * second, distinct one; active from approval to end_at */
	"CREATE TABLE overrides("
	" id INTEGER PRIMARY KEY,"
	" colour TEXT NOT NULL CHECK(colour IN ('green','yellow','red')),"
	" category TEXT NOT NULL,"
	" reason TEXT NOT NULL,"
	" end_at INTEGER NOT NULL,"
	" persons INTEGER NOT NULL,"
	" status TEXT NOT NULL DEFAULT 'pending'"
	"  CHECK(status IN ('pending','active','refused','revoked')),"
	" requested_by INTEGER NOT NULL REFERENCES users(id),"
	" requested_at INTEGER NOT NULL,"
	" approved_by INTEGER REFERENCES users(id),"
	" approved_at INTEGER,"
	" closed_by INTEGER REFERENCES users(id),"
	" closed_at INTEGER,"
	" policy_version TEXT NOT NULL,"
	" CHECK(approved_by IS NULL OR approved_by <> requested_by));"
	"CREATE TABLE override_persons("
	" override_id INTEGER NOT NULL REFERENCES overrides(id),"
	" person_id INTEGER NOT NULL REFERENCES persons(id),"
	" PRIMARY KEY(override_id, person_id)) WITHOUT ROWID;"
	"CREATE INDEX override_persons_person ON override_persons(person_id);"
	/* appeals (纠错) against a colour */
	"CREATE TABLE appeals("
	" id INTEGER PRIMARY KEY,"
	" person_id INTEGER NOT NULL REFERENCES persons(id),"
	" colour TEXT NOT NULL,"
	" rules TEXT NOT NULL," /* the rules shown when it was filed */
	" text TEXT NOT NULL,"
	" filed_by INTEGER NOT NULL REFERENCES users(id),"
	" filed_at INTEGER NOT NULL,"
	" owner_id INTEGER REFERENCES users(id),"
	" due_at INTEGER NOT NULL,"
	" status TEXT NOT NULL DEFAULT 'open'"
	"  CHECK(status IN ('open','upheld','corrected','withdrawn')),"
	" outcome TEXT NOT NULL DEFAULT '',"
	" decided_by INTEGER REFERENCES users(id),"
	" decided_at INTEGER,"
	" policy_version TEXT NOT NULL);"
	"CREATE INDEX appeals_person ON appeals(person_id, filed_at);"
	"CREATE INDEX appeals_open ON appeals(status, due_at);"
	/* the colour each person has, as last computed, with the policy
	 * version that decided it; a row is written when a colour changes */
	"CREATE TABLE code_changes("
	" person_id INTEGER NOT NULL,"
	" at INTEGER NOT NULL,"
	" colour TEXT NOT NULL,"
	" rule TEXT NOT NULL,"
	" policy_version TEXT NOT NULL,"
	" PRIMARY KEY(person_id, at)) WITHOUT ROWID;",
	/* 5: testing campaigns, sites, tubes, samples, lab results, tasks */
	/* A campaign covers a region subtree (region_code is a prefix of its
	 * grids).  Its population is frozen at launch: the persons with
	 * id <= population_max_id living in the area (periodic: with one of
	 * the occupations; targeted: listed in campaign_targets), less the
	 * campaign_exempt rows. */
	"CREATE TABLE campaigns("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK(kind IN ('whole','core','designated','periodic','targeted')),"
	" region_code TEXT NOT NULL REFERENCES regions(code),"
	" starts_at INTEGER NOT NULL,"
	" deadline INTEGER NOT NULL,"
	" pool_size INTEGER NOT NULL CHECK(pool_size IN (1,5,10,20)),"
	" status TEXT NOT NULL DEFAULT 'open' CHECK(status IN ('open','closed')),"
	" population_max_id INTEGER NOT NULL,"
	" exempt_under_age INTEGER NOT NULL,"
	" occupations TEXT NOT NULL DEFAULT ''," /* periodic: comma-separated */
	" created_at INTEGER NOT NULL,"
	" created_by TEXT NOT NULL,"
	" policy_version TEXT NOT NULL DEFAULT '',"
	" closed_at INTEGER,"
	" CHECK(deadline > starts_at));"
	"CREATE INDEX campaigns_region ON campaigns(region_code, starts_at);"
	"CREATE TABLE campaign_targets("
	" campaign_id INTEGER NOT NULL REFERENCES campaigns(id),"
	" person_id INTEGER NOT NULL REFERENCES persons(id),"
	" PRIMARY KEY(campaign_id, person_id)) WITHOUT ROWID;"
	/* persons of the area not expected: infants under the policy age,
	 * persons under an isolation order at launch (tested separately) */
	"CREATE TABLE campaign_exempt("
	" campaign_id INTEGER NOT NULL REFERENCES campaigns(id),"
	" person_id INTEGER NOT NULL REFERENCES persons(id),"
	" reason TEXT NOT NULL CHECK(reason IN ('age','isolation')),"
	" PRIMARY KEY(campaign_id, person_id)) WITHOUT ROWID;"
	/* Coverage counters per grid of the area, kept in the transaction
	 * that writes the sample or the result, so they are exact:
	 *   expected          population at launch in this grid, less exempt
	 *   exempt            exempt persons of the grid
	 *   sampled           persons sampled in the round whose grid (at
	 *                     sampling) is this one (retests not counted)
	 *   sampled_expected  of them, those in the expected population
	 *   resulted          sampled persons with a negative or positive
	 *                     result (their round tube's or, after an invalid
	 *                     tube, their resample's)
	 *   positive          sampled persons in a positive round tube
	 * missing = expected - sampled_expected. */
	"CREATE TABLE campaign_grids("
	" campaign_id INTEGER NOT NULL REFERENCES campaigns(id),"
	" grid_code TEXT NOT NULL,"
	" expected INTEGER NOT NULL,"
	" exempt INTEGER NOT NULL DEFAULT 0,"
	" sampled INTEGER NOT NULL DEFAULT 0,"
	" sampled_expected INTEGER NOT NULL DEFAULT 0,"
	" resulted INTEGER NOT NULL DEFAULT 0,"
	" positive INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY(campaign_id, grid_code)) WITHOUT ROWID;"
	/* sampling sites; opens/closes in minutes after local midnight (+08:00) */
	"CREATE TABLE sites("
	" id INTEGER PRIMARY KEY,"
	" code TEXT NOT NULL UNIQUE,"
	" name TEXT NOT NULL,"
	" region_code TEXT NOT NULL REFERENCES regions(code),"
	" capacity_per_hour INTEGER NOT NULL CHECK(capacity_per_hour > 0),"
	" opens INTEGER NOT NULL DEFAULT 420 CHECK(opens BETWEEN 0 AND 1440),"
	" closes INTEGER NOT NULL DEFAULT 1320 CHECK(closes BETWEEN 0 AND 1440),"
	" created_at INTEGER NOT NULL,"
	" created_by TEXT NOT NULL);"
	"CREATE INDEX sites_region ON sites(region_code);"
	/* A tube (barcode) is bound once, to a site and (for round, retest
	 * and resample tubes of a campaign) a campaign.  n counts its
	 * samples; it closes when full or by hand; the lab's result is
	 * recorded on it, once. */
	"CREATE TABLE tubes("
	" id INTEGER PRIMARY KEY,"
	" code TEXT NOT NULL UNIQUE,"
	" campaign_id INTEGER REFERENCES campaigns(id),"
	" site_id INTEGER NOT NULL REFERENCES sites(id),"
	" purpose TEXT NOT NULL DEFAULT 'round' CHECK(purpose IN ('round','retest','resample')),"
	" pool_size INTEGER NOT NULL CHECK(pool_size BETWEEN 1 AND 20),"
	" n INTEGER NOT NULL DEFAULT 0,"
	" opened_at INTEGER NOT NULL,"
	" opened_by TEXT NOT NULL,"
	" closed_at INTEGER,"
	" result TEXT CHECK(result IN ('negative','positive','invalid')),"
	" resulted_at INTEGER,"
	" lab TEXT NOT NULL DEFAULT '',"
	" result_by TEXT NOT NULL DEFAULT '',"
	" CHECK(n BETWEEN 0 AND pool_size));"
	"CREATE INDEX tubes_campaign ON tubes(campaign_id, purpose, result);"
	"CREATE INDEX tubes_result ON tubes(result, resulted_at) WHERE result IS NOT NULL;"
	/* one swab in one tube; grid_code is the person's grid at sampling;
	 * a person is sampled once per campaign round (retests aside) */
	"CREATE TABLE samples("
	" id INTEGER PRIMARY KEY,"
	" tube_id INTEGER NOT NULL REFERENCES tubes(id),"
	" person_id INTEGER NOT NULL REFERENCES persons(id),"
	" campaign_id INTEGER REFERENCES campaigns(id),"
	" round INTEGER NOT NULL CHECK(round IN (0,1))," /* 1: a round tube */
	" expected INTEGER NOT NULL CHECK(expected IN (0,1)),"
	" grid_code TEXT NOT NULL,"
	" site_id INTEGER NOT NULL REFERENCES sites(id),"
	" sampled_at INTEGER NOT NULL,"
	" sampled_by TEXT NOT NULL);"
	"CREATE UNIQUE INDEX samples_round ON samples(campaign_id, person_id) WHERE round = 1;"
	"CREATE UNIQUE INDEX samples_tube ON samples(tube_id, person_id);"
	"CREATE INDEX samples_person ON samples(person_id, sampled_at);"
	/* samples per site and hour (hour = unix time / 3600), for throughput */
	"CREATE TABLE site_hours("
	" campaign_id INTEGER NOT NULL," /* 0: outside campaigns */
	" site_id INTEGER NOT NULL,"
	" hour INTEGER NOT NULL,"
	" samples INTEGER NOT NULL,"
	" PRIMARY KEY(campaign_id, site_id, hour)) WITHOUT ROWID;"
	/* Each person's results: the results recorded one by one
	 * (test_results) and those of the tubes they were sampled into; a
	 * member of a positive tube of several is 'pool_positive'. */
	"CREATE VIEW person_results(person_id, ref, sampled_at, resulted_at, result, pooled, tube,"
	" lab) AS"
	" SELECT person_id, id, sampled_at, resulted_at, result, pooled, tube, lab"
	" FROM test_results"
	" UNION ALL"
	" SELECT s.person_id, -s.id, s.sampled_at, t.resulted_at,"
	"  CASE WHEN t.result = 'positive' AND t.n > 1 THEN 'pool_positive' ELSE t.result END,"
	"  t.n, t.code, t.lab"
	" FROM samples s JOIN tubes t ON t.id = s.tube_id WHERE t.result IS NOT NULL;"
	/* Work for people: a kind, whom it is about, the region it is
	 * assigned to (a grid, a site's region...), a deadline.  Kinds so far:
	 * retest (member of a positive pooled tube), resample (member of an
	 * invalid tube); the control loop adds its own. */
	"CREATE TABLE tasks("
	" id INTEGER PRIMARY KEY,"
	" kind TEXT NOT NULL,"
	" person_id INTEGER REFERENCES persons(id),"
	" region_code TEXT NOT NULL,"
	" due_at INTEGER NOT NULL,"
	" status TEXT NOT NULL DEFAULT 'open' CHECK(status IN ('open','done','cancelled')),"
	" created_at INTEGER NOT NULL,"
	" source TEXT NOT NULL DEFAULT ''," /* what made it, e.g. 'tube:T000123' */
	" ref_id INTEGER," /* the record it follows from (tubes.id for retest/resample) */
	" done_at INTEGER,"
	" done_by TEXT NOT NULL DEFAULT '',"
	" note TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX tasks_region ON tasks(region_code, status, due_at);"
	"CREATE INDEX tasks_person ON tasks(person_id, status);"
	"CREATE UNIQUE INDEX tasks_once ON tasks(kind, ref_id, person_id) WHERE ref_id IS NOT NULL;"
	/* a positive single tube: a case candidate until the command confirms
	 * it (which adds the case) or dismisses it */
	"CREATE TABLE case_candidates("
	" id INTEGER PRIMARY KEY,"
	" person_id INTEGER NOT NULL REFERENCES persons(id),"
	" tube_id INTEGER NOT NULL REFERENCES tubes(id),"
	" sampled_at INTEGER NOT NULL,"
	" resulted_at INTEGER NOT NULL,"
	" status TEXT NOT NULL DEFAULT 'pending' CHECK(status IN ('pending','confirmed','dismissed')),"
	" case_id INTEGER REFERENCES cases(id),"
	" decided_at INTEGER,"
	" decided_by TEXT NOT NULL DEFAULT '',"
	" note TEXT NOT NULL DEFAULT '',"
	" UNIQUE(tube_id, person_id));"
	"CREATE INDEX case_candidates_status ON case_candidates(status, resulted_at);",
	/* 6: the control loop: case milestones, orders' phases and events,
	 * test schedules, isolation sites, rooms and stays, the five
	 * responsible people ("五包一"), health checks, risk-area changes */
	/* a case's milestones (the time targets: team on site, core
	 * information, report) and outcome */
	"ALTER TABLE cases ADD COLUMN team_on_site_at INTEGER;"
	"ALTER TABLE cases ADD COLUMN core_info_at INTEGER;"
	"ALTER TABLE cases ADD COLUMN reported_at INTEGER;"
	"ALTER TABLE cases ADD COLUMN outcome TEXT NOT NULL DEFAULT 'under_treatment'"
	" CHECK(outcome IN ('under_treatment','recovered','died','transferred'));"
	"ALTER TABLE cases ADD COLUMN outcome_at INTEGER;"
	/* An order is one phase of a category's measure: phase 1 the first
	 * (e.g. 7 days central), phase 2 its then_ part (3 days home
	 * monitoring), which follows phase 1 (prev_order) on release.  A
	 * secondary contact's order names the close contact it came through
	 * (link_person); an order replacing another (a secondary contact
	 * upgraded to close, a later exposure) names it in prev_order too.
	 * planned_end moves on extension; orig_end keeps the policy's end.
	 * end_reason: released, released_early, became_case, upgraded,
	 * superseded, cancelled. */
	"ALTER TABLE orders ADD COLUMN phase INTEGER NOT NULL DEFAULT 1 CHECK(phase IN (1, 2));"
	"ALTER TABLE orders ADD COLUMN prev_order INTEGER REFERENCES orders(id);"
	"ALTER TABLE orders ADD COLUMN link_person INTEGER REFERENCES persons(id);"
	"ALTER TABLE orders ADD COLUMN policy_version TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE orders ADD COLUMN orig_end INTEGER;"
	"ALTER TABLE orders ADD COLUMN activated_at INTEGER;"
	"ALTER TABLE orders ADD COLUMN activated_by TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE orders ADD COLUMN end_reason TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE orders ADD COLUMN queued_at INTEGER;" /* central: waiting for a room since */
	"UPDATE orders SET orig_end = planned_end;"
	"CREATE INDEX orders_status ON orders(status, planned_end);"
	"CREATE INDEX orders_case ON orders(case_id, category);"
	"CREATE INDEX orders_link ON orders(link_person) WHERE link_person IS NOT NULL;"
	/* the queue for rooms, oldest first (the tick reads it every second) */
	"CREATE INDEX orders_queued ON orders(queued_at, id) WHERE queued_at IS NOT NULL;"
	/* what happened to an order, in time order: the person's timeline */
	"CREATE TABLE order_events("
	" id INTEGER PRIMARY KEY,"
	" order_id INTEGER NOT NULL REFERENCES orders(id),"
	" at INTEGER NOT NULL,"
	" kind TEXT NOT NULL,"
	" actor TEXT NOT NULL,"
	" detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX order_events_order ON order_events(order_id, at);"
	/* An order's test days: day d of the phase is [start_at + (d-1) days,
	 * start_at + d days).  required: the window ends after the order was
	 * activated (a day already past when control began cannot be
	 * tested).  sampled_at/result: the person's first valid sample in the
	 * window and its result (NULL until resulted). */
	"CREATE TABLE order_tests("
	" id INTEGER PRIMARY KEY,"
	" order_id INTEGER NOT NULL REFERENCES orders(id),"
	" person_id INTEGER NOT NULL REFERENCES persons(id),"
	" day INTEGER NOT NULL,"
	" window_start INTEGER NOT NULL,"
	" window_end INTEGER NOT NULL,"
	" required INTEGER NOT NULL DEFAULT 1,"
	" sampled_at INTEGER,"
	" result TEXT,"
	" UNIQUE(order_id, day));"
	"CREATE INDEX order_tests_person ON order_tests(person_id, window_start);"
	"CREATE INDEX order_tests_open ON order_tests(window_start) WHERE result IS NULL;"
	/* Tasks of the control loop name their order and may be assigned to
	 * one of its five responsible people (assignee_role, responsible_id).
	 * ref_id keeps them unique (tasks_once): order_tests.id for a test
	 * day, the check slot for a missed check, the order id otherwise. */
	"ALTER TABLE tasks ADD COLUMN assignee_role TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE tasks ADD COLUMN responsible_id INTEGER;"
	"ALTER TABLE tasks ADD COLUMN order_id INTEGER REFERENCES orders(id);"
	"CREATE INDEX tasks_order ON tasks(order_id) WHERE order_id IS NOT NULL;"
	/* centralized isolation sites, their rooms and staff */
	"CREATE TABLE iso_sites("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" region_code TEXT NOT NULL REFERENCES regions(code),"
	" address TEXT NOT NULL DEFAULT '',"
	" status TEXT NOT NULL DEFAULT 'open' CHECK(status IN ('open','closed')),"
	" created_at INTEGER NOT NULL,"
	" created_by TEXT NOT NULL);"
	"CREATE INDEX iso_sites_region ON iso_sites(region_code);"
	"CREATE TABLE iso_rooms("
	" id INTEGER PRIMARY KEY,"
	" site_id INTEGER NOT NULL REFERENCES iso_sites(id),"
	" number TEXT NOT NULL,"
	" floor INTEGER NOT NULL,"
	" bathroom INTEGER NOT NULL DEFAULT 1,"
	" capacity INTEGER NOT NULL DEFAULT 1 CHECK(capacity BETWEEN 1 AND 8),"
	" status TEXT NOT NULL DEFAULT 'ready' CHECK(status IN ('ready','cleaning','out_of_service')),"
	" UNIQUE(site_id, number));"
	"CREATE TABLE iso_staff("
	" id INTEGER PRIMARY KEY,"
	" site_id INTEGER NOT NULL REFERENCES iso_sites(id),"
	" name TEXT NOT NULL,"
	" role TEXT NOT NULL,"
	" phone TEXT NOT NULL DEFAULT '',"
	" username TEXT);"
	/* a person in a room under an order: current while left_at is NULL;
	 * planned_leave follows the order's planned end (rooms free by date) */
	"CREATE TABLE stays("
	" id INTEGER PRIMARY KEY,"
	" order_id INTEGER NOT NULL REFERENCES orders(id),"
	" room_id INTEGER NOT NULL REFERENCES iso_rooms(id),"
	" person_id INTEGER NOT NULL REFERENCES persons(id),"
	" assigned_at INTEGER NOT NULL,"
	" assigned_by TEXT NOT NULL,"
	" planned_leave INTEGER NOT NULL,"
	" pickup_at INTEGER,"
	" vehicle TEXT NOT NULL DEFAULT '',"
	" arrived_at INTEGER,"
	" left_at INTEGER);"
	"CREATE INDEX stays_room ON stays(room_id, left_at);"
	"CREATE INDEX stays_order ON stays(order_id);"
	"CREATE INDEX stays_current ON stays(person_id) WHERE left_at IS NULL;"
	/* the five responsible people of a region ("五包一"): an order takes,
	 * for each role, the one registered at the deepest region above the
	 * person's grid */
	"CREATE TABLE responsibles("
	" id INTEGER PRIMARY KEY,"
	" region_code TEXT NOT NULL REFERENCES regions(code),"
	" role TEXT NOT NULL CHECK(role IN"
	"  ('town_cadre','village_cadre','police','doctor','grid_worker')),"
	" name TEXT NOT NULL,"
	" phone TEXT NOT NULL DEFAULT '',"
	" username TEXT,"
	" UNIQUE(region_code, role, name));"
	"CREATE INDEX responsibles_region ON responsibles(region_code, role);"
	"CREATE TABLE order_responsibles("
	" order_id INTEGER NOT NULL REFERENCES orders(id),"
	" role TEXT NOT NULL,"
	" responsible_id INTEGER REFERENCES responsibles(id),"
	" PRIMARY KEY(order_id, role)) WITHOUT ROWID;"
	/* temperature and symptom checks under an order; slot: the local day
	 * (Unix days of +08:00 time) * checks_per_day + the part of the day */
	"CREATE TABLE health_checks("
	" id INTEGER PRIMARY KEY,"
	" order_id INTEGER NOT NULL REFERENCES orders(id),"
	" person_id INTEGER NOT NULL REFERENCES persons(id),"
	" at INTEGER NOT NULL,"
	" slot INTEGER NOT NULL,"
	" temp_dc INTEGER," /* 0.1 degC */
	" symptoms TEXT NOT NULL DEFAULT '',"
	" by_role TEXT NOT NULL,"
	" by_user TEXT NOT NULL,"
	" created_at INTEGER NOT NULL);"
	"CREATE INDEX health_checks_order ON health_checks(order_id, slot);"
	/* Risk areas: a building (households of the grid region_code whose
	 * label starts with it) or a whole region.  A change of level ends
	 * one row and starts the next (prev_id).  auto: lowered
	 * automatically per policy; rows the system made await the
	 * command's confirmation (confirmed_at). */
	"ALTER TABLE risk_areas ADD COLUMN building TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE risk_areas ADD COLUMN prev_id INTEGER REFERENCES risk_areas(id);"
	"ALTER TABLE risk_areas ADD COLUMN auto INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE risk_areas ADD COLUMN confirmed_at INTEGER;"
	"ALTER TABLE risk_areas ADD COLUMN confirmed_by TEXT NOT NULL DEFAULT '';"
	"CREATE INDEX risk_areas_current ON risk_areas(end_at, region_code);",
};

#endif
