// Coverage, the missing list and its .xlsx (GET /api/v1/campaigns/{id}/
// coverage, /sites, /missing, /missing.xlsx) against a real server.
//
// The campaign is launched, sites added, persons sampled and tubes
// resulted through the API where those routes exist (POST /api/v1/
// campaigns, /sites, /samples, /results); a route not there yet is stood in
// for by the rows the launch or the lab would write (sqlite3 shell).  Every
// expected figure is recomputed here by SQL over the base tables — persons,
// campaign_exempt, samples, tubes, tasks, case_candidates — never from
// campaign_grids, the counters the server sums: per grid and per ancestor
// expected, exempt, sampled, resulted, positive, missing; the missing list
// and each sheet of the .xlsx (read back with xlsx2csv, an independent
// reader) against the SQL set.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, run, startServer, api, sql, eq, assert, createUser } from '../lib/harness.mjs';

const NOW_ISO = '2022-01-12T10:00:00+08:00';
const NOW = Date.parse(NOW_ISO) / 1000;
const S = await startServer({ persons: 12000, seed: 23, env: { FANGKONG_NOW: NOW_ISO } });
const login = async (username, password) => (await api(S.url, 'POST', '/api/v1/sessions', { body: { username, password } })).body.token;
const admin = await login('admin', S.adminPassword);
const q = s => sql(S.db, s);
// writes while the server runs: wait for its writer rather than fail
const w = s => sql(S.db, `PRAGMA busy_timeout = 10000; ${s}`);
const rows = s => { const t = q(s); return t ? t.split('\n').map(l => l.split('|')) : []; };

// ---- the area: the county with the most people; another county outside it
const [county, other] = q(`SELECT substr(grid_code, 1, 6) c FROM persons GROUP BY c ORDER BY count(*) DESC, c LIMIT 2`).split('\n');
const command = await createUser(S, admin, { username: 'cmd.city', role: 'command', scope: '6109', password: 'command-pass-9' });
const tester = await createUser(S, admin, { username: 'tester.county', role: 'tester', scope: county, password: 'tester-pass-9' });
const lab = await createUser(S, admin, { username: 'lab.city', role: 'lab', scope: '6109', password: 'lab-pass-123' });
const commandOther = await createUser(S, admin, { username: 'cmd.other', role: 'command', scope: other, password: 'command-pass-9' });
const get = (path, token = command) => api(S.url, 'GET', path, { token });

// ---- launch: through the API when it is there, else the rows it writes
const stoodIn = new Set();
async function launch(name, region) {
  const r = await api(S.url, 'POST', '/api/v1/campaigns', { token: command, body: { name, kind: 'whole', region, starts_at: '2022-01-12T08:00:00+08:00', pool_size: 10 } });
  if (r.status === 201) return r.body.id;
  assert(r.status === 404 || r.status === 405, `campaign launch: ${r.status} ${r.text}`);
  stoodIn.add('campaigns');
  const id = Number(q('SELECT coalesce(max(id), 0) + 1 FROM campaigns'));
  const starts = Date.parse('2022-01-12T08:00:00+08:00') / 1000;
  w(`BEGIN;
INSERT INTO campaigns(id, name, kind, region_code, starts_at, deadline, pool_size, population_max_id, exempt_under_age, created_at, created_by)
 VALUES (${id}, '${name}', 'whole', '${region}', ${starts}, ${starts + 7 * 86400}, 10, (SELECT max(id) FROM persons), 3, ${NOW}, 'cmd.city');
INSERT INTO campaign_exempt(campaign_id, person_id, reason)
 SELECT ${id}, id, 'age' FROM persons WHERE grid_code >= '${region}' AND grid_code < '${region}:' AND birth_date > '2019-01-12';
INSERT INTO campaign_grids(campaign_id, grid_code, expected, exempt)
 SELECT ${id}, r.code,
  (SELECT count(*) FROM persons p WHERE p.grid_code = r.code AND NOT EXISTS (SELECT 1 FROM campaign_exempt e WHERE e.campaign_id = ${id} AND e.person_id = p.id)),
  (SELECT count(*) FROM persons p JOIN campaign_exempt e ON e.person_id = p.id AND e.campaign_id = ${id} WHERE p.grid_code = r.code)
 FROM regions r WHERE r.level = 6 AND r.code >= '${region}' AND r.code < '${region}:';
COMMIT;`);
  return id;
}
async function site(code, region) {
  const r = await api(S.url, 'POST', '/api/v1/sites', { token: command, body: { code, name: `${code} 采样点`, region, capacity_per_hour: 400, opens: '07:00', closes: '22:00' } });
  if (r.status === 201) return;
  assert(r.status === 404 || r.status === 405, `site: ${r.status} ${r.text}`);
  stoodIn.add('sites');
  w(`INSERT INTO sites(code, name, region_code, capacity_per_hour, created_at, created_by) VALUES ('${code}', '${code} 采样点', '${region}', 400, ${NOW}, 'cmd.city')`);
}

