//! Checkout: merchant namespaces, API keys, users, password resets, the outbox, sessions.

use crate::Result;
use db::Conn;
use domain::status::{AttemptStatus, CaptureMethod, SessionStatus};
use domain::Money;

#[derive(Debug, Clone)]
pub struct NamespaceRow {
    pub id: i64,
    pub namespace: String,
    pub dealer_id: i64,
    pub department_id: i64,
    pub associate_id: i64,
    pub guest_customer_id: i64,
    pub name: String,
    pub disabled: bool,
    pub created_at: i64,
    /// Access tokens issued before this (ms) are refused.
    pub tokens_valid_from: i64,
}
db::from_row!(NamespaceRow {
    id,
    namespace,
    dealer_id,
    department_id,
    associate_id,
    guest_customer_id,
    name,
    disabled,
    created_at,
    tokens_valid_from
});

/// Columns of the row type in `SELECT` order; `namespace_cols!("t")` prefixes them with a table alias.
#[macro_export]
macro_rules! namespace_cols {
    () => {
        concat!(
            "id, namespace, dealer_id, department_id, associate_id, guest_customer_id, name, disabled, created_at, tokens_valid_from"
        )
    };
    ($a:literal) => {
        concat!(
            $a, ".id, ",
            $a, ".namespace, ",
            $a, ".dealer_id, ",
            $a, ".department_id, ",
            $a, ".associate_id, ",
            $a, ".guest_customer_id, ",
            $a, ".name, ",
            $a, ".disabled, ",
            $a, ".created_at, ",
            $a, ".tokens_valid_from",
        )
    };
}

#[derive(Debug, Clone)]
pub struct NamespaceWrite {
    pub namespace: String,
    pub dealer_id: i64,
    pub department_id: i64,
    pub associate_id: i64,
    pub guest_customer_id: i64,
    pub name: String,
}

pub async fn insert_namespace(c: &mut Conn, w: &NamespaceWrite, now: i64) -> Result<NamespaceRow> {
    let sql = concat!("INSERT INTO checkout_namespaces (namespace, dealer_id, department_id, associate_id, guest_customer_id, name, disabled, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7) RETURNING ", crate::namespace_cols!());
    c.query_one(
        sql,
        db::args![
            &w.namespace,
            w.dealer_id,
            w.department_id,
            w.associate_id,
            w.guest_customer_id,
            &w.name,
            now
        ],
    )
    .await
}

pub async fn namespace(c: &mut Conn, ns: &str) -> Result<Option<NamespaceRow>> {
    let sql = concat!(
        "SELECT ",
        crate::namespace_cols!(),
        " FROM checkout_namespaces WHERE namespace = $1"
    );
    c.query_opt(sql, db::args![ns]).await
}

pub async fn namespace_by_id(c: &mut Conn, id: i64) -> Result<Option<NamespaceRow>> {
    let sql = concat!(
        "SELECT ",
        crate::namespace_cols!(),
        " FROM checkout_namespaces WHERE id = $1"
    );
    c.query_opt(sql, db::args![id]).await
}

pub async fn set_namespace_disabled(c: &mut Conn, id: i64, disabled: bool) -> Result<()> {
    c.execute(
        "UPDATE checkout_namespaces SET disabled = $1 WHERE id = $2",
        db::args![disabled, id],
    )
    .await?;
    Ok(())
}

pub async fn insert_api_key(
    c: &mut Conn,
    uuid: &str,
    namespace_id: i64,
    key_hash: &str,
    label: &str,
    now: i64,
) -> Result<()> {
    c.execute("INSERT INTO checkout_api_keys (uuid, namespace_id, key_hash, label, created_at) VALUES ($1, $2, $3, $4, $5)", db::args![uuid, namespace_id, key_hash, label, now])
        .await?;
    Ok(())
}

/// The namespace id of a live (unrevoked) key.
pub async fn api_key_namespace(c: &mut Conn, key_hash: &str) -> Result<Option<i64>> {
    c.scalar_opt(
        "SELECT namespace_id FROM checkout_api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        db::args![key_hash],
    )
    .await
}

/// Revokes a key and ends the namespace's access tokens issued before now.
pub async fn revoke_api_key(c: &mut Conn, namespace_id: i64, uuid: &str, now: i64) -> Result<bool> {
    let revoked = c.execute("UPDATE checkout_api_keys SET revoked_at = $1 WHERE namespace_id = $2 AND uuid = $3 AND revoked_at IS NULL", db::args![now, namespace_id, uuid])
        .await?
        == 1;
    if revoked {
        c.execute(
            "UPDATE checkout_namespaces SET tokens_valid_from = $1 WHERE id = $2",
            db::args![now, namespace_id],
        )
        .await?;
    }
    Ok(revoked)
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub uuid: String,
    pub namespace_id: i64,
    pub email: String,
    pub password_hash: String,
}
db::from_row!(UserRow {
    id,
    uuid,
    namespace_id,
    email,
    password_hash
});

