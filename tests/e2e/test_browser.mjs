// Browser tests of the web UI: Debian chromium driven by playwright-core
// against a real server with a generated city (安康市, 6109).
//   node tests/e2e/test_browser.mjs
// Screenshots go to build/test-logs/e2e-*.png.
// FK_E2E_URL and FK_E2E_ADMIN_PASSWORD run the same tests against a server
// that is already running instead of starting one.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, newPage as newBrowserPage } from '../lib/browser.mjs';
import { test, run, startServer, api, assert, eq, ROOT, createUser } from '../lib/harness.mjs';

const SHOTS = join(ROOT, 'build', 'test-logs');
const ID_MASKED = /^\d{6}\*{8}\d{3}[\dX]$/;
const CMD = { username: 'e2e.command', password: 'Command-e2e-2024!' };

let srv, browser, desk, phone, adminToken, cmdToken;

const num = n => new Intl.NumberFormat('zh-CN').format(n);
const digits = s => Number(String(s).replace(/[^\d]/g, ''));

async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `e2e-${name}.png`), fullPage: true });
}

const newPage = (viewport, extra) => newBrowserPage(browser, viewport, extra);

async function login(page, username, password) {
  await page.goto(srv.url + '/');
  await page.waitForSelector('#login-user');
  await page.fill('#login-user', username);
  await page.fill('#login-pass', password);
  await page.click('#login-submit');
}

async function regionShown(page, name) {
  await page.waitForFunction(n => {
    const h = document.querySelector('.region-head h1');
    return h && h.textContent === n && document.querySelector('#figures');
  }, name, { timeout: 15000 });
}

// The API's own numbers for a region and its children.
async function apiRegion(code, token = adminToken) {
  const r = await api(srv.url, 'GET', `/api/v1/regions/${code}`, { token });
  eq(r.status, 200, `GET region ${code}`);
  const k = await api(srv.url, 'GET', `/api/v1/regions?parent=${code}&limit=100`, { token });
  eq(k.status, 200, `GET children of ${code}`);
  return { region: r.body, children: k.body.items };
}

async function noHorizontalOverflow(page, where) {
  const m = await page.evaluate(() => ({
    sw: document.documentElement.scrollWidth, iw: window.innerWidth, bw: document.body.scrollWidth,
  }));
  assert(m.sw <= m.iw && m.bw <= m.iw, `${where}: horizontal overflow, scrollWidth ${m.sw}/${m.bw} > innerWidth ${m.iw}`);
}

test('server and browser start', async () => {
  if (process.env.FK_E2E_URL) {
    srv = { url: process.env.FK_E2E_URL.replace(/\/$/, ''), adminPassword: process.env.FK_E2E_ADMIN_PASSWORD };
  } else {
    srv = await startServer({ persons: 3000 });
  }
  browser = await launchBrowser();
  desk = await newPage({ width: 1280, height: 800 });
  const idx = await api(srv.url, 'GET', '/');
  eq(idx.status, 200, 'GET / serves the page');
  assert(/<script type="module" src="\/app.js">/.test(idx.text), 'index.html loads app.js as a module');
  const ec = await fetch(srv.url + '/vendor/echarts.min.js');
  eq(ec.status, 200, 'GET /vendor/echarts.min.js');
});

test('wrong password shows an error and stays on the login page', async () => {
  await login(desk, 'admin', 'not-the-password');
  const err = await desk.waitForSelector('#login-error:not([hidden])');
  const text = await err.textContent();
  assert(text.includes('用户名或密码错误'), `login error says why: ${text}`);
  eq(await desk.evaluate(() => sessionStorage.getItem('fk.token')), null, 'no token stored');
  assert(await desk.isVisible('#login-submit'), 'still on the login form');
  await shot(desk, 'login-error');
});