const C = await launch('第一轮全员核酸检测', county);
const CITY = await launch('全市全员核酸检测', '6109');
await site('SA', county);
await site('SB', county);

// ---- whom to sample: all of two towns' first grids, and every third
// person of the county's first three towns; an exempt child; a person
// registered after the launch (in the population, not expected)
const towns = q(`SELECT DISTINCT substr(grid_code, 1, 9) FROM persons WHERE grid_code LIKE '${county}%' ORDER BY 1 LIMIT 3`).split('\n');
const fullGrid = q(`SELECT grid_code FROM persons WHERE grid_code LIKE '${towns[0]}%' GROUP BY grid_code HAVING count(*) BETWEEN 3 AND 40 ORDER BY grid_code LIMIT 1`);
const picked = rows(`SELECT id, id_number, grid_code FROM persons p WHERE grid_code >= '${towns[0]}' AND grid_code < '${towns[2]}:'
  AND (grid_code = '${fullGrid}' OR id % 3 = 0) AND NOT EXISTS (SELECT 1 FROM campaign_exempt e WHERE e.campaign_id = ${C} AND e.person_id = p.id) ORDER BY id`);
const child = rows(`SELECT p.id, p.id_number, p.grid_code FROM persons p JOIN campaign_exempt e ON e.person_id = p.id AND e.campaign_id = ${C} ORDER BY p.id LIMIT 1`)[0];
assert(child, 'no exempt child in the area');
function idNumber(first17) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const s = [...first17].reduce((a, c, i) => a + Number(c) * w[i], 0);
  return first17 + '10X98765432'[s % 11];
}
const lateIdn = idNumber(county + '19900101' + '991');
w(`INSERT INTO persons(id_number, name, phone, grid_code, household_id, occupation, sex, birth_date) VALUES ('${lateIdn}', '晚登记', '13900000001', '${picked[0][2]}', NULL, 'worker', 1, '1990-01-01')`);
const late = [q(`SELECT id FROM persons WHERE id_number = '${lateIdn}'`), lateIdn, picked[0][2]];
const toSample = [...picked, child, late];
// a grid of the area left wholly unsampled, with people: the grid worker's
const gridW = q(`SELECT grid_code FROM persons WHERE grid_code LIKE '${county}%' AND grid_code NOT LIKE '${towns[0]}%'
  AND grid_code NOT LIKE '${towns[1]}%' AND grid_code NOT LIKE '${towns[2]}%' GROUP BY grid_code HAVING count(*) >= 12 ORDER BY grid_code LIMIT 1`);
const gridWorker = await createUser(S, admin, { username: 'grid.w', role: 'grid', scope: gridW, password: 'grid-pass-99' });

