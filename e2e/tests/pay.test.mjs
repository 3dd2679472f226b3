// Paying a payment request: approved card → receipt (+ PDF) → paid link; decline then approve.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DESKTOP, PHONE, open, screenshot, textOf } from '../lib/browser.mjs';
import { CARDS, VISA_4242 } from '../lib/cards.mjs';
import { cardNumbersNeverLogged, e2e, useHarness } from '../lib/harness.mjs';
import { expectLinkStatus, fillCard, payToReceipt, submitExpectingFormError } from '../lib/pay.mjs';

const run = promisify(execFile);
const h = useHarness();

/** Text of a PDF (pdftotext). */
async function pdfText(bytes) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dealerpay-pdf-'));
  try {
    const file = path.join(dir, 'receipt.pdf');
    await writeFile(file, bytes);
    const { stdout } = await run('pdftotext', ['-layout', file, '-'], { timeout: 15_000 });
    return stdout.replace(/[\u00a0\u202f\s]+/g, ' ');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

e2e('the pay page shows the invoice, and fits a phone', async () => {
  const { dealer, invoice, payPath } = await h.api.newPayable({ amount: 125.5 });
  await h.page(async ({ page }) => {
    const res = await open(page, h.server.url(payPath));
    assert.equal(res.status(), 200);
    assert.equal(await textOf(page, '#dealer-name'), dealer.name);
    assert.match(await textOf(page, '#dealer-contact'), /555 0199|service@e2e-motors\.example/);
    assert.match(await textOf(page, '#ro-number'), new RegExp(invoice.orderNumber));
    const vehicle = await textOf(page, '#vehicle');
    for (const part of ['2021', 'Honda', 'Accord']) assert.ok(vehicle.includes(part), `#vehicle "${vehicle}" has ${part}`);
    assert.match(await textOf(page, '#invoice-total'), /\$125\.50/);
    assert.match(await textOf(page, '#amount-paid'), /\$0\.00/);
    assert.match(await textOf(page, '#amount-due'), /\$125\.50/);
    assert.equal(await page.locator('#fee-disclosure').count(), 0, 'no fees, no fee disclosure');
    assert.equal(await page.locator('#pay-amount').count(), 0, 'no partial payments, no amount input');
    const form = page.locator('#pay-form');
    assert.equal((await form.getAttribute('method'))?.toLowerCase(), 'post');
    assert.equal(new URL(await form.evaluate((f) => f.action)).pathname, payPath, 'the form posts to the page');
    const names = { '#card-number': 'cardNumber', '#card-expiry': 'expiry', '#card-cvc': 'cvc', '#card-zip': 'zip', '#card-name': 'holderName' };
    for (const [sel, name] of Object.entries(names)) {
      assert.equal(await page.locator(`#pay-form ${sel}`).getAttribute('name'), name, `${sel} name`);
    }
    await screenshot(page, 'pay-desktop.png');
  }, { viewport: DESKTOP });

  await h.page(async ({ page }) => {
    await open(page, h.server.url(payPath));
    await page.locator('#pay-button').waitFor({ state: 'visible' });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling on a phone (${overflow}px too wide)`);
    await screenshot(page, 'pay-phone.png');
  }, { viewport: PHONE });
});

e2e('the card brand shows while typing and a bad number is caught on blur', async () => {
  const { payPath } = await h.api.newPayable({ amount: 20 });
  await h.page(async ({ page }) => {
    await open(page, h.server.url(payPath));
    await page.locator('#card-number').pressSequentially('4242', { delay: 20 });
    await page.locator('#card-brand').filter({ hasText: /Visa/i }).waitFor({ state: 'visible' });
    await page.fill('#card-number', '4242424242424241');
    await page.locator('#card-number').blur();
    await page.locator('#card-number-error').waitFor({ state: 'visible' });
    assert.ok((await page.locator('#card-number-error').innerText()).trim(), '#card-number-error says why');
  });
});

e2e('an approved card ends on the receipt, with a PDF, and the link then shows paid', async () => {
  // A name in Greek and Cyrillic letters: the PDF embeds a Unicode font, so it prints as typed.
  const { dealer, invoice, payPath } = await h.api.newPayable({
    amount: 125.5,
    dealer: { name: `Αυτοκίνητα Ελένη · Автосалон Ёлка ${Date.now() % 100000}` },
  });
  await h.page(async ({ page, rec }) => {
    await open(page, h.server.url(payPath));
    const tx = await payToReceipt(page, CARDS.approve);

    assert.match(await textOf(page, '#receipt-amount'), /\$125\.50/);
    assert.match(await textOf(page, '#receipt-card'), VISA_4242);
    assert.match(await textOf(page, '#receipt-auth-code'), /[A-Z0-9]{4,}/i);
    assert.ok(await textOf(page, '#receipt-date'), '#receipt-date is filled');
    assert.match(await textOf(page, '#receipt-ro'), new RegExp(invoice.orderNumber));
    await screenshot(page, 'receipt.png');

    // The card went in the POST body, never in a URL (the page wrapper checks every URL).
    const posts = rec.requests.filter((r) => r.method === 'POST' && new URL(r.url).pathname === payPath);
    assert.equal(posts.length, 1, 'one POST to the pay page');

    // The PDF receipt: a download of application/pdf with the payment on it.
    const link = page.locator('a#receipt-pdf');
    const href = await link.getAttribute('href');
    const pdfUrl = new URL(href, page.url());
    assert.equal(pdfUrl.origin, h.server.base);
    assert.equal(pdfUrl.pathname, `${payPath}/receipt/${tx}/pdf`, 'the PDF link (a query such as ?lang= may follow)');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const res = await page.request.get(pdfUrl.href);
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-type'], /^application\/pdf/);
    assert.match(res.headers()['content-disposition'] ?? '', /^attachment/);
    const downloaded = await readFile(await download.path());
    assert.equal(downloaded.subarray(0, 5).toString(), '%PDF-');
    const text = await pdfText(downloaded);
    for (const want of [dealer.name, invoice.orderNumber, '125.50', '4242']) {
      assert.ok(text.includes(want), `the PDF has "${want}": ${text.slice(0, 500)}`);
    }

    // Reopening the link: paid, with a link to the receipt.
    const again = await open(page, h.server.url(payPath));
    assert.equal(again.status(), 200);
    await expectLinkStatus(page, 'paid');
    const hrefs = await page.locator('a.receipt-link').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.ok(hrefs.some((href) => href.includes(`/receipt/${tx}`)), `a receipt link to ${tx}: ${hrefs}`);
  });
});

e2e('a declined card shows an error; another card then pays', async () => {
  const { payPath } = await h.api.newPayable({ amount: 60 });
  await h.page(async ({ page }) => {
    await open(page, h.server.url(payPath));
    await fillCard(page, CARDS.decline);
    const error = await submitExpectingFormError(page);
    assert.equal(new URL(page.url()).pathname, payPath, 'back on the pay page');
    assert.ok(error.length > 3, `#form-error explains the decline: "${error}"`);

    await payToReceipt(page, CARDS.approve);
    assert.match(await textOf(page, '#receipt-amount'), /\$60\.00/);
    assert.match(await textOf(page, '#receipt-card'), VISA_4242);
  });
});

cardNumbersNeverLogged(h);
