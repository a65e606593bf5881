// Browser tests of the 病例 pages: a tracer adds a case through the form and
// reads its trajectory, the contact graph (20,000 close contacts drawn as
// at most a few hundred aggregated nodes), drills into a grid, reads the
// counts table and opens the chain.  Debian chromium via playwright-core.
//   node tests/e2e/test_cases.mjs
// Screenshots go to build/test-logs/cases-*.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, newPage } from '../lib/browser.mjs';
import { test, run, api, sql, eq, assert, ROOT, createUser } from '../lib/harness.mjs';
import { startCityWithCheckins, unix } from '../lib/cases_fixture.mjs';

const SHOTS = join(ROOT, 'build', 'test-logs');
const NOW = '2022-01-12T12:00:00+08:00';
const T0 = unix('2022-01-10T10:00:00+08:00');
const CROWD = 20000;
const MAX_NODES = 300; // "a few hundred": what a person can still read
const TRACER = { username: 'e2e.tracer', password: 'Tracer-cases-2024!' };

let F;
const S = await startCityWithCheckins({
  persons: 24000, seed: 5, now: NOW, policy: 'protocol-8', // its windows are protocol 8's
  build: db => {
    const P = sql(db, 'SELECT id, id_number, coalesce(household_id, 0) FROM persons ORDER BY id')
      .split('\n').map(l => { const [id, idn, hh] = l.split('|'); return { id: +id, idn, hh: +hh }; });
    const V = sql(db, 'SELECT code FROM venues ORDER BY code LIMIT 5').split('\n');
    const c = P[0];
    const times = [T0, T0 + 3 * 3600, T0 + 6 * 3600, T0 + 24 * 3600, T0 + 27 * 3600];
    const rows = times.map((t, i) => ({ id_number: c.idn, venue_code: V[i], t }));
    // 20,000 others, each once at one of the case's venues within 25 minutes
    const crowd = P.filter(p => p.hh !== c.hh).slice(0, CROWD);
    crowd.forEach((p, i) => {
      const k = i % 5;
      rows.push({ id_number: p.idn, venue_code: V[k], t: times[k] - 1500 + ((i * 7919) % 3000) });
    });
    F = { c, V, closeMin: CROWD };
    return rows;
  },
});

let browser, desk, phone, caseId;
// the whole page, or with `el` that element only
const shot = async (page, name, el) => {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `cases-${name}.png`);
  if (el) await page.locator(el).screenshot({ path });
  else await page.screenshot({ path, fullPage: true });
};
// the console notes the 4xx answers the tests provoke; anything else counts
const scriptErrors = page => page.errors.filter(e => !/status of (401|403|404|409|422)/.test(e));

async function login(page) {
  await page.goto(S.url + '/');
  await page.waitForSelector('#login-user');
  await page.fill('#login-user', TRACER.username);
  await page.fill('#login-pass', TRACER.password);
  await page.click('#login-submit');
  await page.waitForSelector('#nav-cases:not([hidden])', { timeout: 15000 });
}

async function graphNodes(page) {
  await page.waitForSelector('#contact-graph[data-nodes] canvas', { timeout: 30000 });
  return Number(await page.getAttribute('#contact-graph', 'data-nodes'));
}

test('a tracer sees 病例 in the nav and an empty case list', async () => {
  const admin = (await api(S.url, 'POST', '/api/v1/sessions', { body: { username: 'admin', password: S.adminPassword } })).body.token;
  await createUser(S, admin, { ...TRACER, role: 'tracer', scope: '6109' });
  browser = await launchBrowser();
  desk = await newPage(browser, { width: 1366, height: 900 });
  await login(desk);
  await desk.click('#nav-cases');
  await desk.waitForSelector('#case-form');
  await desk.waitForSelector('#cases-none', { timeout: 10000 }); // an empty list says so
});

