// Links that cannot be paid: expired and obsolete (410), closed repair order (200).

import assert from 'node:assert/strict';
import { open } from '../lib/browser.mjs';
import { cardNumbersNeverLogged, e2e, useHarness } from '../lib/harness.mjs';
import { expectLinkStatus } from '../lib/pay.mjs';

const h = useHarness();

e2e('an expired link answers 410 and says it expired', async () => {
  const { request, payPath } = await h.api.newPayable({ amount: 40 });
  await h.api.expirePaymentRequest(request.guid);
  await h.page(async ({ page }) => {
    const res = await open(page, h.server.url(payPath));
    assert.equal(res.status(), 410);
    const status = await expectLinkStatus(page, 'expired');
    assert.ok((await status.innerText()).trim(), '#link-status explains');
  });
});

e2e('a link replaced by a newer one answers 410 obsolete; the newer one is payable', async () => {
  const dealer = await h.api.newDealer();
  const invoice = await h.api.newInvoice(dealer, 80);
  const first = await h.api.newPaymentRequest(dealer, invoice);
  const second = await h.api.newPaymentRequest(dealer, invoice);
  await h.page(async ({ page }) => {
    const res = await open(page, h.server.url(`/pay/${first.guid}`));
    assert.equal(res.status(), 410);
    await expectLinkStatus(page, 'obsolete');

    const newer = await open(page, h.server.url(`/pay/${second.guid}`));
    assert.equal(newer.status(), 200);
    await page.locator('#pay-form').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#link-status').count(), 0, 'a payable link has no #link-status');
  });
});

e2e('a link for a closed repair order answers 200 closed', async () => {
  const dealer = await h.api.newDealer();
  const invoice = await h.api.newInvoice(dealer, 55);
  const request = await h.api.newPaymentRequest(dealer, invoice);
  await h.api.closeOrder(invoice);
  await h.page(async ({ page }) => {
    const res = await open(page, h.server.url(`/pay/${request.guid}`));
    assert.equal(res.status(), 200);
    await expectLinkStatus(page, 'closed');
  });
});

e2e('an unknown link answers 404 with a page, not an API error', async () => {
  await h.page(async ({ page }) => {
    const res = await open(page, h.server.url('/pay/00000000-0000-4000-8000-000000000000'));
    assert.equal(res.status(), 404);
    assert.match(res.headers()['content-type'], /^text\/html/);
    assert.equal(await page.locator('#pay-form').count(), 0);
  });
});

cardNumbersNeverLogged(h);
