// Browser test of the public risk-area page (web/risk.html): Debian
// chromium via playwright-core on a phone-sized page, no login.  Areas are
// designated through the API under a fixed clock; every figure on the page
// (counts, the areas of each level and county, their region paths, the
// countdown in days and hours) is compared with SQL over risk_areas and
// regions and with the policy file's day counts.  Screenshot:
// build/test-logs/risk-page.png.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, newPage } from '../lib/browser.mjs';
import { test, run, startServer, api, sql, eq, assert, createUser, ROOT } from '../lib/harness.mjs';

const NOW = '2022-03-01T08:00:00+08:00';
const unix = s => Math.floor(Date.parse(s) / 1000);
const days = (() => {
  const t = readFileSync(join(ROOT, 'policy', 'protocol-9.ini'), 'utf8');
  const sec = t.split(/^\[risk_area\]$/m)[1].split(/^\[/m)[0];
  const get = k => +sec.match(new RegExp(`^${k}\\s*=\\s*(\\d+)`, 'm'))[1];
  return { h2m: get('high_to_medium_days'), m2l: get('medium_to_low_days') };
})();

const S = await startServer({ persons: 20000, seed: 5, policy: 'protocol-9', env: { FANGKONG_NOW: NOW } });
const admin = (await api(S.url, 'POST', '/api/v1/sessions', { body: { username: 'admin', password: S.adminPassword } })).body.token;
const cmd = await createUser(S, admin, { username: 'cmd', role: 'command', scope: '6109' });
const q = query => sql(S.db, query);

// two high-risk grids of two counties, a medium town, a medium building
const counties = q(`SELECT substr(grid_code, 1, 6) FROM households GROUP BY 1 ORDER BY 1 LIMIT 2`).split('\n');
const gridOf = c => q(`SELECT grid_code FROM households WHERE grid_code LIKE '${c}%' AND label LIKE '%号楼%单元%' ORDER BY grid_code LIMIT 1`);
const G1 = gridOf(counties[0]), G2 = gridOf(counties[1]);
const B = q(`SELECT substr(label, 1, instr(label, '单元') + 1) FROM households WHERE grid_code = '${G2}' ORDER BY label LIMIT 1`);
const T = q(`SELECT code FROM regions WHERE level = 4 AND code LIKE '${counties[1]}%' AND code != '${G2.slice(0, 9)}' ORDER BY code LIMIT 1`);
const designations = [
  { region: G1, level: 'high', start_at: '2022-02-27T09:30:00+08:00', reason: 'a' },
  { region: G2, level: 'high', reason: 'b' },
  { region: T, level: 'medium', reason: 'c' },
  { region: G2, building: B, level: 'medium', reason: 'd' },
];
for (const d of designations) {
  const r = await api(S.url, 'POST', '/api/v1/risk-areas', { token: cmd, body: d });
  assert(r.status === 201, r.text);
}

function daysHours(s) {
  const hours = Math.ceil(Math.max(0, s) / 3600), d = Math.floor(hours / 24), h = hours % 24;
  return !d ? `${h}小时` : h ? `${d}天${h}小时` : `${d}天`;
}

test('the public page lists every area in force by level and county, with its countdown', async () => {
  const browser = await launchBrowser();
  const page = await newPage(browser, { width: 375, height: 740 });
  await page.goto(S.url + '/risk.html');
  await page.waitForSelector('li.area');
  const rows = q(`SELECT r.id, r.level, r.region_code, r.building, r.start_at, c.name, c.code FROM risk_areas r
    JOIN regions c ON c.code = substr(r.region_code, 1, 6) WHERE r.end_at IS NULL AND r.level != 'low' ORDER BY r.id`)
    .split('\n').map(l => { const [id, level, region, building, start, county, ccode] = l.split('|'); return { id, level, region, building, start: +start, county, ccode }; });
  eq(await page.textContent('#count-high'), String(rows.filter(r => r.level === 'high').length), 'high count');
  eq(await page.textContent('#count-medium'), String(rows.filter(r => r.level === 'medium').length), 'medium count');
  const shown = await page.$$eval('li.area', els => els.map(e => ({
    id: e.dataset.id, level: e.closest('section').dataset.level, county: e.closest('ul').previousElementSibling.dataset.county,
    path: e.querySelector('.path').textContent, left: e.querySelector('.left') && e.querySelector('.left').textContent,
  })));
  eq(shown.map(s => s.id).sort(), rows.map(r => r.id).sort(), 'every area in force, once');
  const now = unix(NOW);
  for (const r of rows) {
    const s = shown.find(x => x.id === r.id);
    eq([s.level, s.county], [r.level, r.ccode], `area ${r.id}: level and county group`);
    const names = q(`SELECT group_concat(name, '') FROM (SELECT name FROM regions WHERE '${r.region}' LIKE code || '%' ORDER BY level)`);
    eq(s.path, names + (r.building ? ` ${r.building}` : ''), `area ${r.id}: region path`);
    const due = r.start + (r.level === 'high' ? days.h2m : days.m2l) * 86400;
    eq(s.left, daysHours(due - now), `area ${r.id}: countdown`);
  }
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  eq(overflow, false, 'no horizontal scrolling on a phone');
  eq(page.errors, [], 'no script errors');
  mkdirSync(join(ROOT, 'build', 'test-logs'), { recursive: true });
  await page.screenshot({ path: join(ROOT, 'build', 'test-logs', 'risk-page.png'), fullPage: true });
});

await run();
