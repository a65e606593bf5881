// Browser tests of the health-code pages: a citizen's 我的健康码 (colour,
// every rule with its reason and end, the QR image, appeals), the health
// roles' 纠错 queue and 赋码复核 (two distinct approvers; a self-approval
// shows the server's refusal), a person's code on the staff person page
// at a chosen moment, and the policy in force.  Debian chromium via
// playwright-core.
//   node tests/e2e/test_code.mjs
// The server runs on a fixed clock (FANGKONG_NOW), so nothing here depends
// on the time of day.  Expected rule ends are computed here from the facts
// inserted and the day count in policy/protocol-9.ini.
// Screenshots go to build/test-logs/code-*.png.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, newPage } from '../lib/browser.mjs';
import { test, run, startServer, api, sql, eq, assert, ROOT, createUser } from '../lib/harness.mjs';

const SHOTS = join(ROOT, 'build', 'test-logs');
const NOW = '2022-06-05T10:00:00+08:00';
const T = Date.parse(NOW) / 1000;
const H = 3600, D = 86400;

// "2022-06-12 10:00" for Unix seconds, China Standard Time, written here
const fmt = t => new Date((t + 8 * H) * 1000).toISOString().slice(0, 16).replace('T', ' ');
// masking as the API describes it, written independently of the server
const maskName = n => { const c = [...n]; return c.length < 2 ? '*' : c[0] + '*'.repeat(c.length - (c.length >= 3 ? 2 : 1)) + (c.length >= 3 ? c[c.length - 1] : ''); };

// the secondary-contact days of protocol 9, from the shipped file
function iniValue(file, section, key) {
  let cur = '';
  for (const line of readFileSync(join(ROOT, 'policy', file), 'utf8').split('\n')) {
    const s = /^\s*\[([^\]]+)\]/.exec(line);
    if (s) { cur = s[1].trim(); continue; }
    const kv = /^\s*([\w.]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (kv && cur === section && kv[1] === key) return kv[2];
  }
  throw new Error(`${file}: no ${section}.${key}`);
}
const SECONDARY_DAYS = Number(iniValue('protocol-9.ini', 'secondary_contact', 'days'));

const S = await startServer({ persons: 1500, seed: 31, env: { FANGKONG_NOW: NOW } });
const login = async (username, password) => (await api(S.url, 'POST', '/api/v1/sessions', { body: { username, password } })).body.token;
const admin = await login('admin', S.adminPassword);

// ---- the facts: P is a secondary contact of C's case (through V) and has
// an open fever alert, so P's code is yellow with two rules
const persons = sql(S.db, 'SELECT id, id_number, name, grid_code, coalesce(household_id, -id) FROM persons ORDER BY id LIMIT 200')
  .split('\n').map(l => { const [id, idn, name, grid, hh] = l.split('|'); return { id: +id, idn, name, grid, hh: +hh }; });
const P = persons[0];
const others = persons.filter(x => x.hh !== P.hh);
const C = others[0], V = others.find(x => x.hh !== C.hh);
const EXPOSURE = T - D, FOUND = T - 20 * H, FEVER = T - 3 * H;
const SAMPLED = T - 30 * H, RESULTED = T - 26 * H;
sql(S.db, `
  INSERT INTO cases(person_id, classification, onset_at, first_positive_at, chain_id, created_at, created_by)
    VALUES (${C.id}, 'confirmed', ${T - 2 * D}, ${T - 30 * H}, 1, ${T - 28 * H}, 'e2e');
  INSERT INTO contacts(person_id, case_id, degree, exposure_at, via_person, household, found_at)
    VALUES (${P.id}, (SELECT id FROM cases WHERE person_id = ${C.id}), 2, ${EXPOSURE}, ${V.id}, 0, ${FOUND});
  INSERT INTO alerts(kind, person_id, region_code, at, detail)
    VALUES ('fever', ${P.id}, '${P.grid}', ${FEVER}, '37.9');
  INSERT INTO test_results(person_id, sampled_at, resulted_at, result, pooled, tube, lab)
    VALUES (${P.id}, ${SAMPLED}, ${RESULTED}, 'negative', 10, 'T-0001', 'lab-1');`);

