// GET /api/v1/keys and POST /api/v1/verify against a real server.  Tokens
// come from `fangkong keys sign` (hc_token_issue); signatures are re-checked
// with node's own Ed25519 (crypto.verify) and base32 reader, keys and their
// states with the sqlite3 shell.  A rotation and a revocation made by the
// CLI while the server runs must reach it (the server re-reads keys every
// 5 s; the test polls with a generous bound, it does not time it).
import { createPublicKey, verify as edVerify } from 'node:crypto';
import { test, run, startServer, api, sql, eq, assert, fk } from '../lib/harness.mjs';

const S = await startServer({ persons: 200, seed: 11 });
const ID = sql(S.db, 'SELECT id_number FROM persons ORDER BY id LIMIT 1');
const sign = (colour, ...extra) => fk(['keys', 'sign', '--db', S.db, '--person', ID, '--colour', colour, ...extra], { env: S.env }).trim();
const verifyApi = token => api(S.url, 'POST', '/api/v1/verify', { body: { token } });

function base32Decode(s) {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, v = 0; const out = [];
  for (const c of s) { v = (v << 5) | A.indexOf(c); bits += 5; if (bits >= 8) { out.push((v >>> (bits - 8)) & 255); bits -= 8; } }
  return Buffer.from(out);
}
const spki = pk => createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pk]), format: 'der', type: 'spki' });
// flips one character of the signature part
const tamper = t => { const i = 100, c = t[i] === 'A' ? 'B' : 'A'; return t.slice(0, i) + c + t.slice(i + 1); };
async function until(what, fn) {
  for (let i = 0; i < 150; i++) { if (await fn()) return; await new Promise(r => setTimeout(r, 100)); }
  throw new Error(`not within 15 s: ${what}`);
}

let T1;
test('a token signed by the CLI verifies with node\'s Ed25519 and the published key', async () => {
  T1 = sign('green', '--minutes', '30');
  assert(/^FK1:C:[A-Z2-7]{135}$/.test(T1), `token shape: ${T1}`);
  const r = await api(S.url, 'GET', '/api/v1/keys');
  eq(r.status, 200);
  assert(/application\/json/.test(r.headers.get('content-type')), 'json');
  eq(r.body.token_prefix, 'FK1:C:');
  eq(r.headers.get('cache-control'), 'public, max-age=5', 'public keys may be cached briefly');
  const rows = sql(S.db, 'SELECT kid, hex(public_key) FROM code_keys ORDER BY kid').split('\n').map(l => l.split('|'));
  eq(r.body.keys.map(k => [k.kid, k.alg, Buffer.from(k.public_key, 'base64').toString('hex').toUpperCase(), k.status]),
    rows.map(([kid, hex]) => [Number(kid), 'Ed25519', hex, 'active']));
  const raw = base32Decode(T1.slice(6));
  eq(raw.length, 84);
  const kid = raw.readUInt16BE(1);
  const key = r.body.keys.find(k => k.kid === kid);
  assert(key, `kid ${kid} is published`);
  assert(edVerify(null, raw.subarray(0, 20), spki(Buffer.from(key.public_key, 'base64')), raw.subarray(20)),
    'node rejects the signature');
});

test('POST /api/v1/verify: valid, with the contents', async () => {
  const r = await verifyApi(T1);
  eq(r.status, 200);
  const raw = base32Decode(T1.slice(6));
  eq([r.body.valid, r.body.reason, r.body.colour, r.body.colour_zh, r.body.kid, r.body.pseudonym],
    [true, 'valid', 'green', '绿码', raw.readUInt16BE(1), raw.subarray(3, 11).toString('hex')]);
  eq(Date.parse(r.body.expires) / 1000, raw.readUInt32BE(16));
  eq(Date.parse(r.body.issued) / 1000, raw.readUInt32BE(12));
  eq(raw.readUInt32BE(16) - raw.readUInt32BE(12), 1800);
  assert(!('id_number' in r.body) && !JSON.stringify(r.body).includes(ID), 'the ID number leaks');
});