test('admin logs in; header shows user, role label and scope', async () => {
  const s = await api(srv.url, 'POST', '/api/v1/sessions', { body: { username: 'admin', password: srv.adminPassword } });
  eq(s.status, 201, 'admin session through the API');
  adminToken = s.body.token;
  await desk.fill('#login-pass', srv.adminPassword);
  await desk.click('#login-submit');
  await desk.waitForSelector('#figures');
  eq(await desk.textContent('#user-name'), 'admin', 'user name in header');
  eq(await desk.textContent('#user-role'), s.body.user.role_label, 'role label in header');
  assert((await desk.textContent('#user-scope')).includes(s.body.user.scope_name), 'scope name in header');
  const token = await desk.evaluate(() => sessionStorage.getItem('fk.token'));
  assert(/^[0-9a-f]{64}$/.test(token || ''), 'token kept in sessionStorage');
});

test('region tree shows 安康市 with its 10 counties and the API figures', async () => {
  const roots = await api(srv.url, 'GET', '/api/v1/regions', { token: adminToken });
  eq(roots.status, 200, 'roots');
  if (!roots.body.items.some(r => r.code === '6109')) {
    // the tree starts above the city: open it from the list
    await desk.click('#children-table a.rname:text-is("安康市")');
  }
  await regionShown(desk, '安康市');
  assert(desk.url().endsWith('#/region/6109'), `hash route: ${desk.url()}`);
  const { region, children } = await apiRegion('6109');
  eq(children.length, 10, 'API: 安康市 has 10 counties');
  for (const [k] of [['population'], ['households'], ['venues'], ['grids'], ['children']]) {
    const shown = await desk.textContent(`#figures [data-fig="${k}"] .figure-value`);
    eq(shown, num(region[k]), `figure ${k}`);
  }
  assert(region.population >= 1000 && /^\d{1,3}(,\d{3})+$/.test(await desk.textContent('#figures [data-fig="population"] .figure-value')),
    'population has thousands separators');
  const rows = await desk.$$eval('#children-table tbody tr', trs => trs.map(tr => ({
    code: tr.dataset.code,
    name: tr.querySelector('a.rname').textContent,
    population: tr.querySelector('[data-fig="population"]').textContent,
    households: tr.querySelector('[data-fig="households"]').textContent,
  })));
  eq(rows.length, 10, 'ten county rows');
  eq(rows.map(r => r.name), children.map(c => c.name), 'county names in API order');
  eq(rows.map(r => r.population), children.map(c => num(c.population)), 'county populations');
  eq(rows.map(r => r.households), children.map(c => num(c.households)), 'county households');
  assert(rows.some(r => r.name === '汉滨区'), '汉滨区 listed');
  eq(await desk.isVisible('#children-more'), false, 'no 更多 for 10 rows');
});

test('population chart is drawn on a canvas and follows the window size', async () => {
  await desk.waitForSelector('#pop-chart canvas');
  await desk.waitForTimeout(700); // let the bar animation finish
  const painted = () => desk.$eval('#pop-chart canvas', c => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return { w: c.width, h: c.height, cssW: c.getBoundingClientRect().width, painted: n };
  });
  const a = await painted();
  assert(a.w > 100 && a.h > 100, `canvas size ${a.w}x${a.h}`);
  assert(a.painted > 2000, `canvas has content (${a.painted} painted pixels)`);
  await shot(desk, 'region-city');
  await desk.setViewportSize({ width: 900, height: 800 });
  await desk.waitForFunction(w => {
    const c = document.querySelector('#pop-chart canvas');
    return c && Math.abs(c.getBoundingClientRect().width - w) > 20;
  }, a.cssW, { timeout: 5000 });
  const b = await painted();
  assert(b.cssW !== a.cssW && b.painted > 2000, `chart resized with the window: ${a.cssW} -> ${b.cssW}`);
  await desk.setViewportSize({ width: 1280, height: 800 });
});

