// Browser tests of the 用户管理 page (#/users): Debian chromium driven by
// playwright-core against a real server with a generated city (安康市, 6109).
//   node tests/e2e/test_users.mjs
// Screenshots go to build/test-logs/users-*.png.
// Every login here succeeds: the server throttles an address after 5 failures.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, newPage as newBrowserPage } from '../lib/browser.mjs';
import { test, run, startServer, api, assert, eq, ROOT, createUser } from '../lib/harness.mjs';

const SHOTS = join(ROOT, 'build', 'test-logs');
const CMD = { username: 'e2e.users.command', password: 'Command-users-2024!' };
const GRID_USER = 'e2e.grid.worker';
const ROLES = [
  ['admin', '管理员'], ['command', '指挥部'], ['tracer', '流调溯源组'], ['isolation', '转运隔离组'],
  ['tester', '核酸检测组'], ['lab', '实验室'], ['grid', '网格员'], ['sentinel', '哨点'],
  ['venue', '场所'], ['checkpoint', '卡口'],
];

let srv, browser, desk, adminToken;
let picked; // { county, town, community, grid } as the API describes them
let gridPassword; // the generated initial password of GRID_USER

// the whole page, or with `at` the screen with that element at its top
async function shot(page, name, at) {
  mkdirSync(SHOTS, { recursive: true });
  if (at) await page.$eval(at, e => e.scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: join(SHOTS, `users-${name}.png`), fullPage: !at });
}

const newPage = (viewport, extra) => newBrowserPage(browser, viewport, extra);

async function login(page, username, password) {
  await page.goto(srv.url + '/');
  await page.waitForSelector('#login-user');
  await page.fill('#login-user', username);
  await page.fill('#login-pass', password);
  await page.click('#login-submit');
  await page.waitForSelector('#figures', { timeout: 15000 });
}

// the console notes the 409 and 422 answers the tests provoke; anything else counts
const scriptErrors = page => page.errors.filter(e => !/status of (401|403|409|422)/.test(e));

async function noHorizontalOverflow(page, where) {
  const m = await page.evaluate(() => ({
    sw: document.documentElement.scrollWidth, iw: window.innerWidth, bw: document.body.scrollWidth,
  }));
  assert(m.sw <= m.iw && m.bw <= m.iw, `${where}: horizontal overflow, scrollWidth ${m.sw}/${m.bw} > innerWidth ${m.iw}`);
}

async function apiChildren(code) {
  const r = await api(srv.url, 'GET', `/api/v1/regions?parent=${code}&limit=100`, { token: adminToken });
  eq(r.status, 200, `GET children of ${code}`);
  return r.body.items;
}

async function apiUsers(query = 'limit=50') {
  const r = await api(srv.url, 'GET', `/api/v1/users?${query}`, { token: adminToken });
  eq(r.status, 200, 'GET /api/v1/users');
  return r.body;
}

const chosenCode = page => page.textContent('#scope-chosen-code').catch(() => null);

// Click a region in the picker and wait until it is the chosen one.
async function pick(page, code) {
  await page.click(`#scope-list .pick-item[data-code="${code}"]`);
  await page.waitForFunction(c => {
    const el = document.querySelector('#scope-chosen-code');
    return el && el.textContent === c;
  }, code);
}

// From the admin's roots down to 汉滨区 (the roots may be above the city).
async function pickCounty(page) {
  await page.waitForSelector('#scope-list .pick-item');
  const roots = await page.$$eval('#scope-list .pick-item', bs => bs.map(b => b.dataset.code));
  const chain = ['61', '6109', '610902'];
  const start = chain.findIndex(c => roots.includes(c));
  assert(start >= 0, `the picker starts at the admin's roots: ${roots.join(',')}`);
  for (const c of chain.slice(start)) await pick(page, c);
}

async function submitAndWaitError(page) {
  await page.click('#u-submit');
  await page.waitForSelector('#user-form-error:not([hidden])');
  await page.waitForFunction(() => !document.querySelector('#u-submit').disabled);
  return page.textContent('#user-form-error');
}

