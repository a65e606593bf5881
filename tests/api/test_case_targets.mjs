// A case's time targets (POST /api/v1/cases/{id}/milestones, GET
// /api/v1/cases/{id}/targets, GET /api/v1/case-targets) on a small
// generated city whose clock this test moves (FANGKONG_NOW=@file).
//
// Every expected status is computed here from the times the test set and
// the hours read from policy/protocol-9.ini by a regex (not by the server's
// parser).  "Contacts under control" is recomputed in JavaScript from the
// raw rows of contacts, orders and cases read with the sqlite3 shell.
// Orders are written with SQL INSERTs, as the command's confirmation would
// leave them (status active, activated_at), so the measure does not depend
// on the orders code.
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, run, startServer, api, sql, eq, assert, createUser, onCleanup, ROOT } from '../lib/harness.mjs';

const iso = t => new Date((t + 8 * 3600) * 1000).toISOString().replace(/\.\d{3}Z$/, '+08:00');
const unix = s => Date.parse(s) / 1000;
const H = 3600, DAY = 86400;

// the policy's [targets] hours and whether secondary contacts count
const ini = readFileSync(join(ROOT, 'policy', 'protocol-9.ini'), 'utf8');
const iniKey = k => { const m = ini.match(new RegExp(`^\\s*${k}\\s*=\\s*(\\S+)`, 'm')); if (!m) throw new Error(`no ${k} in the ini`); return m[1]; };
const HOURS = {
  team_on_site: +iniKey('team_on_site_hours'), core_info: +iniKey('core_info_hours'),
  report: +iniKey('report_hours'), contacts_controlled: +iniKey('contacts_controlled_hours'),
};
const SECONDARY = /^(yes|true|1|on)$/i.test(iniKey('secondary_contacts'));

const T0 = unix('2022-03-01T09:00:00+08:00');
const clockDir = mkdtempSync(join(tmpdir(), 'fk-clock-'));
const clock = join(clockDir, 'now');
onCleanup(() => rmSync(clockDir, { recursive: true, force: true }));
let NOW = T0;
// sessions expire with the clock: every move logs the users in again
const setNow = async t => {
  NOW = t;
  writeFileSync(clock, String(t));
  if (S) await relogin();
};
let S = null;
await setNow(T0);

S = await startServer({ persons: 2000, seed: 41, policy: 'protocol-9', env: { FANGKONG_NOW: '@' + clock } });
const login = async (username, password = 'own-password-1') => {
  const r = await api(S.url, 'POST', '/api/v1/sessions', { body: { username, password } });
  if (r.status !== 201) throw new Error(`cannot log in as ${username}: ${r.text}`);
  return r.body.token;
};
const admin = await login('admin', S.adminPassword);
let tracer = await createUser(S, admin, { username: 'tracer.t', role: 'tracer', scope: '6109' });

// two cases in two households of at least four persons, in two counties
// when the city has them (the outsider's scope holds neither)
const households = sql(S.db, `SELECT household_id, min(id), substr(min(grid_code), 1, 6) FROM persons
  WHERE household_id IS NOT NULL GROUP BY household_id HAVING count(*) >= 4 ORDER BY household_id`)
  .split('\n').map(l => { const [hh, id, county] = l.split('|'); return { hh: +hh, id: +id, county }; });
assert(households.length >= 2, 'the city has two households of four');
const HA = households[0], HB = households.find(h => h.hh !== HA.hh);
const person = id => { const [idn, grid] = sql(S.db, `SELECT id_number, grid_code FROM persons WHERE id = ${id}`).split('|'); return { id, idn, grid }; };
const PA = person(HA.id), PB = person(HB.id);
const outsiderScope = sql(S.db, `SELECT code FROM regions WHERE level = 3 AND code NOT IN ('${PA.grid.slice(0, 6)}', '${PB.grid.slice(0, 6)}') ORDER BY code LIMIT 1`);
let grid = await createUser(S, admin, { username: 'grid.t', role: 'grid', scope: PA.grid });
let outsider = await createUser(S, admin, { username: 'tracer.out', role: 'tracer', scope: outsiderScope });
async function relogin() {
  tracer = await login('tracer.t');
  grid = await login('grid.t');
  outsider = await login('tracer.out');
}

