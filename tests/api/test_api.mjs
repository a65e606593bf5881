// API tests: a real `fangkong serve` on a free loopback port over a small
// generated 安康市.  Reference figures come from the sqlite3 shell reading
// the same database file, never from the server under test.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, run, startServer, api, sql, eq, assert, fk, createUser } from '../lib/harness.mjs';

const S = await startServer({ persons: 3000, seed: 11 });
const login = async (username, password) => api(S.url, 'POST', '/api/v1/sessions', { body: { username, password } });
const admin = (await login('admin', S.adminPassword)).body.token;

// users for the role and scope tests, created through the API
const county = sql(S.db, "SELECT code FROM regions WHERE level=3 ORDER BY code LIMIT 1");
const grids = sql(S.db, `SELECT p.grid_code FROM persons p GROUP BY p.grid_code HAVING count(*) > 3 ORDER BY p.grid_code LIMIT 2`).split('\n');
const mk = (username, role, scope) => createUser(S, admin, { username, role, scope, password: 'correct-horse-9' });
const command = await mk('cmd.city', 'command', '6109');
const grid = await mk('grid.one', 'grid', grids[0]);
const lab = await mk('lab.one', 'lab', '6109');

test('healthz answers ok without a session', async () => {
  const r = await api(S.url, 'GET', '/healthz');
  eq(r.status, 200); eq(r.body, { status: 'ok' });
});

test('login with a wrong password is 401 with the error shape', async () => {
  const r = await login('admin', 'wrong-password');
  eq(r.status, 401);
  eq(Object.keys(r.body.error).sort(), ['code', 'message']);
  eq(r.body.error.code, 'unauthorized');
});

test('unknown user gets the same 401 message as a wrong password', async () => {
  const a = await login('nobody-here', 'wrong-password');
  const b = await login('cmd.city', 'wrong-password');
  eq(a.status, 401); eq(b.status, 401);
  eq(a.body.error.message, b.body.error.message);
});

test('missing, malformed and unknown tokens are 401', async () => {
  eq((await api(S.url, 'GET', '/api/v1/regions')).status, 401);
  eq((await api(S.url, 'GET', '/api/v1/regions', { headers: { authorization: 'Basic x' } })).status, 401);
  eq((await api(S.url, 'GET', '/api/v1/regions', { token: 'f'.repeat(64) })).status, 401);
});

test('logout ends the session', async () => {
  const t = (await login('cmd.city', 'correct-horse-9')).body.token;
  eq((await api(S.url, 'GET', '/api/v1/me', { token: t })).status, 200);
  eq((await api(S.url, 'DELETE', '/api/v1/sessions/current', { token: t })).status, 204);
  eq((await api(S.url, 'GET', '/api/v1/me', { token: t })).status, 401);
});

