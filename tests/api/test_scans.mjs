// Scans (POST /api/v1/scans) and alerts (GET /api/v1/alerts) against a real
// server.  Venue payloads are signed here with node's own HMAC-SHA-512 and
// base32, from the key in the database's meta table; every expected row,
// name and region comes from the sqlite3 shell reading the same file.
import { createHmac } from 'node:crypto';
import { test, run, startServer, api, sql, eq, assert, fk, createUser } from '../lib/harness.mjs';

const S = await startServer({ persons: 2000, seed: 23 });
const login = async (username, password) => (await api(S.url, 'POST', '/api/v1/sessions', { body: { username, password } })).body.token;
const admin = await login('admin', S.adminPassword);

// ---- venue payloads: FK1:V:<code>:<base32 of HMAC-SHA-512(key, "V:"+code)[0..10)>
const key = Buffer.from(sql(S.db, "SELECT value FROM meta WHERE key='venue_key'"), 'hex');
function base32(buf) {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, v = 0, out = '';
  for (const b of buf) { v = (v << 8) | b; bits += 8; while (bits >= 5) { out += A[(v >>> (bits - 5)) & 31]; bits -= 5; } }
  return out;
}
const payload = code => `FK1:V:${code}:${base32(createHmac('sha512', key).update('V:' + code).digest().subarray(0, 10))}`;

// ---- the city: two grids with people, venues in and out of a county
const grids = sql(S.db, 'SELECT grid_code FROM persons GROUP BY grid_code HAVING count(*) >= 6 ORDER BY grid_code LIMIT 2').split('\n');
const people = g => sql(S.db, `SELECT id, id_number, name FROM persons WHERE grid_code='${g}' ORDER BY id LIMIT 6`)
  .split('\n').map(l => { const [id, idn, name] = l.split('|'); return { id: Number(id), idn, name }; });
const [P, Q] = [people(grids[0]), people(grids[1])];
const county = grids[0].slice(0, 6);
const venueIn = sql(S.db, `SELECT code FROM venues WHERE region_code LIKE '${county}%' ORDER BY code LIMIT 1`);
const venueOut = sql(S.db, `SELECT code FROM venues WHERE region_code NOT LIKE '${county}%' ORDER BY code LIMIT 1`);
const venueId = code => Number(sql(S.db, `SELECT id FROM venue_keys WHERE code='${code}'`));
const venueName = code => sql(S.db, `SELECT name FROM venues WHERE code='${code}'`);
assert(venueIn && venueOut, 'the test city needs venues inside and outside one county');

// masking written from the rule, independently of the server's code
const maskName = n => { const c = [...n]; return c.length < 2 ? '*' : c[0] + '*'.repeat(c.length - (c.length >= 3 ? 2 : 1)) + (c.length >= 3 ? c[c.length - 1] : ''); };

// ---- accounts
async function citizen(username, idn) {
  const initial = `initial-${username}-0`;
  const c = await api(S.url, 'POST', '/api/v1/users', { token: admin, body: { username, role: 'citizen', person: idn, password: initial } });
  if (c.status !== 201) throw new Error(`cannot create ${username}: ${c.status} ${c.text}`);
  const t = await login(username, initial);
  const p = await api(S.url, 'POST', '/api/v1/me/password', { token: t, body: { old_password: initial, new_password: 'citizen-pass-9' } });
  if (p.status !== 204) throw new Error(p.text);
  return t;
}
const me = await citizen('pan.citizen', P[0].idn);
const device = await createUser(S, admin, { username: 'gate.county', role: 'venue', scope: county, password: 'device-pass-9' });
const checkpoint = await createUser(S, admin, { username: 'gate.city', role: 'checkpoint', scope: '6109', password: 'device-pass-9' });
const command = await createUser(S, admin, { username: 'cmd.city', role: 'command', scope: '6109', password: 'command-pass-9' });
const gridA = await createUser(S, admin, { username: 'grid.a', role: 'grid', scope: grids[0], password: 'grid-pass-9' });
const gridB = await createUser(S, admin, { username: 'grid.b', role: 'grid', scope: grids[1], password: 'grid-pass-9' });

const scan = (token, body) => api(S.url, 'POST', '/api/v1/scans', { token, body });
const rows = where => Number(sql(S.db, `SELECT count(*) FROM checkins WHERE ${where}`));
let seq = 0;
const sid = () => `t-${++seq}`;

