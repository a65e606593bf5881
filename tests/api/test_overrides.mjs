// Manual code overrides over HTTP: a request by one health-role user, an
// approval by a second, and the person seeing it with both names — and
// every refused case (one approver only, the requester approving their own
// request, an approval twice, non-health roles, an end beyond the policy
// maximum, a missing or unknown category, an empty reason, a person out of
// scope, a bulk override needing a city-level approver).  Each refused case
// checks the status code AND that the database did not change.  The server
// runs at a fixed time (FANGKONG_NOW) under the shipped protocol-9, whose
// [code] section says override_max_days = 7 and override_city_threshold
// = 50; the test reads those two numbers from the policy file itself.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, run, startServer, api, sql, eq, assert, createUser, ROOT } from '../lib/harness.mjs';

const NOW_ISO = '2022-06-15T10:00:00+08:00';
const NOW = Date.parse(NOW_ISO) / 1000;
const ini = readFileSync(join(ROOT, 'policy', 'protocol-9.ini'), 'utf8');
const policyInt = k => Number(ini.match(new RegExp(`^${k}\\s*=\\s*(\\d+)`, 'm'))[1]);
const MAX_DAYS = policyInt('override_max_days');
const THRESHOLD = policyInt('override_city_threshold');
const iso = t => new Date(t * 1000).toISOString().replace('.000Z', 'Z');

const S = await startServer({ persons: 3000, seed: 7, env: { FANGKONG_NOW: NOW_ISO } });
const login = async (u, p) => {
  const r = await api(S.url, 'POST', '/api/v1/sessions', { body: { username: u, password: p } });
  if (r.status !== 201) throw new Error(`login ${u}: ${r.status} ${r.text}`);
  return r.body.token;
};
const admin = await login('admin', S.adminPassword);

// two districts with enough persons; a grid of the first
const [D, D2] = sql(S.db, `SELECT substr(grid_code, 1, 6) d FROM persons GROUP BY d
  HAVING count(*) > ${THRESHOLD + 10} ORDER BY count(*) DESC, d LIMIT 2`).split('\n');
const personsOf = (where, n) => sql(S.db, `SELECT id, id_number, grid_code FROM persons WHERE ${where} ORDER BY id LIMIT ${n}`)
  .split('\n').map(l => { const [id, idn, grid] = l.split('|'); return { id: +id, idn, grid }; });
const inD = personsOf(`substr(grid_code, 1, 6) = '${D}'`, THRESHOLD + 1);
const [outside] = personsOf(`substr(grid_code, 1, 6) = '${D2}'`, 1);
const P = inD[0]; // the person whose code is overridden (a citizen account speaks for them)

const T = {};
for (const [u, role, scope] of [
  ['a.tracer', 'tracer', D], ['b.tester', 'tester', D], ['c.command', 'command', '6109'],
  ['d.tracer', 'tracer', D2], ['g.grid', 'grid', P.grid], ['v.venue', 'venue', '6109'],
  ['e.isolation', 'isolation', D]])
  T[u] = await createUser(S, admin, { username: u, role, scope });
T.admin = admin;
{
  const c = await api(S.url, 'POST', '/api/v1/users', { token: admin, body: { username: 'p.citizen', role: 'citizen', person: P.idn, password: 'initial-pass-1' } });
  if (c.status !== 201) throw new Error(c.text);
  const t = await login('p.citizen', 'initial-pass-1');
  const r = await api(S.url, 'POST', '/api/v1/me/password', { token: t, body: { old_password: 'initial-pass-1', new_password: 'own-password-1' } });
  if (r.status !== 204) throw new Error(r.text);
  T.citizen = t;
}
const uid = u => +sql(S.db, `SELECT id FROM users WHERE username = '${u}'`);

// Everything an override step may change: the rows of both tables and the
// audit records of changes (reads are audited too, so they are left out).
const snapshot = () => sql(S.db, `SELECT
  (SELECT group_concat(id || ':' || status || ':' || coalesce(approved_by, '-') || ':' || coalesce(approved_at, '-')
     || ':' || coalesce(closed_by, '-') || ':' || end_at, ';') FROM overrides),
  (SELECT count(*) || '/' || coalesce(sum(person_id), 0) FROM override_persons),
  (SELECT count(*) FROM audit_log WHERE action IN ('override.request', 'override.approve', 'override.refuse', 'override.revoke'))`);
