// Nucleic-acid testing end to end over HTTP, written from the issue and
// the shared contract (campaigns, sampling, results, coverage), never from
// the server's code.  A small generated city; the test builds its own
// facts with the sqlite3 shell (infants, isolation orders, a person added
// after the launch), drives the scanner, lab and command APIs, and checks
// every figure against answers computed here: the exempt set from
// birth_date and the orders, due times from the policy file's numbers, and
// coverage from SQL over persons, samples and tubes (never over
// campaign_grids, the counters under test).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, run, startServer, api, eq, assert, createUser, ROOT } from '../lib/harness.mjs';

// ---- the policy, read from its file
const POLICY = join(ROOT, 'policy', 'protocol-9.ini');
function ini(path) {
  const out = {};
  let sec = '';
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const l = raw.replace(/[;#].*$/, '').trim();
    if (!l) continue;
    const m = /^\[(.+)\]$/.exec(l);
    if (m) { sec = m[1]; out[sec] ??= {}; continue; }
    const i = l.indexOf('=');
    if (i > 0) out[sec][l.slice(0, i).trim()] = l.slice(i + 1).trim();
  }
  return out;
}
const POL = ini(POLICY);
const EXEMPT_AGE = Number(POL.testing.exempt_under_age_years);
const RETEST_H = Number(POL.testing.retest_hours);
const RESAMPLE_H = Number(POL.testing.resample_hours);
const WHOLE_DAYS = Number(POL.testing.campaign_whole_days);
const KEY_OCC = Object.keys(POL.periodic);
assert(EXEMPT_AGE > 0 && RETEST_H > 0 && RESAMPLE_H > 0 && WHOLE_DAYS > 0, 'policy [testing] read');

const S = await startServer({ persons: 3000, seed: 7, policy: POLICY });

// sqlite3 shell with a busy timeout (the server writes the same file)
function q(query) {
  return execFileSync('sqlite3', ['-batch', '-noheader', '-separator', '|', '-cmd', '.timeout 10000', S.db, query],
    { encoding: 'utf8' }).trim();
}
const rows = query => { const t = q(query); return t ? t.split('\n').map(l => l.split('|')) : []; };
const num = query => Number(q(query));

// times: ISO 8601 at +08:00 as the server prints them
const iso = t => new Date((t + 8 * 3600) * 1000).toISOString().replace(/\.\d{3}Z$/, '+08:00');
const unix = s => Math.floor(Date.parse(s) / 1000);
const maskName = n => { const c = [...n]; return c.length < 2 ? '*' : c[0] + '*'.repeat(c.length - (c.length >= 3 ? 2 : 1)) + (c.length >= 3 ? c[c.length - 1] : ''); };

// ISO 7064 MOD 11-2 check character of an 18-character ID number
function idCheck(s17) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(s17[i]) * w[i];
  return '10X98765432'[sum % 11];
}
function freshIdNumber(like) {
  for (let seq = 901; seq < 999; seq++) {
    const s17 = like.slice(0, 14) + String(seq);
    const idn = s17 + idCheck(s17);
    if (!num(`SELECT count(*) FROM persons WHERE id_number = '${idn}'`)) return idn;
  }
  throw new Error('no free ID number');
}

// ---- accounts
const login = async (username, password) => (await api(S.url, 'POST', '/api/v1/sessions', { body: { username, password } })).body.token;
const admin = await login('admin', S.adminPassword);

// ---- the area: a county of moderate size; another county for refusals
const AREA = q(`SELECT substr(grid_code, 1, 6) c FROM persons GROUP BY c HAVING count(*) BETWEEN 150 AND 400 ORDER BY c LIMIT 1`);
const OTHER = q(`SELECT substr(grid_code, 1, 6) c FROM persons WHERE c <> '${AREA}' GROUP BY c HAVING count(*) >= 20 ORDER BY c LIMIT 1`);
assert(AREA && OTHER, 'two counties with people');
const TOWN = q(`SELECT code FROM regions WHERE level = 4 AND code LIKE '${AREA}%' ORDER BY code LIMIT 1`);
const OTHER_TOWN = q(`SELECT code FROM regions WHERE level = 4 AND code LIKE '${OTHER}%' ORDER BY code LIMIT 1`);

const command = await createUser(S, admin, { username: 'command.city', role: 'command', scope: '61' + AREA.slice(2, 4) });
const commandOther = await createUser(S, admin, { username: 'command.other', role: 'command', scope: OTHER });
const tester = await createUser(S, admin, { username: 'tester.city', role: 'tester', scope: '61' + AREA.slice(2, 4) });
const lab = await createUser(S, admin, { username: 'lab.city', role: 'lab', scope: '61' + AREA.slice(2, 4) });

// ---- the campaign's start: noon (+08:00) of today, or of yesterday if
// that is not yet past; local and UTC dates agree at noon +08:00
const NOW = Math.floor(Date.now() / 1000);
let START = (() => { const d = new Date((NOW + 8 * 3600) * 1000); return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 4, 0, 0) / 1000; })();
if (START > NOW - 120) START -= 86400;
const startDate = new Date(START * 1000); // its UTC date = its local date
const ymd = (y, m, d) => new Date(Date.UTC(y, m, d)).toISOString().slice(0, 10);
const SY = startDate.getUTCFullYear(), SM = startDate.getUTCMonth(), SD = startDate.getUTCDate();

// ---- persons of the area (id order), without key occupations, so that no
// periodic-test rule colours their codes
const KEYS = KEY_OCC.map(o => `'${o}'`).join(',');
const P = rows(`SELECT id, id_number, name, grid_code, coalesce(household_id, 0), occupation FROM persons
  WHERE grid_code LIKE '${AREA}%' AND occupation NOT IN (${KEYS}) ORDER BY id`)
  .map(([id, idn, name, grid, hh, occ]) => ({ id: +id, idn, name, grid, hh: +hh, occ }));
assert(P.length >= 120, `enough persons in ${AREA}: ${P.length}`);
const outsider = rows(`SELECT id, id_number FROM persons WHERE grid_code LIKE '${OTHER}%' ORDER BY id LIMIT 3`)
  .map(([id, idn]) => ({ id: +id, idn }));

