// GET /api/v1/plan-testing: the capacity of a testing round under Dorfman's
// model, over a real server.  Every expected figure is recomputed here from
// the model written out below (whole tubes, expected counts rounded up,
// sampling from the rates), with the population read by the sqlite3 shell;
// the seed county (seed 001: 13,000 tests a day are 130,000 persons a day
// at 10-in-1, a round of 7 days) and the published optimum at p = 1 %
// (k = 11, 5.11 persons per test) are checked as plain numbers.
import { test, run, startServer, api, sql, eq, assert, createUser } from '../lib/harness.mjs';

const S = await startServer({ persons: 600, seed: 11 });
const login = async (username, password) => (await api(S.url, 'POST', '/api/v1/sessions', { body: { username, password } })).body.token;
const admin = await login('admin', S.adminPassword);
const CITY = sql(S.db, 'SELECT code FROM regions WHERE level = 2 LIMIT 1');
const [COUNTY, OTHER] = sql(S.db, `SELECT code FROM regions WHERE level = 3 AND parent_code = '${CITY}' ORDER BY code LIMIT 2`).split('\n');
const GRID = sql(S.db, `SELECT code FROM regions WHERE level = 6 AND code LIKE '${COUNTY}%' ORDER BY code LIMIT 1`);
const tok = {};
for (const [u, role, scope] of [['plan.command', 'command', CITY], ['plan.tester', 'tester', COUNTY],
  ['plan.grid', 'grid', GRID], ['plan.lab', 'lab', CITY], ['plan.venue', 'venue', CITY]])
  tok[role] = await createUser(S, admin, { username: u, role, scope });
const get = (token, q) => api(S.url, 'GET', '/api/v1/plan-testing?' + new URLSearchParams(q), { token });
const pop = code => Number(sql(S.db, `SELECT population FROM region_stats WHERE code = '${code}'`));

// ---- the model, written out independently
function up(x) {
  if (x <= 0) return 0;
  const r = Math.round(x);
  return Math.abs(x - r) <= 1e-9 * Math.max(1, x) ? r : Math.ceil(x);
}
function plan(n, hours, p, pool, { swabs = 60, shift = 6, open = 15, site = 240 } = {}) {
  const e = k => (k === 1 ? 1 : 1 / k + 1 - (1 - p) ** k);
  const fig = k => {
    const full = Math.floor(n / k), r = n % k;
    const qk = 1 - (1 - p) ** k, qr = r ? 1 - (1 - p) ** r : 0;
    const tubes = full + (r ? 1 : 0), retests = k > 1 ? up(k * full * qk + r * qr) : 0;
    return { size: k, tubes, expected_positive_tubes: up(full * qk + qr), expected_retests: retests,
      tests: tubes + retests, tubes_per_day: up(tubes * 24 / hours), tests_per_day: up((tubes + retests) * 24 / hours) };
  };
  let best = 1, valid = 1;
  for (let k = 2; k <= 64; k++) if (e(k) < e(best)) best = k;
  for (const k of [5, 10, 20]) if (e(k) < e(valid)) valid = k;
  const perHour = n / (hours * open / 24), atOnce = up(perHour / swabs);
  return { persons: n, persons_per_day: up(n * 24 / hours), expected_positives: up(n * p),
    pool: fig(pool), best_pool: fig(best), best_validated_pool: fig(valid),
    sampling: { persons_per_hour: up(perHour), samplers_at_once: atOnce, samplers: atOnce * up(open / shift), sites: up(perHour / site) } };
}
// the answer's figures that plan() computes
function figures(b) {
  const pick = (o, keys) => Object.fromEntries(keys.map(k => [k, o[k]]));
  const pk = ['size', 'tubes', 'expected_positive_tubes', 'expected_retests', 'tests', 'tubes_per_day', 'tests_per_day'];
  return { persons: b.persons, persons_per_day: b.persons_per_day, expected_positives: b.expected_positives,
    pool: pick(b.pool, pk), best_pool: pick(b.best_pool, pk), best_validated_pool: pick(b.best_validated_pool, pk),
    sampling: pick(b.sampling, ['persons_per_hour', 'samplers_at_once', 'samplers', 'sites']) };
}

test('the city: figures from the population in region_stats', async () => {
  const r = await get(tok.command, { region: CITY, hours: 24, prevalence: '0.5%' });
  eq(r.status, 200, r.text);
  eq(r.body.region, { code: CITY, name: sql(S.db, `SELECT name FROM regions WHERE code = '${CITY}'`) });
  eq(figures(r.body), plan(pop(CITY), 24, 0.005, 10));
  eq(Object.keys(r.body).sort(), ['best_pool', 'best_validated_pool', 'days', 'expected_positives', 'hours',
    'lab', 'persons', 'persons_per_day', 'pool', 'prevalence', 'region', 'sampling']);
  eq([r.body.hours, r.body.days, r.body.prevalence], [24, 1, 0.005]);
  eq(r.body.lab, { tests_per_day: r.body.pool.tests_per_day, capacity_per_day: null, days_needed: null, shortfall_per_day: null });
  eq(r.body.sampling.open_hours, 15);
  eq(r.headers.get('cache-control'), 'no-store');
});