// ---- accounts
const CITIZEN = { username: 'e2e.citizen', password: 'citizen-pass-9' };
const TESTER = { username: 'e2e.tester', password: 'tester-pass-99' };
const TRACER = { username: 'e2e.tracer', password: 'tracer-pass-99' };
{
  const initial = 'initial-e2e-citizen-0';
  const c = await api(S.url, 'POST', '/api/v1/users', { token: admin, body: { username: CITIZEN.username, role: 'citizen', person: P.idn, password: initial } });
  if (c.status !== 201) throw new Error(`cannot create the citizen: ${c.status} ${c.text}`);
  const t = await login(CITIZEN.username, initial);
  const p = await api(S.url, 'POST', '/api/v1/me/password', { token: t, body: { old_password: initial, new_password: CITIZEN.password } });
  if (p.status !== 204) throw new Error(p.text);
}
const testerTok = await createUser(S, admin, { ...TESTER, role: 'tester', scope: '6109' });
await createUser(S, admin, { ...TRACER, role: 'tracer', scope: '6109' });
const citizenTok = await login(CITIZEN.username, CITIZEN.password);
const tracerTok = await login(TRACER.username, TRACER.password);

let browser, phone, desk, staff2;
const shot = async (page, name) => {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `code-${name}.png`), fullPage: true });
};
// the console notes the 4xx answers the tests provoke; anything else counts
const scriptErrors = page => page.errors.filter(e => !/status of (401|403|404|409|422)/.test(e));

async function uiLogin(page, { username, password }) {
  await page.goto(S.url + '/');
  await page.waitForSelector('#login-user');
  await page.fill('#login-user', username);
  await page.fill('#login-pass', password);
  await page.click('#login-submit');
  await page.waitForSelector('#userbox:not([hidden])', { timeout: 15000 });
}
const text = (page, sel) => page.textContent(sel).then(t => (t || '').replace(/\s+/g, ' ').trim());
async function openMyCode(page) {
  await page.goto(`${S.url}/#/code`);
  await page.reload();
  await page.waitForSelector('#code-card[data-colour]', { timeout: 15000 });
}

test('the fixture gives the citizen a yellow code with two rules (API)', async () => {
  const r = await api(S.url, 'GET', '/api/v1/me/code', { token: citizenTok });
  eq(r.status, 200, r.text);
  eq(r.body.colour, 'yellow');
  eq(r.body.rules.map(x => x.rule).sort(), ['fever', 'secondary']);
});