test('citizen accounts: bound to a person, scope is their grid, other roles take no person', async () => {
  eq(sql(S.db, "SELECT scope || '|' || person_id FROM users WHERE username='pan.citizen'"), `${grids[0]}|${P[0].id}`);
  const none = await api(S.url, 'POST', '/api/v1/users', { token: admin, body: { username: 'c.none', role: 'citizen', password: 'some-pass-123' } });
  eq(none.status, 422);
  const other = await api(S.url, 'POST', '/api/v1/users', { token: admin, body: { username: 'g.person', role: 'grid', scope: grids[0], person: P[1].idn, password: 'some-pass-123' } });
  eq(other.status, 422);
  const unknown = await api(S.url, 'POST', '/api/v1/users', { token: admin, body: { username: 'c.unknown', role: 'citizen', person: '110101199003070000', password: 'some-pass-123' } });
  eq(unknown.status, 422);
  const xid = sql(S.db, "SELECT id_number FROM persons WHERE id_number LIKE '%X' AND id NOT IN (SELECT person_id FROM users WHERE person_id IS NOT NULL) LIMIT 1");
  assert(xid, 'the test city has a person whose ID number ends in X');
  /* a lower-case x is the same ID number */
  const lx = await api(S.url, 'POST', '/api/v1/users', { token: admin, body: { username: 'c.lowerx', role: 'citizen', person: xid.slice(0, 17) + 'x', password: 'some-pass-123' } });
  eq(lx.status, 201, JSON.stringify(lx.body));
  fk(['user', 'add', '--db', S.db, '--username', 'cli.citizen', '--role', 'citizen', '--person', P[1].idn, '--password', 'cli-pass-1234'], { env: S.env });
  eq(sql(S.db, "SELECT role || '|' || scope || '|' || person_id FROM users WHERE username='cli.citizen'"), `citizen|${grids[0]}|${P[1].id}`);
  let rc = 0;
  try { fk(['user', 'add', '--db', S.db, '--username', 'cli.c2', '--role', 'citizen', '--scope', grids[0], '--password', 'cli-pass-1234'], { env: S.env }); } catch (e) { rc = e.status; }
  eq(rc, 2, 'citizen without --person is bad usage');
});

test('citizen scans for themself: 201, masked name, durable row with the server time', async () => {
  const before = Math.floor(Date.now() / 1000);
  const r = await scan(me, { scan_id: 'self-1', venue: payload(venueIn) });
  eq(r.status, 201, r.text);
  eq(Object.keys(r.body).sort(), ['colour', 'colour_zh', 'fever_alert', 'person', 'reason', 'scan_id', 'time', 'venue']);
  eq(r.body.scan_id, 'self-1');
  eq(r.body.venue, { code: venueIn, name: venueName(venueIn) });
  eq(r.body.person, { name: maskName(P[0].name) });
  eq(r.body.colour, 'green');
  eq(r.body.fever_alert, false);
  // committed before the answer: another process sees the row now
  const row = sql(S.db, `SELECT t || '|' || source || '|' || coalesce(temp_dc, 'null') FROM checkins WHERE person_id=${P[0].id} AND venue_id=${venueId(venueIn)}`);
  const [t, source, temp] = row.split('|');
  eq([source, temp], ['1', 'null']);
  assert(Number(t) >= before - 1 && Number(t) <= Math.floor(Date.now() / 1000) + 1, `server time ${t}`);
  eq(Date.parse(r.body.time) / 1000, Number(t), 'answered time is the stored time');
  eq(sql(S.db, `SELECT count(*) FROM scan_requests WHERE scan_id='self-1'`), '1');
});

test('a retry with the same scan id answers the first result (200) and writes nothing', async () => {
  const a = await scan(me, { scan_id: 'retry-1', venue: payload(venueOut) });
  eq(a.status, 201, a.text);
  await new Promise(r => setTimeout(r, 1100)); // a later second: a new scan would get a new time
  const b = await scan(me, { scan_id: 'retry-1', venue: payload(venueOut) });
  eq(b.status, 200, b.text);
  eq(b.body, a.body);
  eq(rows(`person_id=${P[0].id} AND venue_id=${venueId(venueOut)}`), 1);
  eq(sql(S.db, "SELECT count(*) FROM scan_requests WHERE scan_id='retry-1'"), '1');
  const c = await scan(me, { scan_id: 'retry-1', venue: payload(venueIn) });
  eq(c.status, 409, c.text);
});

