// Runs every example in docs/api.md against a real server, so the examples
// cannot drift from what the server does.
//
// An example is a ```http block holding a request (METHOD PATH, headers,
// blank line, body) followed by a ```http block holding the response
// (HTTP/1.1 STATUS, headers, blank line, JSON body).  In expected bodies
// "$INT", "$STR" and "$ANY" match any integer, string or value; an array
// whose last element is "..." may have more elements; objects must have
// exactly the documented keys.  $NAME variables are filled from the
// fixture below, in requests and responses alike.
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, run, startServer, api, sql, eq, ROOT, createUser, fk } from '../lib/harness.mjs';

const S = await startServer({ persons: 3000, seed: 7 });
const login = async (u, p) => (await api(S.url, 'POST', '/api/v1/sessions', { body: { username: u, password: p } })).body.token;
const V = { ADMIN_PASSWORD: S.adminPassword };
V.ADMIN_TOKEN = await login('admin', S.adminPassword);
V.GRID = sql(S.db, `SELECT grid_code FROM persons GROUP BY grid_code HAVING count(*) > 5 ORDER BY grid_code LIMIT 1`);
for (const [u, role, scope] of [['zhang.command', 'command', '6109'], ['li.grid', 'grid', V.GRID]])
  await createUser(S, V.ADMIN_TOKEN, { username: u, role, scope, password: 'example-pass-1' });
V.COMMAND_TOKEN = await login('zhang.command', 'example-pass-1');
V.GRID_TOKEN = await login('li.grid', 'example-pass-1');
V.LOGOUT_TOKEN = await login('zhang.command', 'example-pass-1');
// a user just created by the admin, who has not changed the initial password
{
  const r = await api(S.url, 'POST', '/api/v1/users', { token: V.ADMIN_TOKEN, body: { username: 'zhao.tracer', role: 'tracer', scope: '6109', password: 'initial-pass-1' } });
  if (r.status !== 201) throw new Error(r.text);
}
V.NEW_TOKEN = await login('zhao.tracer', 'initial-pass-1');
V.PERSON_ID = sql(S.db, `SELECT id FROM persons WHERE grid_code='${V.GRID}' ORDER BY id LIMIT 1`);
V.HOUSEHOLD_ID = sql(S.db, `SELECT household_id FROM persons WHERE id=${V.PERSON_ID}`);
V.VENUE = sql(S.db, `SELECT code FROM venues ORDER BY code LIMIT 1`);
// scans: VENUE's signed QR text (HMAC-SHA-512 of "V:"+code under meta
// 'venue_key', first 10 bytes, base32), a citizen speaking for PERSON_ID,
// a venue device for the city
V.PERSON_ID_NUMBER = sql(S.db, `SELECT id_number FROM persons WHERE id=${V.PERSON_ID}`);
{
  const key = Buffer.from(sql(S.db, "SELECT value FROM meta WHERE key='venue_key'"), 'hex');
  const mac = createHmac('sha512', key).update('V:' + V.VENUE).digest().subarray(0, 10);
  let bits = 0, acc = 0, sig = '';
  for (const b of mac) { acc = (acc << 8) | b; bits += 8; while (bits >= 5) { sig += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[(acc >>> (bits - 5)) & 31]; bits -= 5; } }
  V.VENUE_PAYLOAD = `FK1:V:${V.VENUE}:${sig}`;
  const c = await api(S.url, 'POST', '/api/v1/users', { token: V.ADMIN_TOKEN, body: { username: 'docs.citizen', role: 'citizen', person: V.PERSON_ID_NUMBER, password: 'initial-pass-1' } });
  if (c.status !== 201) throw new Error(c.text);
  V.CITIZEN_TOKEN = await login('docs.citizen', 'initial-pass-1');
  await api(S.url, 'POST', '/api/v1/me/password', { token: V.CITIZEN_TOKEN, body: { old_password: 'initial-pass-1', new_password: 'example-pass-1' } });
}
await createUser(S, V.ADMIN_TOKEN, { username: 'gate.one', role: 'venue', scope: '6109', password: 'example-pass-1' });
V.DEVICE_TOKEN = await login('gate.one', 'example-pass-1');
// cases: a tracer; a case living with others (the generated city has no
// check-ins, so its close contacts are its household); a person the POST
// example makes a case
await createUser(S, V.ADMIN_TOKEN, { username: 'liu.tracer', role: 'tracer', scope: '6109', password: 'example-pass-1' });
V.TRACER_TOKEN = await login('liu.tracer', 'example-pass-1');
{
  // households away from PERSON_ID, whom the scan examples check in
  const [c1, c2] = sql(S.db, `SELECT min(id) FROM persons WHERE household_id IS NOT NULL
    AND household_id <> (SELECT household_id FROM persons WHERE id = ${V.PERSON_ID})
    GROUP BY household_id HAVING count(*) >= 3 ORDER BY household_id LIMIT 2`).split('\n');
  V.NEW_CASE_ID_NUMBER = sql(S.db, `SELECT id_number FROM persons WHERE id = ${c2}`);
  const r = await api(S.url, 'POST', '/api/v1/cases', { token: V.TRACER_TOKEN, body: { id_number: sql(S.db, `SELECT id_number FROM persons WHERE id = ${c1}`), onset_at: '2022-01-10T08:00:00+08:00', found_where: '发热门诊' } });
  if (r.status !== 201) throw new Error(r.text);
  [V.CASE_ID, V.CHAIN_ID, V.CASE_PERSON_ID] = [String(r.body.id), String(r.body.chain_id), c1];
}

