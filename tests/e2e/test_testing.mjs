// Browser tests of the 核酸检测 pages.  A campaign over one county is
// launched, a site added, ~1,700 persons sampled into 10-in-1 tubes and most
// tubes resulted (one positive, one invalid), all through the API; then a
// commander reads the dashboard and a grid worker reads their missing list
// on a phone.  Every figure on the screen is checked against SQL over
// persons, samples and tubes (not the coverage counters the server keeps).
//   node tests/e2e/test_testing.mjs
// Screenshots go to build/test-logs/testing-*.png.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { launchBrowser, newPage } from '../lib/browser.mjs';
import { test, run, api, sql, eq, assert, ROOT, createUser, startServer, onCleanup } from '../lib/harness.mjs';

const SHOTS = join(ROOT, 'build', 'test-logs');
// a commander launches and reads; a tester samples and posts the lab's results
const CMD = { username: 'e2e.command', password: 'Command-testing-2024!' };
const GRIDW = { username: 'e2e.grid', password: 'Grid-testing-2024!' };
const POOL = 10;

// protocol 9 with a higher exemption age: the generated city's youngest
// were born in 2021, so under 3 nobody is exempt today and the dashboard's
// 豁免 would be an untested 0; the children born since 2019 are exempt here
const EXEMPT_YEARS = new Date().getFullYear() - 2019;
const POLICY_DIR = mkdtempSync(join(tmpdir(), 'fk-e2e-policy-'));
const POLICY = join(POLICY_DIR, 'protocol-9-exempt.ini');
writeFileSync(POLICY, readFileSync(join(ROOT, 'policy', 'protocol-9.ini'), 'utf8')
  .replace(/^exempt_under_age_years = \d+$/m, `exempt_under_age_years = ${EXEMPT_YEARS}`));
onCleanup(() => rmSync(POLICY_DIR, { recursive: true, force: true }));
const S = await startServer({ persons: 40000, seed: 7, policy: POLICY });
const adminTok = (await api(S.url, 'POST', '/api/v1/sessions', { body: { username: 'admin', password: S.adminPassword } })).body.token;

// the fixture: the largest county and, in it, the largest grid (G1, the
// grid worker's) and another grid (G2, someone else's)
const COUNTY = sql(S.db, 'SELECT substr(grid_code,1,6) c FROM persons GROUP BY c ORDER BY count(*) DESC, c LIMIT 1');
const [G1, G2] = sql(S.db, `SELECT grid_code FROM persons WHERE grid_code LIKE '${COUNTY}%' GROUP BY grid_code ORDER BY count(*) DESC, grid_code LIMIT 2`).split('\n');
const TOWN1 = G1.slice(0, 9), COMM1 = G1.slice(0, 12);
let SINGLE, cmdTok, gridTok, testerTok, campaign, browser, desk, phone;

const shot = async (page, name) => {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `testing-${name}.png`), fullPage: true });
};
// the console notes the 4xx answers the tests provoke; anything else counts
const scriptErrors = page => page.errors.filter(e => !/status of (401|403|404|409|422)/.test(e));
const digits = s => Number(String(s).replace(/[^\d]/g, ''));
const ok = (r, want, what) => { if (r.status !== want) throw new Error(`${what}: ${r.status} ${r.text}`); return r.body; };

