// Scans answer the person's real code colour with its reason, and fever
// alerts are cleared after follow-up (POST /api/v1/alerts/{id}/clear),
// which ends the fever rule of the code.  Colours expected here come from
// the facts written with the sqlite3 shell and from [colours] of
// policy/protocol-9.ini, the policy the server runs.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, run, startServer, api, sql, eq, assert, createUser, ROOT } from '../lib/harness.mjs';

const colours = {};
{
  let sec = '';
  for (const raw of readFileSync(join(ROOT, 'policy', 'protocol-9.ini'), 'utf8').split('\n')) {
    const l = raw.trim();
    const m = /^\[(.+)\]$/.exec(l);
    if (m) sec = m[1];
    else if (sec === 'colours' && l && !l.startsWith(';')) colours[l.split('=')[0].trim()] = l.split('=')[1].trim();
  }
}
const periodic = [];
{
  let sec = '';
  for (const raw of readFileSync(join(ROOT, 'policy', 'protocol-9.ini'), 'utf8').split('\n')) {
    const l = raw.trim();
    const m = /^\[(.+)\]$/.exec(l);
    if (m) sec = m[1];
    else if (sec === 'periodic' && l && !l.startsWith(';')) periodic.push(l.split('=')[0].trim());
  }
}
assert(colours.case === 'red' && colours.fever === 'yellow', 'protocol 9: a case is red, a fever yellow');
const LABEL = { green: '绿码', yellow: '黄码', red: '红码' };

const S = await startServer({ persons: 2000, seed: 37 });
const login = async (username, password) => (await api(S.url, 'POST', '/api/v1/sessions', { body: { username, password } })).body.token;
const admin = await login('admin', S.adminPassword);

const key = Buffer.from(sql(S.db, "SELECT value FROM meta WHERE key='venue_key'"), 'hex');
function base32(buf) {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, v = 0, out = '';
  for (const b of buf) { v = (v << 8) | b; bits += 8; while (bits >= 5) { out += A[(v >>> (bits - 5)) & 31]; bits -= 5; } }
  return out;
}
const payload = code => `FK1:V:${code}:${base32(createHmac('sha512', key).update('V:' + code).digest().subarray(0, 10))}`;
const venue = sql(S.db, 'SELECT code FROM venues ORDER BY code LIMIT 1');

// persons without a key occupation (those have a periodic-test rule)
const keyJobs = periodic.map(o => `'${o}'`).join(',');
const gridA = sql(S.db, `SELECT grid_code FROM persons WHERE occupation NOT IN (${keyJobs}) GROUP BY grid_code HAVING count(*) >= 5 ORDER BY grid_code LIMIT 1`);
const gridB = sql(S.db, `SELECT grid_code FROM persons WHERE grid_code <> '${gridA}' GROUP BY grid_code ORDER BY grid_code LIMIT 1`);
const P = sql(S.db, `SELECT id, id_number FROM persons WHERE grid_code = '${gridA}' AND occupation NOT IN (${keyJobs}) ORDER BY id LIMIT 5`)
  .split('\n').map(l => { const [id, idn] = l.split('|'); return { id: Number(id), idn }; });

const device = await createUser(S, admin, { username: 'door.city', role: 'venue', scope: '6109', password: 'door-pass-999' });
const grid = await createUser(S, admin, { username: 'grid.a', role: 'grid', scope: gridA, password: 'grid-pass-999' });
const other = await createUser(S, admin, { username: 'grid.b', role: 'grid', scope: gridB, password: 'grid-pass-999' });
const command = await createUser(S, admin, { username: 'cmd.city', role: 'command', scope: '6109', password: 'command-pass-9' });
const tracer = await createUser(S, admin, { username: 'tracer.city', role: 'tracer', scope: '6109', password: 'tracer-pass-9' });

let seq = 0;
const scan = (p, extra = {}) => api(S.url, 'POST', '/api/v1/scans', { token: device, body: { scan_id: `c-${++seq}`, venue: payload(venue), id_number: p.idn, ...extra } });
const clear = (id, token, body) => api(S.url, 'POST', `/api/v1/alerts/${id}/clear`, { token, body });
const now = () => Math.floor(Date.now() / 1000);
// a policy switch to the policy in force: rows written by another process
// reach the server's colours at once (else at the next recompute)
async function refresh() {
  const r = await api(S.url, 'PUT', '/api/v1/policy', { token: admin, body: { name: 'protocol-9' } });
  eq(r.status, 200, r.text);
}

// P[0] green, P[1] a confirmed case, P[2] fever at the door, P[3] a case
// with a fever too
for (const p of [P[1], P[3]])
  sql(S.db, `INSERT INTO cases(person_id, classification, onset_at, chain_id, created_at, created_by)
    VALUES(${p.id}, 'confirmed', ${now() - 3 * 86400}, (SELECT coalesce(max(chain_id), 0) + 1 FROM cases), ${now() - 86400}, 'test')`);
sql(S.db, `INSERT INTO alerts(kind, person_id, region_code, at, detail) VALUES('fever', ${P[3].id}, '${gridA}', ${now() - 600}, '{"venue":"X","temperature":38.0}')`);
await refresh();

test('a green code: colour, its label and a reason', async () => {
  const r = await scan(P[0]);
  eq(r.status, 201, r.text);
  eq(Object.keys(r.body).sort(), ['colour', 'colour_zh', 'fever_alert', 'person', 'reason', 'scan_id', 'time', 'venue']);
  eq([r.body.colour, r.body.colour_zh], ['green', '绿码']);
  assert(typeof r.body.reason === 'string' && r.body.reason.length > 0, 'a reason is shown');
});

