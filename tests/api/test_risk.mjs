// Risk areas over HTTP: designation (a grid, a building of a grid) and the
// residents' codes it makes, automatic lowering at exactly the due second
// under protocol 9 and under the 20 measures, the countdown reset by a new
// case, confirmation and holds, the public list without login, and bad
// input for every field.  The server's clock is a file (FANGKONG_NOW=@file)
// the test moves forward; the day counts come from the policy files, read
// here by a parser of their own; who lives in an area comes from SQL over
// households, never from the server under test.
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, run, api, sql, eq, assert, createUser, startServer, ROOT } from '../lib/harness.mjs';

const DAY = 86400;
const unix = s => Math.floor(Date.parse(s) / 1000);
const iso = t => {
  const d = new Date((t + 8 * 3600) * 1000).toISOString().slice(0, 19);
  return d + '+08:00';
};

// [risk_area] of a shipped policy file, parsed here
function riskDays(name) {
  const text = readFileSync(join(ROOT, 'policy', name + '.ini'), 'utf8');
  const out = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const l = raw.replace(/[;#].*$/, '').trim();
    if (!l) continue;
    const m = l.match(/^\[(.+)\]$/);
    if (m) { section = m[1]; continue; }
    const kv = l.match(/^([a-z_]+)\s*=\s*(.*)$/);
    if (kv && section === 'risk_area') out[kv[1]] = /^\d+$/.test(kv[2]) ? +kv[2] : kv[2];
  }
  return out;
}
const P9 = riskDays('protocol-9'), P20 = riskDays('protocol-9-20');
assert(P9.high_to_medium_days > 0 && P9.medium_to_low_after_high_days > 0 && P9.medium_to_low_days > 0, 'protocol 9 days');
assert(P20.medium_level === 'no' && P20.high_to_low_days > 0, '20 measures days');

const sleep = ms => new Promise(r => setTimeout(r, ms));

async function city(policy, seed) {
  const dir = mkdtempSync(join(tmpdir(), 'fk-risk-'));
  const clock = join(dir, 'clock');
  let now = unix('2022-03-01T08:00:00+08:00');
  writeFileSync(clock, String(now));
  const S = await startServer({ persons: 20000, seed, policy, env: { FANGKONG_NOW: '@' + clock } });
  const admin = (await api(S.url, 'POST', '/api/v1/sessions', { body: { username: 'admin', password: S.adminPassword } })).body.token;
  const cmd = await createUser(S, admin, { username: 'cmd', role: 'command', scope: '6109' });
  const C = {
    S, cmd, admin,
    now: () => now,
    // moves the clock (forward only) and logs in again: sessions expire
    set: async t => {
      assert(t >= now, 'the clock only moves forward');
      now = t;
      writeFileSync(clock, String(t));
      const s = await api(S.url, 'POST', '/api/v1/sessions', { body: { username: 'cmd', password: 'own-password-1' } });
      assert(s.status === 201, 'log in again: ' + s.text);
      C.cmd = s.body.token;
    },
    q: query => sql(S.db, query),
  };
  return C;
}

async function colour(C, id) {
  const r = await api(C.S.url, 'GET', `/api/v1/persons/${id}/code`, { token: C.cmd });
  assert(r.status === 200, `code of ${id}: ${r.status} ${r.text}`);
  return r.body.colour;
}
// waits (up to 6 s: the tick runs every second) until fn() holds
async function until(fn, what) {
  let last;
  for (let i = 0; i < 60; i++) {
    last = await fn();
    if (last === true) return;
    await sleep(100);
  }
  throw new Error(`${what}: still ${JSON.stringify(last)}`);
}
// waits a little more than two ticks: nothing may have happened meanwhile
const twoTicks = () => sleep(2300);

// residents (no case); green(): those whose code is green now
function residents(C, where) {
  return C.q(`SELECT p.id, p.grid_code, coalesce(h.label, '') FROM persons p
    LEFT JOIN households h ON h.id = p.household_id
    WHERE ${where} AND p.id NOT IN (SELECT person_id FROM cases) ORDER BY p.id`)
    .split('\n').filter(Boolean).map(l => { const [id, grid, label] = l.split('|'); return { id: +id, grid, label }; });
}
async function green(C, where, n = 8) {
  const out = [];
  for (const p of residents(C, where)) {
    if (out.length >= n) break;
    if (await colour(C, p.id) === 'green') out.push(p);
  }
  assert(out.length, 'a resident with a green code: ' + where);
  return out;
}

const post = (C, path, body, token = C.cmd) => api(C.S.url, 'POST', path, { token, body });
const lastRow = (C, region, building = '') =>
  C.q(`SELECT id, level, start_at, coalesce(end_at, ''), coalesce(prev_id, ''), created_by, coalesce(confirmed_at, '') FROM risk_areas WHERE region_code = '${region}' AND building = '${building}' ORDER BY id DESC LIMIT 1`).split('|');

// grids whose residents live in at least two units of buildings (a
// building area is a label prefix: "1号楼" or "1号楼2单元"); a small
// generated city has few persons a grid, so a unit stands for a building
const unitOf = "substr(h.label, 1, instr(h.label, '单元') + 1)";
function pickGrids(C, n) {
  return C.q(`SELECT h.grid_code FROM households h JOIN persons p ON p.household_id = h.id
    WHERE h.label LIKE '%号楼%单元%' GROUP BY h.grid_code
    HAVING count(DISTINCT ${unitOf}) >= 2 AND count(*) >= 4 ORDER BY h.grid_code LIMIT ${n}`).split('\n');
}

const A = await city('protocol-9', 41);
const GRIDS = pickGrids(A, 6);
assert(GRIDS.length === 6, 'six grids with buildings');

test('bad input: every field of a designation, and who may designate', async () => {
  const G = GRIDS[5], town = G.slice(0, 9);
  const base = { region: G, level: 'high', reason: '测试' };
  const bad = [
    [{ ...base, region: undefined }, 'region'],
    [{ ...base, region: '61x9' }, 'region'],
    [{ ...base, region: 61 }, 'region'],
    [{ ...base, region: '610999999999999' }, 'region'],
    [{ ...base, region: town, building: '1号楼' }, 'building'],
    [{ ...base, building: '99号楼' }, 'building'],
    [{ ...base, building: 'x'.repeat(32) }, 'building'],
    [{ ...base, building: '1号楼\n' }, 'building'],
    [{ ...base, level: undefined }, 'level'],
    [{ ...base, level: 'severe' }, 'level'],
    [{ ...base, level: 3 }, 'level'],
    [{ ...base, start_at: 'yesterday' }, 'start_at'],
    [{ ...base, start_at: iso(A.now() + 60) }, 'start_at'],
    [{ ...base, reason: undefined }, 'reason'],
    [{ ...base, reason: '' }, 'reason'],
    [{ ...base, reason: '长'.repeat(501) }, 'reason'],
    [{ ...base, auto: 'no' }, 'auto'],
  ];
  for (const [body, field] of bad) {
    const r = await post(A, '/api/v1/risk-areas', body);
    eq([r.status, r.body.error && r.body.error.code], [400, 'bad_request'], `${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
    assert(r.body.error.message.includes(`'${field}'`), `the message names ${field}: ${r.body.error.message}`);
  }
  const nj = await api(A.S.url, 'POST', '/api/v1/risk-areas', { token: A.cmd, raw: '{bad', headers: { 'content-type': 'application/json' } });
  eq(nj.status, 400, 'not JSON');
  eq(A.q(`SELECT count(*) FROM risk_areas`), '0', 'nothing recorded');
  // low with no area in force: 404
  eq((await post(A, '/api/v1/risk-areas', { ...base, level: 'low' })).status, 404, 'low ends nothing');
  // no session: 401; a grid worker may not designate: 403; another county's command: 404
  eq((await api(A.S.url, 'POST', '/api/v1/risk-areas', { body: base })).status, 401, 'no session');
  const grid = await createUser(A.S, A.admin, { username: 'grid1', role: 'grid', scope: G });
  eq((await post(A, '/api/v1/risk-areas', base, grid)).status, 403, 'grid worker');
  const other = A.q(`SELECT code FROM regions WHERE level = 3 AND code != '${G.slice(0, 6)}' ORDER BY code LIMIT 1`);
  const cmd2 = await createUser(A.S, A.admin, { username: 'cmd2', role: 'command', scope: other });
  const r = await post(A, '/api/v1/risk-areas', base, cmd2);
  eq(r.status, 404, 'out of scope: ' + r.text);
  eq(A.q(`SELECT count(*) FROM risk_areas`), '0', 'still nothing recorded');
  // hold and confirm: bad ids and bodies
  eq((await post(A, '/api/v1/risk-areas/999/confirm', undefined)).status, 404, 'confirm unknown');
  eq((await post(A, '/api/v1/risk-areas/x/confirm', undefined)).status, 404, 'confirm bad id');
  eq((await post(A, '/api/v1/risk-areas/999/hold', { auto: false, reason: 'x' })).status, 404, 'hold unknown');
  eq((await post(A, '/api/v1/risk-areas/1/hold', { reason: 'x' })).status, 400, 'hold without auto');
  eq((await post(A, '/api/v1/risk-areas/1/hold', { auto: false })).status, 400, 'hold without reason');
  const h = await api(A.S.url, 'GET', '/api/v1/risk-areas/history?limit=501', { token: A.cmd });
  eq(h.status, 400, 'history limit');
  eq((await api(A.S.url, 'GET', '/api/v1/risk-areas/history?unconfirmed=2', { token: A.cmd })).status, 400, 'unconfirmed flag');
});

test('a high-risk grid: its residents red at the second, others unchanged; public list without login', async () => {
  const G = GRIDS[0];
  const inside = await green(A, `p.grid_code = '${G}'`);
  const outside = await green(A, `p.grid_code = '${GRIDS[1]}'`, 3);
    for (const p of [...inside, ...outside]) eq(await colour(A, p.id), 'green', `green before: ${p.id}`);
  const r = await post(A, '/api/v1/risk-areas', { region: G, level: 'high', reason: '出现确诊病例' });
  eq(r.status, 201, r.text);
  eq([r.body.level, r.body.start_at, r.body.region.code, r.body.building, r.body.auto, r.body.prev_id, r.body.created_by],
    ['high', iso(A.now()), G, '', true, null, 'cmd'], 'area JSON');
  eq(r.body.countdown, { next_level: 'medium', due_at: iso(A.now() + P9.high_to_medium_days * DAY), days_without_infection: 0, seconds_left: P9.high_to_medium_days * DAY }, 'countdown');
  for (const p of inside) eq(await colour(A, p.id), 'red', `red at once: ${p.id}`);
  for (const p of outside) eq(await colour(A, p.id), 'green', `outside stays green: ${p.id}`);
  // the published list: no login, no personal data
  const pub = await api(A.S.url, 'GET', '/api/v1/risk-areas');
  eq(pub.status, 200, pub.text);
  const item = pub.body.items.find(i => i.id === r.body.id);
  eq(Object.keys(item).sort(), ['building', 'countdown', 'id', 'level', 'region', 'start_at'], 'public fields');
  eq(Object.keys(item.region).sort(), ['code', 'county', 'level', 'name', 'path'], 'public region fields');
  const names = A.q(`SELECT name FROM regions WHERE code IN ('${G.slice(0, 2)}','${G.slice(0, 4)}','${G.slice(0, 6)}','${G.slice(0, 9)}','${G.slice(0, 12)}','${G}') ORDER BY level`).split('\n').join('');
  eq(item.region.path, names, 'region path names');
  eq(item.region.county.code, G.slice(0, 6), 'county');
  assert(!/\d{17}[\dX]/.test(pub.text), 'no ID number in the public list');
  assert(!pub.text.includes('"cmd"') && !pub.text.includes('出现确诊病例'), 'no staff names or reasons');
  eq(pub.body.counts.high >= 1, true, 'counts');
});

test('a building of a grid: only its households turn yellow (medium)', async () => {
  const G = GRIDS[1];
  const b = A.q(`SELECT ${unitOf} FROM households h JOIN persons p ON p.household_id = h.id WHERE h.grid_code = '${G}' AND h.label LIKE '%号楼%单元%' ORDER BY h.label LIMIT 1`);
  const all = residents(A, `p.grid_code = '${G}'`);
  const before = new Map();
  for (const p of all) before.set(p.id, await colour(A, p.id));
  const expectIn = new Set(A.q(`SELECT p.id FROM persons p JOIN households h ON h.id = p.household_id
    WHERE h.grid_code = '${G}' AND substr(h.label, 1, length('${b}')) = '${b}'`).split('\n').map(Number));
  assert(all.some(p => expectIn.has(p.id)) && all.some(p => !expectIn.has(p.id)), 'residents in and out of the building');
  const r = await post(A, '/api/v1/risk-areas', { region: G, building: b, level: 'medium', reason: '楼栋管控' });
  eq([r.status, r.body.building, r.body.level], [201, b, 'medium'], r.text);
  for (const p of all) {
    const want = expectIn.has(p.id) ? 'yellow' : before.get(p.id);
    eq(await colour(A, p.id), want, `${p.id} (${p.label})`);
  }
});

test('protocol 9: high -> medium -> low at exactly the due seconds; codes follow', async () => {
  const G = GRIDS[2];
  const [p] = await green(A, `p.grid_code = '${G}'`, 1);
  const t0 = A.now();
  const r = await post(A, '/api/v1/risk-areas', { region: G, level: 'high', reason: '高风险' });
  eq(r.status, 201, r.text);
  eq(await colour(A, p.id), 'red', 'red');
  const d1 = t0 + P9.high_to_medium_days * DAY;
  await A.set(d1 - 1);
  await twoTicks();
  eq(lastRow(A, G)[1], 'high', 'still high a second before');
  eq(await colour(A, p.id), 'red', 'still red a second before');
  await A.set(d1);
  await until(() => lastRow(A, G)[1] === 'medium' || lastRow(A, G), 'lowered to medium');
  const [mid, , mstart, mend, mprev, mby, mconf] = lastRow(A, G);
  eq([+mstart, mend, +mprev, mby, mconf], [d1, '', r.body.id, 'system', ''], 'the medium row');
  eq(A.q(`SELECT end_at FROM risk_areas WHERE id = ${r.body.id}`), String(d1), 'the high row ends at the due second');
  await until(async () => (await colour(A, p.id)) === 'yellow' || 'not yellow', 'yellow');
  const d2 = d1 + P9.medium_to_low_after_high_days * DAY;
  await A.set(d2 - 1);
  await twoTicks();
  eq(lastRow(A, G)[1], 'medium', 'still medium a second before');
  await A.set(d2);
  await until(() => lastRow(A, G)[1] === 'low' || lastRow(A, G), 'lowered to low');
  const [, , lstart, lend, lprev] = lastRow(A, G);
  eq([+lstart, +lend, +lprev], [d2, d2, +mid], 'the low row records the end');
  await until(async () => (await colour(A, p.id)) === 'green' || 'not green', 'green');
  // a designated medium area: low after medium_to_low_days
  const G2 = GRIDS[3], t1 = A.now();
  eq((await post(A, '/api/v1/risk-areas', { region: G2, level: 'medium', reason: '中风险' })).status, 201);
  const d3 = t1 + P9.medium_to_low_days * DAY;
  await A.set(d3 - 1);
  await twoTicks();
  eq(lastRow(A, G2)[1], 'medium', 'medium a second before');
  await A.set(d3);
  await until(() => lastRow(A, G2)[1] === 'low' || lastRow(A, G2), 'designated medium lowered');
  eq(+lastRow(A, G2)[2], d3, 'at the due second');
});

test('a new case in the area resets the countdown', async () => {
  const G = GRIDS[4];
  const t0 = A.now();
  const r = await post(A, '/api/v1/risk-areas', { region: G, level: 'high', reason: '高风险' });
  eq(r.status, 201, r.text);
  await A.set(t0 + 2 * DAY + 3600);
  const person = A.q(`SELECT id_number FROM persons WHERE grid_code = '${G}' AND id NOT IN (SELECT person_id FROM cases) ORDER BY id LIMIT 1`);
  const c = await post(A, '/api/v1/cases', { id_number: person, classification: 'confirmed', onset_at: iso(A.now() - DAY) });
  eq(c.status, 201, c.text);
  const created = +A.q(`SELECT created_at FROM cases WHERE id = ${c.body.id}`);
  const due = created + P9.high_to_medium_days * DAY;
  const h = await api(A.S.url, 'GET', '/api/v1/risk-areas/history?limit=500', { token: A.cmd });
  const row = h.body.items.find(i => i.id === r.body.id);
  eq([row.last_infection_at, row.countdown.due_at, row.countdown.days_without_infection], [iso(created), iso(due), 0], 'countdown from the case');
  // the old due time passes without a change; the new one lowers
  await A.set(t0 + P9.high_to_medium_days * DAY);
  await twoTicks();
  eq(lastRow(A, G)[1], 'high', 'not lowered at the old due time');
  await A.set(due);
  await until(() => lastRow(A, G)[1] === 'medium' || lastRow(A, G), 'lowered at the new due');
  eq(+lastRow(A, G)[2], due, 'at exactly the reset due second');
});

test('confirm and hold', async () => {
  const sys = A.q(`SELECT id FROM risk_areas WHERE created_by = 'system' AND confirmed_at IS NULL ORDER BY id`).split('\n').map(Number);
  assert(sys.length >= 3, 'system rows await confirmation');
  const h = await api(A.S.url, 'GET', '/api/v1/risk-areas/history?unconfirmed=1&limit=2', { token: A.cmd });
  eq(h.status, 200, h.text);
  eq(h.body.items.map(i => i.id), [...sys].reverse().slice(0, 2), 'newest first, unconfirmed only');
  const h2 = await api(A.S.url, 'GET', `/api/v1/risk-areas/history?unconfirmed=1&limit=2&cursor=${encodeURIComponent(h.body.next_cursor)}`, { token: A.cmd });
  eq(h2.body.items.map(i => i.id), [...sys].reverse().slice(2, 4), 'second page');
  const c = await post(A, `/api/v1/risk-areas/${sys[0]}/confirm`, undefined);
  eq([c.status, c.body.confirmed_by, c.body.confirmed_at], [200, 'cmd', iso(A.now())], c.text);
  eq(A.q(`SELECT count(*) FROM audit_log WHERE action = 'risk.confirm' AND object = 'risk_area:${sys[0]}'`), '1', 'audited');
  // hold a medium area in force: no countdown, not lowered past its due
  const [mid, level] = lastRow(A, GRIDS[4]);
  eq(level, 'medium', 'the medium area of the reset test');
  const due = +A.q(`SELECT start_at FROM risk_areas WHERE id = ${mid}`) + P9.medium_to_low_after_high_days * DAY;
  const hold = await post(A, `/api/v1/risk-areas/${mid}/hold`, { auto: false, reason: '复核中' });
  eq([hold.status, hold.body.auto, hold.body.countdown], [200, false, null], hold.text);
  await A.set(due + 10);
  await twoTicks();
  eq(lastRow(A, GRIDS[4])[1], 'medium', 'held: not lowered');
  // resumed after the due time: lowered at the resume, never in the past
  const res = await post(A, `/api/v1/risk-areas/${mid}/hold`, { auto: true, reason: '复核完毕' });
  eq([res.status, res.body.end_at], [200, iso(A.now())], res.text);
  const [, l2, s2] = lastRow(A, GRIDS[4]);
  eq([l2, +s2], ['low', A.now()], 'lowered at the resume');
  const again = await post(A, `/api/v1/risk-areas/${mid}/hold`, { auto: false, reason: 'x' });
  eq([again.status, again.body.error.code], [409, 'not_in_force'], 'an ended area cannot be held');
  eq(A.q(`SELECT count(*) FROM audit_log WHERE action = 'risk.hold' AND object = 'risk_area:${mid}'`), '2', 'holds audited');
});

test('a manual change of level and lowering to low by hand', async () => {
  const G = GRIDS[0];
  const h = await post(A, '/api/v1/risk-areas', { region: G, level: 'high', reason: '再次出现病例' });
  eq(h.status, 201, h.text);
  const hid = h.body.id;
  const r = await post(A, '/api/v1/risk-areas', { region: G, level: 'medium', reason: '降为中风险' });
  eq([r.status, r.body.prev_id, r.body.level, r.body.countdown.next_level], [201, +hid, 'medium', 'low'], r.text);
  eq(A.q(`SELECT end_at FROM risk_areas WHERE id = ${hid}`), String(A.now()), 'the high row ended');
  const low = await post(A, '/api/v1/risk-areas', { region: G, level: 'low', reason: '解除' });
  eq([low.status, low.body.level, low.body.end_at, low.body.start_at, low.body.countdown], [200, 'low', iso(A.now()), iso(A.now()), null], low.text);
  const pub = await api(A.S.url, 'GET', '/api/v1/risk-areas');
  assert(!pub.body.items.some(i => i.region.code === G && i.building === ''), 'no longer published');
  eq(A.q(`SELECT count(*) FROM audit_log WHERE action = 'risk.set'`), A.q(`SELECT count(*) FROM risk_areas WHERE created_by = 'cmd'`), 'every designation audited');
});

test('20 measures: no medium level; high -> low at exactly high_to_low_days', async () => {
  const B = await city('protocol-9-20', 43);
  const G = pickGrids(B, 1)[0];
  const [p] = await green(B, `p.grid_code = '${G}'`, 1);
  const m = await post(B, '/api/v1/risk-areas', { region: G, level: 'medium', reason: '中风险' });
  eq(m.status, 400, 'no medium level: ' + m.text);
  assert(m.body.error.message.includes("'level'"), m.body.error.message);
  const t0 = B.now();
  const r = await post(B, '/api/v1/risk-areas', { region: G, level: 'high', reason: '高风险' });
  eq([r.status, r.body.countdown.next_level, r.body.countdown.due_at], [201, 'low', iso(t0 + P20.high_to_low_days * DAY)], r.text);
  eq(await colour(B, p.id), 'red', 'red');
  const due = t0 + P20.high_to_low_days * DAY;
  await B.set(due - 1);
  await twoTicks();
  eq(lastRow(B, G)[1], 'high', 'high a second before');
  await B.set(due);
  await until(() => lastRow(B, G)[1] === 'low' || lastRow(B, G), 'lowered to low');
  const [, , s, e, prev] = lastRow(B, G);
  eq([+s, +e, +prev], [due, due, r.body.id], 'high -> low directly');
  await until(async () => (await colour(B, p.id)) === 'green' || 'not green', 'green');
});

await run();