test('a citizen lands on 我的健康码: 黄码, masked name, every rule with its reason and end', async () => {
  browser = await launchBrowser();
  phone = await newPage(browser, { width: 390, height: 844 }, { isMobile: true, hasTouch: true });
  await uiLogin(phone, CITIZEN);
  await phone.waitForSelector('#code-card[data-colour]', { timeout: 15000 });
  eq(new URL(phone.url()).hash, '#/code', 'a citizen lands on the code page');
  eq(await phone.getAttribute('#code-card', 'data-colour'), 'yellow');
  eq(await text(phone, '#code-colour'), '黄码');
  eq(await text(phone, '#code-name'), maskName(P.name));
  assert(await phone.isHidden('#mainnav a[data-nav="persons"]'), 'no person search for a citizen');
  assert(await phone.isHidden('#mainnav a[data-nav="region"]'), 'no region page for a citizen');
  const api1 = (await api(S.url, 'GET', '/api/v1/me/code', { token: citizenTok })).body;
  eq(await text(phone, '#code-policy'), api1.policy_version);
  eq(await text(phone, '#code-at'), fmt(T), 'the time of the code is the server\'s');
  // every active rule with its reason, evidence and end
  eq(await phone.locator('#code-rules li.rule').count(), api1.rules.length);
  for (const r of api1.rules) {
    const li = `#code-rules li.rule[data-rule="${r.rule}"]`;
    assert((await text(phone, `${li} .reason-zh`)).includes(r.reason_zh.trim()), `reason of ${r.rule}`);
    if (r.evidence) assert((await text(phone, li)).includes(r.evidence.trim()), `evidence of ${r.rule}`);
  }
  const secEnd = EXPOSURE + SECONDARY_DAYS * D;
  assert((await text(phone, '#code-rules li.rule[data-rule="secondary"] .rule-time')).includes(`至 ${fmt(secEnd)} 结束`),
    `the secondary contact ends ${SECONDARY_DAYS} days after the exposure: ${fmt(secEnd)}`);
  assert((await text(phone, '#code-rules li.rule[data-rule="fever"] .rule-time')).includes('结束时间未定'),
    'an open fever alert has no end');
  // recent tests
  eq(await phone.locator('#code-tests tbody tr').count(), 1);
  assert((await text(phone, '#code-tests tbody tr')).includes(fmt(SAMPLED)) && (await text(phone, '#code-tests')).includes('阴性'), 'the negative test');
  await shot(phone, 'yellow');
});

test('the QR image loads, with a countdown to its refresh', async () => {
  await phone.waitForFunction(() => { const i = document.querySelector('#code-qr'); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 10000 });
  const w = await phone.$eval('#code-qr', i => i.naturalWidth);
  assert(w >= 21, `a QR image ${w} px wide`);
  const api1 = (await api(S.url, 'GET', '/api/v1/me/code', { token: citizenTok })).body;
  const life = (Date.parse(api1.token_expires) - Date.parse(api1.at)) / 1000;
  const left = Number(await phone.getAttribute('#code-countdown', 'data-left'));
  assert(left > 0 && left <= life, `countdown ${left} s within the token's ${life} s`);
  assert(!(await phone.$eval('.qr-box', b => b.classList.contains('expired'))), 'not shown as expired');
});

let appealId;
test('a citizen files an appeal and sees it listed', async () => {
  await phone.click('#appeal-submit');
  await phone.waitForSelector('#appeal-msg:not([hidden])');
  assert((await text(phone, '#appeal-msg')).includes('纠错理由'), 'an empty appeal is refused by the form');
  await phone.fill('#appeal-text', '我没有去过该场所，申请核查次密接判定。');
  await phone.click('#appeal-submit');
  await phone.waitForSelector('#code-appeals li.appeal[data-status="open"]', { timeout: 15000 });
  appealId = Number(sql(S.db, `SELECT id FROM appeals WHERE person_id = ${P.id} AND text = '我没有去过该场所，申请核查次密接判定。' AND status = 'open'`));
  assert(appealId > 0, 'the appeal is stored, open, against the citizen');
  assert((await text(phone, `#code-appeals li.appeal[data-id="${appealId}"]`)).includes('我没有去过该场所'), 'listed with its text');
});

