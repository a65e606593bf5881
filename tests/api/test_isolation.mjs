// Isolation sites over HTTP: sites and rooms, a room for each confirmed
// central order (nearest open site by the region tree, one person a room),
// the queue and its alert when every room is taken, the tick handing a room
// that came free to the oldest queued order, closed-loop transfer, the
// board against SQL over the base tables, household sharing under a policy
// that allows it, scope, and bad input for every field.  The expected room
// of each order is computed here from SQL over iso_sites, iso_rooms and
// stays and the region codes (deepest common prefix at the code lengths of
// the levels), never read from the server under test.
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, run, startServer, api, sql, eq, assert, createUser, ROOT } from '../lib/harness.mjs';

const DAY = 86400;
const iso = t => {
  const d = new Date((t + 8 * 3600) * 1000).toISOString().slice(0, 19);
  return d + '+08:00';
};
const tmp = mkdtempSync(join(tmpdir(), 'fk-iso-'));
const clock = join(tmp, 'clock');
let now = Date.parse('2022-03-01T09:00:00+08:00') / 1000;
const setClock = t => { now = t; writeFileSync(clock, String(t)); };
setClock(now);

const S = await startServer({ persons: 2000, seed: 41, env: { FANGKONG_NOW: '@' + clock } });
const login = async (u, p) => (await api(S.url, 'POST', '/api/v1/sessions', { body: { username: u, password: p } })).body.token;
const admin = await login('admin', S.adminPassword);
const q = s => sql(S.db, s);
const rows = s => { const r = q(s); return r ? r.split('\n').map(l => l.split('|')) : []; };
const post = (token, path, body) => api(S.url, 'POST', path, { token, body });
const get = (token, path) => api(S.url, 'GET', path, { token });

// a county with two towns that have people, and another county
const [A] = q(`SELECT substr(grid_code, 1, 6) FROM persons GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`).split('\n');
const [TA1, TA2] = q(`SELECT substr(grid_code, 1, 9) FROM persons WHERE grid_code LIKE '${A}%' GROUP BY 1 ORDER BY count(*) DESC LIMIT 2`).split('\n');
const B = q(`SELECT substr(grid_code, 1, 6) FROM persons WHERE grid_code NOT LIKE '${A}%' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`);

await createUser(S, admin, { username: 'cmd', role: 'command', scope: '6109' });
await createUser(S, admin, { username: 'iso.a', role: 'isolation', scope: A });
await createUser(S, admin, { username: 'iso.t1', role: 'isolation', scope: TA1 });
await createUser(S, admin, { username: 'iso.t2', role: 'isolation', scope: TA2 });
await createUser(S, admin, { username: 'tester', role: 'tester', scope: '6109' });
const cmd = await login('cmd', 'own-password-1');
const isoA = await login('iso.a', 'own-password-1');
const isoT1 = await login('iso.t1', 'own-password-1');
const isoT2 = await login('iso.t2', 'own-password-1');
const tester = await login('tester', 'own-password-1');

// ---- the reference: which room an order gets ----
const LEN = [2, 4, 6, 9, 12, 15];
function commonLevel(a, b) {
  let lv = 0;
  for (let i = 0; i < LEN.length; i++) {
    const n = LEN[i];
    if (a.length < n || b.length < n || a.slice(0, n) !== b.slice(0, n)) break;
    lv = i + 1;
  }
  return lv;
}
const FREE = r => `${r}.status = 'ready' AND NOT EXISTS (SELECT 1 FROM stays x WHERE x.room_id = ${r}.id AND x.left_at IS NULL)`;
function freeRooms() {
  return rows(`SELECT s.id, s.region_code, r.id, r.number, r.floor FROM iso_rooms r JOIN iso_sites s ON s.id = r.site_id
    WHERE s.status = 'open' AND ${FREE('r')}`).map(([sid, region, rid, number, floor]) => ({ sid: +sid, region, rid: +rid, number, floor: +floor }));
}
// sites ranked for grid: [{sid, level, free, room}] nearest first
function ranked(grid) {
  const by = new Map();
  for (const r of freeRooms()) {
    if (!by.has(r.sid)) by.set(r.sid, { sid: r.sid, region: r.region, level: commonLevel(r.region, grid), rooms: [] });
    by.get(r.sid).rooms.push(r);
  }
  const v = [...by.values()].map(s => {
    s.rooms.sort((x, y) => x.floor - y.floor || x.number.length - y.number.length || (x.number < y.number ? -1 : x.number > y.number ? 1 : 0) || x.rid - y.rid);
    return { sid: s.sid, region: s.region, level: s.level, free: s.rooms.length, room: s.rooms[0] };
  });
  v.sort((x, y) => y.level - x.level || y.free - x.free || x.sid - y.sid);
  return v;
}

