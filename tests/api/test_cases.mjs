// Cases, contacts, counts, trajectories and chains over HTTP, on a small
// generated 安康市 with check-ins this test constructs: a case, a crowd
// around its check-ins, and a few persons placed at exact distances (10
// minutes: contact; exactly 30: contact; 31: not).  Every expected contact
// set comes from reference SQL run by the sqlite3 shell on the same
// database, written from the definitions in DESIGN.md, never from the
// server under test.
import { test, run, api, sql, eq, assert, createUser } from '../lib/harness.mjs';
import { startCityWithCheckins, iso, unix, rng } from '../lib/cases_fixture.mjs';

// the server runs under protocol 8: window_minutes 30, infectious_days_before 2
const W = 1800, D = 2 * 86400;
const T0 = unix('2022-01-10T10:00:00+08:00');
const NOW = '2022-01-12T12:00:00+08:00';
const ONSET = T0 + 86400; // the case fell ill a day after its first check-in here

let F; // the constructed scenario: persons and venues by role
const S = await startCityWithCheckins({
  persons: 2000, seed: 23, now: NOW, policy: 'protocol-8',
  build: db => {
    const P = sql(db, `SELECT id, id_number, coalesce(household_id, 0), grid_code FROM persons ORDER BY id`)
      .split('\n').map(l => { const [id, idn, hh, grid] = l.split('|'); return { id: +id, idn, hh: +hh, grid }; });
    const V = sql(db, `SELECT k.id, v.code FROM venue_keys k JOIN venues v ON v.code = k.code ORDER BY k.id LIMIT 6`)
      .split('\n').map(l => { const [id, code] = l.split('|'); return { id: +id, code }; });
    // the case: someone living with others, so household contacts exist
    const hhSize = new Map();
    for (const p of P) if (p.hh) hhSize.set(p.hh, (hhSize.get(p.hh) || 0) + 1);
    const c = P.find(p => p.hh && hhSize.get(p.hh) >= 3);
    // five persons of five other households, so that no household link
    // blurs what their check-ins say; the crowd lives in none of them
    const used = new Set([c.hh]), specials = [];
    for (const p of P) if (specials.length < 5 && p.hh && !used.has(p.hh)) { used.add(p.hh); specials.push(p); }
    const [near, edge, far, q, later] = specials;
    const others = P.filter(p => !used.has(p.hh) || p.hh === c.hh);
    const [A, B, C, Dv, E, Fv] = V;
    F = { c, near, edge, far, q, later, A, B, C, D: Dv, E, F: Fv, P, V };
    const rows = [];
    const add = (p, v, t) => rows.push({ id_number: p.idn, venue_code: v.code, t });
    add(c, A, T0); add(c, B, T0 + 4 * 3600); add(c, C, T0 + 86400);
    add(near, A, T0 + 600);        // 10 minutes after the case: close contact
    add(edge, A, T0 + W);          // exactly W after: still a contact
    add(far, A, T0 + W + 60);      // 31 minutes: not a contact
    add(near, Dv, T0 + 7200);      // near meets q where the case never was
    add(q, Dv, T0 + 7300);         // q: a secondary contact through near
    // a crowd around the case's venues (never at D), seeded
    const r = rng(23);
    const crowd = others.filter(p => p.id !== c.id).slice(0, 260);
    const busy = [A, B, C, E, Fv], caseTimes = [T0, T0 + 4 * 3600, T0 + 86400];
    for (const p of crowd) {
      const k = 1 + Math.floor(r() * 3);
      for (let i = 0; i < k; i++) {
        const v = busy[Math.floor(r() * busy.length)];
        const base = caseTimes[Math.floor(r() * caseTimes.length)];
        add(p, v, base + Math.floor((r() - 0.5) * 3 * 3600));
      }
    }
    return rows;
  },
});

const admin = (await api(S.url, 'POST', '/api/v1/sessions', { body: { username: 'admin', password: S.adminPassword } })).body.token;
const tracer = await createUser(S, admin, { username: 'tracer.city', role: 'tracer', scope: '6109' });
const grid = await createUser(S, admin, { username: 'grid.case', role: 'grid', scope: F.c.grid });
// a command user of a county where the case does not live
const otherCounty = sql(S.db, `SELECT code FROM regions WHERE level = 3 AND code <> substr('${F.c.grid}', 1, 6) ORDER BY code LIMIT 1`);
const outsider = await createUser(S, admin, { username: 'command.other', role: 'command', scope: otherCounty });