// signed code tokens for PERSON_ID (by the CLI, which signs with the same
// keys as the server)
{
  const signCode = (...a) => fk(['keys', 'sign', '--db', S.db, '--person', V.PERSON_ID_NUMBER, ...a], { env: S.env }).trim();
  V.CODE_TOKEN = signCode('--colour', 'green', '--minutes', '60');
  V.CODE_TOKEN_EXPIRED = signCode('--colour', 'yellow', '--minutes', '5', '--at', '2022-06-01T08:00:00+08:00');
  { const i = 100, t = V.CODE_TOKEN; V.CODE_TOKEN_TAMPERED = t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1); }
  V.CODE_TOKEN_EXPIRES = JSON.parse(fk(['verify', V.CODE_TOKEN, '--db', S.db, '--json'], { env: S.env })).expires;
}
V.POLICY_VERSION = (await api(S.url, 'GET', '/api/v1/policy', { token: V.ADMIN_TOKEN })).body.version;
// overrides and appeals: a second citizen of GRID (so the first one's code
// example stays as it is), an end three days ahead, two pending overrides
// about that citizen requested by the tracer, two appeals filed by them
{
  const t = Math.floor(Date.now() / 1000) + 3 * 86400;
  V.OVERRIDE_END = new Date((t + 8 * 3600) * 1000).toISOString().slice(0, 19) + '+08:00';
  V.APPELLANT_ID_NUMBER = sql(S.db, `SELECT id_number FROM persons WHERE grid_code='${V.GRID}' AND id <> ${V.PERSON_ID} ORDER BY id LIMIT 1`);
  const c = await api(S.url, 'POST', '/api/v1/users', { token: V.ADMIN_TOKEN, body: { username: 'docs.appellant', role: 'citizen', person: V.APPELLANT_ID_NUMBER, password: 'initial-pass-1' } });
  if (c.status !== 201) throw new Error(c.text);
  V.APPELLANT_TOKEN = await login('docs.appellant', 'initial-pass-1');
  await api(S.url, 'POST', '/api/v1/me/password', { token: V.APPELLANT_TOKEN, body: { old_password: 'initial-pass-1', new_password: 'example-pass-1' } });
  const ovr = async reason => {
    const r = await api(S.url, 'POST', '/api/v1/overrides', { token: V.TRACER_TOKEN, body: { id_numbers: [V.APPELLANT_ID_NUMBER], colour: 'yellow', category: 'data_error', reason, end_at: V.OVERRIDE_END } });
    if (r.status !== 201) throw new Error(r.text);
    return String(r.body.id);
  };
  V.OVERRIDE_ID = await ovr('同名人员核酸结果误关联，待实验室更正');
  V.SECOND_OVERRIDE_ID = await ovr('重复申请');
  const ap = async text => {
    const r = await api(S.url, 'POST', '/api/v1/me/appeals', { token: V.APPELLANT_TOKEN, body: { text } });
    if (r.status !== 201) throw new Error(r.text);
    return String(r.body.id);
  };
  V.APPEAL_ID = await ap('我6月12日的核酸结果是阴性，但码仍是黄色');
  V.SECOND_APPEAL_ID = await ap('补充：采样点为兴安路社区');
}

