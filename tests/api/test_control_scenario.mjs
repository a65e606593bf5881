// The control loop end to end over HTTP (issue 7, section 8), under
// protocol 8, protocol 9 and the 20 measures, each on a fresh small
// generated city whose clock is a file the test moves (FANGKONG_NOW=@file;
// the server's control tick runs every second on that clock).
//
// In each run: an isolation site with rooms, the five responsible people,
// a sampling site; a case confirmed with a household and venue contacts
// (check-ins this test constructs: two close contacts near1 and near2 who
// each later met one more person, q1 and q2, their secondary contacts);
// then
//   - the proposals, for every close and secondary contact, with exactly the
//     start, planned end and kind the policy file and the contacts table
//     give (computed here from tests/lib/policy_ini.mjs and SQL);
//   - bulk confirmation, the test days of every order, the order_test
//     tasks on the policy days, the five responsible people;
//   - codes red/yellow at the right second (found_at, activation, release);
//   - negative results through the testing API on every required test day
//     of near1 and q1, release at orig_end, the second phase, green at its
//     end; an untested household contact extended at its orig_end;
//   - a positive of near2 during isolation: candidate -> case -> linked in
//     the chain; near2's orders end (became_case), the secondary contacts
//     who came through near2 are upgraded to close contacts, and the new
//     case's contacts are proposed by the skip rule.
// At the end the three runs are compared: durations, test days and the
// handling of secondary contacts differ exactly as the three files say.
//
// Every expectation is computed here from the ini files and from base
// tables (contacts, cases, orders, order_tests, tasks, responsibles); the
// server's answers are only compared with them.
import { writeFileSync, renameSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, run, api, sql, eq, assert, createUser, onCleanup } from '../lib/harness.mjs';
import { startCityWithCheckins, iso, unix } from '../lib/cases_fixture.mjs';
import { loadPolicy, policyMeasures } from '../lib/policy_ini.mjs';

const DAY = 86400, H = 3600;
const ROLES = ['town_cadre', 'village_cadre', 'police', 'doctor', 'grid_worker'];
const DUTY = { town_cadre: '统筹', village_cadre: '生活保障', police: '安全管控', doctor: '健康监测', grid_worker: '上门告知' };
const sleep = ms => new Promise(r => setTimeout(r, ms));

// retries fn until it stops throwing (the tick runs every second)
async function eventually(fn, ms = 6000) {
  const end = Date.now() + ms;
  for (;;) {
    try { return await fn(); } catch (e) { if (Date.now() > end) throw e; }
    await sleep(150);
  }
}

const rows = (db, q) => sql(db, q).split('\n').filter(Boolean).map(l => l.split('|'));
const num = v => (v === '' || v === undefined ? null : Number(v));

const observed = {}; // per policy name: what the run saw, for the final comparison

