-- Checkout (hosted checkout sessions for merchants). A namespace is a merchant account tied
-- to a dealer; API keys and users belong to a namespace. Each session gets a dealer order and
-- invoice of its own, so that paying it (a PaymentAttempt underneath) inherits the card-payment
-- engine's guarantees: one payment in flight, no lost or doubled charge.

CREATE TABLE checkout_namespaces (
    id             @ID@,
    namespace      TEXT NOT NULL UNIQUE,
    dealer_id      BIGINT NOT NULL REFERENCES dealers(id),
    department_id  BIGINT NOT NULL REFERENCES departments(id),
    associate_id   BIGINT NOT NULL REFERENCES associates(id),
    -- Sessions without a customer are paid as this dealer customer.
    guest_customer_id BIGINT NOT NULL REFERENCES customers(id),
    name           TEXT NOT NULL,
    disabled       BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL
);

CREATE TABLE checkout_api_keys (
    id            @ID@,
    uuid          TEXT NOT NULL UNIQUE,
    namespace_id  BIGINT NOT NULL REFERENCES checkout_namespaces(id),
    -- SHA-256 of the key: keys are 256-bit random, so a fast hash is enough to protect them.
    key_hash      TEXT NOT NULL UNIQUE,
    label         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);

CREATE TABLE checkout_users (
    id             @ID@,
    uuid           TEXT NOT NULL UNIQUE,
    namespace_id   BIGINT NOT NULL REFERENCES checkout_namespaces(id),
    email          TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (namespace_id, email)
);

CREATE TABLE checkout_password_resets (
    id          @ID@,
    user_id     BIGINT NOT NULL REFERENCES checkout_users(id),
    token_hash  TEXT NOT NULL UNIQUE,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    created_at  BIGINT NOT NULL
);

-- Messages for a later email sender to drain (at-least-once; `sent_at` marks delivery).
CREATE TABLE outbox (
    id          @ID@,
    kind        TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    sent_at     BIGINT
);
CREATE INDEX outbox_unsent ON outbox(created_at) WHERE sent_at IS NULL;

CREATE TABLE checkout_sessions (
    id               @ID@,
    uuid             TEXT NOT NULL UNIQUE,
    namespace_id     BIGINT NOT NULL REFERENCES checkout_namespaces(id),
    reference_id     TEXT NOT NULL,
    amount_cents     BIGINT NOT NULL CHECK (amount_cents BETWEEN 1 AND 1000000000),
    currency         TEXT NOT NULL,
    customer_id      BIGINT REFERENCES customers(id),
    capture_method   TEXT NOT NULL CHECK (capture_method IN ('automatic', 'manual')),
    processor        TEXT NOT NULL,
    payment_methods  TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('open', 'processing', 'requires_capture', 'succeeded', 'failed', 'cancelled', 'expired')),
    expires_at       BIGINT NOT NULL,
    success_url      TEXT,
    cancel_url       TEXT,
    dealer_order_id  BIGINT NOT NULL REFERENCES dealer_orders(id),
    invoice_id       BIGINT NOT NULL REFERENCES invoices(id),
    authorized_cents BIGINT NOT NULL DEFAULT 0,
    captured_cents   BIGINT NOT NULL DEFAULT 0 CHECK (captured_cents <= authorized_cents),
    version          BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (namespace_id, reference_id)
);
CREATE INDEX checkout_sessions_expiry ON checkout_sessions(expires_at) WHERE status = 'open';
CREATE INDEX checkout_sessions_list ON checkout_sessions(namespace_id, id);

-- Paying a session: an intent wraps the PaymentAttempt that carries the charge. Its status is
-- read from that attempt (one source of truth); the session moves with conditional updates.
CREATE TABLE checkout_payment_intents (
    id              @ID@,
    uuid            TEXT NOT NULL UNIQUE,
    session_id      BIGINT NOT NULL REFERENCES checkout_sessions(id),
    attempt_id      BIGINT NOT NULL UNIQUE REFERENCES payment_attempts(id),
    payment_method  TEXT NOT NULL,
    amount_cents    BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX checkout_payment_intents_session ON checkout_payment_intents(session_id, id);