test('companion scan: the right name is accepted, a wrong name or unknown ID number is one 422', async () => {
  const ok = await scan(me, { scan_id: sid(), venue: payload(venueIn), id_number: P[2].idn, name: P[2].name });
  eq(ok.status, 201, ok.text);
  eq(ok.body.person, { name: maskName(P[2].name) });
  eq(sql(S.db, `SELECT source FROM checkins WHERE person_id=${P[2].id}`), '3');
  const wrong = await scan(me, { scan_id: sid(), venue: payload(venueIn), id_number: P[3].idn, name: P[2].name });
  eq(wrong.status, 422, wrong.text);
  const unknown = await scan(me, { scan_id: sid(), venue: payload(venueIn), id_number: '110101199003070000', name: P[2].name });
  eq(unknown.status, 422);
  eq(unknown.body.error.message, wrong.body.error.message, 'no hint which part is wrong');
  eq(rows(`person_id=${P[3].id}`), 0);
  const noName = await scan(me, { scan_id: sid(), venue: payload(venueIn), id_number: P[3].idn });
  eq(noName.status, 400);
});

test('venue device posts the ID number from the card, only for venues in its scope', async () => {
  const r = await scan(device, { scan_id: 'dev-1', venue: payload(venueIn), id_number: Q[0].idn, temperature: 36.6 });
  eq(r.status, 201, r.text);
  eq(sql(S.db, `SELECT source || '|' || temp_dc FROM checkins WHERE person_id=${Q[0].id}`), '2|366');
  const out = await scan(device, { scan_id: 'dev-2', venue: payload(venueOut), id_number: Q[0].idn });
  eq(out.status, 422, out.text);
  const lower = await scan(checkpoint, { scan_id: 'cp-1', venue: payload(venueOut), id_number: Q[1].idn.toLowerCase() });
  eq(lower.status, 201, lower.text);
  const noId = await scan(device, { scan_id: 'dev-3', venue: payload(venueIn) });
  eq(noId.status, 400);
  const unknown = await scan(device, { scan_id: 'dev-4', venue: payload(venueIn), id_number: '110101199003070000' });
  eq(unknown.status, 422);
});

test('forged or altered venue codes are 403 and write nothing', async () => {
  const good = payload(venueIn);
  const parts = good.split(':'); // FK1, V, code, sig
  const flip = (s, i, alphabet) => s.slice(0, i) + alphabet.replace(s[i], '')[0] + s.slice(i + 1);
  const code = parts[2];
  const alteredCode = `FK1:V:${flip(code, code.length - 1, '0123456789')}:${parts[3]}`;
  const alteredSig = `FK1:V:${code}:${flip(parts[3], 5, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`;
  const n = Number(sql(S.db, 'SELECT count(*) FROM checkins'));
  for (const venue of [alteredCode, alteredSig]) {
    const r = await scan(device, { scan_id: sid(), venue, id_number: Q[2].idn });
    eq(r.status, 403, `${venue}: ${r.text}`);
  }
  const other = createHmac('sha512', Buffer.alloc(32, 7)).update('V:' + code).digest().subarray(0, 10);
  const otherKey = await scan(device, { scan_id: sid(), venue: `FK1:V:${code}:${base32(other)}`, id_number: Q[2].idn });
  eq(otherKey.status, 403);
  eq(Number(sql(S.db, 'SELECT count(*) FROM checkins')), n);
  eq(sql(S.db, `SELECT count(*) FROM scan_requests WHERE person_id=${Q[2].id}`), '0');
});

test('a correctly signed code that is no venue, and a non-venue QR text, are 422', async () => {
  const r = await scan(me, { scan_id: sid(), venue: payload('VNOSUCHVENUE01') });
  eq(r.status, 422, r.text);
  const text = await scan(me, { scan_id: sid(), venue: 'https://example.com/' });
  eq(text.status, 422);
});