// ---- sample: tubes of 10 through the API (or the rows it writes)
const tubes = [];
for (let i = 0; i < toSample.length; i += 10) tubes.push(toSample.slice(i, i + 10));
let viaApi = true;
async function sampleTube(members, k) {
  const tube = `CV${String(k).padStart(5, '0')}`;
  for (const [pid, idn, grid] of members) {
    if (viaApi) {
      const r = await api(S.url, 'POST', '/api/v1/samples', { token: tester, body: { tube, id_number: idn, campaign: C, site: k % 2 ? 'SB' : 'SA', pool_size: 10 } });
      if (r.status === 404 && r.body?.error?.code === 'not_found') viaApi = false;
      else { assert(r.status === 201, `sample ${idn}: ${r.status} ${r.text}`); continue; }
    }
    // stand-in for POST /api/v1/samples: the rows a round sample writes
    stoodIn.add('samples');
    const sid = q(`SELECT id FROM sites WHERE code = '${k % 2 ? 'SB' : 'SA'}'`);
    const expected = Number(pid) <= Number(q(`SELECT population_max_id FROM campaigns WHERE id = ${C}`)) && !q(`SELECT 1 FROM campaign_exempt WHERE campaign_id = ${C} AND person_id = ${pid}`) ? 1 : 0;
    w(`BEGIN;
INSERT OR IGNORE INTO tubes(code, campaign_id, site_id, purpose, pool_size, opened_at, opened_by) VALUES ('${tube}', ${C}, ${sid}, 'round', 10, ${NOW}, 'tester.county');
INSERT INTO samples(tube_id, person_id, campaign_id, round, expected, grid_code, site_id, sampled_at, sampled_by)
 VALUES ((SELECT id FROM tubes WHERE code = '${tube}'), ${pid}, ${C}, 1, ${expected}, '${grid}', ${sid}, ${NOW}, 'tester.county');
UPDATE tubes SET n = n + 1, closed_at = CASE WHEN n + 1 = pool_size THEN ${NOW} END WHERE code = '${tube}';
UPDATE campaign_grids SET sampled = sampled + 1, sampled_expected = sampled_expected + ${expected} WHERE campaign_id = ${C} AND grid_code = '${grid}';
INSERT INTO site_hours(campaign_id, site_id, hour, samples) VALUES (${C}, ${sid}, ${Math.floor(NOW / 3600)}, 1)
 ON CONFLICT DO UPDATE SET samples = samples + 1;
COMMIT;`);
  }
  return tube;
}
const tubeCodes = await Promise.all(tubes.map((m, k) => sampleTube(m, k)));

// ---- results: most tubes negative, one positive pool, one invalid, the
// last ones still at the lab
async function result(tube, res) {
  const r = await api(S.url, 'POST', '/api/v1/results', { token: lab, body: { tube, result: res } });
  if (r.status === 201) return;
  assert(r.status === 404 && r.body?.error?.code === 'not_found', `result ${tube}: ${r.status} ${r.text}`);
  // stand-in for POST /api/v1/results: the tube's result and its counters
  stoodIn.add('results');
  w(`BEGIN;
UPDATE tubes SET result = '${res}', resulted_at = ${NOW}, closed_at = coalesce(closed_at, ${NOW}) WHERE code = '${tube}';
UPDATE campaign_grids SET resulted = resulted + (SELECT count(*) FROM samples s JOIN tubes t ON t.id = s.tube_id WHERE t.code = '${tube}' AND s.grid_code = campaign_grids.grid_code AND '${res}' <> 'invalid'),
  positive = positive + (SELECT count(*) FROM samples s JOIN tubes t ON t.id = s.tube_id WHERE t.code = '${tube}' AND s.grid_code = campaign_grids.grid_code AND '${res}' = 'positive')
 WHERE campaign_id = ${C};
COMMIT;`);
}
const nt = tubeCodes.length;
assert(nt >= 8, `only ${nt} tubes`);
for (let k = 0; k < nt - 3; k++) await result(tubeCodes[k], 'negative');
await result(tubeCodes[nt - 3], 'positive');
await result(tubeCodes[nt - 2], 'invalid');

// a partly sampled grid for the list and the sheets
const gridP = q(`SELECT s.grid_code FROM samples s WHERE s.campaign_id = ${C} AND s.round = 1 AND s.grid_code <> '${fullGrid}'
  GROUP BY s.grid_code HAVING count(*) < (SELECT count(*) FROM persons p WHERE p.grid_code = s.grid_code) - 1 ORDER BY count(*) DESC LIMIT 1`);
assert(gridP, 'no partly sampled grid');

// ---- the reference, by SQL over the base tables
// population of campaign c: persons of its area counted at launch
const POP = c => `SELECT p.id, p.grid_code FROM persons p, campaigns k WHERE k.id = ${c}
  AND p.grid_code >= k.region_code AND p.grid_code < k.region_code || ':' AND p.id <= k.population_max_id`;
