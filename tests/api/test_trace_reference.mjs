// Contact tracing against an independent reference.
//
// Small random cities (seeded here, in JS) are written as CSV files and
// imported with `fangkong import`; cases are added with `fangkong case add`
// and traced with `fangkong trace --json`.  The reference answer is SQL
// written straight from DESIGN.md ("Exact meanings"), run by the sqlite3
// shell on a copy of the same database file:
//   window of C:   [coalesce(onset, first_positive) - D, coalesce(isolated, now)]
//   close of C:    P != C with a scan at v, t and C with a scan at v, c inside
//                  the window, |t - c| <= W; exposure = min t.  Members of
//                  C's household: exposure = the window start (or the
//                  earlier venue time).
//   secondary:     Q, not C and not close, a close contact of some close P
//                  counting P's scans in [P's exposure, P's isolated_at if P
//                  is an isolated case, else now]; P's household members get
//                  P's exposure.  Exposure = min over P; via = a P giving it,
//                  the smallest person id on a tie (tracing.h).
// A hand-made city checks the edges (W apart, W + 1 s, the window's first and
// last second, household and venue together, a case with no scans, the same
// venue twice) against answers written out below by hand, which also checks
// the reference SQL itself.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, run, FK, assert, eq, onCleanup } from '../lib/harness.mjs';

// The engine runs under protocol 8 here (every case add and trace names
// it), whose window_minutes and infectious_days_before the reference uses.
const POLICY = 'protocol-8';
const W = 30 * 60;         // protocol 8: window_minutes = 30
const D = 2 * 86400;       // protocol 8: infectious_days_before = 2
const B = Date.UTC(2022, 0, 10) / 1000 - 8 * 3600; // 2022-01-10T00:00:00+08:00
const H = 3600, DAY = 86400;

// ---------------------------------------------------------------- helpers
const iso = t => new Date((t + 8 * 3600) * 1000).toISOString().slice(0, 19) + '+08:00';
const show = t => (t === null || t === undefined) ? String(t) : `${iso(t)} (${t})`;

