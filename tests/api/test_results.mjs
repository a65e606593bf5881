// Lab results (POST /api/v1/results, one tube or a batch), tasks
// (GET /api/v1/tasks, POST /api/v1/tasks/{id}/cancel) and case candidates
// (GET /api/v1/candidates, confirm, dismiss) against a real server.  The
// campaign, its grid rows and the site are written with the sqlite3 shell
// as a launch writes them; tubes and samples go through the sampling API.
// Every expected effect is recounted here in SQL from the base tables
// (samples, tubes, tasks, case_candidates, campaign_grids) or read from
// the shipped policy file, never taken from the server's answer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, run, startServer, api, sql, eq, assert, createUser, ROOT } from '../lib/harness.mjs';

const S = await startServer({ persons: 2000, seed: 41 });
const login = async (username, password) => (await api(S.url, 'POST', '/api/v1/sessions', { body: { username, password } })).body.token;
const admin = await login('admin', S.adminPassword);

// the deadlines come from the policy the server runs (protocol-9 by default)
const ini = readFileSync(join(ROOT, 'policy', 'protocol-9.ini'), 'utf8');
const hours = key => Number(ini.match(new RegExp(`^${key}\\s*=\\s*(\\d+)`, 'm'))[1]);
const RETEST_S = hours('retest_hours') * 3600, RESAMPLE_S = hours('resample_hours') * 3600;

const [county, other] = sql(S.db, `SELECT substr(grid_code, 1, 6) c FROM persons GROUP BY c ORDER BY count(*) DESC, c LIMIT 2`).split('\n');
const people = sql(S.db, `SELECT id, id_number, grid_code FROM persons WHERE grid_code LIKE '${county}%' ORDER BY id LIMIT 80`)
  .split('\n').map(l => { const [id, idn, grid] = l.split('|'); return { id: Number(id), idn, grid }; });
let next = 0;
const take = n => people.slice(next, next += n);
const now = () => Math.floor(Date.now() / 1000);
const iso = t => new Date((t + 8 * 3600) * 1000).toISOString().slice(0, 19) + '+08:00';
const T = now();
const maxId = Number(sql(S.db, 'SELECT max(id) FROM persons'));
sql(S.db, `
INSERT INTO campaigns(id, name, kind, region_code, starts_at, deadline, pool_size, status, population_max_id, exempt_under_age, created_at, created_by)
 VALUES (1, '全员核酸', 'whole', '${county}', ${T - 3600}, ${T + 7 * 86400}, 10, 'open', ${maxId}, 3, ${T - 3600}, 'test');
INSERT INTO campaign_grids(campaign_id, grid_code, expected)
 SELECT 1, r.code, (SELECT count(*) FROM persons p WHERE p.grid_code = r.code) FROM regions r WHERE r.level = 6 AND r.code LIKE '${county}%';
INSERT INTO sites(code, name, region_code, capacity_per_hour, created_at, created_by) VALUES ('S1', '采样点', '${county}', 300, ${T}, 'test');`);

const tester = await createUser(S, admin, { username: 'sampler', role: 'tester', scope: county });
const lab = await createUser(S, admin, { username: 'lab.city', role: 'lab', scope: '6109' });
const command = await createUser(S, admin, { username: 'cmd.county', role: 'command', scope: county });
const outsider = await createUser(S, admin, { username: 'cmd.other', role: 'command', scope: other });
const gridUser = await createUser(S, admin, { username: 'grid.first', role: 'grid', scope: people[0].grid });

const post = (path, body, token) => api(S.url, 'POST', path, { token, body });
const get = (path, token = command) => api(S.url, 'GET', path, { token });
const result = (body, token = lab) => post('/api/v1/results', body, token);

// a tube bound at site S1 with these persons sampled into it
async function tube(code, persons, { pool = persons.length || 10, purpose = 'round' } = {}) {
  const b = await post('/api/v1/tubes', { tube: code, site: 'S1', campaign: 1, pool_size: pool, purpose }, tester);
  assert(b.status === 201, `bind ${code}: ${b.status} ${b.text}`);
  for (const p of persons) {
    const s = await post('/api/v1/samples', { tube: code, id_number: p.idn }, tester);
    assert(s.status === 201, `sample ${p.idn} into ${code}: ${s.status} ${s.text}`);
  }
  return persons;
}
const sleep = ms => new Promise(r => setTimeout(r, ms));
const ids = ps => ps.map(p => p.id).join(',');
// every table a result can touch, in one string
const snapshot = () => sql(S.db, `SELECT
  (SELECT group_concat(code || ':' || coalesce(result, '-') || ':' || coalesce(resulted_at, '-') || ':' || coalesce(closed_at, '-'), ' ') FROM tubes) || ',' ||
  (SELECT count(*) || ':' || coalesce(sum(status = 'open'), 0) FROM tasks) || ',' ||
  (SELECT count(*) FROM case_candidates) || ',' ||
  (SELECT sum(resulted) || ':' || sum(positive) FROM campaign_grids) || ',' ||
  (SELECT count(*) FROM audit_log WHERE action = 'result.record')`);
