// Checkpoint decisions for arrivals (POST /api/v1/checkpoint/arrivals) and
// the list (GET /api/v1/arrivals) against a real server running the
// shipped protocol 9.  Every number expected here (lookback days, test
// validity, measures, follow-up, colours, the policy version) is read from
// policy/protocol-9.ini by a small INI reader below, and every fact the
// decision rests on (cases, risk areas, tests, fever alerts) is written
// with the sqlite3 shell: expected answers never come from the server.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, run, startServer, api, sql, eq, assert, createUser, ROOT } from '../lib/harness.mjs';

// ---- the policy, read independently
const iniText = readFileSync(join(ROOT, 'policy', 'protocol-9.ini'));
const INI = {};
{
  let sec = '';
  for (const raw of iniText.toString('utf8').split('\n')) {
    const l = raw.trim();
    if (!l || l.startsWith(';') || l.startsWith('#')) continue;
    const m = /^\[(.+)\]$/.exec(l);
    if (m) { sec = m[1]; INI[sec] ??= {}; continue; }
    const i = l.indexOf('=');
    INI[sec][l.slice(0, i).trim()] = l.slice(i + 1).trim();
  }
}
const pol = (sec, key) => {
  const v = INI[sec] && INI[sec][key];
  if (v === undefined) throw new Error(`policy/protocol-9.ini has no [${sec}] ${key}`);
  return /^-?\d+$/.test(v) ? Number(v) : v;
};
const VERSION = `protocol-9@${createHash('sha256').update(iniText).digest('hex').slice(0, 12)}`;
const LOOKBACK = pol('arrival', 'lookback_days'), VALID_H = pol('checkpoint', 'test_validity_hours');
const DAY = 86400;

const S = await startServer({ persons: 2000, seed: 31 });
const login = async (username, password) => (await api(S.url, 'POST', '/api/v1/sessions', { body: { username, password } })).body.token;
const admin = await login('admin', S.adminPassword);

// key occupations have a periodic-test rule of their own (yellow when
// overdue): the scenarios use persons without one
const keyJobs = Object.keys(INI.periodic).map(o => `'${o}'`).join(',');
// A: persons of the biggest county (one per scenario); B: a grid elsewhere
const countyA = sql(S.db, 'SELECT substr(grid_code, 1, 6) c FROM persons GROUP BY c ORDER BY count(*) DESC LIMIT 1');
const gridOfB = sql(S.db, `SELECT grid_code FROM persons WHERE grid_code NOT LIKE '${countyA}%' AND occupation NOT IN (${keyJobs}) GROUP BY grid_code HAVING count(*) >= 3 ORDER BY grid_code LIMIT 1`);
const rowsOf = where => sql(S.db, `SELECT id, id_number, name, grid_code FROM persons WHERE ${where} ORDER BY id LIMIT 40`)
  .split('\n').map(l => { const [id, idn, name, grid] = l.split('|'); return { id: Number(id), idn, name, grid }; });
const [A, B] = [rowsOf(`grid_code LIKE '${countyA}%' AND occupation NOT IN (${keyJobs})`), rowsOf(`grid_code = '${gridOfB}' AND occupation NOT IN (${keyJobs})`)];
let nextA = 0;
const personA = () => A[nextA++]; // a fresh person of county A for each scenario

const checkpoint = await createUser(S, admin, { username: 'gate.east', role: 'checkpoint', scope: '6109', password: 'gate-pass-99' });
const county = await createUser(S, admin, { username: 'gate.county', role: 'checkpoint', scope: countyA, password: 'gate-pass-99' });
const command = await createUser(S, admin, { username: 'cmd.city', role: 'command', scope: '6109', password: 'command-pass-9' });
const gridB = await createUser(S, admin, { username: 'grid.b', role: 'grid', scope: gridOfB, password: 'grid-pass-99' });
const tracer = await createUser(S, admin, { username: 'tracer.city', role: 'tracer', scope: '6109', password: 'tracer-pass-9' });
const venue = await createUser(S, admin, { username: 'venue.city', role: 'venue', scope: '6109', password: 'venue-pass-99' });

