// Campaigns and sampling sites over HTTP: launch with the policy's
// defaults, scope, every refused field named, close, list visibility and
// paging, sites.  The server's clock is fixed (FANGKONG_NOW) so the default
// start is known; every expected figure comes from the sqlite3 shell over
// persons, regions and orders, written from the definitions (population of
// the area, less infants under 3 at the start and persons under central or
// home isolation then), never from the server under test.
import { test, run, startServer, api, sql, eq, assert, createUser } from '../lib/harness.mjs';

const NOW = '2022-01-10T08:00:00+08:00';
const S = await startServer({ persons: 2500, seed: 31, env: { FANGKONG_NOW: NOW } });
const login = async (username, password) => (await api(S.url, 'POST', '/api/v1/sessions', { body: { username, password } })).body.token;
const admin = await login('admin', S.adminPassword);

// two counties with people; a grid of the first
const [A, B] = sql(S.db, `SELECT substr(grid_code, 1, 6) FROM persons GROUP BY 1 ORDER BY count(*) DESC LIMIT 2`).split('\n');
const GRID = sql(S.db, `SELECT grid_code FROM persons WHERE grid_code LIKE '${A}%' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`);
const T = Date.parse(NOW) / 1000;
// an order in force at NOW for someone of A (exempt), one ended before (not)
const [iso, ended] = sql(S.db, `SELECT id FROM persons WHERE grid_code LIKE '${A}%' AND birth_date < '2000-01-01' ORDER BY id LIMIT 2`).split('\n');
sql(S.db, `INSERT INTO orders(person_id, kind, status, start_at, planned_end, created_at, created_by) VALUES
  (${iso}, 'central', 'active', ${T - 86400}, ${T + 13 * 86400}, ${T}, 'test'),
  (${ended}, 'home_isolation', 'completed', ${T - 9 * 86400}, ${T - 2 * 86400}, ${T}, 'test')`);

const CUTOFF = sql(S.db, `SELECT date('2022-01-10', '-3 years')`);
const ISO = `SELECT person_id FROM orders WHERE kind IN ('central','home_isolation') AND status IN ('active','completed')
  AND start_at <= ${T} AND coalesce(ended_at, planned_end) > ${T}`;
const ref = (where) => {
  const [pop, ex] = sql(S.db, `SELECT count(*), coalesce(sum(birth_date > '${CUTOFF}' OR id IN (${ISO})), 0) FROM persons WHERE ${where}`).split('|').map(Number);
  return { expected: pop - ex, exempt: ex };
};
const regionName = c => sql(S.db, `SELECT name FROM regions WHERE code = '${c}'`);
const count = q => Number(sql(S.db, q));

await createUser(S, admin, { username: 'cmd', role: 'command', scope: '6109' });
await createUser(S, admin, { username: 'tester.a', role: 'tester', scope: A });
await createUser(S, admin, { username: 'tester.b', role: 'tester', scope: B });
await createUser(S, admin, { username: 'grid.a', role: 'grid', scope: GRID });
await createUser(S, admin, { username: 'lab', role: 'lab', scope: '6109' });
const cmd = await login('cmd', 'own-password-1');
const ta = await login('tester.a', 'own-password-1');
const tb = await login('tester.b', 'own-password-1');
const grid = await login('grid.a', 'own-password-1');
const lab = await login('lab', 'own-password-1');
const post = (token, path, body) => api(S.url, 'POST', path, { token, body });
const get = (token, path) => api(S.url, 'GET', path, { token });

const ids = {};
test('a whole-area campaign with the defaults: now, 7 days, 10 per tube', async () => {
  const r = await post(ta, '/api/v1/campaigns', { name: '汉滨区全员检测', kind: 'whole', region: A });
  eq(r.status, 201, r.text);
  const want = ref(`grid_code LIKE '${A}%'`);
  assert(want.exempt >= 2, 'the city has infants and an isolated person in A');
  eq(Object.keys(r.body), ['id', 'name', 'kind', 'region', 'starts_at', 'deadline', 'pool_size', 'status', 'occupations',
    'expected', 'exempt', 'sampled', 'resulted', 'positive', 'missing', 'created_at', 'created_by', 'policy_version']);
  const { id, created_at, policy_version, ...rest } = r.body;
  eq(rest, { name: '汉滨区全员检测', kind: 'whole', region: { code: A, name: regionName(A) }, starts_at: NOW,
    deadline: '2022-01-17T08:00:00+08:00', pool_size: 10, status: 'open', occupations: [],
    expected: want.expected, exempt: want.exempt, sampled: 0, resulted: 0, positive: 0, missing: want.expected,
    created_by: 'tester.a' });
  eq(created_at, NOW);
  assert(/^protocol-9@[0-9a-f]{12}$/.test(policy_version), policy_version);
  eq(count(`SELECT count(*) FROM campaign_grids WHERE campaign_id = ${id}`), count(`SELECT count(*) FROM regions WHERE level = 6 AND code LIKE '${A}%'`), 'a row for every grid');
  eq(sql(S.db, `SELECT reason FROM campaign_exempt WHERE campaign_id = ${id} AND person_id IN (${iso}, ${ended})`), 'isolation', 'only the order in force');
  eq(sql(S.db, `SELECT actor || ' ' || action FROM audit_log WHERE object = 'campaign:${id}'`), 'tester.a campaign.create');
  ids.whole = id;
});

