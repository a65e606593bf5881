// Appeals (纠错) over HTTP: a citizen files an appeal against their colour;
// it records the colour and rules they saw, goes to the narrowest
// health-role owner of their grid (or stays unassigned when there is
// none) with a deadline from the policy; the owner and the command list
// it (masked); after the deadline it shows as overdue — checked by
// restarting the server on the same database at a later FANGKONG_NOW —
// and the decision is shown to the person.  Refused cases check the
// status AND that the database did not change.  protocol-9's
// appeal_deadline_hours is read from the policy file itself.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, run, startServer, api, sql, eq, assert, createUser, freePort, onCleanup, FK, ROOT } from '../lib/harness.mjs';

const NOW_ISO = '2022-06-15T10:00:00+08:00';
const NOW = Date.parse(NOW_ISO) / 1000;
const ini = readFileSync(join(ROOT, 'policy', 'protocol-9.ini'), 'utf8');
const HOURS = Number(ini.match(/^appeal_deadline_hours\s*=\s*(\d+)/m)[1]);
const LATER = NOW + HOURS * 3600 + 3600; // an hour past every deadline of appeals filed at NOW
const iso8 = t => { // ISO with +08:00, as the server writes it
  const d = new Date((t + 8 * 3600) * 1000).toISOString().slice(0, 19);
  return `${d}+08:00`;
};

const S = await startServer({ persons: 3000, seed: 11, env: { FANGKONG_NOW: NOW_ISO } });
let url = S.url;
const login = async (u, p) => {
  const r = await api(url, 'POST', '/api/v1/sessions', { body: { username: u, password: p } });
  if (r.status !== 201) throw new Error(`login ${u}: ${r.status} ${r.text}`);
  return r.body.token;
};
const admin = await login('admin', S.adminPassword);
const PW = 'own-password-1';

// P and Q in one district (different grids), R in another
const [D, D2] = sql(S.db, `SELECT substr(grid_code, 1, 6) d FROM persons GROUP BY d ORDER BY count(*) DESC, d LIMIT 2`).split('\n');
const one = where => { const [id, idn, grid] = sql(S.db, `SELECT id, id_number, grid_code FROM persons WHERE ${where} ORDER BY id LIMIT 1`).split('|'); return { id: +id, idn, grid }; };
const P = one(`substr(grid_code, 1, 6) = '${D}'`);
const Q = one(`substr(grid_code, 1, 6) = '${D}' AND grid_code <> '${P.grid}'`);
const R = one(`substr(grid_code, 1, 6) = '${D2}'`);
const OTHER_GRID = sql(S.db, `SELECT grid_code FROM persons WHERE substr(grid_code, 1, 6) = '${D}' AND grid_code NOT IN ('${P.grid}', '${Q.grid}') LIMIT 1`);

const T = {};
async function citizen(name, p) {
  const c = await api(url, 'POST', '/api/v1/users', { token: admin, body: { username: name, role: 'citizen', person: p.idn, password: 'initial-pass-1' } });
  if (c.status !== 201) throw new Error(c.text);
  const t = await login(name, 'initial-pass-1');
  const r = await api(url, 'POST', '/api/v1/me/password', { token: t, body: { old_password: 'initial-pass-1', new_password: PW } });
  if (r.status !== 204) throw new Error(r.text);
  T[name] = t;
}
await citizen('cp', P); await citizen('cq', Q); await citizen('cr', R);
// a grid worker on R's grid: not a health role, never an owner
T['g.grid'] = await createUser(S, admin, { username: 'g.grid', role: 'grid', scope: R.grid, password: PW });
T['v.venue'] = await createUser(S, admin, { username: 'v.venue', role: 'venue', scope: '6109', password: PW });
const uid = u => +sql(S.db, `SELECT id FROM users WHERE username = '${u}'`);

const snapshot = () => sql(S.db, `SELECT
  (SELECT group_concat(id || ':' || status || ':' || outcome || ':' || coalesce(decided_by, '-') || ':' || coalesce(owner_id, '-'), ';') FROM appeals),
  (SELECT count(*) FROM audit_log WHERE action IN ('appeal.file', 'appeal.decide', 'appeal.withdraw'))`);
