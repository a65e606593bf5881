// Home control over HTTP: the five responsible people of an order (五包一)
// chosen at the deepest region above the person's grid (the reference is
// this test's own prefix computation over the rows it created), their
// tasks with due times from the policy file, temperature and symptom
// checks by staff, by the person and by a household member (refused for
// anyone else and for a central order), fever -> alert, event and the
// code's fever rule, missed check slots -> exactly one check_missed task
// per order and slot with the server's clock moved by a file, and bad
// input for every field (refusals change nothing).
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, run, startServer, api, sql, eq, assert, createUser, fk, ROOT } from '../lib/harness.mjs';

const DAY = 86400;
const ini = readFileSync(join(ROOT, 'policy', 'protocol-9.ini'), 'utf8');
const key = k => ini.match(new RegExp(`^${k}\\s*=\\s*([0-9.]+)`, 'm'))[1];
const CPD = Number(key('checks_per_day'));
const FEVER = Number(key('fever_celsius'));
const CTRL_HOURS = Number(key('contacts_controlled_hours'));

const unix = s => Date.parse(s) / 1000;
const iso = t => new Date((t + 8 * 3600) * 1000).toISOString().replace(/\.\d{3}Z$/, '+08:00');
// slots as the contract defines them, computed here independently
const slotOf = t => { const d = Math.floor((t + 28800) / DAY); const off = t + 28800 - d * DAY; return d * CPD + Math.floor(off * CPD / DAY); };
const slotStart = s => { const d = Math.floor(s / CPD), k = s - d * CPD; return d * DAY - 28800 + Math.floor(k * DAY / CPD); };

const NOW = unix('2022-06-15T10:00:00+08:00');
const dir = mkdtempSync(join(tmpdir(), 'fk-home-clock-'));
const CLOCK = join(dir, 'now');
let now = NOW;
const setClock = t => { now = t; writeFileSync(CLOCK, String(t)); };
setClock(NOW);

const S = await startServer({ persons: 2500, seed: 19, policy: 'protocol-9', env: { FANGKONG_NOW: '@' + CLOCK } });
const q = s => sql(S.db, s);
const login = async (u, p) => {
  const r = await api(S.url, 'POST', '/api/v1/sessions', { body: { username: u, password: p } });
  if (r.status !== 201) throw new Error(`login ${u}: ${r.status} ${r.text}`);
  return r.body.token;
};
const admin = await login('admin', S.adminPassword);

// P, M, X: one household (P under home isolation, M a citizen of it);
// N: another household of the same grid; Q: another grid of the same
// county (home monitoring); C: a central order; R: activated mid-slot.
const hh = q(`SELECT household_id FROM persons WHERE household_id IS NOT NULL GROUP BY household_id HAVING count(*) >= 3 ORDER BY household_id LIMIT 1`);
const person = where => { const [id, idn, grid, h] = q(`SELECT id, id_number, grid_code, coalesce(household_id, 0) FROM persons WHERE ${where} ORDER BY id LIMIT 1`).split('|'); return { id: +id, idn, grid, hh: +h }; };
const P = person(`household_id = ${hh}`);
const M = person(`household_id = ${hh} AND id <> ${P.id}`);
const N = person(`grid_code = '${P.grid}' AND household_id IS NOT NULL AND household_id <> ${hh}`);
const Q = person(`substr(grid_code, 1, 6) = '${P.grid.slice(0, 6)}' AND grid_code <> '${P.grid}'`);
const C = person(`id NOT IN (${P.id}, ${M.id}, ${N.id}, ${Q.id}) AND household_id IS NOT NULL AND household_id <> ${hh}`);
const R = person(`substr(grid_code, 1, 6) = '${P.grid.slice(0, 6)}' AND id NOT IN (${Q.id}, ${C.id}, ${P.id}, ${M.id}, ${N.id})`);
assert(N.id && Q.id && C.id && R.id, 'fixture persons found');