const get = (path, token = tracer) => api(S.url, 'GET', path, { token });
const post = (body, token = tracer) => api(S.url, 'POST', '/api/v1/cases', { token, body });

// ---- reference SQL (DESIGN.md, "Exact meanings") ----
// close contacts of person c with window [from, to]: [[person id, exposure]]
function refClose(c, from, to) {
  return sql(S.db, `
    WITH cs AS (SELECT venue_id, t FROM checkins WHERE person_id = ${c} AND t BETWEEN ${from} AND ${to}),
    v AS (SELECT k.person_id AS pid, min(k.t) AS exp FROM checkins k
          JOIN cs ON k.venue_id = cs.venue_id AND k.t BETWEEN cs.t - ${W} AND cs.t + ${W}
          WHERE k.person_id <> ${c} GROUP BY k.person_id),
    h AS (SELECT id AS pid, ${from} AS exp FROM persons
          WHERE household_id = (SELECT household_id FROM persons WHERE id = ${c}) AND id <> ${c})
    SELECT pid, min(exp) FROM (SELECT * FROM v UNION ALL SELECT * FROM h) GROUP BY pid ORDER BY 2, 1`)
    .split('\n').filter(Boolean).map(l => l.split('|').map(Number));
}
const caseFrom = ONSET - D, caseTo = unix(NOW);

async function allPages(path, limit) {
  const seen = [];
  let cursor = null, pages = 0, total = null;
  do {
    const r = await get(`${path}${path.includes('?') ? '&' : '?'}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    eq(r.status, 200, r.text);
    assert(r.body.items.length <= limit, 'page longer than limit');
    if (total === null) total = r.body.total;
    eq(r.body.total, total, 'total stays the same across pages');
    seen.push(...r.body.items);
    cursor = r.body.next_cursor;
    if (++pages > 1000) throw new Error('paging does not end');
  } while (cursor);
  return { items: seen, total, pages };
}

let case1;
test('POST /api/v1/cases adds a case: 201 with the window and the person masked', async () => {
  const r = await post({ id_number: F.c.idn, onset_at: iso(ONSET), found_where: '发热门诊' });
  eq(r.status, 201, r.text);
  case1 = r.body;
  eq(case1.classification, 'confirmed');
  eq(case1.person.id, F.c.id);
  eq(case1.person.grid.code, F.c.grid);
  assert(/^\d{6}\*{8}[\dX]{4}$/.test(case1.person.id_number), `masked ID number: ${case1.person.id_number}`);
  assert(case1.person.name.includes('*'), `masked name: ${case1.person.name}`);
  eq(case1.window, { from: iso(caseFrom), to: NOW });
  eq(case1.onset_at, iso(ONSET));
  eq(case1.first_positive_at, null);
  eq(case1.found_where, '发热门诊');
  eq(sql(S.db, `SELECT person_id, classification, onset_at FROM cases WHERE id = ${case1.id}`), `${F.c.id}|confirmed|${ONSET}`);
  eq(sql(S.db, `SELECT actor FROM audit_log WHERE action = 'case.add' AND object = 'case:${case1.id}'`), 'tracer.city');
});

test('close contacts equal the reference SQL, with exposure times', async () => {
  const want = refClose(F.c.id, caseFrom, caseTo);
  assert(want.length > 20, `the scenario has enough contacts to page (${want.length})`);
  const { items, total } = await allPages(`/api/v1/cases/${case1.id}/contacts?degree=1`, 1000);
  eq(total, want.length);
  eq(items.map(i => [i.person_id, unix(i.exposure)]), want);
});

test('10 minutes apart is a contact, exactly 30 is a contact, 31 is not', async () => {
  const { items } = await allPages(`/api/v1/cases/${case1.id}/contacts?degree=1`, 1000);
  const by = new Map(items.map(i => [i.person_id, i]));
  const near = by.get(F.near.id);
  assert(near, 'the person 10 minutes later is a close contact');
  eq(near.exposure, iso(T0 + 600));
  eq(near.evidence, { kind: 'venue', venue: { code: F.A.code, name: near.evidence.venue.name }, contact_time: iso(T0 + 600), case_time: iso(T0) });
  eq(sql(S.db, `SELECT name FROM venues WHERE code = '${F.A.code}'`), near.evidence.venue.name);
  assert(by.has(F.edge.id), 'the person exactly 30 minutes later is a close contact');
  assert(!by.has(F.far.id), 'the person 31 minutes later is not a close contact');
});

test('every venue contact\'s evidence is a real pair of check-ins within W', async () => {
  const { items } = await allPages(`/api/v1/cases/${case1.id}/contacts?degree=1`, 1000);
  const hh = new Set(sql(S.db, `SELECT id FROM persons WHERE household_id = ${F.c.hh} AND id <> ${F.c.id}`).split('\n').map(Number));
  for (const i of items) {
    if (i.evidence.kind === 'household') { assert(hh.has(i.person_id), `${i.person_id} is in the case's household`); continue; }
    const e = i.evidence, vc = e.venue.code, tc = unix(e.contact_time), ts = unix(e.case_time);
    assert(Math.abs(tc - ts) <= W, 'within W');
    eq(tc, unix(i.exposure), 'the contact time is the exposure');
    const k = `SELECT count(*) FROM checkins c JOIN venue_keys k ON k.id = c.venue_id WHERE k.code = '${vc}'`;
    eq(sql(S.db, `${k} AND c.person_id = ${i.person_id} AND c.t = ${tc}`), '1', 'the contact\'s check-in exists');
    eq(sql(S.db, `${k} AND c.person_id = ${F.c.id} AND c.t = ${ts}`), '1', 'the case\'s check-in exists');
    assert(/^\d{6}\*{8}[\dX]{4}$/.test(i.id_number) && i.name.includes('*'), 'contacts are masked');
    eq(i.grid.code, sql(S.db, `SELECT grid_code FROM persons WHERE id = ${i.person_id}`));
  }
});