let lateId;
test('a health user sees the appeal in the 纠错 queue, an overdue one highlighted', async () => {
  // an appeal of V filed three days ago, due yesterday, still open
  sql(S.db, `INSERT INTO appeals(person_id, colour, rules, text, filed_by, filed_at, due_at, policy_version)
    VALUES (${V.id}, 'yellow', '[]', '早前的申请：已超期未答复。', (SELECT id FROM users WHERE username = '${CITIZEN.username}'),
            ${T - 3 * D}, ${T - D}, 'protocol-9')`);
  lateId = Number(sql(S.db, "SELECT id FROM appeals WHERE text = '早前的申请：已超期未答复。'"));
  desk = await newPage(browser, { width: 1366, height: 900 });
  await uiLogin(desk, TRACER);
  assert(!(await desk.isHidden('#nav-appeals')), '纠错 in the nav of a health role');
  await desk.click('#nav-appeals');
  const row = `#ap-list li.ap-item[data-id="${appealId}"]`;
  await desk.waitForSelector(row, { timeout: 15000 });
  assert((await text(desk, row)).includes('我没有去过该场所'), 'the appeal text');
  eq(await desk.getAttribute(row, 'data-overdue'), 'false', 'filed now: not overdue');
  const late = `#ap-list li.ap-item[data-id="${lateId}"]`;
  eq(await desk.getAttribute(late, 'data-overdue'), 'true');
  assert(await desk.$eval(late, e => e.classList.contains('overdue')), 'highlighted');
  assert((await text(desk, '#ap-overdue-count')).includes('1 件已超期'), 'the count of overdue appeals');
  await desk.click('#ap-filter .seg-btn[data-v="overdue"]');
  await desk.waitForSelector(row, { state: 'detached' });
  await desk.waitForSelector(late); // the filtered list is drawn (it is empty for a moment)
  eq(await desk.$$eval('#ap-list li.ap-item', l => l.map(e => Number(e.dataset.id))), [lateId], 'only the overdue one');
  await shot(desk, 'appeals');
  await desk.click('#ap-filter .seg-btn[data-v="all"]');
  await desk.waitForSelector(row);
});

test('deciding an appeal in the queue', async () => {
  const row = `#ap-list li.ap-item[data-id="${appealId}"]`;
  await desk.selectOption(`${row} .ap-outcome-sel`, 'upheld');
  await desk.fill(`${row} .ap-decide-text`, '经核查扫码记录，次密接判定无误，维持原码。');
  await desk.click(`${row} .ap-decide`);
  await desk.waitForSelector('#ap-action-msg.form-info', { timeout: 15000 });
  await desk.waitForSelector(row, { state: 'detached' });
  eq(sql(S.db, `SELECT status || '|' || outcome FROM appeals WHERE id = ${appealId}`), 'upheld|经核查扫码记录，次密接判定无误，维持原码。');
});

test('the citizen sees the outcome of the appeal', async () => {
  await openMyCode(phone);
  const li = `#code-appeals li.appeal[data-id="${appealId}"]`;
  await phone.waitForSelector(`${li}[data-status="upheld"]`, { timeout: 15000 });
  const t = await text(phone, `${li} .ap-outcome`);
  assert(t.includes('维持原码') && t.includes('次密接判定无误'), `outcome shown: ${t}`);
});

test('a citizen may withdraw an open appeal', async () => {
  await phone.fill('#appeal-text', '第二次申请：测试撤回。');
  await phone.click('#appeal-submit');
  await phone.waitForSelector('#code-appeals li.appeal[data-status="open"] .ap-withdraw', { timeout: 15000 });
  const id = await phone.getAttribute('#code-appeals li.appeal[data-status="open"]', 'data-id');
  await phone.click(`#code-appeals li.appeal[data-id="${id}"] .ap-withdraw`);
  await phone.waitForSelector(`#code-appeals li.appeal[data-id="${id}"][data-status="withdrawn"]`, { timeout: 15000 });
  eq(sql(S.db, `SELECT status FROM appeals WHERE id = ${Number(id)}`), 'withdrawn');
});

