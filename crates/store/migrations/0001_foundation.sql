-- dealerpay foundation schema. Shared by SQLite and PostgreSQL: `@ID@` becomes each
-- backend's auto-increment primary key. Money is BIGINT cents; instants are BIGINT Unix
-- milliseconds; flags are BIGINT 0/1 (one decoding path for both backends).
-- Descriptive DMS fields that carry no rules live in `profile` JSON text columns.

CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE operator_tokens (
    id          @ID@,
    token_hash  TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE dealers (
    id                          @ID@,
    uuid                        TEXT NOT NULL UNIQUE,
    name                        TEXT NOT NULL,
    profile                     TEXT NOT NULL DEFAULT '{}',
    duplicate_window_minutes    BIGINT NOT NULL DEFAULT 10 CHECK (duplicate_window_minutes BETWEEN 0 AND 10080),
    enforce_cvv                 BIGINT NOT NULL DEFAULT 1 CHECK (enforce_cvv IN (0, 1)),
    enforce_zip                 BIGINT NOT NULL DEFAULT 0 CHECK (enforce_zip IN (0, 1)),
    surcharge_enabled           BIGINT NOT NULL DEFAULT 0 CHECK (surcharge_enabled IN (0, 1)),
    surcharge_bps               BIGINT NOT NULL DEFAULT 0 CHECK (surcharge_bps BETWEEN 0 AND 400),
    dual_pricing_enabled        BIGINT NOT NULL DEFAULT 0 CHECK (dual_pricing_enabled IN (0, 1)),
    dual_pricing_bps            BIGINT NOT NULL DEFAULT 0 CHECK (dual_pricing_bps BETWEEN 0 AND 1000),
    sales_tax_enabled           BIGINT NOT NULL DEFAULT 0 CHECK (sales_tax_enabled IN (0, 1)),
    sales_tax_bps               BIGINT NOT NULL DEFAULT 0 CHECK (sales_tax_bps BETWEEN 0 AND 2500),
    allow_partial_payments      BIGINT NOT NULL DEFAULT 1 CHECK (allow_partial_payments IN (0, 1)),
    payment_provider            TEXT NOT NULL DEFAULT 'SANDBOX',
    ach_provider                TEXT,
    preferred_dealer_id         TEXT,
    version                     BIGINT NOT NULL DEFAULT 0,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL,
    CHECK (NOT (surcharge_enabled = 1 AND dual_pricing_enabled = 1))
);

CREATE TABLE departments (
    id          @ID@,
    uuid        TEXT NOT NULL UNIQUE,
    dealer_id   BIGINT NOT NULL REFERENCES dealers(id),
    name        TEXT NOT NULL,
    department_type TEXT NOT NULL,
    profile     TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX departments_dealer ON departments(dealer_id);

CREATE TABLE associates (
    id            @ID@,
    uuid          TEXT NOT NULL UNIQUE,
    dealer_id     BIGINT NOT NULL REFERENCES dealers(id),
    department_id BIGINT REFERENCES departments(id),
    user_uuid     TEXT NOT NULL,
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    profile       TEXT NOT NULL DEFAULT '{}',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE customers (
    id           @ID@,
    uuid         TEXT NOT NULL UNIQUE,
    dealer_id    BIGINT NOT NULL REFERENCES dealers(id),
    first_name   TEXT,
    middle_name  TEXT,
    last_name    TEXT,
    company      TEXT,
    email        TEXT,
    phone        TEXT,
    blacklisted  BIGINT NOT NULL DEFAULT 0 CHECK (blacklisted IN (0, 1)),
    profile      TEXT NOT NULL DEFAULT '{}',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE vehicle_brands (
    id          @ID@,
    brand_name  TEXT NOT NULL UNIQUE,
    version     BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE vehicles (
    id           @ID@,
    uuid         TEXT NOT NULL UNIQUE,
    dealer_id    BIGINT NOT NULL REFERENCES dealers(id),
    customer_id  BIGINT REFERENCES customers(id),
    brand_id     BIGINT REFERENCES vehicle_brands(id),
    vin          TEXT,
    profile      TEXT NOT NULL DEFAULT '{}',
    version      BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE dealer_orders (
    id             @ID@,
    uuid           TEXT NOT NULL UNIQUE,
    dealer_id      BIGINT NOT NULL REFERENCES dealers(id),
    department_id  BIGINT NOT NULL REFERENCES departments(id),
    customer_id    BIGINT NOT NULL REFERENCES customers(id),
    vehicle_id     BIGINT REFERENCES vehicles(id),
    associate_id   BIGINT REFERENCES associates(id),
    order_number   TEXT NOT NULL,
    order_type     TEXT NOT NULL,
    order_status   TEXT NOT NULL CHECK (order_status IN ('OPEN', 'CLOSED')),
    amount_cents   BIGINT NOT NULL CHECK (amount_cents BETWEEN 0 AND 1000000000),
    paid_cents     BIGINT NOT NULL DEFAULT 0 CHECK (paid_cents >= 0),
    order_date     BIGINT NOT NULL,
    payment_request_sent BIGINT NOT NULL DEFAULT 0,
    profile        TEXT NOT NULL DEFAULT '{}',
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (dealer_id, order_type, order_number)
);

CREATE TABLE invoices (
    id              @ID@,
    guid            TEXT NOT NULL UNIQUE,
    dealer_id       BIGINT NOT NULL REFERENCES dealers(id),
    dealer_order_id BIGINT NOT NULL REFERENCES dealer_orders(id),
    customer_id     BIGINT NOT NULL REFERENCES customers(id),
    associate_id    BIGINT NOT NULL REFERENCES associates(id),
    amount_cents    BIGINT NOT NULL CHECK (amount_cents BETWEEN 0 AND 1000000000),
    paid_cents      BIGINT NOT NULL DEFAULT 0 CHECK (paid_cents >= 0),
    refunded_cents  BIGINT NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0 AND refunded_cents <= paid_cents),
    invoice_date    BIGINT NOT NULL,
    paid_at         BIGINT,
    description     TEXT,
    file_name       TEXT,
    reminder_date   BIGINT,
    reminder_mileage BIGINT,
    version         BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX invoices_order ON invoices(dealer_order_id);

CREATE TABLE invoice_attributes (
    id          @ID@,
    invoice_id  BIGINT NOT NULL REFERENCES invoices(id),
    option_name TEXT NOT NULL,
    value       TEXT NOT NULL,
    UNIQUE (invoice_id, option_name)
);

CREATE TABLE payment_requests (
    id            @ID@,
    guid          TEXT NOT NULL UNIQUE,
    short_code    TEXT NOT NULL UNIQUE,
    invoice_id    BIGINT NOT NULL REFERENCES invoices(id),
    dealer_id     BIGINT NOT NULL REFERENCES dealers(id),
    amount_cents  BIGINT NOT NULL CHECK (amount_cents BETWEEN 1 AND 1000000000),
    ttl_seconds   BIGINT NOT NULL CHECK (ttl_seconds > 0),
    expires_at    BIGINT NOT NULL,
    -- ACTIVE: the payable one; OBSOLETE: superseded by a newer request for the same invoice.
    status        TEXT NOT NULL CHECK (status IN ('ACTIVE', 'OBSOLETE')),
    source        TEXT NOT NULL,
    source_info   TEXT,
    payment_type  TEXT NOT NULL,
    locale        TEXT NOT NULL,
    version       BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
-- Only the latest request per invoice is payable, across every server process.
CREATE UNIQUE INDEX payment_requests_one_active ON payment_requests(invoice_id) WHERE status = 'ACTIVE';

CREATE TABLE payment_request_attributes (
    id                  @ID@,
    payment_request_id  BIGINT NOT NULL REFERENCES payment_requests(id),
    name                TEXT NOT NULL,
    value               TEXT NOT NULL,
    UNIQUE (payment_request_id, name)
);

CREATE TABLE partners (
    id           @ID@,
    uuid         TEXT NOT NULL UNIQUE,
    username     TEXT NOT NULL UNIQUE,
    secret_hash  TEXT NOT NULL,
    disabled     BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE scope_grants (
    id             @ID@,
    partner_id     BIGINT NOT NULL REFERENCES partners(id),
    dealer_id      BIGINT NOT NULL REFERENCES dealers(id),
    -- NULL: the grant covers every department of the dealer.
    department_id  BIGINT REFERENCES departments(id),
    scope          TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX scope_grants_unique ON scope_grants(partner_id, dealer_id, COALESCE(department_id, 0), scope);

-- Payment attempts (filled by prePayment in the card-payment work; read by the v3 status route).
CREATE TABLE payment_attempts (
    id               @ID@,
    uuid             TEXT NOT NULL UNIQUE,
    dealer_id        BIGINT NOT NULL REFERENCES dealers(id),
    department_id    BIGINT NOT NULL REFERENCES departments(id),
    dealer_order_id  BIGINT NOT NULL REFERENCES dealer_orders(id),
    invoice_id       BIGINT NOT NULL REFERENCES invoices(id),
    customer_id      BIGINT NOT NULL REFERENCES customers(id),
    associate_id     BIGINT REFERENCES associates(id),
    attempt_number   BIGINT NOT NULL,
    status           TEXT NOT NULL,
    transaction_type TEXT NOT NULL DEFAULT 'CHARGE',
    payment_type     TEXT,
    payment_mode     TEXT NOT NULL DEFAULT 'ONLINE',
    amount_cents     BIGINT NOT NULL CHECK (amount_cents BETWEEN 0 AND 1000000000),
    currency         TEXT NOT NULL DEFAULT 'USD',
    payment_provider TEXT NOT NULL,
    response_code    TEXT,
    response_description TEXT,
    next_action      TEXT,
    attributes       TEXT NOT NULL DEFAULT '{}',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (invoice_id, attempt_number)
);

-- Idempotency-Key records, namespaced by a hash of the caller's credentials.
CREATE TABLE idempotency_keys (
    principal_hash  TEXT NOT NULL,
    idem_key        TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    status_code     BIGINT,
    content_type    TEXT,
    response_body   TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (principal_hash, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