const iso = t => { // +08:00, as people at a checkpoint write times
  const d = new Date((t + 8 * 3600) * 1000);
  return d.toISOString().replace(/\.\d{3}Z$/, '+08:00');
};
const now = () => Math.floor(Date.now() / 1000);
const arrive = (body, token = checkpoint) => api(S.url, 'POST', '/api/v1/checkpoint/arrivals', { token, body });
const count = () => Number(sql(S.db, 'SELECT count(*) FROM arrivals'));
// rows written by another process reach the server's colours at its next
// recompute, or at once after a change that concerns everyone: a policy
// switch (here to the policy already in force)
async function refresh() {
  const r = await api(S.url, 'PUT', '/api/v1/policy', { token: admin, body: { name: 'protocol-9' } });
  eq(r.status, 200, r.text);
}
let areaSeq = 0;
function riskArea(code, level, start, end) {
  sql(S.db, `INSERT INTO risk_areas(region_code, level, start_at, end_at, reason, created_at, created_by)
    VALUES('${code}', '${level}', ${start}, ${end === null ? 'NULL' : end}, 'test ${++areaSeq}', ${now()}, 'test')`);
  return Number(sql(S.db, 'SELECT max(id) FROM risk_areas'));
}
function negativeTest(pid, sampled, resulted = sampled + 6 * 3600) {
  sql(S.db, `INSERT INTO test_results(person_id, sampled_at, resulted_at, result, pooled, tube, lab)
    VALUES(${pid}, ${sampled}, ${resulted}, 'negative', 1, 'T${pid}-${sampled}', 'lab')`);
}
const proof = t => ({ sampled_at: iso(t), result: 'negative' });
const maskName = n => { const c = [...n]; return c.length < 2 ? '*' : c[0] + '*'.repeat(c.length - (c.length >= 3 ? 2 : 1)) + (c.length >= 3 ? c[c.length - 1] : ''); };
const maskId = s => s.slice(0, 6) + '*'.repeat(s.length - 10) + s.slice(-4);

// ---- the facts of the scenarios, written before one refresh
const T = now() - 600; // the arrival time of the scenarios that fix it
const redP = personA(); // a confirmed case
sql(S.db, `INSERT INTO cases(person_id, classification, onset_at, chain_id, created_at, created_by)
  VALUES(${redP.id}, 'confirmed', ${T - 3 * DAY}, (SELECT coalesce(max(chain_id), 0) + 1 FROM cases), ${T - DAY}, 'test')`);
const yellowP = personA(); // fever reported, not cleared
sql(S.db, `INSERT INTO alerts(kind, person_id, region_code, at, detail)
  VALUES('fever', ${yellowP.id}, '${yellowP.grid}', ${T - 3600}, '{"venue":"TEST","temperature":37.9}')`);
const yellowNoTest = personA();
sql(S.db, `INSERT INTO alerts(kind, person_id, region_code, at, detail)
  VALUES('fever', ${yellowNoTest.id}, '${yellowNoTest.grid}', ${T - 3600}, '{"venue":"TEST","temperature":38.1}')`);
// areas in other provinces (risk areas name any region)
const highNow = riskArea('3101', 'high', T - 2 * DAY, null);               // Shanghai, in force
const highEnded = riskArea('4401', 'high', T - 10 * DAY, T - 3 * DAY);     // Guangzhou, ended within the lookback
const highJustOut = riskArea('4403', 'high', T - 20 * DAY, T - LOOKBACK * DAY); // Shenzhen, ended as the lookback began
const highJustIn = riskArea('4404', 'high', T - 20 * DAY, T - LOOKBACK * DAY + 1); // Zhuhai, one second inside
const medium = riskArea('3201', 'medium', T - DAY, null);                 // Nanjing
await refresh();

test('red code now -> isolate, rule code_red, before any origin or test rule', async () => {
  const n = count();
  const r = await arrive({ id_number: redP.idn, origin_code: '310101', arrived_at: iso(T), test: proof(T - 3600) });
  eq(r.status, 201, r.text);
  eq(Object.keys(r.body).sort(), ['arrived_at', 'code', 'decision', 'decision_zh', 'follow_up', 'id', 'measure', 'origin',
    'person', 'policy_version', 'reason_en', 'reason_zh', 'rule', 'test']);
  eq([r.body.decision, r.body.rule], ['isolate', 'code_red']);
  eq(r.body.code.colour, 'red');
  eq(r.body.code.colour_zh, '红码');
  assert(r.body.code.reason.length > 0 && r.body.reason_zh.includes(r.body.code.reason), r.body.reason_zh);
  eq(r.body.measure, null);
  eq(r.body.person, { name: maskName(redP.name), id_number: maskId(redP.idn) });
  eq(r.body.policy_version, VERSION);
  eq(count(), n + 1);
  eq(sql(S.db, `SELECT person_id || '|' || origin_code || '|' || arrived_at || '|' || source || '|' || decision || '|' || rule || '|' || recorded_by || '|' || policy_version FROM arrivals WHERE id = ${r.body.id}`),
    `${redP.id}|310101|${T}|checkpoint|isolate|code_red|gate.east|${VERSION}`);
  eq(sql(S.db, `SELECT actor || '|' || action FROM audit_log WHERE object = 'arrival:${r.body.id}'`), 'gate.east|arrival.record');
});