let ovrId;
test('赋码复核: a request through the form is stored pending', async () => {
  staff2 = await newPage(browser, { width: 1280, height: 900 });
  await uiLogin(staff2, TESTER);
  await staff2.click('#nav-overrides');
  await staff2.waitForSelector('#ovr-form');
  // the form's own check: a malformed ID number
  await staff2.fill('#ovr-ids', '12345');
  await staff2.click('#ovr-submit');
  await staff2.waitForSelector('#ovr-msg:not([hidden])');
  assert((await text(staff2, '#ovr-msg')).includes('身份证号格式不正确'), 'malformed ID number');
  await staff2.fill('#ovr-ids', `${P.idn}\n`);
  await staff2.selectOption('#ovr-colour', 'green');
  await staff2.selectOption('#ovr-category', 'data_error');
  await staff2.fill('#ovr-reason', '发热报告系录入错误，已电话核实体温正常。');
  await staff2.fill('#ovr-end', '2022-06-07T10:00');
  await staff2.click('#ovr-submit');
  await staff2.waitForSelector('#ovr-msg.form-info', { timeout: 15000 });
  ovrId = Number(sql(S.db, `SELECT o.id FROM overrides o JOIN users u ON u.id = o.requested_by WHERE u.username = '${TESTER.username}' AND o.status = 'pending'`));
  assert(ovrId > 0, 'stored pending, requested by the tester');
  eq(sql(S.db, `SELECT colour || '|' || category || '|' || end_at FROM overrides WHERE id = ${ovrId}`), `green|data_error|${T + 2 * D}`);
  eq(sql(S.db, `SELECT group_concat(person_id) FROM override_persons WHERE override_id = ${ovrId}`), String(P.id));
  await staff2.waitForSelector(`#ovr-pending li.ovr-item[data-id="${ovrId}"]`, { timeout: 15000 });
});

test('approving one\'s own request shows the server\'s refusal', async () => {
  const row = `#ovr-pending li.ovr-item[data-id="${ovrId}"]`;
  await staff2.click(`${row} .ovr-approve`);
  await staff2.waitForSelector(`${row} .row-msg:not([hidden])`, { timeout: 15000 });
  // the same request over the API: refused (and nothing changes either way)
  const r = await api(S.url, 'POST', `/api/v1/overrides/${ovrId}/approve`, { token: testerTok });
  eq(r.status, 403, r.text);
  const shown = await text(staff2, `${row} .row-msg`);
  assert(shown.includes(r.body.error.message), `the server's message is shown: ${shown}`);
  eq(sql(S.db, `SELECT status FROM overrides WHERE id = ${ovrId}`), 'pending');
  // the citizen is still yellow
  eq((await api(S.url, 'GET', '/api/v1/me/code', { token: citizenTok })).body.colour, 'yellow');
  await shot(staff2, 'self-approval');
});

test('a second health user approves; the citizen\'s code turns green, naming both', async () => {
  await desk.click('#nav-overrides');
  const row = `#ovr-pending li.ovr-item[data-id="${ovrId}"]`;
  await desk.waitForSelector(row, { timeout: 15000 });
  await desk.click(`${row} .ovr-approve`);
  await desk.waitForSelector(`#ovr-active li.ovr-item[data-id="${ovrId}"]`, { timeout: 15000 });
  eq(sql(S.db, `SELECT o.status || '|' || u.username FROM overrides o JOIN users u ON u.id = o.approved_by WHERE o.id = ${ovrId}`), `active|${TRACER.username}`);
  await openMyCode(phone);
  await phone.waitForFunction(() => document.querySelector('#code-card').dataset.colour === 'green', null, { timeout: 15000 });
  eq(await text(phone, '#code-colour'), '绿码');
  assert(await phone.isVisible('#code-overridden'), 'marked as a manual override');
  const li = await text(phone, `#code-overrides li.override[data-id="${ovrId}"]`);
  for (const want of [TESTER.username, TRACER.username, '数据错误', '2022-06-07 10:00'])
    assert(li.includes(want), `the override shows ${want}: ${li}`);
  await shot(phone, 'green');
});