async function refused(status, fn, msgRe) {
  const before = snapshot();
  const r = await fn();
  eq(r.status, status, `status (body: ${r.text.slice(0, 300)})`);
  if (msgRe) assert(msgRe.test(r.body.error.message), `message ${JSON.stringify(r.body.error.message)} !~ ${msgRe}`);
  eq(snapshot(), before, 'the database changed on a refused request');
  return r;
}
const file = (who, text) => api(url, 'POST', '/api/v1/me/appeals', { token: T[who], body: { text } });
const code = async who => {
  const r = await api(url, 'GET', '/api/v1/me/code', { token: T[who] });
  eq(r.status, 200, r.text.slice(0, 200));
  return r.body;
};
const A = {}; // appeal ids

test('with no health-role user over the grid, an appeal is filed unassigned', async () => {
  const c = await code('cr');
  const r = await file('cr', '我没有去过通报的场所，请核实');
  eq(r.status, 201, r.text);
  A.r = r.body.id;
  eq(r.body, {
    id: A.r, colour: c.colour, text: '我没有去过通报的场所，请核实', filed_at: NOW_ISO,
    due_at: iso8(NOW + HOURS * 3600), status: 'open', outcome: '', owner: null, decided_at: null, overdue: false,
  });
  eq(sql(S.db, `SELECT person_id, colour, owner_id IS NULL, filed_by, filed_at, due_at, status FROM appeals WHERE id = ${A.r}`),
    `${R.id}|${c.colour}|1|${uid('cr')}|${NOW}|${NOW + HOURS * 3600}|open`);
  // the rules the person saw are kept with it
  const rules = JSON.parse(sql(S.db, `SELECT rules FROM appeals WHERE id = ${A.r}`));
  eq(rules.map(x => x.rule), c.rules.map(x => x.rule));
  eq(sql(S.db, `SELECT actor, object FROM audit_log WHERE action = 'appeal.file'`), `cr|appeal:${A.r}`);
});

test('the owner is the narrowest health-role scope over the grid, lowest id on a tie', async () => {
  for (const [u, role, scope] of [['t.grid', 'tester', P.grid], ['a.dist', 'tracer', D], ['b.dist', 'isolation', D],
    ['o.grid', 'tester', OTHER_GRID], ['c.city', 'command', '6109'], ['d2.tracer', 'tracer', D2]])
    T[u] = await createUser(S, admin, { username: u, role, scope, password: PW });
  const p = await file('cp', '核酸结果是阴性，但码仍为黄色');
  eq(p.status, 201, p.text);
  A.p = p.body.id;
  eq(p.body.owner, { username: 't.grid', role_zh: '核酸检测组' });
  const q = await file('cq', '隔离已解除但码未转绿');
  eq(q.status, 201, q.text);
  A.q = q.body.id;
  eq(q.body.owner, { username: 'a.dist', role_zh: '流调溯源组' });
  eq(sql(S.db, `SELECT owner_id FROM appeals WHERE id IN (${A.p}, ${A.q}) ORDER BY id`), `${uid('t.grid')}\n${uid('a.dist')}`);
  // the appeal already filed keeps no owner
  eq(sql(S.db, `SELECT owner_id IS NULL FROM appeals WHERE id = ${A.r}`), '1');
});

test('refused filings: not a citizen, no text, too many open appeals', async () => {
  await refused(403, () => api(url, 'POST', '/api/v1/me/appeals', { token: T['a.dist'], body: { text: 'x' } }));
  await refused(422, () => file('cp', ''), /'text' is required/);
  await refused(422, () => file('cp', '  \n '), /'text' is required/);
  await refused(422, () => api(url, 'POST', '/api/v1/me/appeals', { token: T.cp, body: {} }), /'text' is required/);
  for (let i = 0; i < 2; i++) eq((await file('cp', `补充材料 ${i}`)).status, 201);
  await refused(429, () => file('cp', '第四次'), /3 open appeals/);
});