// ---- reference figures, from persons / samples / tubes only
function reference(code) {
  const c = campaign.id;
  const inExpected = `p.grid_code LIKE '${code}%' AND p.id <= (SELECT population_max_id FROM campaigns WHERE id = ${c})`
    + ` AND p.id NOT IN (SELECT person_id FROM campaign_exempt WHERE campaign_id = ${c})`;
  const round = `s.campaign_id = ${c} AND s.round = 1 AND s.grid_code LIKE '${code}%'`;
  const [expected, exempt, sampled, resulted, positive, missing] = sql(S.db, `SELECT
    (SELECT count(*) FROM persons p WHERE ${inExpected}),
    (SELECT count(*) FROM campaign_exempt e JOIN persons p ON p.id = e.person_id WHERE e.campaign_id = ${c} AND p.grid_code LIKE '${code}%'),
    (SELECT count(*) FROM samples s WHERE ${round}),
    (SELECT count(*) FROM samples s JOIN tubes t ON t.id = s.tube_id WHERE ${round} AND t.result IN ('negative','positive')),
    (SELECT count(*) FROM samples s JOIN tubes t ON t.id = s.tube_id WHERE ${round} AND t.result = 'positive'),
    (SELECT count(*) FROM persons p WHERE ${inExpected}
       AND NOT EXISTS (SELECT 1 FROM samples s WHERE s.campaign_id = ${c} AND s.round = 1 AND s.person_id = p.id))`).split('|').map(Number);
  return { expected, exempt, sampled, resulted, positive, missing };
}
const missingIds = grid => sql(S.db, `SELECT p.id FROM persons p WHERE p.grid_code = '${grid}'
  AND p.id <= (SELECT population_max_id FROM campaigns WHERE id = ${campaign.id})
  AND p.id NOT IN (SELECT person_id FROM campaign_exempt WHERE campaign_id = ${campaign.id})
  AND NOT EXISTS (SELECT 1 FROM samples s WHERE s.campaign_id = ${campaign.id} AND s.round = 1 AND s.person_id = p.id)
  ORDER BY p.id`).split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);

async function login(page, who) {
  await page.goto(S.url + '/');
  await page.waitForSelector('#login-user');
  await page.fill('#login-user', who.username);
  await page.fill('#login-pass', who.password);
  await page.click('#login-submit');
  await page.waitForSelector('#nav-testing:not([hidden])', { timeout: 15000 });
}

// figures shown on the dashboard: the headline and the table's rows
async function shownHeadline(page) {
  const o = {};
  for (const k of ['expected', 'sampled', 'resulted', 'positive', 'missing']) o[k] = digits(await page.textContent(`#tf-${k}`));
  o.exempt = digits(await page.textContent('#tf-expected-note'));
  return o;
}
async function shownRows(page) {
  return page.$$eval('#cov-table tbody tr', trs => trs.map(tr => {
    const o = { code: tr.dataset.code };
    for (const td of tr.querySelectorAll('td[data-fig]')) o[td.dataset.fig] = td.textContent;
    return o;
  }));
}
const pick = (o, keys = ['expected', 'exempt', 'sampled', 'resulted', 'positive', 'missing']) =>
  Object.fromEntries(keys.map(k => [k, typeof o[k] === 'number' ? o[k] : digits(o[k])]));