const PW = 'own-password-1';
const T = {};
T.command = await createUser(S, admin, { username: 'cmd', role: 'command', scope: P.grid.slice(0, 4), password: PW });
T.iso = await createUser(S, admin, { username: 'iso.staff', role: 'isolation', scope: P.grid.slice(0, 6), password: PW });
T.grid = await createUser(S, admin, { username: 'grid.p', role: 'grid', scope: P.grid, password: PW });
T.gridQ = await createUser(S, admin, { username: 'grid.q', role: 'grid', scope: Q.grid, password: PW });
T.tracer = await createUser(S, admin, { username: 'tracer', role: 'tracer', scope: P.grid.slice(0, 4), password: PW });
async function citizen(name, p) {
  const c = await api(S.url, 'POST', '/api/v1/users', { token: admin, body: { username: name, role: 'citizen', person: p.idn, password: 'initial-pass-1' } });
  if (c.status !== 201) throw new Error(c.text);
  const t = await login(name, 'initial-pass-1');
  const r = await api(S.url, 'POST', '/api/v1/me/password', { token: t, body: { old_password: 'initial-pass-1', new_password: PW } });
  if (r.status !== 204) throw new Error(r.text);
  T[name] = t;
}
await citizen('cP', P); await citizen('cM', M); await citizen('cN', N); await citizen('cC', C);

// a region that is not a prefix of P's grid: a sibling town / grid
const otherTown = q(`SELECT code FROM regions WHERE level = 4 AND parent_code = '${P.grid.slice(0, 6)}' AND code <> '${P.grid.slice(0, 9)}' LIMIT 1`);
const otherGrid = q(`SELECT code FROM regions WHERE length(code) = 15 AND code <> '${P.grid}' AND code LIKE '${P.grid.slice(0, 12)}%' LIMIT 1`)
  || q(`SELECT code FROM regions WHERE length(code) = 15 AND code <> '${P.grid}' LIMIT 1`);

const RESP = []; // {id, region, role, name}
const addResp = async (region, role, name, extra = {}) => {
  const r = await api(S.url, 'POST', '/api/v1/responsibles', { token: T.command, body: { region, role, name, phone: '13912345678', ...extra } });
  eq(r.status, 201, r.text);
  RESP.push({ id: r.body.id, region, role, name });
  return r;
};
// the reference: the longest region that is a prefix of the grid, smallest id on a tie
const expectedResp = grid => Object.fromEntries(['town_cadre', 'village_cadre', 'police', 'doctor', 'grid_worker'].map(role => {
  const c = RESP.filter(x => x.role === role && grid.startsWith(x.region)).sort((a, b) => b.region.length - a.region.length || a.id - b.id);
  return [role, c.length ? c[0].id : null];
}));

const checksCount = () => q(`SELECT count(*) || ':' || (SELECT count(*) FROM alerts) || ':' || (SELECT count(*) FROM audit_log WHERE action = 'order.check') FROM health_checks`);
async function refused(status, fn, re) {
  const before = checksCount() + '|' + q(`SELECT count(*) FROM responsibles`);
  const r = await fn();
  eq(r.status, status, `status (body: ${r.text.slice(0, 300)})`);
  if (re) assert(re.test(r.body.error.message) || re.test(r.body.error.code), `message ${JSON.stringify(r.body.error)} !~ ${re}`);
  eq(checksCount() + '|' + q(`SELECT count(*) FROM responsibles`), before, 'the database changed on a refused request');
  return r;
}

const O = {};
const proposed = (p, kind) => Number(q(`INSERT INTO orders(person_id, kind, category, status, start_at, planned_end, orig_end, created_at, created_by, policy_version)
  VALUES (${p.id}, '${kind}', 'close', 'proposed', ${NOW - 2 * DAY}, ${NOW + 5 * DAY}, ${NOW + 5 * DAY}, ${now}, 'test', 'protocol-9'); SELECT last_insert_rowid();`));
