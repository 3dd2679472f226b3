// The harness itself: the server starts on the chosen database, the API helpers arrange data,
// and Chromium loads a customer page. These pass before the pay-page work lands.

import assert from 'node:assert/strict';
import { open } from '../lib/browser.mjs';
import { cardNumbersNeverLogged, e2e, useHarness } from '../lib/harness.mjs';

const h = useHarness();

e2e('the demo data is seeded and the server is ready', async () => {
  const d = h.server.demo;
  for (const key of ['dealerUuid', 'invoiceGuid', 'paymentRequestGuid', 'payUrl', 'shortUrl']) {
    assert.ok(d[key], `demo --json has ${key}`);
  }
  assert.equal(d.payUrl, h.server.url(`/pay/${d.paymentRequestGuid}`));
  const r = await fetch(h.server.url('/readyz'));
  assert.equal(r.status, 200);
});

e2e('the API helpers arrange a dealer, an invoice, a payment request and a checkout session', async () => {
  const { dealer, invoice, request } = await h.api.newPayable({ amount: 99.95, request: { locale: 'es', ttl: 3600 } });
  assert.equal(request.amount, 99.95);
  assert.equal(request.locale, 'es');
  assert.equal(request.invoiceGuid, invoice.invoiceGuid);
  assert.equal(request.payUrl, h.server.url(`/pay/${request.guid}`));
  const got = await h.api.getPaymentRequest(request.guid);
  assert.ok(JSON.stringify(got).includes(request.guid));
  assert.ok(dealer.dealerUuid);

  const session = await h.api.newCheckoutSession({
    amount: 12.34,
    successUrl: 'http://127.0.0.1:9/ok',
    cancelUrl: 'http://127.0.0.1:9/no',
  });
  assert.match(session.id, /^cs_/);
  assert.equal(session.url, h.server.url(`/checkout/${session.id}`));
  assert.equal(session.status, 'open');
});

e2e('Chromium opens the demo pay link', async () => {
  await h.page(async ({ page }) => {
    const res = await open(page, h.server.demo.payUrl);
    assert.equal(res.status(), 200);
    assert.ok(res.headers()['content-security-policy'], 'the page sends a Content-Security-Policy');
    assert.match(await page.locator('body').innerText(), /Demo Motors/);
  });
});

e2e('the short link redirects the browser to the pay page', async () => {
  await h.page(async ({ page }) => {
    const res = await open(page, h.server.demo.shortUrl);
    assert.equal(res.status(), 200);
    assert.equal(new URL(page.url()).pathname, `/pay/${h.server.demo.paymentRequestGuid}`);
  });
});

cardNumbersNeverLogged(h);