test('origin in a high-risk area now -> isolate with the policy arrival_high measure', async () => {
  const p = personA();
  const r = await arrive({ id_number: p.idn, origin_code: '310101', arrived_at: iso(T), test: proof(T - 3600) });
  eq(r.status, 201, r.text);
  eq([r.body.decision, r.body.rule], ['isolate', 'origin_high']);
  eq(r.body.origin.code, '310101');
  eq(r.body.origin.level, 'high');
  eq(r.body.origin.area.id, highNow);
  eq(r.body.origin.area.region_code, '3101');
  eq(r.body.measure.kind, pol('arrival_high', 'kind'));
  eq(r.body.measure.days, pol('arrival_high', 'days'));
  eq(Date.parse(r.body.measure.ends_at) / 1000, T + pol('arrival_high', 'days') * DAY);
  eq(r.body.follow_up, null);
  assert(r.body.reason_en.includes('3101') && r.body.reason_zh.includes('高风险'), r.body.reason_en);
});

test('a high-risk area that ended within the lookback still counts; one ended as it began does not', async () => {
  const p = personA(), q = personA(), s = personA();
  const ended = await arrive({ id_number: p.idn, origin_code: '440106', arrived_at: iso(T), test: proof(T - 3600) });
  eq(ended.status, 201, ended.text);
  eq([ended.body.rule, ended.body.origin.area.id], ['origin_high', highEnded]);
  // [T - lookback, T]: an area whose end is T - lookback was never in force in it
  const out = await arrive({ id_number: q.idn, origin_code: '440305', arrived_at: iso(T), test: proof(T - 3600) });
  eq(out.status, 201, out.text);
  eq([out.body.decision, out.body.rule, out.body.origin.level], ['pass', 'checks_passed', 'low']);
  const inside = await arrive({ id_number: s.idn, origin_code: '440402', arrived_at: iso(T), test: proof(T - 3600) });
  eq(inside.status, 201, inside.text);
  eq([inside.body.rule, inside.body.origin.area.id], ['origin_high', highJustIn]);
  assert(highJustOut > 0);
});

test('origin in a medium-risk area -> isolate with the arrival_medium measure', async () => {
  const p = personA();
  const r = await arrive({ id_number: p.idn, origin_code: '320102', arrived_at: iso(T), test: proof(T - 3600) });
  eq(r.status, 201, r.text);
  eq([r.body.decision, r.body.rule, r.body.origin.level], ['isolate', 'origin_medium', 'medium']);
  eq(r.body.measure.kind, pol('arrival_medium', 'kind'));
  eq(r.body.measure.days, pol('arrival_medium', 'days'));
  eq(r.body.origin.area.id, medium);
});

test('no test at all -> test on arrival, rule no_valid_test, with the low-risk follow-up', async () => {
  const p = personA();
  const r = await arrive({ id_number: p.idn, origin_code: '110105', arrived_at: iso(T) });
  eq(r.status, 201, r.text);
  eq([r.body.decision, r.body.rule], ['test_on_arrival', 'no_valid_test']);
  eq(r.body.test, null);
  eq(r.body.follow_up, { tests: pol('arrival', 'low_tests'), within_days: pol('arrival', 'low_within_days'), by: iso(T + pol('arrival', 'low_within_days') * DAY) });
  assert(r.body.reason_en.includes(`${VALID_H} hours`), r.body.reason_en);
});

