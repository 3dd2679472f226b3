// Helpers for the customer pages' card form (the pay page and the hosted checkout page share
// its ids) and for the pages a payment leads to.

import assert from 'node:assert/strict';
import { CARD_DETAILS } from './cards.mjs';

export const RECEIPT_PATH = /^\/pay\/[0-9a-f-]{36}\/receipt\/([^/?#]+)$/;

/**
 * Fills the card form. `amount` goes into #pay-amount (partial payments only). The optional
 * holder name is filled when the page has the field.
 */
export async function fillCard(page, number, { amount, ...details } = {}) {
  const d = { ...CARD_DETAILS, ...details };
  await page.fill('#card-number', number);
  await page.fill('#card-expiry', d.expiry);
  await page.fill('#card-cvc', d.cvc);
  await page.fill('#card-zip', d.zip);
  if ((await page.locator('#card-name').count()) > 0) await page.fill('#card-name', d.name);
  if (amount !== undefined) await page.fill('#pay-amount', String(amount));
}

/** Clicks #pay-button and waits until the browser is on a URL whose path matches `path`. */
export async function submitExpecting(page, path) {
  await page.locator('#pay-button').click();
  await page.waitForURL((u) => path.test(u.pathname), { waitUntil: 'load' });
}

/** Pays on the current pay page and waits for the receipt; returns the transaction uuid. */
export async function payToReceipt(page, number, opts) {
  await fillCard(page, number, opts);
  await submitExpecting(page, RECEIPT_PATH);
  await page.locator('#receipt').waitFor({ state: 'visible' });
  return transactionOf(page);
}

/** The transaction uuid of the receipt the page is on. */
export function transactionOf(page) {
  const m = new URL(page.url()).pathname.match(RECEIPT_PATH);
  assert.ok(m, `not on a receipt: ${page.url()}`);
  return m[1];
}

/**
 * Clicks #pay-button for a payment that must fail and waits for the visible #form-error;
 * returns its text.
 */
export async function submitExpectingFormError(page) {
  await page.locator('#pay-button').click();
  return visibleFormError(page);
}

export async function visibleFormError(page) {
  const err = page.locator('#form-error');
  await err.waitFor({ state: 'visible' });
  await page.waitForLoadState('load');
  assert.equal(await err.getAttribute('role'), 'alert', '#form-error has role="alert"');
  const text = (await err.innerText()).trim();
  assert.ok(text.length > 0, '#form-error says what went wrong');
  return text;
}

/** Asserts the page shows #link-status with `status`; returns the element's locator. */
export async function expectLinkStatus(page, status) {
  const el = page.locator('#link-status');
  await el.waitFor({ state: 'visible' });
  assert.equal(await el.getAttribute('data-status'), status, '#link-status data-status');
  assert.equal(await page.locator('#pay-form').count(), 0, 'a link that cannot be paid has no #pay-form');
  return el;
}
