// Browser test of a case's time targets: the panel on the case page (four
// targets, their status, countdown and the contacts under control), the
// milestone form, and the targets column of the case list.  Every figure
// shown is compared with a computation from SQL over the base tables
// (cases, contacts, orders) and the hours of policy/protocol-9.ini read
// here by a regex.  The server's clock is a file this test writes.
//   node tests/e2e/test_case_targets.mjs
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, newPage } from '../lib/browser.mjs';
import { test, run, startServer, api, sql, eq, assert, ROOT, createUser, onCleanup } from '../lib/harness.mjs';

const SHOTS = join(ROOT, 'build', 'test-logs');
const H = 3600, DAY = 86400;
const iso = t => new Date((t + 8 * 3600) * 1000).toISOString().replace(/\.\d{3}Z$/, '+08:00');
const local = t => iso(t).slice(0, 16); // datetime-local value
const ini = readFileSync(join(ROOT, 'policy', 'protocol-9.ini'), 'utf8');
const iniKey = k => +ini.match(new RegExp(`^\\s*${k}\\s*=\\s*(\\d+)`, 'm'))[1];
const HOURS = { team_on_site: iniKey('team_on_site_hours'), core_info: iniKey('core_info_hours'),
  report: iniKey('report_hours'), contacts_controlled: iniKey('contacts_controlled_hours') };
const LABELS = { team_on_site: '到达现场', core_info: '核心信息', report: '流调报告', contacts_controlled: '密接管控' };
const STATUS_ZH = { met: '按时完成', missed: '超时完成', overdue: '已超时', pending: '进行中' };

const T0 = Date.parse('2022-03-01T09:00:00+08:00') / 1000;
const clockDir = mkdtempSync(join(tmpdir(), 'fk-clock-'));
const clock = join(clockDir, 'now');
onCleanup(() => rmSync(clockDir, { recursive: true, force: true }));
let NOW = T0;
writeFileSync(clock, String(T0));
const S = await startServer({ persons: 2000, seed: 43, policy: 'protocol-9', env: { FANGKONG_NOW: '@' + clock } });
const TRACER = { username: 'e2e.targets', password: 'Tracer-targets-1' };
const admin = (await api(S.url, 'POST', '/api/v1/sessions', { body: { username: 'admin', password: S.adminPassword } })).body.token;
const token = await createUser(S, admin, { ...TRACER, role: 'tracer', scope: '6109' });

// ---- the reference: statuses from SQL over the base tables ----
const status = (due, done, now) => (done !== null ? (done <= due ? 'met' : 'missed') : (now > due ? 'overdue' : 'pending'));
function expected(caseId) {
  const [created, ...rec] = sql(S.db, `SELECT created_at, coalesce(team_on_site_at, ''), coalesce(core_info_at, ''), coalesce(reported_at, '') FROM cases WHERE id = ${caseId}`)
    .split('|').map(v => (v === '' ? null : +v));
  // per contact: the first activation at or after found_at of an active or
  // completed order, found_at when one was running then, or their own case
  const per = sql(S.db, `SELECT k.person_id,
      (SELECT min(CASE WHEN o.activated_at >= k.found_at THEN o.activated_at ELSE k.found_at END) FROM orders o
        WHERE o.person_id = k.person_id AND o.status IN ('active','completed') AND o.activated_at <= ${NOW}
          AND (o.activated_at >= k.found_at OR o.ended_at IS NULL OR o.ended_at > k.found_at)),
      (SELECT max(c.created_at, k.found_at) FROM cases c WHERE c.person_id = k.person_id AND c.created_at <= ${NOW})
    FROM contacts k WHERE k.case_id = ${caseId}`).split('\n').filter(Boolean).map(l => l.split('|').slice(1).filter(v => v !== '').map(Number));
  const times = per.map(v => (v.length ? Math.min(...v) : null));
  const controlled = times.filter(t => t !== null).length;
  const ccDone = per.length === 0 ? created : (controlled === per.length ? Math.max(...times) : null);
  const done = { team_on_site: rec[0], core_info: rec[1], report: rec[2], contacts_controlled: ccDone };
  const out = {};
  for (const n of Object.keys(HOURS)) {
    const due = created + HOURS[n] * H;
    out[n] = { due, done: done[n], status: status(due, done[n], NOW), left: due - NOW };
  }
  out.contacts_controlled.contacts = per.length;
  out.contacts_controlled.controlled = controlled;
  return out;
}
const short = t => iso(t).slice(0, 16).replace('T', ' ');
function insertOrder(personId, caseId, at) {
  sql(S.db, `INSERT INTO orders(person_id, kind, category, case_id, status, start_at, planned_end, orig_end,
      created_at, created_by, activated_at, activated_by)
    VALUES (${personId}, 'home_isolation', 'close', ${caseId}, 'active', ${at - DAY}, ${at + 13 * DAY}, ${at + 13 * DAY}, ${at}, 'test', ${at}, 'test')`);
}

