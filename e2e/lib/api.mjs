// Arranges data through the real HTTP API with the operator token (the operator may act for
// every dealer). Shapes follow crates/dealerpay/tests/common/mod.rs and tests/checkout.rs.

import { randomUUID } from 'node:crypto';

const REQUEST_TIMEOUT_MS = 15_000;

export class ApiError extends Error {
  constructor(method, path, status, body) {
    super(`${method} ${path} → ${status}: ${typeof body === 'string' ? body : JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

/** A valid 17-character VIN (no I, O or Q) that differs per call. */
function vin() {
  const alphabet = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789';
  let tail = '';
  for (let i = 0; i < 8; i++) tail += alphabet[Math.floor(Math.random() * alphabet.length)];
  return `1HGCV1F3${tail}1`;
}

export class Api {
  /** @param server the object startServer() returns */
  constructor(server) {
    this.server = server;
  }

  /** Sends JSON; returns { status, body } (body parsed when it is JSON). */
  async send(method, path, { body, token = this.server.operatorToken, headers = {} } = {}) {
    const init = {
      method,
      headers: { accept: 'application/json', ...headers },
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    };
    if (token) init.headers.authorization = `Bearer ${token}`;
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const r = await fetch(this.server.url(path), init);
    const text = await r.text();
    let parsed = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: r.status, body: parsed, headers: r.headers };
  }

  /** Like send(), but fails unless the status is one of `expect`; returns the body. */
  async call(method, path, { expect = [200], ...opts } = {}) {
    const r = await this.send(method, path, opts);
    if (!expect.includes(r.status)) throw new ApiError(method, path, r.status, r.body);
    return r.body;
  }

  /**
   * A new dealer with a Service department, an advisor, a customer and a Honda Accord.
   * Settings: surchargePercent (enables surcharging), dualPricingPercent (enables dual
   * pricing), allowPartialPayments (default false, so the plain pay form has no amount input).
   */
  async newDealer({
    name = `E2E Motors ${randomUUID().slice(0, 6)}`,
    surchargePercent,
    dualPricingPercent,
    allowPartialPayments = false,
    enforceZip = true,
  } = {}) {
    const d = {
      name,
      dealerUuid: randomUUID(),
      departmentUuid: randomUUID(),
      associateUuid: randomUUID(),
      customerUuid: randomUUID(),
      vehicleUuid: randomUUID(),
      phone: '+1 555 0199',
      email: 'service@e2e-motors.example',
      website: 'https://e2e-motors.example',
      vehicle: { make: 'Honda', model: 'Accord', year: '2021' },
    };
    const settings = {
      enforceCvv: true,
      enforceZip,
      allowPartialPayments,
      surchargeEnabled: surchargePercent !== undefined,
      dualPricingEnabled: dualPricingPercent !== undefined,
      paymentProvider: 'SANDBOX',
    };
    if (surchargePercent !== undefined) settings.surchargePercent = surchargePercent;
    if (dualPricingPercent !== undefined) settings.dualPricingPercent = dualPricingPercent;
    const kp = `/payment/kpayment/v1/dealers/${d.dealerUuid}`;
    await this.call('PUT', kp, {
      expect: [201],
      body: { name, settings, profile: { phoneNumber: d.phone, emailID: d.email, website: d.website } },
    });
    await this.call('PUT', `${kp}/departments/${d.departmentUuid}`, {
      body: { name: 'Service', departmentType: 'SERVICE' },
    });
    await this.call('PUT', `${kp}/associates/${d.associateUuid}`, {
      body: { userUuid: randomUUID(), firstName: 'Sam', lastName: 'Advisor', departmentUuid: d.departmentUuid },
    });
    await this.call('PUT', `${kp}/customers/${d.customerUuid}`, {
      body: { firstName: 'Jo', lastName: 'Rivera', email: 'jo@example.com', phone: '+1 555 0142' },
    });
    await this.call('PUT', `${kp}/vehicles/${d.vehicleUuid}`, {
      body: {
        customerUuid: d.customerUuid,
        vin: vin(),
        make: d.vehicle.make,
        profile: { model: d.vehicle.model, year: d.vehicle.year },
      },
    });
    return d;
  }

  /** A new open repair order for `dealer` with an invoice of `amount` (dollars). */
  async newInvoice(dealer, amount) {
    const orderUuid = randomUUID();
    const invoiceGuid = randomUUID();
    const orderNumber = `RO-${orderUuid.slice(0, 8).toUpperCase()}`;
    const order = {
      orderNumber,
      orderType: 'RO',
      amount,
      departmentUuid: dealer.departmentUuid,
      customerUuid: dealer.customerUuid,
      vehicleUuid: dealer.vehicleUuid,
      dealerAssociateUuid: dealer.associateUuid,
    };
    await this.call('PUT', `/payment/kpayment/v1/dealers/${dealer.dealerUuid}/orders/${orderUuid}`, { body: order });
    await this.call('PUT', `/payment/kpayment/v1/invoices/${invoiceGuid}`, {
      body: {
        paymentDealer: { dealerUuid: dealer.dealerUuid },
        paymentDealerOrder: { dealerOrderUuid: orderUuid },
        paymentCustomer: { customerUuid: dealer.customerUuid },
        paymentUser: { dealerAssociateUUID: dealer.associateUuid },
        amount,
        invoiceAttributes: { laborTotal: String(amount) },
      },
    });
    return { dealer, orderUuid, orderNumber, invoiceGuid, amount, order };
  }

  /** Closes the repair order of `invoice` (as the DMS does when the RO is closed). */
  async closeOrder(invoice) {
    await this.call('PUT', `/payment/kpayment/v1/dealers/${invoice.dealer.dealerUuid}/orders/${invoice.orderUuid}`, {
      body: { ...invoice.order, orderStatus: 'CLOSED' },
    });
  }

  /**
   * A payment request for `invoice`; returns the response's `paymentRequest`
   * (guid, payUrl, shortUrl, amount, locale, …).
   */
  async newPaymentRequest(dealer, invoice, { locale, ttl, amount } = {}) {
    const body = { dealerUuid: dealer.dealerUuid, invoiceGuid: invoice.invoiceGuid };
    if (locale !== undefined) body.locale = locale;
    if (ttl !== undefined) body.ttl = ttl;
    if (amount !== undefined) body.amount = amount;
    const r = await this.call('POST', '/payment/kpayment/v1/paymentrequest', { expect: [201], body });
    return r.paymentRequest;
  }

  /** Dealer, invoice and payment request in one go: { dealer, invoice, request, payPath }. */
  async newPayable({ amount = 125.5, dealer: dealerOpts = {}, request: requestOpts = {} } = {}) {
    const dealer = await this.newDealer(dealerOpts);
    const invoice = await this.newInvoice(dealer, amount);
    const request = await this.newPaymentRequest(dealer, invoice, requestOpts);
    return { dealer, invoice, request, payPath: `/pay/${request.guid}` };
  }

  async expirePaymentRequest(guid) {
    return this.call('POST', `/payment/kpayment/v1/paymentrequest/${guid}/expire`);
  }

  async getPaymentRequest(guid) {
    return this.call('GET', `/payment/kpayment/v1/paymentrequest/${guid}`);
  }

  /**
   * A checkout merchant (namespace + API key + access token) for a new dealer.
   * Returns { ns, dealer, accessToken }.
   */
  async newMerchant({ name = 'E2E Motors Online' } = {}) {
    const dealer = await this.newDealer({ name: `${name} Dealer` });
    const ns = `e2e-${randomUUID().replaceAll('-', '').slice(0, 10)}`;
    await this.call('POST', '/payment/checkout/v1/namespaces', {
      expect: [201],
      body: {
        namespace: ns,
        name,
        dealerUuid: dealer.dealerUuid,
        departmentUuid: dealer.departmentUuid,
        dealerAssociateUUID: dealer.associateUuid,
      },
    });
    const key = await this.call('POST', `/payment/checkout/v1/namespaces/${ns}/api-keys`, {
      expect: [201],
      body: { label: 'e2e' },
    });
    const tok = await this.call('POST', `/payment/checkout/v1/namespaces/${ns}/token`, {
      token: null,
      body: { apiKey: key.apiKey },
    });
    return { ns, name, dealer, accessToken: tok.accessToken };
  }

  /**
   * A checkout session (by a new merchant unless `merchant` is given); returns the session
   * JSON (id, url, status, amount, …) with `merchant` attached.
   */
  async newCheckoutSession({ amount = 42.5, successUrl, cancelUrl, merchant, referenceId = randomUUID() } = {}) {
    const m = merchant ?? (await this.newMerchant());
    const session = await this.call('POST', `/payment/checkout/v1/namespaces/${m.ns}/sessions`, {
      expect: [201],
      token: m.accessToken,
      body: { referenceId, amount, successUrl, cancelUrl },
    });
    return { ...session, merchant: m };
  }

  async getCheckoutSession(session) {
    return this.call('GET', `/payment/checkout/v1/namespaces/${session.merchant.ns}/sessions/${session.id}`, {
      token: session.merchant.accessToken,
    });
  }

  /** `action`: cancel or expire. */
  async endCheckoutSession(session, action) {
    return this.call('POST', `/payment/checkout/v1/namespaces/${session.merchant.ns}/sessions/${session.id}/${action}`, {
      token: session.merchant.accessToken,
    });
  }
}