const confirm = async ids => {
  const r = await api(S.url, 'POST', '/api/v1/orders/confirm', { token: T.command, body: { ids } });
  eq(r.status, 200, r.text);
  eq(r.body.activated, ids.length, r.text);
};
// sessions last 12 hours of the server's clock: log in again after moving it
const relogin = async () => {
  for (const [k, u] of [['command', 'cmd'], ['iso', 'iso.staff'], ['grid', 'grid.p'], ['gridQ', 'grid.q'], ['tracer', 'tracer']]) T[k] = await login(u, PW);
};
const check = (id, body, token = T.iso) => api(S.url, 'POST', `/api/v1/orders/${id}/checks`, { token, body });
const me = (who, body) => api(S.url, 'POST', '/api/v1/me/checks', { token: T[who], body });

test('responsibles: added through the API at several depths, listed masked, refused for bad input', async () => {
  await addResp(P.grid.slice(0, 6), 'town_cadre', '县干部甲');
  await addResp(P.grid.slice(0, 9), 'town_cadre', '镇干部乙');
  await addResp(P.grid.slice(0, 12), 'village_cadre', '村干部丙');
  await addResp(P.grid, 'police', '民警丁');
  await addResp(P.grid, 'police', '民警戊');
  await addResp(P.grid.slice(0, 4), 'doctor', '市医生己');
  if (otherTown) await addResp(otherTown, 'doctor', '邻镇医生');
  const r = await addResp(otherGrid, 'grid_worker', '邻格网格员', { username: 'grid.q' });
  eq(r.body.phone, '139****5678');
  eq(r.body.username, 'grid.q');
  eq(r.body.role_zh, '网格员');
  eq(r.body.duty, '上门告知');
  eq(+q(`SELECT count(*) FROM audit_log WHERE action = 'responsible.add'`), RESP.length);

  const l = await api(S.url, 'GET', `/api/v1/responsibles?region=${P.grid.slice(0, 9)}`, { token: T.command });
  eq(l.status, 200, l.text);
  const want = RESP.filter(x => x.region.startsWith(P.grid.slice(0, 9))).map(x => x.id).sort((a, b) => a - b);
  eq(l.body.items.map(x => x.id), want);
  assert(l.body.items.every(x => x.phone === '139****5678'), 'masked');
  const un = await api(S.url, 'GET', `/api/v1/responsibles?region=${P.grid}&unmask=1`, { token: T.command });
  eq(un.status, 200, un.text);
  assert(un.body.items.length === 2 && un.body.items.every(x => x.phone === '13912345678'), un.text);
  eq(q(`SELECT count(*) FROM audit_log WHERE action = 'responsible.reveal'`), '1');
  // paging
  const p1 = await api(S.url, 'GET', `/api/v1/responsibles?limit=2`, { token: T.command });
  const p2 = await api(S.url, 'GET', `/api/v1/responsibles?limit=2&cursor=${p1.body.next_cursor}`, { token: T.command });
  eq([...p1.body.items, ...p2.body.items].map(x => x.id), RESP.map(x => x.id).sort((a, b) => a - b).slice(0, 4));
  // the grid user reads its own grid; cannot add
  const g = await api(S.url, 'GET', '/api/v1/responsibles', { token: T.grid });
  eq(g.body.items.map(x => x.name).sort(), ['民警丁', '民警戊'].sort());
  await refused(403, () => api(S.url, 'POST', '/api/v1/responsibles', { token: T.grid, body: { region: P.grid, role: 'doctor', name: 'x' } }));
  await refused(400, () => api(S.url, 'GET', '/api/v1/responsibles?unmask=yes', { token: T.grid }), /unmask/);
  await refused(404, () => api(S.url, 'GET', `/api/v1/responsibles?region=${Q.grid}`, { token: T.grid }));
  await refused(400, () => api(S.url, 'GET', `/api/v1/responsibles?role=mayor`, { token: T.command }), /role/);
  const post = body => api(S.url, 'POST', '/api/v1/responsibles', { token: T.command, body });
  const ok = { region: P.grid, role: 'doctor', name: '新医生', phone: '13800000000' };
  await refused(400, () => post({ ...ok, region: undefined }), /region/);
  await refused(400, () => post({ ...ok, region: '999999' }), /region/);
  await refused(400, () => post({ ...ok, region: 'abc' }), /region/);
  await refused(400, () => post({ ...ok, region: '11' }), /region/); // outside the command's scope
  await refused(400, () => post({ ...ok, region: 12 }), /region/);
  await refused(400, () => post({ ...ok, role: 'mayor' }), /role/);
  await refused(400, () => post({ ...ok, role: undefined }), /role/);
  await refused(400, () => post({ ...ok, name: '' }), /name/);
  await refused(400, () => post({ ...ok, name: 'x'.repeat(65) }), /name/);
  await refused(400, () => post({ ...ok, phone: '12ab' }), /phone/);
  await refused(400, () => post({ ...ok, username: 'nobody' }), /username/);
  await refused(400, () => post({ ...ok, extra: 1 }), /extra/);
  await refused(409, () => post({ region: P.grid, role: 'police', name: '民警丁' }), /duplicate/);
});