const EXEMPT = (c, pid) => `EXISTS (SELECT 1 FROM campaign_exempt e WHERE e.campaign_id = ${c} AND e.person_id = ${pid})`;
const SAMPLED = (c, pid) => `EXISTS (SELECT 1 FROM samples s WHERE s.campaign_id = ${c} AND s.round = 1 AND s.person_id = ${pid})`;
function reference(c) {
  const ref = new Map();
  const add = (code, k, v) => { if (!ref.has(code)) ref.set(code, { expected: 0, exempt: 0, sampled: 0, resulted: 0, positive: 0, missing: 0 }); ref.get(code)[k] += v; };
  for (const len of [2, 4, 6, 9, 12, 15]) {
    const g = `substr(x.grid_code, 1, ${len})`;
    for (const [code, n] of rows(`SELECT ${g}, count(*) FROM (${POP(c)}) x WHERE NOT ${EXEMPT(c, 'x.id')} GROUP BY 1`)) add(code, 'expected', +n);
    for (const [code, n] of rows(`SELECT ${g}, count(*) FROM (${POP(c)}) x WHERE ${EXEMPT(c, 'x.id')} GROUP BY 1`)) add(code, 'exempt', +n);
    for (const [code, n] of rows(`SELECT ${g}, count(*) FROM (${POP(c)}) x WHERE NOT ${EXEMPT(c, 'x.id')} AND NOT ${SAMPLED(c, 'x.id')} GROUP BY 1`)) add(code, 'missing', +n);
    for (const [code, n, r, p] of rows(`SELECT ${g}, count(*), sum(t.result IN ('negative', 'positive')), sum(t.result = 'positive')
        FROM samples x JOIN tubes t ON t.id = x.tube_id WHERE x.campaign_id = ${c} AND x.round = 1 GROUP BY 1`)) {
      add(code, 'sampled', +n); add(code, 'resulted', +r); add(code, 'positive', +p);
    }
  }
  return ref;
}
const ZERO = { expected: 0, exempt: 0, sampled: 0, resulted: 0, positive: 0, missing: 0 };
const figures = n => ({ expected: n.expected, exempt: n.exempt, sampled: n.sampled, resulted: n.resulted, positive: n.positive, missing: n.missing });
function* nodes(t) { yield t; for (const c of t.children) yield* nodes(c); }

// ---- masking, as the contract states it (first 6 and last 4 of an ID
// number, first 3 and last 4 of a phone, first and last character of a name)
const maskId = s => s.slice(0, 6) + '*'.repeat(s.length - 10) + s.slice(-4).toUpperCase();
const maskPhone = s => s.slice(0, 3) + '*'.repeat(s.length - 7) + s.slice(-4);
const maskName = s => { const c = [...s]; return c.length < 2 ? '*' : c.length === 2 ? c[0] + '*' : c[0] + '*'.repeat(c.length - 2) + c[c.length - 1]; };
// missing persons of [lo, hi) by SQL: id, name, id_number, phone, household, occupation, grid
const missingRef = (c, region) => rows(`SELECT p.id, p.name, p.id_number, p.phone, coalesce(h.label, ''), p.occupation, p.grid_code
  FROM (${POP(c)}) x JOIN persons p ON p.id = x.id LEFT JOIN households h ON h.id = p.household_id
  WHERE x.grid_code >= '${region}' AND x.grid_code < '${region}:' AND NOT ${EXEMPT(c, 'x.id')} AND NOT ${SAMPLED(c, 'x.id')}
  ORDER BY p.grid_code, p.id`);

test('the data used the real routes where they exist (and covered every case)', async () => {
  const f = reference(C).get(county);
  assert(f.sampled === toSample.length, `sampled ${f.sampled} of ${toSample.length}`);
  assert(f.exempt > 0 && f.positive === tubes[nt - 3].length && f.resulted > 0 && f.missing > 0, JSON.stringify(f));
  console.log(`# ${toSample.length} sampled in ${nt} tubes; routes stood in for by SQL: ${[...stoodIn].join(', ') || 'none'}`);
});

