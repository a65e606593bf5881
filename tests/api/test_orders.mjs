// Orders over HTTP: proposal from a case's recorded contacts, bulk
// confirmation, codes after activation, cancel/extend/release with audited
// reasons, became_case and the upgrade of a secondary contact, scope,
// masking and bad input.  Expected proposals come from SQL over the
// contacts table and the policy file's values (read here from the ini),
// never from the server under test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, run, api, sql, eq, assert, createUser, ROOT } from '../lib/harness.mjs';
import { startCityWithCheckins, iso, unix } from '../lib/cases_fixture.mjs';

const DAY = 86400;
// the measures of protocol-9 as its file says
function ini(path) {
  const out = {};
  let sec = '';
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const l = raw.replace(/;.*/, '').trim();
    if (!l) continue;
    const m = l.match(/^\[(.+)\]$/);
    if (m) { sec = m[1]; out[sec] = {}; continue; }
    const [k, v] = l.split('=').map(s => s.trim());
    out[sec][k] = v;
  }
  return out;
}
const P = ini(join(ROOT, 'policy', 'protocol-9.ini'));
const measure = sec => ({ kind: P[sec].kind, days: +P[sec].days, tests: P[sec].test_days.split(',').map(s => s.trim()).filter(Boolean).map(Number) });
const CLOSE = measure('close_contact'), SEC = measure('secondary_contact');

const T0 = unix('2022-01-10T10:00:00+08:00');
const NOW = '2022-01-12T12:00:00+08:00';
const now = unix(NOW);

let F;
const S = await startCityWithCheckins({
  persons: 1500, seed: 31, now: NOW, policy: 'protocol-9',
  build: db => {
    const Pp = sql(db, `SELECT id, id_number, coalesce(household_id, 0), grid_code FROM persons ORDER BY id`)
      .split('\n').map(l => { const [id, idn, hh, grid] = l.split('|'); return { id: +id, idn, hh: +hh, grid }; });
    const V = sql(db, `SELECT k.id, v.code FROM venue_keys k JOIN venues v ON v.code = k.code ORDER BY k.id LIMIT 4`)
      .split('\n').map(l => { const [id, code] = l.split('|'); return { id: +id, code }; });
    const size = new Map();
    for (const p of Pp) if (p.hh) size.set(p.hh, (size.get(p.hh) || 0) + 1);
    const c = Pp.find(p => p.hh && size.get(p.hh) >= 3);
    const used = new Set([c.hh]), sp = [];
    // near and q live alone in their households' sense: other households
    for (const p of Pp) if (sp.length < 6 && p.hh && !used.has(p.hh) && size.get(p.hh) === 1) { used.add(p.hh); sp.push(p); }
    for (const p of Pp) if (sp.length < 6 && p.hh && !used.has(p.hh)) { used.add(p.hh); sp.push(p); }
    const [near, q, v2, v3, v4, v5] = sp;
    F = { c, near, q, venues: [v2, v3, v4, v5], P: Pp };
    const [A, B, , Dv] = V;
    const rows = [];
    const add = (p, v, t) => rows.push({ id_number: p.idn, venue_code: v.code, t });
    add(c, A, T0); add(c, B, T0 + 3 * 3600);
    add(near, A, T0 + 600);
    add(v2, A, T0 + 900); add(v3, B, T0 + 3 * 3600 + 300); add(v4, B, T0 + 3 * 3600 - 600);
    add(v5, A, T0 - 1200);
    add(near, Dv, T0 + 7200); add(q, Dv, T0 + 7300); // q: secondary through near
    return rows;
  },
});

const login = async (username, password) => (await api(S.url, 'POST', '/api/v1/sessions', { body: { username, password } })).body.token;
const admin = await login('admin', S.adminPassword);
const command = await createUser(S, admin, { username: 'command.city', role: 'command', scope: '6109' });
const tracer = await createUser(S, admin, { username: 'tracer.city', role: 'tracer', scope: '6109' });
const gridUser = await createUser(S, admin, { username: 'grid.near', role: 'grid', scope: F.near.grid });
const get = (path, token = command) => api(S.url, 'GET', path, { token });
const post = (path, body, token = command) => api(S.url, 'POST', path, { token, body });