test('activation: each role takes the deepest responsible, unassigned shows null, tasks due per the policy', async () => {
  O.P = proposed(P, 'home_isolation');
  O.Q = proposed(Q, 'home_monitoring');
  O.C = proposed(C, 'central');
  await confirm([O.P, O.Q, O.C]);
  for (const [o, who] of [[O.P, P], [O.Q, Q], [O.C, C]]) {
    const got = Object.fromEntries(q(`SELECT role, coalesce(responsible_id, 'null') FROM order_responsibles WHERE order_id = ${o}`).split('\n').map(l => { const [r, id] = l.split('|'); return [r, id === 'null' ? null : +id]; }));
    const sorted = x => Object.keys(x).sort().map(k => [k, x[k]]);
    eq(sorted(got), sorted(expectedResp(who.grid)), `responsibles of order ${o}`);
  }
  const exp = expectedResp(P.grid);
  eq(exp.grid_worker, null, 'the fixture leaves grid_worker unassigned');
  const g = await api(S.url, 'GET', `/api/v1/orders/${O.P}`, { token: T.command });
  eq(g.status, 200, g.text);
  const gw = g.body.responsibles.find(x => x.role === 'grid_worker');
  eq(gw.name, null);
  eq(g.body.responsibles.find(x => x.role === 'town_cadre').name, '镇干部乙');
  // home orders: one task per role; the central order: one transfer task
  const duty = { town_cadre: '统筹', village_cadre: '生活保障', police: '安全管控', doctor: '健康监测', grid_worker: '上门告知' };
  for (const [o, who] of [[O.P, P], [O.Q, Q]]) {
    const rows = q(`SELECT kind, person_id, region_code, due_at, assignee_role, coalesce(responsible_id, 'null'), note, ref_id FROM tasks WHERE order_id = ${o} AND kind LIKE 'wubao_%' ORDER BY kind`).split('\n');
    const want = Object.keys(duty).sort().map(role => [`wubao_${role}`, who.id, who.grid, NOW + CTRL_HOURS * 3600, role, expectedResp(who.grid)[role] ?? 'null', duty[role], o].join('|'));
    eq(rows, want, `tasks of order ${o}`);
  }
  eq(q(`SELECT count(*) FROM tasks WHERE order_id = ${O.C} AND kind LIKE 'wubao_%'`), '0');
  const tr = q(`SELECT kind, person_id, due_at, assignee_role, ref_id FROM tasks WHERE order_id = ${O.C} AND kind = 'transfer'`);
  eq(tr, ['transfer', C.id, NOW + CTRL_HOURS * 3600, '', O.C].join('|'));
  const site = q(`SELECT coalesce((SELECT s.region_code FROM stays y JOIN iso_rooms r ON r.id = y.room_id JOIN iso_sites s ON s.id = r.site_id WHERE y.order_id = ${O.C}), '${C.grid}')`);
  eq(q(`SELECT region_code FROM tasks WHERE order_id = ${O.C} AND kind = 'transfer'`), site);
  // the task list shows the due time as the grid sees it
  const tl = await api(S.url, 'GET', `/api/v1/tasks?kind=wubao_police&region=${P.grid}`, { token: T.command });
  eq(tl.status, 200, tl.text);
  eq(tl.body.items.map(x => x.due_at), [iso(NOW + CTRL_HOURS * 3600)]);
});