test('a user created by the admin must change the initial password before anything else', async () => {
  const initial = 'initial-pass-77', chosen = 'my-own-secret-77';
  const c = await api(S.url, 'POST', '/api/v1/users', { token: admin, body: { username: 'fresh.tracer', role: 'tracer', scope: '6109', password: initial } });
  eq(c.status, 201, c.text);
  eq(sql(S.db, "SELECT must_change_password FROM users WHERE username='fresh.tracer'"), '1');
  eq(sql(S.db, "SELECT must_change_password FROM users WHERE username='admin'"), '0');
  const s1 = await login('fresh.tracer', initial);
  eq(s1.status, 201);
  eq(s1.body.password_change_required, true);
  const t1 = s1.body.token;
  const me = await api(S.url, 'GET', '/api/v1/me', { token: t1 });
  eq([me.status, me.body.username, me.body.password_change_required], [200, 'fresh.tracer', true]);
  for (const path of ['/api/v1/regions', '/api/v1/persons?region=6109', `/api/v1/persons/${sql(S.db, 'SELECT min(id) FROM persons')}`]) {
    const r = await api(S.url, 'GET', path, { token: t1 });
    eq(r.status, 403, path);
    eq(r.body.error.code, 'password_change_required', path);
    assert(/change the initial password/.test(r.body.error.message), r.body.error.message);
  }
  const t2 = (await login('fresh.tracer', initial)).body.token; // a second session, e.g. a phone
  const change = (token, old_password, new_password) => api(S.url, 'POST', '/api/v1/me/password', { token, body: { old_password, new_password } });

  const wrong = await change(t1, 'not-the-initial-1', chosen);
  eq([wrong.status, wrong.body.error.code], [401, 'wrong_password']);
  eq((await api(S.url, 'GET', '/api/v1/me', { token: t1 })).status, 200, 'the session survives a wrong old password');
  const weak = await change(t1, initial, 'short-1');
  eq([weak.status, weak.body.error.code], [422, 'unprocessable']);
  assert(/at least 10 characters/.test(weak.body.error.message), weak.body.error.message);
  const same = await change(t1, initial, initial);
  eq([same.status, same.body.error.code], [422, 'unprocessable']);
  assert(/differ/.test(same.body.error.message), same.body.error.message);
  eq((await api(S.url, 'POST', '/api/v1/me/password', { token: t1, raw: '{}', headers: { 'content-type': 'text/plain' } })).status, 415);
  eq((await api(S.url, 'POST', '/api/v1/me/password', { token: t1, body: { old_password: initial } })).status, 400);
  eq(sql(S.db, "SELECT must_change_password FROM users WHERE username='fresh.tracer'"), '1', 'refused changes change nothing');

  const ok = await change(t1, initial, chosen);
  eq(ok.status, 204, ok.text);
  eq(ok.text, '');
  eq((await api(S.url, 'GET', '/api/v1/regions', { token: t1 })).status, 200, 'the same session now works');
  eq((await api(S.url, 'GET', '/api/v1/me', { token: t1 })).body.password_change_required, false);
  eq((await api(S.url, 'GET', '/api/v1/me', { token: t2 })).status, 401, 'the other session was ended');
  // stored, not just remembered by the server: an independent reader sees it
  eq(sql(S.db, "SELECT must_change_password || '|' || substr(pwhash,1,10) FROM users WHERE username='fresh.tracer'"), '0|$argon2id$');
  eq(sql(S.db, "SELECT count(*) FROM sessions s JOIN users u ON u.id=s.user_id WHERE u.username='fresh.tracer'"), '1');
  eq(sql(S.db, "SELECT actor || '|' || object || '|' || detail FROM audit_log WHERE action='user.password_change' AND object='fresh.tracer'"),
    'fresh.tracer|fresh.tracer|other sessions ended=1');
  eq(sql(S.db, "SELECT count(*) FROM audit_log WHERE action='user.password_change_failed' AND object='fresh.tracer'"), '1');
  eq((await login('fresh.tracer', initial)).status, 401, 'the initial password no longer works');
  const again = await login('fresh.tracer', chosen);
  eq([again.status, again.body.password_change_required], [201, false]);
});

test('a session that must change its password may still log out', async () => {
  const c = await api(S.url, 'POST', '/api/v1/users', { token: admin, body: { username: 'fresh.lab', role: 'lab', scope: '6109', password: 'initial-pass-78' } });
  eq(c.status, 201, c.text);
  const t = (await login('fresh.lab', 'initial-pass-78')).body.token;
  eq((await api(S.url, 'GET', '/api/v1/venues?region=6109', { token: t })).status, 403);
  eq((await api(S.url, 'DELETE', '/api/v1/sessions/current', { token: t })).status, 204);
  eq((await api(S.url, 'GET', '/api/v1/me', { token: t })).status, 401);
});

test('any user may change their own password; the admin from init is not forced to', async () => {
  const s = await login('admin', S.adminPassword);
  eq(s.body.password_change_required, false);
  const t = await createUser(S, admin, { username: 'self.change', role: 'command', scope: '6109', password: 'second-pass-01' });
  const r = await api(S.url, 'POST', '/api/v1/me/password', { token: t, body: { old_password: 'second-pass-01', new_password: 'third-pass-002' } });
  eq(r.status, 204, r.text);
  eq((await api(S.url, 'GET', '/api/v1/regions', { token: t })).status, 200);
  eq((await login('self.change', 'third-pass-002')).body.password_change_required, false);
});