test('server and browser start; a command user exists', async () => {
  srv = await startServer({ persons: 3000 });
  browser = await launchBrowser();
  const s = await api(srv.url, 'POST', '/api/v1/sessions', { body: { username: 'admin', password: srv.adminPassword } });
  eq(s.status, 201, 'admin session through the API');
  adminToken = s.body.token;
  // created as the admin would, with the initial password already changed
  await createUser(srv, adminToken, { username: CMD.username, role: 'command', scope: '6109', password: CMD.password });

  // the region the test picks: 汉滨区 › its second town with communities ›
  // its last community with grids › that community's last grid
  const county = (await api(srv.url, 'GET', '/api/v1/regions/610902', { token: adminToken })).body;
  const towns = (await apiChildren('610902')).filter(t => t.children > 0);
  for (const town of [towns[1], ...towns].filter(Boolean)) {
    const community = (await apiChildren(town.code)).filter(c => c.children > 0).pop();
    if (!community) continue;
    const grid = (await apiChildren(community.code)).pop();
    picked = { county, town, community, grid };
    break;
  }
  assert(picked, '汉滨区 has a town with a community with a grid');
  eq(picked.grid.level, 6, 'the picked region is a grid');
});

test('admin sees 用户管理 in the nav; the list is the API list', async () => {
  desk = await newPage({ width: 1280, height: 800 });
  await desk.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
  await login(desk, 'admin', srv.adminPassword);
  assert(await desk.isVisible('#mainnav a[data-nav="users"]'), 'nav item 用户管理 visible for admin');
  eq(await desk.textContent('#mainnav a[data-nav="users"]'), '用户管理', 'nav item text');
  await desk.click('#mainnav a[data-nav="users"]');
  await desk.waitForSelector('#users-table tbody tr');
  assert(desk.url().endsWith('#/users'), `hash route: ${desk.url()}`);
  eq(await desk.getAttribute('#mainnav a[data-nav="users"]', 'aria-current'), 'page', 'nav item marked current');
  const list = await apiUsers();
  const names = await desk.$$eval('#users-table tbody tr', trs => trs.map(tr => tr.dataset.username));
  eq(names, list.items.map(u => u.username), 'usernames as the API lists them');
  const admin = '#users-table tbody tr[data-username="admin"]';
  eq(await desk.textContent(`${admin} td.role`), '管理员', 'admin role label');
  eq(await desk.textContent(`${admin} .scope-name`), '全部', 'admin scope');
  eq(await desk.textContent(`${admin} td.state`), '正常', 'admin not disabled');
  const cmd = `#users-table tbody tr[data-username="${CMD.username}"]`;
  eq(await desk.textContent(`${cmd} td.role`), '指挥部', 'command role label');
  eq(await desk.textContent(`${cmd} .scope-name`), '安康市', 'command scope name');
  eq(await desk.textContent(`${cmd} td.scope .code`), '6109', 'command scope code');
  eq(await desk.textContent(`${cmd} td.by`), 'admin', 'created by admin');
  const at = list.items.find(u => u.username === CMD.username).created_at;
  eq(await desk.textContent(`${cmd} td.created`), at.slice(0, 16).replace('T', ' '), 'created_at shown to the minute');
});

test('the role select has the ten roles with their labels', async () => {
  const opts = await desk.$$eval('#u-role option', os => os.map(o => [o.value, o.textContent]));
  eq(opts.filter(([v]) => v).map(([v]) => v), ROLES.map(([v]) => v), 'role values');
  for (const [v, label] of ROLES) {
    assert(opts.some(([ov, t]) => ov === v && t.includes(label)), `role ${v} labelled ${label}`);
  }
  eq(await desk.inputValue('#u-role'), '', 'no role chosen up front');
});

test('region picker: county → town → community → grid, and back up the path', async () => {
  eq(await chosenCode(desk), null, 'nothing chosen up front');
  await pickCounty(desk);
  eq(await desk.textContent('#scope-chosen-name'), '汉滨区', 'county chosen');
  const towns = await desk.$$eval('#scope-list .pick-item', bs => bs.map(b => b.dataset.code));
  eq(towns, (await apiChildren('610902')).map(t => t.code), 'the towns of 汉滨区, as the API lists them');
  await shot(desk, 'picker', '#scope-picker');
  const { town, community, grid } = picked;
  await pick(desk, town.code);
  await pick(desk, community.code);
  // back up to the town through the path, then down again
  await desk.click(`#scope-path .crumb-btn[data-code="${town.code}"]`);
  await desk.waitForFunction(c => document.querySelector('#scope-chosen-code')?.textContent === c, town.code);
  await desk.waitForSelector(`#scope-list .pick-item[data-code="${community.code}"]`);
  await pick(desk, community.code);
  await pick(desk, grid.code);
  eq(await desk.textContent('#scope-chosen-name'), grid.name, 'grid name shown');
  eq(await desk.textContent('#scope-chosen-code'), grid.code, 'grid code shown');
  eq(await desk.getAttribute(`#scope-list .pick-item[data-code="${grid.code}"]`, 'aria-pressed'), 'true', 'grid marked chosen');
  const path = await desk.textContent('#scope-chosen');
  for (const r of [picked.county, town, community]) assert(path.includes(r.name), `chosen path names ${r.name}: ${path}`);
  // a grid has no children: its siblings stay listed
  const sibs = await desk.$$eval('#scope-list .pick-item', bs => bs.map(b => b.dataset.code));
  eq(sibs, (await apiChildren(community.code)).map(g => g.code), 'the grids of the community stay listed');
});