test('a proof sampled one second too early is no proof; at the validity limit it is', async () => {
  const p = personA(), q = personA();
  const old = await arrive({ id_number: p.idn, origin_code: '110105', arrived_at: iso(T), test: proof(T - VALID_H * 3600 - 1) });
  eq(old.status, 201, old.text);
  eq([old.body.decision, old.body.rule], ['test_on_arrival', 'no_valid_test']);
  eq(old.body.test, { source: 'proof', sampled_at: iso(T - VALID_H * 3600 - 1), valid: false });
  const edge = await arrive({ id_number: q.idn, origin_code: '110105', arrived_at: iso(T), test: proof(T - VALID_H * 3600) });
  eq(edge.status, 201, edge.text);
  eq([edge.body.decision, edge.body.rule], ['pass', 'checks_passed']);
  eq(edge.body.test, { source: 'proof', sampled_at: iso(T - VALID_H * 3600), valid: true });
});

test('the person\'s own test results count the same way (resulted by now), one second too old does not', async () => {
  const p = personA(), q = personA(), s = personA();
  negativeTest(p.id, T - VALID_H * 3600);
  negativeTest(q.id, T - VALID_H * 3600 - 1);
  negativeTest(s.id, T - 3600, now() + 3600); // sampled in time, result not out yet
  const ok = await arrive({ id_number: p.idn, origin_code: '110105', arrived_at: iso(T) });
  eq(ok.status, 201, ok.text);
  eq([ok.body.decision, ok.body.test], ['pass', { source: 'record', sampled_at: iso(T - VALID_H * 3600), valid: true }]);
  const old = await arrive({ id_number: q.idn, origin_code: '110105', arrived_at: iso(T) });
  eq([old.body.decision, old.body.rule, old.body.test.valid], ['test_on_arrival', 'no_valid_test', false]);
  const pending = await arrive({ id_number: s.idn, origin_code: '110105', arrived_at: iso(T) });
  eq([pending.body.rule, pending.body.test], ['no_valid_test', null]);
});

test('yellow code (fever not cleared) -> test on arrival, rule code_yellow; without a test no_valid_test comes first', async () => {
  const r = await arrive({ id_number: yellowP.idn, origin_code: '110105', arrived_at: iso(T), test: proof(T - 3600) });
  eq(r.status, 201, r.text);
  eq([r.body.decision, r.body.rule, r.body.code.colour, r.body.code.colour_zh], ['test_on_arrival', 'code_yellow', 'yellow', '黄码']);
  assert(r.body.reason_zh.includes(r.body.code.reason), r.body.reason_zh);
  const n = await arrive({ id_number: yellowNoTest.idn, origin_code: '110105', arrived_at: iso(T) });
  eq([n.body.decision, n.body.rule], ['test_on_arrival', 'no_valid_test']);
});

test('green code, low-risk origin, valid test -> pass with the follow-up tests', async () => {
  const p = personA();
  const r = await arrive({ id_number: p.idn, origin_code: '610902', test: proof(now() - 7200) });
  eq(r.status, 201, r.text);
  eq([r.body.decision, r.body.decision_zh, r.body.rule], ['pass', '通行', 'checks_passed']);
  eq(r.body.code.colour, 'green');
  eq(r.body.origin, { code: '610902', level: 'low', level_zh: '低风险', area: null });
  eq([r.body.follow_up.tests, r.body.follow_up.within_days], [pol('arrival', 'low_tests'), pol('arrival', 'low_within_days')]);
  const at = Date.parse(r.body.arrived_at) / 1000;
  assert(Math.abs(at - now()) < 120, 'arrived_at defaults to now');
  eq(sql(S.db, `SELECT arrived_at FROM arrivals WHERE id = ${r.body.id}`), String(at));
});

test('a high-risk arrival changes the person\'s code at once: the arrival rule', async () => {
  const p = personA();
  const before = await api(S.url, 'GET', `/api/v1/persons/${p.idn}/code`, { token: command });
  eq(before.status, 200, before.text);
  eq(before.body.colour, 'green');
  const r = await arrive({ id_number: p.idn, origin_code: '310115', test: proof(now() - 3600) });
  eq(r.body.rule, 'origin_high');
  const after = await api(S.url, 'GET', `/api/v1/persons/${p.idn}/code`, { token: command });
  eq(after.status, 200, after.text);
  eq(after.body.colour, pol('colours', 'arrival_high'));
  assert(after.body.rules.some(x => x.rule === 'arrival'), JSON.stringify(after.body.rules));
  // the next checkpoint sees the code it caused
  const again = await arrive({ id_number: p.idn, origin_code: '610902', test: proof(now() - 3600) });
  eq(again.body.rule, pol('colours', 'arrival_high') === 'red' ? 'code_red' : 'code_yellow');
});

