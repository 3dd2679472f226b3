-- Card payments: attempts become operations (CHARGE, REFUND, VOID) that may be in flight at
-- a processor, and transactions record their outcomes. At most one operation per dealer
-- order is in flight at a time, across every server process (partial unique index).

ALTER TABLE payment_attempts ADD COLUMN in_flight BIGINT NOT NULL DEFAULT 0;
-- While in flight: when another process may take the attempt over and ask the processor.
ALTER TABLE payment_attempts ADD COLUMN lease_until BIGINT;
ALTER TABLE payment_attempts ADD COLUMN card_digits TEXT;
ALTER TABLE payment_attempts ADD COLUMN tender_type TEXT NOT NULL DEFAULT 'CREDIT';
ALTER TABLE payment_attempts ADD COLUMN card_type TEXT;
ALTER TABLE payment_attempts ADD COLUMN surcharge_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payment_attempts ADD COLUMN dual_pricing_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payment_attempts ADD COLUMN sales_tax_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payment_attempts ADD COLUMN total_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payment_attempts ADD COLUMN locale TEXT NOT NULL DEFAULT 'en';
-- The prePayment request's remaining fields, stored as sent (card data never reaches it).
ALTER TABLE payment_attempts ADD COLUMN request TEXT NOT NULL DEFAULT '{}';
-- REFUND and VOID operations: the CHARGE transaction they reverse.
ALTER TABLE payment_attempts ADD COLUMN parent_transaction_id BIGINT;
ALTER TABLE payment_attempts ADD COLUMN three_ds_failed BIGINT NOT NULL DEFAULT 0;
-- Set when the charge takes off, so an outcome recorded later (by the resolver) keeps them.
ALTER TABLE payment_attempts ADD COLUMN card_brand TEXT;
ALTER TABLE payment_attempts ADD COLUMN card_hash TEXT;

CREATE UNIQUE INDEX payment_attempts_one_in_flight ON payment_attempts(dealer_order_id) WHERE in_flight = 1;
CREATE INDEX payment_attempts_leases ON payment_attempts(lease_until) WHERE in_flight = 1;
CREATE INDEX payment_attempts_duplicates ON payment_attempts(dealer_id, customer_id, amount_cents, created_at);

CREATE TABLE transactions (
    id                  @ID@,
    uuid                TEXT NOT NULL UNIQUE,
    attempt_id          BIGINT NOT NULL UNIQUE REFERENCES payment_attempts(id),
    parent_id           BIGINT REFERENCES transactions(id),
    transaction_type    TEXT NOT NULL CHECK (transaction_type IN ('CHARGE', 'REFUND', 'VOID')),
    -- APPROVED: a Transaction; DECLINED / ERROR: a TransactionIncomplete.
    status              TEXT NOT NULL CHECK (status IN ('APPROVED', 'DECLINED', 'ERROR')),
    dealer_id           BIGINT NOT NULL REFERENCES dealers(id),
    invoice_id          BIGINT NOT NULL REFERENCES invoices(id),
    dealer_order_id     BIGINT NOT NULL REFERENCES dealer_orders(id),
    customer_id         BIGINT NOT NULL REFERENCES customers(id),
    -- The part applied to the invoice (charges) or taken back from it (refunds, voids).
    amount_cents        BIGINT NOT NULL CHECK (amount_cents >= 0),
    -- What moved on the card, fees included.
    total_cents         BIGINT NOT NULL CHECK (total_cents >= 0),
    surcharge_cents     BIGINT NOT NULL DEFAULT 0,
    dual_pricing_cents  BIGINT NOT NULL DEFAULT 0,
    sales_tax_cents     BIGINT NOT NULL DEFAULT 0,
    -- Charges: how much of total / of amount has been refunded or voided so far.
    reversed_cents      BIGINT NOT NULL DEFAULT 0 CHECK (reversed_cents >= 0 AND reversed_cents <= total_cents),
    reversed_base_cents BIGINT NOT NULL DEFAULT 0 CHECK (reversed_base_cents >= 0 AND reversed_base_cents <= amount_cents),
    is_voided           BIGINT NOT NULL DEFAULT 0,
    is_settled          BIGINT NOT NULL DEFAULT 0,
    settled_at          BIGINT,
    processor           TEXT NOT NULL,
    processor_txn_id    TEXT,
    auth_code           TEXT,
    response_code       TEXT,
    response_reason     TEXT,
    avs_result          TEXT,
    cvv_result          TEXT,
    card_brand          TEXT,
    card_last4          TEXT,
    -- HMAC-SHA256 of the card number under a server key: matches cards, reveals nothing.
    card_hash           TEXT,
    funding             TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX transactions_invoice ON transactions(invoice_id);
CREATE INDEX transactions_parent ON transactions(parent_id);

CREATE TABLE transaction_details (
    id             @ID@,
    attempt_id     BIGINT NOT NULL REFERENCES payment_attempts(id),
    detail_type    TEXT NOT NULL,
    amount_cents   BIGINT NOT NULL CHECK (amount_cents >= 0),
    description    TEXT
);
CREATE INDEX transaction_details_attempt ON transaction_details(attempt_id);