test('secondary contacts name the close contact they came through', async () => {
  const { items, total } = await allPages(`/api/v1/cases/${case1.id}/contacts?degree=2`, 1000);
  eq(items.length, total);
  const q = items.find(i => i.person_id === F.q.id);
  assert(q, 'q met the close contact at a venue the case never visited');
  eq(q.via.person_id, F.near.id);
  eq(q.exposure, iso(T0 + 7300));
  eq(q.evidence, { kind: 'venue', venue: { code: F.D.code, name: q.evidence.venue.name }, contact_time: iso(T0 + 7300), case_time: iso(T0 + 7200) });
  const close = new Set(refClose(F.c.id, caseFrom, caseTo).map(r => r[0]));
  for (const i of items) {
    assert(!close.has(i.person_id) && i.person_id !== F.c.id, `${i.person_id} is not the case nor a close contact`);
    assert(close.has(i.via.person_id), `via ${i.via.person_id} is a close contact`);
  }
});

test('paging with cursors lists every contact exactly once, in order', async () => {
  for (const degree of [1, 2]) {
    const full = await allPages(`/api/v1/cases/${case1.id}/contacts?degree=${degree}`, 1000);
    const paged = await allPages(`/api/v1/cases/${case1.id}/contacts?degree=${degree}`, 7);
    assert(paged.pages > 2, 'several pages');
    eq(paged.items.map(i => i.person_id), full.items.map(i => i.person_id), `degree ${degree}`);
    eq(new Set(paged.items.map(i => i.person_id)).size, paged.items.length, 'no duplicates');
    const keys = paged.items.map(i => [unix(i.exposure), i.person_id]);
    for (let k = 1; k < keys.length; k++)
      assert(keys[k - 1][0] < keys[k][0] || (keys[k - 1][0] === keys[k][0] && keys[k - 1][1] < keys[k][1]), 'sorted by (exposure, person)');
  }
});