test('adding a case through the form opens its page', async () => {
  // first the form's own checks: no time given
  await desk.fill('#case-idn', F.c.idn);
  await desk.click('#case-submit');
  await desk.waitForSelector('#case-msg:not([hidden])');
  assert((await desk.textContent('#case-msg')).includes('发病时间'), 'asks for a time');
  await desk.selectOption('#case-class', 'confirmed');
  await desk.fill('#case-onset', '2022-01-11T10:00');
  await desk.fill('#case-where', '发热门诊');
  await desk.click('#case-submit');
  await desk.waitForSelector('#case-title', { timeout: 30000 });
  caseId = Number(desk.url().match(/#\/case\/(\d+)/)[1]);
  eq(sql(S.db, `SELECT person_id, onset_at, found_where FROM cases WHERE id = ${caseId}`), `${F.c.id}|${T0 + 86400}|发热门诊`);
});

test('the trajectory lists the five check-ins as a timeline', async () => {
  await desk.waitForSelector('#timeline .tl-item');
  eq(await desk.locator('#timeline .tl-item').count(), 5);
  const names = sql(S.db, `SELECT name FROM venues WHERE code IN (${F.V.map(v => `'${v}'`).join(',')}) ORDER BY code`).split('\n');
  const text = await desk.textContent('#timeline');
  for (const n of names) assert(text.includes(n), `timeline names ${n}`);
  assert(text.includes('2022-01-10') && text.includes('2022-01-11'), 'grouped by day');
});

test('the graph shows 20,000 contacts as at most a few hundred nodes', async () => {
  const n = await graphNodes(desk);
  const counts = (await api(S.url, 'GET', `/api/v1/cases/${caseId}/contacts/counts?degree=1`, { token: await token() })).body;
  assert(counts.total >= CROWD, `the case has ${counts.total} close contacts`);
  assert(counts.by_grid.length > MAX_NODES, `more grids (${counts.by_grid.length}) than nodes we may draw`);
  assert(n > 10 && n <= MAX_NODES, `aggregated nodes on screen: ${n}`);
  eq(n, Math.min(counts.by_grid.length, 120) + 1 + (counts.by_grid.length > 120 ? 1 : 0), 'case + top grids + 其他');
  eq((await desk.textContent('#fig-close')).replace(/\D/g, ''), String(counts.total));
  assert((await desk.textContent('#graph-note')).includes(counts.total.toLocaleString('zh-CN')), 'the note gives the total');
  await shot(desk, 'graph');
});

test('the counts table lists contacts per grid, largest first, summing to the total', async () => {
  const counts = (await api(S.url, 'GET', `/api/v1/cases/${caseId}/contacts/counts?degree=1`, { token: await token() })).body;
  await desk.waitForSelector('#counts-table tbody tr');
  const rows = await desk.$$eval('#counts-table tbody tr', trs => trs.map(tr => [tr.dataset.code, tr.querySelectorAll('td')[2].textContent]));
  eq(rows.length, 30, 'one screen of rows, then 显示更多');
  eq(rows.map(r => r[0]), counts.by_grid.slice(0, 30).map(g => g.code));
  eq(rows.map(r => Number(r[1].replace(/\D/g, ''))), counts.by_grid.slice(0, 30).map(g => g.count));
  await desk.click('#counts-more');
  eq(await desk.locator('#counts-table tbody tr').count(), 60);
});

test('clicking a grid drills down to that grid\'s contacts, paged', async () => {
  const counts = (await api(S.url, 'GET', `/api/v1/cases/${caseId}/contacts/counts?degree=1`, { token: await token() })).body;
  const g = counts.by_grid[0];
  // click the grid's node on the canvas, where the chart says it is
  await desk.$eval('#contact-graph', e => e.scrollIntoView({ block: 'center' }));
  const at = await desk.evaluate(() => {
    const chart = window.echarts.getInstanceByDom(document.getElementById('contact-graph'));
    const node = chart.getOption().series[0].data[1];
    const [x, y] = chart.convertToPixel({ seriesIndex: 0 }, [node.x, node.y]);
    const r = document.getElementById('contact-graph').getBoundingClientRect();
    return { x: r.left + x, y: r.top + y };
  });
  await desk.mouse.click(at.x, at.y);
  await desk.waitForSelector('#drill-table tbody tr', { timeout: 15000 });
  const n = await graphNodes(desk);
  assert(n <= 202, `drill-down nodes: ${n}`);
  eq(n, Math.min(g.count, 100) + 2);
  const codes = await desk.$$eval('#drill-table tbody tr', trs => trs.map(tr => tr.dataset.id));
  eq(codes.length, Math.min(g.count, 100));
  const want = sql(S.db, `SELECT count(*) FROM persons WHERE grid_code = '${g.code}' AND id IN (${codes.join(',')})`);
  eq(want, String(codes.length), 'every listed person lives in that grid');
  assert((await desk.textContent('#drill-title')).includes(g.name), 'titled with the grid');
  assert(!(await desk.isHidden('#drill-back')), 'a way back');
  await desk.mouse.move(5, 5);
  await desk.waitForTimeout(600); // let the hover fade settle before the picture
  await shot(desk, 'drill', '#contact-graph');
  await desk.click('#drill-back');
  await desk.waitForFunction(() => !document.querySelector('#drill-table'));
});

test('the graph aggregates by venue on request', async () => {
  const counts = (await api(S.url, 'GET', `/api/v1/cases/${caseId}/contacts/counts?degree=1`, { token: await token() })).body;
  assert(counts.by_venue.filter(v => v.code !== 'household').length === 5, 'five venues');
  await desk.click('.seg-btn[data-v="venue"]');
  // the case and one node per venue (and 同住 when the case lives with others)
  await desk.waitForFunction(n => document.querySelector('#contact-graph').dataset.nodes === String(n),
    counts.by_venue.length + 1, { timeout: 10000 });
});

test('secondary contacts switch the graph and the table', async () => {
  await desk.click('.seg-btn[data-v="2"]');
  await desk.waitForFunction(() => /次密接按网格统计/.test(document.querySelector('#grid-counts').textContent), null, { timeout: 30000 });
  assert((await graphNodes(desk)) <= MAX_NODES, 'still aggregated');
});

test('the chain page draws the chain with its cases', async () => {
  await desk.click('#chain-link');
  await desk.waitForSelector('#chain-graph[data-nodes] canvas', { timeout: 15000 });
  eq(await desk.getAttribute('#chain-graph', 'data-nodes'), '1');
  assert((await desk.textContent('#chain-title')).includes('传播链'), 'titled');
  await shot(desk, 'chain');
  eq(scriptErrors(desk), [], 'no script errors');
});

test('on a phone the case page fits the screen', async () => {
  phone = await newPage(browser, { width: 390, height: 844 }, { isMobile: true, hasTouch: true });
  await login(phone);
  await phone.goto(`${S.url}/#/case/${caseId}`);
  await phone.waitForSelector('#timeline .tl-item');
  await graphNodes(phone);
  const m = await phone.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: window.innerWidth }));
  assert(m.sw <= m.iw, `no horizontal overflow: ${m.sw} > ${m.iw}`);
  await shot(phone, 'phone');
  eq(scriptErrors(phone), [], 'no script errors');
});

let tok;
async function token() {
  if (!tok) tok = (await api(S.url, 'POST', '/api/v1/sessions', { body: TRACER })).body.token;
  return tok;
}

await run();