test('a person\'s code on the staff person page, now and at an earlier moment', async () => {
  await desk.goto(`${S.url}/#/person/${P.id}`);
  await desk.waitForSelector('#person-code #pcode-colour', { timeout: 15000 });
  eq(await desk.getAttribute('#pcode-colour', 'data-colour'), 'green');
  assert(await desk.isVisible('#pcode-overridden'), 'overridden now');
  // one hour before now: before the approval, after the fever and the contact
  await desk.fill('#pcode-at', '2022-06-05T09:00');
  await desk.click('#pcode-go');
  await desk.waitForFunction(() => /历史/.test(document.querySelector('#pcode-when').textContent), null, { timeout: 15000 });
  await desk.waitForSelector('#pcode-colour');
  const r = await api(S.url, 'GET', `/api/v1/persons/${P.id}/code?at=${encodeURIComponent('2022-06-05T09:00:00+08:00')}`, { token: tracerTok });
  eq(r.status, 200, r.text);
  eq(r.body.colour, 'yellow');
  eq(await desk.getAttribute('#pcode-colour', 'data-colour'), 'yellow');
  eq(await desk.locator('#pcode-rules li.rule').count(), r.body.rules.length);
  assert((await text(desk, '#pcode-rules li.rule[data-rule="secondary"] .rule-time')).includes(`至 ${fmt(EXPOSURE + SECONDARY_DAYS * D)} 结束`), 'the end at that moment');
  eq(scriptErrors(desk), [], 'no script errors');
});

test('revoking the override: the citizen is yellow again', async () => {
  await desk.click('#nav-overrides');
  const row = `#ovr-active li.ovr-item[data-id="${ovrId}"]`;
  await desk.waitForSelector(row, { timeout: 15000 });
  await desk.click(`${row} .ovr-revoke`);
  await desk.waitForSelector(row, { state: 'detached', timeout: 15000 });
  eq(sql(S.db, `SELECT status FROM overrides WHERE id = ${ovrId}`), 'revoked');
  await openMyCode(phone);
  eq(await phone.getAttribute('#code-card', 'data-colour'), 'yellow');
  assert(await phone.isHidden('#code-overridden'), 'no longer overridden');
  eq(await phone.getAttribute(`#code-overrides li.override[data-id="${ovrId}"]`, 'data-status'), 'revoked');
});

test('the policy in force is shown under the page; an admin switches it after confirming', async () => {
  const pol = (await api(S.url, 'GET', '/api/v1/policy', { token: tracerTok })).body;
  await desk.waitForSelector('#policybar:not([hidden]) #policy-version');
  eq(await text(desk, '#policy-version'), pol.version);
  assert(await desk.isHidden('#policy-switch').catch(() => true), 'no switch for a tracer');
  const adm = await newPage(browser, { width: 1280, height: 900 });
  await adm.goto(S.url + '/');
  await adm.waitForSelector('#login-user');
  await adm.fill('#login-user', 'admin');
  await adm.fill('#login-pass', S.adminPassword);
  await adm.click('#login-submit');
  await adm.waitForSelector('#policy-select', { timeout: 15000 });
  const other = pol.available.find(n => n !== pol.name);
  await adm.selectOption('#policy-select', other);
  await adm.click('#policy-switch');
  await adm.waitForSelector('#policy-confirm:not([hidden])');
  eq((await api(S.url, 'GET', '/api/v1/policy', { token: tracerTok })).body.name, pol.name, 'nothing switched before the confirmation');
  await adm.click('#policy-confirm-yes');
  await adm.waitForFunction(n => (document.querySelector('#policy-version') || {}).textContent?.startsWith(n), other, { timeout: 15000 });
  eq((await api(S.url, 'GET', '/api/v1/policy', { token: tracerTok })).body.name, other);
  eq(scriptErrors(adm), [], 'no script errors');
});

test('on a phone the citizen page fits the screen and the login page links the verifier', async () => {
  const m = await phone.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: window.innerWidth }));
  assert(m.sw <= m.iw, `no horizontal overflow: ${m.sw} > ${m.iw}`);
  eq(scriptErrors(phone), [], 'no script errors');
  const anon = await newPage(browser, { width: 390, height: 844 }, { isMobile: true });
  await anon.goto(S.url + '/');
  await anon.waitForSelector('#login-verify');
  eq(await anon.getAttribute('#login-verify', 'href'), '/verify.html');
});

await run();