test('the region tree rolls up exactly: children and figures match SQL', async () => {
  const r = await api(S.url, 'GET', '/api/v1/regions?parent=6109&limit=100', { token: command });
  eq(r.status, 200);
  const want = sql(S.db, `SELECT r.code || ':' || r.name || ':' ||
      (SELECT count(*) FROM persons p WHERE substr(p.grid_code,1,6) = r.code)
      FROM regions r WHERE r.parent_code='6109' ORDER BY r.code`).split('\n');
  eq(r.body.items.map(x => `${x.code}:${x.name}:${x.population}`), want);
  eq(r.body.items.length, 10);
  eq(r.body.parent.code, '6109');
  eq(r.body.parent.name, '安康市');
  const total = Number(sql(S.db, 'SELECT count(*) FROM persons'));
  eq(r.body.parent.population, total);
  eq(r.body.items.reduce((a, x) => a + x.population, 0), total);
});

test('one region carries its ancestors', async () => {
  const town = sql(S.db, `SELECT code FROM regions WHERE level=4 ORDER BY code LIMIT 1`);
  const r = await api(S.url, 'GET', `/api/v1/regions/${town}`, { token: command });
  eq(r.status, 200);
  eq(r.body.path.map(p => p.level), [1, 2, 3]);
  eq(r.body.path[1].name, '安康市');
  eq(r.body.level_name, '乡镇街道');
});

test('paging walks every child exactly once', async () => {
  const parent = sql(S.db, `SELECT parent_code FROM regions WHERE level=5 GROUP BY parent_code ORDER BY count(*) DESC LIMIT 1`);
  const want = sql(S.db, `SELECT code FROM regions WHERE parent_code='${parent}' ORDER BY code`).split('\n');
  let cursor = null; const got = []; let pages = 0;
  do {
    const q = `/api/v1/regions?parent=${parent}&limit=3` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '');
    const r = await api(S.url, 'GET', q, { token: command });
    eq(r.status, 200);
    assert(r.body.items.length <= 3, 'page larger than limit');
    got.push(...r.body.items.map(x => x.code));
    cursor = r.body.next_cursor; pages++;
  } while (cursor && pages < 100);
  eq(got, want);
  eq(pages, Math.ceil(want.length / 3));
});

test('bad paging parameters are 400', async () => {
  for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'limit=-1', 'cursor=%%%', 'cursor=!!']) {
    const r = await api(S.url, 'GET', `/api/v1/regions?parent=6109&${q}`, { token: command });
    eq(r.status, 400, q);
    eq(r.body.error.code, 'bad_request', q);
  }
});

test('person search masks ID numbers and phones in lists', async () => {
  const name = sql(S.db, `SELECT name FROM persons ORDER BY id LIMIT 1`);
  const r = await api(S.url, 'GET', `/api/v1/persons?name=${encodeURIComponent(name)}&region=6109`, { token: command });
  eq(r.status, 200);
  const want = sql(S.db, `SELECT count(*) FROM persons WHERE name = '${name}' OR name LIKE '${name}%'`);
  assert(r.body.items.length >= 1 && r.body.items.length <= Number(want), 'count');
  for (const p of r.body.items) {
    assert(/^\d{6}\*{8}\d{3}[\dX]$/.test(p.id_number), `unmasked id ${p.id_number}`);
    assert(/^1\d{2}\*{4}\d{4}$/.test(p.phone), `unmasked phone ${p.phone}`);
    assert(p.name.startsWith(name), 'prefix');
  }
});

test('exact ID-number search finds the person', async () => {
  const [id, idn] = sql(S.db, `SELECT id, id_number FROM persons ORDER BY id DESC LIMIT 1`).split('|');
  const r = await api(S.url, 'GET', `/api/v1/persons?id_number=${idn}`, { token: command });
  eq(r.status, 200);
  eq(r.body.items.map(p => p.id), [Number(id)]);
});