function scenario(policyName, seed) {
  const ini = loadPolicy(policyName);
  const P = policyMeasures(ini);
  const tag = policyName;
  const NOW0 = unix('2022-07-10T12:00:00+08:00');
  const Tc1 = NOW0 - 28 * H, Tc2 = Tc1 + 3 * H;
  const ONSET = NOW0 - 20 * H, ISOLATED = NOW0 - 2 * H;
  const colourOf = kind => (kind === 'home_monitoring' ? P.colours.home_monitoring : P.colours.isolation);
  const measureOf = cat => (cat === 'close' ? P.close : P.secondary);

  const X = { errors: {} }; // the run's state
  const fail = (topic, e) => { (X.errors[topic] ||= []).push(e && e.message ? e.message.split('\n').slice(0, 3).join(' / ') : String(e)); };
  async function check(topic, fn) { try { await fn(); } catch (e) { fail(topic, e); } }
  const noErrors = topic => { const e = X.errors[topic] || []; if (e.length) throw new Error(`${e.length} failed:\n  ${e.join('\n  ')}`); };

  let S, cmd, tester, clockFile, clock;
  const setClock = t => {
    if (clock !== undefined && t < clock) throw new Error(`the clock would go back from ${iso(clock)} to ${iso(t)}`);
    writeFileSync(clockFile + '.tmp', String(t));
    renameSync(clockFile + '.tmp', clockFile);
    clock = t;
  };
  // a session lives a fixed time on the server's clock, which this test
  // moves by days: a user whose session ran out logs in again
  async function call(method, path, body, who) {
    for (let attempt = 0; ; attempt++) {
      const r = await api(S.url, method, path, { token: who.token, body });
      if (r.status !== 401 || attempt) return r;
      const s = await api(S.url, 'POST', '/api/v1/sessions', { body: { username: who.username, password: who.password } });
      assert(s.status === 201, `log in again as ${who.username}: ${s.status} ${s.text}`);
      who.token = s.body.token;
    }
  }
  const get = (path, who = cmd) => call('GET', path, undefined, who);
  const post = (path, body, who = cmd) => call('POST', path, body, who);
  const q = query => rows(S.db, query);
  const colour = async (pid, at) => {
    const r = await get(`/api/v1/persons/${pid}/code${at !== undefined ? `?at=${encodeURIComponent(iso(at))}` : ''}`);
    assert(r.status === 200, `code of ${pid}: ${r.status} ${r.text}`);
    return r.body.colour;
  };
  const order = id => {
    const [r] = q(`SELECT id, person_id, kind, category, phase, case_id, link_person, status, start_at, planned_end, orig_end,
      ended_at, end_reason, activated_at, prev_order FROM orders WHERE id = ${id}`);
    if (!r) return null;
    const [oid, person, kind, category, phase, caseId, link, status, start, planned, orig, ended, reason, activated, prev] = r;
    return { id: +oid, person: +person, kind, category, phase: +phase, caseId: num(caseId), link: num(link), status,
      start: +start, planned: +planned, orig: num(orig), ended: num(ended), reason, activated: num(activated), prev: num(prev) };
  };
  const ordersOf = where => q(`SELECT id FROM orders WHERE ${where} ORDER BY id`).map(r => order(+r[0]));
  async function allOrders(query) {
    const items = [];
    let cursor = null, pages = 0;
    do {
      const r = await get(`/api/v1/orders?${query}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert(r.status === 200, `GET /api/v1/orders?${query}: ${r.status} ${r.text}`);
      items.push(...r.body.items);
      cursor = r.body.next_cursor;
      if (++pages > 50) throw new Error('paging does not end');
    } while (cursor);
    return items;
  }

  // the start rule of the contract's Meanings, from a contacts row
  function expectedStart(c, kase) {
    if (!c.household) return c.exposure;
    // a household member of the case: exposed until the case was taken
    // away.  A household member of a close contact (degree 2) was exposed
    // to that contact, not to the case: the case's isolation says nothing
    // about them, so their start is when they were found.
    if (c.degree === 1 && kase.isolated !== null && kase.isolated < c.found) return kase.isolated;
    return c.found;
  }
  const contactsOf = caseId => q(`SELECT person_id, degree, exposure_at, household, found_at, coalesce(via_person, '')
      FROM contacts WHERE case_id = ${caseId} ORDER BY person_id`)
    .map(([p, d, e, h, f, v]) => ({ person: +p, degree: +d, exposure: +e, household: +h, found: +f, via: num(v) }));
  const caseRow = id => {
    const [[pid, created, iso_at, chain]] = q(`SELECT person_id, created_at, coalesce(isolated_at, ''), chain_id FROM cases WHERE id = ${id}`);
    return { id, person: +pid, created: +created, isolated: num(iso_at), chain: +chain };
  };
  // what proposing for case k at time now must give, given the orders that
  // exist besides the ones the proposal made (the skip rule)
  function expectedProposals(k, now, existing) {
    const kase = caseRow(k);
    const isCase = new Set(q('SELECT person_id FROM cases').map(r => +r[0]));
    const out = [];
    for (const c of contactsOf(k)) {
      const cat = c.degree === 1 ? 'close' : 'secondary';
      const m = measureOf(cat);
      if (m.kind === 'none' || m.days === 0) continue;
      const start = expectedStart(c, kase), planned = start + m.days * DAY;
      if (planned <= now || isCase.has(c.person)) continue;
      if (existing.some(o => o.person === c.person && (o.status === 'proposed' || o.status === 'active') && o.planned >= planned)) continue;
      out.push({ person: c.person, category: cat, kind: m.kind, start, planned, link: cat === 'secondary' ? c.via : null });
    }
    return out.sort((a, b) => a.person - b.person);
  }
  const testDays = (o, m) => (o.phase === 1 ? m.testDays : m.thenTestDays);
  function expectedTests(o, activatedAt) {
    const m = measureOf(o.category);
    return testDays(o, m).map(d => {
      const ws = o.start + (d - 1) * DAY, we = o.start + d * DAY;
      return [d, ws, we, we > activatedAt ? 1 : 0];
    });
  }
  const testsOf = oid => q(`SELECT day, window_start, window_end, required FROM order_tests WHERE order_id = ${oid} ORDER BY day`).map(r => r.map(Number));
  // the responsible of each role for a grid: the longest region prefix, smallest id
  function expectedResponsibles(grid) {
    const rs = q('SELECT id, region_code, role, name FROM responsibles ORDER BY id').map(([id, region, role, name]) => ({ id: +id, region, role, name }));
    const out = {};
    for (const role of ROLES) {
      let best = null;
      for (const r of rs) if (r.role === role && grid.startsWith(r.region) && (!best || r.region.length > best.region.length)) best = r;
      out[role] = best;
    }
    return out;
  }
  const gridOf = pid => sql(S.db, `SELECT grid_code FROM persons WHERE id = ${pid}`);

  // one sample into a single tube, with its result
  let tubeSeq = 0;
  async function sampleAndResult(person, result, { waitTask } = {}) {
    const tube = `${tag.replace(/[^A-Za-z0-9]/g, '')}-${String(++tubeSeq).padStart(4, '0')}`;
    const b = await post('/api/v1/tubes', { tube, site: 'SCN-S1', pool_size: 1 }, tester);
    assert(b.status === 201, `bind ${tube}: ${b.status} ${b.text}`);
    const s = await post('/api/v1/samples', { tube, id_number: person.idn }, tester);
    assert(s.status === 201, `sample ${person.id} into ${tube}: ${s.status} ${s.text}`);
    eq(sql(S.db, `SELECT sampled_at FROM samples WHERE person_id = ${person.id} AND tube_id = (SELECT id FROM tubes WHERE code = '${tube}')`),
      String(clock), 'the sample is taken at the clock\'s time');
    if (waitTask) await waitTask();
    const r = await post('/api/v1/results', { tube, result }, tester);
    assert(r.status === 201, `result of ${tube}: ${r.status} ${r.text}`);
    return tube;
  }

  // ---------------------------------------------------------------- setup
  test(`${tag}: a city, the users, an isolation site with rooms, the five responsible people, a sampling site`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fk-clock-'));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    clockFile = join(dir, 'clock');
    setClock(NOW0);
    S = await startCityWithCheckins({
      persons: 3000, seed, now: iso(NOW0), policy: policyName, env: { FANGKONG_NOW: '@' + clockFile },
      build: db => {
        const periodic = new Set(P.periodic);
        const people = rows(db, `SELECT p.id, p.id_number, p.household_id, p.grid_code, p.occupation,
            (SELECT count(*) FROM persons x WHERE x.household_id = p.household_id) FROM persons p ORDER BY p.id`)
          .map(([id, idn, hh, grid, occ, n]) => ({ id: +id, idn, hh: +hh, grid, occ, n: +n }));
        const byHh = new Map();
        for (const p of people) { if (!byHh.has(p.hh)) byHh.set(p.hh, []); byHh.get(p.hh).push(p); }
        const plain = p => !periodic.has(p.occ) && byHh.get(p.hh).every(m => !periodic.has(m.occ));
        const counts = new Map();
        for (const p of people) counts.set(p.grid.slice(0, 6), (counts.get(p.grid.slice(0, 6)) || 0) + 1);
        const county = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];
        const used = new Set();
        const pick = pred => { const p = people.find(x => !used.has(x.hh) && pred(x)); assert(p, 'the city has such a person'); used.add(p.hh); return p; };
        const c = pick(p => p.grid.startsWith(county) && p.n >= 3 && plain(p));
        const near1 = pick(p => p.grid.startsWith(county) && p.n >= 2 && plain(p));
        const near2 = pick(p => p.n >= 2 && plain(p));
        const q1 = pick(p => p.n === 1 && plain(p));
        const q2 = pick(p => p.n === 1 && plain(p));
        const crowd = [];
        for (let i = 0; i < 6; i++) crowd.push(pick(() => true));
        const V = rows(db, 'SELECT k.id, v.code FROM venue_keys k JOIN venues v ON v.code = k.code ORDER BY k.id LIMIT 6').map(([id, code]) => ({ id: +id, code }));
        const [A, B, , D, E] = V;
        Object.assign(X, { county, c, near1, near2, q1, q2, crowd, A, B, D, E, household: byHh.get(c.hh).filter(m => m.id !== c.id) });
        const out = [];
        const add = (p, v, t) => out.push({ id_number: p.idn, venue_code: v.code, t });
        add(c, A, Tc1); add(c, B, Tc2);
        add(near1, A, Tc1 + 600); add(near1, D, Tc1 + 5 * H); add(q1, D, Tc1 + 5 * H + 100);
        add(near2, B, Tc2 + 300); add(near2, E, Tc2 + 4 * H); add(q2, E, Tc2 + 4 * H + 100);
        const offsets = [-1500, -600, 120, 900, 1500, -60];
        crowd.forEach((p, i) => add(p, i % 2 ? B : A, (i % 2 ? Tc2 : Tc1) + offsets[i]));
        return out;
      },
    });
    const admin = (await api(S.url, 'POST', '/api/v1/sessions', { body: { username: 'admin', password: S.adminPassword } })).body.token;
    cmd = { username: 'command.city', password: 'own-password-1' };
    cmd.token = await createUser(S, admin, { username: cmd.username, role: 'command', scope: '6109', password: cmd.password });
    tester = { username: 'tester.city', password: 'own-password-1' };
    tester.token = await createUser(S, admin, { username: tester.username, role: 'tester', scope: '6109', password: tester.password });
    const pol = await get('/api/v1/policy');
    eq(pol.body.name, policyName, 'the server runs the policy of this run');

    const site = await post('/api/v1/isolation/sites', { name: `${tag}隔离点`, region: X.county, address: '城东路1号', floors: 5, rooms_per_floor: 20, bathroom: true });
    eq(site.status, 201, site.text);
    X.site = site.body.id;
    eq(q(`SELECT count(*), min(number), max(number), sum(status = 'ready') FROM iso_rooms WHERE site_id = ${X.site}`)[0], ['100', '101', '520', '100']);

    for (const role of ROLES) {
      const r = await post('/api/v1/responsibles', { region: X.county, role, name: `县${DUTY[role]}甲`, phone: '13800000001' });
      eq(r.status, 201, r.text);
    }
    // a second town cadre of the county (the smaller id wins the tie) and
    // a grid worker of near1's own grid (the longer prefix wins)
    eq((await post('/api/v1/responsibles', { region: X.county, role: 'town_cadre', name: '县统筹乙' })).status, 201);
    eq((await post('/api/v1/responsibles', { region: X.near1.grid, role: 'grid_worker', name: '本网格员' })).status, 201);
    eq(sql(S.db, 'SELECT count(*) FROM responsibles'), '7');

    const ss = await post('/api/v1/sites', { code: 'SCN-S1', name: '隔离点采样点', region: X.county, capacity_per_hour: 1000, opens: '00:00', closes: '24:00' });
    eq(ss.status, 201, ss.text);
  });

  // ------------------------------------------------------- the case
  test(`${tag}: a confirmed case; its contacts are recorded; codes change at found_at, not a second earlier`, async () => {
    const r = await post('/api/v1/cases', { id_number: X.c.idn, onset_at: iso(ONSET), isolated_at: iso(ISOLATED), found_where: '发热门诊' });
    eq(r.status, 201, r.text);
    X.case1 = r.body;
    X.kase1 = caseRow(r.body.id);
    eq(X.kase1.created, NOW0);
    const cs = contactsOf(X.case1.id);
    const by = new Map(cs.map(c => [c.person, c]));
    for (const p of [X.near1, X.near2, ...X.household]) eq(by.get(p.id)?.degree, 1, `${p.id} is a close contact`);
    eq(by.get(X.near1.id).exposure, Tc1 + 600);
    eq(X.household.every(h => by.get(h.id).household === 1), true, 'household members are household contacts');
    if (P.secondaryContacts) {
      eq([by.get(X.q1.id)?.degree, by.get(X.q1.id)?.via], [2, X.near1.id], 'q1 came through near1');
      eq([by.get(X.q2.id)?.degree, by.get(X.q2.id)?.via], [2, X.near2.id], 'q2 came through near2');
    } else {
      eq(cs.filter(c => c.degree === 2).length, 0, 'no secondary contacts under this policy');
    }
    eq(cs.every(c => c.found === NOW0), true, 'found when the case was added');
    X.h1 = X.household[0];
    // the close contact's code: green a second before found_at, the close colour at it
    eq(await colour(X.near1.id, NOW0 - 1), 'green');
    eq(await colour(X.near1.id, NOW0), P.colours.close);
    eq(await colour(X.near1.id), P.colours.close);
    if (P.secondaryContacts) {
      eq(await colour(X.q1.id, NOW0 - 1), 'green');
      eq(await colour(X.q1.id), P.colours.secondary);
    } else {
      eq(await colour(X.q1.id), 'green', 'q1 is nobody\'s contact under this policy');
    }
  });

  test(`${tag}: a proposal for every close and secondary contact with the start, end and kind of the policy`, async () => {
    const want = expectedProposals(X.case1.id, NOW0, []);
    assert(want.length >= 10, `enough contacts (${want.length})`);
    const got = (await allOrders(`case=${X.case1.id}`)).sort((a, b) => a.person.id - b.person.id);
    X.want1 = want;
    // the start of a household member of a close contact (degree 2) is
    // checked on its own below; here its end only follows its start
    const hh2 = new Set(contactsOf(X.case1.id).filter(c => c.degree === 2 && c.household).map(c => c.person));
    const m = o => measureOf(o.category);
    const shape = o => [o.person.id, o.category, o.kind, o.phase, o.status,
      hh2.has(o.person.id) ? 'start' : unix(o.start_at), hh2.has(o.person.id) ? unix(o.planned_end) - unix(o.start_at) : unix(o.planned_end),
      unix(o.orig_end) - unix(o.planned_end), o.case_id, o.link_person ? o.link_person.id : null, o.prev_order, o.activated_at];
    eq(got.map(shape), want.map(w => [w.person, w.category, w.kind, 1, 'proposed',
      hh2.has(w.person) ? 'start' : w.start, hh2.has(w.person) ? m(w).days * DAY : w.planned, 0, X.case1.id, w.link, null, null]));
    const cats = got.reduce((n, o) => ({ ...n, [o.category]: (n[o.category] || 0) + 1 }), {});
    if (!P.secondaryContacts) eq(cats.secondary, undefined, 'no secondary proposals at all');
    else assert(cats.secondary >= 2, 'secondary proposals');
    // the same shape in SQL, and the proposals impose no colour yet
    eq(sql(S.db, `SELECT count(*) FROM orders WHERE case_id = ${X.case1.id} AND status = 'proposed'`), String(want.length));
    eq(await colour(X.near1.id), P.colours.close, 'a proposal does not change the contact\'s colour');
  });

  // The contract's start rule names the case's isolated_at for every
  // household contact; for a member of a close contact's household (degree
  // 2) that time says nothing: they lived with the close contact until the
  // close contact was taken away, which is not before the contact was found.
  test(`${tag}: household members of the case start when it was isolated; of a close contact, when found`, async () => {
    const got = new Map(ordersOf(`case_id = ${X.case1.id}`).map(o => [o.person, o]));
    const cs = contactsOf(X.case1.id).filter(c => c.household);
    for (const c of cs.filter(c => c.degree === 1)) eq(got.get(c.person)?.start, ISOLATED, `household ${c.person} of the case`);
    for (const c of cs.filter(c => c.degree === 2)) eq(got.get(c.person)?.start, NOW0, `household ${c.person} of close contact ${c.via}`);
  });

  test(`${tag}: proposing again proposes nothing`, async () => {
    const r = await post('/api/v1/orders/propose', { case_id: X.case1.id });
    eq(r.status, 200, r.text);
    eq(r.body.proposed, 0);
    eq(sql(S.db, `SELECT count(*) FROM orders WHERE case_id = ${X.case1.id}`), String(X.want1.length));
  });

  // ------------------------------------------------------- confirmation
  test(`${tag}: bulk confirmation activates, gives rooms, test days, tasks and the five responsible people`, async () => {
    const byCat = cat => ordersOf(`case_id = ${X.case1.id} AND category = '${cat}' AND status = 'proposed'`);
    const close = byCat('close');
    const r = await post('/api/v1/orders/confirm', { ids: close.map(o => o.id) });
    eq(r.status, 200, r.text);
    const central = close.filter(o => o.kind === 'central').length;
    eq([r.body.activated, r.body.assigned, r.body.queued, r.body.already, r.body.refused], [close.length, central, 0, 0, []]);
    eq(await colour(X.near1.id), colourOf(P.close.kind));
    if (P.secondaryContacts) {
      eq(await colour(X.q1.id), P.colours.secondary, 'q1 is not under an order yet');
      const sec = byCat('secondary');
      const r2 = await post('/api/v1/orders/confirm', { case_id: X.case1.id, category: 'secondary' });
      eq(r2.status, 200, r2.text);
      const c2 = sec.filter(o => o.kind === 'central').length;
      eq([r2.body.activated, r2.body.assigned, r2.body.queued, r2.body.already], [sec.length, c2, 0, 0]);
      eq(await colour(X.q1.id, NOW0), colourOf(P.secondary.kind));
    }
    const again = await post('/api/v1/orders/confirm', { ids: [close[0].id] });
    eq([again.status, again.body.activated, again.body.already], [200, 0, 1]);

    const all = ordersOf(`case_id = ${X.case1.id}`);
    eq(all.map(o => [o.status, o.activated]), all.map(() => ['active', NOW0]), 'every order active since the confirmation');
    // test days of every order, from the policy and its start
    for (const o of all) eq(testsOf(o.id), expectedTests(o, NOW0), `test days of order ${o.id} (${o.category}, person ${o.person})`);
    // one order_test task per required day, due at its end, at the site for a central order
    const stays = new Map(q(`SELECT order_id, count(*) FROM stays WHERE left_at IS NULL GROUP BY order_id`).map(([o, n]) => [+o, +n]));
    for (const o of all) eq(stays.get(o.id) || 0, o.kind === 'central' ? 1 : 0, `a room for order ${o.id} (${o.kind})`);
    const wantTasks = [], gotTasks = [];
    for (const o of all) {
      const region = o.kind === 'central' ? X.county : gridOf(o.person);
      for (const [id, , we, req] of q(`SELECT id, day, window_end, required FROM order_tests WHERE order_id = ${o.id} ORDER BY day`))
        if (+req) wantTasks.push([+id, o.person, o.id, +we, region, 'open'].join('|'));
      gotTasks.push(...q(`SELECT ref_id, person_id, order_id, due_at, region_code, status FROM tasks WHERE kind = 'order_test' AND order_id = ${o.id}`).map(r => r.join('|')));
    }
    eq(gotTasks.sort(), wantTasks.sort(), 'order_test tasks');
    // the API lists near1's test tasks with their deadlines
    const n1 = all.find(o => o.person === X.near1.id && o.category === 'close');
    X.n1 = n1;
    const tk = await get(`/api/v1/tasks?kind=order_test&limit=500`);
    eq(tk.status, 200, tk.text);
    eq(tk.body.items.filter(t => t.person.id === X.near1.id).map(t => unix(t.due_at)).sort((a, b) => a - b),
      expectedTests(n1, NOW0).filter(t => t[3]).map(t => t[2]));
    // five responsible people of near1: the grid's own grid worker, the county's others
    const resp = expectedResponsibles(X.near1.grid);
    eq(resp.grid_worker.name, '本网格员');
    eq(resp.town_cadre.name, '县统筹甲');
    const one = await get(`/api/v1/orders/${n1.id}`);
    eq(one.status, 200, one.text);
    eq(ROLES.map(role => (one.body.responsibles.find(x => x.role === role) || {}).name), ROLES.map(role => resp[role].name));
    eq(q(`SELECT role, coalesce(responsible_id, '') FROM order_responsibles WHERE order_id = ${n1.id} ORDER BY role`),
      [...ROLES].sort().map(role => [role, String(resp[role].id)]));
    // tasks of the five or the transfer, due within contacts_controlled_hours
    const due = NOW0 + P.contactsControlledHours * H;
    for (const o of all) {
      const got = q(`SELECT kind, assignee_role, coalesce(responsible_id, ''), region_code, due_at FROM tasks WHERE order_id = ${o.id}
        AND (kind = 'transfer' OR kind LIKE 'wubao_%') ORDER BY kind`);
      if (o.kind === 'central') eq(got, [['transfer', '', '', X.county, String(due)]], `transfer task of ${o.id}`);
      else {
        const rs = expectedResponsibles(gridOf(o.person));
        eq(got, [...ROLES].sort().map(role => [`wubao_${role}`, role, rs[role] ? String(rs[role].id) : '', gridOf(o.person), String(due)]), `五包一 tasks of ${o.id}`);
      }
    }
    X.q1o = all.find(o => o.person === X.q1.id) || null;
    X.h1o = all.find(o => o.person === X.h1.id);
    X.n2 = all.find(o => o.person === X.near2.id);
    X.q2o = all.find(o => o.person === X.q2.id) || null;
    eq(X.h1o.start, ISOLATED);
  });

  // ------------------------------------------------------- the clock runs
  test(`${tag}: the clock runs through the policy's days`, async () => {
    const agenda = [];
    const at = (t, what, fn) => agenda.push({ t, what, fn, seq: agenda.length });
    const confirmedAt = NOW0;
    // negative results on every required day of order o (person p)
    function sampleDays(o, p, topic, skipDays = []) {
      for (const [day, ws, we, req] of expectedTests(o, o.activated ?? confirmedAt)) {
        if (!req || skipDays.includes(day)) continue;
        const from = Math.max(ws, o.activated ?? confirmedAt);
        const t = from + Math.min(2 * H, Math.floor((we - from) / 2));
        at(t, `${topic}: day ${day}`, () => check(topic, async () => {
          const first = !X.taskChecked && o.id === X.n1.id;
          const taskId = sql(S.db, `SELECT t.id FROM tasks t JOIN order_tests ot ON ot.id = t.ref_id WHERE t.kind = 'order_test' AND ot.order_id = ${o.id} AND ot.day = ${day}`);
          await sampleAndResult(p, 'negative', {
            waitTask: first ? async () => {
              X.taskChecked = true;
              // the task is done as soon as the sample exists, before the result
              await eventually(() => eq(sql(S.db, `SELECT status, done_by FROM tasks WHERE id = ${taskId}`), 'done|system', `task of day ${day} done at the sample`));
            } : undefined,
          });
          await eventually(() => {
            eq(q(`SELECT sampled_at, result FROM order_tests WHERE order_id = ${o.id} AND day = ${day}`), [[String(t), 'negative']], `day ${day} of order ${o.id} recorded`);
            eq(sql(S.db, `SELECT status, done_by FROM tasks WHERE id = ${taskId}`), 'done|system', `task of day ${day}`);
          });
        }));
      }
    }
    // release at orig_end: t-1 still under the order, t released
    function releaseAt(o, p, topic, after) {
      at(o.orig - 1, `${topic}: a second before the end`, () => check(topic, async () => {
        await sleep(1200); // a tick or more at this second
        const now = order(o.id);
        eq([now.status, now.ended], ['active', null], `order ${o.id} still active a second before its end`);
        eq(await colour(p.id), colourOf(o.kind), `colour a second before the end of ${o.id}`);
      }));
      at(o.orig, `${topic}: the end`, () => check(topic, async () => {
        await eventually(() => {
          const now = order(o.id);
          eq([now.status, now.reason, now.ended, now.planned], ['completed', 'released', o.orig, o.orig], `order ${o.id} released at orig_end`);
        });
        await after();
      }));
    }

    // near1: phase 1, then phase 2, each day tested
    const n1 = order(X.n1.id);
    sampleDays(n1, X.near1, 'near1');
    releaseAt(n1, X.near1, 'near1', async () => {
      const one = await get(`/api/v1/orders/${n1.id}`);
      eq(one.status, 200, one.text);
      eq(one.body.tests.map(x => [x.day, unix(x.window_start), unix(x.window_end), x.required, x.sampled_at && unix(x.sampled_at), x.result]),
        q(`SELECT day, window_start, window_end, required, sampled_at, result FROM order_tests WHERE order_id = ${n1.id} ORDER BY day`)
          .map(([d, ws, we, r, sa, res]) => [+d, +ws, +we, r === '1', sa ? +sa : null, res || null]), 'the order\'s tests as the API shows them');
      eq(one.body.tests.filter(x => x.required).every(x => x.result === 'negative'), true);
      eq([one.body.status, one.body.end_reason, unix(one.body.ended_at)], ['completed', 'released', n1.orig]);
      const m = P.close;
      if (m.thenKind === 'none') { await eventually(async () => eq(await colour(X.near1.id), 'green', 'green at the end')); return; }
      const [p2] = await eventually(() => {
        const l = ordersOf(`prev_order = ${n1.id} AND phase = 2`);
        eq(l.length, 1, 'one second phase');
        return l;
      });
      eq([p2.status, p2.category, p2.kind, p2.caseId, p2.link, p2.start, p2.planned, p2.orig, p2.activated],
        ['active', 'close', m.thenKind, X.case1.id, null, n1.orig, n1.orig + m.thenDays * DAY, n1.orig + m.thenDays * DAY, n1.orig], 'the second phase');
      eq(testsOf(p2.id), expectedTests(p2, n1.orig), 'test days of the second phase');
      const region = p2.kind === 'central' ? X.county : X.near1.grid;
      eq(q(`SELECT count(*), min(region_code), max(region_code) FROM tasks WHERE kind = 'order_test' AND order_id = ${p2.id}`),
        [[String(m.thenTestDays.length), region, region]], 'test tasks of the second phase');
      if (p2.kind !== 'central') {
        const rs = expectedResponsibles(X.near1.grid);
        eq(q(`SELECT kind, coalesce(responsible_id, ''), due_at FROM tasks WHERE order_id = ${p2.id} AND kind LIKE 'wubao_%' ORDER BY kind`),
          [...ROLES].sort().map(role => [`wubao_${role}`, String(rs[role].id), String(n1.orig + P.contactsControlledHours * H)]), '五包一 tasks of the second phase');
      }
      // red until the second before, the home phase's colour from orig_end
      eq(await colour(X.near1.id, n1.orig - 1), colourOf(n1.kind));
      await eventually(async () => eq(await colour(X.near1.id), colourOf(m.thenKind), 'colour of the second phase'));
      X.p2 = p2;
      sampleDays(p2, X.near1, 'near1 phase 2');
      releaseAt(p2, X.near1, 'near1 phase 2', async () => {
        await eventually(async () => eq(await colour(X.near1.id), 'green', 'green at the end of the second phase'));
        eq(await colour(X.near1.id, p2.orig - 1), colourOf(p2.kind));
        eq(ordersOf(`prev_order = ${p2.id}`).length, 0, 'no third phase');
      });
    });

    // q1: the secondary contact, released once near1's first tests are negative
    if (X.q1o) {
      sampleDays(X.q1o, X.q1, 'q1');
      releaseAt(X.q1o, X.q1, 'q1', async () => {
        await eventually(async () => eq(await colour(X.q1.id), 'green', 'q1 green at the end'));
        eq(ordersOf(`prev_order = ${X.q1o.id}`).length, 0, 'no second phase for a secondary contact');
      });
    }

    // s3: a secondary contact tested negative on every day of their own,
    // whose close contact was never tested: not released at orig_end (the
    // linked close contact's first tests are missing), extended instead
    X.s3 = P.secondary.closeNegatives > 0 ? ordersOf(`case_id = ${X.case1.id} AND category = 'secondary'
      AND link_person NOT IN (${X.near1.id}, ${X.near2.id})`)[0] || null : null;
    if (P.secondaryContacts && P.secondary.closeNegatives > 0) assert(X.s3, 'a secondary contact through an untested close contact');
    if (X.s3) {
      const s3 = X.s3, person = { id: s3.person, idn: sql(S.db, `SELECT id_number FROM persons WHERE id = ${s3.person}`) };
      sampleDays(s3, person, 's3');
      at(s3.orig, 's3: the end, the close contact untested', () => check('s3', async () => {
        await eventually(() => {
          const o = order(s3.id);
          eq([o.status, o.ended, o.planned], ['active', null, s3.orig + P.recheckHours * H], 'extended: the close contact\'s tests are missing');
          eq(sql(S.db, `SELECT count(*) FROM order_tests WHERE order_id = ${o.id} AND required = 1 AND result IS NOT 'negative'`), '0', 'its own tests are all negative');
          eq(sql(S.db, `SELECT actor FROM order_events WHERE order_id = ${o.id} AND kind = 'extended'`), 'system');
        });
        eq(await colour(s3.person), colourOf(s3.kind), 'still under the order');
      }));
    }

    // h1: a household contact never tested is extended at orig_end, not released
    at(X.h1o.orig, 'h1: the end without tests', () => check('h1', async () => {
      await eventually(() => {
        const o = order(X.h1o.id);
        eq([o.status, o.ended, o.orig, o.planned], ['active', null, X.h1o.orig, X.h1o.orig + P.recheckHours * H], 'extended by release_recheck_hours');
        eq(sql(S.db, `SELECT actor FROM order_events WHERE order_id = ${o.id} AND kind = 'extended'`), 'system');
      });
      eq(await colour(X.h1.id), colourOf(X.h1o.kind), 'still under the order');
    }));

    // near2: positive on its second required test day
    const n2days = expectedTests(X.n2, confirmedAt).filter(t => t[3]);
    const tpos = n2days[1][1] + 2 * H;
    at(tpos, 'near2 positive', () => check('positive', () => positive(tpos)));

    const done = new Set();
    for (;;) {
      const next = agenda.filter(e => !done.has(e)).sort((a, b) => a.t - b.t || a.seq - b.seq)[0];
      if (!next) break;
      done.add(next);
      setClock(next.t);
      await next.fn();
    }
    X.finished = true;
  });

  async function positive(t) {
    await sampleAndResult(X.near2, 'positive');
    const cand = await eventually(async () => {
      const r = await get('/api/v1/candidates?status=pending');
      eq(r.status, 200, r.text);
      const c = r.body.items.find(i => i.person.id === X.near2.id);
      assert(c, 'a candidate for near2');
      return c;
    });
    eq(unix(cand.sampled_at), t);
    const before = ordersOf('1 = 1');
    const ok = await post(`/api/v1/candidates/${cand.id}/confirm`, { class: 'asymptomatic' });
    eq(ok.status, 201, ok.text);
    const case2 = ok.body.case;
    X.case2 = case2;
    const k2 = caseRow(case2.id);
    eq([k2.person, k2.created], [X.near2.id, t]);
    // in the chain, linked from the first case
    const ch = await get(`/api/v1/chains/${X.case1.chain_id}`);
    eq(ch.status, 200, ch.text);
    eq(ch.body.nodes.map(n => n.case_id), [X.case1.id, case2.id]);
    eq(ch.body.edges.map(e => [e.from_case, e.to_case, e.degree]), [[X.case1.id, case2.id, 1]]);
    // near2's own orders end: became_case at the case's creation
    await eventually(() => {
      const o = order(X.n2.id);
      eq([o.status, o.reason, o.ended], ['completed', 'became_case', k2.created], 'near2\'s order ends as the case is added');
    });
    eq(await colour(X.near2.id), P.colours.case);
    // the secondary contacts who came through near2 become close contacts
    const ups = before.filter(o => o.link === X.near2.id && o.category === 'secondary' && (o.status === 'active' || o.status === 'proposed'));
    if (P.secondaryContacts) assert(ups.some(o => o.person === X.q2.id), 'q2 is among those to upgrade');
    else eq(ups, [], 'no secondary orders to upgrade under this policy');
    X.upgraded = [];
    for (const s of ups) {
      await eventually(() => {
        const o = order(s.id);
        eq([o.status, o.reason, o.ended], ['completed', 'upgraded', t], `secondary order ${s.id} ends upgraded`);
      });
      const [u] = ordersOf(`prev_order = ${s.id}`);
      assert(u, `a close order follows secondary order ${s.id}`);
      eq([u.person, u.status, u.category, u.kind, u.phase, u.caseId, u.start, u.planned, u.orig, u.activated, u.link],
        [s.person, 'active', 'close', P.close.kind, 1, case2.id, s.start, s.start + P.close.days * DAY, s.start + P.close.days * DAY, t, null],
        `the close order upgraded from ${s.id}`);
      eq(testsOf(u.id), expectedTests(u, t), `test days of the upgraded order ${u.id}`);
      X.upgraded.push(u);
    }
    if (X.q2o) eq(await colour(X.q2.id), colourOf(P.close.kind));
    // the new case's contacts: proposals by the skip rule against the orders before
    const after = ordersOf(`case_id = ${case2.id} AND status = 'proposed'`);
    const existing = ordersOf(`NOT (case_id = ${case2.id} AND status = 'proposed')`);
    eq(after.sort((a, b) => a.person - b.person).map(o => [o.person, o.category, o.kind, o.start, o.planned, o.link]),
      expectedProposals(case2.id, t, existing).map(w => [w.person, w.category, w.kind, w.start, w.planned, w.link]), 'the new case\'s proposals');
    if (!P.secondaryContacts) eq(sql(S.db, `SELECT count(*) FROM orders WHERE category = 'secondary'`), '0');
  }

  test(`${tag}: near1 — a negative result on every required day, release at orig_end, the second phase, green at its end`, async () => {
    assert(X.finished, 'the clock ran');
    noErrors('near1');
    noErrors('near1 phase 2');
    assert(X.p2 || P.close.thenKind === 'none', 'a second phase was seen');
  });
  test(`${tag}: q1 — the secondary contact is released at its end once near1's first tests are negative`, async () => {
    assert(X.finished, 'the clock ran');
    noErrors('q1');
    if (P.secondaryContacts) assert(X.q1o, 'q1 had an order');
    else eq(X.q1o, null, 'q1 has no order: secondary contacts are not identified');
  });
  test(`${tag}: s3 — a secondary contact whose close contact is untested is extended, not released`, async () => {
    assert(X.finished, 'the clock ran');
    noErrors('s3');
    if (!P.secondaryContacts) eq(X.s3, null);
  });
  test(`${tag}: h1 — without tests the order is extended at orig_end, not released`, async () => {
    assert(X.finished, 'the clock ran');
    noErrors('h1');
  });
  test(`${tag}: a positive during isolation — candidate, case in the chain, upgrades, new proposals`, async () => {
    assert(X.finished, 'the clock ran');
    noErrors('positive');
    assert(X.case2, 'a second case');
  });
  test(`${tag}: the run ends`, async () => {
    const near1 = X.n1 && order(X.n1.id);
    observed[policyName] = {
      p: P,
      close: near1 && { kind: near1.kind, days: (near1.orig - near1.start) / DAY, tests: testsOf(near1.id).map(r => r[0]) },
      then: X.p2 && { kind: X.p2.kind, days: (X.p2.orig - X.p2.start) / DAY, tests: testsOf(X.p2.id).map(r => r[0]) },
      secondary: X.q1o && { kind: X.q1o.kind, days: (X.q1o.orig - X.q1o.start) / DAY, tests: testsOf(X.q1o.id).map(r => r[0]) },
      secondaryOrders: Number(sql(S.db, `SELECT count(*) FROM orders WHERE category = 'secondary'`)),
      upgraded: (X.upgraded || []).length,
    };
    await S.stop();
  });
}

scenario('protocol-8', 71);
scenario('protocol-9', 72);
scenario('protocol-9-20', 73);

test('the three runs differ exactly as the three policy files say', async () => {
  const [p8, p9, p20] = ['protocol-8', 'protocol-9', 'protocol-9-20'].map(n => observed[n]);
  assert(p8 && p9 && p20, 'all three runs ended');
  // what each run did is what its file says
  for (const o of [p8, p9, p20]) {
    const { close, secondary, secondaryContacts } = o.p;
    eq(o.close, { kind: close.kind, days: close.days, tests: close.testDays }, `${o.p.name}: close contacts' first phase`);
    eq(o.then, close.thenKind === 'none' ? undefined : { kind: close.thenKind, days: close.thenDays, tests: close.thenTestDays }, `${o.p.name}: second phase`);
    if (secondaryContacts) eq(o.secondary, { kind: secondary.kind, days: secondary.days, tests: secondary.testDays }, `${o.p.name}: secondary contacts`);
    else eq([o.secondary, o.secondaryOrders], [null, 0], `${o.p.name}: no secondary contacts`);
  }
  // and the files say this: protocol 8 14 + 7, protocol 9 7 + 3, the 20 measures 5 + 3
  eq([p8, p9, p20].map(o => [o.close.days, o.then.days]), [[14, 7], [7, 3], [5, 3]]);
  eq([p8, p9, p20].map(o => o.close.tests), [[1, 4, 7, 14], [1, 2, 3, 5, 7], [1, 2, 3, 4, 5]]);
  eq([p8, p9, p20].map(o => [o.then.kind, o.then.tests]), [['home_monitoring', [2, 7]], ['home_monitoring', [3]], ['home_isolation', [1, 3]]]);
  eq([p8.secondary, p9.secondary, p20.secondary], [{ kind: 'central', days: 7, tests: [1, 7] }, { kind: 'home_isolation', days: 7, tests: [1, 4, 7] }, null]);
  assert(p8.secondaryOrders > 0 && p9.secondaryOrders > 0 && p20.secondaryOrders === 0, 'secondary orders under 8 and 9 only');
  assert(p8.upgraded > 0 && p9.upgraded > 0 && p20.upgraded === 0, 'upgrades under 8 and 9 only');
});

await run();
