// Browser test of the staff verifier (web/verify.html): Debian chromium via
// playwright-core on a phone-sized page.  The page loads the keys once,
// then the network is cut (context.setOffline) and tokens made by
// `fangkong keys sign` (hc_token_issue) are verified in the browser:
// valid green and red, tampered, expired, revoked key, unknown key,
// malformed.  Then the page is reloaded offline (service worker) and still
// verifies.  Screenshots go to build/test-logs/verifier-*.png.
//   node tests/e2e/test_verifier.mjs
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, newPage } from '../lib/browser.mjs';
import { test, run, startServer, api, sql, eq, assert, fk, ROOT } from '../lib/harness.mjs';

const SHOTS = join(ROOT, 'build', 'test-logs');
let srv, browser, page, tokens;

const shot = async name => { mkdirSync(SHOTS, { recursive: true }); await page.screenshot({ path: join(SHOTS, `verifier-${name}.png`), fullPage: true }); };
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function b32dec(s) {
  let bits = 0, v = 0; const out = [];
  for (const c of s) { v = ((v << 5) | B32.indexOf(c)) & 0xffff; bits += 5; if (bits >= 8) { bits -= 8; out.push((v >>> bits) & 255); } }
  return Buffer.from(out);
}
function b32enc(buf) {
  let bits = 0, v = 0, s = '';
  for (const b of buf) { v = ((v << 8) | b) & 0xffff; bits += 8; while (bits >= 5) { bits -= 5; s += B32[(v >>> bits) & 31]; } }
  if (bits) s += B32[(v << (5 - bits)) & 31];
  return s;
}

// fangkong verify --json (exit 1 for an invalid token still prints the JSON)
function cliVerify(t) {
  try { return JSON.parse(fk(['verify', t, '--db', srv.db, '--json'], { env: srv.env })); } catch (e) { return JSON.parse(e.stdout); }
}

// types the token as a keyboard-wedge scanner does, ending with Enter
async function scan(text) {
  await page.fill('#token', '');
  await page.type('#token', text, { delay: 0 });
  await page.keyboard.press('Enter');
  await page.waitForSelector('#result:not([hidden])');
  return page.evaluate(() => ({
    state: document.getElementById('result').dataset.state,
    reason: document.getElementById('result').dataset.reason,
    verdict: document.getElementById('verdict').textContent,
    detail: document.getElementById('detail').textContent,
    facts: document.getElementById('facts').textContent,
  }));
}

test('server, tokens from the CLI, and the page loads its keys', async () => {
  srv = await startServer({ persons: 200, seed: 5 });
  const id = sql(srv.db, 'SELECT id_number FROM persons ORDER BY id LIMIT 1');
  const sign = (colour, ...extra) => fk(['keys', 'sign', '--db', srv.db, '--person', id, '--colour', colour, ...extra], { env: srv.env }).trim();
  const revoked = sign('yellow', '--minutes', '60'); // key 1, revoked below
  fk(['keys', 'rotate', '--db', srv.db], { env: srv.env });
  fk(['keys', 'revoke', '1', '--db', srv.db], { env: srv.env });
  const green = sign('green', '--minutes', '60');
  const red = sign('red', '--minutes', '60');
  const expired = sign('yellow', '--minutes', '5', '--at', '2022-06-01T08:00:00+08:00');
  const i = 120, tampered = green.slice(0, i) + (green[i] === 'A' ? 'B' : 'A') + green.slice(i + 1);
  const raw = b32dec(green.slice(6)); raw.writeUInt16BE(4321, 1);
  const unknown = 'FK1:C:' + b32enc(raw);
  const colourFlip = b32dec(green.slice(6)); colourFlip[11] = 2; // green -> red, signature kept
  tokens = { green, red, expired, tampered, revoked, unknown, forgedRed: 'FK1:C:' + b32enc(colourFlip) };
  // the server has seen the revocation before the page loads its keys
  for (let n = 0; n < 150; n++) {
    const k = await api(srv.url, 'GET', '/api/v1/keys');
    if (k.body.keys.length === 2 && k.body.keys[0].status === 'revoked') break;
    await new Promise(r => setTimeout(r, 100));
  }
  browser = await launchBrowser();
  page = await newPage(browser, { width: 390, height: 844 }, { isMobile: true, hasTouch: true });
  await page.goto(srv.url + '/verify.html');
  await page.waitForSelector('body[data-keys="loaded"]', { timeout: 15000 });
  eq(await page.textContent('h1'), '健康码核验');
  eq(await page.getAttribute('#keytext', 'data-count'), '2', 'both keys stored');
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('fangkong.verify.keys')));
  eq(stored.keys.map(k => [k.kid, k.status]), [[1, 'revoked'], [2, 'active']]);
  await page.waitForSelector('body[data-sw="ready"]', { timeout: 15000 });
  assert(await page.evaluate(() => document.activeElement.id === 'token'), 'the input has the focus for a scanner');
});