test('admin creates a grid worker; the generated password is shown once and works', async () => {
  const { grid } = picked;
  await desk.fill('#u-name', GRID_USER);
  await desk.selectOption('#u-role', 'grid');
  await shot(desk, 'form');
  await desk.click('#u-submit');
  await desk.waitForSelector('#new-password');
  const pw = (await desk.textContent('#new-password-value')).trim();
  gridPassword = pw;
  assert(pw.length >= 10, `generated password of ${pw.length} characters`);
  const warn = await desk.textContent('#new-password-warning');
  assert(warn.includes('只显示这一次'), `warning says it is shown once: ${warn}`);
  assert((await desk.textContent('#new-password')).includes(grid.code), 'the box names the scope code');
  eq(await desk.isVisible('#user-form-error'), false, 'no error');
  eq(await desk.inputValue('#u-name'), '', 'username cleared for the next account');

  await desk.click('#copy-password');
  await desk.waitForFunction(() => document.querySelector('#copy-status')?.textContent);
  eq(await desk.textContent('#copy-status'), '已复制到剪贴板', 'copy confirmed');
  eq(await desk.evaluate(() => navigator.clipboard.readText()), pw, 'clipboard holds the password');

  // the new user logs in through the API and has exactly the scope picked
  const s = await api(srv.url, 'POST', '/api/v1/sessions', { body: { username: GRID_USER, password: pw } });
  eq(s.status, 201, 'new user logs in with the generated password');
  eq(s.body.password_change_required, true, 'the admin knows it: it must be changed');
  eq((await api(srv.url, 'GET', '/api/v1/regions', { token: s.body.token })).status, 403, 'nothing else until then');
  const me = await api(srv.url, 'GET', '/api/v1/me', { token: s.body.token });
  eq(me.status, 200, 'GET /me');
  eq(me.body.scope, grid.code, 'scope is the grid picked');
  eq(me.body.role, 'grid', 'role grid');
  eq(me.body.role_label, '网格员', 'role label');

  // the list was reloaded and shows the new user
  const row = `#users-table tbody tr[data-username="${GRID_USER}"]`;
  await desk.waitForSelector(row);
  eq(await desk.textContent(`${row} td.role`), '网格员', 'listed role');
  eq(await desk.textContent(`${row} .scope-name`), grid.name, 'listed scope name');
  eq(await desk.textContent(`${row} td.scope .code`), grid.code, 'listed scope code');
  eq(await desk.textContent(`${row} td.by`), 'admin', 'listed creator');
  eq(await desk.textContent(`${row} td.state`), '正常', 'listed as enabled');
  const listed = (await apiUsers()).items.find(u => u.username === GRID_USER);
  eq(listed && listed.scope, grid.code, 'API list has the new user with that scope');
  await shot(desk, 'created');

  await desk.click('#new-password-done');
  await desk.waitForSelector('#new-password', { state: 'detached' });
  assert(!(await desk.evaluate(p => document.body.innerHTML.includes(p), pw)), 'password gone from the page');
});

test('a duplicate username shows the 409 message next to the form', async () => {
  const dup = await api(srv.url, 'POST', '/api/v1/users', {
    token: adminToken, body: { username: GRID_USER, role: 'grid', scope: picked.grid.code },
  });
  eq(dup.status, 409, 'API: duplicate is 409');
  await desk.fill('#u-name', GRID_USER);
  const text = await submitAndWaitError(desk);
  assert(text.includes(dup.body.error.message), `409 message shown: ${text}`);
  assert(text.includes('已被使用'), `says the name is taken: ${text}`);
  eq(await desk.$('#new-password'), null, 'no password box');
  const inForm = await desk.$eval('#user-form-error', e => !!e.closest('#user-form'));
  assert(inForm, 'the message is in the form');
  await shot(desk, '409');
});