let browser, page, A, B;
async function login() {
  await page.goto(S.url + '/');
  await page.waitForSelector('#login-user');
  await page.fill('#login-user', TRACER.username);
  await page.fill('#login-pass', TRACER.password);
  await page.click('#login-submit');
  await page.waitForSelector('#nav-cases:not([hidden])', { timeout: 15000 });
}
// the panel as shown: {name: {status, label, text}}
async function panel() {
  await page.waitForSelector('#targets .tgt', { timeout: 15000 });
  return page.$$eval('#targets .tgt', els => Object.fromEntries(els.map(e => [e.dataset.name, {
    status: e.dataset.status, name: e.querySelector('.tgt-name').textContent, state: e.querySelector('.tgt-state').textContent,
    text: e.textContent, controlled: e.querySelector('.tgt-controlled')?.textContent, contacts: e.querySelector('.tgt-contacts')?.textContent,
    countdown: e.querySelector('.tgt-countdown')?.textContent,
    animation: e.querySelector('.tgt-state') ? getComputedStyle(e.querySelector('.tgt-state')).animationName : '' }])));
}
function comparePanel(shown, exp, what) {
  for (const n of Object.keys(HOURS)) {
    const s = shown[n], e = exp[n];
    assert(s, `${what}: ${n} is shown`);
    eq(s.status, e.status, `${what}: ${n} status`);
    eq(s.name, `${LABELS[n]} ${HOURS[n]}h`, `${what}: ${n} label`);
    eq(s.state, STATUS_ZH[e.status], `${what}: ${n} status text`);
    assert(s.text.includes(`时限 ${short(e.due)}`), `${what}: ${n} due ${short(e.due)} in "${s.text}"`);
    if (e.done !== null) assert(s.text.includes(`完成 ${short(e.done)}`), `${what}: ${n} done ${short(e.done)} in "${s.text}"`);
    else assert(!s.text.includes('完成 2'), `${what}: ${n} not done`);
    if (e.status === 'pending') {
      const m = s.countdown.match(/^(?:(\d+) 小时 )?(\d+) 分 (\d+) 秒$/);
      assert(m, `countdown "${s.countdown}"`);
      const left = (+(m[1] || 0)) * 3600 + +m[2] * 60 + +m[3];
      assert(left <= e.left && left > e.left - 120, `${what}: ${n} countdown ${left} s of ${e.left}`);
    } else eq(s.countdown, undefined, `${what}: ${n} has no countdown`);
    eq(s.animation, e.status === 'overdue' ? 'tgt-blink' : 'none', `${what}: ${n} blinks only when overdue`);
  }
  eq(shown.contacts_controlled.controlled, String(exp.contacts_controlled.controlled), `${what}: controlled`);
  eq(shown.contacts_controlled.contacts, String(exp.contacts_controlled.contacts), `${what}: contacts`);
}

