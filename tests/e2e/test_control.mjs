// Browser tests of the 管控 and 隔离点 pages.  A small city with a case
// whose check-ins make three groups of contacts (A: exposed seven days ago,
// so their orders end today; B: four days ago; S: secondary contacts through
// A1), two isolation sites with fewer rooms than close contacts (so some
// wait in the queue), all through the API, with the server's clock in a
// file the test moves.  Then in the browser: the command confirms the
// proposals in bulk, reads the isolation board, a person's timeline and a
// site's rooms, extends and releases orders with a reason; a grid worker
// reads their grid's orders on a phone.  Every figure on the screen is
// checked against SQL over the base tables (orders, stays, iso_rooms,
// order_tests, samples, test_results, tubes), never the server's answers.
//   node tests/e2e/test_control.mjs
// Screenshots go to build/test-logs/control-*.png.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, newPage } from '../lib/browser.mjs';
import { test, run, api, sql, eq, assert, ROOT, createUser, onCleanup } from '../lib/harness.mjs';
import { startCityWithCheckins, unix, iso } from '../lib/cases_fixture.mjs';

const SHOTS = join(ROOT, 'build', 'test-logs');
const DAY = 86400;
const T_START = unix('2022-07-14T09:00:00+08:00'); // the confirmation
const T_SAMPLE = unix('2022-07-14T10:30:00+08:00'); // A1's test on day 7
const T_BOARD = unix('2022-07-14T11:00:00+08:00'); // the board is read
const DAY0 = unix('2022-07-14T00:00:00+08:00'); // the board's day
const ONSET = '2022-07-11T08:00:00+08:00'; // window from 07-07 08:00
const T_A = unix('2022-07-07T12:00:00+08:00'); // case and group A at venue 0
const T_B = unix('2022-07-10T10:00:00+08:00'); // case and group B at venue 1
const T_S = unix('2022-07-08T15:00:00+08:00'); // A1 and group S at venue 2
const CMD = { username: 'e2e.command', password: 'Command-control-2024!' };
const ISO = { username: 'e2e.isolation', password: 'Isolation-control-2024!' };
const GRIDW = { username: 'e2e.grid', password: 'Grid-control-2024!' };

const CLOCK_DIR = mkdtempSync(join(tmpdir(), 'fk-e2e-clock-'));
const CLOCK = join(CLOCK_DIR, 'now');
onCleanup(() => rmSync(CLOCK_DIR, { recursive: true, force: true }));
let now = T_START;
const setClock = t => { now = t; writeFileSync(CLOCK, String(t) + '\n'); };
setClock(T_START);

let F;
const S = await startCityWithCheckins({
  persons: 3000, seed: 11, now: iso(T_START), policy: 'protocol-9', env: { FANGKONG_NOW: '@' + CLOCK },
  build: db => {
    const P = sql(db, 'SELECT id, id_number, coalesce(household_id, 0), grid_code FROM persons ORDER BY id')
      .split('\n').map(l => { const [id, idn, hh, grid] = l.split('|'); return { id: +id, idn, hh: +hh, grid }; });
    const size = new Map();
    for (const p of P) size.set(p.hh, (size.get(p.hh) || 0) + 1);
    const V = sql(db, 'SELECT code FROM venues ORDER BY code LIMIT 3').split('\n');
    const c = P.find(p => p.hh && size.get(p.hh) >= 2 && size.get(p.hh) <= 4);
    // one person per household, none of the case's: households stay small
    const used = new Set([c.hh]);
    const pickN = n => {
      const out = [];
      for (const p of P) {
        if (out.length === n) break;
        if (p.id % 7 !== 3 || used.has(p.hh)) continue;
        used.add(p.hh);
        out.push(p);
      }
      return out;
    };
    const A = pickN(6), B = pickN(14), Sg = pickN(3);
    const rows = [
      { id_number: c.idn, venue_code: V[0], t: T_A },
      { id_number: c.idn, venue_code: V[1], t: T_B },
      { id_number: A[0].idn, venue_code: V[2], t: T_S },
    ];
    A.forEach((p, i) => rows.push({ id_number: p.idn, venue_code: V[0], t: T_A - 1200 + i * 300 }));
    B.forEach((p, i) => rows.push({ id_number: p.idn, venue_code: V[1], t: T_B - 1000 + i * 150 }));
    Sg.forEach((p, i) => rows.push({ id_number: p.idn, venue_code: V[2], t: T_S - 600 + i * 300 }));
    F = { c, A, B, S: Sg, V };
    return rows;
  },
});

let adminTok, cmdTok, caseId, browser, desk, phone, SITES = [];
const COUNTY = F.c.grid.slice(0, 6);