test('coverage to grids: every node equals SQL over the base tables, every parent the sum of its children', async () => {
  const r = await get(`/api/v1/campaigns/${C}/coverage?depth=all`);
  eq(r.status, 200, r.text);
  eq(Object.keys(r.body), ['campaign', 'as_of', 'progress', 'pending', 'tree']);
  eq(r.body.as_of, NOW_ISO);
  const ref = reference(C);
  const codes = q(`SELECT code FROM regions WHERE code >= '${county}' AND code < '${county}:' ORDER BY code`).split('\n');
  const seen = [];
  for (const n of nodes(r.body.tree)) {
    seen.push(n.code);
    eq(Object.keys(n), ['code', 'name', 'level', 'expected', 'exempt', 'sampled', 'resulted', 'positive', 'missing', 'children']);
    eq(figures(n), ref.get(n.code) || ZERO, `node ${n.code}`);
    eq([n.name, n.level], rows(`SELECT name, level FROM regions WHERE code = '${n.code}'`)[0].map((v, i) => i ? +v : v), `node ${n.code} name`);
    if (n.children.length) {
      for (const k of Object.keys(ZERO)) eq(n.children.reduce((a, c) => a + c[k], 0), n[k], `${n.code}.${k} = sum of children`);
      for (const c of n.children) eq(c.level, n.level + 1, `child ${c.code} of ${n.code}`);
    } else eq(n.level, 6, `leaf ${n.code} is a grid`);
  }
  eq(seen, codes, 'the tree holds every region of the area, in code order');
  // the campaign's totals are the area's
  const cm = r.body.campaign;
  eq([cm.id, cm.kind, cm.region.code, cm.pool_size, cm.status], [C, 'whole', county, 10, 'open']);
  eq({ expected: cm.expected, exempt: cm.exempt, sampled: cm.sampled, resulted: cm.resulted, positive: cm.positive, missing: cm.missing }, ref.get(county));
  // and the campaign is shown as GET /api/v1/campaigns/{id} shows it
  const one = await get(`/api/v1/campaigns/${C}`);
  if (one.status === 200) eq(cm, one.body, 'campaign JSON as the campaign route answers it');
});

test('coverage depth: default one level, 0 the node alone, a region inside the area as root', async () => {
  const ref = reference(C);
  const d1 = (await get(`/api/v1/campaigns/${C}/coverage`)).body.tree;
  eq(d1.children.map(c => c.code), q(`SELECT code FROM regions WHERE parent_code = '${county}' ORDER BY code`).split('\n'));
  assert(d1.children.every(c => c.children.length === 0), 'depth 1 stops at the towns');
  const d0 = (await get(`/api/v1/campaigns/${C}/coverage?depth=0`)).body.tree;
  eq([d0.code, d0.children], [county, []]);
  eq(figures(d0), ref.get(county));
  const t = await get(`/api/v1/campaigns/${C}/coverage?region=${towns[0]}&depth=2`);
  eq(t.status, 200, t.text);
  eq(t.body.tree.code, towns[0]);
  for (const n of nodes(t.body.tree)) { assert(n.level <= 6, n.code); eq(figures(n), ref.get(n.code) || ZERO, n.code); }
  const grids = [...nodes(t.body.tree)].filter(n => n.level === 6).map(n => n.code);
  eq(grids, q(`SELECT code FROM regions WHERE level = 6 AND code LIKE '${towns[0]}%' ORDER BY code`).split('\n'));
  eq((await get(`/api/v1/campaigns/${C}/coverage?depth=9`)).status, 400);
  eq((await get(`/api/v1/campaigns/${C}/coverage?depth=x`)).status, 400);
});

