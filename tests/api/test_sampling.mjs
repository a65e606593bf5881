// Tubes and samples (POST /api/v1/tubes, /samples, /tubes/{code}/close,
// GET /api/v1/tubes/{code}) against a real server.  Campaigns, their grid
// rows, an exemption and sites are written here with the sqlite3 shell, as
// a launch would write them; every expected figure (who is in the
// population, the counters per grid, samples per site and hour) is
// recomputed here in SQL from the samples table, not taken from the server.
import { test, run, startServer, api, sql, eq, assert, createUser } from '../lib/harness.mjs';

const S = await startServer({ persons: 2000, seed: 31 });
const login = async (username, password) => (await api(S.url, 'POST', '/api/v1/sessions', { body: { username, password } })).body.token;
const admin = await login('admin', S.adminPassword);

// ---- the area: the county with the most people; a second county outside it
const [county, other] = sql(S.db, `SELECT substr(grid_code, 1, 6) c FROM persons GROUP BY c ORDER BY count(*) DESC, c LIMIT 2`).split('\n');
assert(county && other, 'the test city needs two counties with people');
const personsOf = (where, n) => sql(S.db, `SELECT id, id_number, grid_code, name FROM persons WHERE ${where} ORDER BY id LIMIT ${n}`)
  .split('\n').map(l => { const [id, idn, grid, name] = l.split('|'); return { id: Number(id), idn, grid, name }; });
const inside = personsOf(`grid_code LIKE '${county}%'`, 120);
const outside = personsOf(`grid_code LIKE '${other}%'`, 3);
const now = Math.floor(Date.now() / 1000);
const maxId = Number(sql(S.db, 'SELECT max(id) FROM persons'));
const exempt = inside[119]; // exempt at launch (age): in the population, not expected
// campaign 1: whole county, open, pool 10; campaign 2: same county, open
// (closed later by a test); campaign 3: closed from the start
sql(S.db, `
INSERT INTO campaigns(id, name, kind, region_code, starts_at, deadline, pool_size, status, population_max_id, exempt_under_age, created_at, created_by)
 VALUES (1, 'round one', 'whole', '${county}', ${now - 3600}, ${now + 7 * 86400}, 10, 'open', ${maxId}, 3, ${now}, 'test'),
        (2, 'round two', 'whole', '${county}', ${now - 3600}, ${now + 7 * 86400}, 5, 'open', ${maxId}, 3, ${now}, 'test'),
        (3, 'old round', 'whole', '${county}', ${now - 9 * 86400}, ${now - 2 * 86400}, 10, 'closed', ${maxId}, 3, ${now}, 'test');
INSERT INTO campaign_exempt(campaign_id, person_id, reason) VALUES (1, ${exempt.id}, 'age');
INSERT INTO campaign_grids(campaign_id, grid_code, expected, exempt)
 SELECT c.id, r.code, (SELECT count(*) FROM persons p WHERE p.grid_code = r.code)
   - (SELECT count(*) FROM campaign_exempt e JOIN persons p ON p.id = e.person_id WHERE e.campaign_id = c.id AND p.grid_code = r.code),
   (SELECT count(*) FROM campaign_exempt e JOIN persons p ON p.id = e.person_id WHERE e.campaign_id = c.id AND p.grid_code = r.code)
 FROM regions r, campaigns c WHERE r.level = 6 AND r.code LIKE '${county}%';
INSERT INTO sites(code, name, region_code, capacity_per_hour, created_at, created_by)
 VALUES ('S-IN', '城区采样点', '${county}', 300, ${now}, 'test'), ('S-IN2', '第二采样点', '${county}', 300, ${now}, 'test'),
        ('S-OUT', '外区采样点', '${other}', 300, ${now}, 'test');`);
const siteId = code => Number(sql(S.db, `SELECT id FROM sites WHERE code = '${code}'`));

const tester = await createUser(S, admin, { username: 'sampler.county', role: 'tester', scope: county, password: 'tester-pass-9' });
const lab = await createUser(S, admin, { username: 'lab.city', role: 'lab', scope: '6109', password: 'lab-pass-123' });
const grid = await createUser(S, admin, { username: 'grid.one', role: 'grid', scope: inside[0].grid, password: 'grid-pass-9' });
const command = await createUser(S, admin, { username: 'cmd.county', role: 'command', scope: county, password: 'command-pass-9' });
const venue = await createUser(S, admin, { username: 'gate.one', role: 'venue', scope: '6109', password: 'venue-pass-9' });
const testerOut = await createUser(S, admin, { username: 'sampler.other', role: 'tester', scope: other, password: 'tester-pass-9' });