test('a too-short password shows the 422 message next to the form', async () => {
  const body = { username: 'e2e.short.pw', role: 'grid', scope: picked.grid.code, password: 'short-123' };
  const weak = await api(srv.url, 'POST', '/api/v1/users', { token: adminToken, body });
  eq(weak.status, 422, 'API: a 9-character password is 422');
  await desk.fill('#u-name', body.username);
  await desk.fill('#u-pass', body.password);
  const text = await submitAndWaitError(desk);
  assert(text.includes(weak.body.error.message), `422 message shown: ${text}`);
  eq(await desk.$('#new-password'), null, 'no password box');
  assert(!(await apiUsers('limit=1000')).items.some(u => u.username === body.username), 'no user was created');
  await shot(desk, '422');
  // a password of 10 characters is accepted, and nothing is shown for it
  await desk.fill('#u-pass', 'Long-enough');
  await desk.click('#u-submit');
  await desk.waitForSelector('#user-created');
  eq(await desk.$('#new-password'), null, 'no password shown when the admin set one');
  eq(await desk.isVisible('#user-form-error'), false, 'error cleared');
  const s = await api(srv.url, 'POST', '/api/v1/sessions', { body: { username: body.username, password: 'Long-enough' } });
  eq(s.status, 201, 'user with the chosen password logs in');
});

test('user list pages with 更多 as next_cursor says', async () => {
  // enough users for a second page
  const have = (await apiUsers('limit=1000')).items.length;
  for (let i = 0; have + i <= 55; i++) {
    const r = await api(srv.url, 'POST', '/api/v1/users', {
      token: adminToken,
      body: { username: `e2e.page.${String(i).padStart(2, '0')}`, role: 'venue', scope: '610902', password: 'Paging-user-2024' },
    });
    eq(r.status, 201, `create paging user ${i}`);
  }
  const first = await apiUsers('limit=50');
  assert(first.next_cursor, 'more than one page');
  const second = await apiUsers(`limit=50&cursor=${encodeURIComponent(first.next_cursor)}`);
  await desk.reload();
  await desk.waitForSelector('#users-table tbody tr');
  const names = () => desk.$$eval('#users-table tbody tr', trs => trs.map(tr => tr.dataset.username));
  eq(await names(), first.items.map(u => u.username), 'first page as the API lists it');
  assert(await desk.isVisible('#users-more'), '更多 shown');
  await desk.click('#users-more');
  await desk.waitForFunction(n => document.querySelectorAll('#users-table tbody tr').length > n, 50);
  eq(await names(), [...first.items, ...second.items].map(u => u.username), 'second page appended');
  eq(await desk.isVisible('#users-more'), !!second.next_cursor, '更多 only while there is more');
  eq(scriptErrors(desk), [], 'no script errors on the desktop');
});

test('a non-admin has no 用户管理 item, and #/users says there is no access', async () => {
  const page = await newPage({ width: 1280, height: 800 });
  await login(page, CMD.username, CMD.password);
  eq(await page.textContent('#user-role'), '指挥部', 'logged in as command');
  eq(await page.isVisible('#mainnav a[data-nav="users"]'), false, 'no 用户管理 in the nav');
  const s = await api(srv.url, 'POST', '/api/v1/sessions', { body: CMD });
  eq((await api(srv.url, 'GET', '/api/v1/users', { token: s.body.token })).status, 403, 'API: command gets 403');
  await page.goto(srv.url + '/#/users');
  const note = await page.waitForSelector('#no-users-access');
  assert((await note.textContent()).includes('无用户管理权限'), 'says there is no access');
  eq(await page.$('#user-form'), null, 'no form');
  eq(await page.$('#users-table'), null, 'no list');
  await shot(page, 'no-access');
  eq(scriptErrors(page), [], 'no script errors');
});

