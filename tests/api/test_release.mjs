// Release of orders at their planned end, over HTTP with a clock the test
// moves (FANGKONG_NOW=@file; the server ticks every second): release at
// orig_end with every required test negative and the second phase at that
// second, extension when a test is pending or missing (and release at the
// first tick after the missing negative arrives), a positive blocking
// release, days already past at activation not required, the secondary
// contact's rule on the linked close contact's first N tests, and the
// differences between protocol 8, 9 and the 20 measures.  Every expected
// time, day and colour is computed here from the policy files
// (tests/lib/policy_ini.mjs), never from the server.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, run, startServer, api, eq, assert, createUser } from '../lib/harness.mjs';
import { loadPolicy, policyMeasures } from '../lib/policy_ini.mjs';

const DAY = 86400, H = 3600;
const iso = t => new Date((t + 8 * H) * 1000).toISOString().replace(/\.\d{3}Z$/, '+08:00');
const unix = s => Date.parse(s) / 1000;
const A = unix('2022-03-01T00:00:00+08:00'); // the case is confirmed
const NOW0 = A + 2 * H;                      // orders proposed and confirmed
const sleep = ms => new Promise(r => setTimeout(r, ms));

function q(db, query) {
  return execFileSync('sqlite3', ['-batch', '-noheader', '-separator', '|', '-cmd', '.timeout 10000', db, query],
    { encoding: 'utf8' }).trim();
}