const post = (path, body, token = tester) => api(S.url, 'POST', path, { token, body });
const sample = (body, token) => post('/api/v1/samples', body, token);
// everything a sample or a binding can change, in one string
const snapshot = () => sql(S.db, `SELECT
  (SELECT count(*) || ':' || coalesce(sum(id), 0) FROM samples) || ',' ||
  (SELECT count(*) || ':' || coalesce(sum(n), 0) || ':' || count(closed_at) FROM tubes) || ',' ||
  (SELECT sum(sampled) || ':' || sum(sampled_expected) FROM campaign_grids) || ',' ||
  (SELECT coalesce(sum(samples), 0) FROM site_hours)`);
let nextPerson = 0;
const fresh = () => inside[nextPerson++];
async function refused(body, status, code, token) {
  const before = snapshot();
  const r = await sample(body, token);
  eq(r.status, status, `${code}: ${r.text}`);
  eq(r.body.error.code, code, r.text);
  eq(snapshot(), before, `${code} changed the database`);
  return r;
}

test('bind a tube: 201, the same binding 200, another binding 409 tube_bound', async () => {
  const r = await post('/api/v1/tubes', { tube: 'B-0001', site: 'S-IN', campaign: 1 });
  eq(r.status, 201, r.text);
  eq(Object.keys(r.body), ['tube', 'campaign', 'site', 'purpose', 'pool_size', 'n', 'opened_at', 'closed_at', 'result', 'resulted_at', 'lab']);
  eq([r.body.tube, r.body.campaign, r.body.site, r.body.purpose, r.body.pool_size, r.body.n, r.body.closed_at, r.body.result, r.body.resulted_at, r.body.lab],
    ['B-0001', 1, 'S-IN', 'round', 10, 0, null, null, null, '']);
  assert(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/.test(r.body.opened_at), r.body.opened_at);
  eq(sql(S.db, "SELECT campaign_id || '|' || site_id || '|' || purpose || '|' || pool_size || '|' || n || '|' || opened_by FROM tubes WHERE code = 'B-0001'"),
    `1|${siteId('S-IN')}|round|10|0|sampler.county`);
  const again = await post('/api/v1/tubes', { tube: 'B-0001', site: 'S-IN', campaign: 1, pool_size: 10, purpose: 'round' });
  eq(again.status, 200, again.text);
  eq(again.body.opened_at, r.body.opened_at);
  const before = snapshot();
  for (const body of [{ tube: 'B-0001', site: 'S-IN', campaign: 1, pool_size: 5 }, { tube: 'B-0001', site: 'S-IN2', campaign: 1 },
    { tube: 'B-0001', site: 'S-IN' }, { tube: 'B-0001', site: 'S-IN', campaign: 2 }, { tube: 'B-0001', site: 'S-IN', campaign: 1, purpose: 'retest' }]) {
    const c = await post('/api/v1/tubes', body);
    eq(c.status, 409, JSON.stringify(body) + c.text);
    eq(c.body.error.code, 'tube_bound');
  }
  eq(snapshot(), before);
  // outside any campaign: pool 1 by default
  const free = await post('/api/v1/tubes', { tube: 'B-FREE', site: 'S-IN' });
  eq([free.status, free.body.campaign, free.body.pool_size], [201, null, 1], free.text);
});