function mulberry32(a) {
  return () => {
    a = (a + 0x6D2B79F5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// GB 11643-1999 check character (ISO 7064 MOD 11-2)
const IDW = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
function idNumber(first17) {
  let s = 0;
  for (let i = 0; i < 17; i++) s += Number(first17[i]) * IDW[i];
  return first17 + '10X98765432'[s % 11];
}
const pad = (n, w) => String(n).padStart(w, '0');

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  if (r.error) throw r.error;
  return r;
}

function mkDb(name) {
  const dir = mkdtempSync(join(tmpdir(), `fk-trace-${name}-`));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'city.db');
  const env = { ...process.env, FANGKONG_DB: db, FK_PROGRESS: '0' };
  return { dir, db, env };
}

function fkrun(C, args) {
  const pol = ['case', 'trace'].includes(args[0]) && args.length > 2 ? ['--policy', POLICY] : [];
  return sh(FK, [...args, ...pol, '--db', C.db], { env: { ...C.env, FANGKONG_NOW: String(C.now) } });
}
function fkok(C, args) {
  const r = fkrun(C, args);
  if (r.status !== 0) throw new Error(`fangkong ${args.join(' ')}: exit ${r.status}\n${r.stderr.slice(0, 1500)}`);
  return r.stdout;
}
function sqlite(db, script) {
  const r = sh('sqlite3', ['-batch', '-noheader', '-bail', db], { input: script });
  if (r.status !== 0) throw new Error(`sqlite3: ${r.stderr}`);
  return r.stdout.trim();
}

function importCsv(C, kind, header, rows) {
  const f = join(C.dir, `${kind}.csv`);
  writeFileSync(f, header + '\n' + rows.map(r => r.join(',')).join('\n') + '\n');
  const r = fkrun(C, ['import', kind, f]);
  if (r.status !== 0) {
    const rj = existsSync(f + '.rejects.csv') ? readFileSync(f + '.rejects.csv', 'utf8').slice(0, 1500) : '';
    throw new Error(`import ${kind}: exit ${r.status}\n${r.stderr.slice(0, 800)}\n${rj}`);
  }
}

// A city: { regions, persons: [{key, idn, grid, hh}], venues: [{code, grid, kind}],
// scans: [{key, venue, t}] }; imported in list order (persons get ids in
// that order).
function loadCity(C, city) {
  fkok(C, ['init']);
  importCsv(C, 'regions', 'code,name,level,parent_code',
    city.regions.map(([code, name, level, parent]) => [code, name, level, parent || '']));
  importCsv(C, 'persons', 'id_number,name,phone,grid_code,household,occupation',
    city.persons.map((p, i) => [p.idn, `测试${p.key}`, `13${pad(city.phoneBase + i, 9)}`, p.grid, p.hh || '', 'worker']));
  importCsv(C, 'venues', 'code,name,region_code,kind',
    city.venues.map(v => [v.code, `场所${v.code}`, v.grid, v.kind]));
  const byKey = new Map(city.persons.map(p => [p.key, p]));
  const seen = new Set();
  const rows = [];
  for (const s of city.scans) {
    const k = `${s.key}|${s.venue}|${s.t}`;
    if (seen.has(k)) continue;
    seen.add(k);
    rows.push([byKey.get(s.key).idn, s.venue, iso(s.t)]);
  }
  importCsv(C, 'checkins', 'id_number,venue_code,time', rows);
  const got = sqlite(C.db, 'SELECT count(*), coalesce(sum(t), 0) FROM checkins;');
  const want = `${rows.length}|${[...seen].reduce((a, k) => a + Number(k.split('|')[2]), 0)}`;
  eq(got, want, 'the imported check-ins (count|sum of times) are the ones written');
  C.idn = Object.fromEntries(city.persons.map(p => [p.key, p.idn]));
  C.key = Object.fromEntries(city.persons.map(p => [p.idn, p.key]));
}

function addCase(C, c) {
  const args = ['case', 'add', '--person', c.idn];
  if (c.onset) args.push('--onset', iso(c.onset));
  if (c.firstPositive) args.push('--first-positive', iso(c.firstPositive));
  if (c.isolated) args.push('--isolated', iso(c.isolated));
  if (c.cls) args.push('--class', c.cls);
  const out = fkok(C, args).trim();
  const id = Number(out.match(/\d+/)?.[0]);
  assert(Number.isInteger(id) && id > 0, `case add printed no case id: ${JSON.stringify(out)}`);
  const row = sqlite(C.db, `SELECT p.id_number, c.onset_at, c.first_positive_at, c.isolated_at FROM cases c JOIN persons p ON p.id = c.person_id WHERE c.id = ${id};`);
  eq(row, [c.idn, c.onset ?? '', c.firstPositive ?? '', c.isolated ?? ''].join('|'),
    `case ${id} is stored as given (unknown times as NULL)`);
  return id;
}

// ---------------------------------------------------------- the reference
// One sqlite3 run on a copy of the database: the reference for every case
// in table cases, and (when claims are given) the check of each contact's
// evidence as the engine reported it.
function reference(C, claims = []) {
  const copy = join(C.dir, 'reference.db');
  rmSync(copy, { force: true });
  sqlite(C.db, `.backup '${copy}'`);
  const q = s => s === null || s === undefined ? 'NULL' : `'${String(s).replace(/'/g, "''")}'`;
  const n = v => v === null || v === undefined ? 'NULL' : String(Number(v));
  const claimRows = claims.map(c => `(${c.case_id},${c.degree},${q(c.id_number)},${q(c.via)},${n(c.exposure_unix)},${q(c.kind)},${q(c.venue)},${n(c.contact_time_unix)},${n(c.source_time_unix)})`);
  const script = `
CREATE INDEX ref_pt ON checkins(person_id, t);
CREATE INDEX ref_vt ON checkins(venue_id, t);
CREATE TEMP TABLE rc AS
  SELECT id AS case_id, person_id AS cp,
         coalesce(onset_at, first_positive_at) - ${D} AS wf,
         coalesce(isolated_at, ${C.now}) AS wt
    FROM cases;
-- close contacts: venue co-location with a case scan inside the window,
-- and the case's household (exposure = the window start)
CREATE TEMP TABLE rclose AS
  SELECT case_id, pid, min(exp) AS exp FROM (
    SELECT rc.case_id, k.person_id AS pid, k.t AS exp
      FROM rc JOIN checkins s ON s.person_id = rc.cp AND s.t BETWEEN rc.wf AND rc.wt
      JOIN checkins k ON k.venue_id = s.venue_id AND k.t BETWEEN s.t - ${W} AND s.t + ${W}
     WHERE k.person_id <> rc.cp
    UNION ALL
    SELECT rc.case_id, h.id, rc.wf
      FROM rc JOIN persons me ON me.id = rc.cp
      JOIN persons h ON h.household_id = me.household_id AND h.id <> rc.cp
  ) GROUP BY case_id, pid;
-- P's isolation: its case's isolated_at, else now
CREATE TEMP TABLE rpiso AS
  SELECT DISTINCT pid, coalesce((SELECT isolated_at FROM cases WHERE person_id = rclose.pid), ${C.now}) AS iso
    FROM rclose;
-- (case, Q, P): Q is a contact of close contact P by the same rule,
-- P's scans counted from P's exposure to P's isolation
CREATE TEMP TABLE rpair AS
  SELECT case_id, q, p, min(exp) AS exp FROM (
    SELECT cl.case_id, k.person_id AS q, cl.pid AS p, k.t AS exp
      FROM rclose cl JOIN rpiso i ON i.pid = cl.pid
      JOIN checkins s ON s.person_id = cl.pid AND s.t BETWEEN cl.exp AND i.iso
      JOIN checkins k ON k.venue_id = s.venue_id AND k.t BETWEEN s.t - ${W} AND s.t + ${W}
     WHERE k.person_id <> cl.pid
    UNION ALL
    SELECT cl.case_id, h.id, cl.pid, cl.exp
      FROM rclose cl JOIN persons me ON me.id = cl.pid
      JOIN persons h ON h.household_id = me.household_id AND h.id <> cl.pid
  ) GROUP BY case_id, q, p;
DELETE FROM rpair
 WHERE q = (SELECT cp FROM rc WHERE rc.case_id = rpair.case_id)
    OR EXISTS (SELECT 1 FROM rclose c WHERE c.case_id = rpair.case_id AND c.pid = rpair.q);
CREATE TEMP TABLE rsec AS SELECT case_id, q, min(exp) AS exp FROM rpair GROUP BY case_id, q;

CREATE TEMP TABLE claim(case_id, degree, q, via, exp, kind, venue, tc, ts);
${claimRows.length ? `INSERT INTO claim VALUES ${claimRows.join(',\n')};` : ''}
CREATE TEMP TABLE cl2 AS
  SELECT claim.*, rc.cp, rc.wf, rc.wt, qp.id AS qid, qp.household_id AS qhh,
         vp.id AS vid, vp.household_id AS vhh,
         (SELECT id FROM venue_keys WHERE code = claim.venue) AS vk,
         rv.exp AS vexp, (SELECT iso FROM rpiso WHERE pid = vp.id) AS viso,
         (SELECT household_id FROM persons WHERE id = rc.cp) AS chh
    FROM claim JOIN rc USING (case_id)
    LEFT JOIN persons qp ON qp.id_number = claim.q
    LEFT JOIN persons vp ON vp.id_number = claim.via
    LEFT JOIN rclose rv ON rv.case_id = claim.case_id AND rv.pid = vp.id;

SELECT json_object(
 'cases', (SELECT json_group_array(json_object(
    'case_id', rc.case_id, 'id_number', (SELECT id_number FROM persons WHERE id = rc.cp),
    'wf', rc.wf, 'wt', rc.wt,
    'close', (SELECT json_group_array(json_object('id', p.id, 'id_number', p.id_number, 'exp', c.exp))
                FROM rclose c JOIN persons p ON p.id = c.pid WHERE c.case_id = rc.case_id),
    'secondary', (SELECT json_group_array(json_object('id', p.id, 'id_number', p.id_number, 'exp', s.exp,
                    'vias', (SELECT json_group_array(id_number) FROM
                              (SELECT vp.id_number FROM rpair r JOIN persons vp ON vp.id = r.p
                                WHERE r.case_id = s.case_id AND r.q = s.q AND r.exp = s.exp ORDER BY vp.id))))
                FROM rsec s JOIN persons p ON p.id = s.q WHERE s.case_id = rc.case_id)))
    FROM rc),
 'bad_evidence', (SELECT json_group_array(json_object('case_id', case_id, 'degree', degree, 'id_number', q, 'why', why))
  FROM (SELECT case_id, degree, q, CASE
    WHEN qid IS NULL THEN 'unknown ID number'
    WHEN degree = 1 AND kind = 'household' THEN CASE
      WHEN qhh IS NULL OR chh IS NULL OR qhh <> chh THEN 'not in the case''s household'
      WHEN exp IS NOT wf THEN 'household exposure is not the window start' END
    WHEN degree = 1 AND kind = 'venue' THEN CASE
      WHEN vk IS NULL OR tc IS NULL OR ts IS NULL THEN 'venue evidence incomplete or unknown venue'
      WHEN tc IS NOT exp THEN 'contact_time_unix is not the exposure'
      WHEN abs(tc - ts) > ${W} THEN 'the two scans are more than W apart'
      WHEN NOT EXISTS (SELECT 1 FROM checkins WHERE person_id = qid AND venue_id = vk AND t = tc)
        THEN 'the contact has no such scan'
      WHEN NOT EXISTS (SELECT 1 FROM checkins WHERE person_id = cp AND venue_id = vk AND t = ts)
        THEN 'the case has no such scan'
      WHEN ts NOT BETWEEN wf AND wt THEN 'the case''s scan is outside the window' END
    WHEN degree = 2 AND vexp IS NULL THEN 'via is not a close contact (reference)'
    WHEN degree = 2 AND kind = 'household' THEN CASE
      WHEN qhh IS NULL OR vhh IS NULL OR qhh <> vhh THEN 'not in via''s household'
      WHEN exp IS NOT vexp THEN 'household exposure is not via''s exposure' END
    WHEN degree = 2 AND kind = 'venue' THEN CASE
      WHEN vk IS NULL OR tc IS NULL OR ts IS NULL THEN 'venue evidence incomplete or unknown venue'
      WHEN tc IS NOT exp THEN 'contact_time_unix is not the exposure'
      WHEN abs(tc - ts) > ${W} THEN 'the two scans are more than W apart'
      WHEN NOT EXISTS (SELECT 1 FROM checkins WHERE person_id = qid AND venue_id = vk AND t = tc)
        THEN 'the contact has no such scan'
      WHEN NOT EXISTS (SELECT 1 FROM checkins WHERE person_id = vid AND venue_id = vk AND t = ts)
        THEN 'via has no such scan'
      WHEN ts NOT BETWEEN vexp AND viso THEN 'via''s scan is outside [via''s exposure, via''s isolation]' END
    ELSE 'unknown kind' END AS why FROM cl2) WHERE why IS NOT NULL));
`;
  return JSON.parse(sqlite(copy, script));
}

// ------------------------------------------------------------ comparison
function trace(C, idn, degree = 2) {
  const out = fkok(C, ['trace', '--case', idn, '--degree', String(degree), '--json']);
  try { return JSON.parse(out); } catch (e) { throw new Error(`trace --json is not JSON: ${out.slice(0, 300)}`); }
}

// Traces every case and compares with the reference; returns a list of
// readable differences (empty when all agree).
function compareAll(C) {
  const before = reference(C);
  const traces = new Map();
  const claims = [];
  for (const rc of before.cases) {
    const T = trace(C, rc.id_number);
    traces.set(rc.case_id, T);
    for (const c of T.close || []) claims.push({ ...c, case_id: rc.case_id, degree: 1 });
    for (const c of T.secondary || []) claims.push({ ...c, case_id: rc.case_id, degree: 2 });
  }
  const R = reference(C, claims);
  const diffs = [];
  const name = idn => `${C.key?.[idn] ?? '?'} ${idn}`;
  for (const rc of R.cases) {
    const T = traces.get(rc.case_id);
    const tag = `case ${rc.case_id} (${name(rc.id_number)})`;
    const d = [];
    if (T.case?.id_number !== rc.id_number) d.push(`${tag}: case.id_number ${T.case?.id_number}`);
    if (T.case?.window_from_unix !== rc.wf) d.push(`${tag}: window_from expected ${show(rc.wf)}, got ${show(T.case?.window_from_unix)}`);
    if (T.case?.window_to_unix !== rc.wt) d.push(`${tag}: window_to expected ${show(rc.wt)}, got ${show(T.case?.window_to_unix)}`);
    for (const [k, list] of [['close', T.close], ['secondary', T.secondary]]) {
      if (!Array.isArray(list)) { d.push(`${tag}: "${k}" is not an array`); continue; }
      const got = new Map();
      const keys = ['id_number', 'name', 'exposure', 'exposure_unix', 'kind', 'venue', 'contact_time_unix', 'source_time_unix', ...(k === 'secondary' ? ['via'] : [])];
      let last = -Infinity;
      for (const c of list) {
        const miss = keys.filter(x => !(x in c));
        if (miss.length) d.push(`${tag}: ${k} contact ${name(c.id_number)} lacks ${miss.join(', ')}`);
        if (C.key && c.name !== `测试${C.key[c.id_number]}`) d.push(`${tag}: ${k} contact ${name(c.id_number)} has name ${JSON.stringify(c.name)}`);
        if (c.exposure_unix < last) d.push(`${tag}: ${k} list not in exposure order at ${name(c.id_number)}`);
        last = c.exposure_unix;
        if (got.has(c.id_number)) d.push(`${tag}: ${k} contact ${name(c.id_number)} listed twice`);
        got.set(c.id_number, c);
        if (Date.parse(c.exposure) / 1000 !== c.exposure_unix) d.push(`${tag}: ${k} ${name(c.id_number)}: exposure "${c.exposure}" is not exposure_unix ${c.exposure_unix}`);
      }
      const want = new Map(rc[k].map(c => [c.id_number, c]));
      for (const [idn, w] of want) {
        const g = got.get(idn);
        if (!g) d.push(`${tag}: ${k} contact ${name(idn)} missing (expected exposure ${show(w.exp)}${w.vias ? ', via ' + w.vias.map(name).join(' or ') : ''})`);
        else if (g.exposure_unix !== w.exp) d.push(`${tag}: ${k} contact ${name(idn)}: expected exposure ${show(w.exp)}, got ${show(g.exposure_unix)} (${g.kind}${g.venue ? ' ' + g.venue : ''}${g.via ? ' via ' + name(g.via) : ''})`);
        else if (k === 'secondary') {
          if (!w.vias.includes(g.via)) d.push(`${tag}: secondary ${name(idn)} via ${name(g.via)} does not give exposure ${show(w.exp)}; the close contacts that do: ${w.vias.map(name).join(', ')}`);
          else if (g.via !== w.vias[0]) d.push(`${tag}: secondary ${name(idn)}: tie on exposure between ${w.vias.map(name).join(', ')}; via should be the smallest person id (${name(w.vias[0])}), got ${name(g.via)}`);
        }
      }
      for (const [idn, g] of got) if (!want.has(idn)) d.push(`${tag}: ${k} contact ${name(idn)} unexpected (exposure ${show(g.exposure_unix)}, ${g.kind}${g.venue ? ' ' + g.venue : ''}${g.via ? ' via ' + name(g.via) : ''})`);
    }
    diffs.push(...d);
  }
  for (const b of R.bad_evidence) diffs.push(`case ${b.case_id}: ${b.degree === 1 ? 'close' : 'secondary'} contact ${name(b.id_number)}: evidence: ${b.why}`);
  return { diffs, R, traces };
}

function reportDiffs(what, diffs) {
  if (!diffs.length) return;
  console.log(`# ${what}: ${diffs.length} difference(s) between the engine and the reference; the first 10:`);
  for (const l of diffs.slice(0, 10)) console.log(`#     ${l}`);
  throw new Error(`${what}: ${diffs.length} difference(s), see above`);
}

// ------------------------------------------------------- a random city
const GRIDS = ['610902001001001', '610902001001002', '610902001001003', '610902001002001'];
const REGIONS = [
  ['61', '陕西省', 1], ['6109', '安康市', 2, '61'], ['610902', '汉滨区', 3, '6109'],
  ['610902001', '老城街道', 4, '610902'],
  ['610902001001', '东关社区', 5, '610902001'], ['610902001002', '西关社区', 5, '610902001'],
  ['610902001001001', '东关一网格', 6, '610902001001'], ['610902001001002', '东关二网格', 6, '610902001001'],
  ['610902001001003', '东关三网格', 6, '610902001001'], ['610902001002001', '西关一网格', 6, '610902001002'],
];

function randomCity(seed) {
  const rnd = mulberry32(seed);
  const ri = n => Math.floor(rnd() * n);
  const pick = a => a[ri(a.length)];
  const days = 3 + ri(2);
  const persons = [];
  const used = new Set();
  const target = 300 + ri(200);
  const households = [];
  while (persons.length < target) {
    const size = [1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 5, 6][ri(12)];
    const grid = pick(GRIDS);
    const label = rnd() < 0.1 && size === 1 ? '' : `H${households.length}`; // some persons have no household
    const members = [];
    for (let i = 0; i < size; i++) {
      let f17;
      do {
        f17 = `610902${1940 + ri(75)}${pad(1 + ri(12), 2)}${pad(1 + ri(28), 2)}${pad(ri(1000), 3)}`;
      } while (used.has(f17));
      used.add(f17);
      const p = { key: `s${seed}p${persons.length}`, idn: idNumber(f17), grid, hh: label, members };
      persons.push(p);
      members.push(p);
    }
    households.push(members);
  }
  const kinds = ['restaurant', 'pharmacy', 'bank', 'clinic', 'gym', 'office', 'residential_gate', 'other'];
  const crowded = Array.from({ length: 4 + ri(3) }, (_, i) => ({ code: `VC${seed}x${i}`, grid: pick(GRIDS), kind: i % 2 ? 'station' : 'supermarket' }));
  const quiet = Array.from({ length: 50 + ri(30) }, (_, i) => ({ code: `VQ${seed}x${i}`, grid: pick(GRIDS), kind: pick(kinds) }));
  const scans = [];
  const silent = new Set(persons.filter(() => rnd() < 0.06)); // never scan anywhere
  const when = day => {
    const t = B + day * DAY + 7 * H + ri(15 * H);
    return rnd() < 0.7 ? t - (t - B) % 60 : t; // mostly whole minutes: many pairs exactly W apart
  };
  for (const p of persons) {
    if (silent.has(p)) continue;
    p.fav = [pick(quiet), pick(quiet), pick(quiet)];
    for (let day = 0; day < days; day++) {
      const k = ri(6);
      for (let j = 0; j < k; j++) {
        const r = rnd();
        const v = r < 0.15 ? pick(crowded) : r < 0.75 ? pick(p.fav) : pick(quiet);
        const t = when(day);
        scans.push({ key: p.key, venue: v.code, t });
        if (rnd() < 0.08) scans.push({ key: p.key, venue: v.code, t: t + 60 * (1 + ri(90)) }); // back again
      }
    }
  }
  // households out together
  for (const hh of households) {
    const m = hh.filter(p => !silent.has(p));
    if (m.length < 2) continue;
    for (let day = 0; day < days; day++) {
      if (rnd() >= 0.3) continue;
      const v = rnd() < 0.3 ? pick(crowded) : pick(quiet);
      const t = when(day);
      for (const p of m) if (rnd() < 0.8) scans.push({ key: p.key, venue: v.code, t: t + ri(300) });
    }
  }
  // pairs exactly W and W + 1 s apart
  for (let i = 0; i < 40; i++) {
    const a = pick(persons), b = pick(persons);
    if (a === b || silent.has(a) || silent.has(b)) continue;
    const v = pick(quiet), t = when(ri(days));
    scans.push({ key: a.key, venue: v.code, t }, { key: b.key, venue: v.code, t: t + W + (i % 2) });
  }
  return {
    regions: REGIONS, persons, venues: [...crowded, ...quiet], scans, days, silent,
    phoneBase: seed * 1000, now: B + days * DAY + 2 * H,
  };
}

function randomCitySuite(seed) {
  test(`random city, seed ${seed}: contacts, exposures and evidence agree with the reference SQL`, () => {
    const city = randomCity(seed);
    const C = { ...mkDb(`s${seed}`), now: city.now };
    loadCity(C, city);
    const rnd = mulberry32(seed * 7919 + 1);
    const ri = n => Math.floor(rnd() * n);
    const scanned = city.persons.filter(p => !city.silent.has(p));
    const taken = new Set();
    const take = list => {
      for (let i = 0; i < 50; i++) { const p = list[ri(list.length)]; if (!taken.has(p)) { taken.add(p); return p; } }
      return list.find(p => !taken.has(p));
    };
    const mid = () => B + DAY + ri((city.days - 1) * DAY); // a time from the second day on
    const cap = t => Math.min(t, city.now);
    // 1: confirmed, onset, not isolated (window ends now)
    const c1 = take(scanned);
    addCase(C, { idn: c1.idn, onset: cap(mid() + 20 * H), cls: 'confirmed' });
    // 2: a close contact of case 1, isolated at one of its own scans after
    //    its exposure: case 1's secondary contacts stop there
    const R1 = reference(C).cases[0];
    const idnToP = new Map(city.persons.map(p => [p.idn, p]));
    const closeP = R1.close.map(c => ({ p: idnToP.get(c.id_number), exp: c.exp })).filter(x => !taken.has(x.p) && !city.silent.has(x.p));
    if (closeP.length) {
      const { p, exp } = closeP[ri(closeP.length)];
      taken.add(p);
      const own = city.scans.filter(s => s.key === p.key && s.t > exp).map(s => s.t).sort((a, b) => a - b);
      const isolated = cap(own.length ? own[ri(own.length)] : exp + 6 * H);
      addCase(C, { idn: p.idn, onset: isolated - 12 * H, isolated, cls: 'confirmed' });
    }
    // 3: asymptomatic, first positive only; 4: asymptomatic, isolated
    addCase(C, { idn: take(scanned).idn, firstPositive: cap(mid() + 12 * H), cls: 'asymptomatic' });
    const fp = mid();
    addCase(C, { idn: take(scanned).idn, firstPositive: fp, isolated: cap(fp + 8 * H), cls: 'asymptomatic' });
    // 5: onset and first positive both given (the window starts at onset - D)
    const on = mid();
    addCase(C, { idn: take(scanned).idn, onset: on, firstPositive: on - 30 * H, isolated: cap(on + 30 * H), cls: 'suspected' });
    // 6: someone with no household; 7: someone who never scanned, in a household if possible
    const loner = scanned.filter(p => !p.hh && !taken.has(p));
    if (loner.length) addCase(C, { idn: take(loner).idn, onset: mid() });
    const silent = [...city.silent].filter(p => !taken.has(p)).sort((a, b) => b.members.length - a.members.length);
    if (silent.length) { taken.add(silent[0]); addCase(C, { idn: silent[0].idn, onset: cap(mid() + 6 * H) }); }
    const { diffs, R } = compareAll(C);
    const sizes = R.cases.map(c => `${c.close.length}/${c.secondary.length}`).join(' ');
    console.log(`# seed ${seed}: ${city.persons.length} persons, ${city.scans.length} scans, ${city.days} days; close/secondary per case: ${sizes}`);
    reportDiffs(`seed ${seed}`, diffs);
    assert(R.cases.length >= 6, 'at least six cases were traced');
    assert(R.cases.some(c => c.secondary.length > 0) && R.cases.some(c => c.close.length > 5), 'the city is crowded enough to have contacts');
  });
}

for (const seed of [1, 2, 3, 4]) randomCitySuite(seed);

// ------------------------------------------------------- the hand-made city
// Case C (confirmed): onset B + 3d, isolated at B + 2d 12h, so the window is
// [WF, WT] = [B + 1d, B + 2d 12h].  Person P1 is also a case (asymptomatic,
// first positive B + 3d, isolated at I1).  Case CB never scanned anywhere.
const WF = B + DAY, WT = B + 2 * DAY + 12 * H;
const c1 = WF + 10 * H, c3 = WF + 14 * H, I1 = c1 + 5 * H, T8 = WF + 20 * H;
const EDGE_NOW = B + 4 * DAY;
const edgePersons = [
  // key, household label
  ['C', 'HC'], ['M1', 'HC'], ['M2', 'HC'], ['M3', 'HC'],
  ['P10', ''], ['P1', 'HP1'], ['Q6', 'HP1'],
  ['P2', ''], ['P3', ''], ['P4', ''], ['P5', ''], ['P6', ''], ['P7', ''], ['P8', ''], ['P9', ''],
  ['Q1', ''], ['Q2', ''], ['Q3', ''], ['Q4', ''], ['Q5', ''], ['Q7', ''], ['Q8', ''],
  ['CB', 'HB'], ['N1', 'HB'], ['N2', 'HB'], ['R1', ''],
];
const edgeScans = [
  // case C's scans
  ['C', 'VA', c1], ['C', 'VB', WF], ['C', 'VC', WT], ['C', 'VD', WF - 1], ['C', 'VE', WT + 1], ['C', 'VM', c3],
  // VA: exactly W after (in), W + 1 s before and after (out)
  ['P1', 'VA', c1 + W], ['P2', 'VA', c1 - W - 1], ['P3', 'VA', c1 + W + 1],
  // VB: the case's scan at the window's first second; a contact W before it
  ['P4', 'VB', WF - W], ['P5', 'VB', WF + W], ['M3', 'VB', WF - 600],
  // VC: the case's scan at the window's last second
  ['P6', 'VC', WT - W], ['P7', 'VC', WT + W],
  // VD, VE: the case's scans one second outside the window
  ['P8', 'VD', WF - 1], ['P9', 'VE', WT + 1], ['P9', 'VE', WT - 100],
  // VM: the same venue twice (the later scan first in the file); a household
  // member who also met the case there later than the window start
  ['P10', 'VM', c3 + 1200], ['P10', 'VM', c3 - 900], ['M2', 'VM', c3 - 60],
  // secondary through P1 (exposure c1 + W, isolated at I1)
  ['P1', 'VF', c1 + W - 1], ['Q1', 'VF', c1 + W - 1],             // before P1's exposure: no
  ['P1', 'VG', c1 + 2 * H], ['Q2', 'VG', c1 + 2 * H + W],          // W after: yes
  ['Q3', 'VG', c1 + 2 * H + W + 1],                                // W + 1 s: no
  ['P5', 'VG', c1 + 2 * H - 10], ['M2', 'VG', c1 + 2 * H - 5],     // close contacts stay close
  ['P1', 'VH', I1], ['Q4', 'VH', I1 - W],                          // P1's isolation second: yes
  ['P1', 'VI', I1 + 1], ['Q5', 'VI', I1 + 1],                      // after P1's isolation: no
  // Q7 meets P5 (exposure WF + W) at WF + 5h and P10 later: the earlier counts
  ['P5', 'VJ', WF + 5 * H], ['Q7', 'VJ', WF + 5 * H], ['P10', 'VK', c3 + 3 * H], ['Q7', 'VK', c3 + 3 * H],
  // Q8 meets P5 and P10 at the same second of its own: a tie, via = smaller id (P10)
  ['Q8', 'VL', T8], ['P5', 'VL', T8 + 60], ['P10', 'VL', T8 - 60],
  // case CB never scans; its household member N1 meets R1
  ['N1', 'VN', B + 3 * DAY + H], ['R1', 'VN', B + 3 * DAY + H + 600],
];
const EDGE_EXPECTED = {
  C: {
    wf: WF, wt: WT,
    close: { P1: c1 + W, P4: WF - W, P5: WF + W, P6: WT - W, P7: WT + W, P10: c3 - 900, M1: WF, M2: WF, M3: WF - 600 },
    secondary: { P3: [c1 + W + 1, 'P1'], Q2: [c1 + 2 * H + W, 'P1'], Q4: [I1 - W, 'P1'], Q6: [c1 + W, 'P1'], Q7: [WF + 5 * H, 'P5'], Q8: [T8, 'P10'] },
  },
  CB: {
    wf: B + DAY + 12 * H, wt: EDGE_NOW,
    close: { N1: B + DAY + 12 * H, N2: B + DAY + 12 * H },
    secondary: { R1: [B + 3 * DAY + H + 600, 'N1'] },
  },
};

test('hand-made city: the edges, by hand, agree with the reference SQL and the engine', () => {
  const grid = GRIDS[0];
  const venues = [...'ABCDEFGHIJKLMN'].map(x => ({ code: `V${x}`, grid, kind: 'restaurant' }));
  const persons = edgePersons.map(([key, hh], i) => ({ key, hh, grid, idn: idNumber(`610902${1950 + i}0101${pad(100 + i, 3)}`) }));
  const city = { regions: REGIONS, persons, venues, scans: edgeScans.map(([key, venue, t]) => ({ key, venue, t })), phoneBase: 900000 };
  const C = { ...mkDb('edge'), now: EDGE_NOW };
  loadCity(C, city);
  addCase(C, { idn: C.idn.C, onset: B + 3 * DAY, isolated: WT, cls: 'confirmed' });
  addCase(C, { idn: C.idn.P1, firstPositive: B + 3 * DAY, isolated: I1, cls: 'asymptomatic' });
  addCase(C, { idn: C.idn.CB, onset: B + 3 * DAY + 12 * H, cls: 'confirmed' });

  // 1. the reference SQL gives the answers written by hand
  const R = reference(C);
  const diffs = [];
  for (const [who, E] of Object.entries(EDGE_EXPECTED)) {
    const rc = R.cases.find(c => c.id_number === C.idn[who]);
    const mine = {
      wf: rc.wf, wt: rc.wt,
      close: Object.fromEntries(rc.close.map(c => [C.key[c.id_number], c.exp]).sort()),
      secondary: Object.fromEntries(rc.secondary.map(c => [C.key[c.id_number], [c.exp, C.key[c.vias[0]]]]).sort()),
    };
    const want = { wf: E.wf, wt: E.wt, close: Object.fromEntries(Object.entries(E.close).sort()), secondary: Object.fromEntries(Object.entries(E.secondary).sort()) };
    if (JSON.stringify(mine) !== JSON.stringify(want)) diffs.push(`reference SQL for ${who}:\n#       by hand: ${JSON.stringify(want)}\n#       SQL:     ${JSON.stringify(mine)}`);
  }
  reportDiffs('reference SQL against the hand-made answers', diffs);

  // 2. the engine gives the same answers (and valid evidence) for every case
  const cmp = compareAll(C);
  reportDiffs('hand-made city', cmp.diffs);

  // 3. the evidence the edges call for
  const T = cmp.traces.get(R.cases.find(c => c.id_number === C.idn.C).case_id);
  const ev = Object.fromEntries(T.close.map(c => [C.key[c.id_number], c]));
  eq([ev.M1.kind, ev.M1.venue, ev.M1.contact_time_unix], ['household', null, null], 'M1: same household, no venue');
  eq([ev.M3.kind, ev.M3.venue, ev.M3.contact_time_unix, ev.M3.source_time_unix], ['venue', 'VB', WF - 600, WF], 'M3: the venue scan before the window start wins over the household');
  eq([ev.M2.kind], ['household'], 'M2: the household (window start) wins over a later venue scan');
  eq([ev.P10.venue, ev.P10.contact_time_unix, ev.P10.source_time_unix], ['VM', c3 - 900, c3], 'P10: the earliest of two scans at the same venue');
  eq([ev.P1.venue, ev.P1.contact_time_unix, ev.P1.source_time_unix], ['VA', c1 + W, c1], 'P1: exactly W apart');
  const sec = Object.fromEntries(T.secondary.map(c => [C.key[c.id_number], c]));
  eq([sec.Q6.kind, C.key[sec.Q6.via]], ['household', 'P1'], 'Q6: household of close contact P1');
  eq([sec.Q4.venue, sec.Q4.source_time_unix], ['VH', I1], 'Q4: P1 scanned at its isolation second');
  const TB = cmp.traces.get(R.cases.find(c => c.id_number === C.idn.CB).case_id);
  eq(TB.close.map(c => [C.key[c.id_number], c.kind]).sort(), [['N1', 'household'], ['N2', 'household']], 'a case with no scans: only its household');

  // 4. --degree 1 gives the same close contacts and no secondary ones
  const T1 = trace(C, C.idn.C, 1);
  eq(T1.close.map(c => [c.id_number, c.exposure_unix]).sort(), T.close.map(c => [c.id_number, c.exposure_unix]).sort(), '--degree 1: the same close contacts');
  assert(!T1.secondary || T1.secondary.length === 0, '--degree 1 lists no secondary contacts');
});

test('trace: an unknown ID number or a non-case exits 1 with a message; bad usage exits 2', () => {
  const C = { ...mkDb('usage'), now: EDGE_NOW };
  const grid = GRIDS[0];
  const persons = [{ key: 'A', hh: '', grid, idn: idNumber('61090219800101123') }];
  loadCity(C, { regions: REGIONS, persons, venues: [{ code: 'VA', grid, kind: 'bank' }], scans: [{ key: 'A', venue: 'VA', t: B }], phoneBase: 1 });
  const unknown = idNumber('61090219900101555');
  for (const [what, idn] of [['unknown ID number', unknown], ['a person who is not a case', persons[0].idn]]) {
    const r = fkrun(C, ['trace', '--case', idn, '--json']);
    eq(r.status, 1, `${what}: exit status (DESIGN.md: 1 on failures other than usage)`);
    assert(r.stdout.trim() === '', `${what}: nothing on stdout, got ${r.stdout.slice(0, 200)}`);
    assert(r.stderr.includes(idn) || /unknown|not found|no such|not a case|no case/i.test(r.stderr),
      `${what}: stderr should say what is wrong: ${JSON.stringify(r.stderr)}`);
  }
  for (const args of [['trace'], ['trace', '--bogus'], ['trace', '--case'], ['trace', '--case', persons[0].idn, '--degree', '3'],
    ['case', 'add', '--person', persons[0].idn],
    ['case', 'add', '--person', persons[0].idn, '--onset', 'yesterday']]) {
    const r = fkrun(C, args);
    eq(r.status, 2, `fangkong ${args.join(' ')} exits 2 (stderr: ${r.stderr.slice(0, 200)})`);
  }
  eq(sqlite(C.db, 'SELECT count(*) FROM cases;'), '0', 'bad usage added no case');
});

await run();