const shot = async (page, name) => {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `control-${name}.png`), fullPage: true });
};
const scriptErrors = page => page.errors.filter(e => !/status of (401|403|404|409|422)/.test(e));
const digits = s => Number(String(s).replace(/[^\d]/g, ''));
const ok = (r, want, what) => { if (r.status !== want) throw new Error(`${what}: ${r.status} ${r.text}`); return r.body; };
const ids = s => s.split('\n').filter(Boolean).map(Number);
const noSideways = async page => {
  const m = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: window.innerWidth }));
  assert(m.sw <= m.iw, `no horizontal scroll: ${m.sw} > ${m.iw}`);
};
async function until(what, fn, ms = 8000) {
  for (let t0 = Date.now(); ; ) {
    if (await fn()) return;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 200));
  }
}

async function login(page, who, nav) {
  await page.clock.setFixedTime(new Date(now * 1000));
  await page.goto(S.url + '/');
  await page.waitForSelector('#login-user');
  await page.fill('#login-user', who.username);
  await page.fill('#login-pass', who.password);
  await page.click('#login-submit');
  await page.waitForSelector(`${nav}:not([hidden])`, { timeout: 15000 });
}

// ---- reference figures, from the base tables only

function refTotals() {
  const [active, central, home, queued, proposed] = sql(S.db, `SELECT
    (SELECT count(*) FROM orders WHERE status = 'active'),
    (SELECT count(*) FROM orders WHERE status = 'active' AND kind = 'central'),
    (SELECT count(*) FROM orders WHERE status = 'active' AND kind IN ('home_isolation','home_monitoring')),
    (SELECT count(*) FROM orders o WHERE status = 'active' AND queued_at IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM stays s WHERE s.order_id = o.id AND s.left_at IS NULL)),
    (SELECT count(*) FROM orders WHERE status = 'proposed')`).split('|').map(Number);
  return { active, central, home, queued, proposed };
}

function refSite(id) {
  const [rooms, occupied, free] = sql(S.db, `SELECT
    (SELECT count(*) FROM iso_rooms WHERE site_id = ${id}),
    (SELECT count(*) FROM iso_rooms r WHERE r.site_id = ${id}
       AND EXISTS (SELECT 1 FROM stays s WHERE s.room_id = r.id AND s.left_at IS NULL)),
    (SELECT count(*) FROM iso_rooms r WHERE r.site_id = ${id} AND r.status = 'ready'
       AND NOT EXISTS (SELECT 1 FROM stays s WHERE s.room_id = r.id AND s.left_at IS NULL))`).split('|').map(Number);
  return { rooms, occupied, free };
}

// rooms of a site free on local day d0: ready, and no current stay in it
// planned to leave after the day starts (free for the whole day)
function refFreeOn(id, d0) {
  return Number(sql(S.db, `SELECT count(*) FROM iso_rooms r WHERE r.site_id = ${id} AND r.status = 'ready'
    AND NOT EXISTS (SELECT 1 FROM stays s WHERE s.room_id = r.id AND s.left_at IS NULL AND s.planned_leave > ${d0})`));
}

// a sample of the person in [a, b): the samples table or a lab's result
const sampledIn = (person, a, b) => `(EXISTS (SELECT 1 FROM samples x WHERE x.person_id = ${person} AND x.sampled_at >= ${a} AND x.sampled_at < ${b})
  OR EXISTS (SELECT 1 FROM test_results x WHERE x.person_id = ${person} AND x.sampled_at >= ${a} AND x.sampled_at < ${b}))`;

function refTestsDue(d0) {
  return sql(S.db, `SELECT t.order_id || ':' || t.day FROM order_tests t JOIN orders o ON o.id = t.order_id
    WHERE o.status = 'active' AND t.required = 1 AND t.window_start < ${d0 + DAY} AND t.window_end > ${d0}
      AND NOT ${sampledIn('t.person_id', 't.window_start', 't.window_end')}
    ORDER BY 1`).split('\n').filter(Boolean).sort();
}

// the first valid result of the person sampled in [a, b): samples x tubes
// (a tube's positive with more than one member counts as pool_positive) or
// a lab's test_results row
function firstResult(person, a, b) {
  return sql(S.db, `SELECT r FROM (
      SELECT s.sampled_at at, CASE WHEN t.result = 'positive' AND t.n > 1 THEN 'pool_positive' ELSE t.result END r
        FROM samples s JOIN tubes t ON t.id = s.tube_id WHERE s.person_id = ${person} AND t.result IS NOT NULL
      UNION ALL SELECT sampled_at, result FROM test_results WHERE person_id = ${person})
    WHERE at >= ${a} AND at < ${b} AND r <> 'invalid' ORDER BY at LIMIT 1`);
}

