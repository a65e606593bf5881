// tests/lib/browser.mjs — Debian chromium through playwright-core, shared by
// the browser suites.  No downloaded browser: /usr/bin/chromium with the
// flags that keep it off the network.
import { chromium } from 'playwright-core';
import { onCleanup } from './harness.mjs';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Launches chromium, closed when the suite's cleanups run.
export async function launchBrowser() {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  onCleanup(() => browser.close());
  return browser;
}

// A page in its own context (zh-CN) that collects script errors and
// console errors in page.errors.
export async function newPage(browser, viewport, extra = {}) {
  const ctx = await browser.newContext({ viewport, locale: 'zh-CN', ...extra });
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', e => page.errors.push(String(e)));
  page.on('console', m => { if (m.type() === 'error') page.errors.push(m.text()); });
  return page;
}
