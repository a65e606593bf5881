// verify-sw.js — service worker of the offline verifier (scope /verify, so
// it controls verify.html only, never the main application).  The page,
// its script, tweetnacl and the published keys are cached; each is fetched
// from the network first (so updates and revocations arrive at once when
// online) and answered from the cache when the network is down.  POSTs and
// every other URL pass straight through.
'use strict';

const CACHE = 'fangkong-verify-v1';
const SHELL = ['/verify.html', '/js/verify.js', '/vendor/nacl-fast.min.js', '/favicon.svg'];
const KEYS = '/api/v1/keys';

self.addEventListener('install', ev => {
  // the keys too: the page fetched them before this worker controlled it
  ev.waitUntil(caches.open(CACHE)
    .then(c => c.addAll(SHELL).then(() => c.add(KEYS).catch(() => { /* the page keeps its own copy */ })))
    .then(() => self.skipWaiting()));
});

self.addEventListener('activate', ev => {
  ev.waitUntil(caches.keys()
    .then(names => Promise.all(names.filter(n => n.startsWith('fangkong-verify-') && n !== CACHE).map(n => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', ev => {
  const req = ev.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (!SHELL.includes(url.pathname) && url.pathname !== KEYS) return;
  ev.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const r = await fetch(url.pathname, { cache: 'no-store' }); // a navigation Request cannot take options
      if (r.ok) await cache.put(url.pathname, r.clone());
      return r;
    } catch (e) {
      const hit = await cache.match(url.pathname);
      if (hit) return hit;
      throw e;
    }
  })());
});