// releases due on day d0: active orders with planned_end in the day; the
// required test days without a negative; releasable when none is missing,
// no positive since the start, and (secondary, protocol 9) the link
// person's close order has its first two required days negative
function refReleasesDue(d0) {
  const rows = sql(S.db, `SELECT id, person_id, start_at, category, coalesce(link_person, 0), coalesce(case_id, 0)
    FROM orders WHERE status = 'active' AND planned_end >= ${d0} AND planned_end < ${d0 + DAY} ORDER BY id`)
    .split('\n').filter(Boolean).map(l => l.split('|').map(v => (/^\d+$/.test(v) ? Number(v) : v)));
  return rows.map(([id, person, start, category, link, kase]) => {
    const days = sql(S.db, `SELECT day, window_start, window_end FROM order_tests WHERE order_id = ${id} AND required = 1 ORDER BY day`)
      .split('\n').filter(Boolean).map(l => l.split('|').map(Number));
    const missing = days.filter(([, a, b]) => firstResult(person, a, b) !== 'negative').map(([d]) => d);
    const positive = Number(sql(S.db, `SELECT count(*) FROM (
      SELECT s.sampled_at at FROM samples s JOIN tubes t ON t.id = s.tube_id WHERE s.person_id = ${person} AND t.result = 'positive'
      UNION ALL SELECT sampled_at FROM test_results WHERE person_id = ${person} AND result IN ('positive','pool_positive')) WHERE at >= ${start}`));
    let linkOk = true;
    if (category === 'secondary' && link) {
      const lo = sql(S.db, `SELECT id, person_id FROM orders WHERE person_id = ${link} AND category = 'close' AND case_id = ${kase}
        AND phase = 1 AND status <> 'cancelled' ORDER BY id LIMIT 1`);
      if (lo) {
        const [loId, lp] = lo.split('|').map(Number);
        // its first two required days (those it has, when fewer)
        const first2 = sql(S.db, `SELECT window_start, window_end FROM order_tests WHERE order_id = ${loId} AND required = 1 ORDER BY day LIMIT 2`)
          .split('\n').filter(Boolean).map(l => l.split('|').map(Number));
        linkOk = first2.every(([a, b]) => firstResult(lp, a, b) === 'negative');
      }
    }
    return { id, releasable: !missing.length && !positive && linkOk, missing };
  });
}

function refQueue() {
  return sql(S.db, `SELECT id, ${now} - queued_at FROM orders o WHERE status = 'active' AND queued_at IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM stays s WHERE s.order_id = o.id AND s.left_at IS NULL) ORDER BY id`)
    .split('\n').filter(Boolean).map(l => l.split('|').map(Number));
}

// the state of a test day's dot, as the page's legend defines it
function refDots(orderId) {
  return Object.fromEntries(sql(S.db, `SELECT day, required, window_end, person_id, window_start FROM order_tests WHERE order_id = ${orderId} ORDER BY day`)
    .split('\n').filter(Boolean).map(l => {
      const [day, required, end, person, start] = l.split('|').map(Number);
      const r = firstResult(person, start, end);
      const sampled = sql(S.db, `SELECT ${sampledIn(person, start, end)}`) === '1';
      const state = r ? r : !required ? 'waived' : sampled ? 'pending' : end <= now ? 'missed' : 'future';
      return [String(day), state];
    }));
}

// ---------------------------------------------------------------- setup

test('setup: users, a case, its proposals and two isolation sites through the API', async () => {
  adminTok = ok(await api(S.url, 'POST', '/api/v1/sessions', { body: { username: 'admin', password: S.adminPassword } }), 201, 'admin').token;
  cmdTok = await createUser(S, adminTok, { ...CMD, role: 'command', scope: '6109' });
  await createUser(S, adminTok, { ...ISO, role: 'isolation', scope: '6109' });
  await createUser(S, adminTok, { ...GRIDW, role: 'grid', scope: F.B[0].grid });
  // two sites: 2 floors x 4 rooms and 1 x 3; one room out for cleaning
  for (const [name, floors, per] of [['城东隔离酒店', 2, 4], ['城西隔离宾馆', 1, 3]]) {
    const s = ok(await api(S.url, 'POST', '/api/v1/isolation/sites', { token: cmdTok,
      body: { name, region: COUNTY, address: 'E2E', floors, rooms_per_floor: per } }), 201, `site ${name}`);
    SITES.push(s.id);
  }
  eq(sql(S.db, `SELECT group_concat(number) FROM (SELECT number FROM iso_rooms WHERE site_id = ${SITES[0]} ORDER BY number)`), '101,102,103,104,201,202,203,204', 'rooms numbered by floor');
  const r204 = Number(sql(S.db, `SELECT id FROM iso_rooms WHERE site_id = ${SITES[0]} AND number = '204'`));
  ok(await api(S.url, 'POST', `/api/v1/isolation/rooms/${r204}`, { token: cmdTok, body: { status: 'cleaning' } }), 200, 'room 204 cleaning');
  // the case: its contacts are traced and orders proposed
  const c = ok(await api(S.url, 'POST', '/api/v1/cases', { token: cmdTok,
    body: { id_number: F.c.idn, onset_at: ONSET, found_where: '发热门诊' } }), 201, 'case');
  caseId = c.id;
  ok(await api(S.url, 'POST', '/api/v1/orders/propose', { token: cmdTok, body: { case_id: caseId } }), 200, 'propose');
  const close = Number(sql(S.db, `SELECT count(*) FROM orders WHERE status = 'proposed' AND category = 'close'`));
  const second = Number(sql(S.db, `SELECT count(*) FROM orders WHERE status = 'proposed' AND category = 'secondary'`));
  assert(close >= F.A.length + F.B.length, `close proposals: ${close}`);
  assert(second >= F.S.length, `secondary proposals: ${second}`);
  assert(close > 10, 'more close contacts than ready rooms: some will queue');
  browser = await launchBrowser();
});

