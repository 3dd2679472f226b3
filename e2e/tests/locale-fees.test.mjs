// Locales (request locale and ?lang=), the fee disclosure, and partial payments.

import assert from 'node:assert/strict';
import { htmlLang, open, textOf } from '../lib/browser.mjs';
import { CARDS } from '../lib/cards.mjs';
import { cardNumbersNeverLogged, e2e, useHarness } from '../lib/harness.mjs';
import { payToReceipt } from '../lib/pay.mjs';

const h = useHarness();

e2e('the request locale and ?lang= choose the language and number format', async () => {
  const { payPath } = await h.api.newPayable({ amount: 1234.56, request: { locale: 'es' } });
  await h.page(async ({ page }) => {
    assert.equal((await open(page, h.server.url(payPath))).status(), 200);
    assert.equal(await htmlLang(page), 'es', 'a request created with locale es renders in Spanish');
    await page.locator('#pay-form').waitFor({ state: 'visible' });
    const es = await page.locator('#pay-button').innerText();

    assert.equal((await open(page, h.server.url(`${payPath}?lang=fr-CA`))).status(), 200);
    assert.equal(await htmlLang(page), 'fr-CA');
    const due = await textOf(page, '#amount-due');
    assert.match(due, /1 234,56 \$/, `French-Canadian amount format: "${due}"`);
    const fr = await page.locator('#pay-button').innerText();

    assert.equal((await open(page, h.server.url(`${payPath}?lang=en`))).status(), 200);
    assert.equal(await htmlLang(page), 'en');
    assert.match(await textOf(page, '#amount-due'), /\$1,234\.56/);
    const en = await page.locator('#pay-button').innerText();
    assert.equal(new Set([es, fr, en]).size, 3, `the pay button is translated: ${[es, fr, en].join(' | ')}`);
  });
});

e2e('a surcharging dealer discloses the fee percent and amount', async () => {
  const { payPath } = await h.api.newPayable({ amount: 100, dealer: { surchargePercent: 3 } });
  await h.page(async ({ page }) => {
    await open(page, h.server.url(payPath));
    const fee = await textOf(page, '#fee-disclosure');
    assert.match(fee, /\b3(\.0+)?\s?%/, `the surcharge percent: "${fee}"`);
    assert.match(fee, /\$3\.00/, `the surcharge amount: "${fee}"`);
  });
});

e2e('a dual-pricing dealer discloses card and cash price', async () => {
  const { payPath } = await h.api.newPayable({ amount: 100, dealer: { dualPricingPercent: 4 } });
  await h.page(async ({ page }) => {
    await open(page, h.server.url(payPath));
    const fee = await textOf(page, '#fee-disclosure');
    assert.match(fee, /\$104\.00/, `the card price: "${fee}"`);
    assert.match(fee, /\$100\.00/, `the cash price: "${fee}"`);
  });
});

e2e('a dealer allowing partial payments lets the customer pay part, then shows the rest due', async () => {
  const { payPath } = await h.api.newPayable({ amount: 200, dealer: { allowPartialPayments: true } });
  await h.page(async ({ page }) => {
    await open(page, h.server.url(payPath));
    const amount = page.locator('#pay-amount');
    await amount.waitFor({ state: 'visible' });
    assert.equal(await amount.getAttribute('name'), 'amount');
    await payToReceipt(page, CARDS.approve, { amount: '50.00' });
    assert.match(await textOf(page, '#receipt-amount'), /\$50\.00/);

    assert.equal((await open(page, h.server.url(payPath))).status(), 200);
    assert.match(await textOf(page, '#amount-paid'), /\$50\.00/);
    assert.match(await textOf(page, '#amount-due'), /\$150\.00/);
  });
});

cardNumbersNeverLogged(h);