test('listed to the owner (mine), to the command, scoped and masked', async () => {
  const mine = await api(url, 'GET', '/api/v1/appeals?mine=1', { token: T['a.dist'] });
  eq(mine.status, 200, mine.text);
  eq(mine.body.items.map(a => a.id), [A.q]);
  const it = mine.body.items[0];
  assert(it.person.id_number.includes('*') && it.person.id_number !== Q.idn, 'ID number not masked');
  assert(it.person.name.includes('*'), 'name not masked');
  eq([it.owner.username, it.status, it.overdue, it.person.grid.code], ['a.dist', 'open', false, Q.grid]);
  // the district sees its persons' appeals (P's three and Q's), not R's
  const dist = await api(url, 'GET', '/api/v1/appeals?status=open', { token: T['b.dist'] });
  eq(dist.body.items.map(a => a.id).sort((x, y) => x - y),
    sql(S.db, `SELECT a.id FROM appeals a JOIN persons p ON p.id = a.person_id WHERE substr(p.grid_code, 1, 6) = '${D}' AND a.status = 'open' ORDER BY a.id`).split('\n').map(Number));
  const city = await api(url, 'GET', '/api/v1/appeals?unassigned=1', { token: T['c.city'] });
  eq(city.body.items.map(a => [a.id, a.owner]), [[A.r, null]]);
  eq((await api(url, 'GET', '/api/v1/appeals?overdue=1', { token: T['c.city'] })).body.items, []);
  await refused(404, () => api(url, 'GET', `/api/v1/appeals/${A.q}`, { token: T['t.grid'] }));
  eq((await api(url, 'GET', `/api/v1/appeals/${A.q}`, { token: T['a.dist'] })).status, 200);
  await refused(403, () => api(url, 'GET', '/api/v1/appeals', { token: T['g.grid'] }));
  await refused(400, () => api(url, 'GET', '/api/v1/appeals?status=lost', { token: T['c.city'] }));
  assert(+sql(S.db, `SELECT count(*) FROM audit_log WHERE action IN ('appeal.list', 'appeal.read')`) >= 4, 'reads not audited');
});

test('withdraw: only one\'s own open appeal', async () => {
  const extra = +sql(S.db, `SELECT max(id) FROM appeals WHERE person_id = ${P.id}`);
  await refused(404, () => api(url, 'POST', `/api/v1/me/appeals/${extra}/withdraw`, { token: T.cq }));
  const w = await api(url, 'POST', `/api/v1/me/appeals/${extra}/withdraw`, { token: T.cp });
  eq([w.status, w.body.status], [200, 'withdrawn']);
  eq(sql(S.db, `SELECT status, decided_by FROM appeals WHERE id = ${extra}`), `withdrawn|${uid('cp')}`);
  await refused(409, () => api(url, 'POST', `/api/v1/me/appeals/${extra}/withdraw`, { token: T.cp }));
});

test('refused decisions: non-health role, out of scope, no text, bad outcome', async () => {
  await refused(403, () => api(url, 'POST', `/api/v1/appeals/${A.q}/decide`, { token: T['g.grid'], body: { outcome: 'upheld', text: 'x' } }));
  await refused(403, () => api(url, 'POST', `/api/v1/appeals/${A.q}/decide`, { token: T['v.venue'], body: { outcome: 'upheld', text: 'x' } }));
  await refused(403, () => api(url, 'POST', `/api/v1/appeals/${A.q}/decide`, { token: admin, body: { outcome: 'upheld', text: 'x' } }));
  await refused(403, () => api(url, 'POST', `/api/v1/appeals/${A.q}/decide`, { token: T.cq, body: { outcome: 'corrected', text: 'x' } }));
  await refused(404, () => api(url, 'POST', `/api/v1/appeals/${A.q}/decide`, { token: T['d2.tracer'], body: { outcome: 'upheld', text: 'x' } }));
  await refused(422, () => api(url, 'POST', `/api/v1/appeals/${A.q}/decide`, { token: T['a.dist'], body: { outcome: 'upheld' } }), /'text' is required/);
  await refused(422, () => api(url, 'POST', `/api/v1/appeals/${A.q}/decide`, { token: T['a.dist'], body: { outcome: 'ignored', text: 'x' } }), /outcome/);
});

