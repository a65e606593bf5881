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
import { readFileSync } from 'node:fs';
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
    'GET /api/v1/appeals', 'GET /api/v1/appeals/{id}', 'POST /api/v1/appeals/$APPEAL_ID/decide'])
    if (![...documented].some(d => d === want)) throw new Error(`no example for ${want}`);
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