// expected proposals of case cid from the contacts table and the policy
function expected(cid) {
  const iso_at = +sql(S.db, `SELECT coalesce(isolated_at, 0) FROM cases WHERE id = ${cid}`);
  const rows = sql(S.db, `SELECT person_id, degree, exposure_at, coalesce(via_person, 0), household, found_at
    FROM contacts WHERE case_id = ${cid} ORDER BY person_id`).split('\n').filter(Boolean).map(l => l.split('|').map(Number));
  const out = [];
  for (const [pid, degree, exp, via, hh, found] of rows) {
    const m = degree === 1 ? CLOSE : SEC;
    const start = hh ? (iso_at && iso_at < found ? iso_at : found) : exp;
    const end = start + m.days * DAY;
    if (end <= now) continue;
    out.push([pid, degree === 1 ? 'close' : 'secondary', m.kind, start, end, degree === 2 ? via : 0]);
  }
  return out;
}
const ordersOf = cid => sql(S.db, `SELECT person_id, category, kind, start_at, planned_end, coalesce(link_person, 0)
  FROM orders WHERE case_id = ${cid} AND status = 'proposed' ORDER BY person_id`).split('\n').filter(Boolean)
  .map(l => l.split('|').map((x, i) => (i === 1 || i === 2 ? x : Number(x))));

let case1, exp1;
test('a case proposes an order per recorded contact, start and end from the policy', async () => {
  const r = await post('/api/v1/cases', { id_number: F.c.idn, onset_at: iso(T0 + DAY), isolated_at: iso(now - 3600) }, tracer);
  eq(r.status, 201, r.text);
  case1 = r.body.id;
  exp1 = expected(case1);
  assert(exp1.length >= 6, `contacts: ${exp1.length}`);
  assert(exp1.some(e => e[1] === 'secondary' && e[0] === F.q.id), 'q is a secondary contact through near');
  // household members start at the case's isolation (before they were found)
  const hh = exp1.filter(e => F.P.find(p => p.id === e[0]).hh === F.c.hh);
  assert(hh.length >= 2 && hh.every(e => e[3] === now - 3600), 'household starts at isolated_at');
  eq(ordersOf(case1), exp1);
  const pv = sql(S.db, `SELECT DISTINCT policy_version FROM orders WHERE case_id = ${case1}`);
  assert(/^protocol-9@[0-9a-f]{12}$/.test(pv), pv);
  eq(+sql(S.db, `SELECT count(*) FROM order_events e JOIN orders o ON o.id = e.order_id WHERE o.case_id = ${case1} AND e.kind = 'proposed'`), exp1.length);
});

test('proposing again proposes nothing (idempotent)', async () => {
  const r = await post('/api/v1/orders/propose', { case_id: case1 });
  eq(r.status, 200, r.text);
  eq(r.body.proposed, 0);
  eq(r.body.skipped, +sql(S.db, `SELECT count(*) FROM contacts WHERE case_id = ${case1}`));
  eq(sql(S.db, `SELECT actor FROM audit_log WHERE action = 'order.propose' AND object = 'case:${case1}'`), 'command.city');
  eq(ordersOf(case1), exp1);
});