// ---- orders: proposed central orders inserted as tracing would, confirmed through the API ----
const persons = rows(`SELECT id, grid_code, coalesce(household_id, 0) FROM persons ORDER BY id`).map(([id, grid, hh]) => ({ id: +id, grid, hh: +hh }));
const used = new Set();
function pick(where, pred = () => true) {
  const p = persons.find(p => where(p.grid) && !used.has(p.id) && pred(p));
  assert(p, 'a person for the test');
  used.add(p.id);
  return p;
}
function insertOrder(p, kind = 'central', start = now - 3600) {
  const end = start + 7 * DAY;
  q(`INSERT INTO orders(person_id, kind, category, status, start_at, planned_end, orig_end, created_at, created_by)
     VALUES(${p.id}, '${kind}', 'close', 'proposed', ${start}, ${end}, ${end}, ${now}, 'test')`);
  const id = +q(`SELECT max(id) FROM orders`);
  // test days 1..3 and 7, as the schedule would have them
  for (const d of [1, 2, 3, 7])
    q(`INSERT INTO order_tests(order_id, person_id, day, window_start, window_end) VALUES(${id}, ${p.id}, ${d}, ${start + (d - 1) * DAY}, ${start + d * DAY})`);
  return id;
}
async function confirm(id) {
  const r = await post(cmd, '/api/v1/orders/confirm', { ids: [id] });
  eq(r.status, 200, r.text);
  eq(r.body.activated, 1, r.text);
  return r.body;
}
const stayOf = id => rows(`SELECT x.id, x.room_id, r.site_id FROM stays x JOIN iso_rooms r ON r.id = x.room_id WHERE x.order_id = ${id} AND x.left_at IS NULL`)[0];

const site = {};
test('sites with rooms numbered floor * 100 + i, and rooms added one by one', async () => {
  let r = await post(isoA, '/api/v1/isolation/sites', { name: '县集中隔离酒店', region: A, address: '建设路 1 号', floors: 1, rooms_per_floor: 2 });
  eq(r.status, 201, r.text);
  eq(Object.keys(r.body), ['id', 'name', 'region', 'address', 'status', 'ready', 'occupied', 'free', 'rooms', 'staff']);
  assert(!/"rooms":\d/.test(r.text), 'one "rooms" key: the array');
  eq([r.body.name, r.body.region.code, r.body.address, r.body.status, r.body.ready, r.body.occupied, r.body.free], ['县集中隔离酒店', A, '建设路 1 号', 'open', 2, 0, 2]);
  eq(r.body.rooms.map(x => [x.number, x.floor, x.bathroom, x.capacity, x.status, x.occupants]), [['101', 1, true, 1, 'ready', []], ['102', 1, true, 1, 'ready', []]]);
  site.county = r.body.id;
  eq(q(`SELECT group_concat(number || ':' || floor || ':' || bathroom, ',') FROM (SELECT * FROM iso_rooms WHERE site_id = ${site.county} ORDER BY id)`), '101:1:1,102:1:1');
  eq(q(`SELECT actor || ' ' || action FROM audit_log WHERE object = 'iso_site:${site.county}'`), 'iso.a isolation.site.add');

  // town TA1: rooms given one by one, a room for two on the first floor
  r = await post(isoT1, '/api/v1/isolation/sites', { name: '镇隔离点一', region: TA1 });
  eq(r.status, 201, r.text);
  site.t1 = r.body.id;
  eq(r.body.rooms, []);
  r = await post(isoT1, `/api/v1/isolation/sites/${site.t1}/rooms`, { rooms: [{ number: '201', floor: 2 }, { number: '101', floor: 1, capacity: 2, bathroom: false }] });
  eq(r.status, 201, r.text);
  eq(r.body, { added: 2 });
  eq(q(`SELECT group_concat(number || ':' || floor || ':' || bathroom || ':' || capacity, ',') FROM (SELECT * FROM iso_rooms WHERE site_id = ${site.t1} ORDER BY number)`), '101:1:0:2,201:2:1:1');

  r = await post(isoT2, '/api/v1/isolation/sites', { name: '镇隔离点二', region: TA2, floors: 1, rooms_per_floor: 1, bathroom: false });
  eq(r.status, 201, r.text);
  site.t2 = r.body.id;
  eq(r.body.rooms.map(x => [x.number, x.bathroom]), [['101', false]]);
  const st = await post(isoT2, `/api/v1/isolation/sites/${site.t2}/staff`, { name: '王医生', role: 'doctor', phone: '13912345678' });
  eq(st.status, 201, st.text);
  eq([st.body.name, st.body.role, st.body.phone, st.body.username], ['王医生', 'doctor', '139****5678', null]);

  const l = await get(cmd, '/api/v1/isolation/sites');
  eq(l.status, 200, l.text);
  eq(l.body.items.map(s => [s.id, s.rooms, s.free]), [[site.county, 2, 2], [site.t1, 2, 2], [site.t2, 1, 1]]);
  const p1 = await get(cmd, '/api/v1/isolation/sites?limit=2');
  eq(p1.body.items.length, 2);
  const p2 = await get(cmd, `/api/v1/isolation/sites?limit=2&cursor=${p1.body.next_cursor}`);
  eq([p2.body.items.map(s => s.id), p2.body.next_cursor], [[site.t2], null]);
});