test('bad bodies: malformed JSON 400, too large 413, missing fields 400, bad values 422, wrong type 415', async () => {
  const post = (raw, ct = 'application/json') => api(S.url, 'POST', '/api/v1/scans', { token: me, raw, headers: { 'content-type': ct } });
  eq((await post('{"scan_id": "x1", "venue": ')).status, 400);
  eq((await post('[1,2]')).status, 400);
  eq((await post(JSON.stringify({ scan_id: 'x2', venue: payload(venueIn), pad: 'x'.repeat(4000) }))).status, 413);
  eq((await post(JSON.stringify({ venue: payload(venueIn) }))).status, 400);
  eq((await post(JSON.stringify({ scan_id: 'x3' }))).status, 400);
  eq((await post(JSON.stringify({ scan_id: 'x4', venue: 7 }))).status, 400);
  eq((await post(JSON.stringify({ scan_id: 'bad id!', venue: payload(venueIn) }))).status, 422);
  eq((await post(JSON.stringify({ scan_id: 'y'.repeat(65), venue: payload(venueIn) }))).status, 422);
  eq((await post(JSON.stringify({ scan_id: 'x5', venue: payload(venueIn), temperature: 29.9 }))).status, 422);
  eq((await post(JSON.stringify({ scan_id: 'x6', venue: payload(venueIn), temperature: 45.1 }))).status, 422);
  eq((await post(JSON.stringify({ scan_id: 'x7', venue: payload(venueIn), temperature: '37' }))).status, 400);
  eq((await post(JSON.stringify({ scan_id: 'x8', venue: payload(venueIn) }), 'text/plain')).status, 415);
  eq(sql(S.db, "SELECT count(*) FROM scan_requests WHERE scan_id LIKE 'x%'"), '0');
});

test('roles without the scan permission get 403', async () => {
  for (const t of [command, gridA, admin]) {
    const r = await scan(t, { scan_id: sid(), venue: payload(venueIn), id_number: Q[3].idn });
    eq(r.status, 403, r.text);
  }
  eq(rows(`person_id=${Q[3].id}`), 0);
});

test('37.3 degC raises a fever alert for the grid and the command, not for another grid', async () => {
  const cool = await scan(device, { scan_id: 'fev-0', venue: payload(venueIn), id_number: P[4].idn, temperature: 37.2 });
  eq(cool.status, 201); eq(cool.body.fever_alert, false);
  const r = await scan(device, { scan_id: 'fev-1', venue: payload(venueIn), id_number: P[5].idn, temperature: 37.3 });
  eq(r.status, 201, r.text);
  eq(r.body.fever_alert, true);
  eq(sql(S.db, `SELECT kind || '|' || region_code || '|' || json_extract(detail, '$.venue') || '|' || json_extract(detail, '$.temperature') FROM alerts WHERE person_id=${P[5].id}`),
    `fever|${grids[0]}|${venueIn}|37.3`);
  eq(sql(S.db, `SELECT count(*) FROM alerts WHERE person_id=${P[4].id}`), '0');
  const retry = await scan(device, { scan_id: 'fev-1', venue: payload(venueIn), id_number: P[5].idn, temperature: 37.3 });
  eq(retry.status, 200); eq(retry.body.fever_alert, true);
  eq(sql(S.db, `SELECT count(*) FROM alerts WHERE person_id=${P[5].id}`), '1');

  const want = sql(S.db, `SELECT id FROM alerts WHERE person_id=${P[5].id}`);
  for (const t of [gridA, command]) {
    const l = await api(S.url, 'GET', '/api/v1/alerts?kind=fever', { token: t });
    eq(l.status, 200, l.text);
    const a = l.body.items.find(i => String(i.id) === want);
    assert(a, 'alert listed');
    eq(a.kind, 'fever');
    eq(a.region_code, grids[0]);
    eq(a.person.name, maskName(P[5].name));
    eq(a.person.id_number, P[5].idn.slice(0, 6) + '********' + P[5].idn.slice(14));
    eq(a.detail, { venue: venueIn, temperature: 37.3 });
  }
  const other = await api(S.url, 'GET', '/api/v1/alerts?kind=fever', { token: gridB });
  eq(other.status, 200);
  eq(other.body.items.filter(i => i.region_code === grids[0]).length, 0);
  assert(Number(sql(S.db, "SELECT count(*) FROM audit_log WHERE action='alerts.read' AND actor='grid.a'")) >= 1, 'alerts read is audited');
  eq((await api(S.url, 'GET', '/api/v1/alerts', { token: me })).status, 403);
  eq((await api(S.url, 'GET', '/api/v1/alerts?kind=Fever!', { token: command })).status, 400);
});