test('bind a tube: bad bodies 400, unknown or out-of-scope site and unknown campaign 404, closed campaign 409', async () => {
  const before = snapshot();
  for (const [body, field] of [[{ site: 'S-IN' }, 'tube'], [{ tube: 'bad code!', site: 'S-IN' }, 'tube'], [{ tube: 'x'.repeat(33), site: 'S-IN' }, 'tube'],
    [{ tube: 'B-0002' }, 'site'], [{ tube: 'B-0002', site: 'S-IN', pool_size: 0 }, 'pool_size'], [{ tube: 'B-0002', site: 'S-IN', pool_size: 21 }, 'pool_size'],
    [{ tube: 'B-0002', site: 'S-IN', pool_size: '10' }, 'pool_size'], [{ tube: 'B-0002', site: 'S-IN', purpose: 'party' }, 'purpose'],
    [{ tube: 'B-0002', site: 'S-IN', campaign: 'one' }, 'campaign'], [{ tube: 7, site: 'S-IN' }, 'tube']]) {
    const r = await post('/api/v1/tubes', body);
    eq(r.status, 400, JSON.stringify(body) + r.text);
    eq(r.body.error.code, 'bad_request');
    assert(r.body.error.message.includes(`'${field}'`), `the message names ${field}: ${r.body.error.message}`);
  }
  for (const body of [{ tube: 'B-0002', site: 'S-NONE' }, { tube: 'B-0002', site: 'S-OUT' }, { tube: 'B-0002', site: 'S-IN', campaign: 99 }]) {
    const r = await post('/api/v1/tubes', body);
    eq([r.status, r.body.error.code], [404, 'not_found'], JSON.stringify(body) + r.text);
  }
  const c = await post('/api/v1/tubes', { tube: 'B-0002', site: 'S-IN', campaign: 3 });
  eq([c.status, c.body.error.code], [409, 'campaign_closed'], c.text);
  const g = await post('/api/v1/tubes', { tube: 'B-0002', site: 'S-IN' }, grid);
  eq(g.status, 403);
  eq(snapshot(), before);
});

test('a sample: 201 with the answer, the row, the tube count, the counters and the site hour', async () => {
  const p = fresh();
  const cg = () => sql(S.db, `SELECT sampled || '|' || sampled_expected FROM campaign_grids WHERE campaign_id = 1 AND grid_code = '${p.grid}'`);
  const [s0, e0] = cg().split('|').map(Number);
  const t0 = Math.floor(Date.now() / 1000);
  const r = await sample({ tube: 'B-0001', id_number: p.idn });
  eq(r.status, 201, r.text);
  eq(Object.keys(r.body), ['sample', 'tube', 'n', 'pool_size', 'closed', 'sampled_at', 'expected', 'retry', 'person']);
  const c = [...p.name];
  const masked = c[0] + '*'.repeat(c.length - (c.length >= 3 ? 2 : 1)) + (c.length >= 3 ? c[c.length - 1] : '');
  eq([r.body.tube, r.body.n, r.body.pool_size, r.body.closed, r.body.expected, r.body.retry, r.body.person],
    ['B-0001', 1, 10, false, true, false, { id: p.id, name: masked }]);
  const row = sql(S.db, `SELECT s.id, t.code, s.campaign_id, s.round, s.expected, s.grid_code, s.site_id, s.sampled_at, s.sampled_by
    FROM samples s JOIN tubes t ON t.id = s.tube_id WHERE s.person_id = ${p.id}`).split('|');
  eq(row.slice(0, 7).concat(row[8]), [String(r.body.sample), 'B-0001', '1', '1', '1', p.grid, String(siteId('S-IN')), 'sampler.county']);
  const at = Number(row[7]);
  assert(at >= t0 - 1 && at <= Math.floor(Date.now() / 1000) + 1, 'the server time');
  eq(Date.parse(r.body.sampled_at) / 1000, at);
  eq(sql(S.db, "SELECT n FROM tubes WHERE code = 'B-0001'"), '1');
  eq(cg(), `${s0 + 1}|${e0 + 1}`);
  eq(sql(S.db, `SELECT samples FROM site_hours WHERE campaign_id = 1 AND site_id = ${siteId('S-IN')} AND hour = ${Math.floor(at / 3600)}`), '1');
});

test('retry after a timeout: the same request twice answers 200 retry:true with the first sample, one row', async () => {
  const p = fresh();
  const first = await sample({ tube: 'B-0001', id_number: p.idn });
  eq(first.status, 201, first.text);
  const before = snapshot();
  const again = await sample({ tube: 'B-0001', id_number: p.idn });
  eq(again.status, 200, again.text);
  eq(again.body, { ...first.body, retry: true });
  eq(snapshot(), before);
  eq(sql(S.db, `SELECT count(*) FROM samples WHERE person_id = ${p.id}`), '1');
  // the check character typed in lower case is the same person
  if (p.idn.endsWith('X')) eq((await sample({ tube: 'B-0001', id_number: p.idn.slice(0, 17) + 'x' })).status, 200);
});