test('deadlines by kind from the policy; pool, start and deadline given', async () => {
  const cases = [['core', '2022-01-13T08:00:00+08:00'], ['designated', '2022-01-11T08:00:00+08:00'],
    ['periodic', '2022-01-17T08:00:00+08:00']];
  for (const [kind, deadline] of cases) {
    const r = await post(cmd, '/api/v1/campaigns', { name: kind, kind, region: kind === 'designated' ? GRID : A });
    eq(r.status, 201, r.text);
    eq([r.body.kind, r.body.deadline, r.body.pool_size], [kind, deadline, 10]);
    ids[kind] = r.body.id;
  }
  const p = (await get(cmd, `/api/v1/campaigns/${ids.periodic}`)).body;
  eq(p.occupations, ['cold_chain', 'port', 'isolation_staff', 'medical', 'courier', 'transport'], 'the policy\'s occupations');
  eq([p.expected, p.exempt], Object.values(ref(`grid_code LIKE '${A}%' AND occupation IN ('cold_chain','port','isolation_staff','medical','courier','transport')`)));
  const d = (await get(cmd, `/api/v1/campaigns/${ids.designated}`)).body;
  eq([d.region, d.expected, d.exempt], [{ code: GRID, name: regionName(GRID) }, ...Object.values(ref(`grid_code = '${GRID}'`))], 'a grid is a designated area');
  const r = await post(cmd, '/api/v1/campaigns', { name: '冷链', kind: 'periodic', region: '6109', occupations: ['cold_chain'],
    starts_at: '2022-01-11T00:00:00Z', deadline: '2022-01-12T20:00:00+08:00', pool_size: 5 });
  eq(r.status, 201, r.text);
  eq([r.body.starts_at, r.body.deadline, r.body.pool_size, r.body.occupations], ['2022-01-11T08:00:00+08:00', '2022-01-12T20:00:00+08:00', 5, ['cold_chain']]);
  eq(r.body.expected + r.body.exempt, count(`SELECT count(*) FROM persons WHERE occupation = 'cold_chain'`));
});

test('targeted: the listed persons; an unknown ID number refused by its index, nothing written', async () => {
  const idns = sql(S.db, `SELECT id_number FROM persons WHERE grid_code LIKE '${A}%' ORDER BY id LIMIT 4`).split('\n');
  const r = await post(ta, '/api/v1/campaigns', { name: '密接定向', kind: 'targeted', region: A, persons: [...idns, idns[0].toLowerCase()] });
  eq(r.status, 201, r.text);
  eq(r.body.expected + r.body.exempt, 4);
  eq(r.body.deadline, '2022-01-17T08:00:00+08:00');
  eq(count(`SELECT count(*) FROM campaign_targets WHERE campaign_id = ${r.body.id}`), 4);
  const before = count('SELECT count(*) FROM campaigns');
  const bad = await post(ta, '/api/v1/campaigns', { name: 'x', kind: 'targeted', region: A, persons: [idns[0], '110101199003074514'] });
  eq([bad.status, bad.body.error.code], [400, 'bad_request']);
  assert(bad.body.error.message.includes('persons[1]'), bad.text);
  const outside = sql(S.db, `SELECT id_number FROM persons WHERE grid_code LIKE '${B}%' LIMIT 1`);
  const out = await post(ta, '/api/v1/campaigns', { name: 'x', kind: 'targeted', region: A, persons: [outside] });
  eq(out.status, 400);
  assert(out.body.error.message.includes('persons[0]'), out.text);
  eq(count('SELECT count(*) FROM campaigns'), before, 'no campaign written');
  eq(count(`SELECT count(*) FROM campaign_grids WHERE campaign_id > ${r.body.id}`), 0);
});