// nucleic-acid testing, all through the API: the county of GRID; a whole
// campaign over it that started an hour ago (CAMPAIGN_ID, deadline by the
// policy's 7 days) and one of 2022 the close example closes; a site of the
// county; a sampler (tester of the county) and a lab of the city.  The
// persons sampled here live in the county away from GRID (whose missing
// list the examples show) and from the households of the persons other
// examples use (PERSON_ID, the appellant, the cases), so their codes stay
// as shown.  Tubes: RT-NEG-01 and RT-POS-01 with ten members each, for
// the result examples; RT-ONE-01 to -04 with one member, -03 and -04
// already positive (two case candidates); RT-INV-01 invalid (a resample
// task the cancel example cancels); and one more person left unsampled for
// the sampling examples (tubes DOC-T0001, DOC-T0002).
const call = async (token, method, path, body, want) => {
  const r = await api(S.url, method, path, { token, body });
  if (r.status !== want) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.body;
};
const iso = t => new Date((t + 8 * 3600) * 1000).toISOString().slice(0, 19) + '+08:00';
{
  V.COUNTY = V.GRID.slice(0, 6);
  await createUser(S, V.ADMIN_TOKEN, { username: 'chen.sampler', role: 'tester', scope: V.COUNTY, password: 'example-pass-1' });
  V.SAMPLER_TOKEN = await login('chen.sampler', 'example-pass-1');
  await createUser(S, V.ADMIN_TOKEN, { username: 'wang.lab', role: 'lab', scope: '6109', password: 'example-pass-1' });
  V.LAB_TOKEN = await login('wang.lab', 'example-pass-1');
  const start = Math.floor(Date.now() / 60000) * 60 - 3600;
  [V.CAMPAIGN_STARTS, V.CAMPAIGN_DEADLINE] = [iso(start), iso(start + 7 * 86400)];
  V.CAMPAIGN_ID = String((await call(V.COMMAND_TOKEN, 'POST', '/api/v1/campaigns',
    { name: '文档示例全员检测', kind: 'whole', region: V.COUNTY, starts_at: V.CAMPAIGN_STARTS }, 201)).id);
  V.CLOSE_CAMPAIGN_ID = String((await call(V.COMMAND_TOKEN, 'POST', '/api/v1/campaigns',
    { name: '文档示例待关闭', kind: 'whole', region: V.COUNTY, starts_at: '2022-01-10T08:00:00+08:00' }, 201)).id);
  V.SITE = 'DOCS-00';
  await call(V.COMMAND_TOKEN, 'POST', '/api/v1/sites', { code: V.SITE, name: '文档示例采样点', region: V.COUNTY, capacity_per_hour: 300 }, 201);
  const busy = [V.PERSON_ID, V.CASE_PERSON_ID].join(',');
  const away = sql(S.db, `SELECT p.id, p.id_number, p.name FROM persons p
    WHERE p.grid_code LIKE '${V.COUNTY}%' AND p.grid_code <> '${V.GRID}'
      AND p.id NOT IN (SELECT person_id FROM campaign_exempt WHERE campaign_id = ${V.CAMPAIGN_ID})
      AND coalesce(p.household_id, -p.id) NOT IN (SELECT household_id FROM persons
        WHERE household_id IS NOT NULL AND (id IN (${busy}) OR id_number IN ('${V.APPELLANT_ID_NUMBER}', '${V.NEW_CASE_ID_NUMBER}')))
    ORDER BY p.id DESC LIMIT 26`).split('\n').map(l => l.split('|'));
  if (away.length !== 26) throw new Error(`only ${away.length} persons to sample`);
  const sampleInto = async (tube, pool, persons) => {
    await call(V.SAMPLER_TOKEN, 'POST', '/api/v1/tubes', { tube, site: V.SITE, campaign: Number(V.CAMPAIGN_ID), pool_size: pool }, 201);
    for (const p of persons) await call(V.SAMPLER_TOKEN, 'POST', '/api/v1/samples', { tube, id_number: p[1] }, 201);
  };
  await sampleInto('RT-NEG-01', 10, away.slice(0, 10));
  await sampleInto('RT-POS-01', 10, away.slice(10, 20));
  for (let i = 0; i < 4; i++) await sampleInto(`RT-ONE-0${i + 1}`, 1, [away[20 + i]]);
  await sampleInto('RT-INV-01', 1, [away[24]]);
  for (const [tube, result] of [['RT-ONE-03', 'positive'], ['RT-ONE-04', 'positive'], ['RT-INV-01', 'invalid']])
    await call(V.LAB_TOKEN, 'POST', '/api/v1/results', { tube, result }, 201);
  const cands = (await call(V.COMMAND_TOKEN, 'GET', '/api/v1/candidates', undefined, 200)).items;
  [V.CANDIDATE_ID, V.SECOND_CANDIDATE_ID] = ['RT-ONE-03', 'RT-ONE-04'].map(t => String(cands.find(c => c.tube === t).id));
  const tasks = (await call(V.COMMAND_TOKEN, 'GET', '/api/v1/tasks?kind=resample', undefined, 200)).items;
  V.TASK_ID = String(tasks.find(t => t.source === 'tube:RT-INV-01').id);
  // the person the sampling examples sample, with their name masked as
  // lists mask it: first character, stars, the last from three on
  [V.SAMPLE_PERSON_ID, V.SAMPLE_ID_NUMBER] = away[25];
  const name = [...away[25][2]];
  V.OUTSIDE_ID_NUMBER = sql(S.db, `SELECT id_number FROM persons WHERE grid_code NOT LIKE '${V.COUNTY}%' ORDER BY id LIMIT 1`);
  V.SAMPLE_NAME_MASKED = name[0] + '*'.repeat(name.length - (name.length >= 3 ? 2 : 1)) + (name.length >= 3 ? name[name.length - 1] : '');
}