test('refusals: each code with its status, and the database unchanged', async () => {
  const p = fresh();
  // 400
  for (const body of [{ id_number: p.idn }, { tube: 'B-0001' }, { tube: 'no such!', id_number: p.idn }, { tube: 'B-0001', id_number: 42 },
    { tube: 'B-0001', id_number: p.idn, pool_size: 50 }, { tube: 'B-0001', id_number: p.idn, purpose: 'x' }])
    await refused(body, 400, 'bad_request');
  const bad = await api(S.url, 'POST', '/api/v1/samples', { token: tester, raw: '{"tube":', headers: { 'content-type': 'application/json' } });
  eq(bad.status, 400);
  // 404
  await refused({ tube: 'B-0001', id_number: '110101199003070000' }, 404, 'unknown_person');
  await refused({ tube: 'B-NEW-1', id_number: p.idn }, 404, 'unknown_tube');
  await refused({ tube: 'B-NEW-1', id_number: p.idn, campaign: 1 }, 404, 'unknown_tube');
  // tube_full: a single tube of one
  eq((await sample({ tube: 'B-ONE', id_number: p.idn, site: 'S-IN', campaign: 1, pool_size: 1 })).status, 201);
  const q = fresh();
  const full = await refused({ tube: 'B-ONE', id_number: q.idn }, 409, 'tube_full');
  assert(/full/.test(full.body.error.message), full.body.error.message);
  // tube_closed: closed by hand before it was full
  eq((await post('/api/v1/tubes', { tube: 'B-SHUT', site: 'S-IN', campaign: 1 })).status, 201);
  eq((await post('/api/v1/tubes/B-SHUT/close', {})).status, 200);
  const closed = await refused({ tube: 'B-SHUT', id_number: q.idn }, 409, 'tube_closed');
  assert(/bind a new tube/.test(closed.body.error.message), closed.body.error.message);
  // tube_closed: a tube with a result (written as the lab would)
  eq((await sample({ tube: 'B-RES', id_number: q.idn, site: 'S-IN', pool_size: 10 })).status, 201);
  sql(S.db, `UPDATE tubes SET result = 'negative', resulted_at = ${now}, closed_at = ${now} WHERE code = 'B-RES'`);
  await refused({ tube: 'B-RES', id_number: fresh().idn }, 409, 'tube_closed');
  // already_sampled: p has a round sample in campaign 1 (tube B-ONE)
  const first = sql(S.db, `SELECT sampled_at FROM samples WHERE person_id = ${p.id} AND campaign_id = 1`);
  const twice = await refused({ tube: 'B-0001', id_number: p.idn }, 409, 'already_sampled');
  const shown = new Date(Number(first) * 1000 + 8 * 3600 * 1000).toISOString().slice(0, 19) + '+08:00';
  assert(twice.body.error.message.includes('B-ONE') && twice.body.error.message.includes(shown), twice.body.error.message);
  // out_of_area: a person of another county, also when the tube would be bound by this very sample
  await refused({ tube: 'B-0001', id_number: outside[0].idn }, 409, 'out_of_area');
  await refused({ tube: 'B-NEW-2', id_number: outside[0].idn, site: 'S-IN', campaign: 1 }, 409, 'out_of_area');
  eq(sql(S.db, "SELECT count(*) FROM tubes WHERE code = 'B-NEW-2'"), '0', 'a refused first sample binds nothing');
  // tube_bound: the body names another binding of a bound tube
  await refused({ tube: 'B-0001', id_number: q.idn, site: 'S-IN2' }, 409, 'tube_bound');
  await refused({ tube: 'B-0001', id_number: q.idn, campaign: 2 }, 409, 'tube_bound');
  // campaign_closed: binding into a closed campaign, and a tube of a campaign closed since
  await refused({ tube: 'B-NEW-3', id_number: q.idn, site: 'S-IN', campaign: 3 }, 409, 'campaign_closed');
  eq((await sample({ tube: 'B-C2', id_number: fresh().idn, site: 'S-IN', campaign: 2 })).status, 201);
  sql(S.db, `UPDATE campaigns SET status = 'closed', closed_at = ${now} WHERE id = 2`);
  await refused({ tube: 'B-C2', id_number: fresh().idn }, 409, 'campaign_closed');
  // the site of the tube lies outside this sampler's scope: as if unknown
  await refused({ tube: 'B-0001', id_number: q.idn }, 404, 'unknown_tube', testerOut);
  // a role without PERM_SAMPLE
  const g = await sample({ tube: 'B-0001', id_number: q.idn }, grid);
  eq(g.status, 403);
});