test('setup: a campaign, a site, samples and results through the API', async () => {
  cmdTok = await createUser(S, adminTok, { ...CMD, role: 'command', scope: '6109' });
  gridTok = await createUser(S, adminTok, { ...GRIDW, role: 'grid', scope: G1 });
  testerTok = await createUser(S, adminTok, { username: 'e2e.tester', role: 'tester', scope: COUNTY, password: 'Tester-testing-2024!' });
  campaign = ok(await api(S.url, 'POST', '/api/v1/campaigns', { token: cmdTok,
    // started two days ago, so the time has moved on and the markers mean something
    body: { name: 'E2E 全员核酸第 1 轮', kind: 'whole', region: COUNTY, pool_size: POOL,
      starts_at: new Date(Date.now() - 2 * 86400e3).toISOString().slice(0, 19) + '+00:00' } }), 201, 'campaign');
  ok(await api(S.url, 'POST', '/api/v1/sites', { token: cmdTok,
    body: { code: 'E2E-S1', name: '体育馆采样点', region: TOWN1, capacity_per_hour: 400, opens: '07:00', closes: '22:00' } }), 201, 'site');
  // G1: 40 persons sampled, the rest missing (more than one page of 50);
  // the county: every 7th person
  const g1 = sql(S.db, `SELECT id_number FROM persons WHERE grid_code = '${G1}' ORDER BY id LIMIT 40`).split('\n');
  const rest = sql(S.db, `SELECT id_number FROM persons WHERE grid_code LIKE '${COUNTY}%' AND grid_code <> '${G1}' AND id % 7 = 0 ORDER BY id`).split('\n');
  const all = [...g1, ...rest];
  const tubes = [];
  for (let i = 0; i < all.length; i += POOL) tubes.push({ code: `E2E${String(tubes.length).padStart(5, '0')}`, members: all.slice(i, i + POOL) });
  for (const t of tubes) ok(await api(S.url, 'POST', '/api/v1/tubes', { token: testerTok, body: { tube: t.code, site: 'E2E-S1', campaign: campaign.id } }), 201, `tube ${t.code}`);
  // tubes in parallel, the members of one tube in order
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < tubes.length) {
      const t = tubes[next++];
      for (const idn of t.members) ok(await api(S.url, 'POST', '/api/v1/samples', { token: testerTok, body: { tube: t.code, id_number: idn } }), 201, `sample ${idn}`);
    }
  }));
  // and one person alone in a tube (a single-tube positive: a case candidate)
  const single = sql(S.db, `SELECT id_number FROM persons WHERE grid_code LIKE '${COUNTY}%' AND grid_code <> '${G1}' AND id % 7 = 1 ORDER BY id LIMIT 1`);
  ok(await api(S.url, 'POST', '/api/v1/tubes', { token: testerTok, body: { tube: 'E2E-SINGLE', site: 'E2E-S1', campaign: campaign.id, pool_size: 1 } }), 201, 'single tube');
  ok(await api(S.url, 'POST', '/api/v1/samples', { token: testerTok, body: { tube: 'E2E-SINGLE', id_number: single } }), 201, 'single sample');
  all.push(single);
  SINGLE = single;
  // the lab: the first tube positive, the second invalid, the last 8 pending
  const results = tubes.slice(0, tubes.length - 8).map((t, i) => ({ tube: t.code, result: i === 0 ? 'positive' : i === 1 ? 'invalid' : 'negative' }));
  results.push({ tube: 'E2E-SINGLE', result: 'positive' });
  for (let i = 0; i < results.length; i += 500) {
    const r = ok(await api(S.url, 'POST', '/api/v1/results', { token: testerTok, body: { results: results.slice(i, i + 500) } }), 200, 'results');
    eq(r.refused, 0, 'every result accepted');
  }
  eq(sql(S.db, `SELECT count(*) FROM samples WHERE campaign_id = ${campaign.id}`), String(all.length));
  const g = reference(G1);
  assert(g.missing > 50 && g.sampled === 40, `G1 has ${g.missing} missing`);
  assert(reference(COUNTY).exempt > 0, 'some infants exempt');
  browser = await launchBrowser();
});

test('the campaign list shows the campaign with its countdown and progress', async () => {
  desk = await newPage(browser, { width: 1366, height: 900 });
  await login(desk, CMD);
  await desk.click('#nav-testing');
  await desk.waitForSelector(`#campaign-list li[data-id="${campaign.id}"]`, { timeout: 15000 });
  const li = `#campaign-list li[data-id="${campaign.id}"]`;
  const ref = reference(COUNTY);
  eq(digits(await desk.textContent(`${li} .t-c-sampled`)), ref.sampled, 'sampled');
  eq(digits(await desk.textContent(`${li} .t-c-expected`)), ref.expected, 'expected');
  eq(digits(await desk.textContent(`${li} .t-c-missing`)), ref.missing, 'missing');
  assert((await desk.textContent(`${li} .t-countdown`)).startsWith('剩余'), 'counts down to the deadline');
  assert((await desk.textContent(li)).includes('全员'), 'kind in Chinese');
  assert(await desk.isVisible('#campaign-form') && await desk.isVisible('#site-form'), 'a commander may launch');
  await shot(desk, 'list');
});

