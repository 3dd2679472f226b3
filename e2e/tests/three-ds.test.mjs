// 3-D Secure: the sandbox's challenge page on the same server, passed and failed.

import assert from 'node:assert/strict';
import { open, screenshot, textOf } from '../lib/browser.mjs';
import { CARDS, VISA_4242 } from '../lib/cards.mjs';
import { cardNumbersNeverLogged, e2e, useHarness } from '../lib/harness.mjs';
import { RECEIPT_PATH, fillCard, payToReceipt, submitExpecting, visibleFormError } from '../lib/pay.mjs';

const CHALLENGE_PATH = /^\/sandbox\/challenge\/[0-9a-f]{32}$/;

const h = useHarness();

/** Pays with the 3-D Secure card and waits on the challenge page (same server). */
async function reachChallenge(page, payPath) {
  await open(page, h.server.url(payPath));
  await fillCard(page, CARDS.threeDS);
  await submitExpecting(page, CHALLENGE_PATH);
  assert.equal(new URL(page.url()).origin, h.server.base, 'the challenge is served by the same server');
}

function answer(page, name) {
  return page.getByRole('button', { name });
}

e2e('3-D Secure passed ends on the receipt', async () => {
  const { invoice, payPath } = await h.api.newPayable({ amount: 75.25 });
  await h.page(async ({ page }) => {
    await reachChallenge(page, payPath);
    await answer(page, 'Complete authentication').waitFor({ state: 'visible' });
    await answer(page, 'Fail authentication').waitFor({ state: 'visible' });
    await screenshot(page, 'three-ds.png');
    await answer(page, 'Complete authentication').click();
    await page.waitForURL((u) => RECEIPT_PATH.test(u.pathname) && u.pathname.startsWith(payPath));
    await page.locator('#receipt').waitFor({ state: 'visible' });
    assert.match(await textOf(page, '#receipt-amount'), /\$75\.25/);
    assert.match(await textOf(page, '#receipt-card'), /Visa\b.*3220/);
    assert.match(await textOf(page, '#receipt-ro'), new RegExp(invoice.orderNumber));
  });
});

e2e('3-D Secure failed returns to the pay page with an error, and the form still works', async () => {
  const { payPath } = await h.api.newPayable({ amount: 33 });
  await h.page(async ({ page }) => {
    await reachChallenge(page, payPath);
    await answer(page, 'Fail authentication').click();
    // Back on the pay link (the exact path after /pay/{guid} is the page's choice).
    await page.waitForURL((u) => u.pathname.startsWith(payPath));
    assert.ok(!RECEIPT_PATH.test(new URL(page.url()).pathname), 'no receipt for a failed authentication');
    const error = await visibleFormError(page);
    assert.ok(error.length > 3, `#form-error says authentication failed: "${error}"`);
    assert.ok(await page.locator('#pay-form').isVisible(), 'the form is shown again');
    assert.ok(await page.locator('#card-number').isEditable(), 'the card number can be typed again');

    await payToReceipt(page, CARDS.approve);
    assert.match(await textOf(page, '#receipt-card'), VISA_4242);
    assert.match(await textOf(page, '#receipt-amount'), /\$33\.00/);
  });
});

cardNumbersNeverLogged(h);