test('every rate given, a pool with a remainder tube, a lab capacity', async () => {
  const q = { region: COUNTY, hours: '36.5', prevalence: '0.03', pool: 6, swabs_per_hour: 35, shift_hours: 5,
    open_hours: 20, site_capacity: 70, lab_capacity: 20 };
  const r = await get(tok.tester, q);
  eq(r.status, 200, r.text);
  const want = plan(pop(COUNTY), 36.5, 0.03, 6, { swabs: 35, shift: 5, open: 20, site: 70 });
  eq(figures(r.body), want);
  eq(r.body.lab.capacity_per_day, 20);
  eq(r.body.lab.shortfall_per_day, Math.max(0, want.pool.tests_per_day - 20));
  assert(Math.abs(r.body.lab.days_needed - want.pool.tests / 20) < 1e-4, JSON.stringify(r.body.lab));
  eq([r.body.sampling.swabs_per_hour, r.body.sampling.shift_hours, r.body.sampling.open_hours, r.body.sampling.site_capacity], [35, 5, 20, 70]);
});

test("seed 001's county: 130,000 persons a day need about 13,000 tests at 10-in-1", async () => {
  sql(S.db, `UPDATE region_stats SET population = 910000 WHERE code = '${OTHER}'`);
  const r = await get(tok.command, { region: OTHER, hours: 168, prevalence: '0.001%' });
  eq(r.status, 200, r.text);
  eq(r.body.persons, 910000);
  eq(r.body.persons_per_day, 130000);
  eq(r.body.pool.tubes_per_day, 13000);
  assert(r.body.pool.tests_per_day >= 13000 && r.body.pool.tests_per_day <= 13026, String(r.body.pool.tests_per_day));
  const single = await get(tok.command, { region: OTHER, hours: 168, prevalence: '0.001%', pool: 1 });
  eq(single.body.pool.tests_per_day, 130000);
  eq(single.body.pool.expected_retests, 0);
});

test('p = 1 %: the best pool is 11 with 5.11 persons per test (Hanel and Thurner 2020)', async () => {
  const r = await get(tok.command, { region: CITY, hours: 72, prevalence: '1%' });
  eq(r.status, 200, r.text);
  eq(r.body.best_pool.size, 11);
  eq(r.body.best_pool.persons_per_test.toFixed(2), '5.11');
  eq(r.body.best_validated_pool.size, 10);
  eq(r.body.pool.pays_below_prevalence.toFixed(3), '0.206');
  const f = await get(tok.command, { region: CITY, hours: 72, prevalence: '0.01' });
  eq(f.body, r.body, 'the percent and the fraction give the same plan');
  const single = await get(tok.command, { region: CITY, hours: 72, prevalence: '1%', pool: 1 });
  eq(single.body.pool.pays_below_prevalence, null);
  eq(single.body.pool.tests_per_person, 1);
});

test('the region defaults to the user\'s scope', async () => {
  const r = await get(tok.tester, { hours: 24, prevalence: '0.01' });
  eq(r.status, 200, r.text);
  eq(r.body.region.code, COUNTY);
  eq(r.body.persons, pop(COUNTY));
});

test('bad parameters: 400 naming the parameter', async () => {
  const base = { region: CITY, hours: '24', prevalence: '0.01' };
  for (const [name, q] of [
    ['hours', { region: CITY, prevalence: '0.01' }],
    ['prevalence', { region: CITY, hours: '24' }],
    ['hours', { ...base, hours: '0' }], ['hours', { ...base, hours: '-3' }], ['hours', { ...base, hours: 'abc' }],
    ['hours', { ...base, hours: '9000' }],
    ['prevalence', { ...base, prevalence: '0' }], ['prevalence', { ...base, prevalence: '1' }],
    ['prevalence', { ...base, prevalence: '100%' }], ['prevalence', { ...base, prevalence: '1e-3' }],
    ['pool', { ...base, pool: '0' }], ['pool', { ...base, pool: '65' }], ['pool', { ...base, pool: '2.5' }],
    ['swabs_per_hour', { ...base, swabs_per_hour: '0' }], ['shift_hours', { ...base, shift_hours: '25' }],
    ['open_hours', { ...base, open_hours: '0' }], ['site_capacity', { ...base, site_capacity: 'x' }],
    ['lab_capacity', { ...base, lab_capacity: '0' }],
  ]) {
    const r = await get(tok.command, q);
    eq(r.status, 400, `${JSON.stringify(q)}: ${r.text}`);
    eq(r.body.error.code, 'bad_request');
    assert(r.body.error.message.includes(name), `${JSON.stringify(q)}: message does not name ${name}: ${r.body.error.message}`);
  }
});

test('scope: a region outside it, or unknown, is 404', async () => {
  for (const [token, region] of [[tok.tester, OTHER], [tok.tester, CITY], [tok.grid, COUNTY], [tok.command, '999999'], [tok.command, 'abc']]) {
    const r = await get(token, { region, hours: 24, prevalence: '0.01' });
    eq(r.status, 404, `${region}: ${r.text}`);
    eq(r.body.error.code, 'not_found');
  }
  const g = await get(tok.grid, { region: GRID, hours: 24, prevalence: '0.01' });
  eq(g.status, 200, g.text);
  eq(g.body.persons, pop(GRID));
});

test('permission: roles without PERM_READ_TESTING get 403; no token 401', async () => {
  for (const t of [tok.lab, tok.venue, admin]) eq((await get(t, { region: CITY, hours: 24, prevalence: '0.01' })).status, 403);
  eq((await get(undefined, { region: CITY, hours: 24, prevalence: '0.01' })).status, 401);
});

await run();