test('clicking 汉滨区 opens it with its towns; back and forward work', async () => {
  await desk.click('#children-table a.rname:text-is("汉滨区")');
  await regionShown(desk, '汉滨区');
  assert(desk.url().endsWith('#/region/610902'), `hash route: ${desk.url()}`);
  const crumbs = await desk.$$eval('#breadcrumb a, #breadcrumb span.crumb, #breadcrumb .crumb-current', as => as.map(a => a.textContent));
  assert(crumbs.includes('安康市') && crumbs[crumbs.length - 1] === '汉滨区', `breadcrumb: ${crumbs.join(' / ')}`);
  const { region, children } = await apiRegion('610902');
  assert(children.length > 5, `API: 汉滨区 has towns (${children.length})`);
  const names = await desk.$$eval('#children-table tbody tr a.rname', as => as.map(a => a.textContent));
  eq(names, children.map(c => c.name), 'town names');
  eq(await desk.textContent('#figures [data-fig="population"] .figure-value'), num(region.population), 'population of 汉滨区');
  eq(digits(await desk.textContent('#figures [data-fig="children"] .figure-value')), region.children, 'child count');
  await desk.waitForSelector('#pop-chart canvas');
  await desk.waitForTimeout(500);
  await shot(desk, 'region-county');
  await desk.goBack();
  await regionShown(desk, '安康市');
  await desk.goForward();
  await regionShown(desk, '汉滨区');
  // breadcrumb leads back up
  await desk.click('#breadcrumb a:text-is("安康市")');
  await regionShown(desk, '安康市');
});

test('an API error is shown in the banner', async () => {
  await desk.goto(srv.url + '/#/region/999999');
  const b = await desk.waitForSelector('#banner:not([hidden])');
  const text = await b.textContent();
  assert(/未找到|不在您的管辖范围|失败/.test(text), `banner text: ${text}`);
  await shot(desk, 'error-banner');
  await desk.click('#banner-close');
  assert(await desk.isHidden('#banner'), 'banner can be closed');
});

test('admin has no person access: a clear message, as the API says 403', async () => {
  const r = await api(srv.url, 'GET', '/api/v1/persons?region=6109', { token: adminToken });
  eq(r.status, 403, 'API: admin gets 403 on persons');
  await desk.goto(srv.url + '/#/region/6109');
  await regionShown(desk, '安康市');
  assert(await desk.isHidden('#mainnav a[data-nav="persons"]'), 'no 人员查询 menu item for admin');
  await desk.goto(srv.url + '/#/persons');
  const note = await desk.waitForSelector('#no-person-access');
  assert((await note.textContent()).includes('无人员查询权限'), 'message says no access');
});