test('search by grid lists exactly the grid, paged', async () => {
  const want = sql(S.db, `SELECT id FROM persons WHERE grid_code='${grids[0]}' ORDER BY id`).split('\n').map(Number);
  const got = []; let cursor = null; let n = 0;
  do {
    const r = await api(S.url, 'GET', `/api/v1/persons?region=${grids[0]}&limit=2` + (cursor ? `&cursor=${cursor}` : ''), { token: grid });
    eq(r.status, 200);
    got.push(...r.body.items.map(p => p.id)); cursor = r.body.next_cursor;
  } while (cursor && ++n < 1000);
  eq(got, want);
});

test('a grid worker sees only their grid: others are 404', async () => {
  const inside = sql(S.db, `SELECT id FROM persons WHERE grid_code='${grids[0]}' LIMIT 1`);
  const outside = sql(S.db, `SELECT id FROM persons WHERE grid_code='${grids[1]}' LIMIT 1`);
  eq((await api(S.url, 'GET', `/api/v1/persons/${inside}`, { token: grid })).status, 200);
  const r = await api(S.url, 'GET', `/api/v1/persons/${outside}`, { token: grid });
  eq(r.status, 404);
  eq(r.body.error.code, 'not_found');
  eq((await api(S.url, 'GET', `/api/v1/persons?region=${grids[1]}`, { token: grid })).status, 404);
  eq((await api(S.url, 'GET', `/api/v1/regions/${county}`, { token: grid })).status, 404);
  const roots = await api(S.url, 'GET', '/api/v1/regions', { token: grid });
  eq(roots.body.items.map(x => x.code), [grids[0]]);
  // a name search from a grid worker never leaks other grids
  const name = sql(S.db, `SELECT substr(name,1,1) FROM persons WHERE grid_code='${grids[1]}' LIMIT 1`);
  const s = await api(S.url, 'GET', `/api/v1/persons?name=${encodeURIComponent(name)}&limit=1000`, { token: grid });
  eq(s.status, 200);
  assert(s.body.items.every(p => p.grid_code === grids[0]), 'leak across grids');
});

test('one person: unmasked for health roles and audited as a reveal', async () => {
  const [id, idn, phone] = sql(S.db, `SELECT id, id_number, phone FROM persons WHERE grid_code='${grids[0]}' LIMIT 1`).split('|');
  const before = Number(sql(S.db, `SELECT count(*) FROM audit_log WHERE action='person.reveal' AND object='person:${id}'`));
  const r = await api(S.url, 'GET', `/api/v1/persons/${id}`, { token: grid });
  eq(r.status, 200);
  eq([r.body.id_number, r.body.phone, r.body.masked], [idn, phone, false]);
  const after = Number(sql(S.db, `SELECT count(*) FROM audit_log WHERE action='person.reveal' AND object='person:${id}' AND actor='grid.one'`));
  eq(after, before + 1);
  eq(r.body.region_path.map(x => x.level), [1, 2, 3, 4, 5]);
});

test('roles without person access get 403 on persons', async () => {
  const r = await api(S.url, 'GET', `/api/v1/persons?region=6109`, { token: lab });
  eq(r.status, 403); eq(r.body.error.code, 'forbidden');
  eq((await api(S.url, 'GET', `/api/v1/persons?region=6109`, { token: admin })).status, 403);
});

test('a household lists its members, all in one grid', async () => {
  const hh = sql(S.db, `SELECT household_id FROM persons WHERE grid_code='${grids[0]}' GROUP BY household_id ORDER BY count(*) DESC LIMIT 1`);
  const want = sql(S.db, `SELECT id FROM persons WHERE household_id=${hh} ORDER BY id`).split('\n').map(Number);
  const r = await api(S.url, 'GET', `/api/v1/households/${hh}`, { token: grid });
  eq(r.status, 200);
  eq(r.body.members.map(m => m.id).sort((a, b) => a - b), want);
  assert(r.body.members.every(m => m.grid_code === grids[0]), 'one grid');
});