async function refused(status, fn, msgRe) {
  const before = snapshot();
  const r = await fn();
  eq(r.status, status, `status (body: ${r.text.slice(0, 300)})`);
  if (msgRe) assert(msgRe.test(r.body.error.message), `message ${JSON.stringify(r.body.error.message)} !~ ${msgRe}`);
  eq(snapshot(), before, 'the database changed on a refused request');
  return r;
}

const good = (persons = [P], over = {}) => ({
  id_numbers: persons.map(p => p.idn), colour: 'red', category: 'medical_judgement',
  reason: '发热门诊医生判断需居家观察，待复核', end_at: iso(NOW + 3 * 86400), ...over,
});
const post = (tok, body) => api(S.url, 'POST', '/api/v1/overrides', { token: tok, body });
const act = (tok, id, verb, body) => api(S.url, 'POST', `/api/v1/overrides/${id}/${verb}`, { token: tok, body });
const myCode = async () => {
  const r = await api(S.url, 'GET', '/api/v1/me/code', { token: T.citizen });
  eq(r.status, 200, `me/code: ${r.text.slice(0, 200)}`);
  return r.body;
};

let before; // the person's code before any override
let first;  // the override approved in the main flow
let target; // the colour it sets: one the rules do not give

test('the person starts with a computed colour and no overrides', async () => {
  before = await myCode();
  eq(before.overridden, false);
  eq(before.overrides, []);
  target = before.computed === 'red' ? 'green' : 'red';
});

test('a health-role user requests an override: pending, audited, no effect yet', async () => {
  const r = await post(T['a.tracer'], good([P], { colour: target }));
  eq(r.status, 201, r.text);
  first = r.body.id;
  eq([r.body.status, r.body.colour, r.body.category, r.body.persons], ['pending', target, 'medical_judgement', 1]);
  eq(r.body.category_zh, '医学判断');
  eq(r.body.requested_by, { username: 'a.tracer', role: 'tracer', role_zh: '流调溯源组' });
  eq(r.body.approved_by, null);
  eq(r.body.end_at, '2022-06-18T10:00:00+08:00');
  eq(sql(S.db, `SELECT status, requested_by, approved_by IS NULL, persons, end_at, requested_at FROM overrides WHERE id = ${first}`),
    `pending|${uid('a.tracer')}|1|1|${NOW + 3 * 86400}|${NOW}`);
  eq(sql(S.db, `SELECT person_id FROM override_persons WHERE override_id = ${first}`), String(P.id));
  eq(sql(S.db, `SELECT actor, object FROM audit_log WHERE action = 'override.request'`), `a.tracer|override:${first}`);
  // one approver only: the pending override changes no colour
  const c = await myCode();
  eq([c.colour, c.overridden], [before.colour, false]);
  // ...but the person already sees it, with who asked
  eq(c.overrides.length, 1);
  eq([c.overrides[0].id, c.overrides[0].status, c.overrides[0].requested_by.username, c.overrides[0].approved_by],
    [first, 'pending', 'a.tracer', null]);
});

test('the requester cannot approve their own request', async () => {
  await refused(403, () => act(T['a.tracer'], first, 'approve'), /second health-role user/);
  await refused(403, () => act(T['a.tracer'], first, 'refuse'), /second health-role user/);
});

test('non-health roles can neither request nor approve', async () => {
  for (const u of ['g.grid', 'v.venue', 'admin', 'citizen']) {
    await refused(403, () => post(T[u], good()));
    await refused(403, () => act(T[u], first, 'approve'));
  }
});

test('a health user outside the persons\' scope cannot see or approve it', async () => {
  await refused(404, () => act(T['d.tracer'], first, 'approve'));
  await refused(404, () => api(S.url, 'GET', `/api/v1/overrides/${first}`, { token: T['d.tracer'] }));
  const l = await api(S.url, 'GET', '/api/v1/overrides', { token: T['d.tracer'] });
  eq([l.status, l.body.items], [200, []]);
});