test('logout, then a command user searches persons by name prefix (IDs masked)', async () => {
  // created as the admin would, with the initial password already changed
  await createUser(srv, adminToken, { username: CMD.username, role: 'command', scope: '6109', password: CMD.password });
  await desk.click('#logout');
  await desk.waitForSelector('#login-user');
  eq(await desk.evaluate(() => sessionStorage.getItem('fk.token')), null, 'token gone after logout');
  const s = await api(srv.url, 'POST', '/api/v1/sessions', { body: CMD });
  eq(s.status, 201, 'command session through the API');
  cmdToken = s.body.token;

  await desk.fill('#login-user', CMD.username);
  await desk.fill('#login-pass', CMD.password);
  await desk.click('#login-submit');
  await regionShown(desk, '安康市');
  eq(await desk.textContent('#user-role'), '指挥部', 'role label 指挥部');

  const pr = await api(srv.url, 'GET', '/api/v1/persons?region=610902&limit=20', { token: cmdToken });
  eq(pr.status, 200, 'API person list');
  assert(pr.body.items.length > 0, 'persons in 汉滨区');
  const p = pr.body.items.find(x => x.name.length >= 2) || pr.body.items[0];
  const prefix = p.name.slice(0, 2);

  await desk.click('#children-table a.rname:text-is("汉滨区")');
  await regionShown(desk, '汉滨区');
  await desk.click('#mainnav a[data-nav="persons"]');
  await desk.waitForSelector('#person-search');
  assert((await desk.textContent('#person-search .check')).includes('汉滨区'), 'search is within the current region');
  await desk.fill('#q-name', prefix);
  await desk.click('#q-submit');
  await desk.waitForSelector('#person-table tbody tr');
  const row = `#person-table tbody tr[data-id="${p.id}"]`;
  for (let i = 0; i < 40 && !(await desk.$(row)); i++) {
    assert(await desk.isVisible('#persons-more'), `person ${p.id} (${p.name}) not found with prefix ${prefix}`);
    await desk.click('#persons-more');
    await desk.waitForTimeout(200);
  }
  const names = await desk.$$eval('#person-table tbody tr a.pname', as => as.map(a => a.textContent));
  assert(names.every(n => n.startsWith(prefix)), `every result starts with ${prefix}`);
  const ids = await desk.$$eval('#person-table tbody td.idn', tds => tds.map(td => td.textContent));
  for (const id of ids) assert(ID_MASKED.test(id), `ID number masked in list: ${id}`);
  eq(await desk.textContent(`${row} td.idn`), p.id_number, 'the API masked ID is shown as is');
  assert(decodeURIComponent(desk.url()).includes(`name=${prefix}`), 'search is in the URL');
  await shot(desk, 'person-search');
  desk.chosen = p;
});

test('person detail, masking badge as the API says, household members', async () => {
  const p = desk.chosen;
  assert(p, 'a person was found');
  await desk.click(`#person-table tbody tr[data-id="${p.id}"] a.pname`);
  await desk.waitForSelector('#person-name');
  assert(desk.url().endsWith(`#/person/${p.id}`), `hash route: ${desk.url()}`);
  const d = await api(srv.url, 'GET', `/api/v1/persons/${p.id}`, { token: cmdToken });
  eq(d.status, 200, 'API person detail');
  assert((await desk.textContent('#person-name')).startsWith(d.body.name), 'name');
  eq(await desk.textContent('#person-idn'), d.body.id_number, 'ID number as the API returns it');
  eq(await desk.textContent('#person-phone'), d.body.phone, 'phone as the API returns it');
  eq(await desk.isVisible('#masked-badge'), d.body.masked === true, '已脱敏 badge when masked');
  if (d.body.masked) assert(ID_MASKED.test(d.body.id_number), 'masked ID');
  await shot(desk, 'person-detail');

  await desk.click('#household-link');
  await desk.waitForSelector('#member-table tbody tr');
  const ids = await desk.$$eval('#member-table tbody tr', trs => trs.map(tr => Number(tr.dataset.id)));
  assert(ids.includes(p.id), 'the person is a member of their household');
  await shot(desk, 'household');

  // exact ID number search finds exactly that person
  if (!d.body.masked) {
    await desk.goto(srv.url + `/#/persons?id=${d.body.id_number}`);
    await desk.waitForSelector('#person-table tbody tr');
    const found = await desk.$$eval('#person-table tbody tr', trs => trs.map(tr => Number(tr.dataset.id)));
    eq(found, [p.id], 'search by exact ID number');
  }
});

test('person list pages with 更多 as next_cursor says', async () => {
  const first = await api(srv.url, 'GET', '/api/v1/persons?region=6109&limit=50', { token: cmdToken });
  eq(first.status, 200, 'API person list of the city');
  assert(first.body.next_cursor, 'the city has more than 50 persons');
  const second = await api(srv.url, 'GET',
    `/api/v1/persons?region=6109&limit=50&cursor=${encodeURIComponent(first.body.next_cursor)}`, { token: cmdToken });
  await desk.goto(srv.url + '/#/persons?region=6109');
  await desk.waitForSelector('#person-table tbody tr');
  const ids = () => desk.$$eval('#person-table tbody tr', trs => trs.map(tr => Number(tr.dataset.id)));
  eq(await ids(), first.body.items.map(p => p.id), 'first page as the API lists it');
  await desk.click('#persons-more');
  await desk.waitForFunction(n => document.querySelectorAll('#person-table tbody tr').length > n, 50);
  eq(await ids(), [...first.body.items, ...second.body.items].map(p => p.id), 'second page appended');
  eq(await desk.isVisible('#persons-more'), !!second.body.next_cursor, '更多 only while there is more');
});