// ---------------------------------------------------------------- 管控

test('the command sees the proposals grouped by case and confirms them in bulk', async () => {
  desk = await newPage(browser, { width: 1366, height: 900 });
  await login(desk, CMD, '#nav-orders');
  assert(await desk.isVisible('#nav-isolation') && await desk.isVisible('#nav-risk'), '隔离点 and 风险区 in the nav');
  eq(await desk.getAttribute('#nav-risk', 'href'), '/risk.html');
  await desk.click('#nav-orders');
  await desk.waitForSelector('#prop-list .ord-group', { timeout: 15000 });
  const want = ids(sql(S.db, `SELECT id FROM orders WHERE status = 'proposed' ORDER BY id`));
  const shown = (await desk.$$eval('#prop-list li.ord-row', lis => lis.map(li => Number(li.dataset.id)))).sort((a, b) => a - b);
  eq(shown, want, 'every proposal, once');
  eq(await desk.$$eval('#prop-list .ord-group', gs => gs.map(g => Number(g.dataset.case))), [caseId], 'one group: the case');
  // the headline counts
  await desk.waitForSelector('#of-proposed');
  eq(digits(await desk.textContent('#of-proposed')), want.length, 'proposed count');
  eq(digits(await desk.textContent('#of-active')), 0, 'nothing active yet');
  // a row names the person (masked), the category and the measure
  const a1 = await desk.$eval(`#prop-list li.ord-row[data-person="${F.A[0].id}"]`, li => ({
    text: li.textContent, cat: li.dataset.category, kind: li.dataset.kind }));
  eq([a1.cat, a1.kind], ['close', 'central'], 'A1: close, central (protocol 9)');
  assert(a1.text.includes('密接') && a1.text.includes('集中隔离'), a1.text);
  assert(!a1.text.includes(F.A[0].idn), 'ID number masked');
  await shot(desk, 'proposals');

  // select the case's group, leave one secondary contact out, confirm
  const left = Number(sql(S.db, `SELECT min(id) FROM orders WHERE status = 'proposed' AND category = 'secondary'`));
  await desk.check(`.ord-group[data-case="${caseId}"] input.grp-all`);
  eq(digits(await desk.textContent('#prop-selected')), want.length, 'the group selects all its rows');
  await desk.uncheck(`#prop-list li.ord-row[data-id="${left}"] input.ord-pick`);
  eq(digits(await desk.textContent('#prop-selected')), want.length - 1);
  assert(await desk.$eval('#prop-all', el => el.indeterminate), 'select-all shows a partial selection');
  await desk.click('#prop-confirm');
  await desk.waitForSelector('#prop-summary', { timeout: 30000 });
  await desk.waitForSelector('#prop-list li.ord-row');
  // the summary against the tables
  const activated = Number(sql(S.db, `SELECT count(*) FROM orders WHERE activated_at IS NOT NULL`));
  eq(activated, want.length - 1, 'all but one activated');
  eq(sql(S.db, `SELECT status FROM orders WHERE id = ${left}`), 'proposed', 'the one left out stays proposed');
  const assigned = Number(sql(S.db, `SELECT count(*) FROM stays`));
  const queued = Number(sql(S.db, `SELECT count(*) FROM orders WHERE queued_at IS NOT NULL`));
  eq(assigned, 10, 'every ready room taken (8 + 3 - 1 cleaning)');
  eq(queued, Number(sql(S.db, `SELECT count(*) FROM orders WHERE status = 'active' AND kind = 'central'`)) - 10, 'the other central orders queue');
  eq(digits(await desk.textContent('#ps-activated')), activated, 'activated shown');
  eq(digits(await desk.textContent('#ps-assigned')), assigned, 'assigned shown');
  eq(digits(await desk.textContent('#ps-queued')), queued, 'queued shown');
  eq(await desk.$$eval('#prop-list li.ord-row', lis => lis.map(li => Number(li.dataset.id))), [left], 'only the one left');
  eq(Number(sql(S.db, `SELECT count(*) FROM alerts WHERE kind = 'isolation_queue'`)) > 0, true, 'the queue raised an alert');
  // the rest with the page's select-all
  await desk.check('#prop-all');
  await desk.click('#prop-confirm');
  await desk.waitForSelector('#prop-none', { timeout: 30000 });
  eq(sql(S.db, `SELECT status FROM orders WHERE id = ${left}`), 'active', 'confirmed too');
  eq(sql(S.db, `SELECT count(*) FROM orders WHERE status = 'proposed'`), '0');
  eq(scriptErrors(desk), [], 'no script errors');
});