pub async fn insert_user(
    c: &mut Conn,
    uuid: &str,
    namespace_id: i64,
    email: &str,
    hash: &str,
    now: i64,
) -> Result<UserRow> {
    c.query_one("INSERT INTO checkout_users (uuid, namespace_id, email, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id, uuid, namespace_id, email, password_hash", db::args![uuid, namespace_id, email, hash, now])
        .await
}

pub async fn user_by_email(
    c: &mut Conn,
    namespace_id: i64,
    email: &str,
) -> Result<Option<UserRow>> {
    c.query_opt("SELECT id, uuid, namespace_id, email, password_hash FROM checkout_users WHERE namespace_id = $1 AND email = $2", db::args![namespace_id, email])
        .await
}

/// Stores a reset token and its outbox message in one transaction.
pub async fn insert_reset(
    c: &mut Conn,
    user: &UserRow,
    token_hash: &str,
    expires_at: i64,
    payload: &str,
    now: i64,
) -> Result<()> {
    c.execute("INSERT INTO checkout_password_resets (user_id, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4)", db::args![user.id, token_hash, expires_at, now])
        .await?;
    c.execute("INSERT INTO outbox (kind, recipient, payload, created_at) VALUES ('password_reset', $1, $2, $3)", db::args![&user.email, payload, now])
        .await?;
    Ok(())
}

/// Whether a reset token (by hash) can still be used.
pub async fn reset_usable(c: &mut Conn, token_hash: &str, now: i64) -> Result<bool> {
    let id: Option<i64> = c
        .scalar_opt(
            "SELECT id FROM checkout_password_resets \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            db::args![token_hash, now],
        )
        .await?;
    Ok(id.is_some())
}

/// Uses a reset token once: marks it used and sets the new password, or returns false if the
/// token is unknown, used or expired.
pub async fn use_reset(c: &mut Conn, token_hash: &str, new_hash: &str, now: i64) -> Result<bool> {
    let user: Option<i64> = c.scalar_opt("UPDATE checkout_password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id", db::args![now, token_hash])
    .await?;
    let Some(user_id) = user else {
        return Ok(false);
    };
    c.execute(
        "UPDATE checkout_users SET password_hash = $1, updated_at = $2 WHERE id = $3",
        db::args![new_hash, now, user_id],
    )
    .await?;
    // A new password ends the namespace's access tokens issued before it.
    c.execute(
        "UPDATE checkout_namespaces SET tokens_valid_from = $1 \
         WHERE id = (SELECT namespace_id FROM checkout_users WHERE id = $2)",
        db::args![now, user_id],
    )
    .await?;
    Ok(true)
}

/// `(id, kind, recipient, payload)` of messages not sent yet, oldest first.
pub async fn outbox_pending(
    c: &mut Conn,
    limit: i64,
) -> Result<Vec<(i64, String, String, String)>> {
    c.query_all("SELECT id, kind, recipient, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1", db::args![limit])
        .await
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: i64,
    pub uuid: String,
    pub namespace_id: i64,
    pub reference_id: String,
    pub amount: Money,
    pub currency: String,
    pub customer_id: Option<i64>,
    pub capture_method: CaptureMethod,
    pub processor: String,
    pub payment_methods: String,
    pub status: SessionStatus,
    pub expires_at: i64,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub dealer_order_id: i64,
    pub invoice_id: i64,
    pub authorized: Money,
    pub captured: Money,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}
db::from_row!(SessionRow {
    id,
    uuid,
    namespace_id,
    reference_id,
    amount,
    currency,
    customer_id,
    capture_method,
    processor,
    payment_methods,
    status,
    expires_at,
    success_url,
    cancel_url,
    dealer_order_id,
    invoice_id,
    authorized,
    captured,
    version,
    created_at,
    updated_at
});

/// Columns of the row type in `SELECT` order; `session_cols!("t")` prefixes them with a table alias.
#[macro_export]
macro_rules! session_cols {
    () => {
        concat!(
            "id, uuid, namespace_id, reference_id, amount_cents, currency, customer_id, capture_method, processor, payment_methods, status, expires_at, success_url, cancel_url, dealer_order_id, invoice_id, authorized_cents, captured_cents, version, created_at, updated_at"
        )
    };
    ($a:literal) => {
        concat!(
            $a, ".id, ",
            $a, ".uuid, ",
            $a, ".namespace_id, ",
            $a, ".reference_id, ",
            $a, ".amount_cents, ",
            $a, ".currency, ",
            $a, ".customer_id, ",
            $a, ".capture_method, ",
            $a, ".processor, ",
            $a, ".payment_methods, ",
            $a, ".status, ",
            $a, ".expires_at, ",
            $a, ".success_url, ",
            $a, ".cancel_url, ",
            $a, ".dealer_order_id, ",
            $a, ".invoice_id, ",
            $a, ".authorized_cents, ",
            $a, ".captured_cents, ",
            $a, ".version, ",
            $a, ".created_at, ",
            $a, ".updated_at",
        )
    };
}