const get = (path, token = tracer) => api(S.url, 'GET', path, { token });
const ms = (id, body, token = tracer) => api(S.url, 'POST', `/api/v1/cases/${id}/milestones`, { token, body });

// ---- the reference: statuses from the times alone ----
function status(due, done, now) {
  if (done !== null) return done <= due ? 'met' : 'missed';
  return now > due ? 'overdue' : 'pending';
}
// contacts of case id under control at now, from raw rows
function refControlled(caseId, created, now) {
  const rows = s => (s ? s.split('\n') : []).map(l => l.split('|'));
  const contacts = rows(sql(S.db, `SELECT person_id, found_at, degree FROM contacts WHERE case_id = ${caseId}`))
    .map(([p, f, d]) => ({ p: +p, f: +f, d: +d })).filter(k => k.d === 1 || SECONDARY);
  const orders = rows(sql(S.db, `SELECT person_id, status, coalesce(activated_at, ''), coalesce(ended_at, '') FROM orders`))
    .map(([p, st, a, e]) => ({ p: +p, st, a: a === '' ? null : +a, e: e === '' ? null : +e }));
  const cases = rows(sql(S.db, 'SELECT person_id, created_at FROM cases')).map(([p, c]) => ({ p: +p, c: +c }));
  let controlled = 0, last = null;
  for (const k of contacts) {
    const times = [];
    for (const o of orders) {
      if (o.p !== k.p || !['active', 'completed'].includes(o.st) || o.a === null || o.a > now) continue;
      if (o.a >= k.f) times.push(o.a);
      else if (o.e === null || o.e > k.f) times.push(k.f); // already under control when found
    }
    for (const c of cases) if (c.p === k.p && c.c <= now) times.push(Math.max(c.c, k.f));
    if (!times.length) continue;
    controlled++;
    last = Math.max(last ?? 0, Math.min(...times));
  }
  const done = contacts.length === 0 ? created : (controlled === contacts.length ? last : null);
  return { contacts: contacts.length, controlled, done };
}
// the whole expected answer of GET /targets for case c at NOW
function expected(c) {
  const created = c.created, row = sql(S.db, `SELECT coalesce(team_on_site_at, ''), coalesce(core_info_at, ''), coalesce(reported_at, '') FROM cases WHERE id = ${c.id}`).split('|');
  const rec = row.map(v => (v === '' ? null : +v));
  const cc = refControlled(c.id, created, NOW);
  const done = { team_on_site: rec[0], core_info: rec[1], report: rec[2], contacts_controlled: cc.done };
  return Object.keys(HOURS).map(name => {
    const due = created + HOURS[name] * H, d = done[name];
    const t = { name, hours: HOURS[name], due_at: iso(due), done_at: d === null ? null : iso(d), status: status(due, d, NOW),
      seconds: d === null ? null : d - created, seconds_left: d === null ? due - NOW : null };
    if (name === 'contacts_controlled') { t.contacts = cc.contacts; t.controlled = cc.controlled; }
    return t;
  });
}
const rank = { met: 0, pending: 1, missed: 2, overdue: 3 };
const worst = ts => ts.reduce((w, t) => (rank[t.status] > rank[w] ? t.status : w), 'met');
async function checkTargets(c, what) {
  const r = await get(`/api/v1/cases/${c.id}/targets`);
  eq(r.status, 200, r.text);
  const want = expected(c);
  eq(r.body, { case_id: c.id, created_at: iso(c.created), now: iso(NOW), status: worst(want), targets: want }, what);
  return r.body;
}
// an active order as the command's confirmation leaves it
function insertOrder(personId, caseId, activatedAt, { status = 'active', endedAt = null, start = activatedAt - DAY } = {}) {
  sql(S.db, `INSERT INTO orders(person_id, kind, category, case_id, status, start_at, planned_end, orig_end, ended_at,
      created_at, created_by, activated_at, activated_by, policy_version)
    VALUES (${personId}, 'central', 'close', ${caseId}, '${status}', ${start}, ${start + 14 * DAY}, ${start + 14 * DAY},
      ${endedAt ?? 'NULL'}, ${activatedAt}, 'test', ${activatedAt}, 'test', 'test')`);
}
const auditCount = id => +sql(S.db, `SELECT count(*) FROM audit_log WHERE action = 'case.milestones' AND object = 'case:${id}'`);