test('the active list filters by category, kind and queue, as SQL does', async () => {
  const check = async (hash, where) => {
    await desk.goto(`${S.url}/#/orders?${hash}`);
    await desk.waitForSelector('#act-list li, #act-none', { timeout: 15000 });
    while (await desk.isVisible('#act-more')) {
      const n = await desk.locator('#act-list li').count();
      await desk.click('#act-more');
      await desk.waitForFunction(k => document.querySelectorAll('#act-list li').length > k, n);
    }
    const shown = (await desk.$$eval('#act-list li.ord-row', lis => lis.map(li => Number(li.dataset.id)))).sort((a, b) => a - b);
    eq(shown, ids(sql(S.db, `SELECT id FROM orders o WHERE status = 'active' ${where} ORDER BY id`)), hash);
    return shown;
  };
  const all = await check('tab=active', '');
  assert(all.length > 50, 'more than a page');
  await check('tab=active&category=secondary', `AND category = 'secondary'`);
  await check('tab=active&kind=central', `AND kind = 'central'`);
  const q = await check('tab=active&queued=1', `AND queued_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM stays s WHERE s.order_id = o.id AND s.left_at IS NULL)`);
  assert(q.length > 0, 'some wait for a room');
  // the filters are the form's: choosing one sets the hash
  await desk.selectOption('#f-category', 'close');
  await desk.waitForFunction(() => location.hash.includes('category=close'));
  await desk.waitForSelector('#act-list li');
  eq(await desk.$$eval('#act-list li.ord-row', lis => [...new Set(lis.map(li => li.dataset.category))]), ['close']);
  const t = refTotals();
  for (const k of ['active', 'central', 'home', 'queued', 'proposed']) eq(digits(await desk.textContent(`#of-${k}`)), t[k], `count ${k}`);
  await shot(desk, 'active');
});

// ---------------------------------------------------------------- 隔离点

test('A1 is sampled on day 7 and the lab reports negative', async () => {
  setClock(T_SAMPLE);
  const tester = await createUser(S, adminTok, { username: 'e2e.tester', role: 'tester', scope: COUNTY, password: 'Tester-control-2024!' });
  ok(await api(S.url, 'POST', '/api/v1/sites', { token: tester, body: { code: 'E2E-CS1', name: '隔离点采样', region: COUNTY, capacity_per_hour: 100 } }), 201, 'sampling site');
  ok(await api(S.url, 'POST', '/api/v1/tubes', { token: tester, body: { tube: 'E2E-A1-D7', site: 'E2E-CS1', pool_size: 1 } }), 201, 'tube');
  ok(await api(S.url, 'POST', '/api/v1/samples', { token: tester, body: { tube: 'E2E-A1-D7', id_number: F.A[0].idn } }), 201, 'sample');
  const lab = await createUser(S, adminTok, { username: 'e2e.lab', role: 'lab', scope: '6109', password: 'Lab-control-2024!' });
  const r = ok(await api(S.url, 'POST', '/api/v1/results', { token: lab, body: { results: [{ tube: 'E2E-A1-D7', result: 'negative' }] } }), 200, 'result');
  eq(r.refused, 0, 'result accepted');
  setClock(T_BOARD);
  // the server's tick records the result against the test day
  await until('A1 day 7 negative in order_tests', () => sql(S.db, `SELECT t.result FROM order_tests t JOIN orders o ON o.id = t.order_id
    WHERE o.person_id = ${F.A[0].id} AND o.category = 'close' AND t.day = 7`) === 'negative');
});