const ord = {};
test('each confirmed central order gets the room the region tree says, one person a room', async () => {
  // P1 and P2 of one household in TA1 (no sharing under protocol 9), P3 in
  // TA1, P4 in county B, P5 in TA2
  const hh = persons.find(p => p.grid.startsWith(TA1) && p.hh && persons.filter(x => x.hh === p.hh).length >= 2 && persons.filter(x => x.hh === p.hh).every(x => x.grid.startsWith(TA1)));
  assert(hh, 'a household of two in TA1');
  const [m1, m2] = persons.filter(x => x.hh === hh.hh);
  used.add(m1.id); used.add(m2.id);
  const P = [m1, m2, pick(g => g.startsWith(TA1)), pick(g => g.startsWith(B)), pick(g => g.startsWith(TA2))];
  ord.people = P;
  ord.ids = [];
  for (const p of P) {
    const id = insertOrder(p);
    // suggestion first: the same ranking, up to 5
    const want = ranked(p.grid);
    const sg = await get(cmd, `/api/v1/orders/${id}/suggest`);
    eq(sg.status, 200, sg.text);
    eq(sg.body.sites.map(s => [s.site.id, s.free, s.distance, s.room.id]), want.slice(0, 5).map(s => [s.sid, s.free, 6 - s.level, s.room.rid]), 'suggestion for ' + p.grid);
    const c = await confirm(id);
    eq([c.assigned, c.queued], [1, 0]);
    const [, room, sid] = stayOf(id);
    eq([+sid, +room], [want[0].sid, want[0].room.rid], `room of person ${p.id} (${p.grid})`);
    ord.ids.push(id);
  }
  // by hand: TA1's room for two holds one person; P3 went to the county site
  eq(+stayOf(ord.ids[0])[2], site.t1);
  eq(+stayOf(ord.ids[1])[2], site.t1);
  eq(q(`SELECT max(n) FROM (SELECT count(*) n FROM stays WHERE left_at IS NULL GROUP BY room_id)`), '1', 'one person a room');
  // stays follow the order: planned_leave = planned_end, event assigned, transfer task at the site's region
  eq(q(`SELECT count(*) FROM stays x JOIN orders o ON o.id = x.order_id WHERE x.planned_leave <> o.planned_end`), '0');
  eq(q(`SELECT count(*) FROM order_events WHERE kind = 'assigned' AND order_id IN (${ord.ids})`), '5');
  eq(q(`SELECT group_concat(t.region_code = s.region_code) FROM tasks t JOIN stays x ON x.order_id = t.order_id
        JOIN iso_rooms r ON r.id = x.room_id JOIN iso_sites s ON s.id = r.site_id WHERE t.kind = 'transfer' AND t.order_id IN (${ord.ids})`), '1,1,1,1,1');
  const d = await get(isoT1, `/api/v1/isolation/sites/${site.t1}`);
  eq(d.status, 200, d.text);
  const occ = d.body.rooms.flatMap(r => r.occupants.map(o => [r.number, o.order_id, o.person.id, o.person.id_number.includes('*')]));
  eq(occ, [['101', ord.ids[0], m1.id, true], ['201', ord.ids[1], m2.id, true]]);
});

test('no room free: the order waits in the queue with an alert; the suggestion is empty', async () => {
  eq(freeRooms().length, 0, 'every room taken');
  const p6 = pick(g => g.startsWith(A)), p7 = pick(g => g.startsWith(TA2));
  const id6 = insertOrder(p6);
  eq((await get(cmd, `/api/v1/orders/${id6}/suggest`)).body, { sites: [] });
  const c = await confirm(id6);
  eq([c.assigned, c.queued], [0, 1]);
  const t6 = now;
  setClock(now + 30);
  const id7 = insertOrder(p7);
  await confirm(id7);
  eq(q(`SELECT group_concat(queued_at) FROM orders WHERE id IN (${id6}, ${id7}) ORDER BY id`), `${t6},${t6 + 30}`);
  eq(rows(`SELECT kind, person_id, region_code, at FROM alerts WHERE kind = 'isolation_queue' ORDER BY id`),
    [['isolation_queue', String(p6.id), p6.grid, String(t6)], ['isolation_queue', String(p7.id), p7.grid, String(t6 + 30)]]);
  assert(q(`SELECT detail FROM alerts WHERE person_id = ${p6.id} AND kind = 'isolation_queue'`).includes(String(id6)), 'the alert names the order');
  eq(q(`SELECT count(*) FROM order_events WHERE kind = 'queued' AND order_id IN (${id6}, ${id7})`), '2');
  eq(q(`SELECT region_code FROM tasks WHERE kind = 'transfer' AND order_id = ${id6}`), p6.grid, 'queued: the transfer task stays with the grid');
  eq(q(`SELECT count(*) FROM stays WHERE order_id IN (${id6}, ${id7})`), '0');
  // asking again changes nothing (no second alert)
  const a = await post(isoA, `/api/v1/orders/${id6}/assign`, {});
  eq([a.status, a.body], [200, { queued: true }], a.text);
  eq(q(`SELECT count(*) FROM alerts WHERE kind = 'isolation_queue'`), '2');
  Object.assign(ord, { id6, id7, p6, p7, t6 });
});

