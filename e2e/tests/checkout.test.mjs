// Hosted checkout: pay a session and return to the merchant; cancel link; finished sessions.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { open, screenshot, textOf } from '../lib/browser.mjs';
import { CARDS } from '../lib/cards.mjs';
import { cardNumbersNeverLogged, e2e, useHarness } from '../lib/harness.mjs';
import { startMerchantSite } from '../lib/merchant.mjs';
import { fillCard } from '../lib/pay.mjs';

const h = useHarness();
let shop;
before(async () => {
  shop = await startMerchantSite();
});
after(async () => {
  await shop?.close();
});

function newSession(amount = 42.5) {
  return h.api.newCheckoutSession({ amount, successUrl: shop.successUrl, cancelUrl: shop.cancelUrl });
}

async function expectSessionStatus(page, status) {
  const el = page.locator('#session-status');
  await el.waitFor({ state: 'visible' });
  assert.equal(await el.getAttribute('data-status'), status, '#session-status data-status');
  assert.equal(await page.locator('#pay-form').count(), 0, 'a finished session has no #pay-form');
}

e2e('a paid checkout session returns to the merchant with session_id and is then complete', async () => {
  const session = await newSession(42.5);
  await h.page(async ({ page }) => {
    const res = await open(page, session.url);
    assert.equal(res.status(), 200);
    assert.equal(await textOf(page, '#merchant-name'), session.merchant.name);
    assert.match(await textOf(page, '#checkout-amount'), /\$42\.50/);
    assert.equal(await page.locator('a#cancel-link').getAttribute('href'), shop.cancelUrl);
    await page.locator('#pay-form #pay-button').waitFor({ state: 'visible' });
    await screenshot(page, 'checkout.png');

    await fillCard(page, CARDS.approve);
    await page.locator('#pay-button').click();
    await page.waitForURL((u) => u.href.startsWith(shop.successUrl));
    const landed = new URL(page.url());
    assert.equal(landed.searchParams.get('session_id'), session.id);
    assert.match(await textOf(page, '#merchant-page'), /Merchant success/);

    await open(page, session.url);
    await expectSessionStatus(page, 'complete');
  });
  const s = await h.api.getCheckoutSession(session);
  assert.equal(s.status, 'succeeded', 'the API agrees the session is paid');
});

e2e('the cancel link goes back to the merchant', async () => {
  const session = await newSession(10);
  await h.page(async ({ page }) => {
    await open(page, session.url);
    await page.locator('a#cancel-link').click();
    await page.waitForURL((u) => u.href.startsWith(shop.cancelUrl));
    assert.match(await textOf(page, '#merchant-page'), /Merchant cancel/);
  });
});

e2e('canceled and expired sessions say so', async () => {
  const canceled = await newSession(11);
  await h.api.endCheckoutSession(canceled, 'cancel');
  const expired = await newSession(12);
  await h.api.endCheckoutSession(expired, 'expire');
  await h.page(async ({ page }) => {
    await open(page, canceled.url);
    await expectSessionStatus(page, 'canceled');
    await open(page, expired.url);
    await expectSessionStatus(page, 'expired');
  });
});

cardNumbersNeverLogged(h);