test('the isolation board shows exactly what SQL counts', async () => {
  await desk.clock.setFixedTime(new Date(now * 1000));
  await desk.click('#nav-isolation');
  await desk.waitForSelector('#iso-sites li.i-site', { timeout: 15000 });
  // totals
  const t = refTotals();
  for (const k of ['active', 'central', 'home', 'queued', 'proposed']) eq(digits(await desk.textContent(`#if-${k}`)), t[k], `total ${k}`);
  // sites
  let rooms = 0, occupied = 0, free = 0;
  for (const id of SITES) {
    const ref = refSite(id);
    const li = `#iso-sites li.i-site[data-id="${id}"]`;
    eq({ rooms: digits(await desk.textContent(`${li} .i-rooms`)), occupied: digits(await desk.textContent(`${li} .i-occupied`)),
      free: digits(await desk.textContent(`${li} .i-free`)) }, ref, `site ${id}`);
    rooms += ref.rooms; occupied += ref.occupied; free += ref.free;
  }
  eq([digits(await desk.textContent('#if-rooms')), digits(await desk.textContent('#if-occupied')), digits(await desk.textContent('#if-free'))],
    [rooms, occupied, free], 'room totals');
  eq(free, 0, 'no free room while people queue');
  // rooms free on each of 7 days: the table and the chart
  const dates = Array.from({ length: 7 }, (_, i) => iso(DAY0 + i * DAY).slice(0, 10));
  for (const id of SITES) {
    const cells = await desk.$$eval(`#iso-free-table tr[data-id="${id}"] td[data-date]`, tds => tds.map(td => [td.dataset.date, td.textContent]));
    eq(cells.map(([d, v]) => [d, Number(v.replace(/[^\d]/g, ''))]), dates.map((d, i) => [d, refFreeOn(id, DAY0 + i * DAY)]), `free by date, site ${id}`);
  }
  assert(refFreeOn(SITES[0], DAY0 + DAY) + refFreeOn(SITES[1], DAY0 + DAY) > 0, 'rooms free tomorrow (group A ends today)');
  await desk.waitForSelector('#iso-free-chart[data-sites] canvas');
  const series = await desk.evaluate(() => window.echarts.getInstanceByDom(document.getElementById('iso-free-chart')).getOption().series
    .map(s => s.data.map(Number)));
  eq(series, SITES.map(id => dates.map((d, i) => refFreeOn(id, DAY0 + i * DAY))), 'chart series');
  // today's tests due
  const due = (await desk.$$eval('#iso-tests li.i-row', lis => lis.map(li => `${li.dataset.order}:${li.dataset.day}`))).sort();
  eq(due, refTestsDue(DAY0), 'tests due today');
  eq(digits(await desk.textContent('#iso-tests-count')), due.length);
  const a1Close = Number(sql(S.db, `SELECT id FROM orders WHERE person_id = ${F.A[0].id} AND category = 'close'`));
  assert(!due.includes(`${a1Close}:7`), 'A1 was sampled');
  assert(due.length > 0, 'others were not');
  // releases due today
  const rel = await desk.$$eval('#iso-releases li.i-row', lis => lis.map(li => ({ id: Number(li.dataset.order), releasable: li.dataset.releasable === '1',
    missing: (li.querySelector('.i-missing')?.textContent.match(/\d+/g) || []).map(Number) })));
  eq(rel.sort((a, b) => a.id - b.id), refReleasesDue(DAY0), 'releases due');
  assert(rel.find(x => x.id === a1Close)?.releasable === true, 'A1 releasable');
  assert(rel.some(x => !x.releasable), 'others wait for their test');
  // the queue, with the waiting time
  const q = await desk.$$eval('#iso-queue li.i-row', lis => lis.map(li => [Number(li.dataset.order), Number(li.dataset.waiting), li.querySelector('.i-wait-time').textContent]));
  eq(q.map(([id, w]) => [id, w]).sort((a, b) => a[0] - b[0]), refQueue(), 'queue and waiting seconds');
  for (const [, w, text] of q) eq(text, w === 7200 ? '已等 2 小时' : text, 'two hours since the confirmation');
  assert(q.length && q.every(([, w]) => w === 7200), 'everyone queued at the confirmation');
  await shot(desk, 'board');
  eq(scriptErrors(desk), [], 'no script errors');
});

test('a site shows its rooms by floor coloured by state', async () => {
  await desk.click(`#iso-sites li.i-site[data-id="${SITES[0]}"] a.i-site-name`);
  await desk.waitForSelector('#site-rooms .iso-room', { timeout: 15000 });
  const shown = await desk.$$eval('#site-rooms .iso-room', bs => bs.map(b => [Number(b.dataset.id), b.dataset.state, b.closest('.iso-floor').dataset.floor]));
  const want = sql(S.db, `SELECT r.id, CASE WHEN EXISTS (SELECT 1 FROM stays s WHERE s.room_id = r.id AND s.left_at IS NULL) THEN 'occupied'
      WHEN r.status = 'ready' THEN 'free' ELSE r.status END, r.floor FROM iso_rooms r WHERE r.site_id = ${SITES[0]} ORDER BY r.id`)
    .split('\n').map(l => { const [id, st, f] = l.split('|'); return [Number(id), st, f]; });
  eq(shown.sort((a, b) => a[0] - b[0]), want, 'rooms, states and floors');
  for (const k of ['occupied', 'free', 'cleaning', 'out_of_service'])
    eq(digits(await desk.textContent(`#sr-${k}`)), want.filter(w => w[1] === k).length, `legend ${k}`);
  // a room's occupant, with a link to their timeline
  const occ = want.find(w => w[1] === 'occupied');
  await desk.click(`.iso-room[data-id="${occ[0]}"]`);
  await desk.waitForSelector('#room-occupants li');
  eq(Number(await desk.getAttribute('#room-occupants li', 'data-order')),
    Number(sql(S.db, `SELECT order_id FROM stays WHERE room_id = ${occ[0]} AND left_at IS NULL`)), 'the occupant\'s order');
  await shot(desk, 'site');
});