// resulted and positive of campaign 1 per grid, recounted from the samples
// of resulted round tubes and the resample tasks settled after invalid ones
const refGrids = () => sql(S.db, `SELECT s.grid_code, count(*), sum(t.result = 'positive') FROM samples s JOIN tubes t ON t.id = s.tube_id
  WHERE s.round = 1 AND s.campaign_id = 1 AND (t.result IN ('negative', 'positive')
   OR (t.result = 'invalid' AND EXISTS (SELECT 1 FROM tasks k WHERE k.kind = 'resample' AND k.ref_id = t.id AND k.person_id = s.person_id AND k.status = 'done')))
  GROUP BY s.grid_code ORDER BY s.grid_code`);
const grids = () => sql(S.db, `SELECT grid_code, resulted, positive FROM campaign_grids WHERE campaign_id = 1 AND (resulted > 0 OR positive > 0) ORDER BY grid_code`);
const codeRules = async idn => {
  const r = await get(`/api/v1/persons/${idn}/code`);
  assert(r.status === 200, `code of ${idn}: ${r.status} ${r.text}`);
  return r.body.rules.map(x => x.rule);
};
const effects = (o = {}) => ({ results: 0, retest_tasks: 0, resample_tasks: 0, candidates: 0, tasks_done: 0, ...o });

const NEG = await tube('N0000001', take(10));
const POS = await tube('P0000001', take(10));
const INV = await tube('I0000001', take(5), { pool: 5 });
const ONE = await tube('S0000001', take(1), { pool: 1 });
const TWO = await tube('S0000002', take(1), { pool: 1 });
await tube('E0000001', [], { pool: 10 });

test('a negative pool: every member negative, the tube closed, coverage counted per grid', async () => {
  const r = await result({ tube: 'N0000001', result: 'negative', lab: '市疾控中心' });
  eq([r.status, r.body], [201, { tube: 'N0000001', result: 'negative', members: 10, effects: effects({ results: 10 }) }]);
  eq(sql(S.db, `SELECT count(*), group_concat(DISTINCT result), group_concat(DISTINCT lab) FROM person_results WHERE tube = 'N0000001' AND person_id IN (${ids(NEG)})`),
    '10|negative|市疾控中心');
  eq(sql(S.db, `SELECT result_by, closed_at IS NOT NULL, resulted_at >= (SELECT max(sampled_at) FROM samples s WHERE s.tube_id = tubes.id) FROM tubes WHERE code = 'N0000001'`), 'lab.city|1|1');
  eq(grids(), refGrids());
  eq(sql(S.db, `SELECT detail FROM audit_log WHERE action = 'result.record' AND object = 'tube:N0000001'`).includes('"members":10'), true);
});

