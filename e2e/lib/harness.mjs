// Wiring for one test file: a seeded server and one browser for the whole file (each test
// opens its own context through withPage), torn down after the file.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Api } from './api.mjs';
import { launchBrowser, withPage } from './browser.mjs';
import { ALL_CARD_NUMBERS } from './cards.mjs';
import { startServer } from './server.mjs';

/** Per-test time limit: a few navigations at ≤ 30 s each, plus setup. */
export const TEST_TIMEOUT_MS = 120_000;

/**
 * Registers before/after hooks and returns the harness they fill in:
 *   h.server  (startServer()), h.api (Api), h.browser (playwright Browser),
 *   h.page(fn, opts) — withPage(h.browser, fn, opts).
 */
export function useHarness() {
  const h = {
    server: null,
    api: null,
    browser: null,
    page: (fn, opts) => withPage(h.browser, fn, opts),
  };
  before(async () => {
    h.server = await startServer();
    h.api = new Api(h.server);
    h.browser = await launchBrowser();
  }, { timeout: 120_000 });
  after(async () => {
    await h.browser?.close();
    await h.server?.stop();
  }, { timeout: 60_000 });
  return h;
}

/** test() with the suite's time limit. */
export function e2e(name, fn) {
  return test(name, { timeout: TEST_TIMEOUT_MS }, fn);
}

/**
 * The last test of a file: the server's log (everything it wrote while the file's tests
 * ran) holds no test card number, spaced, dashed or form-encoded or not.
 */
export function cardNumbersNeverLogged(h) {
  e2e('the server log holds no card number', async () => {
    const log = await h.server.log();
    assert.match(log, /dealerpay listening/, 'the server log was captured');
    // Also as a form body would carry it: "4242+4242…" or "4242%204242…".
    const digitsOnly = log.replace(/%20/g, '').replace(/[ +\-\u00a0\u202f]/g, '');
    for (const card of ALL_CARD_NUMBERS) {
      assert.ok(!digitsOnly.includes(card), `the server log contains the card number ${card}`);
    }
  });
}
