// tests/lib/cases_fixture.mjs — a server over a small generated city whose
// check-ins a test constructs, for the case and contact suites.
//
// startCityWithCheckins({ persons, seed, now, build }) creates the database
// like startServer (init, gen), calls build(db) to get check-in rows
// {id_number, venue_code, t} (Unix seconds), loads them with
// `fangkong import checkins` (or, while that importer is not built, plain
// INSERTs into table checkins), and only then starts `fangkong serve`, so
// the contact index holds them from the start.  FANGKONG_NOW is fixed to
// `now` for every process, so infectious windows do not depend on the day
// the test runs.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FK, ROOT, fk, freePort, onCleanup, sql } from './harness.mjs';

// Unix seconds -> "2022-01-10T10:00:00+08:00"
export function iso(t) {
  const d = new Date((t + 8 * 3600) * 1000);
  return d.toISOString().replace(/\.\d{3}Z$/, '+08:00');
}
export const unix = s => Date.parse(s) / 1000;

// A small seeded generator (mulberry32): the same seed, the same city.
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function loadCheckins(db, env, rows, dir) {
  const csv = join(dir, 'checkins.csv');
  writeFileSync(csv, 'id_number,venue_code,time\n' + rows.map(r => `${r.id_number},${r.venue_code},${iso(r.t)}`).join('\n') + '\n');
  const r = spawnSync(FK, ['import', 'checkins', csv, '--db', db], { env, encoding: 'utf8' });
  if (r.status === 0) return 'import';
  if (r.status !== 2) throw new Error(`import checkins exited ${r.status}: ${r.stderr}`);
  // the importer is not there yet: the same rows straight into the table
  const stmts = ['BEGIN;', 'CREATE TEMP TABLE fx(idn TEXT, code TEXT, t INTEGER);'];
  for (let i = 0; i < rows.length; i += 500)
    stmts.push('INSERT INTO fx VALUES ' + rows.slice(i, i + 500).map(r => `('${r.id_number}','${r.venue_code}',${r.t})`).join(',') + ';');
  stmts.push(`INSERT OR IGNORE INTO checkins(t, venue_id, person_id)
    SELECT fx.t, k.id, p.id FROM fx JOIN persons p ON p.id_number = fx.idn JOIN venue_keys k ON k.code = fx.code;`);
  stmts.push('COMMIT;');
  execFileSync('sqlite3', ['-batch', db], { input: stmts.join('\n'), encoding: 'utf8' });
  const n = Number(sql(db, 'SELECT count(*) FROM checkins'));
  if (n !== new Set(rows.map(r => `${r.t}|${r.venue_code}|${r.id_number}`)).size)
    throw new Error(`loaded ${n} check-ins of ${rows.length}`);
  return 'sql';
}

export async function startCityWithCheckins({ persons = 2000, seed = 7, now, build, env = {}, policy }) {
  const dir = mkdtempSync(join(tmpdir(), 'fk-cases-'));
  const db = join(dir, 'test.db');
  const e = { ...process.env, FANGKONG_DB: db, FK_PROGRESS: '0', FANGKONG_NOW: now, ...env };
  fk(['init', '--db', db], { env: e });
  const adminPassword = readFileSync(db + '.admin-password', 'utf8').trim().split(/\s+/).pop();
  fk(['gen', '--db', db, '--persons', String(persons), '--seed', String(seed), '--quiet'], { env: e });
  const rows = await build(db);
  const loadedBy = loadCheckins(db, e, rows, dir);
  const port = await freePort();
  const proc = spawn(FK, ['serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--web', join(ROOT, 'web'),
    ...(policy ? ['--policy', policy] : [])], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', d => { log += d; });
  proc.stderr.on('data', d => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { const r = await fetch(url + '/healthz'); if (r.ok) break; } catch { /* not yet */ }
    if (i > 300 || proc.exitCode !== null) throw new Error('server did not start: ' + log);
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
  return { url, db, dir, env: e, adminPassword, proc, loadedBy, log: () => log, stop };
}