// infants (birth dates set here) and their expected exemption
const cut = EXEMPT_AGE;
const infants = [
  { p: P[0], birth: ymd(SY - cut, SM, SD), exempt: false },     // turns `cut` the day of the launch
  { p: P[1], birth: ymd(SY - cut, SM, SD + 1), exempt: true },  // one day short
  { p: P[2], birth: ymd(SY - 1, SM, SD), exempt: true },
  { p: P[3], birth: ymd(SY - cut, SM, SD - 1), exempt: false },
  { p: P[4], birth: ymd(SY, SM, SD), exempt: true },            // born that day
];
for (const f of infants) q(`UPDATE persons SET birth_date = '${f.birth}' WHERE id = ${f.p.id}`);
// isolation orders at launch
const order = (p, kind, status, start, end, ended = 'NULL') => q(`INSERT INTO orders(person_id, kind, category, status, start_at,
  planned_end, ended_at, created_at, created_by) VALUES(${p.id}, '${kind}', 'close', '${status}', ${start}, ${end}, ${ended}, ${start}, 'test')`);
const D = 86400;
order(P[5], 'central', 'active', START - 2 * D, START + 5 * D);            // exempt
order(P[6], 'home_isolation', 'active', START - D, START + 6 * D);         // exempt
order(P[7], 'home_monitoring', 'active', START - D, START + 6 * D);        // watch, not isolation: expected
order(P[8], 'central', 'completed', START - 10 * D, START - 3 * D, START - 3 * D); // over before the launch
order(P[9], 'central', 'active', START + 3600, START + 7 * D);             // starts after the launch
order(P[10], 'central', 'cancelled', START - D, START + 6 * D);            // cancelled
order(P[2], 'central', 'active', START - D, START + 6 * D);                // an infant, isolated too: exempt once
order(outsider[0], 'central', 'active', START - D, START + 6 * D);         // outside the area
const isolated = new Set([P[5].id, P[6].id, P[2].id]);
const exemptIds = new Set([...infants.filter(f => f.exempt).map(f => f.p.id), ...isolated]);

// my own age test, as a check of the fixture above: younger than `cut`
// full years on the launch date
const youngerThan = (birth) => {
  const [y, m, d] = birth.split('-').map(Number);
  let age = SY - y;
  if (SM + 1 < m || (SM + 1 === m && SD < d)) age--;
  return age < cut;
};
for (const f of infants) eq(youngerThan(f.birth), f.exempt, `fixture: ${f.birth} younger than ${cut}`);
// nobody else of the area is that young (the generated city is older)
const youngOthers = rows(`SELECT id, birth_date FROM persons WHERE grid_code LIKE '${AREA}%'`).filter(([id, b]) => youngerThan(b) && !exemptIds.has(+id));
for (const [id] of youngOthers) exemptIds.add(+id);

const POP_MAX = num('SELECT max(id) FROM persons');
const GRIDS = rows(`SELECT code FROM regions WHERE level = 6 AND code LIKE '${AREA}%' ORDER BY code`).map(r => r[0]);

// expected population per grid, from persons and my exempt set
function expectedByGrid() {
  const m = new Map(GRIDS.map(g => [g, { expected: 0, exempt: 0 }]));
  for (const [id, grid] of rows(`SELECT id, grid_code FROM persons WHERE grid_code LIKE '${AREA}%' AND id <= ${POP_MAX}`)) {
    const e = m.get(grid);
    if (exemptIds.has(+id)) e.exempt++; else e.expected++;
  }
  return m;
}

let C = null; // the campaign JSON at launch
const SITE = 'SITE-' + AREA;
const SITE_B = 'SITE-' + OTHER;
const post = (path, body, token) => api(S.url, 'POST', path, { token, body });
const get = (path, token) => api(S.url, 'GET', path, { token });
const sample = (tube, idn, extra = {}, token = tester) => post('/api/v1/samples', { tube, id_number: idn, ...extra }, token);
const result = (body, token = lab) => post('/api/v1/results', body, token);

// what must not change when a request is refused
const snapshot = () => q(`SELECT (SELECT count(*) FROM samples), (SELECT count(*) FROM tubes), (SELECT total(n) FROM tubes),
  (SELECT count(*) FROM tubes WHERE closed_at IS NOT NULL), (SELECT count(*) FROM tubes WHERE result IS NOT NULL),
  (SELECT count(*) FROM campaign_grids), (SELECT total(sampled) || ',' || total(sampled_expected) || ',' || total(resulted) || ',' || total(positive) FROM campaign_grids),
  (SELECT total(samples) FROM site_hours), (SELECT count(*) FROM tasks), (SELECT count(*) FROM case_candidates),
  (SELECT count(*) FROM person_results)`);