test('offline: a valid green token shows 绿码 and its end time', async () => {
  await page.context().setOffline(true);
  assert(await page.evaluate(() => !navigator.onLine), 'the page is offline');
  const r = await scan(tokens.green);
  eq([r.state, r.reason, r.verdict], ['green', 'valid', '绿码']);
  const exp = cliVerify(tokens.green).expires;
  const want = exp.slice(0, 10).replace(/-/g, '/') + ' ' + exp.slice(11, 19);
  assert(r.detail.includes('有效期至') && r.detail.includes(want), `valid until ${want}: ${r.detail}`);
  const bg = await page.$eval('#result', e => getComputedStyle(e).backgroundColor);
  eq(bg, 'rgb(27, 127, 59)', 'a green panel');
  await shot('green');
  const m = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: window.innerWidth }));
  assert(m.sw <= m.iw, `horizontal overflow on a phone: ${m.sw} > ${m.iw}`);
});

test('offline: red, tampered, expired, revoked, unknown key, malformed', async () => {
  let r = await scan(tokens.red);
  eq([r.state, r.verdict], ['red', '红码']);
  await shot('red');
  r = await scan(tokens.tampered);
  eq([r.state, r.reason, r.verdict], ['invalid', 'bad_signature', '无效 · 伪造']);
  await shot('forged');
  r = await scan(tokens.forgedRed);
  eq([r.state, r.reason], ['invalid', 'bad_signature'], 'a colour changed by hand');
  r = await scan(tokens.expired);
  eq([r.state, r.reason, r.verdict], ['invalid', 'expired', '无效 · 过期']);
  assert(r.detail.includes('黄码'), `the expired code's colour is named: ${r.detail}`);
  await shot('expired');
  r = await scan(tokens.revoked);
  eq([r.state, r.reason, r.verdict], ['invalid', 'revoked_key', '无效 · 已吊销']);
  r = await scan(tokens.unknown);
  eq([r.state, r.reason, r.verdict], ['invalid', 'unknown_key', '无效 · 未知密钥']);
  r = await scan(tokens.green.slice(0, 80));
  eq([r.state, r.reason, r.verdict], ['invalid', 'malformed', '无效 · 格式错误']);
  r = await scan('hello world');
  eq(r.reason, 'malformed');
  // the browser agrees with the server's verdict on every token
  for (const [name, t] of Object.entries(tokens)) {
    const cli = cliVerify(t);
    const web = await page.evaluate(x => window.fangkongVerify.check(x, Math.floor(Date.now() / 1000)), t);
    eq(web.reason, cli.reason, `${name}: browser and CLI agree`);
  }
});

test('offline: a pasted token is verified without Enter', async () => {
  await page.fill('#token', '');
  await page.evaluate(() => { document.getElementById('result').hidden = true; });
  await page.focus('#token');
  await page.evaluate(t => {
    const el = document.getElementById('token');
    const dt = new DataTransfer(); dt.setData('text/plain', t);
    el.value = t;
    el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
  }, tokens.red + '\r\n');
  await page.waitForSelector('#result:not([hidden])');
  eq(await page.getAttribute('#result', 'data-state'), 'red');
});

test('offline: the page reloads from the service worker and still verifies', async () => {
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('#token');
  await page.waitForSelector('body[data-keys="cached"]', { timeout: 15000 });
  const r = await scan(tokens.green);
  eq([r.state, r.verdict], ['green', '绿码']);
  r.reason = (await scan(tokens.tampered)).reason;
  eq(r.reason, 'bad_signature');
  await shot('offline-reload');
  await page.context().setOffline(false);
  const errors = page.errors.filter(e => !/ERR_INTERNET_DISCONNECTED|Failed to fetch/.test(e));
  eq(errors, [], 'no script errors');
});

await run();