test('GB/T 2260 codes padded with zeros are cut to their natural length', async () => {
  const p = personA();
  const r = await arrive({ id_number: p.idn, origin_code: '310100', arrived_at: iso(T), test: proof(T - 3600) });
  eq(r.status, 201, r.text);
  eq([r.body.origin.code, r.body.rule], ['3101', 'origin_high']);
  eq(sql(S.db, `SELECT origin_code FROM arrivals WHERE id = ${r.body.id}`), '3101');
});

test('bad input: 400 for the shape, 422 for values, with clear messages, and nothing written', async () => {
  const p = A[A.length - 1];
  const n = count(), audits = sql(S.db, 'SELECT count(*) FROM audit_log');
  const post = (raw, ct = 'application/json') => api(S.url, 'POST', '/api/v1/checkpoint/arrivals', { token: checkpoint, raw, headers: { 'content-type': ct } });
  const cases = [
    [400, '{"id_number": ', /not valid JSON/],
    [400, '[]', /JSON object/],
    [400, JSON.stringify({ origin_code: '310101' }), /'id_number' is required/],
    [400, JSON.stringify({ id_number: p.idn }), /'origin_code' is required/],
    [400, JSON.stringify({ id_number: p.idn, origin_code: 310101 }), /'origin_code' must be a string/],
    [400, JSON.stringify({ id_number: p.idn, origin_code: '310101', arival_at: iso(T) }), /unknown member 'arival_at'/],
    [400, JSON.stringify({ id_number: p.idn, origin_code: '310101', test: 'negative' }), /'test' must be an object/],
    [400, JSON.stringify({ id_number: p.idn, origin_code: '310101', test: { result: 'negative' } }), /'test.sampled_at' is required/],
    [422, JSON.stringify({ id_number: p.idn, origin_code: 'Shanghai' }), /'origin_code' must be a region code/],
    [422, JSON.stringify({ id_number: p.idn, origin_code: '31010' }), /'origin_code' must be a region code/],
    [422, JSON.stringify({ id_number: p.idn, origin_code: '3101011234567890' }), /'origin_code' must be a region code/],
    [422, JSON.stringify({ id_number: p.idn, origin_code: '310101', arrived_at: 'yesterday' }), /'arrived_at' is not an ISO 8601 time/],
    [422, JSON.stringify({ id_number: p.idn, origin_code: '310101', arrived_at: '2022-06-01T08:30:00' }), /'arrived_at' is not an ISO 8601 time/],
    [422, JSON.stringify({ id_number: p.idn, origin_code: '310101', arrived_at: iso(now() + 3600) }), /in the future/],
    [422, JSON.stringify({ id_number: p.idn, origin_code: '310101', arrived_at: iso(now() - 4 * DAY) }), /hours ago/],
    [422, JSON.stringify({ id_number: p.idn, origin_code: '310101', arrived_at: iso(T), test: proof(T + 60) }), /after the arrival/],
    [422, JSON.stringify({ id_number: p.idn, origin_code: '310101', test: { sampled_at: iso(T), result: 'positive' } }), /must be "negative"/],
    [422, JSON.stringify({ id_number: p.idn, origin_code: '310101', test: { sampled_at: 'today', result: 'negative' } }), /'test.sampled_at' is not an ISO 8601 time/],
    [422, JSON.stringify({ id_number: '61090219900101', origin_code: '310101' }), /'id_number' is not an ID number/],
    [422, JSON.stringify({ id_number: p.idn.slice(0, 17) + (p.idn.endsWith('0') ? '1' : '0'), origin_code: '310101' }), /'id_number' is not an ID number/],
  ];
  for (const [status, raw, msg] of cases) {
    const r = await post(raw);
    eq(r.status, status, `${raw}: ${r.text}`);
    assert(msg.test(r.body.error.message), `${raw}: ${r.body.error.message}`);
  }
  eq((await post(JSON.stringify({ id_number: p.idn, origin_code: '310101' }), 'text/plain')).status, 415);
  // a valid ID number nobody registered: 422, the number masked in the message
  let unknown = null;
  for (let i = 0; i < 50 && !unknown; i++) {
    const c17 = `11010119900307${String(100 + i).padStart(3, '0')}`;
    const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const sum = [...c17].reduce((s, d, k) => s + Number(d) * w[k], 0);
    const cand = c17 + '10X98765432'[sum % 11];
    if (sql(S.db, `SELECT count(*) FROM persons WHERE id_number = '${cand}'`) === '0') unknown = cand;
  }
  const u = await post(JSON.stringify({ id_number: unknown, origin_code: '310101' }));
  eq(u.status, 422, u.text);
  assert(u.body.error.message.includes(maskId(unknown)) && !u.body.error.message.includes(unknown), u.body.error.message);
  eq(count(), n, 'no arrival written');
  eq(sql(S.db, 'SELECT count(*) FROM audit_log'), audits, 'no audit record written');
});