test('the launch form creates a campaign of the chosen kind', async () => {
  await desk.fill('#cp-name', 'E2E 划定区域');
  await desk.selectOption('#cp-kind', 'designated');
  await desk.waitForSelector('#cp-region-1 option[value]:not([value=""])', { state: 'attached' });
  await desk.selectOption('#cp-region-1', COUNTY);
  await desk.waitForSelector('#cp-region-2 option[value]:not([value=""])', { state: 'attached' });
  await desk.selectOption('#cp-region-2', TOWN1);
  await desk.click('#cp-submit');
  await desk.waitForSelector('#t-title', { timeout: 15000 });
  const id = Number(desk.url().match(/#\/testing\/(\d+)/)[1]);
  eq(sql(S.db, `SELECT kind, region_code, (deadline - starts_at) <= 86400 FROM campaigns WHERE id = ${id}`), `designated|${TOWN1}|1`);
  eq(digits(await desk.textContent('#tf-expected')), reference(TOWN1).expected, 'its expected persons');
});

test('the dashboard shows exactly what SQL counts, per town and in total', async () => {
  await desk.goto(`${S.url}/#/testing/${campaign.id}`);
  await desk.waitForSelector('#cov-table tbody tr', { timeout: 15000 });
  eq(await shownHeadline(desk), pick(reference(COUNTY), ['expected', 'sampled', 'resulted', 'positive', 'missing', 'exempt']), 'headline');
  const rows = await shownRows(desk);
  const towns = sql(S.db, `SELECT code FROM regions WHERE level = 4 AND code LIKE '${COUNTY}%' ORDER BY code`).split('\n');
  eq(rows.map(r => r.code).sort(), towns, 'a row per town');
  for (const r of rows) eq(pick(r), pick(reference(r.code)), `town ${r.code}`);
  const total = await desk.$$eval('#cov-table tfoot td[data-fig]', tds => Object.fromEntries(tds.map(td => [td.dataset.fig, td.textContent])));
  eq(pick(total), pick(reference(COUNTY)), 'total row');
  // the chart: a group of bars per town and a tick where it should be by now
  await desk.waitForSelector('#cov-chart[data-rows] canvas');
  eq(Number(await desk.getAttribute('#cov-chart', 'data-rows')), towns.length);
  const series = await desk.evaluate(() => window.echarts.getInstanceByDom(document.getElementById('cov-chart')).getOption().series.map(s => s.name));
  eq(series, ['应检', '已采样', '已出结果', '应达进度']);
  // the marker of each town: where it should be by now, time elapsed x expected
  const cov = ok(await api(S.url, 'GET', `/api/v1/campaigns/${campaign.id}/coverage`, { token: cmdTok }), 200, 'coverage');
  const t = cov.progress.time_elapsed;
  assert(t > 0.2 && t < 0.4, `two days of seven: ${t}`);
  const marks = await desk.evaluate(() => window.echarts.getInstanceByDom(document.getElementById('cov-chart')).getOption().series[3].data
    .map(d => [d.code, d.value[0]]));
  eq(marks.sort(), towns.map(c => [c, Math.round(t * reference(c).expected)]).sort(), 'markers');
  eq(await desk.textContent('#tp-time'), `${(100 * t).toFixed(1)}%`, 'time elapsed');
  eq(await desk.textContent('#tp-track'), cov.progress.on_track ? '按期' : '滞后', 'on track or late');
  const ref = reference(COUNTY);
  eq(await desk.textContent('#tp-sampled'), `${(100 * (ref.expected - ref.missing) / ref.expected).toFixed(1)}%`, 'sampled share');
  // pending work: the positive pool's members to retest, the invalid tube's to resample
  const tasks = kind => Number(sql(S.db, `SELECT count(*) FROM tasks WHERE kind = '${kind}' AND status = 'open' AND region_code LIKE '${COUNTY}%'`));
  eq(digits(await desk.textContent('#tpend-retest')), tasks('retest'), 'retests');
  eq(digits(await desk.textContent('#tpend-resample')), tasks('resample'), 'resamples');
  assert(tasks('retest') === POOL && tasks('resample') === POOL, 'ten of each');
  eq(digits(await desk.textContent('#tpend-candidates')), 1, 'one single-tube positive');
  await desk.waitForSelector('#cand-list li');
  eq(await desk.locator('#cand-list li').count(), 1);
  eq(sql(S.db, `SELECT p.id_number FROM case_candidates c JOIN persons p ON p.id = c.person_id WHERE c.id = ${await desk.getAttribute('#cand-list li', 'data-id')}`), SINGLE, 'the person of the single tube');
  await desk.waitForSelector('#task-list li');
  eq(await desk.locator('#task-list li').count(), 2 * POOL);
  // the site and its throughput
  await desk.waitForSelector('#site-list li[data-code="E2E-S1"]');
  eq(digits(await desk.textContent('#site-list li[data-code="E2E-S1"] .t-site-samples')),
    Number(sql(S.db, `SELECT count(*) FROM samples s JOIN sites x ON x.id = s.site_id WHERE x.code = 'E2E-S1'`)), 'site samples');
  assert(await desk.locator('#site-list .t-spark rect').count() === 24, '24 hourly bars');
  await shot(desk, 'dashboard');
});

test('clicking a town drills down to its communities, then to the grid list', async () => {
  // click the town's bar where the chart says it is
  const at = await desk.evaluate(town => {
    const el = document.getElementById('cov-chart');
    el.scrollIntoView({ block: 'center' });
    const chart = window.echarts.getInstanceByDom(el);
    const s = chart.getOption().series[1]; // 已采样, the middle bar of each group
    const i = s.data.findIndex(d => d.code === town);
    const names = chart.getOption().yAxis[0].data;
    const [x, y] = chart.convertToPixel({ gridIndex: 0 }, [s.data[i].value / 2, names[i]]);
    const r = el.getBoundingClientRect();
    return { x: r.left + x, y: r.top + y };
  }, TOWN1);
  await desk.mouse.click(at.x, at.y);
  await desk.waitForFunction(t => location.hash.includes(`region=${t}`), TOWN1, { timeout: 10000 });
  await desk.waitForSelector(`#cov-table tbody tr[data-code^="${TOWN1}"]`);
  eq(await shownHeadline(desk), pick(reference(TOWN1), ['expected', 'sampled', 'resulted', 'positive', 'missing', 'exempt']), 'town headline');
  for (const r of await shownRows(desk)) eq(pick(r), pick(reference(r.code)), `community ${r.code}`);
  assert((await desk.textContent('#t-crumbs')).includes(campaign.name), 'the way back up');
  // the community: its rows are grids, each with a link to its missing list
  await desk.click(`#cov-table tbody tr[data-code="${COMM1}"] a.rname`);
  await desk.waitForSelector(`#cov-table tbody tr[data-code="${G1}"] a.missing-link`);
  eq(digits(await desk.textContent(`#cov-table tbody tr[data-code="${G1}"] a.missing-link`)), reference(G1).missing);
  await desk.click(`#cov-table tbody tr[data-code="${G1}"] a.missing-link`);
  await desk.waitForSelector('#missing-count');
  eq(digits(await desk.textContent('#missing-count')), reference(G1).missing);
  eq(scriptErrors(desk), [], 'no script errors');
});

test('a grid worker\'s phone: the missing list of their grid, paged, no sideways scroll', async () => {
  phone = await newPage(browser, { width: 390, height: 844 }, { isMobile: true, hasTouch: true, acceptDownloads: true });
  await login(phone, GRIDW);
  await phone.click('#nav-testing');
  // their campaign row leads straight to their grid's list
  await phone.waitForSelector(`#campaign-list li[data-id="${campaign.id}"] a.t-c-name`);
  await phone.click(`#campaign-list li[data-id="${campaign.id}"] a.t-c-name`);
  await phone.waitForSelector('#missing-list li', { timeout: 15000 });
  assert(phone.url().includes(`grid=${G1}`), 'their own grid');
  const want = missingIds(G1);
  eq(digits(await phone.textContent('#missing-count')), want.length, 'the count at the top');
  eq(await phone.locator('#missing-list li').count(), 50, 'one page');
  const wide = () => phone.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: window.innerWidth }));
  let m = await wide();
  assert(m.sw <= m.iw, `no horizontal scroll: ${m.sw} > ${m.iw}`);
  await shot(phone, 'missing');
  while (await phone.isVisible('#missing-more')) {
    const n = await phone.locator('#missing-list li').count();
    await phone.click('#missing-more');
    await phone.waitForFunction(k => document.querySelectorAll('#missing-list li').length > k, n);
  }
  const ids = (await phone.$$eval('#missing-list li', lis => lis.map(li => Number(li.dataset.id)))).sort((a, b) => a - b);
  eq(ids, want, 'exactly the unsampled expected persons of the grid');
  // what a row says: masked name and ID, household, occupation
  const first = await phone.$eval('#missing-list li', li => ({
    name: li.querySelector('.t-m-name').textContent, idn: li.querySelector('.t-m-idn').textContent,
    hh: li.querySelector('.t-m-hh').textContent, id: Number(li.dataset.id),
    rowH: li.getBoundingClientRect().height }));
  const [name, idn, hh] = sql(S.db, `SELECT p.name, p.id_number, coalesce(h.label,'') FROM persons p LEFT JOIN households h ON h.id = p.household_id WHERE p.id = ${first.id}`).split('|');
  assert(first.name !== name && first.name.includes('*') && first.name.startsWith(name[0]), `name masked: ${first.name}`);
  assert(first.idn.includes('*') && first.idn.slice(0, 6) === idn.slice(0, 6) && first.idn.slice(-4) === idn.slice(-4), `ID masked: ${first.idn}`);
  eq(first.hh, hh, 'household');
  assert(first.rowH >= 56, `rows big enough to tap: ${first.rowH}px`);
  m = await wide();
  assert(m.sw <= m.iw, `no horizontal scroll after paging: ${m.sw} > ${m.iw}`);
});