test('the same result again is unchanged; another result, an unknown or empty tube, an early report are refused with nothing changed', async () => {
  const before = snapshot();
  const same = await result({ tube: 'N0000001', result: 'negative' });
  eq([same.status, same.body], [200, { tube: 'N0000001', result: 'negative', members: 10, effects: effects(), unchanged: true }]);
  const cases = [
    [{ tube: 'N0000001', result: 'positive' }, 409, 'result_conflict'],
    [{ tube: 'NOSUCH01', result: 'negative' }, 404, 'unknown_tube'],
    [{ tube: 'E0000001', result: 'negative' }, 409, 'tube_empty'],
    [{ tube: 'P0000001', result: 'positive', reported_at: iso(T - 3600) }, 400, 'bad_request'],
    [{ tube: 'P0000001', result: 'maybe' }, 400, 'bad_request'],
    [{ result: 'negative' }, 400, 'bad_request'],
    [{ tube: 'P0000001', result: 'negative', reported_at: 'tomorrow' }, 400, 'bad_request'],
    [{ tube: 'P0000001', result: 'negative', lab: 'x'.repeat(65) }, 400, 'bad_request'],
    [{ tube: 'bad code!', result: 'negative' }, 400, 'bad_request'],
  ];
  for (const [body, status, code] of cases) {
    const r = await result(body);
    eq([r.status, r.body.error && r.body.error.code], [status, code], JSON.stringify(body) + ' ' + r.text);
  }
  const early = await result({ tube: 'P0000001', result: 'positive', reported_at: iso(T - 3600) });
  assert(/before the tube's last sample/.test(early.body.error.message), early.text);
  eq((await result({ tube: 'N0000001', result: 'negative' }, gridUser)).status, 403);
  eq(snapshot(), before);
});

test('a positive pool: members pool_positive, a retest task each due reported + retest_hours, yellow code', async () => {
  const at = now();
  const r = await result({ tube: 'P0000001', result: 'positive', reported_at: iso(at) });
  eq([r.status, r.body], [201, { tube: 'P0000001', result: 'positive', members: 10, effects: effects({ results: 10, retest_tasks: 10 }) }]);
  eq(sql(S.db, `SELECT count(*), group_concat(DISTINCT result) FROM person_results WHERE tube = 'P0000001' AND person_id IN (${ids(POS)})`), '10|pool_positive');
  eq(sql(S.db, `SELECT person_id, region_code, due_at, status, source FROM tasks WHERE kind = 'retest' ORDER BY person_id`),
    sql(S.db, `SELECT person_id, grid_code, ${at + RETEST_S}, 'open', 'tube:P0000001' FROM samples WHERE tube_id = (SELECT id FROM tubes WHERE code = 'P0000001') ORDER BY person_id`));
  eq(grids(), refGrids());
  assert((await codeRules(POS[0].idn)).includes('pool'), 'a member of the positive pool shows the pool rule');
});

test('tasks: listed due first, masked, paged; filtered by kind, status and region; scoped', async () => {
  const all = await get('/api/v1/tasks?kind=retest');
  eq(all.status, 200);
  eq(all.body.items.map(t => t.person.id), POS.map(p => p.id).sort((a, b) => a - b));
  const t0 = all.body.items[0];
  eq(Object.keys(t0).sort(), ['created_at', 'done_at', 'due_at', 'id', 'kind', 'overdue', 'person', 'region', 'source', 'status']);
  eq([t0.kind, t0.status, t0.overdue, t0.done_at, t0.source], ['retest', 'open', false, null, 'tube:P0000001']);
  const p = POS.find(x => x.id === t0.person.id);
  eq(t0.region.code, p.grid);
  assert(t0.person.id_number.includes('*') && t0.person.id_number !== p.idn, 'ID number masked');
  // pages of 3 give the same tasks in the same order
  let cursor = null, walked = [];
  do {
    const pg = await get(`/api/v1/tasks?kind=retest&limit=3${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
    eq(pg.status, 200);
    walked.push(...pg.body.items.map(t => t.id));
    cursor = pg.body.next_cursor;
  } while (cursor);
  eq(walked, all.body.items.map(t => t.id));
  eq((await get('/api/v1/tasks?kind=retest&status=done')).body.items, []);
  eq((await get('/api/v1/tasks?status=nope')).status, 400);
  // the grid worker sees the tasks of their grid only
  const mine = await get('/api/v1/tasks', gridUser);
  eq(mine.body.items.map(t => t.id).sort(), sql(S.db, `SELECT id FROM tasks WHERE status = 'open' AND region_code = '${people[0].grid}' ORDER BY id`).split('\n').filter(Boolean).map(Number).sort());
  eq((await get(`/api/v1/tasks?region=${POS[0].grid}`)).body.items.every(t => t.region.code === POS[0].grid), true);
  eq((await get(`/api/v1/tasks?region=${county}`, outsider)).status, 404);
  eq((await get('/api/v1/tasks', outsider)).body.items, []);
  eq((await get('/api/v1/tasks', lab)).status, 403);
});

test('a retest tube settles the retest task and ends the yellow of that member only', async () => {
  await sleep(1100); // the retest is sampled after the pool
  const [a] = await tube('R0000001', [POS[0]], { pool: 1, purpose: 'retest' });
  const before = grids();
  const r = await result({ tube: 'R0000001', result: 'negative' });
  eq([r.status, r.body.effects], [201, effects({ results: 1, tasks_done: 1 })]);
  eq(sql(S.db, `SELECT status, done_by FROM tasks WHERE kind = 'retest' AND person_id = ${a.id}`), 'done|tube:R0000001');
  eq(sql(S.db, `SELECT count(*) FROM tasks WHERE kind = 'retest' AND status = 'open'`), '9');
  eq(grids(), before, 'a retest does not count in the coverage');
  await sleep(1100);
  assert(!(await codeRules(a.idn)).includes('pool'), 'the retested member has no pool rule');
  assert((await codeRules(POS[1].idn)).includes('pool'), 'the others still have it');
});

test('an invalid tube: a resample task each; the resample result settles it and counts in the coverage', async () => {
  const at = now();
  const r = await result({ tube: 'I0000001', result: 'invalid', reported_at: iso(at) });
  eq([r.status, r.body.effects], [201, effects({ results: 5, resample_tasks: 5 })]);
  eq(sql(S.db, `SELECT person_id, region_code, due_at FROM tasks WHERE kind = 'resample' ORDER BY person_id`),
    sql(S.db, `SELECT person_id, grid_code, ${at + RESAMPLE_S} FROM samples WHERE tube_id = (SELECT id FROM tubes WHERE code = 'I0000001') ORDER BY person_id`));
  eq(grids(), refGrids(), 'an invalid tube counts nobody as resulted');
  const [m] = await tube('X0000001', [INV[2]], { pool: 1, purpose: 'resample' });
  const grid = sql(S.db, `SELECT resulted FROM campaign_grids WHERE campaign_id = 1 AND grid_code = '${m.grid}'`);
  const d = await result({ tube: 'X0000001', result: 'negative' });
  eq([d.status, d.body.effects], [201, effects({ results: 1, tasks_done: 1 })]);
  eq(sql(S.db, `SELECT resulted FROM campaign_grids WHERE campaign_id = 1 AND grid_code = '${m.grid}'`), String(Number(grid) + 1));
  eq(grids(), refGrids());
});

test('a positive single tube: a candidate; confirming it adds the case through tracing; a second confirm 409', async () => {
  const r = await result({ tube: 'S0000001', result: 'positive' });
  eq([r.status, r.body.effects], [201, effects({ results: 1, candidates: 1 })]);
  const [p] = ONE;
  const sampled = Number(sql(S.db, `SELECT sampled_at FROM samples WHERE person_id = ${p.id} AND tube_id = (SELECT id FROM tubes WHERE code = 'S0000001')`));
  eq(sql(S.db, `SELECT person_id, status, sampled_at, case_id IS NULL FROM case_candidates`), `${p.id}|pending|${sampled}|1`);
  const list = await get('/api/v1/candidates');
  eq(list.status, 200);
  eq(list.body.items.length, 1);
  const c = list.body.items[0];
  eq([c.person.id, c.tube, c.status, c.case_id, c.sampled_at, c.region.code], [p.id, 'S0000001', 'pending', null, iso(sampled), p.grid]);
  assert(c.person.id_number !== p.idn && c.person.id_number.includes('*'), 'masked');
  eq((await get('/api/v1/candidates', outsider)).body.items, []);
  eq((await post(`/api/v1/candidates/${c.id}/confirm`, { class: 'confirmed' }, outsider)).status, 404);
  eq((await post(`/api/v1/candidates/${c.id}/confirm`, { class: 'suspected' }, command)).status, 400);
  eq((await post(`/api/v1/candidates/${c.id}/confirm`, { class: 'confirmed' }, lab)).status, 403);

  const ok = await post(`/api/v1/candidates/${c.id}/confirm`, { class: 'asymptomatic' }, command);
  eq(ok.status, 201, ok.text);
  eq([ok.body.candidate.status, ok.body.candidate.case_id], ['confirmed', ok.body.case.id]);
  eq(sql(S.db, `SELECT person_id, classification, first_positive_at, onset_at IS NULL FROM cases WHERE id = ${ok.body.case.id}`), `${p.id}|asymptomatic|${sampled}|1`);
  eq(sql(S.db, `SELECT status, case_id, decided_by FROM case_candidates WHERE id = ${c.id}`), `confirmed|${ok.body.case.id}|cmd.county`);
  const kase = await get(`/api/v1/cases/${ok.body.case.id}`);
  eq([kase.status, kase.body.person.id, kase.body.classification, kase.body.first_positive_at], [200, p.id, 'asymptomatic', iso(sampled)]);
  // the case's household members are recorded as its close contacts
  eq(sql(S.db, `SELECT count(*) FROM contacts WHERE case_id = ${ok.body.case.id}`),
    sql(S.db, `SELECT count(*) FROM persons WHERE household_id = (SELECT household_id FROM persons WHERE id = ${p.id}) AND id <> ${p.id}`));
  const again = await post(`/api/v1/candidates/${c.id}/confirm`, { class: 'confirmed' }, command);
  eq([again.status, again.body.error.code], [409, 'conflict']);
  eq((await post(`/api/v1/candidates/${c.id}/dismiss`, { reason: '复核阴性' }, command)).status, 409);
  eq(sql(S.db, `SELECT count(*) FROM cases WHERE person_id = ${p.id}`), '1');
  eq((await get('/api/v1/candidates?status=confirmed')).body.items.map(x => x.id), [c.id]);
});

test('dismissing a candidate: reason required, idempotent, and it can no longer be confirmed', async () => {
  await result({ tube: 'S0000002', result: 'positive' });
  const id = Number(sql(S.db, `SELECT id FROM case_candidates WHERE person_id = ${TWO[0].id}`));
  eq((await post(`/api/v1/candidates/${id}/dismiss`, {}, command)).status, 400);
  const d = await post(`/api/v1/candidates/${id}/dismiss`, { reason: '实验室污染,复采阴性' }, command);
  eq([d.status, d.body.status, d.body.note, d.body.decided_by], [200, 'dismissed', '实验室污染,复采阴性', 'cmd.county']);
  eq((await post(`/api/v1/candidates/${id}/dismiss`, { reason: 'again' }, command)).body.note, '实验室污染,复采阴性');
  eq((await post(`/api/v1/candidates/${id}/confirm`, { class: 'confirmed' }, command)).status, 409);
  eq(sql(S.db, `SELECT count(*) FROM cases WHERE person_id = ${TWO[0].id}`), '0');
  eq((await post('/api/v1/candidates/999999/dismiss', { reason: 'x' }, command)).status, 404);
});

test('a batch: each tube on its own, an outcome per item', async () => {
  const B = await tube('B0000001', take(3), { pool: 10 });
  const before = sql(S.db, `SELECT count(*) FROM tubes WHERE result IS NOT NULL`);
  const r = await result({ results: [
    { tube: 'B0000001', result: 'negative' },
    { tube: 'N0000001', result: 'negative' },
    { tube: 'NOSUCH02', result: 'negative' },
    { tube: 'P0000001', result: 'negative' },
    { tube: 'B0000001', result: 'nonsense' },
    'not an object',
  ] });
  eq(r.status, 200, r.text);
  eq(r.body.items.map(i => [i.tube, i.status, i.error ? i.error.code : null]), [
    ['B0000001', 201, null], ['N0000001', 200, null], ['NOSUCH02', 404, 'unknown_tube'],
    ['P0000001', 409, 'result_conflict'], ['B0000001', 400, 'bad_request'], [null, 400, 'bad_request']]);
  eq([r.body.items[0].members, r.body.items[0].effects.results, r.body.items[1].unchanged], [3, 3, true]);
  eq([r.body.accepted, r.body.refused], [2, 4]);
  eq(sql(S.db, `SELECT count(*) FROM tubes WHERE result IS NOT NULL`), String(Number(before) + 1));
  eq(sql(S.db, `SELECT count(*), group_concat(DISTINCT result) FROM person_results WHERE person_id IN (${ids(B)})`), '3|negative');
  eq((await result({ results: [] })).status, 400);
  eq((await result({ results: Array.from({ length: 1001 }, (_, i) => ({ tube: `Z${i}`, result: 'negative' })) })).status, 400);
});

test('cancelling a task: reason required, idempotent, done tasks refused, scoped', async () => {
  const open = Number(sql(S.db, `SELECT id FROM tasks WHERE kind = 'retest' AND status = 'open' ORDER BY id LIMIT 1`));
  const done = Number(sql(S.db, `SELECT id FROM tasks WHERE status = 'done' ORDER BY id LIMIT 1`));
  eq((await post(`/api/v1/tasks/${open}/cancel`, {}, command)).status, 400);
  eq((await post(`/api/v1/tasks/${open}/cancel`, { reason: 'x' }, outsider)).status, 404);
  eq((await post(`/api/v1/tasks/${open}/cancel`, { reason: 'x' }, gridUser)).status, 403);
  const c = await post(`/api/v1/tasks/${open}/cancel`, { reason: '已转定点医院' }, command);
  eq([c.status, c.body.id, c.body.status, c.body.overdue], [200, open, 'cancelled', false]);
  eq(sql(S.db, `SELECT status, note, done_by FROM tasks WHERE id = ${open}`), 'cancelled|已转定点医院|cmd.county');
  eq((await post(`/api/v1/tasks/${open}/cancel`, { reason: 'again' }, command)).status, 200);
  eq(sql(S.db, `SELECT note FROM tasks WHERE id = ${open}`), '已转定点医院');
  const d = await post(`/api/v1/tasks/${done}/cancel`, { reason: 'x' }, command);
  eq([d.status, d.body.error.code], [409, 'conflict']);
  eq((await get('/api/v1/tasks?status=cancelled')).body.items.map(t => t.id), [open]);
  eq(sql(S.db, `SELECT count(*) FROM audit_log WHERE action = 'task.cancel'`), '1');
});

await run();