let A, B; // { id, created, person }
test('a new case: every target pending, due at created_at + the policy hours', async () => {
  const r = await api(S.url, 'POST', '/api/v1/cases', { token: tracer, body: { id_number: PA.idn, first_positive_at: iso(T0 - DAY), source: '社区筛查' } });
  eq(r.status, 201, r.text);
  A = { id: r.body.id, created: +sql(S.db, `SELECT created_at FROM cases WHERE id = ${r.body.id}`), person: PA };
  eq(A.created, T0, 'created at the clock file\'s time');
  eq(r.body.found_where, '社区筛查', '"source" is recorded as where the case was found');
  eq([r.body.outcome, r.body.outcome_at, r.body.team_on_site_at, r.body.core_info_at, r.body.reported_at], ['under_treatment', null, null, null, null]);
  const cc = refControlled(A.id, A.created, NOW);
  assert(cc.contacts >= 3, `the household members are contacts (${cc.contacts})`);
  const t = await checkTargets(A, 'fresh case');
  eq(t.targets.map(x => x.status), ['pending', 'pending', 'pending', 'pending']);
  eq(t.targets.map(x => x.seconds_left), Object.values(HOURS).map(h => h * H));
});

test('"source" and "found_where" that differ are refused, naming source', async () => {
  const r = await api(S.url, 'POST', '/api/v1/cases', { token: tracer, body: { id_number: PB.idn, first_positive_at: iso(T0 - DAY), source: 'a', found_where: 'b' } });
  eq(r.status, 400, r.text);
  assert(r.body.error.message.includes('source'), r.text);
});

test('team on site within the hours is met; seconds = done - created', async () => {
  await setNow(T0 + H);
  const r = await ms(A.id, { team_on_site_at: iso(T0 + H) });
  eq(r.status, 200, r.text);
  const want = expected(A);
  eq(want[0].status, 'met');
  eq(r.body.targets, want, 'the answer is the targets after the change');
  eq(r.body.targets[0].seconds, H);
  eq(sql(S.db, `SELECT team_on_site_at FROM cases WHERE id = ${A.id}`), String(T0 + H));
});

test('core information not recorded past its hours is overdue, then missed when recorded late', async () => {
  await setNow(T0 + (HOURS.core_info + 1) * H);
  let t = await checkTargets(A, 'after the core-info deadline');
  eq(t.targets[1].status, 'overdue');
  eq(t.status, 'overdue');
  const late = T0 + HOURS.core_info * H + 1800;
  const r = await ms(A.id, { core_info_at: iso(late) });
  eq(r.status, 200, r.text);
  t = await checkTargets(A, 'core info recorded late');
  eq(t.targets[1].status, 'missed');
  eq(t.targets[1].seconds, late - T0);
});

test('exactly at the due time a target is met', async () => {
  await setNow(T0 + (HOURS.report + 2) * H);
  const r = await ms(A.id, { reported_at: iso(T0 + HOURS.report * H) });
  eq(r.status, 200, r.text);
  const t = await checkTargets(A, 'report at the due second');
  eq(t.targets[2].status, 'met');
});