test('alerts are newest first and paged with a cursor', async () => {
  for (const [i, p] of Q.slice(3, 6).entries()) {
    const r = await scan(checkpoint, { scan_id: `fev-page-${i}`, venue: payload(venueOut), id_number: p.idn, temperature: 38.5 });
    eq(r.status, 201, r.text);
  }
  const want = sql(S.db, "SELECT id FROM alerts WHERE kind='fever' ORDER BY id DESC").split('\n').map(Number);
  const got = [];
  let cursor = '';
  for (let i = 0; i < 10; i++) {
    const l = await api(S.url, 'GET', `/api/v1/alerts?kind=fever&limit=2${cursor ? '&cursor=' + cursor : ''}`, { token: command });
    eq(l.status, 200, l.text);
    got.push(...l.body.items.map(x => x.id));
    if (!l.body.next_cursor) break;
    cursor = l.body.next_cursor;
  }
  eq(got, want);
});

test('a scan is in the contact index as soon as it is answered', async () => {
  // P[1] and Q[4] scan the same venue now; P[1] becomes a case: Q[4] is a close contact
  const a = await scan(checkpoint, { scan_id: 'ix-a', venue: payload(venueOut), id_number: P[1].idn });
  const b = await scan(checkpoint, { scan_id: 'ix-b', venue: payload(venueOut), id_number: Q[4].idn });
  eq([a.status, b.status], [201, 201]);
  const onset = new Date(Date.now() - 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
  const c = await api(S.url, 'POST', '/api/v1/cases', { token: command, body: { id_number: P[1].idn, onset_at: onset } });
  eq(c.status, 201, c.text);
  const l = await api(S.url, 'GET', `/api/v1/cases/${c.body.id}/contacts?degree=1&limit=1000`, { token: command });
  eq(l.status, 200, l.text);
  assert(l.body.items.some(k => k.person_id === Q[4].id), `Q[4] is a close contact: ${l.text.slice(0, 300)}`);
});

test('200 concurrent scans: every one committed once, requests and check-ins agree', async () => {
  const persons = sql(S.db, `SELECT id_number FROM persons ORDER BY id DESC LIMIT 200`).split('\n');
  const batches = sql(S.db, 'SELECT count(*) FROM checkin_batches');
  const rs = await Promise.all(persons.map((idn, i) => scan(checkpoint, { scan_id: `burst-${i}`, venue: payload(venueOut), id_number: idn })));
  eq(rs.map(r => r.status).filter(s => s !== 201), []);
  eq(sql(S.db, "SELECT count(*) FROM scan_requests WHERE scan_id LIKE 'burst-%'"), '200');
  eq(sql(S.db, `SELECT count(*) FROM scan_requests r JOIN checkins c ON c.t=r.t AND c.venue_id=r.venue_id AND c.person_id=r.person_id
                WHERE r.scan_id LIKE 'burst-%' AND c.source=2`), '200');
  eq(sql(S.db, `SELECT count(DISTINCT r.person_id) FROM scan_requests r WHERE r.scan_id LIKE 'burst-%'`), '200');
  // scans are not bulk batches: the poller's table is untouched
  eq(sql(S.db, 'SELECT count(*) FROM checkin_batches'), batches);
  // the answered times are the stored ones
  for (const [i, r] of rs.entries()) {
    const t = sql(S.db, `SELECT t FROM scan_requests WHERE scan_id='burst-${i}'`);
    eq(Date.parse(r.body.time) / 1000, Number(t));
  }
});

test('sessions are cached, yet a logout or a password change ends them at once', async () => {
  const idn = P[2].idn;
  const gate = await createUser(S, admin, { username: 'gate.cache', role: 'venue', scope: county, password: 'device-pass-9' });
  const second = await login('gate.cache', 'device-pass-9');
  const third = await login('gate.cache', 'device-pass-9');
  assert(second && third && second !== third, 'two more sessions');
  let n = 0;
  const once = token => scan(token, { scan_id: `cache-${++n}`, venue: payload(venueIn), id_number: idn });
  // every session answers (and is now in the cache)
  for (const t of [gate, second, third])
    for (let i = 0; i < 3; i++) eq((await once(t)).status, 201);
  // scans keep flowing on the session while it logs out: once the logout
  // is answered, no request with it may pass
  const flood = [];
  let stop = false;
  const pump = (async () => { while (!stop) flood.push((await once(second)).status); })();
  await new Promise(r => setTimeout(r, 30));
  eq((await api(S.url, 'DELETE', '/api/v1/sessions/current', { token: second })).status, 204);
  for (let i = 0; i < 5; i++) eq((await once(second)).status, 401, 'the logged-out session still scans');
  stop = true;
  await pump;
  assert(flood.every(s => s === 201 || s === 401), `unexpected statuses ${[...new Set(flood)]}`);
  eq((await once(gate)).status, 201, 'the other sessions live on');
  eq((await once(third)).status, 201);
  // a password change ends the other sessions at once and keeps its own
  const p = await api(S.url, 'POST', '/api/v1/me/password', { token: gate, body: { old_password: 'device-pass-9', new_password: 'device-pass-10' } });
  eq(p.status, 204, p.text);
  for (let i = 0; i < 3; i++) eq((await once(third)).status, 401, 'a session ended by the password change still scans');
  for (let i = 0; i < 3; i++) eq((await once(gate)).status, 201);
  eq((await api(S.url, 'GET', '/api/v1/me', { token: gate })).body.password_change_required, false);
  eq(sql(S.db, `SELECT count(*) FROM scan_requests WHERE scan_id LIKE 'cache-%'`), String(flood.filter(s => s === 201).length + 9 + 2 + 3));
});

test('check-ins imported by another process reach the index through checkin_batches', async () => {
  // a bulk writer records its rows and one checkin_batches row in one transaction
  const now = Math.floor(Date.now() / 1000);
  const [x, y] = [P[3], Q[5]];
  const v = venueId(venueIn);
  sql(S.db, `BEGIN; INSERT INTO checkins(t, venue_id, person_id, source) VALUES (${now - 600}, ${v}, ${x.id}, 0), (${now - 300}, ${v}, ${y.id}, 0);
             INSERT INTO checkin_batches(t_min, t_max, rows, at) VALUES (${now - 600}, ${now - 300}, 2, ${now}); COMMIT;`);
  await new Promise(r => setTimeout(r, 2500)); // the poller looks every second
  const onset = new Date((now - 7200) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const c = await api(S.url, 'POST', '/api/v1/cases', { token: command, body: { id_number: x.idn, onset_at: onset } });
  eq(c.status, 201, c.text);
  const l = await api(S.url, 'GET', `/api/v1/cases/${c.body.id}/contacts?degree=1&limit=1000`, { token: command });
  assert(l.body.items.some(k => k.person_id === y.id), `imported check-in found: ${l.text.slice(0, 300)}`);
});

test('a large import is taken in by rebuilding the index from the database', async () => {
  // a server whose rebuild threshold is 1 row takes every batch by rebuilding
  const R = await startServer({ persons: 300, seed: 5, env: { FANGKONG_RELOAD_ROWS: '1' } });
  try {
    const adm = (await api(R.url, 'POST', '/api/v1/sessions', { body: { username: 'admin', password: R.adminPassword } })).body.token;
    const cmd = await createUser(R, adm, { username: 'cmd.r', role: 'command', scope: '6109', password: 'command-pass-9' });
    const ps = sql(R.db, 'SELECT id, id_number FROM persons ORDER BY id LIMIT 3').split('\n').map(l => l.split('|'));
    const v = Number(sql(R.db, 'SELECT id FROM venue_keys ORDER BY id LIMIT 1'));
    const now = Math.floor(Date.now() / 1000);
    sql(R.db, `BEGIN; INSERT INTO checkins(t, venue_id, person_id, source) VALUES (${now - 900}, ${v}, ${ps[0][0]}, 0), (${now - 600}, ${v}, ${ps[1][0]}, 0), (${now - 5 * 86400}, ${v}, ${ps[2][0]}, 0);
               INSERT INTO checkin_batches(t_min, t_max, rows, at) VALUES (${now - 5 * 86400}, ${now - 600}, 3, ${now}); COMMIT;`);
    for (let i = 0; i < 50 && !/contact index rebuilt/.test(R.log()); i++) await new Promise(r => setTimeout(r, 100));
    assert(/contact index rebuilt for 3 imported check-ins/.test(R.log()), `no rebuild in the log: ${R.log().slice(-400)}`);
    const onset = new Date((now - 3600) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    const c = await api(R.url, 'POST', '/api/v1/cases', { token: cmd, body: { id_number: ps[0][1], onset_at: onset } });
    eq(c.status, 201, c.text);
    const l = await api(R.url, 'GET', `/api/v1/cases/${c.body.id}/contacts?degree=1&limit=1000`, { token: cmd });
    assert(l.body.items.some(k => k.person_id === Number(ps[1][0])), `rebuilt index has the imported contact: ${l.text.slice(0, 300)}`);
    assert(!l.body.items.some(k => k.person_id === Number(ps[2][0])), 'a scan 5 days earlier is no contact');
  } finally { await R.stop(); }
});

await run();
