// Under a surge optional work yields: with more connections open than
// --shed-connections, an optional route (/metrics) answers 503 with
// Retry-After while code display and the health check keep answering; when
// the connections close, the optional route answers again.
import { connect } from 'node:net';
import { test, run, startServer, api, eq, assert, fk, sql } from '../lib/harness.mjs';

const S = await startServer({ persons: 300, seed: 3, args: ['--shed-connections', '8'] });
const login = async (u, p) => (await api(S.url, 'POST', '/api/v1/sessions', { body: { username: u, password: p } })).body.token;
const idn = sql(S.db, 'SELECT id_number FROM persons ORDER BY id LIMIT 1');
fk(['user', 'add', '--db', S.db, '--username', 'shed.citizen', '--role', 'citizen', '--person', idn, '--password', 'shed-pass-1234'], { env: S.env });
let citizen = await login('shed.citizen', 'shed-pass-1234');
await api(S.url, 'POST', '/api/v1/me/password', { token: citizen, body: { old_password: 'shed-pass-1234', new_password: 'shed-pass-5678' } });
citizen = await login('shed.citizen', 'shed-pass-5678');

const port = Number(new URL(S.url).port);
const open = n => Promise.all(Array.from({ length: n }, () => new Promise((res, rej) => {
  const s = connect(port, '127.0.0.1', () => res(s));
  s.on('error', rej);
})));
const settle = () => new Promise(r => setTimeout(r, 200));

test('below the threshold /metrics answers', async () => {
  const r = await fetch(S.url + '/metrics');
  eq(r.status, 200);
});

test('above it: /metrics 503 with Retry-After; code display and /healthz still answer', async () => {
  const socks = await open(12);
  await settle();
  try {
    const m = await fetch(S.url + '/metrics');
    eq(m.status, 503, 'optional route shed');
    assert(m.headers.get('retry-after'), 'Retry-After present');
    const c = await api(S.url, 'GET', '/api/v1/me/code', { token: citizen });
    eq(c.status, 200, c.text);
    assert(['green', 'yellow', 'red'].includes(c.body.colour));
    eq((await fetch(S.url + '/healthz')).status, 200);
  } finally {
    for (const s of socks) s.destroy();
  }
});

test('after the surge /metrics answers again', async () => {
  await settle();
  let status = 0;
  for (let i = 0; i < 20 && status !== 200; i++) { status = (await fetch(S.url + '/metrics')).status; if (status !== 200) await settle(); }
  eq(status, 200);
});

await run();