test('coverage progress and pending work', async () => {
  const r = (await get(`/api/v1/campaigns/${C}/coverage`)).body;
  const ref = reference(C).get(county);
  const sampledExpected = ref.expected - ref.missing;
  eq(r.progress.time_elapsed, +(2 / (7 * 24)).toFixed(4));
  eq(r.progress.sampled, +(sampledExpected / ref.expected).toFixed(4));
  eq(r.progress.resulted, +(ref.resulted / ref.sampled).toFixed(4));
  eq(r.progress.on_track, sampledExpected / ref.expected >= 2 / (7 * 24));
  // every sample was taken in this hour (the server's clock is fixed)
  eq(r.progress.samples_last_hour, toSample.length);
  eq(r.progress.projected_end, new Date((NOW + Math.trunc(ref.missing / toSample.length * 3600) + 8 * 3600) * 1000).toISOString().slice(0, 19) + '+08:00');
  const open = kind => Number(q(`SELECT count(*) FROM tasks t JOIN tubes u ON u.id = t.ref_id WHERE u.campaign_id = ${C} AND t.kind = '${kind}' AND t.status = 'open'`));
  eq(r.pending, {
    retest_tasks: open('retest'), resample_tasks: open('resample'),
    overdue_tasks: Number(q(`SELECT count(*) FROM tasks t JOIN tubes u ON u.id = t.ref_id WHERE u.campaign_id = ${C} AND t.kind IN ('retest', 'resample') AND t.status = 'open' AND t.due_at < ${NOW}`)),
    candidates: Number(q(`SELECT count(*) FROM case_candidates k JOIN tubes u ON u.id = k.tube_id WHERE u.campaign_id = ${C} AND k.status = 'pending'`)),
  });
});

test('scope: a grid worker sees their grid only; other counties, other roles and unknown campaigns are refused', async () => {
  const ref = reference(C);
  const r = await get(`/api/v1/campaigns/${C}/coverage?depth=all`, gridWorker);
  eq(r.status, 200, r.text);
  eq([r.body.tree.code, r.body.tree.children], [gridW, []]);
  eq(figures(r.body.tree), ref.get(gridW));
  for (const p of [`coverage?region=${county}`, `coverage?region=${fullGrid}`, `missing?grid=${fullGrid}`, `sites?region=${county}`,
    `missing.xlsx?region=${county}`, `missing.xlsx?region=${fullGrid}`]) {
    const x = await get(`/api/v1/campaigns/${C}/${p}`, gridWorker);
    eq(x.status, 404, `${p}: ${x.text}`);
    eq(x.body.error.code, 'not_found');
  }
  // a county outside the campaign's area
  for (const p of ['coverage', 'missing', 'sites', 'missing.xlsx']) eq((await get(`/api/v1/campaigns/${C}/${p}`, commandOther)).status, 404, p);
  eq((await get(`/api/v1/campaigns/${C}/coverage?region=${other}`)).status, 404);
  eq((await get(`/api/v1/campaigns/${C}/coverage?region=61`)).status, 404);
  // a code inside the area that names no region
  for (const p of ['coverage', 'missing.xlsx']) eq((await get(`/api/v1/campaigns/${C}/${p}?region=${county}999`)).status, 404, p);
  eq((await get(`/api/v1/campaigns/999/coverage`)).status, 404);
  eq((await get(`/api/v1/campaigns/abc/coverage`)).status, 404);
  // a lab has no PERM_READ_TESTING
  for (const p of ['coverage', 'missing', 'sites', 'missing.xlsx']) eq((await get(`/api/v1/campaigns/${C}/${p}`, lab)).status, 403, p);
  eq((await api(S.url, 'GET', `/api/v1/campaigns/${C}/coverage`)).status, 401);
});