test('checks by staff: isolation and grid roles, at defaults to now, slot per the local day', async () => {
  const a = await check(O.P, { temp_c: 36.6, symptoms: ['cough', 'fatigue'] });
  eq(a.status, 201, a.text);
  eq([a.body.at, a.body.slot, a.body.temp_c, a.body.symptoms, a.body.fever, a.body.by_role, a.body.order_id], [iso(NOW), slotOf(NOW), 36.6, ['cough', 'fatigue'], false, 'isolation', O.P]);
  const b = await check(O.P, { temp_c: 36.9, at: iso(NOW - 3600) }, T.grid);
  eq(b.status, 201, b.text);
  eq([b.body.at, b.body.slot, b.body.by_role, b.body.symptoms], [iso(NOW - 3600), slotOf(NOW - 3600), 'grid', []]);
  eq(q(`SELECT person_id, at, slot, temp_dc, symptoms, by_role, by_user FROM health_checks WHERE id = ${a.body.id}`), [P.id, NOW, slotOf(NOW), 366, 'cough,fatigue', 'isolation', 'iso.staff'].join('|'));
  eq(q(`SELECT count(*) FROM audit_log WHERE action = 'order.check' AND object = 'order:${O.P}'`), '2');
  const l = await api(S.url, 'GET', `/api/v1/orders/${O.P}/checks`, { token: T.grid });
  eq(l.status, 200, l.text);
  eq(l.body.items.map(x => [x.id, x.temp_c]), [[b.body.id, 36.9], [a.body.id, 36.6]]);
  const l1 = await api(S.url, 'GET', `/api/v1/orders/${O.P}/checks?limit=1`, { token: T.grid });
  const l2 = await api(S.url, 'GET', `/api/v1/orders/${O.P}/checks?limit=1&cursor=${l1.body.next_cursor}`, { token: T.grid });
  eq([l1.body.items[0].id, l2.body.items[0].id, l2.body.next_cursor], [b.body.id, a.body.id, null]);
});

test('checks by the person and a household member; refused for a non-member and a central order', async () => {
  const s = await me('cP', { temp_c: 36.5 });
  eq(s.status, 201, s.text);
  eq([s.body.by_role, s.body.person_id, s.body.order_id], ['self', P.id, O.P]);
  const h = await me('cM', { person_id: P.id, temp_c: 36.7, symptoms: ['sore_throat'] });
  eq(h.status, 201, h.text);
  eq([h.body.by_role, h.body.person_id, h.body.order_id, h.body.symptoms], ['household', P.id, O.P, ['sore_throat']]);
  await refused(404, () => me('cN', { person_id: P.id, temp_c: 36.5 }));
  await refused(404, () => me('cM', { temp_c: 36.5 })); // M has no order
  await refused(404, () => me('cC', { temp_c: 36.5 })); // a central order: staff check
  await refused(404, () => me('cP', { person_id: 999999999, temp_c: 36.5 }));
  await refused(403, () => api(S.url, 'POST', '/api/v1/me/checks', { token: T.grid, body: { temp_c: 36.5 } }));
  const t = await api(S.url, 'GET', `/api/v1/persons/${P.id}/orders`, { token: T.command });
  if (t.status === 200) {
    const o = t.body.orders.find(x => x.id === O.P);
    assert(o.checks.some(c => c.by_role === 'household' && c.symptoms[0] === 'sore_throat'), JSON.stringify(o.checks));
  }
});

test(`fever (>= ${FEVER}): alert, order event and the code's fever rule; just below: none`, async () => {
  const alerts = () => +q(`SELECT count(*) FROM alerts WHERE kind = 'fever' AND person_id = ${Q.id}`);
  const below = await check(O.Q, { temp_c: Math.round(FEVER * 10 - 1) / 10 });
  eq([below.status, below.body.fever, alerts()], [201, false, 0], below.text);
  const f = await check(O.Q, { temp_c: FEVER, symptoms: ['fever'] });
  eq(f.status, 201, f.text);
  eq(f.body.fever, true);
  eq(q(`SELECT kind, region_code, at, detail FROM alerts WHERE kind = 'fever' AND person_id = ${Q.id}`), ['fever', Q.grid, now, `${FEVER.toFixed(1)}°C 发热 (隔离观察中)`].join('|'));
  eq(q(`SELECT count(*) FROM order_events WHERE order_id = ${O.Q} AND kind = 'fever' AND at = ${now}`), '1');
  const c = await api(S.url, 'GET', `/api/v1/persons/${Q.idn}/code`, { token: T.command });
  eq(c.status, 200, c.text);
  assert(['yellow', 'red'].includes(c.body.colour), c.text);
  assert(c.body.rules.some(x => x.rule === 'fever'), JSON.stringify(c.body.rules));
});