test('a tube closes when full: pool of 5, the fifth answer says closed, the sixth is tube_full', async () => {
  const ps = [fresh(), fresh(), fresh(), fresh(), fresh(), fresh()];
  const ns = [];
  for (const [i, p] of ps.slice(0, 5).entries()) {
    const r = await sample(i === 0 ? { tube: 'B-FIVE', id_number: p.idn, site: 'S-IN2', campaign: 1, pool_size: 5 } : { tube: 'B-FIVE', id_number: p.idn });
    eq(r.status, 201, r.text);
    ns.push([r.body.n, r.body.closed]);
  }
  eq(ns, [[1, false], [2, false], [3, false], [4, false], [5, true]]);
  const t = await api(S.url, 'GET', '/api/v1/tubes/B-FIVE', { token: tester });
  eq([t.status, t.body.n, t.body.pool_size], [200, 5, 5]);
  assert(t.body.closed_at, 'closed_at is set');
  eq(sql(S.db, "SELECT closed_at = (SELECT max(sampled_at) FROM samples s WHERE s.tube_id = t.id) FROM tubes t WHERE code = 'B-FIVE'"), '1');
  await refused({ tube: 'B-FIVE', id_number: ps[5].idn }, 409, 'tube_full');
  // the fifth again is still a retry, not a refusal
  const again = await sample({ tube: 'B-FIVE', id_number: ps[4].idn });
  eq([again.status, again.body.retry, again.body.n, again.body.closed], [200, true, 5, true]);
});

test('retest tubes: round 0, no coverage counters, site hours counted; the exempt person counts as sampled, not expected', async () => {
  const p = inside[0]; // sampled in the round already
  const grids = sql(S.db, "SELECT sum(sampled) || ':' || sum(sampled_expected) FROM campaign_grids");
  const hours = Number(sql(S.db, 'SELECT sum(samples) FROM site_hours'));
  const r = await sample({ tube: 'R-0001', id_number: p.idn, site: 'S-IN', campaign: 1, pool_size: 1, purpose: 'retest' });
  eq([r.status, r.body.closed], [201, true], r.text);
  eq(sql(S.db, `SELECT round || '|' || campaign_id FROM samples WHERE id = ${r.body.sample}`), '0|1');
  eq(sql(S.db, "SELECT sum(sampled) || ':' || sum(sampled_expected) FROM campaign_grids"), grids);
  eq(Number(sql(S.db, 'SELECT sum(samples) FROM site_hours')), hours + 1);
  const e = await sample({ tube: 'B-EX', id_number: exempt.idn, site: 'S-IN', campaign: 1 });
  eq([e.status, e.body.expected], [201, false], e.text);
  // outside any campaign anyone may be sampled
  const o = await sample({ tube: 'B-FREE', id_number: outside[1].idn });
  eq([o.status, o.body.expected], [201, false], o.text);
  eq(sql(S.db, `SELECT campaign_id IS NULL FROM samples WHERE id = ${o.body.sample}`), '1');
});