#[derive(Debug, Clone)]
pub struct SessionWrite {
    pub uuid: String,
    pub namespace_id: i64,
    pub reference_id: String,
    pub amount: Money,
    pub currency: String,
    pub customer_id: Option<i64>,
    pub capture_method: CaptureMethod,
    pub processor: String,
    pub payment_methods: String,
    pub expires_at: i64,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub dealer_order_id: i64,
    pub invoice_id: i64,
}

pub async fn insert_session(c: &mut Conn, w: &SessionWrite, now: i64) -> Result<SessionRow> {
    let sql = concat!("INSERT INTO checkout_sessions (uuid, namespace_id, reference_id, amount_cents, currency, customer_id, capture_method, \
           processor, payment_methods, status, expires_at, success_url, cancel_url, dealer_order_id, invoice_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $16, $10, $11, $12, $13, $14, $15, $15) RETURNING ", crate::session_cols!());
    c.query_one(
        sql,
        db::args![
            &w.uuid,
            w.namespace_id,
            &w.reference_id,
            w.amount,
            &w.currency,
            w.customer_id,
            w.capture_method,
            &w.processor,
            &w.payment_methods,
            w.expires_at,
            &w.success_url,
            &w.cancel_url,
            w.dealer_order_id,
            w.invoice_id,
            now,
            SessionStatus::Open
        ],
    )
    .await
}

pub async fn session(c: &mut Conn, uuid: &str) -> Result<Option<SessionRow>> {
    let sql = concat!(
        "SELECT ",
        crate::session_cols!(),
        " FROM checkout_sessions WHERE uuid = $1"
    );
    c.query_opt(sql, db::args![uuid]).await
}