test('the new grid worker logs in on a phone, must change the initial password, then sees the grid', async () => {
  const { grid } = picked;
  const phone = await newPage({ width: 390, height: 844 }, { isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await phone.goto(srv.url + '/');
  await phone.waitForSelector('#login-user');
  await phone.fill('#login-user', GRID_USER);
  await phone.fill('#login-pass', gridPassword);
  await phone.click('#login-submit');
  await phone.waitForSelector('#pw-form');
  assert(phone.url().endsWith('#/password'), `on the password page: ${phone.url()}`);
  eq(await phone.textContent('#password-change h1'), '修改初始密码', 'title');
  eq(await phone.isVisible('#mainnav'), false, 'no menu before the change');
  assert(await phone.isVisible('#logout'), 'logging out stays possible');
  eq(await phone.$('#figures'), null, 'no region figures yet');
  await noHorizontalOverflow(phone, 'password form');
  await shot(phone, 'phone-password', 'body');
  // no way around the form
  await phone.goto(srv.url + '/#/region');
  await phone.waitForFunction(() => location.hash === '#/password' && document.querySelector('#pw-form'));

  const submit = async () => {
    await phone.click('#pw-submit');
    await phone.waitForSelector('#pw-error:not([hidden])');
    await phone.waitForFunction(() => !document.querySelector('#pw-submit').disabled);
    return phone.textContent('#pw-error');
  };
  const chosen = 'Grid-worker-own-1';
  await phone.fill('#pw-old', gridPassword);
  await phone.fill('#pw-new', chosen);
  await phone.fill('#pw-again', chosen + 'x');
  assert((await submit()).includes('两次输入的新密码不一致'), 'mismatch explained');
  await phone.fill('#pw-new', 'short-1');
  await phone.fill('#pw-again', 'short-1');
  assert((await submit()).includes('至少需要 10 个字符'), 'weak password explained');
  // a wrong old password: the server's 401, and the session stays
  await phone.fill('#pw-old', 'not-the-initial-one');
  await phone.fill('#pw-new', chosen);
  await phone.fill('#pw-again', chosen);
  assert((await submit()).includes('原密码错误'), 'wrong old password explained');
  assert(phone.url().endsWith('#/password'), 'still on the form, still signed in');
  await noHorizontalOverflow(phone, 'password form with a message');

  await phone.fill('#pw-old', gridPassword);
  await phone.fill('#pw-new', chosen);
  await phone.fill('#pw-again', chosen);
  await phone.click('#pw-submit');
  await phone.waitForFunction(n => {
    const h = document.querySelector('.region-head h1');
    return h && h.textContent === n && document.querySelector('#figures');
  }, grid.name, { timeout: 15000 });
  eq(await phone.textContent('#user-role'), '网格员', 'signed in as the grid worker');
  eq(await phone.isVisible('#mainnav'), true, 'the menu is back');
  await noHorizontalOverflow(phone, 'grid after the change');
  await shot(phone, 'phone-grid', 'body');
  // the password really changed
  eq((await api(srv.url, 'POST', '/api/v1/sessions', { body: { username: GRID_USER, password: gridPassword } })).status, 401, 'initial password refused');
  const s = await api(srv.url, 'POST', '/api/v1/sessions', { body: { username: GRID_USER, password: chosen } });
  eq([s.status, s.body.password_change_required], [201, false], 'the chosen password works');
  eq(scriptErrors(phone), [], 'no script errors');
});

test('phone-size screen: the users page has no horizontal overflow', async () => {
  const phone = await newPage({ width: 390, height: 844 }, { isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await login(phone, 'admin', srv.adminPassword);
  assert(await phone.isVisible('#mainnav a[data-nav="users"]'), 'nav item on the phone');
  await phone.click('#mainnav a[data-nav="users"]');
  await phone.waitForSelector('#users-table tbody tr');
  await noHorizontalOverflow(phone, 'users page');
  await shot(phone, 'phone', 'body');
  await shot(phone, 'phone-list', '.users-list');
  await pickCounty(phone);
  await pick(phone, picked.town.code);
  await pick(phone, picked.community.code);
  await pick(phone, picked.grid.code);
  await noHorizontalOverflow(phone, 'picker at a grid');
  await shot(phone, 'phone-picker', '#scope-picker');
  await phone.fill('#u-name', 'e2e.phone.grid');
  await phone.selectOption('#u-role', 'grid');
  await phone.click('#u-submit');
  await phone.waitForSelector('#new-password');
  await noHorizontalOverflow(phone, 'password box');
  await shot(phone, 'phone-created', '.user-create');
  await phone.fill('#u-name', 'e2e.phone.grid');
  await submitAndWaitError(phone);
  await noHorizontalOverflow(phone, '409 message');
  await shot(phone, 'phone-409', '#scope-picker');
  eq(scriptErrors(phone), [], 'no script errors on the phone');
});

await run();