async function refused(name, req, status, code) {
  const before = snapshot();
  const r = await req();
  eq([r.status, r.body?.error?.code], [status, code], `${name}: ${r.text}`);
  assert(typeof r.body.error.message === 'string' && r.body.error.message.length > 0, `${name}: a message`);
  eq(snapshot(), before, `${name}: nothing changed`);
  return r;
}
async function pages(path, token) {
  const items = [];
  let cursor = null, first = null;
  for (let i = 0; i < 1000; i++) {
    const r = await get(path + (cursor ? `${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}` : ''), token);
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`);
    first ??= r.body;
    items.push(...r.body.items);
    cursor = r.body.next_cursor;
    if (!cursor) break;
  }
  return { items, first };
}

// ======================================================= 1. the launch
test('whole-area campaign: the expected population per grid, the totals', async () => {
  const before = num('SELECT count(*) FROM campaigns');
  // the region must lie in the user's scope
  const o = await post('/api/v1/campaigns', { name: 'out of scope', kind: 'whole', region: AREA }, commandOther);
  eq([o.status, o.body?.error?.code], [404, 'not_found'], 'a region outside the scope: ' + o.text);
  const b = await post('/api/v1/campaigns', { name: 'bad', kind: 'every', region: AREA }, command);
  eq([b.status, b.body?.error?.code], [400, 'bad_request'], 'an unknown kind: ' + b.text);
  assert(/kind/.test(b.body.error.message), 'the message names the field: ' + b.body.error.message);
  const ps = await post('/api/v1/campaigns', { name: 'bad', kind: 'whole', region: AREA, pool_size: 7 }, command);
  eq([ps.status, ps.body?.error?.code], [400, 'bad_request'], 'pool size 7: ' + ps.text);
  eq(num('SELECT count(*) FROM campaigns'), before, 'refusals create nothing');

  const r = await post('/api/v1/campaigns', { name: '全员核酸第一轮', kind: 'whole', region: AREA, starts_at: iso(START) }, command);
  eq(r.status, 201, 'created: ' + r.text);
  C = r.body;
  eq([C.kind, C.region.code, C.pool_size, C.status, C.starts_at, C.deadline, C.occupations],
    ['whole', AREA, 10, 'open', iso(START), iso(START + WHOLE_DAYS * D), []], 'the campaign');
  const m = expectedByGrid();
  let expected = 0, exempt = 0;
  for (const e of m.values()) { expected += e.expected; exempt += e.exempt; }
  eq([C.expected, C.exempt, C.sampled, C.resulted, C.positive, C.missing], [expected, exempt, 0, 0, 0, expected], 'the totals');
  eq(exempt, exemptIds.size, 'every exempt person lives in the area');
  // the rows the contract names
  const ex = rows(`SELECT person_id, reason FROM campaign_exempt WHERE campaign_id = ${C.id} ORDER BY person_id`);
  eq(ex.map(x => +x[0]), [...exemptIds].sort((a, b) => a - b), 'campaign_exempt: the infants and the isolated');
  for (const [pid, reason] of ex) {
    if (+pid === P[2].id) assert(reason === 'age' || reason === 'isolation', 'both reasons: either');
    else eq(reason, isolated.has(+pid) ? 'isolation' : 'age', `reason of person ${pid}`);
  }
  const cg = rows(`SELECT grid_code, expected, exempt FROM campaign_grids WHERE campaign_id = ${C.id} ORDER BY grid_code`);
  eq(cg.map(x => x[0]), GRIDS, 'a row for every grid of the area, empty ones too');
  for (const [g, e, x] of cg) eq([+e, +x], [m.get(g).expected, m.get(g).exempt], `grid ${g}`);
  const g = await get(`/api/v1/campaigns/${C.id}`, command);
  eq(g.status, 200, 'GET campaign');
  eq([g.body.id, g.body.expected, g.body.exempt, g.body.missing], [C.id, expected, exempt, expected], 'GET: the same totals');
  // the population is frozen at launch
  eq(num(`SELECT population_max_id FROM campaigns WHERE id = ${C.id}`), POP_MAX, 'population_max_id');
});

// ======================================================= 2. sampling
// T1: ten persons, then refused; members P[11..20]
const T1 = 'T1-' + AREA, T2 = 'T2-' + AREA, T3 = 'T3-' + AREA;
const T1M = P.slice(11, 21);
let NEWP = null; // a person added after the launch
let CB = null; // a campaign of the other county, closed

test('sites: created, the same again 200, different 409 site_exists', async () => {
  const body = { code: SITE, name: '采样点一', region: TOWN, capacity_per_hour: 300, opens: '07:00', closes: '22:00' };
  const r = await post('/api/v1/sites', body, tester);
  eq(r.status, 201, 'site: ' + r.text);
  eq([r.body.code, r.body.region.code, r.body.capacity_per_hour, r.body.opens, r.body.closes], [SITE, TOWN, 300, '07:00', '22:00'], 'site JSON');
  eq((await post('/api/v1/sites', body, tester)).status, 200, 'the same site again');
  const d = await post('/api/v1/sites', { ...body, capacity_per_hour: 301 }, tester);
  eq([d.status, d.body?.error?.code], [409, 'site_exists'], 'a different site under the same code');
  eq((await post('/api/v1/sites', { code: SITE_B, name: '采样点二', region: OTHER_TOWN, capacity_per_hour: 100 }, tester)).status, 201, 'site B');
});

test('sampling: a tube of 10 fills, retries answer retry:true, the 11th is tube_full', async () => {
  const t = await post('/api/v1/tubes', { tube: T1, site: SITE, campaign: C.id, pool_size: 10 }, tester);
  eq(t.status, 201, 'tube bound: ' + t.text);
  eq([t.body.tube, t.body.campaign, t.body.site, t.body.purpose, t.body.pool_size, t.body.n, t.body.closed_at, t.body.result],
    [T1, C.id, SITE, 'round', 10, 0, null, null], 'tube JSON');
  for (let i = 0; i < 10; i++) {
    const p = T1M[i];
    const r = await sample(T1, p.idn);
    eq(r.status, 201, `sample ${i + 1}: ${r.text}`);
    eq([r.body.tube, r.body.n, r.body.pool_size, r.body.closed, r.body.expected, r.body.retry, r.body.person.id],
      [T1, i + 1, 10, i === 9, true, false, p.id], `sample ${i + 1}`);
    eq(r.body.person.name, maskName(p.name), 'the name masked');
    // durable before the answer: another process reads it
    eq(q(`SELECT t.code || ',' || s.round || ',' || s.expected || ',' || s.grid_code || ',' || s.campaign_id FROM samples s
      JOIN tubes t ON t.id = s.tube_id WHERE s.person_id = ${p.id} AND s.campaign_id = ${C.id}`), `${T1},1,1,${p.grid},${C.id}`, 'the sample row');
    if (i === 4) {
      const before = snapshot();
      const again = await sample(T1, p.idn);
      eq([again.status, again.body.retry, again.body.n, again.body.sample], [200, true, 5, r.body.sample], 'the same person again: a retry');
      eq(snapshot(), before, 'a retry writes nothing');
    }
  }
  eq(num(`SELECT count(*) FROM samples s JOIN tubes t ON t.id = s.tube_id WHERE t.code = '${T1}'`), 10, 'ten rows');
  // the scanner timed out on the 10th and sends it again
  const before = snapshot();
  const r10 = await sample(T1, T1M[9].idn);
  eq([r10.status, r10.body.retry], [200, true], 'a retry of the sample that filled the tube: ' + r10.text);
  eq(snapshot(), before, 'and nothing written');
  await refused('the 11th', () => sample(T1, P[21].idn), 409, 'tube_full');
  const g = await get(`/api/v1/tubes/${T1}`, tester);
  eq([g.status, g.body.n, g.body.closed_at !== null], [200, 10, true], 'a full tube is closed: ' + g.text);
});

test('sampling refusals: already_sampled, out_of_area, unknown person and tube, tube_bound; exempt and late persons', async () => {
  const t = await post('/api/v1/tubes', { tube: T2, site: SITE, campaign: C.id, pool_size: 10 }, tester);
  eq(t.status, 201, 'T2 bound: ' + t.text);
  const r = await refused('the same person in another tube', () => sample(T2, T1M[3].idn), 409, 'already_sampled');
  assert(r.body.error.message.includes(T1), 'the message names the tube: ' + r.body.error.message);
  await refused('a person of another county', () => sample(T2, outsider[1].idn), 409, 'out_of_area');
  await refused('nobody with that ID number', () => sample(T2, freshIdNumber(P[30].idn)), 404, 'unknown_person');
  await refused('an unbound tube, nothing to bind it', () => sample('NOPE-1', P[30].idn), 404, 'unknown_tube');
  await refused('no id_number', () => post('/api/v1/samples', { tube: T2 }, tester), 400, 'bad_request');
  await refused('a bad tube code', () => sample('bad tube!', P[30].idn), 400, 'bad_request');
  // a tube code bound again: the same binding 200, a different one 409
  eq((await post('/api/v1/tubes', { tube: T1, site: SITE, campaign: C.id, pool_size: 10 }, tester)).status, 200, 'the same binding');
  await refused('T1 as a tube of 5', () => post('/api/v1/tubes', { tube: T1, site: SITE, campaign: C.id, pool_size: 5 }, tester), 409, 'tube_bound');
  await refused('T1 at another site', () => post('/api/v1/tubes', { tube: T1, site: SITE_B, campaign: C.id, pool_size: 10 }, tester), 409, 'tube_bound');
  // a first-use binding that is refused binds nothing either
  await refused('a refused first use', () => sample('T9-' + AREA, outsider[1].idn, { campaign: C.id, site: SITE }), 409, 'out_of_area');
  eq(num(`SELECT count(*) FROM tubes WHERE code = 'T9-${AREA}'`), 0, 'no tube bound by a refused sample');

  // P[21] (refused from T1) goes into T2
  const a = await sample(T2, P[21].idn);
  eq([a.status, a.body.n, a.body.expected], [201, 1, true], 'P[21] in T2: ' + a.text);
  // an exempt infant and an isolated person are sampled, but not expected
  const inf = await sample(T2, P[1].idn);
  eq([inf.status, inf.body.expected], [201, false], 'an exempt infant: ' + inf.text);
  const iso5 = await sample(T2, P[5].idn);
  eq([iso5.status, iso5.body.expected], [201, false], 'a person isolated at launch: ' + iso5.text);
  // a person registered after the launch: in the area, not expected
  const idn = freshIdNumber(P[40].idn);
  q(`INSERT INTO persons(id_number, name, phone, grid_code, household_id, occupation, sex, birth_date)
     VALUES('${idn}', '新来人', '13900001111', '${P[40].grid}', NULL, 'office', 1, '1990-01-01')`);
  NEWP = { id: num(`SELECT id FROM persons WHERE id_number = '${idn}'`), idn, grid: P[40].grid };
  assert(NEWP.id > POP_MAX, 'a new person id');
  const late = await sample(T2, idn);
  eq([late.status, late.body.expected], [201, false], 'a person added after the launch: ' + late.text);
  // an unknown tube bound on first use
  const fu = await sample('T4-' + AREA, P[22].idn, { campaign: C.id, site: SITE, pool_size: 5 });
  eq([fu.status, fu.body.n, fu.body.pool_size], [201, 1, 5], 'bound on first use: ' + fu.text);
});

test('sampling: a closed tube refuses, a closed campaign refuses', async () => {
  eq((await post('/api/v1/tubes', { tube: T3, site: SITE, campaign: C.id, pool_size: 10 }, tester)).status, 201, 'T3');
  eq((await sample(T3, P[23].idn)).status, 201, 'T3 one');
  eq((await sample(T3, P[24].idn)).status, 201, 'T3 two');
  const c1 = await post(`/api/v1/tubes/${T3}/close`, {}, tester);
  eq([c1.status, c1.body.n, c1.body.closed_at !== null], [200, 2, true], 'closed: ' + c1.text);
  const c2 = await post(`/api/v1/tubes/${T3}/close`, {}, tester);
  eq([c2.status, c2.body.closed_at], [200, c1.body.closed_at], 'closed again: the same');
  const r = await refused('a closed tube', () => sample(T3, P[25].idn), 409, 'tube_closed');
  // a retry of a sample already in the closed tube is still a retry
  const rt = await sample(T3, P[24].idn);
  eq([rt.status, rt.body.retry], [200, true], 'a retry into a closed tube: ' + rt.text);
  void r;

  const b = await post('/api/v1/campaigns', { name: '另一县', kind: 'whole', region: OTHER }, command);
  eq(b.status, 201, 'campaign B: ' + b.text);
  CB = b.body;
  eq((await post('/api/v1/tubes', { tube: 'TB-' + OTHER, site: SITE_B, campaign: CB.id, pool_size: 10 }, tester)).status, 201, 'tube of B');
  const sb = await sample('TB-' + OTHER, outsider[2].idn);
  eq(sb.status, 201, 'a sample in B while open: ' + sb.text);
  const cl = await post(`/api/v1/campaigns/${CB.id}/close`, {}, command);
  eq([cl.status, cl.body.status], [200, 'closed'], 'B closed');
  const cl2 = await post(`/api/v1/campaigns/${CB.id}/close`, {}, command);
  eq([cl2.status, cl2.body.status, cl2.body.sampled], [200, 'closed', 1], 'closed again: 200, the same');
  await refused('a closed campaign', () => sample('TB-' + OTHER, outsider[1].idn), 409, 'campaign_closed');
  // its tubes still take results
  const rb = await result({ tube: 'TB-' + OTHER, result: 'negative', reported_at: sb.body.sampled_at });
  eq([rb.status, rb.body.members], [201, 1], 'a result for a tube of a closed campaign: ' + rb.text);
  eq((await get(`/api/v1/campaigns/${CB.id}`, command)).body.resulted, 1, 'and it counts');
});

test('sampling at the same moment: a tube of 10 takes exactly 10 of 15, a person lands in one tube only, retries stay one row', async () => {
  assert(P.length >= 150, 'persons enough for the last 17');
  const crowd = P.slice(-15), Q1 = P[P.length - 16], Q2 = P[P.length - 17];
  const TC1 = 'TC1-' + AREA, TC2 = 'TC2-' + AREA, TC3 = 'TC3-' + AREA;
  for (const t of [TC1, TC2, TC3]) eq((await post('/api/v1/tubes', { tube: t, site: SITE, campaign: C.id, pool_size: 10 }, tester)).status, 201, t);
  const rs = await Promise.all(crowd.map(p => sample(TC1, p.idn)));
  const ok = rs.filter(r => r.status === 201), no = rs.filter(r => r.status !== 201);
  eq([ok.length, no.length], [10, 5], 'ten taken: ' + rs.map(r => r.status).join(','));
  eq(ok.map(r => r.body.n).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'each its own place in the tube');
  eq([...new Set(no.map(r => `${r.status} ${r.body.error?.code}`))], ['409 tube_full'], 'the others: tube_full');
  eq(q(`SELECT n || ',' || (closed_at IS NOT NULL) || ',' || (SELECT count(*) FROM samples WHERE tube_id = tubes.id) FROM tubes WHERE code = '${TC1}'`), '10,1,10', 'the tube: 10 rows, closed');
  const two = await Promise.all([sample(TC2, Q1.idn), sample(TC3, Q1.idn)]);
  eq(two.map(r => `${r.status} ${r.body.error?.code ?? ''}`).sort(), ['201 ', '409 already_sampled'], 'one person, two tubes at once');
  eq(num(`SELECT count(*) FROM samples WHERE person_id = ${Q1.id}`), 1, 'one row');
  const six = await Promise.all(Array.from({ length: 6 }, () => sample(TC3, Q2.idn)));
  eq(six.map(r => `${r.status} ${r.body.retry}`).sort(), ['200 true', '200 true', '200 true', '200 true', '200 true', '201 false'], 'six retries at once');
  eq(num(`SELECT count(*) FROM samples WHERE person_id = ${Q2.id}`), 1, 'one row');
  eq(q(`SELECT group_concat(n || '=' || (SELECT count(*) FROM samples WHERE tube_id = tubes.id)) FROM tubes WHERE code IN ('${TC2}', '${TC3}')`)
    .split(',').every(x => { const [a, b] = x.split('='); return a === b; }), true, 'tubes.n = their rows');
});

test('who may do what: a lab reads tubes but does not sample; campaigns outside the scope are not seen', async () => {
  await refused('a lab samples', () => sample(T2, P[45].idn, {}, lab), 403, 'forbidden');
  const t = await get(`/api/v1/tubes/${T1}`, lab);
  eq([t.status, t.body.n], [200, 10], 'a lab reads a tube: ' + t.text);
  assert(!JSON.stringify(t.body).includes(T1M[0].idn), 'no persons in the tube JSON');
  const l = await pages('/api/v1/campaigns', commandOther);
  eq(l.items.map(c => c.id), [CB.id], 'the other county sees its campaign only');
  eq((await get(`/api/v1/campaigns/${C.id}`, commandOther)).status, 404, 'a campaign outside the scope: 404');
  const all = await pages('/api/v1/campaigns?status=open', command);
  eq(all.items.map(c => c.id), [C.id], 'open campaigns');
});

// ======================================================= 3. results
const TN = 'TN-' + AREA, TI = 'TI-' + AREA, TS = 'TS-' + AREA, TE = 'TE-' + AREA, RT = 'RT-' + AREA, RS = 'RS-' + AREA;
const TNM = P.slice(26, 36), TIM = P.slice(36, 41);
let X = null; // the person of the positive single tube
let T1_REPORTED = 0;

async function fill(tube, members, pool, purpose = 'round') {
  const t = await post('/api/v1/tubes', { tube, site: SITE, campaign: C.id, pool_size: pool, purpose }, tester);
  if (t.status !== 201) throw new Error(`bind ${tube}: ${t.status} ${t.text}`);
  let last = 0;
  for (const p of members) {
    const r = await sample(tube, p.idn);
    if (r.status !== 201) throw new Error(`sample ${p.idn} into ${tube}: ${r.status} ${r.text}`);
    last = Math.max(last, unix(r.body.sampled_at));
  }
  return last;
}
const code = async p => { const r = await get(`/api/v1/persons/${p.id}/code`, tester); if (r.status !== 200) throw new Error(`code: ${r.status} ${r.text}`); return r.body.colour; };

test('results: a negative pooled tube gives every member a negative result', async () => {
  const last = await fill(TN, TNM, 10);
  const r = await result({ tube: TN, result: 'negative', reported_at: iso(last), lab: '金域' });
  eq(r.status, 201, 'negative: ' + r.text);
  eq([r.body.tube, r.body.result, r.body.members, r.body.effects.results, r.body.effects.retest_tasks, r.body.effects.resample_tasks, r.body.effects.candidates],
    [TN, 'negative', 10, 10, 0, 0, 0], 'effects');
  const pr = rows(`SELECT person_id, result, resulted_at, lab FROM person_results WHERE tube = '${TN}' ORDER BY person_id`);
  eq(pr, TNM.map(p => [String(p.id), 'negative', String(last), '金域']).sort((a, b) => a[0] - b[0]), 'person_results: each member negative');
  // the same result twice: unchanged; a different one: conflict
  const before = snapshot();
  const again = await result({ tube: TN, result: 'negative', reported_at: iso(last) });
  eq([again.status, again.body.unchanged], [200, true], 'the same result again: ' + again.text);
  eq(snapshot(), before, 'unchanged');
  await refused('a conflicting result', () => result({ tube: TN, result: 'positive', reported_at: iso(last) }), 409, 'result_conflict');
  await refused('an unknown tube', () => result({ tube: 'NO-SUCH-TUBE', result: 'negative' }), 404, 'unknown_tube');
  eq((await post('/api/v1/tubes', { tube: TE, site: SITE, campaign: C.id, pool_size: 10 }, tester)).status, 201, 'an empty tube');
  await refused('an empty tube', () => result({ tube: TE, result: 'negative' }), 409, 'tube_empty');
  await refused('a result before the sampling', () => result({ tube: T3, result: 'negative', reported_at: '2020-01-01T00:00:00+08:00' }), 400, 'bad_request');
  await refused('a result word', () => result({ tube: T3, result: 'maybe' }), 400, 'bad_request');
  await refused('a lab name over 64 bytes', () => result({ tube: T3, result: 'negative', lab: 'x'.repeat(65) }), 400, 'bad_request');
});

test('results: a positive tube of 10 puts every member under watch with a retest task; a negative retest clears one', async () => {
  const [M0, M1] = T1M;
  eq([await code(M0), await code(M1)], ['green', 'green'], 'green before the result');
  const last = Math.max(...T1M.map(p => num(`SELECT sampled_at FROM samples WHERE person_id = ${p.id} AND campaign_id = ${C.id}`)));
  T1_REPORTED = last;
  const r = await result({ tube: T1, result: 'positive', reported_at: iso(last) });
  eq(r.status, 201, 'positive: ' + r.text);
  eq([r.body.members, r.body.effects.retest_tasks, r.body.effects.candidates], [10, 10, 0], 'effects');
  const pr = rows(`SELECT person_id, result FROM person_results WHERE tube = '${T1}' ORDER BY person_id`);
  eq(pr, T1M.map(p => [String(p.id), 'pool_positive']).sort((a, b) => a[0] - b[0]), 'every member pool_positive');
  const due = last + RETEST_H * 3600;
  const tk = rows(`SELECT person_id, region_code, due_at, status, source FROM tasks WHERE kind = 'retest' ORDER BY person_id`);
  eq(tk, T1M.map(p => [String(p.id), p.grid, String(due), 'open', 'tube:' + T1]).sort((a, b) => a[0] - b[0]), 'a retest task per member, due reported_at + retest_hours, at their grid');
  // the same through the task list
  const { items } = await pages(`/api/v1/tasks?region=${AREA}&kind=retest&limit=4`, tester);
  eq(items.map(i => [i.person.id, i.kind, i.region.code, i.due_at, i.status, i.overdue]).sort((a, b) => a[0] - b[0]),
    T1M.map(p => [p.id, 'retest', p.grid, iso(due), 'open', false]).sort((a, b) => a[0] - b[0]), 'GET /tasks');
  for (const i of items) assert(!T1M.some(p => p.idn === i.person.id_number), 'ID numbers masked in the task list');
  eq([await code(M0), await code(M1)], ['yellow', 'yellow'], 'yellow at once');

  // M0's single-tube retest, negative
  const gridsBefore = q(`SELECT total(sampled) || ',' || total(resulted) || ',' || total(positive) FROM campaign_grids WHERE campaign_id = ${C.id}`);
  // a retest is a later swab: the health code counts a single negative
  // sampled after the pooled one (seconds resolution), so on a fast run
  // wait for the clock to pass M0's pooled sampling
  const m0Sampled = num(`SELECT sampled_at FROM samples WHERE person_id = ${M0.id} AND campaign_id = ${C.id} AND round = 1`);
  while (Math.floor(Date.now() / 1000) <= m0Sampled) await new Promise(res => setTimeout(res, 100));
  const rl = await fill(RT, [M0], 1, 'retest');
  eq(q(`SELECT total(sampled) || ',' || total(resulted) || ',' || total(positive) FROM campaign_grids WHERE campaign_id = ${C.id}`), gridsBefore, 'a retest sample is not a round sample');
  const n = await result({ tube: RT, result: 'negative', reported_at: iso(rl) });
  eq([n.status, n.body.effects?.tasks_done, n.body.effects?.candidates], [201, 1, 0], 'retest negative: ' + n.text);
  eq(q(`SELECT status || ',' || done_by FROM tasks WHERE kind = 'retest' AND person_id = ${M0.id}`), 'done,tube:' + RT, "M0's task done");
  eq(num(`SELECT count(*) FROM tasks WHERE kind = 'retest' AND status = 'open'`), 9, 'the nine others still open');
  eq(q(`SELECT total(sampled) || ',' || total(resulted) || ',' || total(positive) FROM campaign_grids WHERE campaign_id = ${C.id}`), gridsBefore, 'a retest result is not counted again');
  eq([await code(M0), await code(M1)], ['green', 'yellow'], 'the retested member green, the other still yellow');
});

test('results: a positive single tube is a case candidate; confirming it makes the case', async () => {
  // someone whose household holds nobody whose code this test reads
  const watched = new Set(T1M.map(p => p.hh).filter(Boolean));
  X = P.slice(41).find(p => !watched.has(p.hh) && p.hh);
  const last = await fill(TS, [X], 1);
  const r = await result({ tube: TS, result: 'positive', reported_at: iso(last) });
  eq([r.status, r.body.members, r.body.effects?.candidates, r.body.effects?.retest_tasks], [201, 1, 1, 0], 'positive single: ' + r.text);
  eq(q(`SELECT result FROM person_results WHERE tube = '${TS}'`), 'positive', 'person_results: positive');
  const { items } = await pages('/api/v1/candidates?status=pending', command);
  const mine = items.filter(c => JSON.stringify(c).includes(String(X.id)));
  eq(items.length, 1, 'one pending candidate: ' + JSON.stringify(items));
  const cand = items[0];
  eq(q(`SELECT person_id || ',' || status FROM case_candidates WHERE id = ${cand.id}`), `${X.id},pending`, 'the candidate row');
  void mine;
  const c = await post(`/api/v1/candidates/${cand.id}/confirm`, { class: 'asymptomatic' }, command);
  eq(c.status, 201, 'confirmed: ' + c.text);
  const cs = await get(`/api/v1/cases/${c.body.case.id}`, command);
  eq(cs.status, 200, 'GET the case: ' + cs.text);
  eq([cs.body.person.id, cs.body.classification, cs.body.first_positive_at], [X.id, 'asymptomatic', iso(last)], 'the case, first positive = the sampling');
  const again = await post(`/api/v1/candidates/${cand.id}/confirm`, { class: 'asymptomatic' }, command);
  eq([again.status, again.body?.error?.code], [409, 'conflict'], 'confirmed twice: ' + again.text);
  eq(num(`SELECT count(*) FROM cases WHERE person_id = ${X.id}`), 1, 'one case');
  eq((await pages('/api/v1/candidates?status=pending', command)).items.length, 0, 'no pending candidate left');
});

test('results: an invalid tube gives resample tasks; a negative resample counts as resulted', async () => {
  const last = await fill(TI, TIM, 5);
  const r = await result({ tube: TI, result: 'invalid', reported_at: iso(last) });
  eq([r.status, r.body.members, r.body.effects?.resample_tasks, r.body.effects?.retest_tasks], [201, 5, 5, 0], 'invalid: ' + r.text);
  const due = last + RESAMPLE_H * 3600;
  eq(rows(`SELECT person_id, region_code, due_at, status FROM tasks WHERE kind = 'resample' ORDER BY person_id`),
    TIM.map(p => [String(p.id), p.grid, String(due), 'open']).sort((a, b) => a[0] - b[0]), 'resample tasks due reported_at + resample_hours');
  const resBefore = num(`SELECT total(resulted) FROM campaign_grids WHERE campaign_id = ${C.id}`);
  const rl = await fill(RS, TIM.slice(0, 2), 5, 'resample');
  const n = await result({ tube: RS, result: 'negative', reported_at: iso(rl) });
  eq([n.status, n.body.effects?.tasks_done], [201, 2, ], 'resample negative: ' + n.text);
  eq(num(`SELECT count(*) FROM tasks WHERE kind = 'resample' AND status = 'done'`), 2, 'two resample tasks done');
  eq(num(`SELECT total(resulted) FROM campaign_grids WHERE campaign_id = ${C.id}`), resBefore + 2, 'resulted + 2');
});

test('results: a batch, each tube on its own', async () => {
  const TB1 = 'TBA-' + AREA;
  const last = await fill(TB1, P.slice(50, 53), 5);
  const r = await result({ results: [
    { tube: TB1, result: 'negative', reported_at: new Date(last * 1000).toISOString().replace('.000Z', 'Z') },
    { tube: 'NO-SUCH-TUBE-2', result: 'negative' },
    { tube: TN, result: 'positive', reported_at: iso(last) },
    { tube: TN, result: 'negative', reported_at: iso(num(`SELECT resulted_at FROM tubes WHERE code = '${TN}'`)) },
  ] });
  eq(r.status, 200, 'batch: ' + r.text);
  eq(r.body.items.map(i => [i.tube, i.status, i.error?.code ?? null]),
    [[TB1, 201, null], ['NO-SUCH-TUBE-2', 404, 'unknown_tube'], [TN, 409, 'result_conflict'], [TN, 200, null]], 'items');
  eq([r.body.accepted, r.body.refused], [2, 2], 'accepted and refused');
  eq(q(`SELECT result || ',' || resulted_at FROM tubes WHERE code = '${TB1}'`), `negative,${last}`, 'TB1 recorded, its time given in UTC');
});

test('results: a positive single-tube retest of a pool member is a case candidate and ends the retest task', async () => {
  const M1 = T1M[1], RT2 = 'RT2-' + AREA;
  const rl = await fill(RT2, [M1], 1, 'retest');
  const r = await result({ tube: RT2, result: 'positive', reported_at: iso(rl) });
  eq([r.status, r.body.effects?.candidates, r.body.effects?.tasks_done], [201, 1, 1], 'positive retest: ' + r.text);
  eq(q(`SELECT status FROM tasks WHERE kind = 'retest' AND person_id = ${M1.id}`), 'done', "M1's retest task done");
  eq(q(`SELECT person_id || ',' || status FROM case_candidates WHERE tube_id = (SELECT id FROM tubes WHERE code = '${RT2}')`), `${M1.id},pending`, 'a pending candidate');
  const d = await pages('/api/v1/candidates?status=pending', command);
  eq(d.items.length, 1, 'one pending');
  const x = await post(`/api/v1/candidates/${d.items[0].id}/dismiss`, { reason: '复核' }, command);
  eq(x.status, 200, 'dismissed: ' + x.text);
  eq(q(`SELECT status FROM case_candidates WHERE id = ${d.items[0].id}`), 'dismissed', 'dismissed');
  eq(num(`SELECT count(*) FROM cases WHERE person_id = ${M1.id}`), 0, 'no case');
});

// ======================================================= 4. coverage
// a mixed day: more tubes, some resulted, some not
test('a mixed day of samples and results', async () => {
  let k = 0;
  const rest = P.slice(60).filter(p => !exemptIds.has(p.id));
  for (let i = 0; i + 10 <= Math.min(rest.length, 60); i += 10, k++) {
    const tube = `TM${k}-${AREA}`;
    const last = await fill(tube, rest.slice(i, i + 10), 10);
    if (k % 3 === 0) eq((await result({ tube, result: 'negative', reported_at: iso(last) })).status, 201, tube + ' negative');
    if (k === 1) eq((await result({ tube, result: 'positive', reported_at: iso(last) })).status, 201, tube + ' positive');
  }
  assert(k >= 4, 'some tubes');
});

function refCoverage() {
  const pop = expectedByGrid();
  const g = new Map(GRIDS.map(x => [x, { expected: pop.get(x).expected, exempt: pop.get(x).exempt, sampled: 0, resulted: 0, positive: 0, missing: 0 }]));
  // round samples of the campaign, by the person's grid
  const rs = rows(`SELECT s.person_id, p.grid_code, t.result,
      EXISTS(SELECT 1 FROM samples s2 JOIN tubes t2 ON t2.id = s2.tube_id
             WHERE s2.person_id = s.person_id AND s2.id > s.id AND t2.purpose IN ('retest', 'resample')
               AND t2.result IN ('negative', 'positive'))
    FROM samples s JOIN tubes t ON t.id = s.tube_id JOIN persons p ON p.id = s.person_id
    WHERE t.campaign_id = ${C.id} AND t.purpose = 'round'`);
  const sampled = new Set();
  for (const [pid, grid, res, again] of rs) {
    const e = g.get(grid);
    sampled.add(+pid);
    e.sampled++;
    if (res === 'negative' || res === 'positive' || (res === 'invalid' && again === '1')) e.resulted++;
    if (res === 'positive') e.positive++;
  }
  for (const [id, grid] of rows(`SELECT id, grid_code FROM persons WHERE grid_code LIKE '${AREA}%' AND id <= ${POP_MAX}`))
    if (!exemptIds.has(+id) && !sampled.has(+id)) g.get(grid).missing++;
  return { g, sampled };
}

test('coverage: every node down to grids equals SQL over base tables; parents are the sums of their children', async () => {
  const { g } = refCoverage();
  const F = ['expected', 'exempt', 'sampled', 'resulted', 'positive', 'missing'];
  const ref = new Map();
  const codes = rows(`SELECT code, level FROM regions WHERE code LIKE '${AREA}%' ORDER BY code`);
  for (const [c] of codes) ref.set(c, Object.fromEntries(F.map(f => [f, 0])));
  for (const [grid, e] of g) for (const [c] of codes) if (grid.startsWith(c)) for (const f of F) ref.get(c)[f] += e[f];
  const r = await get(`/api/v1/campaigns/${C.id}/coverage?depth=all`, command);
  eq(r.status, 200, 'coverage: ' + r.text.slice(0, 300));
  const seen = new Set();
  const walk = (n, parent) => {
    seen.add(n.code);
    const want = ref.get(n.code);
    assert(want, 'a node of the area: ' + n.code);
    eq(F.map(f => n[f]), F.map(f => want[f]), `node ${n.code} (${n.name}, level ${n.level})`);
    const kids = n.children || [];
    if (kids.length) for (const f of F) eq(kids.reduce((s, k) => s + k[f], 0), n[f], `${n.code}: ${f} = the sum of the children`);
    for (const k of kids) walk(k, n);
    void parent;
  };
  walk(r.body.tree, null);
  eq(r.body.tree.code, AREA, 'the root is the area');
  eq([...seen].sort(), codes.map(c => c[0]), 'every region of the area down to the grids is a node');
  const tot = ref.get(AREA);
  eq(F.map(f => r.body.campaign[f]), F.map(f => tot[f]), 'the campaign JSON totals');
  const cj = (await get(`/api/v1/campaigns/${C.id}`, command)).body;
  eq(F.map(f => cj[f]), F.map(f => tot[f]), 'GET campaign totals');
  assert(tot.sampled > 50 && tot.resulted > 20 && tot.positive >= 20 && tot.missing > 0, 'a mixed day: ' + JSON.stringify(tot));
  // depth 1 from a town: its children only, same figures
  const t = await get(`/api/v1/campaigns/${C.id}/coverage?region=${TOWN}`, command);
  eq(t.status, 200, 'coverage of a town');
  eq(F.map(f => t.body.tree[f]), F.map(f => ref.get(TOWN)[f]), 'the town');
  for (const k of t.body.tree.children) { eq(F.map(f => k[f]), F.map(f => ref.get(k.code)[f]), 'child ' + k.code); eq(k.children ?? [], [], 'depth 1'); }
});

test('the missing list of a grid equals the SQL set; a grid worker sees only their grid', async () => {
  const { g, sampled } = refCoverage();
  // the grid with the most missing persons, and some sampled
  const G = [...g.entries()].filter(([, e]) => e.sampled > 0).sort((a, b) => b[1].missing - a[1].missing || (a[0] < b[0] ? -1 : 1))[0][0];
  const want = rows(`SELECT id FROM persons WHERE grid_code = '${G}' AND id <= ${POP_MAX}`).map(r => +r[0])
    .filter(id => !exemptIds.has(id) && !sampled.has(id)).sort((a, b) => a - b);
  assert(want.length > 0, 'someone missing in ' + G);
  const { items, first } = await pages(`/api/v1/campaigns/${C.id}/missing?grid=${G}&limit=1`, command);
  eq(items.map(i => i.person.id).sort((a, b) => a - b), want, 'the missing persons of ' + G);
  eq(first.total, want.length, 'total');
  const real = new Map(rows(`SELECT id, id_number, phone FROM persons WHERE grid_code = '${G}'`).map(([id, idn, ph]) => [+id, { idn, ph }]));
  for (const i of items) {
    assert(i.person.id_number !== real.get(i.person.id).idn && i.person.phone !== real.get(i.person.id).ph, 'masked: ' + JSON.stringify(i.person));
  }
  // a grid worker of G
  const other = GRIDS.find(x => x !== G && g.get(x).missing > 0);
  const gw = await createUser(S, admin, { username: 'grid.worker', role: 'grid', scope: G });
  const mine = await pages(`/api/v1/campaigns/${C.id}/missing?grid=${G}`, gw);
  eq(mine.items.map(i => i.person.id).sort((a, b) => a - b), want, "the grid worker's own list");
  const o = await get(`/api/v1/campaigns/${C.id}/missing?grid=${other}`, gw);
  eq(o.status, 404, 'another grid: 404 ' + o.text);
  const oc = await get(`/api/v1/campaigns/${C.id}/coverage?region=${other}`, gw);
  eq(oc.status, 404, 'the coverage of another grid: 404 ' + oc.text);
  const own = await get(`/api/v1/campaigns/${C.id}/coverage`, gw);
  eq([own.status, own.body.tree?.code, own.body.tree?.missing], [200, G, want.length], 'a grid worker: coverage of their grid by default');
});

await run();