test('scope: a region outside the scope or unknown is 404; roles without the permission 403', async () => {
  for (const region of [B, '6109', '999999', 'abc']) {
    const r = await post(ta, '/api/v1/campaigns', { name: 'x', kind: 'whole', region });
    eq([r.status, r.body.error.code], [404, 'not_found'], region);
  }
  eq((await post(grid, '/api/v1/campaigns', { name: 'x', kind: 'whole', region: GRID })).status, 403);
  eq((await post(lab, '/api/v1/campaigns', { name: 'x', kind: 'whole', region: A })).status, 403);
  eq((await get(lab, '/api/v1/campaigns')).status, 403);
});

test('bad fields: 400 naming the field', async () => {
  const base = { name: 'x', kind: 'whole', region: A };
  const cases = [
    [{ ...base, name: undefined }, "'name'"], [{ ...base, name: '  ' }, "'name'"],
    [{ ...base, kind: 'all' }, "'kind'"], [{ ...base, kind: undefined }, "'kind'"],
    [{ ...base, region: undefined }, "'region'"], [{ ...base, region: 610902 }, "'region'"],
    [{ ...base, pool_size: 7 }, "'pool_size'"], [{ ...base, pool_size: '10' }, "'pool_size'"],
    [{ ...base, starts_at: '2022-01-10T08:00:00' }, "'starts_at'"], [{ ...base, deadline: 'soon' }, "'deadline'"],
    [{ ...base, deadline: '2022-01-10T07:00:00+08:00' }, "'deadline'"],
    [{ ...base, occupations: ['port'] }, "'occupations'"],
    [{ ...base, kind: 'periodic', occupations: ['cold chain'] }, "'occupations[0]'"],
    [{ ...base, kind: 'periodic', occupations: 'port' }, "'occupations'"],
    [{ ...base, persons: ['x'] }, "'persons'"], [{ ...base, kind: 'targeted' }, "'persons'"],
    [{ ...base, kind: 'targeted', persons: [12] }, "'persons[0]'"],
  ];
  const before = count('SELECT count(*) FROM campaigns');
  for (const [body, field] of cases) {
    const r = await post(ta, '/api/v1/campaigns', body);
    eq([r.status, r.body.error && r.body.error.code], [400, 'bad_request'], JSON.stringify(body));
    assert(r.body.error.message.includes(field), `${JSON.stringify(body)}: ${r.body.error.message}`);
  }
  eq(count('SELECT count(*) FROM campaigns'), before);
});

test('close: 200 with the campaign, again 200 the same; scope', async () => {
  eq((await post(tb, `/api/v1/campaigns/${ids.core}/close`)).status, 404, 'another county');
  eq((await post(grid, `/api/v1/campaigns/${ids.core}/close`)).status, 403, 'a grid worker may not');
  eq((await post(ta, '/api/v1/campaigns/99999/close')).status, 404);
  const r = await post(ta, `/api/v1/campaigns/${ids.core}/close`);
  eq(r.status, 200, r.text);
  eq([r.body.id, r.body.status], [ids.core, 'closed']);
  const again = await post(ta, `/api/v1/campaigns/${ids.core}/close`);
  eq([again.status, again.body], [200, r.body]);
  eq(count(`SELECT count(*) FROM audit_log WHERE action = 'campaign.close' AND object = 'campaign:${ids.core}'`), 1);
  eq(sql(S.db, `SELECT status, closed_at FROM campaigns WHERE id = ${ids.core}`), `closed|${T}`);
});

test('list: newest first, paged, filtered, only campaigns overlapping the scope', async () => {
  const all = sql(S.db, 'SELECT id FROM campaigns ORDER BY id DESC').split('\n').map(Number);
  const seen = [];
  let cursor = null;
  for (let i = 0; i < 20; i++) {
    const r = await get(cmd, `/api/v1/campaigns?limit=2${cursor ? '&cursor=' + cursor : ''}`);
    eq(r.status, 200, r.text);
    seen.push(...r.body.items.map(c => c.id));
    cursor = r.body.next_cursor;
    if (!cursor) break;
  }
  eq(seen, all, 'the command of the city sees every campaign');
  const open = (await get(cmd, '/api/v1/campaigns?status=closed')).body.items.map(c => c.id);
  eq(open, [ids.core]);
  // the grid worker: campaigns over A and the city contain its grid
  const g = (await get(grid, '/api/v1/campaigns?limit=100')).body.items.map(c => c.id);
  eq(g, all, 'every campaign so far covers the grid');
  // county B's tester sees only the city-wide one
  const b = (await get(tb, '/api/v1/campaigns')).body.items.map(c => c.region.code);
  eq(b, ['6109']);
  const byRegion = (await get(cmd, `/api/v1/campaigns?region=${GRID}`)).body.items.length;
  eq(byRegion, all.length);
  eq((await get(cmd, `/api/v1/campaigns?region=${B}`)).body.items.map(c => c.region.code), ['6109']);
  eq((await get(cmd, '/api/v1/campaigns?status=done')).status, 400);
  eq((await get(cmd, '/api/v1/campaigns?region=x')).status, 400);
  eq((await get(tb, `/api/v1/campaigns/${ids.whole}`)).status, 404, 'out of scope');
  const one = await get(grid, `/api/v1/campaigns/${ids.whole}`);
  eq([one.status, one.body.id, one.body.expected], [200, ids.whole, ref(`grid_code LIKE '${A}%'`).expected]);
  eq((await get(cmd, '/api/v1/campaigns/0')).status, 404);
});