async function until(what, fn) {
  for (let i = 0; i < 50; i++) {
    if (fn()) return;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error('timed out waiting for ' + what);
}

test('a room comes free (order released early): the tick gives it to the oldest queued order', async () => {
  setClock(now + 60);
  const freed = stayOf(ord.ids[2]);
  const r = await post(cmd, `/api/v1/orders/${ord.ids[2]}/release`, { reason: '复核排除' });
  eq(r.status, 200, r.text);
  eq(q(`SELECT left_at FROM stays WHERE id = ${freed[0]}`), String(now), 'the stay left at the release');
  await until('the queued order gets the room', () => q(`SELECT count(*) FROM stays WHERE order_id = ${ord.id6}`) === '1');
  const [, room, sid] = stayOf(ord.id6);
  eq(+room, +freed[1], 'the room that came free');
  eq(q(`SELECT queued_at IS NULL FROM orders WHERE id = ${ord.id6}`), '1');
  eq(q(`SELECT queued_at FROM orders WHERE id = ${ord.id7}`), String(ord.t6 + 30), 'the younger one still waits');
  eq(q(`SELECT actor FROM order_events WHERE order_id = ${ord.id6} AND kind = 'assigned'`), 'system');
  eq(q(`SELECT t.region_code FROM tasks t WHERE t.kind = 'transfer' AND t.order_id = ${ord.id6}`), q(`SELECT region_code FROM iso_sites WHERE id = ${sid}`));
});

test('closed-loop transfer: pick-up with a vehicle, arrival closes the transfer task', async () => {
  const [stay] = stayOf(ord.ids[4]);
  // arrival before a pick-up is refused
  let r = await post(isoT2, `/api/v1/stays/${stay}/arrive`, {});
  eq([r.status, r.body.error?.code], [409, 'not_picked_up'], r.text);
  r = await post(isoT2, `/api/v1/stays/${stay}/pickup`, { vehicle: '陕G·12345', at: iso(now - 30) });
  eq(r.status, 200, r.text);
  eq([r.body.id, r.body.order_id, r.body.vehicle, r.body.pickup_at, r.body.arrived_at, r.body.site.id], [+stay, ord.ids[4], '陕G·12345', iso(now - 30), null, site.t2]);
  r = await post(isoT2, `/api/v1/stays/${stay}/arrive`, { at: iso(now - 40) });
  eq([r.status, r.body.error?.code], [400, 'bad_request'], 'arrival before the pick-up');
  r = await post(isoT2, `/api/v1/stays/${stay}/arrive`, { at: iso(now + 60) });
  eq([r.status, r.body.error?.code], [400, 'bad_request'], 'arrival in the future');
  r = await post(isoT2, `/api/v1/stays/${stay}/arrive`);
  eq(r.status, 200, r.text);
  eq(r.body.arrived_at, iso(now));
  eq(rows(`SELECT status, done_at, done_by FROM tasks WHERE kind = 'transfer' AND order_id = ${ord.ids[4]}`), [['done', String(now), 'iso.t2']]);
  eq(q(`SELECT group_concat(kind) FROM (SELECT kind FROM order_events WHERE order_id = ${ord.ids[4]} AND kind IN ('pickup', 'arrived') ORDER BY id)`), 'pickup,arrived');
  r = await post(isoT2, `/api/v1/stays/${stay}/arrive`);
  eq([r.status, r.body.error?.code], [409, 'already_arrived']);
  eq(q(`SELECT group_concat(action) FROM (SELECT action FROM audit_log WHERE object = 'stay:${stay}' ORDER BY seq)`), 'stay.pickup,stay.arrive');
});

test('the board: sites, rooms free by date, tests and releases due, the queue, totals — against SQL', async () => {
  // one room out of service, one order planned to leave in three days
  const spare = q(`SELECT id FROM iso_rooms WHERE site_id = ${site.county} ORDER BY id LIMIT 1`);
  q(`INSERT INTO iso_rooms(site_id, number, floor, status) VALUES(${site.county}, '301', 3, 'out_of_service')`);
  const early = ord.ids[3];
  const leave = now + 3 * DAY - 7200;
  q(`UPDATE orders SET planned_end = ${leave} WHERE id = ${early}; UPDATE stays SET planned_leave = ${leave} WHERE order_id = ${early} AND left_at IS NULL`);
  // a result for one order's day 1 (no test due any more for it)
  q(`INSERT INTO test_results(person_id, sampled_at, resulted_at, result) VALUES(${ord.people[0].id}, ${now - 1800}, ${now - 1000}, 'negative')`);
  void spare;
  const day0 = Math.floor((now + 28800) / DAY);
  const date = d => new Date(d * DAY * 1000).toISOString().slice(0, 10);
  for (const [token, region] of [[cmd, ''], [isoA, A], [isoT2, TA2]]) {
    for (const dd of [0, 3]) {
      const D = day0 + dd, start = D * DAY - 28800, end = start + DAY;
      const r = await get(token, `/api/v1/isolation/board?date=${date(D)}${region ? '&region=' + region : ''}`);
      eq(r.status, 200, r.text);
      const R = region || '6109';
      const scope = region || '';
      eq(r.body.date, date(D));
      const vis = `((s.region_code >= '${scope}' AND s.region_code < '${scope}:') OR substr('${scope}', 1, length(s.region_code)) = s.region_code)`;
      const sites = rows(`SELECT s.id, s.name, (SELECT count(*) FROM iso_rooms r WHERE r.site_id = s.id),
          (SELECT count(*) FROM iso_rooms r WHERE r.site_id = s.id AND EXISTS (SELECT 1 FROM stays x WHERE x.room_id = r.id AND x.left_at IS NULL)),
          (SELECT count(*) FROM iso_rooms r WHERE r.site_id = s.id AND ${FREE('r')})
          FROM iso_sites s WHERE ${vis} ORDER BY s.id`).map(([id, name, rooms, occ, free]) => {
        const fbd = [];
        for (let i = 0; i < 7; i++) {
          const ds = start + i * DAY;
          fbd.push({ date: date(D + i), free: +q(`SELECT count(*) FROM iso_rooms r WHERE r.site_id = ${id} AND r.status = 'ready'
            AND NOT EXISTS (SELECT 1 FROM stays x WHERE x.room_id = r.id AND x.left_at IS NULL AND x.planned_leave > ${ds})`) });
        }
        return { id: +id, name, rooms: +rooms, occupied: +occ, free: +free, free_by_date: fbd };
      });
      eq(r.body.sites, sites, `sites of ${R} on ${date(D)}`);
      const onBoard = `(p.grid_code LIKE '${scope}%' OR EXISTS (SELECT 1 FROM stays y JOIN iso_rooms yr ON yr.id = y.room_id
          JOIN iso_sites ys ON ys.id = yr.site_id WHERE y.order_id = o.id AND y.left_at IS NULL AND ys.region_code LIKE '${scope}%'))`;
      const tests = rows(`SELECT t.order_id, t.day, t.window_end FROM order_tests t JOIN orders o ON o.id = t.order_id JOIN persons p ON p.id = o.person_id
          WHERE o.status = 'active' AND t.required = 1 AND t.window_start < ${end} AND t.window_end > ${start}
          AND NOT EXISTS (SELECT 1 FROM test_results m WHERE m.person_id = o.person_id AND m.sampled_at >= t.window_start AND m.sampled_at < t.window_end)
          AND NOT EXISTS (SELECT 1 FROM samples m WHERE m.person_id = o.person_id AND m.sampled_at >= t.window_start AND m.sampled_at < t.window_end)
          AND ${onBoard} ORDER BY t.window_end, t.order_id`);
      eq(r.body.tests_due.map(t => [String(t.order_id), String(t.day), String(Date.parse(t.window_end) / 1000)]), tests, 'tests due');
      const rel = rows(`SELECT o.id, (SELECT group_concat(day) FROM (SELECT day FROM order_tests t WHERE t.order_id = o.id AND t.required = 1 AND coalesce(t.result, '') <> 'negative' ORDER BY day))
          FROM orders o JOIN persons p ON p.id = o.person_id WHERE o.status = 'active' AND o.planned_end >= ${start} AND o.planned_end < ${end} AND ${onBoard} ORDER BY o.planned_end, o.id`);
      eq(r.body.releases_due.map(x => [String(x.order_id), x.missing.join(','), x.releasable]), rel.map(([id, m]) => [id, m, m === '']), 'releases due');
      const queue = rows(`SELECT o.id, o.queued_at FROM orders o JOIN persons p ON p.id = o.person_id WHERE o.status = 'active' AND o.kind = 'central'
          AND o.queued_at IS NOT NULL AND p.grid_code LIKE '${scope}%' ORDER BY o.queued_at, o.id`);
      eq(r.body.queue.map(x => [String(x.order_id), String(Date.parse(x.queued_at) / 1000), x.waiting_s]), queue.map(([id, t]) => [id, t, now - +t]), 'queue');
      const tot = rows(`SELECT sum(o.status = 'active'), sum(o.status = 'active' AND o.kind = 'central'), sum(o.status = 'active' AND o.kind <> 'central'),
          sum(o.status = 'active' AND o.kind = 'central' AND o.queued_at IS NOT NULL), sum(o.status = 'proposed')
          FROM orders o JOIN persons p ON p.id = o.person_id WHERE o.status IN ('active', 'proposed') AND ${onBoard}`)[0].map(x => +x || 0);
      eq(Object.values(r.body.totals), tot, 'totals');
      if (dd === 3 && !region) assert(r.body.releases_due.some(x => x.order_id === early), 'the early order is due that day');
      if (dd === 0 && !region) assert(r.body.tests_due.length > 0 && r.body.queue.length === 1, 'the board has data');
      for (const t of r.body.tests_due) assert(t.person.id_number.includes('*'), 'masked');
    }
  }
  eq(q(`SELECT count(*) FROM audit_log WHERE action = 'isolation.board'`), '6');
  // unmasked for a role that may, when asked
  const u = await get(cmd, '/api/v1/isolation/board?unmask=1');
  assert(u.body.tests_due.every(t => !t.person.id_number.includes('*')), 'unmasked');
});

test('manual assignment: a named room, a room not free, a move', async () => {
  // the out-of-service room, then ready again
  const r301 = q(`SELECT id FROM iso_rooms WHERE site_id = ${site.county} AND number = '301'`);
  let r = await post(isoA, `/api/v1/orders/${ord.id7}/assign`, { room_id: +r301 });
  eq([r.status, r.body.error?.code], [409, 'room_not_free'], r.text);
  const occupied = stayOf(ord.ids[0])[1];
  r = await post(isoA, `/api/v1/orders/${ord.id7}/assign`, { room_id: +occupied });
  eq([r.status, r.body.error?.code], [409, 'room_not_free']);
  r = await post(isoA, `/api/v1/isolation/rooms/${r301}`, { status: 'ready' });
  eq([r.status, r.body.status, r.body.number, r.body.site.id], [200, 'ready', '301', site.county], r.text);
  r = await post(isoA, `/api/v1/orders/${ord.id7}/assign`, { room_id: +r301 });
  eq(r.status, 200, r.text);
  eq([r.body.stay.room.number, r.body.stay.order_id], ['301', ord.id7]);
  eq(q(`SELECT queued_at IS NULL FROM orders WHERE id = ${ord.id7}`), '1');
  // a move: the old stay leaves, a new one starts
  q(`INSERT INTO iso_rooms(site_id, number, floor) VALUES(${site.county}, '302', 3)`);
  const r302 = q(`SELECT id FROM iso_rooms WHERE site_id = ${site.county} AND number = '302'`);
  r = await post(isoA, `/api/v1/orders/${ord.id7}/assign`, { room_id: +r302 });
  eq([r.status, r.body.stay?.room.number], [200, '302'], r.text);
  eq(rows(`SELECT room_id, left_at IS NULL FROM stays WHERE order_id = ${ord.id7} ORDER BY id`), [[r301, '0'], [r302, '1']]);
  eq(q(`SELECT count(*) FROM audit_log WHERE action = 'order.assign' AND object = 'order:${ord.id7}'`), '2');
  // home orders have no rooms; proposed ones are not assigned by hand
  const home = insertOrder(pick(g => g.startsWith(A)), 'home_isolation');
  r = await post(isoA, `/api/v1/orders/${home}/assign`, {});
  eq([r.status, r.body.error?.code], [409, 'not_central']);
  r = await get(isoA, `/api/v1/orders/${home}/suggest`);
  eq([r.status, r.body.error?.code], [409, 'not_central']);
  const prop = insertOrder(pick(g => g.startsWith(A)));
  r = await post(isoA, `/api/v1/orders/${prop}/assign`, {});
  eq([r.status, r.body.error?.code], [409, 'not_active']);
});

test('scope: a town sees its own and the county\'s sites, not another town\'s (404)', async () => {
  const l = await get(isoT2, '/api/v1/isolation/sites');
  eq(l.body.items.map(s => s.id), [site.county, site.t2]);
  eq((await get(isoT2, `/api/v1/isolation/sites/${site.t1}`)).status, 404);
  eq((await get(isoT2, `/api/v1/isolation/sites/${site.county}`)).status, 200);
  eq((await get(isoT2, `/api/v1/isolation/sites/999999`)).status, 404);
  let r = await post(isoT2, `/api/v1/isolation/sites/${site.t1}/rooms`, { rooms: [{ number: '901', floor: 9 }] });
  eq(r.status, 404);
  r = await post(isoT2, `/api/v1/isolation/sites/${site.county}/rooms`, { rooms: [{ number: '901', floor: 9 }] });
  eq(r.status, 403, 'the county site is visible, not the town\'s to change');
  r = await post(isoT2, '/api/v1/isolation/sites', { name: 'x', region: TA1 });
  eq(r.status, 404);
  // orders and stays by the person's grid (or the stay's site)
  eq((await get(isoT2, `/api/v1/orders/${ord.ids[0]}/suggest`)).status, 404);
  eq((await post(isoT2, `/api/v1/orders/${ord.ids[0]}/assign`, {})).status, 404);
  const [stayT1] = stayOf(ord.ids[0]);
  eq((await post(isoT2, `/api/v1/stays/${stayT1}/pickup`, { vehicle: 'X' })).status, 404);
  // the county site's stay of a TA1 person: not visible from TA2 either
  eq((await get(isoT2, `/api/v1/isolation/board?region=${TA1}`)).status, 404);
  // a role without control permissions
  eq((await get(tester, '/api/v1/isolation/sites')).status, 403);
  eq((await post(cmd, '/api/v1/isolation/sites', { name: '指挥部建的点', region: B })).status, 201, 'command may add sites');
});

test('bad input is refused, naming the field', async () => {
  const bad = async (path, body, field, status = 400, token = isoA) => {
    const r = await post(token, path, body);
    eq(r.status, status, `${path} ${JSON.stringify(body)}: ${r.text}`);
    if (field) assert(r.body.error.message.includes(field), `message names ${field}: ${r.body.error.message}`);
  };
  const S1 = '/api/v1/isolation/sites';
  await bad(S1, { region: A }, 'name');
  await bad(S1, { name: '  ', region: A }, 'name');
  await bad(S1, { name: 'x'.repeat(61), region: A }, 'name');
  await bad(S1, { name: 'a\u0001b', region: A }, 'name');
  await bad(S1, { name: 7, region: A }, 'name');
  await bad(S1, { name: 'n' }, 'region');
  await bad(S1, { name: 'n', region: '61090' }, 'region');
  await bad(S1, { name: 'n', region: 'abcdef' }, 'region');
  await bad(S1, { name: 'n', region: A + '999' }, 'region', 404);
  await bad(S1, { name: 'n', region: A, address: 5 }, 'address');
  await bad(S1, { name: 'n', region: A, address: 'x'.repeat(201) }, 'address');
  await bad(S1, { name: 'n', region: A, floors: 0, rooms_per_floor: 1 }, 'floors');
  await bad(S1, { name: 'n', region: A, floors: 100, rooms_per_floor: 1 }, 'floors');
  await bad(S1, { name: 'n', region: A, floors: '2', rooms_per_floor: 1 }, 'floors');
  await bad(S1, { name: 'n', region: A, floors: 2 }, 'rooms_per_floor');
  await bad(S1, { name: 'n', region: A, floors: 1, rooms_per_floor: 100 }, 'rooms_per_floor');
  await bad(S1, { name: 'n', region: A, bathroom: 'yes' }, 'bathroom');
  await bad(S1, { name: '县集中隔离酒店', region: A }, '县集中隔离酒店', 409);
  const R = `/api/v1/isolation/sites/${site.county}/rooms`;
  await bad(R, {}, 'rooms');
  await bad(R, { rooms: [] }, 'rooms');
  await bad(R, { rooms: [5] }, 'rooms[0]');
  await bad(R, { rooms: [{ floor: 1 }] }, 'rooms[0].number');
  await bad(R, { rooms: [{ number: '1 01', floor: 1 }] }, 'rooms[0].number');
  await bad(R, { rooms: [{ number: 'x'.repeat(17), floor: 1 }] }, 'rooms[0].number');
  await bad(R, { rooms: [{ number: '501' }] }, 'rooms[0].floor');
  await bad(R, { rooms: [{ number: '501', floor: 1.5 }] }, 'floor');
  await bad(R, { rooms: [{ number: '501', floor: 5, capacity: 9 }] }, 'capacity');
  await bad(R, { rooms: [{ number: '501', floor: 5, capacity: 0 }] }, 'capacity');
  await bad(R, { rooms: [{ number: '501', floor: 5, bathroom: 1 }] }, 'bathroom');
  await bad(R, { rooms: [{ number: '501', floor: 5 }, { number: '501', floor: 5 }] }, 'rooms[1].number');
  await bad(R, { rooms: [{ number: '501', floor: 5 }, { number: '101', floor: 1 }] }, '101', 409);
  eq(q(`SELECT count(*) FROM iso_rooms WHERE site_id = ${site.county} AND number = '501'`), '0', 'nothing of a refused batch');
  await bad('/api/v1/isolation/sites/abc/rooms', { rooms: [{ number: '1', floor: 1 }] }, null, 404);
  const room = q(`SELECT id FROM iso_rooms WHERE site_id = ${site.county} ORDER BY id LIMIT 1`);
  await bad(`/api/v1/isolation/rooms/${room}`, {}, 'status');
  await bad(`/api/v1/isolation/rooms/${room}`, { status: 'dirty' }, 'status');
  await bad('/api/v1/isolation/rooms/999999', { status: 'ready' }, null, 404);
  const ST = `/api/v1/isolation/sites/${site.county}/staff`;
  await bad(ST, { role: 'doctor' }, 'name');
  await bad(ST, { name: '李', role: 'pilot' }, 'role');
  await bad(ST, { name: '李' }, 'role');
  await bad(ST, { name: '李', role: 'nurse', phone: '12345' }, 'phone');
  await bad(ST, { name: '李', role: 'nurse', username: 'nobody.here' }, 'username');
  const A7 = `/api/v1/orders/${ord.id7}/assign`;
  await bad(A7, { room_id: 'x' }, 'room_id');
  await bad(A7, { room_id: 0 }, 'room_id');
  await bad(A7, { room_id: 999999 }, null, 404);
  await bad('/api/v1/orders/999999/assign', {}, null, 404);
  const [stay] = stayOf(ord.ids[1]);
  await bad(`/api/v1/stays/${stay}/pickup`, {}, 'vehicle');
  await bad(`/api/v1/stays/${stay}/pickup`, { vehicle: '' }, 'vehicle');
  await bad(`/api/v1/stays/${stay}/pickup`, { vehicle: 'x'.repeat(33) }, 'vehicle');
  await bad(`/api/v1/stays/${stay}/pickup`, { vehicle: 'A1', at: 'yesterday' }, 'at');
  await bad(`/api/v1/stays/${stay}/pickup`, { vehicle: 'A1', at: iso(now + 3600) }, 'at');
  await bad(`/api/v1/stays/${stay}/pickup`, { vehicle: 'A1', at: iso(now - 30 * DAY) }, 'at');
  await bad('/api/v1/stays/999999/arrive', {}, null, 404);
  for (const qs of ['date=2022-13-01', 'date=20220301', 'region=abc', 'unmask=2', 'date=2022-02-30'])
    eq((await get(cmd, '/api/v1/isolation/board?' + qs)).status, 400, qs);
  eq((await get(cmd, '/api/v1/isolation/sites?limit=501')).status, 400);
  eq((await get(cmd, '/api/v1/isolation/sites?region=12x')).status, 400);
});

test('a household may share a room when the policy says so', async () => {
  const pol = join(tmp, 'share.ini');
  writeFileSync(pol, readFileSync(join(ROOT, 'policy', 'protocol-9.ini'), 'utf8')
    .replace(/^household_may_share_room\s*=\s*no/m, 'household_may_share_room = yes'));
  const S2 = await startServer({ persons: 1500, seed: 43, policy: pol, env: { FANGKONG_NOW: '@' + clock } });
  const a2 = await login2(S2, 'admin', S2.adminPassword);
  await createUser(S2, a2, { username: 'cmd', role: 'command', scope: '6109' });
  const c2 = await login2(S2, 'cmd', 'own-password-1');
  const q2 = s => sql(S2.db, s);
  const region = q2(`SELECT substr(grid_code, 1, 6) FROM persons GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`);
  let r = await api(S2.url, 'POST', '/api/v1/isolation/sites', { token: c2, body: { name: '共享测试点', region } });
  eq(r.status, 201, r.text);
  r = await api(S2.url, 'POST', `/api/v1/isolation/sites/${r.body.id}/rooms`, { token: c2, body: { rooms: [{ number: '101', floor: 1, capacity: 2 }, { number: '102', floor: 1 }] } });
  eq(r.status, 201, r.text);
  const hh = q2(`SELECT household_id FROM persons WHERE household_id IS NOT NULL GROUP BY household_id HAVING count(*) >= 3 ORDER BY household_id LIMIT 1`);
  const [m1, m2, m3] = q2(`SELECT id FROM persons WHERE household_id = ${hh} ORDER BY id LIMIT 3`).split('\n');
  const other = q2(`SELECT id FROM persons WHERE household_id <> ${hh} ORDER BY id LIMIT 2`).split('\n');
  const order = p => {
    q2(`INSERT INTO orders(person_id, kind, category, status, start_at, planned_end, orig_end, created_at, created_by)
        VALUES(${p}, 'central', 'close', 'proposed', ${now - 3600}, ${now + 7 * DAY}, ${now + 7 * DAY}, ${now}, 'test')`);
    return q2(`SELECT max(id) FROM orders`);
  };
  const roomOf = id => q2(`SELECT r.number FROM stays x JOIN iso_rooms r ON r.id = x.room_id WHERE x.order_id = ${id} AND x.left_at IS NULL`);
  const got = [];
  for (const p of [m1, other[0], m2, m3, other[1]]) {
    const id = order(p);
    const c = await api(S2.url, 'POST', '/api/v1/orders/confirm', { token: c2, body: { ids: [+id] } });
    eq(c.status, 200, c.text);
    got.push(roomOf(id) || 'queued');
  }
  // m1 takes 101 (lowest), the other person 102, m2 joins m1 in 101 (room
  // for two), m3 finds it full, the second other person finds no room
  eq(got, ['101', '102', '101', 'queued', 'queued']);
  await S2.stop();
});

async function login2(S2, u, p) {
  return (await api(S2.url, 'POST', '/api/v1/sessions', { body: { username: u, password: p } })).body.token;
}

await run();