test('contacts under control: counted against SQL over contacts and orders', async () => {
  // now T0 + report + 2 h, past the contacts deadline (24 h): nobody under an order
  let t = await checkTargets(A, 'no orders');
  eq(t.targets[3].status, 'overdue');
  eq(t.targets[3].controlled, 0);
  const people = sql(S.db, `SELECT person_id, found_at FROM contacts WHERE case_id = ${A.id} ${SECONDARY ? '' : 'AND degree = 1'} ORDER BY person_id`)
    .split('\n').map(l => l.split('|').map(Number));
  // all but the last under an order activated 2 h after they were found
  for (const [p, f] of people.slice(0, -1)) insertOrder(p, A.id, f + 2 * H);
  t = await checkTargets(A, 'all but one');
  eq([t.targets[3].contacts, t.targets[3].controlled], [people.length, people.length - 1]);
  eq(t.targets[3].done_at, null);
  eq(t.targets[3].status, 'overdue');
  // a proposed or cancelled order controls nobody
  const [lp, lf] = people[people.length - 1];
  insertOrder(lp, A.id, lf + H, { status: 'cancelled', endedAt: lf + 2 * H });
  sql(S.db, `INSERT INTO orders(person_id, kind, category, case_id, status, start_at, planned_end, created_at, created_by)
    VALUES (${lp}, 'central', 'close', ${A.id}, 'proposed', ${lf}, ${lf + 14 * DAY}, ${lf}, 'test')`);
  t = await checkTargets(A, 'proposed and cancelled orders');
  eq(t.targets[3].controlled, people.length - 1);
  // the last one is activated past the deadline: missed, done at that activation
  const lateAct = T0 + (HOURS.contacts_controlled + 1) * H;
  insertOrder(lp, A.id, lateAct);
  t = await checkTargets(A, 'all controlled, late');
  eq(t.targets[3].done_at, iso(lateAct));
  eq(t.targets[3].status, 'missed');
  eq(t.targets[3].seconds, lateAct - T0);
});

test('contacts under control in time: met; an order already running when found counts from then', async () => {
  await setNow(T0 + 2 * DAY);
  const r = await api(S.url, 'POST', '/api/v1/cases', { token: tracer, body: { id_number: PB.idn, first_positive_at: iso(T0 + DAY) } });
  eq(r.status, 201, r.text);
  B = { id: r.body.id, created: T0 + 2 * DAY, person: PB };
  eq(+sql(S.db, `SELECT created_at FROM cases WHERE id = ${B.id}`), B.created);
  const people = sql(S.db, `SELECT person_id, found_at FROM contacts WHERE case_id = ${B.id} ${SECONDARY ? '' : 'AND degree = 1'} ORDER BY person_id`)
    .split('\n').map(l => l.split('|').map(Number));
  assert(people.length >= 3, 'case B has contacts');
  // the first was already under an order (activated a day before, still active)
  insertOrder(people[0][0], A.id, B.created - DAY);
  // an order that ended before the contact was found does not count
  insertOrder(people[1][0], A.id, B.created - 3 * DAY, { status: 'completed', endedAt: B.created - DAY });
  let t = await checkTargets(B, 'one under an earlier order, one with an ended order');
  eq(t.targets[3].controlled, 1);
  eq(t.targets[3].status, 'pending');
  await setNow(B.created + 6 * H);
  for (const [p, f] of people.slice(1)) insertOrder(p, B.id, f + 3 * H);
  t = await checkTargets(B, 'all under orders within the hours');
  eq(t.targets[3].status, 'met');
  eq(t.targets[3].done_at, iso(Math.max(...people.slice(1).map(([, f]) => f + 3 * H))));
});

test('a contact who becomes a case is under control from then', async () => {
  // a household member of B without an order becomes a case: make one by
  // removing the orders of a contact, then confirming them as a case
  const hh = sql(S.db, `SELECT k.person_id FROM contacts k JOIN persons p ON p.id = k.person_id
    WHERE k.case_id = ${B.id} AND k.degree = 1 AND p.household_id = ${HB.hh} ORDER BY k.person_id DESC LIMIT 1`);
  assert(hh, 'a household contact of B');
  sql(S.db, `DELETE FROM orders WHERE person_id = ${hh} AND created_by = 'test'`);
  let t = await checkTargets(B, 'one contact without an order');
  eq(t.targets[3].done_at, null);
  const idn = sql(S.db, `SELECT id_number FROM persons WHERE id = ${hh}`);
  const r = await api(S.url, 'POST', '/api/v1/cases', { token: tracer, body: { id_number: idn, first_positive_at: iso(NOW - H) } });
  eq(r.status, 201, r.text);
  t = await checkTargets(B, 'the contact is a case');
  eq(t.targets[3].controlled, t.targets[3].contacts);
  eq(t.targets[3].done_at, iso(NOW), 'controlled when they became a case');
});