test('counts are sums of the grid rows', async () => {
  sql(S.db, `UPDATE campaign_grids SET sampled = 3, sampled_expected = 2, resulted = 1, positive = 1
    WHERE campaign_id = ${ids.whole} AND grid_code = '${GRID}'`);
  const c = (await get(cmd, `/api/v1/campaigns/${ids.whole}`)).body;
  const [e, x] = sql(S.db, `SELECT sum(expected), sum(exempt) FROM campaign_grids WHERE campaign_id = ${ids.whole}`).split('|').map(Number);
  eq([c.expected, c.exempt, c.sampled, c.resulted, c.positive, c.missing], [e, x, 3, 1, 1, e - 2]);
});

test('sites: create, the same again, a conflict, list by region; roles', async () => {
  const body = { code: 'HB-01', name: '汉滨区一号采样点', region: A, capacity_per_hour: 400, opens: '06:30', closes: '23:00' };
  const r = await post(ta, '/api/v1/sites', body);
  eq(r.status, 201, r.text);
  eq(r.body, { id: r.body.id, code: 'HB-01', name: '汉滨区一号采样点', region: { code: A, name: regionName(A) },
    capacity_per_hour: 400, opens: '06:30', closes: '23:00' });
  const again = await post(ta, '/api/v1/sites', body);
  eq([again.status, again.body], [200, r.body]);
  const diff = await post(ta, '/api/v1/sites', { ...body, capacity_per_hour: 500 });
  eq([diff.status, diff.body.error.code], [409, 'site_exists']);
  const def = await post(cmd, '/api/v1/sites', { code: 'B-01', name: '二号点', region: B, capacity_per_hour: 200 });
  eq([def.status, def.body.opens, def.body.closes], [201, '07:00', '22:00']);
  eq((await post(ta, '/api/v1/sites', { code: 'B-02', name: 'x', region: B, capacity_per_hour: 1 })).status, 404, 'out of scope');
  for (const [b, field] of [[{ ...body, code: 'a b' }, "'code'"], [{ ...body, code: undefined }, "'code'"],
    [{ ...body, capacity_per_hour: 0 }, "'capacity_per_hour'"], [{ ...body, capacity_per_hour: undefined }, "'capacity_per_hour'"],
    [{ ...body, opens: '6:30' }, "'opens'"], [{ ...body, closes: '25:00' }, "'closes'"],
    [{ ...body, opens: '23:00', closes: '06:30' }, "'closes'"], [{ ...body, name: '' }, "'name'"]]) {
    const x = await post(ta, '/api/v1/sites', b);
    eq(x.status, 400, JSON.stringify(b));
    assert(x.body.error.message.includes(field), x.text);
  }
  eq(count('SELECT count(*) FROM sites'), 2);
  eq((await get(cmd, '/api/v1/sites')).body.items.map(s => s.code), ['B-01', 'HB-01']);
  eq((await get(cmd, `/api/v1/sites?region=${B}`)).body.items.map(s => s.code), ['B-01']);
  eq((await get(ta, '/api/v1/sites')).body.items.map(s => s.code), ['HB-01']);
  eq((await get(grid, '/api/v1/sites')).body.items.map(s => s.code), ['HB-01'], 'a site of the county serves its grids');
  const p1 = await get(cmd, '/api/v1/sites?limit=1');
  const p2 = await get(cmd, `/api/v1/sites?limit=1&cursor=${p1.body.next_cursor}`);
  eq([p1.body.items[0].code, p2.body.items[0].code, p2.body.next_cursor], ['B-01', 'HB-01', null]);
  eq((await get(lab, '/api/v1/sites')).status, 403);
  eq((await post(grid, '/api/v1/sites', body)).status, 403);
});

await run();