test('phone-size screen: no horizontal overflow on any page', async () => {
  phone = await newPage({ width: 390, height: 844 }, { isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await phone.goto(srv.url + '/');
  await phone.waitForSelector('#login-user');
  await noHorizontalOverflow(phone, 'login');
  await shot(phone, 'phone-login');
  await login(phone, CMD.username, CMD.password);
  await regionShown(phone, '安康市');
  await phone.waitForSelector('#pop-chart canvas');
  await phone.waitForTimeout(600);
  await noHorizontalOverflow(phone, 'city');
  await shot(phone, 'phone-region-city');
  await phone.click('#children-table a.rname:text-is("汉滨区")');
  await regionShown(phone, '汉滨区');
  await phone.waitForSelector('#pop-chart canvas');
  await phone.waitForTimeout(600);
  await noHorizontalOverflow(phone, 'county');
  await shot(phone, 'phone-region-county');
  const p = desk.chosen;
  await phone.goto(srv.url + `/#/persons?region=610902&name=${encodeURIComponent(p.name.slice(0, 1))}`);
  await phone.waitForSelector('#person-table tbody tr');
  await noHorizontalOverflow(phone, 'person search');
  await shot(phone, 'phone-person-search');
  await phone.goto(srv.url + `/#/person/${p.id}`);
  await phone.waitForSelector('#person-name');
  await noHorizontalOverflow(phone, 'person detail');
  await shot(phone, 'phone-person-detail');
  eq(phone.errors, [], 'no script errors on the phone');
  eq(desk.errors.filter(e => !/status of (401|403|404)/.test(e)), [], 'no script errors on the desktop');
});

test('an expired session goes back to login, then returns to the page', async () => {
  const token = await phone.evaluate(() => sessionStorage.getItem('fk.token'));
  const r = await api(srv.url, 'DELETE', '/api/v1/sessions/current', { token });
  eq(r.status, 204, 'session ended through the API');
  await phone.goto(srv.url + '/#/region/610902');
  await phone.waitForSelector('#login-user');
  assert((await phone.textContent('.login-form')).includes('登录已失效'), 'says the session expired');
  await phone.fill('#login-user', CMD.username);
  await phone.fill('#login-pass', CMD.password);
  await phone.click('#login-submit');
  await regionShown(phone, '汉滨区');
});

// Last: it locks logins from this address for a while.
test('too many failed logins: 429 shown with the wait time', async () => {
  const page = await newPage({ width: 1280, height: 800 });
  await page.goto(srv.url + '/');
  await page.waitForSelector('#login-user');
  let text = '';
  for (let i = 0; i < 8; i++) {
    await page.fill('#login-user', 'e2e.nobody');
    await page.fill('#login-pass', 'wrong-password-' + i);
    await page.click('#login-submit');
    await page.waitForFunction(() => {
      const e = document.querySelector('#login-error');
      return e && !e.hidden && e.textContent && !document.querySelector('#login-submit').textContent.includes('登录中');
    });
    text = await page.textContent('#login-error');
    if (text.includes('过多')) break;
    await page.waitForTimeout(50);
  }
  assert(text.includes('过多'), `429 message shown: ${text}`);
  assert(/\d+\s*(秒|分钟|小时)/.test(text), `wait time shown: ${text}`);
  assert(await page.isDisabled('#login-submit'), 'login button waits');
  await shot(page, 'login-locked');
});

await run();