test('bad input for every field is refused and changes nothing', async () => {
  await refused(400, () => check(O.P, {}), /temp_c/);
  await refused(400, () => check(O.P, { temp_c: '36.6' }), /temp_c/);
  await refused(400, () => check(O.P, { temp_c: 29.9 }), /temp_c/);
  await refused(400, () => check(O.P, { temp_c: 45.1 }), /temp_c/);
  await refused(400, () => check(O.P, { temp_c: 36.6, symptoms: 'cough' }), /symptoms/);
  await refused(400, () => check(O.P, { temp_c: 36.6, symptoms: ['cough', 'headache'] }), /symptoms/);
  await refused(400, () => check(O.P, { temp_c: 36.6, symptoms: [1] }), /symptoms/);
  await refused(400, () => check(O.P, { temp_c: 36.6, symptoms: ['cough', 'cough'] }), /symptoms/);
  await refused(400, () => check(O.P, { temp_c: 36.6, at: 'yesterday' }), /at/);
  await refused(400, () => check(O.P, { temp_c: 36.6, at: iso(now + 60) }), /future/);
  await refused(400, () => check(O.P, { temp_c: 36.6, at: iso(NOW - 3 * DAY) }), /before/);
  await refused(400, () => check(O.P, { temp_c: 36.6, mood: 'ok' }), /mood/);
  await refused(400, () => me('cP', { temp_c: 36.6, at: iso(now) }), /at/);
  await refused(400, () => me('cP', { temp_c: 36.6, person_id: 'P' }), /person_id/);
  await refused(400, () => me('cP', { temp_c: 36.6, person_id: 0 }), /person_id/);
  await refused(400, () => me('cP', { symptoms: [] }), /temp_c/);
  await refused(404, () => check('abc', { temp_c: 36.6 }));
  await refused(404, () => check(999999, { temp_c: 36.6 }));
  await refused(404, () => check(O.P, { temp_c: 36.6 }, T.gridQ)); // out of scope
  await refused(403, () => check(O.P, { temp_c: 36.6 }, T.tracer)); // no PERM_CHECKS
  const pend = proposed(N, 'home_isolation');
  await refused(409, () => check(pend, { temp_c: 36.6 }, T.grid), /not_active/);
  await refused(404, () => api(S.url, 'GET', `/api/v1/orders/${O.P}/checks`, { token: T.gridQ }));
  await refused(400, () => api(S.url, 'GET', `/api/v1/orders/${O.P}/checks?cursor=zz`, { token: T.grid }));
});

async function until(fn, what) {
  for (let i = 0; i < 150; i++) { const v = fn(); if (v) return v; await new Promise(r => setTimeout(r, 100)); }
  throw new Error('timed out waiting for ' + what);
}
const missed = s => q(`SELECT order_id || ':' || region_code || ':' || due_at || ':' || status FROM tasks WHERE kind = 'check_missed' AND ref_id = ${s} ORDER BY order_id`);