async function waitFor(what, fn, ms = 8000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// A server under `policy` with a movable clock, a case and its contacts
// (rows written here), orders proposed and confirmed through the API.
async function world(policy, seed) {
  const M = policyMeasures(loadPolicy(policy));
  const cdir = mkdtempSync(join(tmpdir(), 'fk-clock-'));
  const clock = join(cdir, 'now');
  let now = NOW0;
  writeFileSync(clock, String(now));
  const S = await startServer({ persons: 1200, seed, policy, env: { FANGKONG_NOW: '@' + clock } });
  const setClock = t => {
    if (t < now) throw new Error(`clock backwards: ${iso(t)} < ${iso(now)}`);
    now = t;
    writeFileSync(clock, String(t));
  };
  const login = async (u, p) => (await api(S.url, 'POST', '/api/v1/sessions', { body: { username: u, password: p } })).body.token;
  const admin = await login('admin', S.adminPassword);
  const people = q(S.db, 'SELECT id, id_number, grid_code, coalesce(household_id, -id) FROM persons ORDER BY id')
    .split('\n').map(l => { const [id, idn, grid, hh] = l.split('|'); return { id: +id, idn, grid, hh: +hh }; });
  const seen = new Set(), pick = [];
  for (const p of people) if (!seen.has(p.hh)) { seen.add(p.hh); pick.push(p); }
  const scope = pick[0].grid.slice(0, 4);
  const county = q(S.db, `SELECT code FROM regions WHERE length(code) = 6 AND code LIKE '${scope}%' ORDER BY code LIMIT 1`);
  // sessions expire while the clock moves by days: log in again on 401
  const tokens = {
    command: await createUser(S, admin, { username: 'command.r', role: 'command', scope }),
    tester: await createUser(S, admin, { username: 'tester.r', role: 'tester', scope }),
    lab: await createUser(S, admin, { username: 'lab.r', role: 'lab', scope }),
  };
  const call = async (who, method, path, body) => {
    let r = await api(S.url, method, path, { token: tokens[who], body });
    if (r.status === 401) {
      tokens[who] = await login(`${who}.r`, 'own-password-1');
      r = await api(S.url, method, path, { token: tokens[who], body });
    }
    return r;
  };
  const site = await call('command', 'POST', '/api/v1/sites', { code: 'REL-1', name: '释放测试采样点', region: county, capacity_per_hour: 1000, opens: '00:00', closes: '24:00' });
  assert(site.status === 201, site.text);
  return { S, M, call, pick, setClock, clock: () => now };
}

// contacts rows of a new case of person c: [{p, degree, exposure, via}]
async function caseWithContacts(W, c, contacts) {
  const db = W.S.db;
  q(db, `INSERT INTO cases(person_id, classification, onset_at, chain_id, created_at, created_by)
    VALUES (${c.id}, 'confirmed', ${A - DAY}, (SELECT coalesce(max(chain_id), 0) + 1 FROM cases), ${A}, 'test')`);
  const cid = +q(db, `SELECT id FROM cases WHERE person_id = ${c.id}`);
  for (const k of contacts)
    q(db, `INSERT INTO contacts(person_id, case_id, degree, exposure_at, via_person, venue_id, household, found_at)
      VALUES (${k.p.id}, ${cid}, ${k.degree}, ${k.exposure}, ${k.via ? k.via.id : 'NULL'}, NULL, 0, ${A + H})`);
  const r = await W.call('command', 'POST', '/api/v1/orders/propose', { case_id: cid });
  assert(r.status === 200, r.text);
  eq(r.body.proposed, contacts.length, 'proposed');
  const c2 = await W.call('command', 'POST', '/api/v1/orders/confirm', { case_id: cid });
  assert(c2.status === 200, c2.text);
  eq(c2.body.activated, contacts.length, 'activated');
  const orders = {};
  for (const k of contacts)
    orders[k.p.id] = +q(db, `SELECT id FROM orders WHERE person_id = ${k.p.id} AND case_id = ${cid} AND phase = 1`);
  return { cid, orders };
}

// The expected schedule of a phase starting at start under measure m.
const phase = (m, start, second = false) => {
  const days = second ? m.thenTestDays : m.testDays;
  return {
    start, end: start + (second ? m.thenDays : m.days) * DAY,
    kind: second ? m.thenKind : m.kind,
    tests: days.map(d => ({ day: d, ws: start + (d - 1) * DAY, we: start + d * DAY })),
  };
};

// A timeline of actions at clock times, played in time order.
function timeline(W) {
  const ev = [];
  let seq = 0, tube = 0;
  const T = {
    at(t, fn) { ev.push({ t, seq: seq++, fn }); },
    // a single-tube sample at t; its result (if any) at rt
    sample(p, t, result, rt) {
      const code = `REL-${p.id}-${++tube}`;
      T.at(t, async () => {
        const r = await W.call('tester', 'POST', '/api/v1/samples', { tube: code, id_number: p.idn, site: 'REL-1' });
        assert(r.status === 201, `sample ${code}: ${r.text}`);
      });
      if (result) T.at(rt, async () => {
        const r = await W.call('lab', 'POST', '/api/v1/results', { tube: code, result });
        assert(r.status === 201, `result ${code}: ${r.text}`);
      });
      return code;
    },
    async play() {
      ev.sort((a, b) => a.t - b.t || a.seq - b.seq);
      for (const e of ev) { W.setClock(e.t); await e.fn(); }
    },
  };
  return T;
}

const sampleTime = d => Math.max(d.ws + 2 * H, NOW0 + 600);
const orderRow = (W, id) => {
  const [status, planned, orig, ended, reason] = q(W.S.db, `SELECT status, planned_end, orig_end, coalesce(ended_at, 0), end_reason FROM orders WHERE id = ${id}`).split('|');
  return { status, planned: +planned, orig: +orig, ended: +ended, reason };
};
const events = (W, id, kind) => q(W.S.db, `SELECT at || '|' || actor || '|' || detail FROM order_events WHERE order_id = ${id} AND kind = '${kind}' ORDER BY id`)
  .split('\n').filter(Boolean).map(l => { const [at, actor, ...d] = l.split('|'); return { at: +at, actor, detail: d.join('|') }; });
const code = async (W, pid) => (await W.call('command', 'GET', `/api/v1/persons/${pid}/code`)).body.colour;
const colourOf = (M, kind) => kind === 'home_monitoring' ? M.colours.home_monitoring : M.colours.isolation;
const child = (W, id) => {
  const r = q(W.S.db, `SELECT id, kind, category, phase, start_at, planned_end, status FROM orders WHERE prev_order = ${id} AND phase = 2`);
  if (!r) return null;
  const [cid, kind, category, ph, start, end, status] = r.split('|');
  return { id: +cid, kind, category, phase: +ph, start: +start, end: +end, status };
};
const testsOf = (W, id) => q(W.S.db, `SELECT day, window_start, window_end, required, coalesce(result, '') FROM order_tests WHERE order_id = ${id} ORDER BY day`)
  .split('\n').filter(Boolean).map(l => { const [day, ws, we, req, res] = l.split('|'); return { day: +day, ws: +ws, we: +we, required: +req, result: res }; });

// ---- the common part of every policy: all negative, and a missing day ----
async function commonScenario(policy, seed) {
  const W = await world(policy, seed);
  const { M } = W;
  const [c, p1, p3] = W.pick;
  const close = { p1: phase(M.close, A - H), p3: phase(M.close, A - 3 * H) };
  const { orders } = await caseWithContacts(W, c, [
    { p: p1, degree: 1, exposure: close.p1.start },
    { p: p3, degree: 1, exposure: close.p3.start },
  ]);
  const T = timeline(W);
  const obs = {};
  for (const d of close.p1.tests) T.sample(p1, sampleTime(d), 'negative', sampleTime(d) + H);
  const skip = close.p3.tests[Math.floor(close.p3.tests.length / 2)].day;
  for (const d of close.p3.tests) if (d.day !== skip) T.sample(p3, sampleTime(d), 'negative', sampleTime(d) + H);
  const two = M.close.thenKind !== 'none' ? phase(M.close, close.p1.end, true) : null;
  if (two) for (const d of two.tests) T.sample(p1, d.ws + 2 * H, 'negative', d.ws + 3 * H);
  T.at(close.p1.end - 1, async () => { obs.p1Before = await waitFor('red before the end', async () => { const c0 = await code(W, p1.id); return c0 === colourOf(M, M.close.kind) && c0; }); });
  // the clock skips the end itself: the tick half an hour later still ends
  // the order at orig_end (its results were all known by then)
  T.at(close.p1.end + 1800, async () => {
    await waitFor('p1 released', () => orderRow(W, orders[p1.id]).status === 'completed');
    obs.p1 = orderRow(W, orders[p1.id]);
    obs.p1Child = child(W, orders[p1.id]);
    obs.p1ChildTests = obs.p1Child && testsOf(W, obs.p1Child.id);
    obs.p1After = two ? await waitFor('phase 2 colour', async () => { const c0 = await code(W, p1.id); return c0 === colourOf(M, two.kind) && c0; }) : null;
  });
  T.at(close.p3.end, async () => {
    await waitFor('p3 extended', () => events(W, orders[p3.id], 'extended').length === 1);
    obs.p3 = orderRow(W, orders[p3.id]);
    obs.p3Ev = events(W, orders[p3.id], 'extended');
  });
  T.at(close.p3.end + M.recheckHours * H, async () => {
    await waitFor('p3 extended again', () => events(W, orders[p3.id], 'extended').length === 2);
    obs.p3b = orderRow(W, orders[p3.id]);
  });
  if (two) T.at(two.end, async () => {
    const id = obs.p1Child.id;
    await waitFor('phase 2 released', () => orderRow(W, id).status === 'completed');
    obs.two = orderRow(W, id);
    obs.twoAfter = await waitFor('green', async () => { const c0 = await code(W, p1.id); return c0 === 'green' && c0; });
  });
  return { W, M, orders, close, two, skip, T, obs, p1, p3 };
}

function commonTests(policy, seed) {
  let X;
  test(`${policy}: orders, test days and required flags follow the policy`, async () => {
    X = await commonScenario(policy, seed);
    for (const [who, ph] of [[X.p1, X.close.p1], [X.p3, X.close.p3]]) {
      const t = testsOf(X.W, X.orders[who.id]);
      eq(t.map(r => [r.day, r.ws, r.we, r.required]), ph.tests.map(d => [d.day, d.ws, d.we, d.we > NOW0 ? 1 : 0]));
      const o = orderRow(X.W, X.orders[who.id]);
      eq([o.status, o.planned, o.orig], ['active', ph.end, ph.end]);
      // one order_test task per required day, due at the window's end
      eq(q(X.W.S.db, `SELECT t.ref_id || ':' || t.due_at FROM tasks t WHERE t.kind = 'order_test' AND t.order_id = ${X.orders[who.id]} ORDER BY t.due_at`).split('\n').filter(Boolean),
        testsOf(X.W, X.orders[who.id]).filter(r => r.required).map(r => `${q(X.W.S.db, `SELECT id FROM order_tests WHERE order_id = ${X.orders[who.id]} AND day = ${r.day}`)}:${r.we}`));
    }
    await X.T.play();
  });
  test(`${policy}: all required tests negative -> released at exactly orig_end`, async () => {
    eq([X.obs.p1.status, X.obs.p1.reason, X.obs.p1.ended], ['completed', 'released', X.close.p1.end]);
    eq(X.obs.p1Before, colourOf(X.M, X.M.close.kind));
    eq(testsOf(X.W, X.orders[X.p1.id]).filter(r => r.required).map(r => r.result), X.close.p1.tests.filter(d => d.we > NOW0).map(() => 'negative'));
    // every test task done by the system
    eq(q(X.W.S.db, `SELECT DISTINCT status || ':' || done_by FROM tasks WHERE kind = 'order_test' AND order_id = ${X.orders[X.p1.id]}`), 'done:system');
  });
  test(`${policy}: the second phase starts at that second with its test days`, async () => {
    if (!X.two) { eq(X.obs.p1Child, null); return; }
    const c = X.obs.p1Child;
    eq([c.kind, c.category, c.phase, c.start], [X.two.kind, 'close', 2, X.two.start]);
    eq(c.end, X.two.end);
    eq(X.obs.p1ChildTests.map(r => [r.day, r.ws, r.we, r.required]), X.two.tests.map(d => [d.day, d.ws, d.we, 1]));
    eq(X.obs.p1After, colourOf(X.M, X.two.kind));
    eq([X.obs.two.status, X.obs.two.reason, X.obs.two.ended], ['completed', 'released', X.two.end]);
    eq(X.obs.twoAfter, 'green');
  });
  test(`${policy}: a missing test day extends by release_recheck_hours, again at the new end`, async () => {
    const rh = X.M.recheckHours * H;
    eq([X.obs.p3.status, X.obs.p3.planned, X.obs.p3.orig], ['active', X.close.p3.end + rh, X.close.p3.end]);
    eq([X.obs.p3Ev[0].at, X.obs.p3Ev[0].actor], [X.close.p3.end, 'system']);
    assert(X.obs.p3Ev[0].detail.includes(`第${X.skip}天`), X.obs.p3Ev[0].detail);
    eq([X.obs.p3b.status, X.obs.p3b.planned], ['active', X.close.p3.end + 2 * rh]);
    eq(child(X.W, X.orders[X.p3.id]), null);
  });
  return () => X;
}

// ---- protocol 9 only: pending result, positive, past days, secondary ----
let Y;
test('protocol-9: pending, positive, past days and the secondary rule', async () => {
  const W = await world('protocol-9', 23);
  const { M } = W;
  const [c, p2, p4, p5, L, S1, P1, S2] = W.pick;
  const ph = {
    p2: phase(M.close, A - 2 * H), p4: phase(M.close, A - 4 * H), p5: phase(M.close, NOW0 - 2 * DAY - 12 * H),
    L: phase(M.close, A - H), P1: phase(M.close, A - 30 * 60), S1: phase(M.secondary, A + H), S2: phase(M.secondary, A + 30 * 60),
  };
  const { orders } = await caseWithContacts(W, c, [
    { p: p2, degree: 1, exposure: ph.p2.start }, { p: p4, degree: 1, exposure: ph.p4.start },
    { p: p5, degree: 1, exposure: ph.p5.start }, { p: L, degree: 1, exposure: ph.L.start },
    { p: P1, degree: 1, exposure: ph.P1.start },
    { p: S1, degree: 2, exposure: ph.S1.start, via: L }, { p: S2, degree: 2, exposure: ph.S2.start, via: P1 },
  ]);
  const T = timeline(W);
  const obs = { required5: testsOf(W, orders[p5.id]).map(r => r.required) };
  const neg = (p, tests) => { for (const d of tests) if (d.we > NOW0) T.sample(p, sampleTime(d), 'negative', sampleTime(d) + H); };
  // p2: the last day's result comes 5 h after orig_end
  const last = ph.p2.tests.at(-1);
  neg(p2, ph.p2.tests.slice(0, -1));
  const late = ph.p2.end + 5 * H;
  T.sample(p2, sampleTime(last), 'negative', late);
  T.at(sampleTime(last) + 60, async () => {
    const row = await waitFor('pending row', () => q(W.S.db, `SELECT coalesce(sampled_at, 0) || '|' || coalesce(result, 'NULL') FROM order_tests WHERE order_id = ${orders[p2.id]} AND day = ${last.day} AND sampled_at IS NOT NULL`));
    obs.pendingRow = row;
    obs.pendingTask = q(W.S.db, `SELECT t.status || ':' || t.done_by FROM tasks t JOIN order_tests ot ON ot.id = t.ref_id WHERE t.kind = 'order_test' AND ot.order_id = ${orders[p2.id]} AND ot.day = ${last.day}`);
  });
  T.at(ph.p2.end, async () => {
    await waitFor('p2 extended', () => events(W, orders[p2.id], 'extended').length === 1);
    obs.p2Ext = orderRow(W, orders[p2.id]);
    obs.p2Ev = events(W, orders[p2.id], 'extended')[0];
  });
  T.at(late, async () => {
    await waitFor('p2 released', () => orderRow(W, orders[p2.id]).status === 'completed');
    obs.p2 = orderRow(W, orders[p2.id]);
    obs.p2Child = child(W, orders[p2.id]);
  });
  // p4: a positive single tube on its second test day
  const pos = ph.p4.tests[1];
  for (const d of ph.p4.tests) T.sample(p4, sampleTime(d), d === pos ? 'positive' : 'negative', sampleTime(d) + H);
  T.at(ph.p4.end, async () => {
    await waitFor('p4 extended', () => events(W, orders[p4.id], 'extended').length === 1);
    obs.p4 = orderRow(W, orders[p4.id]);
    obs.p4Ev = events(W, orders[p4.id], 'extended')[0];
    obs.p4Row = testsOf(W, orders[p4.id]).find(r => r.day === pos.day).result;
  });
  // p5: days already past at activation are not required
  neg(p5, ph.p5.tests);
  T.at(ph.p5.end, async () => {
    await waitFor('p5 released', () => orderRow(W, orders[p5.id]).status === 'completed');
    obs.p5 = orderRow(W, orders[p5.id]);
  });
  // L: the Nth of its first N tests has its result only after S1's end
  const N = M.secondary.closeNegatives;
  const lateL = ph.S1.end + 3 * H;
  const nth = N > 0 ? ph.L.tests[N - 1] : null;
  for (const d of ph.L.tests) {
    if (d === nth) T.sample(L, sampleTime(d), 'negative', lateL);
    else T.sample(L, sampleTime(d), 'negative', sampleTime(d) + H);
  }
  neg(P1, ph.P1.tests);
  neg(S1, ph.S1.tests);
  neg(S2, ph.S2.tests);
  T.at(ph.S2.end, async () => {
    await waitFor('S2 released', () => orderRow(W, orders[S2.id]).status === 'completed');
    obs.S2 = orderRow(W, orders[S2.id]);
  });
  T.at(ph.S1.end, async () => {
    await waitFor('S1 extended', () => events(W, orders[S1.id], 'extended').length === 1);
    obs.S1Ext = orderRow(W, orders[S1.id]);
    obs.S1Ev = events(W, orders[S1.id], 'extended')[0];
  });
  T.at(lateL, async () => {
    await waitFor('S1 released', () => orderRow(W, orders[S1.id]).status === 'completed');
    obs.S1 = orderRow(W, orders[S1.id]);
    obs.L = orderRow(W, orders[L.id]);
    obs.S1Child = child(W, orders[S1.id]);
  });
  await T.play();
  Y = { W, M, ph, obs, orders, last, late, lateL, N, pos, people: { p2, p4, p5, L, S1, S2 } };
});

test('protocol-9: a sample without result closes the task and leaves the result empty', () => {
  const [sampled, result] = Y.obs.pendingRow.split('|');
  eq([+sampled, result], [sampleTime(Y.last), 'NULL']);
  eq(Y.obs.pendingTask, 'done:system');
});

test('protocol-9: a pending result at orig_end extends; the negative releases at that tick', () => {
  const rh = Y.M.recheckHours * H;
  eq([Y.obs.p2Ext.status, Y.obs.p2Ext.planned], ['active', Y.ph.p2.end + rh]);
  assert(Y.obs.p2Ev.detail.includes(`第${Y.last.day}天`), Y.obs.p2Ev.detail);
  eq([Y.obs.p2.status, Y.obs.p2.reason, Y.obs.p2.ended], ['completed', 'released', Y.late]);
  const two = Y.M.close.thenKind !== 'none' ? phase(Y.M.close, Y.late, true) : null;
  eq(Y.obs.p2Child && [Y.obs.p2Child.kind, Y.obs.p2Child.start, Y.obs.p2Child.end], two && [two.kind, two.start, two.end]);
});

test('protocol-9: a positive result blocks release', () => {
  eq(Y.obs.p4Row, 'positive');
  eq([Y.obs.p4.status, Y.obs.p4.planned], ['active', Y.ph.p4.end + Y.M.recheckHours * H]);
  assert(Y.obs.p4Ev.detail.includes('阳性'), Y.obs.p4Ev.detail);
  eq(child(Y.W, Y.orders[Y.people.p4.id]), null);
});

test('protocol-9: days already past at activation are not required; release at orig_end', () => {
  eq(Y.obs.required5, Y.ph.p5.tests.map(d => (d.we > NOW0 ? 1 : 0)));
  assert(Y.obs.required5.includes(0), 'some day was already past');
  eq(+q(Y.W.S.db, `SELECT count(*) FROM tasks WHERE kind = 'order_test' AND order_id = ${Y.orders[Y.people.p5.id]}`), Y.obs.required5.filter(Boolean).length);
  eq([Y.obs.p5.status, Y.obs.p5.reason, Y.obs.p5.ended], ['completed', 'released', Y.ph.p5.end]);
});

test('protocol-9: a secondary contact waits for the linked close contact\'s first N tests', () => {
  assert(Y.N > 0, 'protocol 9 has the rule');
  // S2's linked close contact had its first N negative in time: released at orig_end
  eq([Y.obs.S2.status, Y.obs.S2.reason, Y.obs.S2.ended], ['completed', 'released', Y.ph.S2.end]);
  // S1's own tests were negative, the link's Nth was pending: extended, then released
  eq([Y.obs.S1Ext.status, Y.obs.S1Ext.planned], ['active', Y.ph.S1.end + Y.M.recheckHours * H]);
  assert(Y.obs.S1Ev.detail.includes('关联密接'), Y.obs.S1Ev.detail);
  eq([Y.obs.S1.status, Y.obs.S1.reason, Y.obs.S1.ended], ['completed', 'released', Y.lateL]);
  eq(Y.obs.S1Child, Y.M.secondary.thenKind === 'none' ? null : Y.obs.S1Child);
  // the close contact itself was extended at its end and released at the same tick
  eq([Y.obs.L.status, Y.obs.L.ended], ['completed', Y.lateL]);
});

commonTests('protocol-9', 41);
commonTests('protocol-8', 43);
commonTests('protocol-9-20', 47);

await run();