test('the xlsx link downloads the grid\'s 台账', async () => {
  const [dl] = await Promise.all([phone.waitForEvent('download', { timeout: 15000 }), phone.click('#missing-xlsx')]);
  const path = join(SHOTS, 'testing-missing.xlsx');
  mkdirSync(SHOTS, { recursive: true });
  await dl.saveAs(path);
  assert(dl.suggestedFilename().endsWith('.xlsx'), dl.suggestedFilename());
  assert(statSync(path).size > 0 && readFileSync(path).subarray(0, 2).toString() === 'PK', 'a zip (xlsx) file');
  // read back: a row per missing person (after the title and header rows)
  const csv = execFileSync('xlsx2csv', ['-s', '1', path], { encoding: 'utf8' });
  const rows = csv.split('\n').filter(l => /^\d+,/.test(l));
  eq(rows.length, missingIds(G1).length, 'rows in the sheet');
});

test('a grid worker sees only their grid', async () => {
  await phone.goto(`${S.url}/#/testing/${campaign.id}`);
  await phone.waitForSelector('#tf-expected');
  eq(await shownHeadline(phone), pick(reference(G1), ['expected', 'sampled', 'resulted', 'positive', 'missing', 'exempt']), 'their grid only');
  assert(await phone.isVisible('#missing-link-self'), 'a way to the list');
  assert(!(await phone.isVisible('#campaign-form')), 'no launch form');
  await shot(phone, 'grid-dashboard');
  const m = await phone.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: window.innerWidth }));
  assert(m.sw <= m.iw, `dashboard: no horizontal scroll: ${m.sw} > ${m.iw}`);
  await phone.goto(`${S.url}/#/testing/${campaign.id}/missing?grid=${G2}`);
  await phone.waitForSelector('.t-fail');
  eq(await phone.locator('#missing-list li').count(), 0, 'nothing of another grid');
  assert((await phone.textContent('.t-fail')).includes('不在'), 'says it is out of scope');
  await phone.goto(`${S.url}/#/testing/${campaign.id}?region=${COUNTY}`);
  await phone.waitForSelector('.t-fail');
  eq(await phone.locator('#cov-table').count(), 0, 'not the county');
  eq(scriptErrors(phone), [], 'no script errors');
});

await run();
