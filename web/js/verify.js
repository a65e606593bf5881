// verify.js — the offline health-code verifier for venue staff (verify.html).
//
// A token is "FK1:C:" + base32 (RFC 4648, no padding, 135 characters) of a
// 20-byte payload and its 64-byte Ed25519 signature.  Payload, big-endian:
// version 1 (1 byte), key id (2), pseudonym (8), colour 0 green / 1 yellow /
// 2 red (1), issued (4, Unix seconds), expires (4).  Everything is checked
// here with tweetnacl and the keys of GET /api/v1/keys, kept in
// localStorage, so the page keeps verifying with the network cut; the
// device clock decides expiry (valid while now < expires).  The reasons are
// the server's words (src/healthcode/token.c): malformed, unknown_key,
// bad_signature, revoked_key, expired.
/* global nacl */
'use strict';

(function () {
  const PREFIX = 'FK1:C:';
  const CHARS = 135;
  const RAW = 84;
  const STORE = 'fangkong.verify.keys';
  const REFRESH_MS = 60 * 1000;
  const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const COLOURS = [
    { cls: 'green', zh: '绿码', en: 'Green' },
    { cls: 'yellow', zh: '黄码', en: 'Yellow' },
    { cls: 'red', zh: '红码', en: 'Red' },
  ];
  const REASONS = {
    malformed: ['格式错误', 'Not a health code (malformed or cut off)'],
    unknown_key: ['未知密钥', 'Unknown signing key: update the keys when online'],
    bad_signature: ['伪造', 'Forged or altered: the signature does not match'],
    revoked_key: ['已吊销', 'Signed with a revoked key'],
    expired: ['过期', 'Expired: ask for a fresh code'],
  };

  const $ = id => document.getElementById(id);
  let keys = null; // { fetched_at, keys: [{kid, public_key, status}] }

  // ---- base32, strict: 135 characters, spare bits zero
  function base32Decode(s) {
    const out = new Uint8Array(RAW);
    let v = 0, bits = 0, o = 0;
    for (let i = 0; i < s.length; i++) {
      const d = B32.indexOf(s[i]);
      if (d < 0) return null;
      v = ((v << 5) | d) & 0xffff;
      bits += 5;
      if (bits >= 8) { bits -= 8; if (o < RAW) out[o++] = (v >>> bits) & 255; }
    }
    if (o !== RAW || (v & ((1 << bits) - 1)) !== 0) return null;
    return out;
  }

  function b64(s) {
    const bin = atob(s);
    const u = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
    return u;
  }

  const u32 = (b, i) => ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
  const hex = b => Array.from(b, x => x.toString(16).padStart(2, '0')).join('');

  // Returns { valid, reason, token: {kid, colour, issued, expires, pseudonym} | null }
  function check(text, nowSec) {
    const bad = reason => ({ valid: false, reason, token: null });
    if (typeof text !== 'string' || !text.startsWith(PREFIX) || text.length !== PREFIX.length + CHARS) return bad('malformed');
    const raw = base32Decode(text.slice(PREFIX.length));
    if (!raw || raw[0] !== 1) return bad('malformed');
    const payload = raw.subarray(0, 20), sig = raw.subarray(20);
    const t = {
      kid: (raw[1] << 8) | raw[2], pseudonym: hex(raw.subarray(3, 11)), colour: raw[11],
      issued: u32(raw, 12), expires: u32(raw, 16),
    };
    const key = keys && keys.keys.find(k => k.kid === t.kid);
    if (!key) return bad('unknown_key');
    let pk;
    try { pk = b64(key.public_key); } catch { return bad('unknown_key'); }
    if (pk.length !== 32 || !nacl.sign.detached.verify(payload, sig, pk)) return bad('bad_signature');
    if (t.colour > 2) return bad('malformed');
    if (key.status === 'revoked') return { valid: false, reason: 'revoked_key', token: t };
    if (nowSec >= t.expires) return { valid: false, reason: 'expired', token: t };
    return { valid: true, reason: 'valid', token: t };
  }

  const fmt = sec => new Date(sec * 1000).toLocaleString('zh-CN', {
    timeZone: 'Asia/Shanghai', hour12: false, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  });

  function show(r) {
    const box = $('result');
    box.hidden = false;
    const t = r.token;
    if (r.valid) {
      const c = COLOURS[t.colour];
      box.className = c.cls;
      box.dataset.state = c.cls;
      $('verdict').textContent = c.zh;
      $('verdict-en').textContent = c.en + ' · valid';
      $('detail').textContent = '有效期至 ' + fmt(t.expires);
      $('detail-en').textContent = 'Valid until ' + fmt(t.expires) + ' (UTC+8)';
    } else {
      const [zh, en] = REASONS[r.reason];
      box.className = 'invalid';
      box.dataset.state = 'invalid';
      $('verdict').textContent = '无效 · ' + zh;
      $('verdict-en').textContent = 'INVALID';
      $('detail').textContent = t ? `码面颜色 ${COLOURS[t.colour].zh}，不可采信` : '请对方重新出示健康码';
      $('detail-en').textContent = en;
    }
    box.dataset.reason = r.reason;
    $('facts').textContent = t
      ? `签发 ${fmt(t.issued)} · 到期 ${fmt(t.expires)} · 密钥 ${t.kid} · 编号 ${t.pseudonym}`
      : '';
  }

  // ---- keys: from the network when it answers, else from localStorage
  function loadStored() {
    try {
      const s = JSON.parse(localStorage.getItem(STORE) || 'null');
      if (s && Array.isArray(s.keys)) keys = s;
    } catch { /* ignore a damaged entry */ }
  }

  function showKeyState(online) {
    $('keystate').classList.toggle('offline', !online);
    $('nettext').textContent = online ? '在线' : '离线 offline';
    if (!keys) {
      $('keytext').textContent = '尚无密钥，请联网后刷新 · no keys yet: connect once';
      $('keystate').classList.add('stale');
      return;
    }
    $('keystate').classList.remove('stale');
    const when = fmt(Math.floor(keys.fetched_at / 1000));
    const n = keys.keys.filter(k => k.status !== 'revoked').length;
    $('keytext').textContent = `密钥 ${n} 个 · 更新于 ${when}`;
    $('keytext').dataset.count = String(keys.keys.length);
  }

  async function refreshKeys() {
    if (!navigator.onLine) { // the stored copy; its time stays the time it was fetched
      showKeyState(false);
      if (keys) document.body.dataset.keys = 'cached';
      return;
    }
    try {
      const r = await fetch('/api/v1/keys', { cache: 'no-store' });
      if (!r.ok) throw new Error('status ' + r.status);
      const j = await r.json();
      if (!Array.isArray(j.keys)) throw new Error('no keys');
      keys = { fetched_at: Date.now(), keys: j.keys.map(k => ({ kid: k.kid, public_key: k.public_key, status: k.status })) };
      try { localStorage.setItem(STORE, JSON.stringify(keys)); } catch { /* private mode: memory only */ }
      showKeyState(true);
      document.body.dataset.keys = 'loaded';
    } catch {
      showKeyState(false);
      if (keys) document.body.dataset.keys = 'cached';
    }
  }

  function submit(ev) {
    if (ev) ev.preventDefault();
    const input = $('token');
    const text = input.value.replace(/\s+/g, '');
    if (!text) return;
    if (typeof nacl === 'undefined') { show({ valid: false, reason: 'malformed', token: null }); return; }
    show(check(text, Math.floor(Date.now() / 1000)));
    input.select(); // the next scan replaces this one
  }

  function start() {
    loadStored();
    showKeyState(navigator.onLine);
    if (keys) document.body.dataset.keys = 'cached';
    refreshKeys();
    setInterval(() => { if (navigator.onLine) refreshKeys(); }, REFRESH_MS);
    window.addEventListener('online', refreshKeys);
    window.addEventListener('offline', () => showKeyState(false));
    $('verify-form').addEventListener('submit', submit);
    $('refresh').addEventListener('click', refreshKeys);
    $('token').addEventListener('paste', () => setTimeout(submit, 0));
    $('token').focus();
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('/verify-sw.js', { scope: '/verify' })
        .then(() => navigator.serviceWorker.ready)
        .then(() => { document.body.dataset.sw = 'ready'; })
        .catch(() => { document.body.dataset.sw = 'none'; });
    }
  }

  window.fangkongVerify = { check }; // for tests and the console
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