test('the case page shows the four targets as SQL computes them', async () => {
  const hh = sql(S.db, `SELECT min(id) FROM persons WHERE household_id IN (SELECT household_id FROM persons
    WHERE household_id IS NOT NULL GROUP BY household_id HAVING count(*) >= 4) GROUP BY household_id ORDER BY 1 LIMIT 2`).split('\n');
  const post = async (pid, at) => {
    const idn = sql(S.db, `SELECT id_number FROM persons WHERE id = ${pid}`);
    const r = await api(S.url, 'POST', '/api/v1/cases', { token, body: { id_number: idn, first_positive_at: iso(at) } });
    eq(r.status, 201, r.text);
    return r.body.id;
  };
  A = await post(hh[0], T0 - DAY);
  NOW = T0 + 3 * H;
  writeFileSync(clock, String(NOW));
  B = await post(hh[1], T0);
  // half of A's contacts under an order
  const kA = sql(S.db, `SELECT person_id, found_at FROM contacts WHERE case_id = ${A} ORDER BY person_id`).split('\n').map(l => l.split('|').map(Number));
  assert(kA.length >= 3, 'case A has contacts');
  for (const [p, f] of kA.slice(0, Math.ceil(kA.length / 2))) insertOrder(p, A, f + H);
  NOW = T0 + 5 * H;
  writeFileSync(clock, String(NOW));
  browser = await launchBrowser();
  page = await newPage(browser, { width: 1366, height: 900 });
  await login();
  await page.goto(`${S.url}/#/case/${A}`);
  const shown = await panel();
  const exp = expected(A);
  eq([exp.team_on_site.status, exp.core_info.status, exp.report.status], ['overdue', 'overdue', 'pending'], 'the scenario');
  comparePanel(shown, exp, 'case A at T0+5h');
  mkdirSync(SHOTS, { recursive: true });
  await page.locator('#case-targets').screenshot({ path: join(SHOTS, 'case-targets-panel.png') });
});

test('the milestone form records times; the panel follows; a future time is refused on screen', async () => {
  await page.fill('#ms-team', local(T0 + H));
  await page.fill('#ms-core', local(T0 + 4 * H + 1800));
  await page.click('#ms-submit');
  await page.waitForSelector('#ms-ok:not([hidden])', { timeout: 15000 });
  eq(sql(S.db, `SELECT team_on_site_at, core_info_at FROM cases WHERE id = ${A}`), `${T0 + H}|${T0 + 4 * H + 1800}`);
  const exp = expected(A);
  eq([exp.team_on_site.status, exp.core_info.status], ['met', 'missed']);
  comparePanel(await panel(), exp, 'after the form');
  // the outcome
  await page.selectOption('#ms-outcome', 'recovered');
  await page.click('#ms-submit');
  await page.waitForFunction(() => document.querySelector('#case-outcome')?.textContent.startsWith('治愈出院'), null, { timeout: 15000 });
  eq(sql(S.db, `SELECT outcome, outcome_at FROM cases WHERE id = ${A}`), `recovered|${NOW}`);
  // a report time in the future
  await page.fill('#ms-report', local(NOW + 2 * H));
  await page.click('#ms-submit');
  await page.waitForSelector('#ms-msg:not([hidden])', { timeout: 15000 });
  assert((await page.textContent('#ms-msg')).includes('reported_at'), 'the message names the field');
  eq(sql(S.db, `SELECT coalesce(reported_at, 'null') FROM cases WHERE id = ${A}`), 'null');
  eq(+sql(S.db, `SELECT count(*) FROM audit_log WHERE action = 'case.milestones' AND object = 'case:${A}' AND actor = '${TRACER.username}'`), 2);
});

test('the case list has a targets column matching SQL for every case', async () => {
  await page.goto(`${S.url}/#/cases`);
  await page.waitForSelector('#case-table .tgt-dots', { timeout: 15000 });
  await page.waitForFunction(n => document.querySelectorAll('#case-table .tgt-dots').length === n,
    +sql(S.db, 'SELECT count(*) FROM cases'), { timeout: 15000 });
  const rows = await page.$$eval('#case-table tbody tr', trs => trs.map(tr => [Number(tr.dataset.id),
    Object.fromEntries([...tr.querySelectorAll('.tgt-dot')].map(d => [d.dataset.name, d.dataset.status]))]));
  eq(rows.map(r => r[0]), sql(S.db, 'SELECT id FROM cases ORDER BY id DESC').split('\n').map(Number));
  for (const [id, shown] of rows) {
    const e = expected(id);
    eq(shown, Object.fromEntries(Object.keys(HOURS).map(n => [n, e[n].status])), `case ${id}`);
  }
  await page.screenshot({ path: join(SHOTS, 'case-targets-list.png'), fullPage: true });
  const errs = page.errors.filter(e => !/status of (400|401|403|404)/.test(e));
  eq(errs, [], 'no script errors');
});

await run();