test('a second health-role user approves: active, the person sees it with both names', async () => {
  const r = await act(T['b.tester'], first, 'approve', {});
  eq(r.status, 200, r.text);
  eq([r.body.status, r.body.approved_by.username, r.body.approved_at], ['active', 'b.tester', NOW_ISO]);
  eq(sql(S.db, `SELECT status, approved_by, approved_at FROM overrides WHERE id = ${first}`), `active|${uid('b.tester')}|${NOW}`);
  const audit = sql(S.db, `SELECT actor, object, detail FROM audit_log WHERE action = 'override.approve'`).split('|');
  eq(audit.slice(0, 2), ['b.tester', `override:${first}`]);
  assert(audit[2].includes(`persons=1: ${P.id}`), audit[2]);
  const c = await myCode();
  eq([c.colour, c.overridden, c.computed], [target, true, before.computed]);
  const o = c.overrides.find(x => x.id === first);
  eq([o.status, o.colour, o.category, o.category_zh, o.reason], [target === 'red' ? 'active' : 'active', target, 'medical_judgement', '医学判断', '发热门诊医生判断需居家观察，待复核']);
  eq(o.requested_by, { username: 'a.tracer', role: 'tracer', role_zh: '流调溯源组' });
  eq(o.approved_by, { username: 'b.tester', role: 'tester', role_zh: '核酸检测组' });
  eq([o.start, o.end], [NOW_ISO, '2022-06-18T10:00:00+08:00']);
  // staff see the same colour through the person's code
  const s = await api(S.url, 'GET', `/api/v1/persons/${P.idn}/code`, { token: T['c.command'] });
  eq([s.status, s.body.colour, s.body.overridden], [200, target, true]);
});

test('approving twice (or by a third user) is refused: it is no longer pending', async () => {
  await refused(409, () => act(T['b.tester'], first, 'approve'), /not pending/);
  await refused(409, () => act(T['c.command'], first, 'approve'), /not pending/);
  await refused(409, () => act(T['e.isolation'], first, 'refuse'), /not pending/);
});

test('an end beyond the policy maximum is refused, the message names the maximum', async () => {
  await refused(422, () => post(T['a.tracer'], good([P], { end_at: iso(NOW + MAX_DAYS * 86400 + 1) })),
    new RegExp(`maximum of ${MAX_DAYS} days`));
  await refused(422, () => post(T['a.tracer'], good([P], { end_at: iso(NOW + 30 * 86400) })), /maximum/);
  await refused(422, () => post(T['a.tracer'], good([P], { end_at: iso(NOW) })), /future/);
  await refused(422, () => post(T['a.tracer'], good([P], { end_at: undefined })), /end_at/);
  await refused(400, () => post(T['a.tracer'], good([P], { end_at: '2022-06-16 10:00' })), /ISO 8601/);
  // exactly the maximum is allowed
  const r = await post(T['a.tracer'], good([P], { end_at: iso(NOW + MAX_DAYS * 86400) }));
  eq(r.status, 201, r.text);
  await act(T['a.tracer'], r.body.id, 'revoke'); // the requester withdraws it
});

test('the end is checked again at approval (a request made under a longer maximum)', async () => {
  // a pending request as an older, more generous policy would have let through
  sql(S.db, `INSERT INTO overrides(colour, category, reason, end_at, persons, requested_by, requested_at, policy_version)
    VALUES('red', 'data_error', 'old request', ${NOW + (MAX_DAYS + 5) * 86400}, 1, ${uid('a.tracer')}, ${NOW - 86400}, 'old@0');
    INSERT INTO override_persons VALUES(last_insert_rowid(), ${P.id});`);
  const id = +sql(S.db, `SELECT max(id) FROM overrides`);
  await refused(422, () => act(T['b.tester'], id, 'approve'), new RegExp(`maximum of ${MAX_DAYS} days`));
});