test('a confirmed case scans red with the reason, and red beats a fever\'s yellow', async () => {
  const r = await scan(P[1]);
  eq(r.status, 201, r.text);
  eq([r.body.colour, r.body.colour_zh], ['red', LABEL.red]);
  assert(r.body.reason.includes('确诊'), r.body.reason);
  const both = await scan(P[3], { temperature: 36.5 });
  eq([both.body.colour, both.body.colour_zh], ['red', '红码']);
});

let alertId;
test('a fever at the door: the same answer is yellow (fever not cleared), and so are later scans', async () => {
  const r = await scan(P[2], { temperature: 37.8 });
  eq(r.status, 201, r.text);
  eq(r.body.fever_alert, true);
  eq([r.body.colour, r.body.colour_zh], [colours.fever, LABEL[colours.fever]]);
  assert(r.body.reason.includes('发热'), r.body.reason);
  alertId = Number(sql(S.db, `SELECT id FROM alerts WHERE person_id = ${P[2].id} AND kind = 'fever'`));
  const later = await scan(P[2]);
  eq([later.body.colour, later.body.fever_alert], [colours.fever, false]);
});

test('clearing an alert: refused outside the scope (404) and for roles without the permission (403)', async () => {
  eq((await clear(alertId, other, { note: '复测正常' })).status, 404);
  eq((await clear(alertId, tracer, {})).status, 403);
  eq((await clear(alertId, device, {})).status, 403);
  eq((await clear(99999999, grid, {})).status, 404);
  eq((await clear('abc', grid, {})).status, 404);
  const bad = await api(S.url, 'POST', `/api/v1/alerts/${alertId}/clear`, { token: grid, raw: '{"note": ', headers: { 'content-type': 'application/json' } });
  eq(bad.status, 400, bad.text);
  eq((await clear(alertId, grid, { note: 7 })).status, 400);
  eq((await clear(alertId, grid, { notes: 'x' })).status, 400);
  eq((await clear(alertId, grid, { note: 'x'.repeat(1001) })).status, 422);
  eq(sql(S.db, `SELECT coalesce(cleared_at, 'open') FROM alerts WHERE id = ${alertId}`), 'open');
  eq(sql(S.db, `SELECT count(*) FROM audit_log WHERE action = 'alert.clear'`), '0');
});

let clearedAt;
test('the grid clears it once: cleared_at/by stored and audited with the note; a second clear is 409', async () => {
  // a later second than the alert's, so the fever rule is not empty
  await new Promise(res => setTimeout(res, 1100));
  const t0 = now();
  const r = await clear(alertId, grid, { note: '复测体温36.6，已排除' });
  eq(r.status, 200, r.text);
  eq(Object.keys(r.body).sort(), ['at', 'cleared_at', 'cleared_by', 'id', 'kind', 'note', 'person', 'region_code']);
  eq([r.body.id, r.body.kind, r.body.cleared_by, r.body.note, r.body.region_code], [alertId, 'fever', 'grid.a', '复测体温36.6，已排除', gridA]);
  const [at, by] = sql(S.db, `SELECT cleared_at || '|' || cleared_by FROM alerts WHERE id = ${alertId}`).split('|');
  clearedAt = Number(at);
  eq(by, 'grid.a');
  assert(clearedAt >= t0 - 1 && clearedAt <= now() + 1, `cleared at ${clearedAt}`);
  eq(Date.parse(r.body.cleared_at) / 1000, clearedAt);
  eq(sql(S.db, `SELECT actor || '|' || json_extract(detail, '$.note') FROM audit_log WHERE action = 'alert.clear' AND object = 'alert:${alertId}'`), 'grid.a|复测体温36.6，已排除');
  const again = await clear(alertId, command, {});
  eq(again.status, 409, again.text);
  assert(again.body.error.message.includes('grid.a'), again.body.error.message);
  eq(sql(S.db, `SELECT cleared_by FROM alerts WHERE id = ${alertId}`), 'grid.a');
});

test('after the clear the scan is green again; the code was yellow before cleared_at and is green from it', async () => {
  const r = await scan(P[2]);
  eq([r.body.colour, r.body.colour_zh], ['green', '绿码']);
  const iso = t => new Date((t + 8 * 3600) * 1000).toISOString().replace(/\.\d{3}Z$/, '+08:00');
  const before = await api(S.url, 'GET', `/api/v1/persons/${P[2].idn}/code?at=${encodeURIComponent(iso(clearedAt - 1))}`, { token: command });
  eq(before.status, 200, before.text);
  eq(before.body.colour, colours.fever);
  assert(before.body.rules.some(x => x.rule === 'fever'), JSON.stringify(before.body.rules));
  const at = await api(S.url, 'GET', `/api/v1/persons/${P[2].idn}/code?at=${encodeURIComponent(iso(clearedAt))}`, { token: command });
  eq(at.body.colour, 'green');
});

test('the command clears an alert with no body at all', async () => {
  const r = await scan(P[4], { temperature: 38.2 });
  eq(r.body.colour, colours.fever);
  const id = Number(sql(S.db, `SELECT id FROM alerts WHERE person_id = ${P[4].id}`));
  const c = await api(S.url, 'POST', `/api/v1/alerts/${id}/clear`, { token: command });
  eq(c.status, 200, c.text);
  eq([c.body.cleared_by, c.body.note], ['cmd.city', null]);
  eq((await scan(P[4])).body.colour, 'green');
});

await run();