// ---- an hour past the deadline: the same database, a later clock ----
async function restartAt(t) {
  S.proc.kill('SIGTERM');
  await new Promise(r => (S.proc.exitCode !== null ? r() : S.proc.once('exit', r)));
  const port = await freePort();
  const proc = spawn(FK, ['serve', '--db', S.db, '--listen', `127.0.0.1:${port}`],
    { env: { ...S.env, FANGKONG_NOW: String(t) }, stdio: ['ignore', 'ignore', 'pipe'] });
  onCleanup(async () => { if (proc.exitCode === null) { proc.kill('SIGTERM'); await new Promise(r => proc.once('exit', r)); } });
  url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { if ((await fetch(url + '/healthz')).ok) break; } catch { /* not yet */ }
    if (i > 100) throw new Error('server did not restart');
    await new Promise(r => setTimeout(r, 100));
  }
  // sessions of 12 hours have expired by then: log in again
  for (const u of Object.keys(T)) T[u] = await login(u, PW);
}

test('past the deadline, open appeals are overdue — to the command and to the person', async () => {
  await restartAt(LATER);
  const open = sql(S.db, `SELECT id FROM appeals WHERE status = 'open' AND due_at < ${LATER} ORDER BY id DESC`).split('\n').map(Number);
  assert(open.length === 4, `expected 4 open appeals, got ${open}`);
  const r = await api(url, 'GET', '/api/v1/appeals?overdue=1', { token: T['c.city'] });
  eq(r.status, 200, r.text);
  eq(r.body.items.map(a => a.id), open);
  assert(r.body.items.every(a => a.overdue === true), 'not flagged overdue');
  const mine = await api(url, 'GET', '/api/v1/appeals?overdue=1&mine=1', { token: T['a.dist'] });
  eq(mine.body.items.map(a => a.id), [A.q]);
  const me = await api(url, 'GET', '/api/v1/me/appeals', { token: T.cq });
  eq([me.status, me.body.appeals.map(a => [a.id, a.overdue])], [200, [[A.q, true]]]);
  // a withdrawn appeal is never overdue
  const p = await api(url, 'GET', '/api/v1/me/appeals', { token: T.cp });
  eq(p.body.appeals.filter(a => a.status === 'withdrawn').map(a => a.overdue), [false]);
});

test('decided by the owner: recorded, audited, shown to the person', async () => {
  const d = await api(url, 'POST', `/api/v1/appeals/${A.q}/decide`, { token: T['a.dist'], body: { outcome: 'corrected', text: '已核实解除隔离记录，数据已更正' } });
  eq(d.status, 200, d.text);
  eq([d.body.status, d.body.outcome, d.body.decided_by.username, d.body.decided_at, d.body.overdue],
    ['corrected', '已核实解除隔离记录，数据已更正', 'a.dist', iso8(LATER), false]);
  eq(sql(S.db, `SELECT status, outcome, decided_by, decided_at FROM appeals WHERE id = ${A.q}`),
    `corrected|已核实解除隔离记录，数据已更正|${uid('a.dist')}|${LATER}`);
  eq(sql(S.db, `SELECT actor, object FROM audit_log WHERE action = 'appeal.decide'`), `a.dist|appeal:${A.q}`);
  await refused(409, () => api(url, 'POST', `/api/v1/appeals/${A.q}/decide`, { token: T['b.dist'], body: { outcome: 'upheld', text: '再答一次' } }), /no longer open/);
  const c = await code('cq');
  const a = c.appeals.find(x => x.id === A.q);
  eq(a, {
    id: A.q, colour: a.colour, text: '隔离已解除但码未转绿', filed_at: NOW_ISO, due_at: iso8(NOW + HOURS * 3600),
    status: 'corrected', outcome: '已核实解除隔离记录，数据已更正', owner: { username: 'a.dist', role_zh: '流调溯源组' },
    decided_at: iso8(LATER), overdue: false,
  });
  // upheld by the command, for the unassigned one
  const u = await api(url, 'POST', `/api/v1/appeals/${A.r}/decide`, { token: T['c.city'], body: { outcome: 'upheld', text: '场所扫码记录核实无误，维持原码' } });
  eq([u.status, u.body.status, u.body.owner], [200, 'upheld', null]);
  eq((await code('cr')).appeals[0].status, 'upheld');
});

await run();