test('only checkpoint and command roles record arrivals; a county checkpoint records travellers living anywhere', async () => {
  const p = B[0];
  for (const t of [gridB, tracer, venue, admin]) {
    const r = await arrive({ id_number: p.idn, origin_code: '610902', test: proof(now() - 3600) }, t);
    eq(r.status, 403, r.text);
  }
  // gate.county guards county A; the traveller lives in grid B, elsewhere
  const r = await arrive({ id_number: B[1].idn, origin_code: '610902', test: proof(now() - 3600) }, county);
  eq(r.status, 201, r.text);
  const c = await arrive({ id_number: B[2].idn, origin_code: '610902', test: proof(now() - 3600) }, command);
  eq(c.status, 201, c.text);
});

test('GET /api/v1/arrivals: scoped by the person\'s grid (plus what the caller recorded), masked, paged, audited', async () => {
  const all = async (token, q = '') => {
    const items = [];
    let cursor = null;
    for (let i = 0; i < 100; i++) {
      const r = await api(S.url, 'GET', `/api/v1/arrivals?limit=3${q}${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`, { token });
      eq(r.status, 200, r.text);
      items.push(...r.body.items);
      if (!(cursor = r.body.next_cursor)) break;
    }
    return items;
  };
  const ids = items => items.map(x => x.id).join(',');
  const ref = where => sql(S.db, `SELECT a.id FROM arrivals a JOIN persons p ON p.id = a.person_id WHERE ${where} ORDER BY a.id DESC`).split('\n').filter(Boolean).join(',');
  eq(ids(await all(checkpoint)), ref(`p.grid_code LIKE '6109%' OR a.recorded_by = 'gate.east'`));
  const mine = await all(gridB);
  eq(ids(mine), ref(`p.grid_code = '${gridOfB}'`));
  assert(mine.length >= 2, 'grid B has arrivals');
  const cty = await all(county);
  eq(ids(cty), ref(`p.grid_code LIKE '${countyA}%' OR a.recorded_by = 'gate.county'`));
  assert(cty.some(x => x.person.grid_code === gridOfB), 'a checkpoint sees the travellers it recorded');
  const x = mine.find(i => i.recorded_by === 'cmd.city');
  const row = sql(S.db, `SELECT p.name || '|' || p.id_number || '|' || a.origin_code || '|' || a.arrived_at || '|' || a.decision || '|' || a.rule FROM arrivals a JOIN persons p ON p.id = a.person_id WHERE a.id = ${x.id}`).split('|');
  eq(x, { id: x.id, person: { name: maskName(row[0]), id_number: maskId(row[1]), grid_code: gridOfB }, origin_code: row[2], arrived_at: iso(Number(row[3])),
    source: 'checkpoint', decision: row[4], rule: row[5], recorded_by: 'cmd.city', policy_version: VERSION });
  eq(ids(await all(command, '&decision=isolate')), ref(`a.decision = 'isolate'`));
  eq((await api(S.url, 'GET', '/api/v1/arrivals?decision=maybe', { token: command })).status, 400);
  eq((await api(S.url, 'GET', '/api/v1/arrivals', { token: venue })).status, 403);
  eq((await api(S.url, 'GET', '/api/v1/arrivals?cursor=%%%', { token: command })).status, 400);
  assert(Number(sql(S.db, "SELECT count(*) FROM audit_log WHERE action = 'arrivals.read' AND actor = 'grid.b'")) >= 1, 'audited');
});

await run();