test('milestone validation: future, too early, bad outcome, bad time, unknown member, empty body', async () => {
  const before = auditCount(A.id);
  const cases = [
    [{ team_on_site_at: iso(NOW + 60) }, 'team_on_site_at'],
    [{ core_info_at: iso(A.created - 7 * DAY - 1) }, 'core_info_at'],
    [{ reported_at: 'yesterday' }, 'reported_at'],
    [{ isolated_at: 12345 }, 'isolated_at'],
    [{ isolated_at: null }, 'isolated_at'],
    [{ outcome: 'cured' }, 'outcome'],
    [{ outcome: 'recovered', outcome_at: iso(NOW + 1) }, 'outcome_at'],
    [{ outcome_at: iso(NOW) }, 'outcome_at'],
    [{ team_onsite_at: iso(NOW) }, 'team_onsite_at'],
    [{}, 'team_on_site_at'],
  ];
  for (const [body, field] of cases) {
    const r = await ms(A.id, body);
    eq(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert(r.body.error && r.body.error.message.includes(field), `the message names ${field}: ${r.text}`);
  }
  // the isolation ends the infectious window (first positive - 4 days under protocol 9): not before it
  const from = T0 - DAY - +iniKey('infectious_days_before') * DAY;
  let r = await ms(A.id, { isolated_at: iso(from - 1) });
  eq(r.status, 400, r.text);
  assert(r.body.error.message.includes('isolated_at'), r.text);
  r = await ms(A.id, { isolated_at: iso(from) });
  eq(r.status, 200, r.text);
  eq(sql(S.db, `SELECT isolated_at FROM cases WHERE id = ${A.id}`), String(from));
  // 7 days before created_at exactly is accepted
  r = await ms(A.id, { team_on_site_at: iso(A.created - 7 * DAY) });
  eq(r.status, 200, r.text);
  eq(r.body.targets[0].seconds, -7 * DAY, 'before the confirmation: negative seconds');
  eq(r.body.targets[0].status, 'met');
  eq(auditCount(A.id), before + 2, 'only the accepted changes were audited');
  eq(sql(S.db, `SELECT team_on_site_at FROM cases WHERE id = ${A.id}`), String(A.created - 7 * DAY));
});

test('outcome: recorded with its time (now by default), shown on the case; under_treatment clears the time', async () => {
  let r = await ms(A.id, { outcome: 'recovered' });
  eq(r.status, 200, r.text);
  eq(sql(S.db, `SELECT outcome, outcome_at FROM cases WHERE id = ${A.id}`), `recovered|${NOW}`);
  r = await ms(A.id, { outcome_at: iso(NOW - H) });
  eq(r.status, 200, r.text);
  eq(sql(S.db, `SELECT outcome_at FROM cases WHERE id = ${A.id}`), String(NOW - H));
  const c = await get(`/api/v1/cases/${A.id}`);
  eq(c.status, 200, c.text);
  const row = sql(S.db, `SELECT outcome, outcome_at, team_on_site_at, core_info_at, reported_at FROM cases WHERE id = ${A.id}`).split('|');
  eq([c.body.outcome, c.body.outcome_at, c.body.team_on_site_at, c.body.core_info_at, c.body.reported_at],
    [row[0], iso(+row[1]), iso(+row[2]), iso(+row[3]), iso(+row[4])]);
  const list = await get('/api/v1/cases?limit=500');
  const item = list.body.items.find(i => i.id === A.id);
  eq([item.outcome, item.outcome_at, item.reported_at], [row[0], iso(+row[1]), iso(+row[4])]);
  r = await ms(A.id, { outcome: 'under_treatment' });
  eq(r.status, 200, r.text);
  eq(sql(S.db, `SELECT outcome, coalesce(outcome_at, 'null') FROM cases WHERE id = ${A.id}`), 'under_treatment|null');
  // a milestone given as null is cleared (a correction)
  r = await ms(A.id, { reported_at: null });
  eq(r.status, 200, r.text);
  eq(sql(S.db, `SELECT coalesce(reported_at, 'null') FROM cases WHERE id = ${A.id}`), 'null');
  await checkTargets(A, 'report cleared: overdue again');
});

test('audit rows name the actor and each change', async () => {
  const rows = sql(S.db, `SELECT actor, detail FROM audit_log WHERE action = 'case.milestones' AND object = 'case:${A.id}' ORDER BY seq`)
    .split('\n').map(l => { const i = l.indexOf('|'); return [l.slice(0, i), JSON.parse(l.slice(i + 1))]; });
  eq(rows.map(r => r[0]), rows.map(() => 'tracer.t'));
  eq(rows[0][1], { team_on_site_at: iso(T0 + H) });
  eq(rows[1][1], { core_info_at: iso(T0 + HOURS.core_info * H + 1800) });
  assert(rows.some(r => r[1].outcome === 'recovered' && r[1].outcome_at), 'the outcome change is audited with its time');
  eq(rows[rows.length - 1][1], { reported_at: null });
  assert(+sql(S.db, `SELECT count(*) FROM audit_log WHERE action = 'case.targets' AND object = 'case:${A.id}' AND actor = 'tracer.t'`) > 0, 'reads of targets are audited');
});

test('GET /api/v1/case-targets: statuses per case, ?status=overdue and ?region= filters', async () => {
  const all = await get('/api/v1/case-targets?limit=500');
  eq(all.status, 200, all.text);
  const ids = sql(S.db, 'SELECT id, created_at FROM cases ORDER BY id DESC').split('\n').map(l => l.split('|').map(Number));
  eq(all.body.items.map(i => i.case_id), ids.map(([id]) => id), 'every case in scope, newest first');
  const exp = new Map();
  for (const [id, created] of ids) exp.set(id, expected({ id, created }));
  for (const i of all.body.items) {
    const e = exp.get(i.case_id);
    eq(i.targets, Object.fromEntries(e.map(t => [t.name, t.status])), `case ${i.case_id}`);
    eq(i.status, worst(e));
    eq(i.created_at, iso(ids.find(([id]) => id === i.case_id)[1]));
    assert(/^\d{6}\*+[\dX]{4}$/.test(i.person.id_number), 'masked');
  }
  const over = await get('/api/v1/case-targets?status=overdue&limit=1');
  const got = [];
  let cursor = null, r = over;
  for (let k = 0; k < 20; k++) {
    eq(r.status, 200, r.text);
    got.push(...r.body.items.map(i => i.case_id));
    cursor = r.body.next_cursor;
    if (!cursor) break;
    r = await get(`/api/v1/case-targets?status=overdue&limit=1&cursor=${cursor}`);
  }
  eq(got, ids.map(([id]) => id).filter(id => exp.get(id).some(t => t.status === 'overdue')), 'overdue: cases with an overdue target');
  assert(got.length > 0, 'the scenario has overdue cases');
  const byRegion = await get(`/api/v1/case-targets?region=${PA.grid}`);
  eq(byRegion.body.items.map(i => i.case_id),
    sql(S.db, `SELECT c.id FROM cases c JOIN persons p ON p.id = c.person_id WHERE p.grid_code LIKE '${PA.grid}%' ORDER BY c.id DESC`).split('\n').map(Number));
  for (const q of ['status=late', 'region=abc', 'cursor=***'])
    eq((await get(`/api/v1/case-targets?${q}`)).status, 400, q);
});

test('scope and permission: 401 without a session, 403 for a grid user, 404 outside the scope', async () => {
  eq((await api(S.url, 'GET', `/api/v1/cases/${A.id}/targets`)).status, 401);
  eq((await get(`/api/v1/cases/${A.id}/targets`, grid)).status, 403);
  eq((await ms(A.id, { team_on_site_at: iso(NOW) }, grid)).status, 403);
  eq((await get('/api/v1/case-targets', grid)).status, 403);
  eq((await get(`/api/v1/cases/${A.id}`, grid)).status, 403, 'as the case routes answer');
  const before = auditCount(A.id);
  eq((await get(`/api/v1/cases/${A.id}/targets`, outsider)).status, 404);
  eq((await ms(A.id, { team_on_site_at: iso(NOW) }, outsider)).status, 404);
  eq((await get(`/api/v1/cases/${A.id}`, outsider)).status, 404, 'as the case routes answer');
  eq((await get('/api/v1/case-targets', outsider)).body.items, []);
  eq((await get('/api/v1/cases/999999/targets')).status, 404);
  eq((await ms(999999, { team_on_site_at: iso(NOW) })).status, 404);
  eq((await get('/api/v1/cases/abc/targets')).status, 404);
  eq(auditCount(A.id), before, 'refused changes leave no audit row');
});

await run();
