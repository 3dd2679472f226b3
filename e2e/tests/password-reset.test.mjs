// The merchant's password reset, end to end: the reset request, the link as the outbox sends
// it (rebuilt with the server's key; the database holds none), the reset page in the browser,
// sign-in with the new password, and the link refusing a second use.

import assert from 'node:assert/strict';
import { open, textOf } from '../lib/browser.mjs';
import { e2e, useHarness } from '../lib/harness.mjs';

const h = useHarness();

async function newMerchantUser() {
  const m = await h.api.newMerchant({ name: 'Reset Motors' });
  const email = `ops-${m.ns}@shop.example`;
  await h.api.call('POST', `/payment/checkout/v1/namespaces/${m.ns}/users`, {
    expect: [201],
    token: m.accessToken,
    body: { email, password: 'the first passphrase' },
  });
  return { ...m, email };
}

async function resetLinkFor(email) {
  const out = await h.server.admin(['outbox']);
  const messages = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const mine = messages.filter((m) => m.kind === 'password_reset' && m.recipient === email);
  assert.equal(mine.length, 1, `one reset message for ${email}: ${out}`);
  return mine[0].body.resetUrl;
}

async function login(m, password) {
  const r = await h.api.send('POST', `/payment/checkout/v1/namespaces/${m.ns}/users/login`, {
    token: null,
    body: { email: m.email, password },
  });
  return r.status;
}

e2e('a merchant resets its password on the reset page, once', async () => {
  const m = await newMerchantUser();
  await h.api.call('POST', `/payment/checkout/v1/namespaces/${m.ns}/password-resets`, {
    expect: [202],
    token: null,
    body: { email: m.email },
  });
  const link = await resetLinkFor(m.email);
  assert.ok(link.startsWith(h.server.url('/checkout/reset?token=rst_')), link);

  await h.page(async ({ page }) => {
    const res = await open(page, link);
    assert.equal(res.status(), 200);
    assert.equal(await textOf(page, 'h1'), 'Choose a new password');
    assert.equal(res.headers()['referrer-policy'], 'no-referrer');

    // Too short, then two different passwords: field errors, nothing changed.
    await page.fill('#reset-password', 'short');
    await page.fill('#reset-repeat', 'short');
    await page.click('#reset-button');
    await page.waitForLoadState('domcontentloaded');
    assert.match(await textOf(page, '#reset-password-error'), /12 to 256 characters/);
    await page.fill('#reset-password', 'a much better passphrase');
    await page.fill('#reset-repeat', 'a much better passphrase!');
    await page.click('#reset-button');
    await page.waitForLoadState('domcontentloaded');
    assert.match(await textOf(page, '#reset-repeat-error'), /not the same/);
    assert.equal(await login(m, 'the first passphrase'), 200, 'nothing changed yet');

    await page.fill('#reset-password', 'a much better passphrase');
    await page.fill('#reset-repeat', 'a much better passphrase');
    await page.click('#reset-button');
    await page.waitForLoadState('domcontentloaded');
    assert.equal(await textOf(page, 'h1'), 'Password changed');
  });
  assert.equal(await login(m, 'a much better passphrase'), 200);
  assert.equal(await login(m, 'the first passphrase'), 401);

  // The link works once.
  await h.page(async ({ page }) => {
    const res = await open(page, link);
    assert.equal(res.status(), 410);
    assert.equal(await textOf(page, 'h1'), 'This link no longer works');
    assert.equal(await page.locator('#reset-form').count(), 0);
  });
});

e2e('a forged or truncated reset link shows that it does not work', async () => {
  await h.page(async ({ page }) => {
    for (const token of ['rst_forged', '']) {
      const res = await open(page, h.server.url(`/checkout/reset?token=${token}`));
      assert.equal(res.status(), 410);
      assert.equal(await textOf(page, 'h1'), 'This link no longer works');
    }
  });
});
