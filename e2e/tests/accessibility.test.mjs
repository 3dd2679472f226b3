// Accessibility and page hygiene on the pay page, the receipt and the checkout page:
// labelled controls, contrast, keyboard-only payment, Content-Security-Policy, and (through
// the page wrapper) no console errors and no request leaving 127.0.0.1.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { assertAccessibleBasics, tabOrder, typeByKeyboard } from '../lib/a11y.mjs';
import { open } from '../lib/browser.mjs';
import { CARDS, CARD_DETAILS } from '../lib/cards.mjs';
import { cardNumbersNeverLogged, e2e, useHarness } from '../lib/harness.mjs';
import { startMerchantSite } from '../lib/merchant.mjs';
import { RECEIPT_PATH } from '../lib/pay.mjs';

const h = useHarness();
let shop;
before(async () => {
  shop = await startMerchantSite();
});
after(async () => {
  await shop?.close();
});

function assertCsp(res, what) {
  const csp = res.headers()['content-security-policy'];
  assert.ok(csp && csp.trim(), `${what} sends a Content-Security-Policy header`);
}

const KEYBOARD_VALUES = {
  '#card-number': CARDS.approve,
  '#card-expiry': CARD_DETAILS.expiry,
  '#card-cvc': CARD_DETAILS.cvc,
  '#card-zip': CARD_DETAILS.zip,
};

e2e('the pay page and its receipt: labels, contrast, CSP, keyboard-only payment', async () => {
  const { payPath } = await h.api.newPayable({ amount: 48.2, dealer: { surchargePercent: 3 } });
  await h.page(async ({ page }) => {
    const res = await open(page, h.server.url(payPath));
    assertCsp(res, 'the pay page');
    await page.locator('#pay-form').waitFor({ state: 'visible' });
    await assertAccessibleBasics(page, 'pay page');

    const order = await tabOrder(page);
    const card = order.indexOf('#card-number');
    const button = order.indexOf('#pay-button');
    assert.ok(card >= 0, `Tab reaches #card-number: ${order.join(' → ')}`);
    assert.ok(button > card, `Tab reaches #pay-button after #card-number: ${order.join(' → ')}`);

    await open(page, h.server.url(payPath));
    await typeByKeyboard(page, KEYBOARD_VALUES);
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => RECEIPT_PATH.test(u.pathname), { waitUntil: 'load' });
    await page.locator('#receipt').waitFor({ state: 'visible' });

    const receipt = await open(page, page.url());
    assert.equal(receipt.status(), 200);
    assertCsp(receipt, 'the receipt');
    await assertAccessibleBasics(page, 'receipt');
  });
});

e2e('the checkout page: labels, contrast, CSP', async () => {
  const session = await h.api.newCheckoutSession({ amount: 19.99, successUrl: shop.successUrl, cancelUrl: shop.cancelUrl });
  await h.page(async ({ page }) => {
    const res = await open(page, session.url);
    assertCsp(res, 'the checkout page');
    await page.locator('#pay-form').waitFor({ state: 'visible' });
    await assertAccessibleBasics(page, 'checkout page');
    const order = await tabOrder(page);
    assert.ok(order.indexOf('#card-number') >= 0 && order.indexOf('#pay-button') > order.indexOf('#card-number'),
      `Tab reaches #card-number, then #pay-button: ${order.join(' → ')}`);
  });
});

e2e('the link-status pages (expired) have readable text and a CSP', async () => {
  const { request, payPath } = await h.api.newPayable({ amount: 5 });
  await h.api.expirePaymentRequest(request.guid);
  await h.page(async ({ page }) => {
    const res = await open(page, h.server.url(payPath));
    assertCsp(res, 'the expired-link page');
    await page.locator('#link-status').waitFor({ state: 'visible' });
    await assertAccessibleBasics(page, 'expired-link page');
  });
});

cardNumbersNeverLogged(h);
