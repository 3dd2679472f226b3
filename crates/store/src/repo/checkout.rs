//! Checkout: merchant namespaces, API keys, users, password resets, the outbox, sessions.

use crate::{Db, Result, Tx};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct NamespaceRow {
    pub id: i64,
    pub namespace: String,
    pub dealer_id: i64,
    pub department_id: i64,
    pub associate_id: i64,
    pub guest_customer_id: i64,
    pub name: String,
    pub disabled: i64,
    pub created_at: i64,
}

const NS_COLS: &str = "id, namespace, dealer_id, department_id, associate_id, guest_customer_id, name, disabled, created_at";

#[derive(Debug, Clone)]
pub struct NamespaceWrite {
    pub namespace: String,
    pub dealer_id: i64,
    pub department_id: i64,
    pub associate_id: i64,
    pub guest_customer_id: i64,
    pub name: String,
}

pub async fn insert_namespace(db: &Db, w: &NamespaceWrite, now: i64) -> Result<NamespaceRow> {
    let sql = format!(
        "INSERT INTO checkout_namespaces (namespace, dealer_id, department_id, associate_id, guest_customer_id, name, disabled, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7) RETURNING {NS_COLS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(&w.namespace)
        .bind(w.dealer_id)
        .bind(w.department_id)
        .bind(w.associate_id)
        .bind(w.guest_customer_id)
        .bind(&w.name)
        .bind(now)
        .fetch_one(db.write())
        .await?)
}

pub async fn namespace(db: &Db, ns: &str) -> Result<Option<NamespaceRow>> {
    let sql = format!("SELECT {NS_COLS} FROM checkout_namespaces WHERE namespace = $1");
    Ok(sqlx::query_as(&sql)
        .bind(ns)
        .fetch_optional(db.read())
        .await?)
}

pub async fn namespace_by_id(db: &Db, id: i64) -> Result<Option<NamespaceRow>> {
    let sql = format!("SELECT {NS_COLS} FROM checkout_namespaces WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(db.read())
        .await?)
}

pub async fn set_namespace_disabled(db: &Db, id: i64, disabled: bool) -> Result<()> {
    sqlx::query("UPDATE checkout_namespaces SET disabled = $1 WHERE id = $2")
        .bind(disabled as i64)
        .bind(id)
        .execute(db.write())
        .await?;
    Ok(())
}

pub async fn insert_api_key(
    db: &Db,
    uuid: &str,
    namespace_id: i64,
    key_hash: &str,
    label: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO checkout_api_keys (uuid, namespace_id, key_hash, label, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(uuid)
        .bind(namespace_id)
        .bind(key_hash)
        .bind(label)
        .bind(now)
        .execute(db.write())
        .await?;
    Ok(())
}

/// The namespace id of a live (unrevoked) key.
pub async fn api_key_namespace(db: &Db, key_hash: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT namespace_id FROM checkout_api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
    )
    .bind(key_hash)
    .fetch_optional(db.read())
    .await?)
}

pub async fn revoke_api_key(db: &Db, namespace_id: i64, uuid: &str, now: i64) -> Result<bool> {
    Ok(sqlx::query("UPDATE checkout_api_keys SET revoked_at = $1 WHERE namespace_id = $2 AND uuid = $3 AND revoked_at IS NULL")
        .bind(now)
        .bind(namespace_id)
        .bind(uuid)
        .execute(db.write())
        .await?
        .rows_affected()
        == 1)
}

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub uuid: String,
    pub namespace_id: i64,
    pub email: String,
    pub password_hash: String,
}

pub async fn insert_user(
    db: &Db,
    uuid: &str,
    namespace_id: i64,
    email: &str,
    hash: &str,
    now: i64,
) -> Result<UserRow> {
    Ok(sqlx::query_as(
        "INSERT INTO checkout_users (uuid, namespace_id, email, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id, uuid, namespace_id, email, password_hash",
    )
    .bind(uuid)
    .bind(namespace_id)
    .bind(email)
    .bind(hash)
    .bind(now)
    .fetch_one(db.write())
    .await?)
}