// the control loop.  Orders: adding CASE_ID proposed a central order for
// each of its household members; the examples confirm ORDER_ID, extend and
// release it, and cancel CANCEL_ORDER_ID.
{
  const ids = sql(S.db, `SELECT id FROM orders WHERE case_id = ${V.CASE_ID} AND status = 'proposed' ORDER BY id`).split('\n');
  if (ids.length < 2) throw new Error(`case ${V.CASE_ID} has ${ids.length} proposed orders, want 2`);
  [V.ORDER_ID, V.CANCEL_ORDER_ID] = ids;
  V.ORDER_PERSON_ID = sql(S.db, `SELECT person_id FROM orders WHERE id = ${V.ORDER_ID}`);
  // ORDER_ID's person as a citizen, for GET /api/v1/me/orders
  const idn = sql(S.db, `SELECT id_number FROM persons WHERE id = ${V.ORDER_PERSON_ID}`);
  await call(V.ADMIN_TOKEN, 'POST', '/api/v1/users', { username: 'docs.contact', role: 'citizen', person: idn, password: 'initial-pass-1' }, 201);
  const t = await login('docs.contact', 'initial-pass-1');
  await call(t, 'POST', '/api/v1/me/password', { old_password: 'initial-pass-1', new_password: 'example-pass-1' }, 204);
  V.CONTACT_TOKEN = await login('docs.contact', 'example-pass-1');
  V.EXTEND_UNTIL = iso(Math.floor(Date.now() / 1000) + 10 * 86400);
}
// an order made active outside the examples: a proposed row written here
// (without test days: the examples that use it show none), confirmed
// through the API (responsibles, tasks, a room) by the command
const activeOrder = async (person, kind) => {
  const t = Math.floor(Date.now() / 1000) - 3600;
  sql(S.db, `INSERT INTO orders(person_id, kind, category, status, start_at, planned_end, orig_end, created_at, created_by, policy_version)
    VALUES(${person}, '${kind}', 'close', 'proposed', ${t}, ${t + 7 * 86400}, ${t + 7 * 86400}, ${t}, 'docs', '${V.POLICY_VERSION}')`);
  const id = sql(S.db, `SELECT max(id) FROM orders`);
  const r = await call(V.COMMAND_TOKEN, 'POST', '/api/v1/orders/confirm', { ids: [Number(id)] }, 200);
  if (r.activated !== 1) throw new Error(`order ${id} not activated: ${JSON.stringify(r)}`);
  return id;
};
// persons the other examples leave alone: no order, case or sample, and
// not in the household of PERSON_ID or the appellant (whose codes the
// examples show)
const quiet = `household_id IS NOT NULL AND id NOT IN (SELECT person_id FROM orders)
  AND id NOT IN (SELECT person_id FROM cases) AND id NOT IN (SELECT person_id FROM samples)
  AND id <> ${V.SAMPLE_PERSON_ID} AND household_id NOT IN (SELECT household_id FROM persons
    WHERE household_id IS NOT NULL AND (id = ${V.PERSON_ID} OR id_number = '${V.APPELLANT_ID_NUMBER}'))`;