test('category and reason: both required, the category from the fixed list', async () => {
  await refused(422, () => post(T['a.tracer'], good([P], { category: undefined })), /'category' is required/);
  await refused(422, () => post(T['a.tracer'], good([P], { category: '' })), /'category' is required/);
  await refused(422, () => post(T['a.tracer'], good([P], { category: 'depositor_protest' })), /unknown category 'depositor_protest'/);
  await refused(422, () => post(T['a.tracer'], good([P], { reason: undefined })), /'reason' is required/);
  await refused(422, () => post(T['a.tracer'], good([P], { reason: '' })), /'reason' is required/);
  await refused(422, () => post(T['a.tracer'], good([P], { reason: ' \n\t ' })), /'reason' is required/);
  await refused(422, () => post(T['a.tracer'], good([P], { colour: 'black' })), /colour/);
  await refused(422, () => post(T['a.tracer'], good([], {})), /non-empty/);
  await refused(422, () => post(T['a.tracer'], good([P, P])), /same person/);
  // each listed category is accepted
  for (const cat of ['data_error', 'identity_mismatch', 'result_error', 'isolation_completed_early', 'medical_judgement']) {
    const r = await post(T['a.tracer'], good([P], { category: cat }));
    eq(r.status, 201, r.text);
    await act(T['a.tracer'], r.body.id, 'revoke');
  }
});

test('a person out of scope is refused exactly like an unknown ID number', async () => {
  const a = await refused(422, () => post(T['a.tracer'], good([P, outside])), /id_numbers\[1\]: no person with ID number '.*\*.*' in your scope/);
  const fake = outside.idn.slice(0, 6) + '199901019999';
  const b = await refused(422, () => post(T['a.tracer'], good([P, { idn: fake }])));
  const shape = m => m.replace(/'[^']*'/, "'X'");
  eq(shape(a.body.error.message), shape(b.body.error.message));
  assert(!a.body.error.message.includes(outside.idn), 'the full ID number was echoed');
});

test('refuse: by a second user, and a refused override can no longer be approved', async () => {
  const r = await post(T['a.tracer'], good([P], { colour: 'yellow', category: 'data_error', reason: '重复记录' }));
  eq(r.status, 201, r.text);
  const f = await act(T['e.isolation'], r.body.id, 'refuse', { reason: '证据不足' });
  eq([f.status, f.body.status, f.body.closed_by.username], [200, 'refused', 'e.isolation']);
  eq(sql(S.db, `SELECT status, closed_by, approved_at IS NULL FROM overrides WHERE id = ${r.body.id}`), `refused|${uid('e.isolation')}|1`);
  assert(sql(S.db, `SELECT detail FROM audit_log WHERE action = 'override.refuse'`).includes('证据不足'));
  await refused(409, () => act(T['b.tester'], r.body.id, 'approve'), /not pending/);
  const c = await myCode();
  eq(c.overrides.find(x => x.id === r.body.id).status, 'refused');
  eq(c.colour, target); // still the approved one
});

test('bulk: more persons than the threshold need a city-level approver', async () => {
  const r = await post(T['a.tracer'], good(inD, { colour: 'yellow', category: 'result_error', reason: '检测机构批量录入错误，待重新录入', end_at: iso(NOW + 86400) }));
  eq(r.status, 201, r.text);
  eq(r.body.persons, THRESHOLD + 1);
  await refused(403, () => act(T['b.tester'], r.body.id, 'approve'), new RegExp(`more than ${THRESHOLD}.*city-level`));
  const ok = await act(T['c.command'], r.body.id, 'approve');
  eq([ok.status, ok.body.status, ok.body.approved_by.username], [200, 'active', 'c.command']);
  eq(sql(S.db, `SELECT count(*) FROM override_persons WHERE override_id = ${r.body.id}`), String(THRESHOLD + 1));
  // a person of the bulk (not P, who has a later override of their own) is yellow now
  const q = inD[THRESHOLD];
  const s = await api(S.url, 'GET', `/api/v1/persons/${q.idn}/code`, { token: T['c.command'] });
  eq([s.status, s.body.colour, s.body.overridden], [200, 'yellow', true]);
  // exactly the threshold: a district approver is enough
  const r2 = await post(T['a.tracer'], good(inD.slice(0, THRESHOLD), { end_at: iso(NOW + 86400) }));
  eq(r2.status, 201, r2.text);
  const ok2 = await act(T['b.tester'], r2.body.id, 'approve');
  eq(ok2.status, 200, ok2.text);
  await act(T['b.tester'], r2.body.id, 'revoke');
  await act(T['b.tester'], r.body.id, 'revoke');
});