test('venues are listed by region and kind', async () => {
  const [code, kind] = sql(S.db, `SELECT code, kind FROM venues ORDER BY code LIMIT 1`).split('|');
  const r = await api(S.url, 'GET', `/api/v1/venues/${code}`, { token: lab });
  eq(r.status, 200); eq(r.body.kind, kind);
  const want = Number(sql(S.db, `SELECT count(*) FROM venues WHERE kind='${kind}' AND region_code LIKE '${county}%'`));
  const l = await api(S.url, 'GET', `/api/v1/venues?region=${county}&kind=${kind}&limit=1000`, { token: lab });
  eq(l.status, 200); eq(l.body.items.length, want);
  eq((await api(S.url, 'GET', `/api/v1/venues?kind=spaceport`, { token: lab })).status, 400);
});

test('every error status has the JSON error shape', async () => {
  const cases = [
    [400, await api(S.url, 'POST', '/api/v1/sessions', { raw: '{"username":', headers: { 'content-type': 'application/json' } })],
    [400, await api(S.url, 'GET', '/api/v1/persons', { token: command })],
    [404, await api(S.url, 'GET', '/api/v1/nothing-here', { token: command })],
    [404, await api(S.url, 'GET', '/api/v1/persons/999999999', { token: command })],
    [405, await api(S.url, 'DELETE', '/api/v1/regions', { token: command })],
    [409, await api(S.url, 'POST', '/api/v1/users', { token: admin, body: { username: 'cmd.city', role: 'command', scope: '6109', password: 'correct-horse-9' } })],
    [413, await api(S.url, 'POST', '/api/v1/sessions', { raw: JSON.stringify({ username: 'x'.repeat(200000), password: 'y' }), headers: { 'content-type': 'application/json' } })],
    [415, await api(S.url, 'POST', '/api/v1/sessions', { raw: '{}', headers: { 'content-type': 'text/plain' } })],
    [422, await api(S.url, 'POST', '/api/v1/users', { token: admin, body: { username: 'new.user', role: 'emperor', scope: '6109' } })],
    [422, await api(S.url, 'POST', '/api/v1/users', { token: admin, body: { username: 'new.user', role: 'grid', scope: '999999' } })],
    [403, await api(S.url, 'POST', '/api/v1/users', { token: command, body: { username: 'new.user', role: 'grid', scope: '6109' } })],
  ];
  for (const [want, r] of cases) {
    eq(r.status, want, `status (body ${r.text.slice(0, 200)})`);
    assert(r.body && r.body.error && typeof r.body.error.code === 'string' && typeof r.body.error.message === 'string', `shape ${r.text}`);
  }
  eq(cases[4][1].headers.get('allow'), 'GET');
});

test('repeated failed logins are throttled with 429 and Retry-After', async () => {
  await mk('victim.user', 'tracer', '6109');
  let last;
  for (let i = 0; i < 6; i++) last = await login('victim.user', 'not-the-password');
  eq(last.status, 429);
  eq(last.body.error.code, 'too_many_requests');
  assert(Number(last.headers.get('retry-after')) > 0, 'Retry-After');
  // even the right password is refused while throttled
  eq((await login('victim.user', 'correct-horse-9')).status, 429);
});

test('/metrics is valid Prometheus text (promtool) with the expected series', async () => {
  const r = await fetch(S.url + '/metrics');
  eq(r.status, 200);
  const text = await r.text();
  const f = join(S.dir, 'metrics.txt');
  writeFileSync(f, text);
  execFileSync('sh', ['-c', `promtool check metrics < ${f}`], { encoding: 'utf8' });
  for (const s of ['fangkong_http_requests_total{route="/api/v1/regions",status="200"}',
    'fangkong_http_request_duration_seconds_bucket{le="+Inf"}', 'fangkong_http_open_connections',
    'fangkong_persons 3000', 'fangkong_db_size_bytes'])
    assert(text.includes(s), `missing ${s}`);
});

test('static pages are served and paths cannot escape web/', async () => {
  const r = await fetch(S.url + '/');
  eq(r.status, 200);
  assert((r.headers.get('content-type') || '').startsWith('text/html'), 'html');
  for (const p of ['/../Makefile', '/%2e%2e/Makefile', '/vendor/../../Makefile'])
    assert((await fetch(S.url + p)).status === 404, p);
});