test('counts by grid, community and venue sum to the total and match SQL', async () => {
  const want = refClose(F.c.id, caseFrom, caseTo);
  const r = await get(`/api/v1/cases/${case1.id}/contacts/counts?degree=1`);
  eq(r.status, 200, r.text);
  eq(r.body.total, want.length);
  const sum = a => a.reduce((s, x) => s + x.count, 0);
  eq(sum(r.body.by_grid), want.length, 'by_grid');
  eq(sum(r.body.by_community), want.length, 'by_community');
  eq(sum(r.body.by_venue), want.length, 'by_venue');
  const ids = want.map(w => w[0]).join(',');
  const ref = sql(S.db, `SELECT grid_code, count(*) FROM persons WHERE id IN (${ids}) GROUP BY grid_code ORDER BY 2 DESC, 1`);
  eq(r.body.by_grid.map(g => `${g.code}|${g.count}`).join('\n'), ref);
  const refc = sql(S.db, `SELECT substr(grid_code, 1, 12), count(*) FROM persons WHERE id IN (${ids}) GROUP BY 1 ORDER BY 2 DESC, 1`);
  eq(r.body.by_community.map(g => `${g.code}|${g.count}`).join('\n'), refc);
  eq(r.body.by_grid[0].name, sql(S.db, `SELECT name FROM regions WHERE code = '${r.body.by_grid[0].code}'`));
  for (const list of [r.body.by_grid, r.body.by_community, r.body.by_venue])
    for (let k = 1; k < list.length; k++) assert(list[k - 1].count >= list[k].count, 'sorted by count');
  const r2 = await get(`/api/v1/cases/${case1.id}/contacts/counts?degree=2`);
  eq(r2.status, 200);
  eq(sum(r2.body.by_grid), r2.body.total);
  eq(r2.body.total, (await get(`/api/v1/cases/${case1.id}/contacts?degree=2&limit=1`)).body.total);
});

test('grid and venue filters drill down to exactly the matching contacts', async () => {
  const counts = (await get(`/api/v1/cases/${case1.id}/contacts/counts?degree=1`)).body;
  const full = (await allPages(`/api/v1/cases/${case1.id}/contacts?degree=1`, 1000)).items;
  const g = counts.by_grid[0];
  const byGrid = await allPages(`/api/v1/cases/${case1.id}/contacts?degree=1&grid=${g.code}`, 3);
  eq(byGrid.total, g.count);
  eq(byGrid.items.map(i => i.person_id), full.filter(i => i.grid.code === g.code).map(i => i.person_id));
  const cm = counts.by_community[0];
  const byCommunity = await allPages(`/api/v1/cases/${case1.id}/contacts?degree=1&grid=${cm.code}`, 1000);
  eq(byCommunity.total, cm.count);
  for (const v of counts.by_venue) {
    const byVenue = await allPages(`/api/v1/cases/${case1.id}/contacts?degree=1&venue=${v.code}`, 1000);
    eq(byVenue.total, v.count, v.code);
    eq(byVenue.items.map(i => i.person_id), full.filter(i => v.code === 'household' ? i.evidence.kind === 'household'
      : i.evidence.kind === 'venue' && i.evidence.venue.code === v.code).map(i => i.person_id));
  }
  assert(counts.by_venue.some(v => v.code === 'household'), 'household members are counted');
  const both = await get(`/api/v1/cases/${case1.id}/contacts?degree=1&grid=${g.code}&venue=${F.A.code}`);
  eq(both.body.items.map(i => i.person_id), full.filter(i => i.grid.code === g.code && i.evidence.kind === 'venue' && i.evidence.venue.code === F.A.code).map(i => i.person_id));
});

test('bad parameters are 400, an unknown venue 404', async () => {
  for (const q of ['degree=3', 'degree=x', 'grid=abc', 'grid=1234567', 'cursor=***', 'limit=0'])
    eq((await get(`/api/v1/cases/${case1.id}/contacts?${q}`)).status, 400, q);
  eq((await get(`/api/v1/cases/${case1.id}/contacts/counts?degree=0`)).status, 400);
  eq((await get(`/api/v1/cases/${case1.id}/contacts?venue=NOSUCHVENUE`)).status, 404);
});

test('GET /api/v1/cases/{id} has the window, chain and contact counts', async () => {
  const r = await get(`/api/v1/cases/${case1.id}`);
  eq(r.status, 200, r.text);
  eq(r.body.contacts.close, refClose(F.c.id, caseFrom, caseTo).length);
  eq(r.body.contacts.secondary, (await get(`/api/v1/cases/${case1.id}/contacts?degree=2&limit=1`)).body.total);
  eq(r.body.chain_id, case1.chain_id);
  eq(r.body.window, case1.window);
  eq((await get('/api/v1/cases/999999')).status, 404);
  eq((await get('/api/v1/cases/abc')).status, 404);
});