// ---------------------------------------------------------------- timeline

test('a person\'s timeline: their orders, test days coloured by result, events and stay', async () => {
  const person = F.A[0].id;
  await desk.goto(`${S.url}/#/orders/person/${person}`);
  await desk.waitForSelector('#tl-orders .tl-order', { timeout: 15000 });
  const orders = sql(S.db, `SELECT id, status, kind FROM orders WHERE person_id = ${person} ORDER BY start_at DESC, id DESC`).split('\n')
    .map(l => { const [id, st, k] = l.split('|'); return [Number(id), st, k]; });
  const shown = await desk.$$eval('#tl-orders .tl-order', os => os.map(o => [Number(o.dataset.id), o.dataset.status, o.dataset.kind]));
  eq(shown, orders, 'the person\'s orders, newest first');
  for (const [id] of orders) {
    const dots = Object.fromEntries(await desk.$$eval(`.tl-order[data-id="${id}"] .tl-dot`, ds => ds.map(d => [d.dataset.day, d.dataset.result])));
    eq(dots, refDots(id), `test days of order ${id}`);
    const [start, end] = sql(S.db, `SELECT start_at, planned_end FROM orders WHERE id = ${id}`).split('|').map(Number);
    eq(await desk.$$eval(`.tl-order[data-id="${id}"] li.o-day`, ds => ds.length), Math.ceil((end - start) / DAY), 'a row per day');
    const ev = Number(sql(S.db, `SELECT count(*) FROM order_events WHERE order_id = ${id}`));
    eq(await desk.locator(`.tl-order[data-id="${id}"] .o-event`).count(), ev, 'every event');
  }
  const d7 = refDots(orders[0][0])['7'];
  eq(d7, 'negative', 'day 7 negative');
  eq(await desk.getAttribute(`.tl-order[data-id="${orders[0][0]}"] .tl-dot[data-day="7"]`, 'data-result'), 'negative');
  const stay = sql(S.db, `SELECT r.number FROM stays s JOIN iso_rooms r ON r.id = s.room_id WHERE s.order_id = ${orders[0][0]}`);
  if (stay) assert((await desk.textContent(`.tl-order[data-id="${orders[0][0]}"] .o-stay-where`)).includes(stay), 'the room');
  await shot(desk, 'timeline');
});

test('extend, release early and cancel need a reason and are recorded', async () => {
  const b1 = Number(sql(S.db, `SELECT id FROM orders WHERE person_id = ${F.B[1].id} AND status = 'active'`));
  await desk.goto(`${S.url}/#/orders/person/${F.B[1].id}`);
  const card = `.tl-order[data-id="${b1}"]`;
  await desk.waitForSelector(`${card} .tl-act-extend`, { timeout: 15000 });
  await desk.click(`${card} .tl-act-extend`);
  await desk.fill(`${card} .o-until`, '2022-07-20T18:00');
  await desk.click(`${card} .o-act-submit`);
  await desk.waitForSelector(`${card} .o-act-form .form-error:not([hidden])`);
  assert((await desk.textContent(`${card} .o-act-form .form-error`)).includes('原因'), 'asks for a reason');
  eq(Number(sql(S.db, `SELECT count(*) FROM order_events WHERE order_id = ${b1} AND kind = 'extended'`)), 0, 'nothing done without one');
  await desk.fill(`${card} .o-reason`, '密接者出现咳嗽，延长观察');
  await desk.click(`${card} .o-act-submit`);
  await until('extended', () => sql(S.db, `SELECT planned_end FROM orders WHERE id = ${b1}`) === String(unix('2022-07-20T18:00:00+08:00')));
  await desk.waitForSelector(`${card} .tl-end`);
  await desk.waitForFunction(s => document.querySelector(s)?.textContent.includes('2022-07-20 18:00'), `${card} .tl-end`);
  eq(Number(sql(S.db, `SELECT count(*) FROM order_events WHERE order_id = ${b1} AND kind = 'extended'`)), 1);
  // release early
  await desk.click(`${card} .tl-act-release`);
  await desk.fill(`${card} .o-reason`, '复核为误判');
  await desk.click(`${card} .o-act-submit`);
  await until('released early', () => sql(S.db, `SELECT status || '|' || end_reason FROM orders WHERE id = ${b1}`) === 'completed|released_early');
  await desk.waitForSelector(`${card}[data-status="completed"]`);
  eq(await desk.locator(`${card} .tl-act-release`).count(), 0, 'no actions on an ended order');
  // cancel another
  const b2 = Number(sql(S.db, `SELECT id FROM orders WHERE person_id = ${F.B[2].id} AND status = 'active'`));
  await desk.goto(`${S.url}/#/orders/person/${F.B[2].id}`);
  await desk.waitForSelector(`.tl-order[data-id="${b2}"] .tl-act-cancel`, { timeout: 15000 });
  await desk.click(`.tl-order[data-id="${b2}"] .tl-act-cancel`);
  await desk.fill(`.tl-order[data-id="${b2}"] .o-reason`, '身份信息登记错误');
  await desk.click(`.tl-order[data-id="${b2}"] .o-act-submit`);
  await desk.waitForSelector(`.tl-order[data-id="${b2}"][data-status="cancelled"]`, { timeout: 15000 });
  eq(sql(S.db, `SELECT status FROM orders WHERE id = ${b2}`), 'cancelled');
  eq(sql(S.db, `SELECT group_concat(action) FROM (SELECT action FROM audit_log WHERE action IN ('order.extend','order.release','order.cancel') ORDER BY seq)`),
    'order.extend,order.release,order.cancel', 'each action audited');
  eq(scriptErrors(desk), [], 'no script errors');
});

