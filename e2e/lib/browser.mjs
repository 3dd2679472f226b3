// Headless Chromium (the system's /usr/bin/chromium) through playwright-core, and a page
// wrapper that every test uses: it records console errors, page errors and every request,
// and fails the test if the page logged an error, talked to a host other than 127.0.0.1,
// or put a test card number into a URL.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { ALL_CARD_NUMBERS } from './cards.mjs';

export const NAVIGATION_TIMEOUT_MS = 30_000;
export const ACTION_TIMEOUT_MS = 15_000;

export const SCREENSHOT_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'screenshots');

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 360, height: 740 };

const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.E2E_CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    timeout: NAVIGATION_TIMEOUT_MS,
  });
}

// Chromium reports an HTTP error status of a resource as a console error. For the document
// itself that is the page's status, which tests assert directly (410 for a dead link), so
// it is not counted; the same message for a sub-resource (a script, a stylesheet) is. Nor is
// it counted for /favicon.ico, which the browser asks for on its own (not the page) when a
// page declares no icon.
const RESOURCE_STATUS = /^Failed to load resource: the server responded with a status of \d+/;
const isFavicon = (url) => {
  try {
    return new URL(url).pathname === '/favicon.ico';
  } catch {
    return false;
  }
};

function safeDecode(url) {
  try {
    return decodeURIComponent(url);
  } catch {
    return url.replace(/%20/g, ' ');
  }
}

/** Records what a browser context does; `problems()` lists what breaks the rules. */
class Recorder {
  constructor(context) {
    this.consoleErrors = [];
    this.pageErrors = [];
    this.requests = [];
    this.failedDocuments = new Set();
    context.on('console', (msg) => {
      if (msg.type() === 'error') this.consoleErrors.push({ text: msg.text(), url: msg.location()?.url ?? '' });
    });
    context.on('weberror', (e) => this.pageErrors.push(String(e.error()?.stack ?? e.error())));
    context.on('request', (req) => {
      this.requests.push({ method: req.method(), url: req.url(), navigation: req.isNavigationRequest() });
    });
    context.on('response', (res) => {
      if (res.status() >= 400 && res.request().isNavigationRequest()) this.failedDocuments.add(res.url());
    });
  }

  problems() {
    const out = [];
    for (const e of this.pageErrors) out.push(`page error: ${e}`);
    for (const c of this.consoleErrors) {
      if (RESOURCE_STATUS.test(c.text) && (this.failedDocuments.has(c.url) || isFavicon(c.url))) continue;
      out.push(`console error: ${c.text}${c.url ? ` (${c.url})` : ''}`);
    }
    for (const r of this.requests) {
      const u = new URL(r.url);
      if (['data:', 'blob:', 'about:'].includes(u.protocol)) continue;
      if (u.hostname !== '127.0.0.1') out.push(`request to a third-party host: ${r.method} ${r.url}`);
    }
    for (const r of this.requests) {
      const digits = safeDecode(r.url).replace(/[\s+-]/g, '');
      for (const card of ALL_CARD_NUMBERS) {
        if (digits.includes(card)) out.push(`card number in a URL: ${r.method} ${r.url}`);
      }
    }
    return out;
  }
}

/**
 * Runs `fn({ page, context, rec })` in a fresh context of `browser`, then fails if the page
 * broke a rule (see Recorder). Options: viewport (default desktop), locale (default en-US).
 */
export async function withPage(browser, fn, { viewport = DESKTOP, locale = 'en-US' } = {}) {
  const context = await browser.newContext({ viewport, locale, acceptDownloads: true });
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  const rec = new Recorder(context);
  const page = await context.newPage();
  try {
    await fn({ page, context, rec });
  } catch (e) {
    const problems = rec.problems();
    if (problems.length) e.message += `\nThe page also reported:\n  ${problems.join('\n  ')}`;
    e.message += `\n(page was at ${page.url()})`;
    throw e;
  } finally {
    await context.close();
  }
  const problems = rec.problems();
  assert.deepEqual(problems, [], `the page broke the rules:\n  ${problems.join('\n  ')}`);
}

/** Opens `url`; returns the document response (never null). */
export async function open(page, url) {
  const res = await page.goto(url, { waitUntil: 'load' });
  assert.ok(res, `no response for ${url}`);
  return res;
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, name), fullPage: true });
}

/** Visible text of `selector`, whitespace (also no-break and narrow no-break spaces) collapsed. */
export async function textOf(page, selector) {
  const loc = page.locator(selector);
  await loc.waitFor({ state: 'visible' });
  return normalize(await loc.innerText());
}

export function normalize(s) {
  return s.replace(/[\u00a0\u202f\s]+/g, ' ').trim();
}

/** The `lang` attribute of the document element. */
export function htmlLang(page) {
  return page.locator('html').getAttribute('lang');
}