test('parallel wrong passwords get at most 5 guesses in', async () => {
  await mk('parallel.user', 'tracer', '6109');
  const rs = await Promise.all(Array.from({ length: 20 }, () => login('parallel.user', 'guess-guess-1')));
  const counts = {};
  for (const r of rs) counts[r.status] = (counts[r.status] || 0) + 1;
  eq(counts, { 401: 5, 429: 15 });
});

test('a path or query that is not UTF-8 is a 400 with a JSON body', async () => {
  const r = await fetch(S.url + '/api/v1/persons?region=%FF', { headers: { authorization: `Bearer ${command}` } });
  eq(r.status, 400);
  const body = JSON.parse(await r.text());
  eq(body.error.code, 'bad_request');
});

test('no personal data leaves when its audit record cannot be written', async () => {
  const id = sql(S.db, `SELECT id FROM persons WHERE grid_code='${grids[0]}' LIMIT 1`);
  const idn = sql(S.db, `SELECT id_number FROM persons WHERE id=${id}`);
  const before = sql(S.db, `SELECT count(*) FROM audit_log`);
  // another process holds the write lock for 4 s (as a long import batch might)
  const holder = spawn('sqlite3', [S.db], { stdio: ['pipe', 'ignore', 'ignore'] });
  holder.stdin.write('BEGIN IMMEDIATE;\n.shell sleep 4\nCOMMIT;\n');
  holder.stdin.end();
  const closed = new Promise(r => holder.once('close', r)); // before it can close
  await new Promise(r => setTimeout(r, 500));
  const r = await api(S.url, 'GET', `/api/v1/persons/${id}`, { token: grid });
  await closed;
  eq(r.status, 503);
  eq(r.body.error.code, 'unavailable');
  assert(!r.text.includes(idn), 'ID number leaked without an audit record');
  assert(Number(r.headers.get('retry-after')) > 0, 'Retry-After');
  eq(sql(S.db, `SELECT count(*) FROM audit_log`), before);
  // and once the lock is gone the same read works and is audited
  eq((await api(S.url, 'GET', `/api/v1/persons/${id}`, { token: grid })).status, 200);
});

test('a search is audited with the persons it listed', async () => {
  const r = await api(S.url, 'GET', `/api/v1/persons?region=${grids[0]}&limit=3`, { token: grid });
  eq(r.status, 200);
  const detail = sql(S.db, `SELECT detail FROM audit_log WHERE action='person.search' ORDER BY seq DESC LIMIT 1`);
  eq(detail, `${r.body.items.length} results: persons ${r.body.items.map(p => p.id).join(',')}`);
});

test('a database failure is a 500 with no internals leaked', async () => {
  // an independent writer breaks the schema under the running server
  sql(S.db, 'ALTER TABLE region_stats RENAME TO region_stats_gone');
  try {
    const r = await api(S.url, 'GET', '/api/v1/regions?parent=6109', { token: command });
    eq(r.status, 500);
    eq(r.body.error, { code: 'internal', message: 'internal error' });
  } finally {
    sql(S.db, 'ALTER TABLE region_stats_gone RENAME TO region_stats');
  }
});

test('the audit chain of the live database verifies', async () => {
  const out = fk(['audit', 'verify', '--db', S.db], { env: S.env });
  assert(/intact/.test(out), out);
});

test('SIGTERM lets requests in flight finish, then stops cleanly', async () => {
  // logins run argon2id (tens of ms each): several are in flight at the
  // signal, spread over users so none reaches the per-user login throttle
  // (5 attempts in flight or failed per user)
  const who = ['cmd.city', 'grid.one', 'lab.one', 'cmd.city', 'grid.one', 'lab.one', 'cmd.city', 'grid.one'];
  const inflight = who.map(u => login(u, 'correct-horse-9'));
  await new Promise(r => setTimeout(r, 15));
  S.proc.kill('SIGTERM');
  const rs = await Promise.all(inflight.map(p => p.then(r => r.status, e => String(e))));
  eq(rs, Array(8).fill(201));
  const code = await new Promise(r => S.proc.once('close', c => r(c)));
  eq(code, 0);
  assert(/stopped/.test(S.log()), S.log());
});

await run();