test('a slot that ended without a check under an order active all through it: one check_missed task, once', async () => {
  // afternoon slot of day NOW: P gets a check in it, R is activated in its middle
  const s1 = slotOf(NOW) + 1, s1start = slotStart(s1), s1end = slotStart(s1 + 1);
  assert(s1start > NOW, 'the fixture starts in the morning slot');
  setClock(s1start + 3600);
  O.R = proposed(R, 'home_monitoring');
  await confirm([O.R]);
  const pc = await check(O.P, { temp_c: 36.4 }, T.grid);
  eq([pc.status, pc.body.slot], [201, s1], pc.text);
  // the slot ends: Q and C had no check in it, R was not active all through it
  setClock(s1end + 5);
  await relogin();
  const want = [[O.Q, Q.grid], [O.C, q(`SELECT region_code FROM tasks WHERE order_id = ${O.C} AND kind = 'transfer'`)]]
    .sort((a, b) => a[0] - b[0]).map(([o, r]) => `${o}:${r}:${s1end + 7200}:open`).join('\n');
  await until(() => missed(s1) === want, `missed tasks of slot ${s1}: ${missed(s1)}`);
  // the morning slot: every order was activated at 10:00, in its middle
  eq(missed(slotOf(NOW)), '');
  eq(q(`SELECT person_id || ':' || created_at FROM tasks WHERE kind = 'check_missed' AND order_id = ${O.Q}`), `${Q.id}:${s1end + 5}`);
  // more ticks of the server, then a tick of the command line that forgot what was done
  await new Promise(r => setTimeout(r, 2200));
  q(`DELETE FROM meta WHERE key = 'control.checks_done_until'`);
  fk(['control', 'tick', '--db', S.db, '--at', iso(now)], { env: S.env });
  eq(missed(s1), want, 'still one task per order and slot');
  eq(q(`SELECT count(*) FROM tasks WHERE kind = 'check_missed'`), '2');
  // a late check for the slot settles its task
  const late = await check(O.Q, { temp_c: 36.5, at: iso(s1end - 60) }, T.iso);
  eq([late.status, late.body.slot], [201, s1], late.text);
  eq(q(`SELECT status || ':' || done_by FROM tasks WHERE kind = 'check_missed' AND ref_id = ${s1} AND order_id = ${O.Q}`), 'done:iso.staff');
  // the next slot: all four orders were active all through it, no checks
  const s2 = s1 + 1, s2end = slotStart(s2 + 1);
  setClock(s2end + 1);
  await relogin();
  await until(() => missed(s2).split('\n').filter(Boolean).length === 4, `missed tasks of slot ${s2}: ${missed(s2)} / ${q(`SELECT id, status, activated_at, start_at, planned_end, ended_at, end_reason FROM orders`)} / ${q(`SELECT * FROM meta WHERE key LIKE 'control%'`)} ${s2end} / ${S.log().slice(-500)}`);
  eq(missed(s2).split('\n').map(l => +l.split(':')[0]), [O.P, O.Q, O.C, O.R].sort((a, b) => a - b));
});

test('fangkong responsible add and import (rejects file, exit codes)', async () => {
  const e = { env: S.env };
  const out = fk(['responsible', 'add', '--db', S.db, '--region', Q.grid, '--role', 'grid_worker', '--name', '网格员庚', '--phone', '13700000000'], e);
  assert(/responsible \d+/.test(out), out);
  eq(q(`SELECT role || ':' || region_code FROM responsibles WHERE name = '网格员庚'`), `grid_worker:${Q.grid}`);
  let rc = 0;
  try { fk(['responsible', 'add', '--db', S.db, '--region', Q.grid, '--role', 'mayor', '--name', 'x'], e); } catch (x) { rc = x.status; }
  eq(rc, 2);
  const csv = join(dir, 'resp.csv');
  writeFileSync(csv, `region_code,role,name,phone\n${Q.grid},doctor,医生辛,13600000000\n${Q.grid},wizard,巫师,\n999999,police,民警,\n${Q.grid},doctor,医生辛,13600000000\n`);
  rc = 0;
  try { fk(['responsible', 'import', csv, '--db', S.db], e); } catch (x) { rc = x.status; }
  eq(rc, 3);
  const rej = readFileSync(csv + '.rejects.csv', 'utf8').trim().split('\n');
  eq(rej.length, 3, rej.join('\n'));
  assert(rej[1].startsWith('3,role,') && rej[2].startsWith('4,region_code,'), rej.join('\n'));
  eq(q(`SELECT count(*) FROM responsibles WHERE name = '医生辛'`), '1');
  assert(existsSync(csv + '.rejects.csv'));
});

await run();