pub async fn user_by_email(db: &Db, namespace_id: i64, email: &str) -> Result<Option<UserRow>> {
    Ok(sqlx::query_as("SELECT id, uuid, namespace_id, email, password_hash FROM checkout_users WHERE namespace_id = $1 AND email = $2")
        .bind(namespace_id)
        .bind(email)
        .fetch_optional(db.read())
        .await?)
}

/// Stores a reset token and its outbox message in one transaction.
pub async fn insert_reset(
    db: &Db,
    user: &UserRow,
    token_hash: &str,
    expires_at: i64,
    payload: &str,
    now: i64,
) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO checkout_password_resets (user_id, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4)")
        .bind(user.id)
        .bind(token_hash)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO outbox (kind, recipient, payload, created_at) VALUES ('password_reset', $1, $2, $3)")
        .bind(&user.email)
        .bind(payload)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Uses a reset token once: marks it used and sets the new password, or returns false if the
/// token is unknown, used or expired.
pub async fn use_reset(db: &Db, token_hash: &str, new_hash: &str, now: i64) -> Result<bool> {
    let mut tx = db.begin().await?;
    let user: Option<i64> = sqlx::query_scalar(
        "UPDATE checkout_password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
    )
    .bind(now)
    .bind(token_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(user_id) = user else {
        tx.rollback().await?;
        return Ok(false);
    };
    sqlx::query("UPDATE checkout_users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(new_hash)
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// `(id, kind, recipient, payload)` of messages not sent yet, oldest first.
pub async fn outbox_pending(db: &Db, limit: i64) -> Result<Vec<(i64, String, String, String)>> {
    Ok(sqlx::query_as("SELECT id, kind, recipient, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1")
        .bind(limit)
        .fetch_all(db.read())
        .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub uuid: String,
    pub namespace_id: i64,
    pub reference_id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub customer_id: Option<i64>,
    pub capture_method: String,
    pub processor: String,
    pub payment_methods: String,
    pub status: String,
    pub expires_at: i64,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub dealer_order_id: i64,
    pub invoice_id: i64,
    pub authorized_cents: i64,
    pub captured_cents: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const S_COLS: &str = "id, uuid, namespace_id, reference_id, amount_cents, currency, customer_id, capture_method, processor, \
    payment_methods, status, expires_at, success_url, cancel_url, dealer_order_id, invoice_id, authorized_cents, \
    captured_cents, version, created_at, updated_at";

#[derive(Debug, Clone)]
pub struct SessionWrite {
    pub uuid: String,
    pub namespace_id: i64,
    pub reference_id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub customer_id: Option<i64>,
    pub capture_method: String,
    pub processor: String,
    pub payment_methods: String,
    pub expires_at: i64,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub dealer_order_id: i64,
    pub invoice_id: i64,
}

pub async fn insert_session(tx: &mut Tx, w: &SessionWrite, now: i64) -> Result<SessionRow> {
    let sql = format!(
        "INSERT INTO checkout_sessions (uuid, namespace_id, reference_id, amount_cents, currency, customer_id, capture_method, \
           processor, payment_methods, status, expires_at, success_url, cancel_url, dealer_order_id, invoice_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11, $12, $13, $14, $15, $15) RETURNING {S_COLS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(&w.uuid)
        .bind(w.namespace_id)
        .bind(&w.reference_id)
        .bind(w.amount_cents)
        .bind(&w.currency)
        .bind(w.customer_id)
        .bind(&w.capture_method)
        .bind(&w.processor)
        .bind(&w.payment_methods)
        .bind(w.expires_at)
        .bind(&w.success_url)
        .bind(&w.cancel_url)
        .bind(w.dealer_order_id)
        .bind(w.invoice_id)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?)
}

pub async fn session(db: &Db, uuid: &str) -> Result<Option<SessionRow>> {
    let sql = format!("SELECT {S_COLS} FROM checkout_sessions WHERE uuid = $1");
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .fetch_optional(db.read())
        .await?)
}

/// Sessions of a namespace after the cursor (an internal id), oldest first.
pub async fn sessions_after(
    db: &Db,
    namespace_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<SessionRow>> {
    let sql = format!("SELECT {S_COLS} FROM checkout_sessions WHERE namespace_id = $1 AND id > $2 ORDER BY id LIMIT $3");
    Ok(sqlx::query_as(&sql)
        .bind(namespace_id)
        .bind(after)
        .bind(limit)
        .fetch_all(db.read())
        .await?)
}

/// Moves a session from one of `from` to `to`; false if it was in none of them.
pub async fn transition(db: &Db, id: i64, from: &[&str], to: &str, now: i64) -> Result<bool> {
    let list = from
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE checkout_sessions SET status = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND status IN ({list})"
    );
    Ok(sqlx::query(&sql)
        .bind(to)
        .bind(now)
        .bind(id)
        .execute(db.write())
        .await?
        .rows_affected()
        == 1)
}

/// Expires open sessions past their expiry; one UPDATE, so concurrent runners never both do it.
pub async fn expire_due(db: &Db, now: i64) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE checkout_sessions SET status = 'expired', version = version + 1, updated_at = $1 WHERE status = 'open' AND expires_at <= $1",
    )
    .bind(now)
    .execute(db.write())
    .await?
    .rows_affected())
}

#[derive(Debug, Clone, FromRow)]
pub struct IntentRow {
    pub id: i64,
    pub uuid: String,
    pub session_id: i64,
    pub attempt_id: i64,
    pub payment_method: String,
    pub amount_cents: i64,
    pub created_at: i64,
}

const I_COLS: &str = "id, uuid, session_id, attempt_id, payment_method, amount_cents, created_at";

pub async fn insert_intent(
    db: &Db,
    uuid: &str,
    session_id: i64,
    attempt_id: i64,
    method: &str,
    amount: i64,
    now: i64,
) -> Result<IntentRow> {
    let sql = format!(
        "INSERT INTO checkout_payment_intents (uuid, session_id, attempt_id, payment_method, amount_cents, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {I_COLS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .bind(session_id)
        .bind(attempt_id)
        .bind(method)
        .bind(amount)
        .bind(now)
        .fetch_one(db.write())
        .await?)
}

pub async fn intent(db: &Db, uuid: &str) -> Result<Option<IntentRow>> {
    let sql = format!("SELECT {I_COLS} FROM checkout_payment_intents WHERE uuid = $1");
    Ok(sqlx::query_as(&sql)
        .bind(uuid)
        .fetch_optional(db.read())
        .await?)
}

pub async fn latest_intent(db: &Db, session_id: i64) -> Result<Option<IntentRow>> {
    let sql = format!("SELECT {I_COLS} FROM checkout_payment_intents WHERE session_id = $1 ORDER BY id DESC LIMIT 1");
    Ok(sqlx::query_as(&sql)
        .bind(session_id)
        .fetch_optional(db.read())
        .await?)
}

/// Moves a session's payment state from `from` to `to` with its authorized and captured
/// amounts; false if the session was no longer in `from`.
pub async fn settle_session(
    db: &Db,
    id: i64,
    from: &str,
    to: &str,
    authorized: i64,
    captured: i64,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE checkout_sessions SET status = $1, authorized_cents = $2, captured_cents = $3, version = version + 1, \
         updated_at = $4 WHERE id = $5 AND status = $6",
    )
    .bind(to)
    .bind(authorized)
    .bind(captured)
    .bind(now)
    .bind(id)
    .bind(from)
    .execute(db.write())
    .await?
    .rows_affected()
        == 1)
}