test('parallel samples into one tube of 10: exactly 10 accepted, the rest tube_full or tube_closed', async () => {
  const ps = inside.slice(60, 100);
  eq((await post('/api/v1/tubes', { tube: 'B-RACE', site: 'S-IN', campaign: 1 })).status, 201);
  const rs = await Promise.all(ps.map(p => sample({ tube: 'B-RACE', id_number: p.idn })));
  const ok = rs.filter(r => r.status === 201);
  eq(ok.length, 10, rs.map(r => r.status).join(','));
  for (const r of rs.filter(r => r.status !== 201)) {
    eq(r.status, 409, r.text);
    assert(['tube_full', 'tube_closed'].includes(r.body.error.code), r.text);
  }
  eq(ok.map(r => r.body.n).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  eq(sql(S.db, "SELECT n || '|' || (closed_at IS NOT NULL) || '|' || (SELECT count(*) FROM samples s WHERE s.tube_id = t.id) FROM tubes t WHERE code = 'B-RACE'"), '10|1|10');
});

test('counters: campaign_grids and site_hours equal an independent count over samples', async () => {
  // expected: in the area, id <= population_max_id, not exempt (recomputed from persons)
  const mismatch = sql(S.db, `
    SELECT g.campaign_id, g.grid_code, g.sampled, g.sampled_expected, coalesce(x.n, 0), coalesce(x.e, 0)
    FROM campaign_grids g LEFT JOIN (
      SELECT s.campaign_id c, s.grid_code gc, count(*) n,
        sum(p.id <= k.population_max_id AND p.grid_code LIKE k.region_code || '%'
            AND NOT EXISTS (SELECT 1 FROM campaign_exempt e WHERE e.campaign_id = s.campaign_id AND e.person_id = p.id)) e
      FROM samples s JOIN persons p ON p.id = s.person_id JOIN campaigns k ON k.id = s.campaign_id
      WHERE s.round = 1 GROUP BY s.campaign_id, s.grid_code) x ON x.c = g.campaign_id AND x.gc = g.grid_code
    WHERE g.sampled <> coalesce(x.n, 0) OR g.sampled_expected <> coalesce(x.e, 0)`);
  eq(mismatch, '');
  assert(Number(sql(S.db, 'SELECT sum(sampled) FROM campaign_grids WHERE campaign_id = 1')) >= 15, 'enough samples to compare');
  eq(sql(S.db, `SELECT count(*) FROM samples s WHERE s.round = 1 AND s.campaign_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM campaign_grids g WHERE g.campaign_id = s.campaign_id AND g.grid_code = s.grid_code)`), '0');
  const hours = sql(S.db, `SELECT h.campaign_id, h.site_id, h.hour, h.samples, coalesce(x.n, 0) FROM site_hours h
    LEFT JOIN (SELECT coalesce(campaign_id, 0) c, site_id, sampled_at / 3600 hr, count(*) n FROM samples GROUP BY 1, 2, 3) x
    ON x.c = h.campaign_id AND x.site_id = h.site_id AND x.hr = h.hour WHERE h.samples <> coalesce(x.n, 0)`);
  eq(hours, '');
  eq(sql(S.db, 'SELECT sum(samples) FROM site_hours'), sql(S.db, 'SELECT count(*) FROM samples'));
  eq(sql(S.db, 'SELECT count(*) FROM tubes t WHERE n <> (SELECT count(*) FROM samples s WHERE s.tube_id = t.id)'), '0');
});

test('GET a tube: sampler, lab and testing readers; other roles 403; other scopes 404', async () => {
  for (const token of [tester, lab, command]) {
    const r = await api(S.url, 'GET', '/api/v1/tubes/B-0001', { token });
    eq([r.status, r.body.tube, r.body.campaign, r.body.site], [200, 'B-0001', 1, 'S-IN'], r.text);
    eq(r.body.n, Number(sql(S.db, "SELECT n FROM tubes WHERE code = 'B-0001'")));
  }
  eq((await api(S.url, 'GET', '/api/v1/tubes/B-0001', { token: venue })).status, 403);
  // a grid worker reads the tubes of sites in their grid only
  eq((await api(S.url, 'GET', '/api/v1/tubes/B-0001', { token: grid })).status, 404);
  const o = await api(S.url, 'GET', '/api/v1/tubes/B-0001', { token: testerOut });
  eq([o.status, o.body.error.code], [404, 'unknown_tube']);
  eq((await api(S.url, 'GET', '/api/v1/tubes/NOPE', { token: tester })).status, 404);
  const res = await api(S.url, 'GET', '/api/v1/tubes/B-RES', { token: lab });
  eq([res.body.result, res.body.closed_at !== null, res.body.resulted_at !== null], ['negative', true, true]);
});

test('close a tube: 200 with closed_at, again the same, unknown 404, audited once', async () => {
  const p = fresh();
  eq((await sample({ tube: 'B-CLOSE', id_number: p.idn, site: 'S-IN', campaign: 1 })).status, 201);
  const c = await post('/api/v1/tubes/B-CLOSE/close', {});
  eq([c.status, c.body.n], [200, 1], c.text);
  assert(c.body.closed_at, 'closed_at set');
  const again = await post('/api/v1/tubes/B-CLOSE/close', {});
  eq(again.body, c.body);
  eq(sql(S.db, "SELECT count(*) FROM audit_log WHERE action = 'tube.close' AND object = 'B-CLOSE'"), '1');
  const u = await post('/api/v1/tubes/NOPE/close', {});
  eq([u.status, u.body.error.code], [404, 'unknown_tube']);
  eq((await post('/api/v1/tubes/B-CLOSE/close', {}, testerOut)).status, 404);
});

await run();