// isolation: a site of the county with rooms 101 and 102; an active central
// order of a person of the county away from GRID (ISO_ORDER_ID) in room 101
// (ISO_STAY_ID); room 102 (ISO_ROOM_ID) out of service, so no other order
// takes it; an isolation officer of the county
{
  V.ISO_SITE_ID = String((await call(V.COMMAND_TOKEN, 'POST', '/api/v1/isolation/sites',
    { name: '文档示例隔离点', region: V.COUNTY, floors: 1, rooms_per_floor: 2 }, 201)).id);
  V.ISO_ROOM_ID = sql(S.db, `SELECT id FROM iso_rooms WHERE site_id = ${V.ISO_SITE_ID} AND number = '102'`);
  await call(V.COMMAND_TOKEN, 'POST', `/api/v1/isolation/rooms/${V.ISO_ROOM_ID}`, { status: 'out_of_service' }, 200);
  V.ISO_PERSON_ID = sql(S.db, `SELECT id FROM persons WHERE grid_code LIKE '${V.COUNTY}%' AND grid_code <> '${V.GRID}'
    AND ${quiet} ORDER BY id DESC LIMIT 1`);
  V.ISO_ORDER_ID = await activeOrder(V.ISO_PERSON_ID, 'central');
  V.ISO_STAY_ID = sql(S.db, `SELECT id FROM stays WHERE order_id = ${V.ISO_ORDER_ID}`);
  if (!V.ISO_STAY_ID) throw new Error(`order ${V.ISO_ORDER_ID} got no room`);
  await createUser(S, V.ADMIN_TOKEN, { username: 'zhou.isolation', role: 'isolation', scope: V.COUNTY, password: 'example-pass-1' });
  V.ISOLATION_TOKEN = await login('zhou.isolation', 'example-pass-1');
}
// home control: a citizen of GRID (not PERSON_ID, whose code the scan
// examples show green) under an active home isolation order
// (HOME_ORDER_ID); li.grid records staff checks for it
{
  V.HOME_PERSON_ID = sql(S.db, `SELECT id FROM persons WHERE grid_code = '${V.GRID}' AND ${quiet} ORDER BY id LIMIT 1`);
  if (!V.HOME_PERSON_ID) throw new Error(`no person left in ${V.GRID} for the home examples`);
  const idn = sql(S.db, `SELECT id_number FROM persons WHERE id = ${V.HOME_PERSON_ID}`);
  await call(V.ADMIN_TOKEN, 'POST', '/api/v1/users', { username: 'docs.home', role: 'citizen', person: idn, password: 'initial-pass-1' }, 201);
  const t = await login('docs.home', 'initial-pass-1');
  await call(t, 'POST', '/api/v1/me/password', { old_password: 'initial-pass-1', new_password: 'example-pass-1' }, 204);
  V.HOME_CITIZEN_TOKEN = await login('docs.home', 'example-pass-1');
  V.HOME_ORDER_ID = await activeOrder(V.HOME_PERSON_ID, 'home_isolation');
}

const subst = s => s.replace(/\$([A-Z_]+)/g, (m, k) => (k in V ? V[k] : m));