test('list and read: scoped, filtered by status, persons masked', async () => {
  const l = await api(S.url, 'GET', '/api/v1/overrides?status=refused', { token: T['b.tester'] });
  eq(l.status, 200);
  eq(l.body.items.map(o => o.status), l.body.items.map(() => 'refused'));
  eq(l.body.items.length, +sql(S.db, `SELECT count(*) FROM overrides WHERE status = 'refused'`));
  const pg = await api(S.url, 'GET', '/api/v1/overrides?limit=2', { token: T['b.tester'] });
  eq(pg.body.items.length, 2);
  const next = await api(S.url, 'GET', `/api/v1/overrides?limit=2&cursor=${pg.body.next_cursor}`, { token: T['b.tester'] });
  assert(next.body.items[0].id < pg.body.items[1].id, 'pages overlap');
  eq((await api(S.url, 'GET', '/api/v1/overrides?status=nonsense', { token: T['b.tester'] })).status, 400);
  const g = await api(S.url, 'GET', `/api/v1/overrides/${first}`, { token: T['b.tester'] });
  eq(g.status, 200);
  eq(g.body.person_list.length, 1);
  assert(g.body.person_list[0].id_number.includes('*') && g.body.person_list[0].id_number !== P.idn, 'ID number not masked');
  assert(+sql(S.db, `SELECT count(*) FROM audit_log WHERE action = 'override.read' AND actor = 'b.tester'`) >= 1, 'read not audited');
});

test('revoke ends an active override now; the computed colour is back', async () => {
  const r = await act(T['c.command'], first, 'revoke', { reason: '复核后解除' });
  eq([r.status, r.body.status, r.body.closed_by.username, r.body.closed_at], [200, 'revoked', 'c.command', NOW_ISO]);
  await refused(409, () => act(T['c.command'], first, 'revoke'), /nothing to revoke/);
  const c = await myCode();
  eq([c.colour, c.overridden], [before.colour, false]);
  const o = c.overrides.find(x => x.id === first);
  eq([o.status, o.end, o.closed_by.username], ['revoked', NOW_ISO, 'c.command']);
  eq(sql(S.db, `SELECT status, closed_by, closed_at FROM overrides WHERE id = ${first}`), `revoked|${uid('c.command')}|${NOW}`);
});

test('every change is in the audit log; the table refuses approved_by = requested_by', async () => {
  const acts = sql(S.db, `SELECT action, count(*) FROM audit_log WHERE action LIKE 'override.%' AND action NOT IN ('override.read', 'override.list', 'override.read_own') GROUP BY action ORDER BY action`);
  const rows = sql(S.db, `SELECT
    (SELECT count(*) FROM overrides WHERE approved_by IS NOT NULL),
    (SELECT count(*) FROM overrides WHERE status = 'refused'),
    (SELECT count(*) FROM overrides WHERE status = 'revoked'),
    (SELECT count(*) FROM overrides WHERE policy_version <> 'old@0')`).split('|');
  eq(acts, `override.approve|${rows[0]}\noverride.refuse|${rows[1]}\noverride.request|${rows[3]}\noverride.revoke|${rows[2]}`);
  // the CHECK is the last line: even a direct UPDATE cannot make the requester the approver
  let failed = false;
  try { execFileSync('sqlite3', [S.db, `UPDATE overrides SET approved_by = requested_by WHERE id = ${first}`], { stdio: 'ignore' }); } catch { failed = true; }
  assert(failed, 'the table accepted approved_by = requested_by');
});

await run();