test('POST /api/v1/verify: tampered, expired, truncated, garbage, unknown key', async () => {
  let r = await verifyApi(tamper(T1));
  eq([r.status, r.body.valid, r.body.reason], [200, false, 'bad_signature']);
  assert(!('colour' in r.body), 'a forged token shows no colour');
  const old = sign('yellow', '--minutes', '5', '--at', '2022-06-01T08:00:00+08:00');
  r = await verifyApi(old);
  eq([r.body.valid, r.body.reason, r.body.colour, r.body.expires], [false, 'expired', 'yellow', '2022-06-01T08:05:00+08:00']);
  r = await verifyApi(T1.slice(0, 60));
  eq([r.body.valid, r.body.reason], [false, 'malformed']);
  r = await verifyApi('not a token at all');
  eq([r.body.valid, r.body.reason], [false, 'malformed']);
  r = await verifyApi(T1.toLowerCase());
  eq([r.body.valid, r.body.reason], [false, 'malformed']);
  // kid 999 (not in the table): rewrite the kid bytes, keep the rest
  const raw = base32Decode(T1.slice(6)); raw.writeUInt16BE(999, 1);
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, v = 0, s = '';
  for (const b of raw) { v = ((v << 8) | b) & 0xffff; bits += 8; while (bits >= 5) { s += A[(v >>> (bits - 5)) & 31]; bits -= 5; } }
  if (bits) s += A[(v << (5 - bits)) & 31];
  r = await verifyApi('FK1:C:' + s);
  eq([r.body.valid, r.body.reason], [false, 'unknown_key']);
});

test('POST /api/v1/verify: bad bodies are 400, big ones 413', async () => {
  let r = await api(S.url, 'POST', '/api/v1/verify', { raw: '{"token":', headers: { 'content-type': 'application/json' } });
  eq(r.status, 400);
  r = await api(S.url, 'POST', '/api/v1/verify', { body: {} });
  eq(r.status, 400);
  r = await api(S.url, 'POST', '/api/v1/verify', { body: { token: 5 } });
  eq(r.status, 400);
  r = await api(S.url, 'POST', '/api/v1/verify', { body: ['x'] });
  eq(r.status, 400);
  r = await api(S.url, 'POST', '/api/v1/verify', { body: { token: 'A'.repeat(5000) } });
  eq(r.status, 413);
  r = await api(S.url, 'POST', '/api/v1/verify', { raw: 'token=x', headers: { 'content-type': 'text/plain' } });
  assert(r.status === 415 || r.status === 400, `plain text body: ${r.status}`);
});

test('a rotation and a revocation by the CLI reach the running server', async () => {
  fk(['keys', 'rotate', '--db', S.db], { env: S.env });
  await until('key 2 published', async () => (await api(S.url, 'GET', '/api/v1/keys')).body.keys.length === 2);
  const r = await api(S.url, 'GET', '/api/v1/keys');
  eq(r.body.keys.map(k => [k.kid, k.status, k.retired_at !== null, k.revoked_at]), [[1, 'retired', true, null], [2, 'active', false, null]]);
  eq((await verifyApi(T1)).body.reason, 'valid', 'a retired key\'s token still verifies');
  fk(['keys', 'revoke', '1', '--db', S.db], { env: S.env });
  await until('key 1 refused', async () => (await verifyApi(T1)).body.reason === 'revoked_key');
  const v = await verifyApi(T1);
  eq([v.body.valid, v.body.colour], [false, 'green']);
  eq((await api(S.url, 'GET', '/api/v1/keys')).body.keys[0].status, 'revoked');
  const T2 = sign('red', '--minutes', '30');
  eq([(await verifyApi(T2)).body.valid, (await verifyApi(T2)).body.kid], [true, 2]);
});

await run();