function parseExamples(md) {
  const blocks = [...md.matchAll(/```http\n([\s\S]*?)```/g)].map(m => ({ text: m[1], at: md.slice(0, m.index).split('\n').length }));
  const out = [];
  for (let i = 0; i + 1 < blocks.length; i += 2) {
    const [req, res] = [blocks[i], blocks[i + 1]];
    if (!/^[A-Z]+ \//.test(req.text) || !/^HTTP\/1\.1 \d{3}/.test(res.text))
      throw new Error(`docs/api.md line ${req.at}: expected a request block followed by a response block`);
    out.push({ req: req.text, res: res.text, line: req.at });
  }
  return out;
}

function split(block) {
  const [head, ...rest] = block.split('\n\n');
  const lines = head.split('\n').filter(l => l.trim() !== '');
  return { first: lines[0], headers: lines.slice(1), body: rest.join('\n\n').trim() };
}

function match(exp, act, path) {
  if (exp === '$ANY') return;
  if (exp === '$INT') { if (!Number.isInteger(act)) throw new Error(`${path}: expected an integer, got ${JSON.stringify(act)}`); return; }
  if (exp === '$STR') { if (typeof act !== 'string') throw new Error(`${path}: expected a string, got ${JSON.stringify(act)}`); return; }
  if (Array.isArray(exp)) {
    if (!Array.isArray(act)) throw new Error(`${path}: expected an array`);
    const open = exp.length && exp[exp.length - 1] === '...';
    const items = open ? exp.slice(0, -1) : exp;
    if (open ? act.length < items.length : act.length !== items.length)
      throw new Error(`${path}: expected ${open ? 'at least ' : ''}${items.length} elements, got ${act.length}`);
    items.forEach((e, i) => match(e, act[i], `${path}[${i}]`));
    return;
  }
  if (exp && typeof exp === 'object') {
    if (!act || typeof act !== 'object' || Array.isArray(act)) throw new Error(`${path}: expected an object`);
    const ek = Object.keys(exp).sort().join(','), ak = Object.keys(act).sort().join(',');
    if (ek !== ak) throw new Error(`${path}: keys differ\n  documented: ${ek}\n  actual:     ${ak}`);
    for (const k of Object.keys(exp)) match(exp[k], act[k], `${path}.${k}`);
    return;
  }
  if (exp !== act) throw new Error(`${path}: expected ${JSON.stringify(exp)}, got ${JSON.stringify(act)}`);
}

const md = readFileSync(join(ROOT, 'docs', 'api.md'), 'utf8');
const examples = parseExamples(md);
test('docs/api.md has examples for every route', async () => {
  const documented = new Set(examples.map(e => split(e.req).first.replace(/\?.*$/, '').replace(/\/(\d+|\$[A-Z_]+)$/, '/{id}')));
  for (const want of ['POST /api/v1/sessions', 'DELETE /api/v1/sessions/current', 'GET /api/v1/me', 'POST /api/v1/me/password',
    'GET /api/v1/users', 'POST /api/v1/users', 'GET /api/v1/regions', 'GET /api/v1/persons',
    'GET /api/v1/persons/{id}', 'GET /api/v1/households', 'GET /api/v1/households/{id}', 'GET /api/v1/venues', 'GET /healthz', 'GET /metrics',
    'POST /api/v1/cases', 'GET /api/v1/cases', 'GET /api/v1/cases/{id}', 'GET /api/v1/cases/$CASE_ID/contacts',
    'GET /api/v1/cases/$CASE_ID/contacts/counts', 'GET /api/v1/cases/$CASE_ID/trajectory', 'GET /api/v1/chains/{id}',
    'POST /api/v1/scans', 'GET /api/v1/alerts', 'POST /api/v1/alerts/1/clear', 'POST /api/v1/checkpoint/arrivals',
    'GET /api/v1/arrivals', 'GET /api/v1/me/code', 'GET /api/v1/me/code/qr.png', 'GET /api/v1/persons/$CASE_PERSON_ID/code',
    'GET /api/v1/policy', 'PUT /api/v1/policy', 'GET /api/v1/keys', 'POST /api/v1/verify',
    'POST /api/v1/overrides', 'GET /api/v1/overrides', 'GET /api/v1/overrides/{id}',
    'POST /api/v1/overrides/$OVERRIDE_ID/approve', 'POST /api/v1/overrides/$SECOND_OVERRIDE_ID/refuse',
    'POST /api/v1/overrides/$OVERRIDE_ID/revoke', 'GET /api/v1/me/overrides',
    'POST /api/v1/me/appeals', 'GET /api/v1/me/appeals', 'POST /api/v1/me/appeals/$SECOND_APPEAL_ID/withdraw',
    'GET /api/v1/appeals', 'GET /api/v1/appeals/{id}', 'POST /api/v1/appeals/$APPEAL_ID/decide',
    'POST /api/v1/campaigns', 'GET /api/v1/campaigns', 'GET /api/v1/campaigns/{id}',
    'POST /api/v1/campaigns/$CLOSE_CAMPAIGN_ID/close', 'POST /api/v1/sites', 'GET /api/v1/sites',
    'POST /api/v1/tubes', 'POST /api/v1/samples', 'POST /api/v1/tubes/DOC-T0001/close', 'GET /api/v1/tubes/DOC-T0001',
    'POST /api/v1/results', 'GET /api/v1/tasks', 'POST /api/v1/tasks/$TASK_ID/cancel', 'GET /api/v1/candidates',
    'POST /api/v1/candidates/$CANDIDATE_ID/confirm', 'POST /api/v1/candidates/$SECOND_CANDIDATE_ID/dismiss',
    'GET /api/v1/campaigns/$CAMPAIGN_ID/coverage', 'GET /api/v1/campaigns/$CAMPAIGN_ID/sites',
    'GET /api/v1/campaigns/$CAMPAIGN_ID/missing', 'GET /api/v1/campaigns/$CAMPAIGN_ID/missing.xlsx',
    'GET /api/v1/plan-testing'])
    if (![...documented].some(d => d === want)) throw new Error(`no example for ${want}`);
});
// and for every row of the route tables in src/ (a route added without an
// example fails here even when the list above was not updated)
test('docs/api.md has an example for every route in the route tables of src/', async () => {
  const sources = [];
  const walk = dir => {
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.c')) sources.push(readFileSync(join(dir, e.name), 'utf8'));
  };
  walk(join(ROOT, 'src'));
  const routes = sources.flatMap(t => [...t.matchAll(/\{"(GET|POST|PUT|PATCH|DELETE)", "(\/[^"]*)"/g)].map(m => [m[1], m[2]]));
  if (routes.length < 60) throw new Error(`found only ${routes.length} routes in src/: has the route table format changed?`);
  const requests = examples.map(e => split(e.req).first.replace(/\?.*$/, '').split(' '));
  const missing = routes.filter(([method, pattern]) => {
    const re = new RegExp('^' + pattern.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[a-z_]+\}/g, '[^/]+') + '$');
    return !requests.some(([m, p]) => m === method && re.test(p));
  });
  if (missing.length) throw new Error(`no example for ${missing.map(r => r.join(' ')).join(', ')}`);
});

for (const ex of examples) {
  const req = split(subst(ex.req));
  const [method, path] = req.first.split(' ');
  test(`docs/api.md line ${ex.line}: ${method} ${split(ex.req).first.split(' ')[1]}`, async () => {
    const headers = {};
    for (const h of req.headers) { const i = h.indexOf(':'); headers[h.slice(0, i).toLowerCase()] = h.slice(i + 1).trim(); }
    const r = await api(S.url, method, path, { headers, raw: req.body || undefined });
    const res = split(subst(ex.res));
    eq(r.status, Number(res.first.split(' ')[1]), `status (body: ${r.text.slice(0, 300)})`);
    for (const h of res.headers) {
      const i = h.indexOf(':');
      const name = h.slice(0, i), want = h.slice(i + 1).trim();
      const got = r.headers.get(name);
      if (want === '$ANY' ? got === null : got !== want && !(got || '').startsWith(want))
        throw new Error(`header ${name}: expected ${want}, got ${got}`);
    }
    if (res.body.startsWith('{') || res.body.startsWith('[')) match(JSON.parse(res.body), r.body, 'body');
    else if (res.body) for (const line of res.body.split('\n')) if (!line.startsWith('...') && !r.text.includes(line))
      throw new Error(`body lacks: ${line}`);
  });
}

await run();