async function fullList(c, grid, token, limit = 7) {
  const items = []; let cursor = null, total = null, pages = 0;
  do {
    const r = await get(`/api/v1/campaigns/${c}/missing?${grid ? `grid=${grid}&` : ''}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, token);
    eq(r.status, 200, r.text);
    eq(Object.keys(r.body), ['total', 'items', 'next_cursor']);
    if (total === null) total = r.body.total; else eq(r.body.total, total);
    items.push(...r.body.items); cursor = r.body.next_cursor; pages++;
    assert(pages < 1000, 'endless paging');
  } while (cursor);
  return { items, total };
}

test('missing list: exactly the SQL set, masked, paged; total equals the grid\'s missing', async () => {
  const ref = reference(C);
  for (const g of [gridP, gridW, fullGrid]) {
    const want = missingRef(C, g);
    const { items, total } = await fullList(C, g, command);
    eq(total, want.length, `${g} total`);
    eq(total, (ref.get(g) || ZERO).missing, `${g} total = coverage missing`);
    eq(items.map(i => [i.person.id, i.person.name, i.person.id_number, i.person.phone, i.household, i.occupation]),
      want.map(([id, name, idn, ph, hh, occ]) => [Number(id), maskName(name), maskId(idn), maskPhone(ph), hh, occ]), `${g} list`);
  }
  eq((await fullList(C, fullGrid, command)).items, []);
  // the grid worker: their own grid by default and by name, the same list
  const own = await fullList(C, null, gridWorker, 50);
  eq(own, await fullList(C, gridW, gridWorker, 50));
  eq(own.total, missingRef(C, gridW).length);
  const audit = q(`SELECT count(*) FROM audit_log WHERE actor = 'grid.w' AND action = 'missing.read' AND object = 'campaign:${C} grid:${gridW}'`);
  assert(Number(audit) >= 2, `missing reads audited: ${audit}`);
  eq((await get(`/api/v1/campaigns/${C}/missing`)).status, 400, 'a city-wide user names the grid');
  eq((await get(`/api/v1/campaigns/${C}/missing?grid=${county}`)).status, 400, 'a county is not a grid');
  eq((await get(`/api/v1/campaigns/${C}/missing?grid=${gridW}&cursor=@@`)).status, 400);
});

test('coverage reads are audited as an aggregate', async () => {
  const before = Number(q(`SELECT count(*) FROM audit_log WHERE action = 'coverage.read'`));
  eq((await get(`/api/v1/campaigns/${C}/coverage?region=${towns[1]}`)).status, 200);
  eq(q(`SELECT actor || ' ' || object FROM audit_log WHERE action = 'coverage.read' ORDER BY seq DESC LIMIT 1`), `cmd.city campaign:${C} region:${towns[1]}`);
  eq(Number(q(`SELECT count(*) FROM audit_log WHERE action = 'coverage.read'`)), before + 1);
});

test('sites: samples per site and per hour from the samples table', async () => {
  const r = await get(`/api/v1/campaigns/${C}/sites`);
  eq(r.status, 200, r.text);
  const want = rows(`SELECT t.code, t.name, t.region_code, t.capacity_per_hour, count(*) FROM samples s JOIN sites t ON t.id = s.site_id
    WHERE s.campaign_id = ${C} GROUP BY t.id ORDER BY t.code`);
  eq(r.body.items.map(i => [i.code, i.name, i.region.code, i.capacity_per_hour, i.samples, i.last_hour]),
    want.map(([c, n, reg, cap, k]) => [c, n, reg, +cap, +k, +k]));
  for (const i of r.body.items) {
    eq(i.hours.length, 24);
    eq(i.hours[23].hour, '2022-01-12T10:00:00+08:00');
    eq(i.hours[0].hour, '2022-01-11T11:00:00+08:00');
    eq(i.hours.reduce((a, h) => a + h.samples, 0), i.samples);
  }
  const g = await get(`/api/v1/campaigns/${C}/sites`, gridWorker);
  eq([g.status, g.body.items], [200, []], 'no site lies in the grid worker\'s grid');
});

// ---- .xlsx: read back with xlsx2csv
function parseCsv(text) {
  const out = []; let row = [], f = '', i = 0, quoted = false;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) { if (ch === '"') { if (text[i + 1] === '"') { f += '"'; i++; } else quoted = false; } else f += ch; }
    else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(f); f = ''; }
    else if (ch === '\n') { row.push(f); out.push(row); row = []; f = ''; }
    else if (ch !== '\r') f += ch;
  }
  if (f || row.length) { row.push(f); out.push(row); }
  return out;
}
// { sheetName: [rows] } of every sheet
function readXlsx(buf) {
  const file = join(S.dir, `m${Math.random().toString(36).slice(2)}.xlsx`);
  writeFileSync(file, buf);
  const text = execFileSync('xlsx2csv', ['-a', file], { encoding: 'utf8' });
  const sheets = {}; let cur = null, acc = '';
  for (const line of text.split('\n')) {
    const m = /^-------- \d+ - (.*)$/.exec(line);
    if (m) { if (cur) sheets[cur] = parseCsv(acc); cur = m[1]; acc = ''; } else acc += line + '\n';
  }
  if (cur) sheets[cur] = parseCsv(acc);
  return sheets;
}
async function xlsx(path, token = command) {
  const r = await fetch(S.url + path, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, type: r.headers.get('content-type'), buf: Buffer.from(await r.arrayBuffer()) };
}
function checkSheets(sheets, want, unmasked, what) {
  const byGrid = new Map();
  for (const p of want) { if (!byGrid.has(p[6])) byGrid.set(p[6], []); byGrid.get(p[6]).push(p); }
  eq(Object.keys(sheets), [...byGrid.keys()], `${what}: one sheet per grid with a missing person`);
  for (const [g, ps] of byGrid) {
    const sh = sheets[g].filter(r => r.some(v => v !== ''));
    assert(sh[0][0].includes(g) && sh[0][0].includes('第一轮全员核酸检测'), `${what}: title of ${g}: ${sh[0][0]}`);
    eq(sh[1], ['序号', '姓名', '证件号码', '电话', '户', '职业'], `${what}: header of ${g}`);
    eq(sh.slice(2), ps.map(([, name, idn, ph, hh, occ], k) => unmasked
      ? [String(k + 1), name, idn, ph, hh, occ]
      : [String(k + 1), maskName(name), maskId(idn), maskPhone(ph), hh, occ]), `${what}: rows of ${g}`);
  }
}

test('xlsx: a sheet per grid with exactly its missing persons, masked unless unmask=1', async () => {
  const town = towns[0];
  const want = missingRef(C, town);
  const m = await xlsx(`/api/v1/campaigns/${C}/missing.xlsx?region=${town}`);
  eq([m.status, m.type], [200, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet']);
  checkSheets(readXlsx(m.buf), want, false, 'masked');
  assert(!(fullGrid in readXlsx(m.buf)), 'the fully sampled grid has no sheet');
  const u = await xlsx(`/api/v1/campaigns/${C}/missing.xlsx?region=${town}&unmask=1`);
  eq(u.status, 200);
  checkSheets(readXlsx(u.buf), want, true, 'unmasked');
  eq(q(`SELECT action || ' ' || detail FROM audit_log WHERE actor = 'cmd.city' AND object = 'campaign:${C} region:${town}' ORDER BY seq DESC LIMIT 2`).split('\n'),
    [`missing.export_unmasked ${want.length} missing persons in ${new Set(want.map(p => p[6])).size} grids, unmasked`,
      `missing.export ${want.length} missing persons in ${new Set(want.map(p => p[6])).size} grids, masked`]);
  // the grid worker's default: their grid alone
  const g = await xlsx(`/api/v1/campaigns/${C}/missing.xlsx?unmask=1`, gridWorker);
  eq(g.status, 200);
  checkSheets(readXlsx(g.buf), missingRef(C, gridW), true, 'grid worker');
  eq((await xlsx(`/api/v1/campaigns/${C}/missing.xlsx?unmask=2`)).status, 400);
});

test('xlsx: more than 500 grids with missing persons is refused with 400', async () => {
  const grids = Number(q(`SELECT count(DISTINCT x.grid_code) FROM (${POP(CITY)}) x WHERE NOT ${EXEMPT(CITY, 'x.id')} AND NOT ${SAMPLED(CITY, 'x.id')}`));
  assert(grids > 500, `only ${grids} grids`);
  const r = await get(`/api/v1/campaigns/${CITY}/missing.xlsx`);
  eq(r.status, 400, r.text);
  eq(r.body.error.code, 'bad_request');
  assert(r.body.error.message.includes('500'), r.body.error.message);
  // one county of it is fine when it has at most 500
  const small = q(`SELECT substr(x.grid_code, 1, 6) c FROM (${POP(CITY)}) x GROUP BY c HAVING count(DISTINCT x.grid_code) <= 500 ORDER BY c LIMIT 1`);
  const ok = await xlsx(`/api/v1/campaigns/${CITY}/missing.xlsx?region=${small}`);
  eq(ok.status, 200);
  eq(Object.keys(readXlsx(ok.buf)).length, new Set(missingRef(CITY, small).map(p => p[6])).size);
});

await run();