test('the isolation team reads the board but confirms nothing', async () => {
  const page = await newPage(browser, { width: 1280, height: 900 });
  await login(page, ISO, '#nav-isolation');
  await page.click('#nav-isolation');
  await page.waitForSelector('#iso-sites li.i-site');
  eq(digits(await page.textContent('#if-active')), refTotals().active);
  await page.goto(`${S.url}/#/orders/person/${F.A[2].id}`);
  await page.waitForSelector('#tl-orders .tl-order');
  eq(await page.locator('.tl-act-extend, .tl-act-release, .tl-act-cancel').count(), 0, 'no actions');
  await page.close();
});

// ---------------------------------------------------------------- phone

test('a grid worker\'s phone: their grid\'s orders only, a timeline, no sideways scroll', async () => {
  phone = await newPage(browser, { width: 390, height: 844 }, { isMobile: true, hasTouch: true });
  await login(phone, GRIDW, '#nav-orders');
  assert(!(await phone.isVisible('#nav-isolation')), 'no board in the grid worker\'s nav');
  await phone.click('#nav-orders');
  await phone.waitForSelector('#act-list li, #act-none', { timeout: 15000 });
  const grid = F.B[0].grid;
  const want = ids(sql(S.db, `SELECT o.id FROM orders o JOIN persons p ON p.id = o.person_id WHERE o.status = 'active' AND p.grid_code = '${grid}' ORDER BY o.id`));
  assert(want.length > 0, 'the grid has orders');
  const shown = (await phone.$$eval('#act-list li.ord-row', lis => lis.map(li => Number(li.dataset.id)))).sort((a, b) => a - b);
  eq(shown, want, 'exactly the active orders of the grid');
  await noSideways(phone);
  assert(await phone.$eval('#act-list li.ord-row', li => li.getBoundingClientRect().height) >= 52, 'rows big enough to tap');
  await shot(phone, 'grid-list');
  await phone.click(`#act-list li.ord-row[data-person="${F.B[0].id}"] a.o-name`);
  await phone.waitForSelector('#tl-orders .tl-order', { timeout: 15000 });
  const b0 = Number(sql(S.db, `SELECT id FROM orders WHERE person_id = ${F.B[0].id} AND status = 'active'`));
  eq(await phone.$$eval(`.tl-order[data-id="${b0}"] .tl-dot`, ds => Object.fromEntries(ds.map(d => [d.dataset.day, d.dataset.result]))), refDots(b0), 'test days');
  await noSideways(phone);
  await shot(phone, 'grid-timeline');
  // the board and a site's rooms fit the phone too
  await phone.goto(`${S.url}/#/isolation`);
  await phone.waitForSelector('#iso-totals', { timeout: 15000 });
  await phone.waitForSelector('#iso-free-chart canvas, #iso-sites-none');
  await noSideways(phone);
  await shot(phone, 'grid-board');
  await phone.goto(`${S.url}/#/isolation/site/${SITES[0]}`);
  await phone.waitForSelector('#site-rooms .iso-room, .i-fail', { timeout: 15000 });
  await noSideways(phone);
  // another grid's person: out of scope
  await phone.goto(`${S.url}/#/orders/person/${F.A[1].grid === grid ? F.c.id : F.A[1].id}`);
  await phone.waitForSelector('.o-fail');
  assert((await phone.textContent('.o-fail')).includes('不在'), 'says it is out of scope');
  eq(scriptErrors(phone), [], 'no script errors');
});

await run();