test('trajectory lists the case\'s check-ins in the window, in time order', async () => {
  const r = await get(`/api/v1/cases/${case1.id}/trajectory`);
  eq(r.status, 200, r.text);
  const ref = sql(S.db, `SELECT c.t, v.code, v.name, v.kind, v.region_code FROM checkins c JOIN venue_keys k ON k.id = c.venue_id
    JOIN venues v ON v.code = k.code WHERE c.person_id = ${F.c.id} AND c.t BETWEEN ${caseFrom} AND ${caseTo} ORDER BY c.t`);
  eq(r.body.items.map(i => [unix(i.time), i.venue.code, i.venue.name, i.venue.kind, i.venue.region.code].join('|')).join('\n'), ref);
  eq(r.body.items.length, 3);
  assert(r.body.items.every(i => i.venue.kind_label && i.venue.region.name), 'labels for people');
});

test('case list: newest first, paged, only in scope', async () => {
  const r = await get('/api/v1/cases?limit=1');
  eq(r.status, 200, r.text);
  eq(r.body.items[0].id, Number(sql(S.db, 'SELECT max(id) FROM cases')));
  const all = [];
  let cursor = null;
  do {
    const p = await get(`/api/v1/cases?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
    all.push(...p.body.items.map(i => i.id));
    cursor = p.body.next_cursor;
  } while (cursor);
  eq(all, sql(S.db, 'SELECT id FROM cases ORDER BY id DESC').split('\n').map(Number));
  eq((await get('/api/v1/cases', outsider)).body.items.filter(i => i.id === case1.id).length, 0);
});

test('401 without a session, 403 for roles without tracing, 404 outside the scope', async () => {
  eq((await api(S.url, 'GET', '/api/v1/cases')).status, 401);
  eq((await api(S.url, 'POST', '/api/v1/cases', { body: { id_number: F.c.idn } })).status, 401);
  for (const p of ['/api/v1/cases', `/api/v1/cases/${case1.id}`, `/api/v1/cases/${case1.id}/contacts`, `/api/v1/chains/${case1.chain_id}`])
    eq((await get(p, grid)).status, 403, p);
  eq((await post({ id_number: F.later.idn, onset_at: iso(ONSET) }, grid)).status, 403);
  for (const p of [`/api/v1/cases/${case1.id}`, `/api/v1/cases/${case1.id}/contacts`, `/api/v1/cases/${case1.id}/contacts/counts`,
    `/api/v1/cases/${case1.id}/trajectory`, `/api/v1/chains/${case1.chain_id}`]) {
    const r = await get(p, outsider);
    eq(r.status, 404, p);
    eq(r.body.error.code, 'not_found');
  }
  // a person of another county cannot be made a case by this command user
  const r = await post({ id_number: F.c.idn, onset_at: iso(ONSET) }, outsider);
  eq(r.status, 422, r.text);
});

test('409 for a person who already is a case', async () => {
  const r = await post({ id_number: F.c.idn, onset_at: iso(ONSET) });
  eq(r.status, 409, r.text);
  eq(r.body.error.code, 'conflict');
  eq(sql(S.db, `SELECT count(*) FROM cases WHERE person_id = ${F.c.id}`), '1');
});

test('400 for bad JSON and bad times (naming the field), 422 for bad cases', async () => {
  const before = sql(S.db, 'SELECT count(*) FROM cases');
  const raw = await api(S.url, 'POST', '/api/v1/cases', { token: tracer, raw: '{"id_number":', headers: { 'content-type': 'application/json' } });
  eq(raw.status, 400);
  eq((await api(S.url, 'POST', '/api/v1/cases', { token: tracer, raw: '[1]', headers: { 'content-type': 'application/json' } })).status, 400);
  for (const f of ['onset_at', 'first_positive_at', 'isolated_at']) {
    const r = await post({ id_number: F.later.idn, onset_at: iso(ONSET), [f]: '2022-01-10 10:00' });
    eq(r.status, 400, f);
    assert(r.body.error.message.includes(f), `message names ${f}: ${r.body.error.message}`);
  }
  const r400 = await post({ id_number: F.later.idn, onset_at: 12345 });
  eq(r400.status, 400);
  assert(r400.body.error.message.includes('onset_at'), r400.body.error.message);
  eq((await post({ onset_at: iso(ONSET) })).status, 400, 'no id_number');
  const cases422 = [
    [{ id_number: F.later.idn }, 'neither onset nor first positive'],
    [{ id_number: '610902199001011234', onset_at: iso(ONSET) }, 'unknown person'],
    [{ id_number: F.later.idn, onset_at: iso(ONSET), isolated_at: iso(ONSET - D - 60) }, 'isolated before the window starts'],
    [{ id_number: F.later.idn, onset_at: iso(unix(NOW) + 86400) }, 'onset in the future'],
    [{ id_number: F.later.idn, onset_at: iso(ONSET), classification: 'probable' }, 'unknown classification'],
  ];
  for (const [body, why] of cases422) {
    const r = await post(body);
    eq(r.status, 422, `${why}: ${r.text}`);
    eq(r.body.error.code, 'unprocessable');
  }
  eq((await api(S.url, 'POST', '/api/v1/cases', { token: tracer, raw: JSON.stringify({ id_number: F.later.idn }), headers: { 'content-type': 'text/plain' } })).status, 415);
  eq(sql(S.db, 'SELECT count(*) FROM cases'), before, 'nothing was added');
});

let case2;
test('a new case who was a close contact joins the chain with the evidence', async () => {
  const r = await post({ id_number: F.near.idn, classification: 'asymptomatic', first_positive_at: iso(T0 + 2 * 86400), isolated_at: iso(T0 + 2 * 86400 + 3600) });
  eq(r.status, 201, r.text);
  case2 = r.body;
  eq(case2.classification, 'asymptomatic');
  eq(case2.chain_id, case1.chain_id);
  const ch = await get(`/api/v1/chains/${case1.chain_id}`);
  eq(ch.status, 200, ch.text);
  eq(ch.body.id, case1.chain_id);
  eq(ch.body.nodes.map(n => n.case_id), [case1.id, case2.id]);
  eq(ch.body.nodes[1].classification, 'asymptomatic');
  eq(ch.body.nodes[1].grid.code, F.near.grid);
  assert(ch.body.nodes.every(n => n.person.name.includes('*')), 'names masked');
  eq(ch.body.edges.length, 1);
  const e = ch.body.edges[0];
  eq([e.from_case, e.to_case, e.degree, e.kind], [case1.id, case2.id, 1, 'venue']);
  eq(e.venue.code, F.A.code);
  eq([e.t_contact, e.t_source, e.exposure, e.via], [iso(T0 + 600), iso(T0), iso(T0 + 600), null]);
  eq(sql(S.db, `SELECT from_case, to_case, degree, t_contact FROM case_links`), `${case1.id}|${case2.id}|1|${T0 + 600}`);
  eq((await get('/api/v1/chains/999999')).status, 404);
});

test('a case with no link starts its own chain', async () => {
  const r = await post({ id_number: F.later.idn, onset_at: iso(ONSET) });
  eq(r.status, 201, r.text);
  assert(r.body.chain_id !== case1.chain_id, 'a chain of its own');
  const ch = await get(`/api/v1/chains/${r.body.chain_id}`);
  eq(ch.body.nodes.map(n => n.case_id), [r.body.id]);
  eq(ch.body.edges, []);
  const t = await get(`/api/v1/cases/${r.body.id}/trajectory`);
  eq(t.body.items, [], 'no check-ins');
});

test('every read of personal data left an audit row by the tracer', async () => {
  const rows = sql(S.db, `SELECT action, count(*) FROM audit_log WHERE actor = 'tracer.city' GROUP BY action ORDER BY action`);
  for (const a of ['case.add', 'case.contact_counts', 'case.contacts', 'case.list', 'case.read', 'case.trajectory', 'chain.read'])
    assert(new RegExp(`^${a.replace('.', '\\.')}\\|[1-9]`, 'm').test(rows), `audit rows for ${a}:\n${rows}`);
  const d = sql(S.db, `SELECT detail FROM audit_log WHERE actor = 'tracer.city' AND action = 'case.contacts' AND object = 'case:${case1.id}' ORDER BY seq LIMIT 1`);
  assert(d.includes(String(F.near.id)), `the listed persons are named in the record: ${d}`);
  // the outsider's refused reads leave no data-access record
  eq(sql(S.db, `SELECT count(*) FROM audit_log WHERE actor = 'command.other' AND action LIKE 'case.%' AND object = 'case:${case1.id}'`), '0');
  eq(sql(S.db, `SELECT count(*) FROM audit_log WHERE actor = 'command.other' AND action = 'case.list'`) !== '0', true);
});

await run();