/// Sessions of a namespace after the cursor (an internal id), oldest first.
pub async fn sessions_after(
    c: &mut Conn,
    namespace_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<SessionRow>> {
    let sql = concat!(
        "SELECT ",
        crate::session_cols!(),
        " FROM checkout_sessions WHERE namespace_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    );
    c.query_all(sql, db::args![namespace_id, after, limit])
        .await
}

/// Moves a session from one of `from` to `to`; false if it was in none of them.
pub async fn transition(
    c: &mut Conn,
    id: i64,
    from: &[SessionStatus],
    to: SessionStatus,
    now: i64,
) -> Result<bool> {
    for f in from {
        debug_assert!(f.can_move_to(to), "{f} -> {to}");
        let n = c
            .execute(
                "UPDATE checkout_sessions SET status = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND status = $4",
                db::args![to, now, id, *f],
            )
            .await?;
        if n == 1 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Expires open sessions past their expiry; one UPDATE, so concurrent runners never both do it.
pub async fn expire_due(c: &mut Conn, now: i64) -> Result<u64> {
    // The partial index on open sessions serves only a literal condition.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "UPDATE checkout_sessions SET status = $2, version = version + 1, updated_at = $1 \
             WHERE status = {open} AND expires_at <= $1",
            open = crate::sql_literal(SessionStatus::Open.as_str())
        )
    });
    c.execute(&SQL, db::args![now, SessionStatus::Expired])
        .await
}

#[derive(Debug, Clone)]
pub struct IntentRow {
    pub id: i64,
    pub uuid: String,
    pub session_id: i64,
    pub attempt_id: i64,
    pub payment_method: String,
    pub amount: Money,
    pub created_at: i64,
}
db::from_row!(IntentRow {
    id,
    uuid,
    session_id,
    attempt_id,
    payment_method,
    amount,
    created_at
});

/// Columns of the row type in `SELECT` order; `intent_cols!("t")` prefixes them with a table alias.
#[macro_export]
macro_rules! intent_cols {
    () => {
        concat!("id, uuid, session_id, attempt_id, payment_method, amount_cents, created_at")
    };
    ($a:literal) => {
        concat!(
            $a,
            ".id, ",
            $a,
            ".uuid, ",
            $a,
            ".session_id, ",
            $a,
            ".attempt_id, ",
            $a,
            ".payment_method, ",
            $a,
            ".amount_cents, ",
            $a,
            ".created_at",
        )
    };
}

pub async fn insert_intent(
    c: &mut Conn,
    uuid: &str,
    session_id: i64,
    attempt_id: i64,
    method: &str,
    amount: Money,
    now: i64,
) -> Result<IntentRow> {
    let sql = concat!("INSERT INTO checkout_payment_intents (uuid, session_id, attempt_id, payment_method, amount_cents, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ", crate::intent_cols!());
    c.query_one(
        sql,
        db::args![uuid, session_id, attempt_id, method, amount, now],
    )
    .await
}

pub async fn intent(c: &mut Conn, uuid: &str) -> Result<Option<IntentRow>> {
    let sql = concat!(
        "SELECT ",
        crate::intent_cols!(),
        " FROM checkout_payment_intents WHERE uuid = $1"
    );
    c.query_opt(sql, db::args![uuid]).await
}

pub async fn latest_intent(c: &mut Conn, session_id: i64) -> Result<Option<IntentRow>> {
    let sql = concat!(
        "SELECT ",
        crate::intent_cols!(),
        " FROM checkout_payment_intents WHERE session_id = $1 ORDER BY id DESC LIMIT 1"
    );
    c.query_opt(sql, db::args![session_id]).await
}

/// Moves a session's payment state from `from` to `to` with its authorized and captured
/// amounts; false if the session was no longer in `from`.
pub async fn settle_session(
    c: &mut Conn,
    id: i64,
    from: SessionStatus,
    to: SessionStatus,
    authorized: Money,
    captured: Money,
    now: i64,
) -> Result<bool> {
    debug_assert!(from.can_move_to(to), "{from} -> {to}");
    Ok(c.execute("UPDATE checkout_sessions SET status = $1, authorized_cents = $2, captured_cents = $3, version = version + 1, \
         updated_at = $4 WHERE id = $5 AND status = $6", db::args![to, authorized, captured, now, id, from])
    .await?
        == 1)
}

/// Reserves an open session for one payment: bumps its version if it is still open at the
/// version the caller read. Of concurrent payers who read the same version exactly one gets
/// the reservation, so only it goes on to create a payment attempt. Not a lifecycle move (the
/// session stays open): [`start_payment`] makes that move, for the holder of the latest
/// reservation only.
pub async fn reserve_for_payment(c: &mut Conn, id: i64, version: i64, now: i64) -> Result<bool> {
    Ok(c.execute(
        "UPDATE checkout_sessions SET version = version + 1, updated_at = $1 WHERE id = $2 AND status = $3 AND version = $4",
        db::args![now, id, SessionStatus::Open, version],
    )
    .await?
        == 1)
}

/// The pay move, open → processing, for the holder of the reservation at `version`; false if
/// the session moved or was reserved again meanwhile.
pub async fn start_payment(c: &mut Conn, id: i64, version: i64, now: i64) -> Result<bool> {
    debug_assert!(SessionStatus::Open.can_move_to(SessionStatus::Processing));
    Ok(c.execute(
        "UPDATE checkout_sessions SET status = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND status = $4 AND version = $5",
        db::args![SessionStatus::Processing, now, id, SessionStatus::Open, version],
    )
    .await?
        == 1)
}

/// Gives a session back (processing → open) when its payment was refused before it reached the
/// processor, i.e. its attempt is still `Created`. Not a lifecycle move: nothing was paid, so
/// the pay move is undone; one statement, so it never reopens a session whose payment took off.
pub async fn reopen_unpaid(c: &mut Conn, id: i64, attempt_id: i64, now: i64) -> Result<bool> {
    Ok(c.execute(
        "UPDATE checkout_sessions SET status = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND status = $4 \
         AND EXISTS (SELECT 1 FROM payment_attempts a WHERE a.id = $5 AND a.status = $6)",
        db::args![SessionStatus::Open, now, id, SessionStatus::Processing, attempt_id, AttemptStatus::Created],
    )
    .await?
        == 1)
}

/// Ends a `Created` attempt made for a session payment that lost the session to another payer
/// (it never reached a processor): `Cancelled`, as an unconfirmed prePayment ends.
pub async fn cancel_unused_attempt(c: &mut Conn, attempt_id: i64, now: i64) -> Result<bool> {
    debug_assert!(AttemptStatus::Created.can_move_to(AttemptStatus::Cancelled));
    Ok(c.execute(
        "UPDATE payment_attempts SET status = $1, response_description = $2, updated_at = $3 WHERE id = $4 AND status = $5",
        db::args![AttemptStatus::Cancelled, crate::repo::attempts::ABANDONED, now, attempt_id, AttemptStatus::Created],
    )
    .await?
        == 1)
}

/// A payment intent of a session by its public id.
pub async fn intent_of_session(
    c: &mut Conn,
    session_id: i64,
    uuid: &str,
) -> Result<Option<IntentRow>> {
    let sql = concat!(
        "SELECT ",
        crate::intent_cols!(),
        " FROM checkout_payment_intents WHERE uuid = $1 AND session_id = $2"
    );
    c.query_opt(sql, db::args![uuid, session_id]).await
}