test('the list filters by case, status and category and pages with a cursor', async () => {
  const seen = [];
  let cursor = null;
  do {
    const r = await get(`/api/v1/orders?case=${case1}&status=proposed&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    eq(r.status, 200, r.text);
    assert(r.body.items.length <= 2);
    seen.push(...r.body.items);
    cursor = r.body.next_cursor;
  } while (cursor);
  eq(seen.map(o => o.person.id).sort((a, b) => a - b), exp1.map(e => e[0]));
  const one = seen.find(o => o.person.id === F.near.id);
  eq(one.start_at, iso(T0 + 600));
  eq(one.planned_end, iso(T0 + 600 + CLOSE.days * DAY));
  eq(one.kind, CLOSE.kind);
  eq(one.kind_zh, '集中隔离医学观察');
  eq(one.status, 'proposed');
  assert(/^\d{6}\*+[\dX]{4}$/.test(one.person.id_number), `masked: ${one.person.id_number}`);
  const sec = await get(`/api/v1/orders?case=${case1}&category=secondary`);
  eq(sec.body.items.map(o => [o.person.id, o.link_person.id]), exp1.filter(e => e[1] === 'secondary').map(e => [e[0], e[5]]));
});

test('GET one order: tests as stored, events, masking unless unmask=1', async () => {
  const id = +sql(S.db, `SELECT id FROM orders WHERE case_id = ${case1} AND person_id = ${F.near.id}`);
  const r = await get(`/api/v1/orders/${id}`);
  eq(r.status, 200, r.text);
  eq(r.body.events.map(e => e.kind), ['proposed']);
  const days = sql(S.db, `SELECT day FROM order_tests WHERE order_id = ${id} ORDER BY day`).split('\n').filter(Boolean).map(Number);
  eq(r.body.tests.map(t => t.day), days);
  eq(r.body.stay, null);
  const idn = sql(S.db, `SELECT id_number FROM persons WHERE id = ${F.near.id}`);
  assert(r.body.person.id_number !== idn);
  const u = await get(`/api/v1/orders/${id}?unmask=1`);
  eq(u.body.person.id_number, idn);
  eq(sql(S.db, `SELECT count(*) FROM audit_log WHERE action = 'order.reveal' AND object = 'order:${id}'`), '1');
});

test('bulk confirm of the close contacts: active, codes show the order', async () => {
  const close = exp1.filter(e => e[1] === 'close');
  const r = await post('/api/v1/orders/confirm', { case_id: case1, category: 'close' });
  eq(r.status, 200, r.text);
  eq(r.body.activated, close.length);
  eq(r.body.already, 0);
  eq(r.body.refused, []);
  eq(r.body.assigned + r.body.queued <= close.length, true);
  eq(sql(S.db, `SELECT person_id FROM orders WHERE case_id = ${case1} AND status = 'active' ORDER BY person_id`),
    close.map(e => e[0]).join('\n'));
  eq(+sql(S.db, `SELECT count(*) FROM orders WHERE case_id = ${case1} AND status = 'active' AND activated_at = ${now} AND activated_by = 'command.city'`), close.length);
  const code = await get(`/api/v1/persons/${F.near.id}/code`);
  eq(code.status, 200, code.text);
  eq(code.body.colour, 'red');
  assert(code.body.rules.some(x => x.rule === 'order'), JSON.stringify(code.body.rules));
  // the rest (secondary) by ids; an unknown id and an active one are reported
  const ids = sql(S.db, `SELECT id FROM orders WHERE case_id = ${case1} AND status = 'proposed' ORDER BY id`).split('\n').filter(Boolean).map(Number);
  const act = +sql(S.db, `SELECT id FROM orders WHERE case_id = ${case1} AND status = 'active' LIMIT 1`);
  const r2 = await post('/api/v1/orders/confirm', { ids: [...ids, act, 99999999] });
  eq(r2.status, 200, r2.text);
  eq(r2.body.activated, ids.length);
  eq(r2.body.already, 1);
  eq(r2.body.refused, [{ id: 99999999, code: 'not_found' }]);
  const qcode = await get(`/api/v1/persons/${F.q.id}/code`);
  assert(qcode.body.rules.some(x => x.rule === 'order'), 'q is under an order');
  assert(+sql(S.db, `SELECT count(*) FROM audit_log WHERE action = 'order.confirm'`) >= 2);
});

test('extend, release and cancel need reasons, are audited, and refuse wrong states', async () => {
  const [a, b] = sql(S.db, `SELECT id FROM orders WHERE case_id = ${case1} AND status = 'active' AND category = 'close' AND person_id <> ${F.near.id} ORDER BY id LIMIT 2`).split('\n').map(Number);
  const until = now + 10 * DAY;
  let r = await post(`/api/v1/orders/${a}/extend`, { until: iso(until) });
  eq(r.status, 400); assert(r.body.error.message.includes('reason'), r.text);
  r = await post(`/api/v1/orders/${a}/extend`, { reason: '复核' });
  eq(r.status, 400); assert(r.body.error.message.includes('until'), r.text);
  r = await post(`/api/v1/orders/${a}/extend`, { reason: '复核', until: iso(now - 60) });
  assert(r.status === 400 || r.status === 422, r.text); assert(r.body.error.message.includes('until'), r.text);
  r = await post(`/api/v1/orders/${a}/extend`, { reason: '密接复核', until: iso(until) });
  eq(r.status, 200, r.text);
  eq(r.body.planned_end, iso(until));
  eq(r.body.orig_end, iso(+sql(S.db, `SELECT start_at FROM orders WHERE id = ${a}`) + CLOSE.days * DAY));
  eq(+sql(S.db, `SELECT planned_end FROM orders WHERE id = ${a}`), until);
  eq(r.body.events.at(-1).kind, 'extended');
  assert(sql(S.db, `SELECT detail FROM audit_log WHERE action = 'order.extend' AND object = 'order:${a}'`).includes('密接复核'));
  r = await post(`/api/v1/orders/${a}/release`, { reason: '解除' });
  eq(r.status, 200, r.text);
  eq(r.body.status, 'completed'); eq(r.body.end_reason, 'released_early'); eq(r.body.ended_at, NOW);
  eq(sql(S.db, `SELECT detail FROM audit_log WHERE action = 'order.release' AND object = 'order:${a}'`), '解除');
  r = await post(`/api/v1/orders/${a}/release`, { reason: '再次' });
  eq(r.status, 409); eq(r.body.error.code, 'not_active');
  r = await post(`/api/v1/orders/${a}/cancel`, { reason: '再次' });
  eq(r.status, 409); eq(r.body.error.code, 'not_active');
  r = await post(`/api/v1/orders/${b}/cancel`, { reason: '误判' });
  eq(r.status, 200, r.text);
  eq([r.body.status, r.body.end_reason], ['cancelled', 'cancelled']);
  eq(sql(S.db, `SELECT count(*) FROM tasks WHERE order_id = ${b} AND status = 'open'`), '0');
  eq(sql(S.db, `SELECT detail FROM audit_log WHERE action = 'order.cancel' AND object = 'order:${b}'`), '误判');
  r = await post(`/api/v1/orders/${b}/extend`, { reason: 'x', until: iso(until) });
  eq(r.status, 409);
  r = await post(`/api/v1/orders/99999999/cancel`, { reason: 'x' });
  eq(r.status, 404);
  r = await post(`/api/v1/orders/abc/cancel`, { reason: 'x' });
  eq(r.status, 404);
});

test('bad input names the field', async () => {
  const cases = [
    [{}, /ids|case_id/], [{ ids: 'x' }, /ids/], [{ ids: [0] }, /ids/], [{ ids: [1], case_id: case1 }, /ids|case_id/],
    [{ case_id: 'a' }, /case_id/], [{ case_id: case1, category: 'nope' }, /category/],
  ];
  for (const [body, re] of cases) {
    const r = await post('/api/v1/orders/confirm', body);
    eq(r.status, 400, JSON.stringify(body) + ' ' + r.text);
    assert(re.test(r.body.error.message), r.text);
  }
  let r = await post('/api/v1/orders/confirm', { ids: Array.from({ length: 10001 }, (_, i) => i + 1) });
  eq(r.status, 400);
  r = await post('/api/v1/orders/propose', {});
  eq(r.status, 400); assert(r.body.error.message.includes('case_id'));
  r = await post('/api/v1/orders/propose', { case_id: 99999999 });
  eq(r.status, 404);
  r = await post('/api/v1/orders/confirm', { case_id: 99999999 });
  eq(r.status, 404);
  for (const q of ['status=x', 'category=x', 'kind=x', 'case=x', 'queued=2', 'limit=501', 'region=abc'])
    eq((await get(`/api/v1/orders?${q}`)).status, 400, q);
  r = await get('/api/v1/orders/99999999');
  eq(r.status, 404);
  const grid = await post('/api/v1/orders/confirm', { case_id: case1 }, gridUser);
  eq(grid.status, 403);
});

test('scope: a grid user sees only its grid\'s orders', async () => {
  const r = await get('/api/v1/orders?limit=500', gridUser);
  eq(r.status, 200, r.text);
  const want = sql(S.db, `SELECT o.id FROM orders o JOIN persons p ON p.id = o.person_id
    WHERE p.grid_code LIKE '${F.near.grid}%' ORDER BY o.id`).split('\n').filter(Boolean).map(Number);
  eq(r.body.items.map(o => o.id), want);
  const out = +sql(S.db, `SELECT o.id FROM orders o JOIN persons p ON p.id = o.person_id WHERE p.grid_code NOT LIKE '${F.near.grid}%' LIMIT 1`);
  eq((await get(`/api/v1/orders/${out}`, gridUser)).status, 404);
  const pOut = +sql(S.db, `SELECT person_id FROM orders WHERE id = ${out}`);
  eq((await get(`/api/v1/persons/${pOut}/orders`, gridUser)).status, 404);
  // a command user of another county: the order is refused as out of scope
  const county = sql(S.db, `SELECT code FROM regions WHERE level = 3 AND code <> substr('${F.near.grid}', 1, 6) ORDER BY code LIMIT 1`);
  const other = await createUser(S, admin, { username: 'command.other', role: 'command', scope: county });
  const inNear = +sql(S.db, `SELECT o.id FROM orders o JOIN persons p ON p.id = o.person_id WHERE p.grid_code LIKE '${F.near.grid}%' LIMIT 1`);
  const r2 = await post('/api/v1/orders/confirm', { ids: [inNear] }, other);
  eq(r2.status, 200, r2.text);
  eq(r2.body.refused, [{ id: inNear, code: 'out_of_scope' }]);
  eq((await get(`/api/v1/orders/${inNear}`, other)).status, 404);
  eq((await post(`/api/v1/orders/${inNear}/cancel`, { reason: 'x' }, other)).status, 404);
});

test('became_case: the person\'s order ends, the secondary contact through them is upgraded', async () => {
  const before = sql(S.db, `SELECT id, start_at FROM orders WHERE person_id = ${F.q.id} AND category = 'secondary' AND status = 'active'`).split('|').map(Number);
  assert(before[0] > 0, 'q has an active secondary order');
  const nearOrder = +sql(S.db, `SELECT id FROM orders WHERE person_id = ${F.near.id} AND status = 'active'`);
  const r = await post('/api/v1/cases', { id_number: F.near.idn, first_positive_at: iso(now - 3600) }, tracer);
  eq(r.status, 201, r.text);
  const case2 = r.body.id;
  const created = +sql(S.db, `SELECT created_at FROM cases WHERE id = ${case2}`);
  eq(sql(S.db, `SELECT status, end_reason, ended_at FROM orders WHERE id = ${nearOrder}`), `completed|became_case|${created}`);
  eq(sql(S.db, `SELECT status, end_reason, ended_at FROM orders WHERE id = ${before[0]}`), `completed|upgraded|${now}`);
  const up = sql(S.db, `SELECT category, status, case_id, start_at, planned_end, kind, activated_at FROM orders WHERE prev_order = ${before[0]}`);
  eq(up, `close|active|${case2}|${before[1]}|${before[1] + CLOSE.days * DAY}|${CLOSE.kind}|${now}`);
  const tl = await get(`/api/v1/persons/${F.q.id}/orders`);
  eq(tl.status, 200, tl.text);
  eq(tl.body.orders.map(o => [o.category, o.status, o.end_reason]), [['secondary', 'completed', 'upgraded'], ['close', 'active', '']]);
  eq(tl.body.orders[1].prev_order, before[0]);
  assert(Array.isArray(tl.body.orders[0].checks) && Array.isArray(tl.body.orders[0].events));
  const ntl = await get(`/api/v1/persons/${F.near.id}/orders`);
  eq(ntl.body.cases.map(c => c.id), [case2]);
  // the new case's contacts got proposals only where no order lasts as long
  for (const e of expected(case2)) {
    if (+sql(S.db, `SELECT count(*) FROM cases WHERE person_id = ${e[0]}`)) continue; // cases get no order
    const has = +sql(S.db, `SELECT count(*) FROM orders WHERE person_id = ${e[0]} AND case_id = ${case2}`);
    const longer = +sql(S.db, `SELECT count(*) FROM orders WHERE person_id = ${e[0]} AND (case_id IS NOT ${case2}) AND status IN ('proposed','active') AND planned_end >= ${e[4]}`);
    eq(has + longer >= 1, true, `contact ${e[0]}`);
  }
});

test('GET /api/v1/me/orders: the citizen\'s own timeline, actors as staff/system', async () => {
  const c = await api(S.url, 'POST', '/api/v1/users', { token: admin, body: { username: 'citizen.q', role: 'citizen', person: F.q.idn, password: 'initial-citizen-q-0' } });
  eq(c.status, 201, c.text);
  const s = await api(S.url, 'POST', '/api/v1/sessions', { body: { username: 'citizen.q', password: 'initial-citizen-q-0' } });
  await api(S.url, 'POST', '/api/v1/me/password', { token: s.body.token, body: { old_password: 'initial-citizen-q-0', new_password: 'own-password-1' } });
  const r = await get('/api/v1/me/orders', s.body.token);
  eq(r.status, 200, r.text);
  eq(r.body.person.id, F.q.id);
  eq(r.body.orders.length, 2);
  const actors = new Set(r.body.orders.flatMap(o => o.events.map(e => e.actor)));
  for (const a of actors) assert(a === 'staff' || a === 'system', a);
  eq((await get('/api/v1/orders', s.body.token)).status, 403);
});

await run();
