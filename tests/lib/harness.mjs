// tests/lib/harness.mjs — a tiny TAP-style harness and a real server on a
// free loopback port, for tests/api and tests/e2e.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, basename } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FK = process.env.FK || join(ROOT, 'build', 'fangkong');
const suite = basename(process.argv[1] || 'test', '.mjs');
const tests = [];
export function test(name, fn) { tests.push({ name, fn }); }

export async function run() {
  let failed = 0;
  for (const t of tests) {
    try {
      await t.fn();
      console.log(`ok - ${suite}: ${t.name}`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${suite}: ${t.name}`);
      for (const l of String(e && e.stack || e).split('\n').slice(0, 8)) console.log(`#   ${l}`);
    }
  }
  for (const c of cleanups.reverse()) { try { await c(); } catch { /* ignore */ } }
  process.exitCode = failed ? 1 : 0;
}

const cleanups = [];
export function onCleanup(fn) { cleanups.push(fn); }

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

export function fk(args, opts = {}) {
  return execFileSync(FK, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

// Creates a database with a small generated city, an admin, and starts
// `fangkong serve` on a free port. Returns { url, db, dir, adminPassword, stop }.
export async function startServer({ persons = 3000, seed = 7, env = {}, policy, args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'fk-api-'));
  const db = join(dir, 'test.db');
  const e = { ...process.env, FANGKONG_DB: db, FK_PROGRESS: '0', ...env };
  fk(['init', '--db', db], { env: e });
  const adminPassword = readFileSync(db + '.admin-password', 'utf8').trim().split(/\s+/).pop();
  fk(['gen', '--db', db, '--persons', String(persons), '--seed', String(seed)], { env: e });
  const port = await freePort();
  const proc = spawn(FK, ['serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--web', join(ROOT, 'web'),
    ...(policy ? ['--policy', policy] : []), ...args], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', d => { log += d; });
  proc.stderr.on('data', d => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { const r = await fetch(url + '/healthz'); if (r.ok) break; } catch { /* not yet */ }
    if (i > 100 || proc.exitCode !== null) throw new Error('server did not start: ' + log);
    await new Promise(r => setTimeout(r, 100));
  }
  const stop = async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise(r => proc.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  onCleanup(stop);
  return { url, db, dir, env: e, adminPassword, proc, log: () => log, stop };
}

export function sql(db, query) {
  return execFileSync('sqlite3', ['-batch', '-noheader', '-separator', '|', db, query], { encoding: 'utf8' }).trim();
}

// JSON request helper: returns { status, headers, body (parsed or text) }
export async function api(base, method, path, { token, body, headers = {}, raw } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let b;
  if (raw !== undefined) b = raw;
  else if (body !== undefined) { b = JSON.stringify(body); h['content-type'] ??= 'application/json'; }
  const r = await fetch(base + path, { method, headers: h, body: b });
  const text = await r.text();
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* not json */ }
  return { status: r.status, headers: r.headers, body: parsed, text };
}

// Creates a user through the API as an admin would (with an initial
// password the admin knows), then logs in as that user and changes the
// password to `password`, as the server requires before anything else.
// Returns the token of that session, usable on every route.
export async function createUser(S, adminToken, { username, role, scope, password = 'own-password-1' }) {
  const initial = `initial-${username}-0`;
  const c = await api(S.url, 'POST', '/api/v1/users', { token: adminToken, body: { username, role, scope, password: initial } });
  if (c.status !== 201) throw new Error(`cannot create ${username}: ${c.status} ${c.text}`);
  const s = await api(S.url, 'POST', '/api/v1/sessions', { body: { username, password: initial } });
  if (s.status !== 201 || s.body.password_change_required !== true) throw new Error(`cannot log in as ${username}: ${s.status} ${s.text}`);
  const p = await api(S.url, 'POST', '/api/v1/me/password', { token: s.body.token, body: { old_password: initial, new_password: password } });
  if (p.status !== 204) throw new Error(`cannot change the password of ${username}: ${p.status} ${p.text}`);
  return s.body.token;
}

export function assert(cond, msg) { if (!cond) throw new Error(msg || 'assertion failed'); }
export function eq(actual, expected, msg) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${msg || 'not equal'}\n  expected: ${e}\n  actual:   ${a}`);
}
