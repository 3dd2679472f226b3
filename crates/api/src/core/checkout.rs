//! Checkout (SPEC §6): merchant namespaces, API keys and users, and hosted checkout
//! sessions. Errors use the Checkout catalog (93xxxxx).

use crate::app::AppState;
use crate::auth::{hash_secret, new_secret, sha256_hex};
use crate::checkout_auth::{self, Merchant};
use crate::error::{ApiError, ApiResult};
use crate::extract::{optional_text, required_text, uuid_param};
use axum::http::StatusCode;
use domain::catalog::{checkout as co, v1};
use domain::{Money, Timestamp};
use serde::{Deserialize, Serialize};
use store::repo::checkout::{self as repo, SessionRow};
use store::repo::{dealers, invoices, orders};
use utoipa::ToSchema;

fn bad(e: domain::catalog::CatalogEntry, why: impl Into<String>) -> ApiError {
    ApiError::checkout(StatusCode::BAD_REQUEST, e, why)
}

fn now() -> i64 {
    Timestamp::now().millis()
}

// ----- namespaces and API keys (operator) -----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceCreate {
    /// 3–40 lowercase letters, digits and '-'.
    pub namespace: String,
    pub name: String,
    pub dealer_uuid: String,
    /// The department whose orders checkout payments are booked on.
    pub department_uuid: String,
    /// The associate recorded as the invoices' payment user.
    #[serde(rename = "dealerAssociateUUID")]
    pub dealer_associate_uuid: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceView {
    pub namespace: String,
    pub name: String,
    pub dealer_uuid: String,
    pub disabled: bool,
}

pub async fn create_namespace(app: &AppState, req: NamespaceCreate) -> ApiResult<NamespaceView> {
    let ns = req.namespace.trim().to_string();
    if !valid_namespace(&ns) {
        return Err(ApiError::invalid(
            "namespace",
            "must be 3 to 40 lowercase letters, digits or '-'",
        ));
    }
    let name = required_text("name", Some(&req.name), 200)?;
    let db = &app.db;
    let dealer =
        dealers::dealer_by_uuid(db, &uuid_param("dealerUuid", &req.dealer_uuid)?.to_string())
            .await?
            .ok_or_else(|| ApiError::not_found(v1::INVALID_DEALER, "dealerUuid: no such dealer"))?;
    let dept = dealers::department_by_uuid(
        db,
        &uuid_param("departmentUuid", &req.department_uuid)?.to_string(),
    )
    .await?
    .filter(|d| d.dealer_id == dealer.id)
    .ok_or_else(|| ApiError::invalid("departmentUuid", "no such department for this dealer"))?;
    let assoc = dealers::associate_by_uuid(
        db,
        &uuid_param("dealerAssociateUUID", &req.dealer_associate_uuid)?.to_string(),
    )
    .await?
    .filter(|a| a.dealer_id == dealer.id)
    .ok_or_else(|| ApiError::invalid("dealerAssociateUUID", "no such associate for this dealer"))?;
    let mut tx = db.begin().await?;
    let guest = dealers::upsert_customer(
        &mut tx,
        dealer.id,
        &dealers::CustomerWrite {
            uuid: uuid::Uuid::new_v4().to_string(),
            first_name: None,
            middle_name: None,
            last_name: None,
            company: Some(format!("Checkout guest ({ns})")),
            email: None,
            phone: None,
            blacklisted: false,
            profile: "{}".into(),
        },
        now(),
    )
    .await?
    .ok_or_else(|| ApiError::internal("guest customer"))?;
    tx.commit().await?;
    let w = repo::NamespaceWrite {
        namespace: ns.clone(),
        dealer_id: dealer.id,
        department_id: dept.id,
        associate_id: assoc.id,
        guest_customer_id: guest.id,
        name,
    };
    match repo::insert_namespace(db, &w, now()).await {
        Ok(r) => Ok(NamespaceView {
            namespace: r.namespace,
            name: r.name,
            dealer_uuid: dealer.uuid,
            disabled: false,
        }),
        Err(e) if e.is_unique_violation() => Err(ApiError::checkout(
            StatusCode::CONFLICT,
            co::VALIDATION_ERROR,
            "namespace: already exists",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Whether a path segment can name a namespace at all (checked before it reaches a query).
pub fn valid_namespace(ns: &str) -> bool {
    (3..=40).contains(&ns.len())
        && ns
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

async fn namespace_row(app: &AppState, ns: &str) -> ApiResult<repo::NamespaceRow> {
    if !valid_namespace(ns) {
        return Err(ApiError::checkout(
            StatusCode::NOT_FOUND,
            co::INVALID_NAMESPACE,
            "no such namespace",
        ));
    }
    repo::namespace(&app.db, ns).await?.ok_or_else(|| {
        ApiError::checkout(
            StatusCode::NOT_FOUND,
            co::INVALID_NAMESPACE,
            "no such namespace",
        )
    })
}

pub async fn set_disabled(app: &AppState, ns: &str, disabled: bool) -> ApiResult<()> {
    let row = namespace_row(app, ns).await?;
    repo::set_namespace_disabled(&app.db, row.id, disabled).await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ApiKeyCreate {
    pub label: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyCreated {
    pub id: String,
    /// Shown once; only its hash is stored.
    pub api_key: String,
    pub label: String,
}

pub async fn create_api_key(
    app: &AppState,
    ns: &str,
    req: ApiKeyCreate,
) -> ApiResult<ApiKeyCreated> {
    let row = namespace_row(app, ns).await?;
    let label =
        optional_text("label", req.label.as_deref(), 100)?.unwrap_or_else(|| "default".into());
    let key = new_secret("dpk_");
    let id = uuid::Uuid::new_v4().to_string();
    repo::insert_api_key(
        &app.db,
        &id,
        row.id,
        &sha256_hex(key.as_bytes()),
        &label,
        now(),
    )
    .await?;
    Ok(ApiKeyCreated {
        id,
        api_key: key,
        label,
    })
}

pub async fn revoke_api_key(app: &AppState, ns: &str, id: &str) -> ApiResult<()> {
    let row = namespace_row(app, ns).await?;
    if repo::revoke_api_key(&app.db, row.id, id, now()).await? {
        Ok(())
    } else {
        Err(ApiError::checkout(
            StatusCode::NOT_FOUND,
            co::API_KEY_NOT_FOUND,
            "no live API key with this id",
        ))
    }
}

// ----- access tokens -----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    pub api_key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub namespace: String,
}

fn access_token(app: &AppState, ns: &str, subject: &str) -> AccessToken {
    AccessToken {
        access_token: checkout_auth::mint(app, ns, subject, now() / 1000),
        token_type: "Bearer".into(),
        expires_in: checkout_auth::TOKEN_TTL_SECS,
        namespace: ns.into(),
    }
}

pub async fn exchange_key(app: &AppState, ns: &str, req: TokenRequest) -> ApiResult<AccessToken> {
    let key = req
        .api_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::missing("apiKey"))?;
    let not_found = || {
        ApiError::checkout(
            StatusCode::UNAUTHORIZED,
            co::API_KEY_NOT_FOUND,
            "unknown or revoked API key",
        )
    };
    let owner = repo::api_key_namespace(&app.db, &sha256_hex(key.as_bytes()))
        .await?
        .ok_or_else(not_found)?;
    let row = repo::namespace_by_id(&app.db, owner)
        .await?
        .ok_or_else(not_found)?;
    if row.namespace != ns {
        return Err(ApiError::checkout(
            StatusCode::FORBIDDEN,
            co::INVALID_NAMESPACE,
            "this API key belongs to another namespace",
        ));
    }
    if row.disabled != 0 {
        return Err(ApiError::checkout(
            StatusCode::UNAUTHORIZED,
            co::UNAUTHORIZED,
            "this namespace is not active",
        ));
    }
    Ok(access_token(app, ns, &format!("key:{owner}")))
}

// ----- merchant users and password resets -----

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserCreate {
    pub email: String,
    /// At least 12 characters.
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
}

fn email(field: &str, v: &str) -> ApiResult<String> {
    let e = required_text(field, Some(v), 254)?.to_ascii_lowercase();
    let ok = e
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'));
    if ok {
        Ok(e)
    } else {
        Err(ApiError::invalid(field, "must be an email address"))
    }
}

fn password(field: &str, v: &str) -> ApiResult<String> {
    if v.chars().count() < 12 || v.len() > 256 {
        return Err(ApiError::invalid(field, "must be 12 to 256 characters"));
    }
    Ok(v.to_string())
}

async fn hash(p: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || hash_secret(&p))
        .await
        .map_err(ApiError::internal)
}

pub async fn create_user(app: &AppState, m: &Merchant, req: UserCreate) -> ApiResult<UserView> {
    let email = email("email", &req.email)?;
    let pw = hash(password("password", &req.password)?).await?;
    let id = uuid::Uuid::new_v4().to_string();
    match repo::insert_user(&app.db, &id, m.namespace.id, &email, &pw, now()).await {
        Ok(u) => Ok(UserView {
            id: u.uuid,
            email: u.email,
        }),
        Err(e) if e.is_unique_violation() => Err(ApiError::checkout(
            StatusCode::CONFLICT,
            co::VALIDATION_ERROR,
            "email: already registered",
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Login {
    pub email: String,
    pub password: String,
}

pub async fn login(app: &AppState, ns: &str, req: Login) -> ApiResult<AccessToken> {
    let refused = || {
        ApiError::checkout(
            StatusCode::UNAUTHORIZED,
            co::UNAUTHORIZED,
            "wrong email or password",
        )
    };
    if !valid_namespace(ns) {
        return Err(refused());
    }
    let row = repo::namespace(&app.db, ns)
        .await?
        .filter(|n| n.disabled == 0)
        .ok_or_else(refused)?;
    let email = email("email", &req.email)?;
    let user = repo::user_by_email(&app.db, row.id, &email).await?;
    let (pw, stored) = (
        req.password.clone(),
        user.as_ref().map(|u| u.password_hash.clone()),
    );
    let ok = tokio::task::spawn_blocking(move || match stored {
        Some(h) => argon2::password_hash::PasswordHash::new(&h)
            .map(|p| {
                argon2::PasswordVerifier::verify_password(
                    &argon2::Argon2::default(),
                    pw.as_bytes(),
                    &p,
                )
                .is_ok()
            })
            .unwrap_or(false),
        None => {
            // Same work for unknown users, so existence cannot be timed.
            let _ = hash_secret(&pw);
            false
        }
    })
    .await
    .map_err(ApiError::internal)?;
    match user {
        Some(u) if ok => Ok(access_token(app, ns, &format!("user:{}", u.uuid))),
        _ => Err(refused()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetConfirm {
    pub token: String,
    pub new_password: String,
}

/// How long a reset token is valid.
pub const RESET_TTL_MS: i64 = 30 * 60 * 1000;

/// Always answers the same, whether or not the address is registered; when it is, a single-use
/// token goes to the outbox for the email sender.
pub async fn request_reset(app: &AppState, ns: &str, req: ResetRequest) -> ApiResult<()> {
    let email = email("email", &req.email)?;
    if !valid_namespace(ns) {
        return Ok(());
    }
    let Some(row) = repo::namespace(&app.db, ns).await? else {
        return Ok(());
    };
    let Some(user) = repo::user_by_email(&app.db, row.id, &email).await? else {
        return Ok(());
    };
    let token = new_secret("rst_");
    let link = format!(
        "{}/checkout/reset?token={token}",
        app.config.public_url.trim_end_matches('/')
    );
    let payload = serde_json::json!({ "namespace": ns, "email": user.email, "resetUrl": link, "expiresInMinutes": 30 }).to_string();
    let t = now();
    repo::insert_reset(
        &app.db,
        &user,
        &sha256_hex(token.as_bytes()),
        t + RESET_TTL_MS,
        &payload,
        t,
    )
    .await?;
    Ok(())
}

pub async fn confirm_reset(app: &AppState, req: ResetConfirm) -> ApiResult<()> {
    let pw = hash(password("newPassword", &req.new_password)?).await?;
    if repo::use_reset(
        &app.db,
        &sha256_hex(req.token.trim().as_bytes()),
        &pw,
        now(),
    )
    .await?
    {
        Ok(())
    } else {
        Err(bad(
            co::INVALID_RESET_PASSWORD_TOKEN,
            "the reset token is unknown, used or expired",
        ))
    }
}

// ----- sessions -----

/// The session lifecycle, in one place:
///
/// | from | event | to |
/// |---|---|---|
/// | open | pay | processing |
/// | processing | approved (automatic / manual capture) | succeeded / requires_capture |
/// | processing | declined | failed |
/// | requires_capture | capture | succeeded |
/// | open, requires_capture | cancel | cancelled |
/// | open | expire (call or expiry job) | expired |
///
/// Any call on a session in a terminal state answers the matching `SESSION_ALREADY_*`.
pub fn terminal_error(status: &str) -> Option<ApiError> {
    let e = match status {
        "succeeded" => co::SESSION_ALREADY_SUCCEEDED,
        "failed" => co::SESSION_ALREADY_FAILED,
        "cancelled" => co::SESSION_ALREADY_CANCELLED,
        "expired" => co::SESSION_ALREADY_EXPIRED,
        _ => return None,
    };
    Some(ApiError::checkout(
        StatusCode::CONFLICT,
        e,
        format!("the session is {status}"),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerRef {
    pub customer_uuid: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionCreate {
    /// The merchant's own reference, unique in the namespace.
    pub reference_id: Option<String>,
    pub amount: Option<Money>,
    /// Only USD.
    pub currency: Option<String>,
    pub customer: Option<CustomerRef>,
    /// `automatic` (default) or `manual`.
    pub capture_method: Option<String>,
    /// Default SANDBOX.
    pub processor: Option<String>,
    /// Any of `card`, `pin_debit` (default `["card"]`).
    pub payment_methods: Option<Vec<String>>,
    /// 1800 – 86400 (default 86400).
    pub expires_in_seconds: Option<i64>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: String,
    pub namespace: String,
    pub reference_id: String,
    pub status: String,
    pub amount: Money,
    pub currency: String,
    pub customer_uuid: Option<String>,
    pub capture_method: String,
    pub processor: String,
    pub payment_methods: Vec<String>,
    /// The hosted checkout page.
    pub url: String,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub amount_authorized: Money,
    pub amount_captured: Money,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const METHODS: &[&str] = &["card", "pin_debit"];
const MIN_EXPIRY: i64 = 1800;
const MAX_EXPIRY: i64 = 86_400;

fn url_field(field: &str, v: Option<&str>) -> ApiResult<Option<String>> {
    let u = optional_text(field, v, 2000)?;
    if let Some(u) = &u {
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            return Err(ApiError::invalid(field, "must be an http(s) URL"));
        }
    }
    Ok(u)
}

async fn view(app: &AppState, ns: &str, s: &SessionRow) -> ApiResult<SessionView> {
    let customer_uuid = match s.customer_id {
        Some(id) => dealers::customer_by_id(&app.db, id).await?.map(|c| c.uuid),
        None => None,
    };
    let m = |c: i64| Money::from_cents(c).unwrap_or_default();
    Ok(SessionView {
        id: s.uuid.clone(),
        namespace: ns.into(),
        reference_id: s.reference_id.clone(),
        status: s.status.clone(),
        amount: m(s.amount_cents),
        currency: s.currency.clone(),
        customer_uuid,
        capture_method: s.capture_method.clone(),
        processor: s.processor.clone(),
        payment_methods: serde_json::from_str(&s.payment_methods).unwrap_or_default(),
        url: format!(
            "{}/checkout/{}",
            app.config.public_url.trim_end_matches('/'),
            s.uuid
        ),
        success_url: s.success_url.clone(),
        cancel_url: s.cancel_url.clone(),
        amount_authorized: m(s.authorized_cents),
        amount_captured: m(s.captured_cents),
        expires_at: Timestamp::from_millis(s.expires_at),
        created_at: Timestamp::from_millis(s.created_at),
        updated_at: Timestamp::from_millis(s.updated_at),
    })
}

pub async fn create_session(
    app: &AppState,
    m: &Merchant,
    req: SessionCreate,
) -> ApiResult<SessionView> {
    let ns = &m.namespace;
    let reference = required_text("referenceId", req.reference_id.as_deref(), 100)?;
    let amount = req.amount.ok_or_else(|| ApiError::missing("amount"))?;
    if amount.cents() == 0 {
        return Err(ApiError::invalid("amount", "must be more than 0"));
    }
    let currency = req
        .currency
        .as_deref()
        .map(|c| c.trim().to_ascii_uppercase())
        .unwrap_or_else(|| "USD".into());
    if currency != "USD" {
        return Err(ApiError::invalid("currency", "only USD is supported"));
    }
    let capture = req
        .capture_method
        .as_deref()
        .map(str::trim)
        .unwrap_or("automatic")
        .to_string();
    if capture != "automatic" && capture != "manual" {
        return Err(ApiError::invalid(
            "captureMethod",
            "must be automatic or manual",
        ));
    }
    let methods = req
        .payment_methods
        .clone()
        .unwrap_or_else(|| vec!["card".into()]);
    if methods.is_empty()
        || methods.len() > 4
        || methods.iter().any(|x| !METHODS.contains(&x.as_str()))
    {
        return Err(ApiError::invalid(
            "paymentMethods",
            "must list card and/or pin_debit",
        ));
    }
    let expires_in = req.expires_in_seconds.unwrap_or(MAX_EXPIRY);
    if !(MIN_EXPIRY..=MAX_EXPIRY).contains(&expires_in) {
        return Err(ApiError::invalid(
            "expiresInSeconds",
            "must be between 1800 (30 min) and 86400 (24 h)",
        ));
    }
    let success_url = url_field("successUrl", req.success_url.as_deref())?;
    let cancel_url = url_field("cancelUrl", req.cancel_url.as_deref())?;
    let db = &app.db;
    let dealer = dealers::dealer_by_id(db, ns.dealer_id)
        .await?
        .ok_or_else(|| ApiError::internal("namespace without dealer"))?;
    let processor = req
        .processor
        .as_deref()
        .map(|p| p.trim().to_ascii_uppercase())
        .unwrap_or_else(|| dealer.payment_provider.clone());
    if processor != dealer.payment_provider || processor != app.processor.name() {
        return Err(bad(
            co::INVALID_PAYMENT_PROCESSOR,
            format!("processor: {processor} is not configured for this merchant"),
        ));
    }
    let customer = match req
        .customer
        .as_ref()
        .and_then(|c| c.customer_uuid.as_deref())
    {
        Some(u) => {
            let u = uuid::Uuid::parse_str(u.trim()).map_err(|_| {
                bad(
                    co::INVALID_CUSTOMER,
                    "customer.customerUuid: no such customer",
                )
            })?;
            let c = dealers::customer_by_uuid(db, &u.to_string())
                .await?
                .filter(|c| c.dealer_id == ns.dealer_id && c.blacklisted == 0)
                .ok_or_else(|| {
                    bad(
                        co::INVALID_CUSTOMER,
                        "customer.customerUuid: no such customer",
                    )
                })?;
            Some(c.id)
        }
        None => None,
    };
    let t = now();
    let session_uuid = format!("cs_{}", uuid::Uuid::new_v4().simple());
    let mut tx = db.begin().await?;
    // The session's own repair order and invoice carry its payment attempts.
    let order = orders::upsert(
        &mut tx,
        ns.dealer_id,
        &orders::OrderWrite {
            uuid: uuid::Uuid::new_v4().to_string(),
            department_id: ns.department_id,
            customer_id: customer.unwrap_or(ns.guest_customer_id),
            vehicle_id: None,
            associate_id: None,
            order_number: session_uuid.clone(),
            order_type: "CHECKOUT".into(),
            order_status: "OPEN".into(),
            amount_cents: amount.cents(),
            order_date: t,
            profile: serde_json::json!({ "description": format!("Checkout {reference}") })
                .to_string(),
        },
        t,
    )
    .await?
    .ok_or_else(|| ApiError::internal("session order"))?;
    let invoice = invoices::upsert(
        &mut tx,
        ns.dealer_id,
        &invoices::InvoiceWrite {
            guid: uuid::Uuid::new_v4().to_string(),
            dealer_order_id: order.id,
            customer_id: customer.unwrap_or(ns.guest_customer_id),
            associate_id: ns.associate_id,
            amount_cents: amount.cents(),
            invoice_date: t,
            description: Some(format!("Checkout {reference}")),
            file_name: None,
            reminder_date: None,
            reminder_mileage: None,
        },
        t,
    )
    .await?
    .ok_or_else(|| ApiError::internal("session invoice"))?;
    let w = repo::SessionWrite {
        uuid: session_uuid,
        namespace_id: ns.id,
        reference_id: reference,
        amount_cents: amount.cents(),
        currency,
        customer_id: customer,
        capture_method: capture,
        processor,
        payment_methods: serde_json::to_string(&methods).map_err(ApiError::internal)?,
        expires_at: t + expires_in * 1000,
        success_url,
        cancel_url,
        dealer_order_id: order.id,
        invoice_id: invoice.id,
    };
    let row = match repo::insert_session(&mut tx, &w, t).await {
        Ok(r) => r,
        Err(e) if e.is_unique_violation() => {
            return Err(ApiError::checkout(
                StatusCode::CONFLICT,
                co::REFERENCE_ID_EXISTED,
                "referenceId: already used in this namespace",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    view(app, &ns.namespace, &row).await
}

/// Loads a session of the merchant's namespace; expired ones are expired on the way.
/// `cs_` and 32 hex digits: the only ids worth a database lookup.
pub fn is_session_id(id: &str) -> bool {
    id.len() == 35 && id.starts_with("cs_") && id[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

pub async fn load_session(app: &AppState, m: &Merchant, id: &str) -> ApiResult<SessionRow> {
    if !is_session_id(id) {
        return Err(bad(co::INVALID_SESSION, "sessionId: not a session id"));
    }
    let s = repo::session(&app.db, id)
        .await?
        .filter(|s| s.namespace_id == m.namespace.id)
        .ok_or_else(|| {
            ApiError::checkout(
                StatusCode::NOT_FOUND,
                co::SESSION_NOT_FOUND,
                "no such session in this namespace",
            )
        })?;
    let s = sync_session(app, s).await?;
    if s.status == "open" && s.expires_at <= now() {
        repo::transition(&app.db, s.id, &["open"], "expired", now()).await?;
        return repo::session(&app.db, id)
            .await?
            .ok_or_else(|| ApiError::internal("session vanished"));
    }
    Ok(s)
}

pub async fn get_session(app: &AppState, m: &Merchant, id: &str) -> ApiResult<SessionView> {
    let s = load_session(app, m, id).await?;
    view(app, &m.namespace.namespace, &s).await
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionList {
    pub data: Vec<SessionView>,
    pub has_more: bool,
    /// Pass as `startingAfter` for the next page.
    pub next_cursor: Option<String>,
}

pub async fn list_sessions(
    app: &AppState,
    m: &Merchant,
    query: Option<&str>,
) -> ApiResult<SessionList> {
    let pairs = crate::extract::query_pairs(query);
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let limit = match get("limit") {
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| ApiError::invalid("limit", "must be 1 to 100"))?,
        None => 20,
    };
    let after = match get("startingAfter") {
        Some(c) => {
            load_session(app, m, c)
                .await
                .map_err(|_| ApiError::invalid("startingAfter", "not a session of this namespace"))?
                .id
        }
        None => 0,
    };
    let mut rows = repo::sessions_after(&app.db, m.namespace.id, after, limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let mut data = Vec::with_capacity(rows.len());
    for r in &rows {
        data.push(view(app, &m.namespace.namespace, r).await?);
    }
    let next_cursor = if has_more {
        rows.last().map(|r| r.uuid.clone())
    } else {
        None
    };
    Ok(SessionList {
        data,
        has_more,
        next_cursor,
    })
}

pub async fn cancel_session(app: &AppState, m: &Merchant, id: &str) -> ApiResult<SessionView> {
    let s = load_session(app, m, id).await?;
    if let Some(e) = terminal_error(&s.status) {
        return Err(e);
    }
    if s.status == "requires_capture" {
        // Release the hold at the processor; the session follows its attempt.
        let (_, a) = session_payment(app, &s)
            .await?
            .ok_or_else(|| ApiError::internal("authorized session without intent"))?;
        super::payments::release(app, &crate::auth::Principal::Operator, &a.uuid)
            .await
            .map_err(|_| {
                co_conflict(
                    co::SESSION_COULD_NOT_CANCEL,
                    "the authorization could not be released now; retry",
                )
            })?;
        sync_session(app, s).await?;
        return get_session(app, m, id).await;
    }
    if !repo::transition(&app.db, s.id, &["open"], "cancelled", now()).await? {
        return Err(ApiError::checkout(
            StatusCode::CONFLICT,
            co::SESSION_COULD_NOT_CANCEL,
            "a payment on this session is being processed",
        ));
    }
    get_session(app, m, id).await
}

pub async fn expire_session(app: &AppState, m: &Merchant, id: &str) -> ApiResult<SessionView> {
    let s = load_session(app, m, id).await?;
    if let Some(e) = terminal_error(&s.status) {
        return Err(e);
    }
    if !repo::transition(&app.db, s.id, &["open"], "expired", now()).await? {
        return Err(ApiError::checkout(
            StatusCode::CONFLICT,
            co::SESSION_COULD_NOT_CANCEL,
            "only an open session can be expired",
        ));
    }
    get_session(app, m, id).await
}

// ----- payment intents -----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntentCreate {
    /// Must equal the session's amount.
    pub amount: Option<Money>,
    /// `card` (default) or `pin_debit`; must be one the session allows.
    pub payment_method: Option<String>,
    pub card: Option<super::payments::CardInput>,
    /// A processor token instead of card details (sandbox: `tok_visa`, …).
    pub token: Option<String>,
    /// Required for `pin_debit`: the PIN pad's encrypted PIN block reference.
    pub pin_token: Option<String>,
    /// Where a 3-D Secure challenge returns the customer to.
    pub return_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntentView {
    pub id: String,
    pub session_id: String,
    /// processing, requires_action, succeeded, failed or canceled.
    pub status: String,
    pub amount: Money,
    pub payment_method: String,
    /// The processor's reason when failed.
    pub failure_reason: Option<String>,
    /// For requires_action: the 3-D Secure challenge to send the customer to.
    pub next_action_url: Option<String>,
    /// The PaymentAttempt underneath (v1 routes show it in full).
    pub payment_attempt_uuid: String,
    pub created_at: Timestamp,
}

/// Maps the attempt's status to the intent's. Everything the engine produces maps; anything
/// else answers INVALID_TRANSACTION_STATUS rather than guessing.
pub fn intent_status(attempt_status: &str) -> ApiResult<&'static str> {
    Ok(match attempt_status {
        "Created" | "InProgress" => "processing",
        "RequiresAction" => "requires_action",
        "RequiresCapture" => "requires_capture",
        "Succeeded" => "succeeded",
        "Failed" => "failed",
        "Cancelled" => "canceled",
        other => {
            return Err(ApiError::checkout(
                StatusCode::BAD_GATEWAY,
                co::INVALID_TRANSACTION_STATUS,
                format!("the payment is in a state ({other}) that has no payment intent status"),
            ))
        }
    })
}

async fn intent_view(app: &AppState, s: &SessionRow, i: &repo::IntentRow) -> ApiResult<IntentView> {
    let a = store::repo::attempts::by_id(&app.db, i.attempt_id)
        .await?
        .ok_or_else(|| ApiError::internal("intent without attempt"))?;
    let next_action_url = a
        .next_action
        .as_deref()
        .and_then(|n| serde_json::from_str::<wire::NextAction>(n).ok())
        .and_then(|n| n.redirect_to_url_action.map(|r| r.redirect_url))
        .filter(|_| a.status == "RequiresAction");
    Ok(IntentView {
        id: i.uuid.clone(),
        session_id: s.uuid.clone(),
        status: intent_status(&a.status)?.into(),
        amount: Money::from_cents(i.amount_cents).unwrap_or_default(),
        payment_method: i.payment_method.clone(),
        failure_reason: (a.status == "Failed")
            .then(|| a.response_description.clone())
            .flatten(),
        next_action_url,
        payment_attempt_uuid: a.uuid,
        created_at: Timestamp::from_millis(i.created_at),
    })
}

/// Brings a processing session up to date with its payment (settled meanwhile by the request
/// itself or by the in-flight resolver).
/// The session's latest payment intent and the attempt underneath it, if it has one.
async fn session_payment(
    app: &AppState,
    s: &SessionRow,
) -> ApiResult<Option<(repo::IntentRow, store::repo::attempts::AttemptRow)>> {
    let Some(i) = repo::latest_intent(&app.db, s.id).await? else {
        return Ok(None);
    };
    let a = store::repo::attempts::by_id(&app.db, i.attempt_id)
        .await?
        .ok_or_else(|| ApiError::internal("intent without attempt"))?;
    Ok(Some((i, a)))
}

pub async fn sync_session(app: &AppState, s: SessionRow) -> ApiResult<SessionRow> {
    if s.status != "processing" && s.status != "requires_capture" {
        return Ok(s);
    }
    let Some((i, a)) = session_payment(app, &s).await? else {
        return Ok(s);
    };
    let t = now();
    let db = &app.db;
    let moved = match (s.status.as_str(), a.status.as_str()) {
        ("processing", "RequiresCapture") => {
            repo::settle_session(
                db,
                s.id,
                "processing",
                "requires_capture",
                i.amount_cents,
                0,
                t,
            )
            .await?
        }
        (from, "Succeeded") => {
            repo::settle_session(
                db,
                s.id,
                from,
                "succeeded",
                i.amount_cents,
                a.amount_cents,
                t,
            )
            .await?
        }
        ("processing", "Failed") => {
            repo::settle_session(db, s.id, "processing", "failed", 0, 0, t).await?
        }
        ("requires_capture", "Cancelled") => {
            repo::settle_session(
                db,
                s.id,
                "requires_capture",
                "cancelled",
                i.amount_cents,
                0,
                t,
            )
            .await?
        }
        _ => false,
    };
    if moved {
        return repo::session(db, &s.uuid)
            .await?
            .ok_or_else(|| ApiError::internal("session vanished"));
    }
    Ok(s)
}

/// Why a session in `status` cannot take a payment now (None: it is open).
fn pay_blocker(status: &str) -> Option<ApiError> {
    match status {
        "open" => None,
        "processing" => Some(co_conflict(
            co::PAYMENT_INTENT_EXISTED,
            "a payment intent for this session is being processed",
        )),
        "requires_capture" | "succeeded" => Some(co_conflict(
            co::SESSION_PAYMENT_ALREADY_COMPLETED,
            "this session is paid",
        )),
        other => Some(
            terminal_error(other).unwrap_or_else(|| ApiError::internal("unknown session status")),
        ),
    }
}

fn co_conflict(e: domain::catalog::CatalogEntry, why: &str) -> ApiError {
    ApiError::checkout(StatusCode::CONFLICT, e, why)
}

/// Pays a session: exactly one intent at a time (the open → processing move is a conditional
/// update), charged through the card-payment engine on the session's own order and invoice.
pub async fn create_intent(
    app: &AppState,
    m: &Merchant,
    session_id: &str,
    req: IntentCreate,
) -> ApiResult<(StatusCode, IntentView)> {
    let s = load_session(app, m, session_id).await?;
    if let Some(e) = pay_blocker(&s.status) {
        return Err(e);
    }
    let amount = req.amount.ok_or_else(|| ApiError::missing("amount"))?;
    if amount.cents() != s.amount_cents {
        return Err(bad(
            co::MISMATCH_PAYMENT_AMOUNT,
            "amount: must equal the session's amount",
        ));
    }
    let method = req
        .payment_method
        .as_deref()
        .map(str::trim)
        .unwrap_or("card")
        .to_string();
    let allowed: Vec<String> = serde_json::from_str(&s.payment_methods).unwrap_or_default();
    if !allowed.contains(&method) {
        return Err(ApiError::invalid(
            "paymentMethod",
            "is not allowed for this session",
        ));
    }
    if method == "pin_debit"
        && req
            .pin_token
            .as_deref()
            .map(str::trim)
            .unwrap_or("")
            .is_empty()
    {
        return Err(bad(
            co::MISSING_PIN_TOKEN,
            "pinToken: is required for pin_debit",
        ));
    }
    let ns = &m.namespace;
    let db = &app.db;
    let dealer = dealers::dealer_by_id(db, ns.dealer_id)
        .await?
        .ok_or_else(|| ApiError::internal("namespace without dealer"))?;
    if dealer.payment_provider != app.processor.name() {
        return Err(ApiError::checkout(
            StatusCode::UNPROCESSABLE_ENTITY,
            co::INVALID_CONFIGURATION,
            "the merchant's dealer is set up for a processor this server is not connected to",
        ));
    }
    let t = now();
    if !repo::transition(db, s.id, &["open"], "processing", t).await? {
        let s = load_session(app, m, session_id).await?;
        // Someone else moved it first: answer as if we had seen that state.
        return Err(pay_blocker(&s.status).unwrap_or_else(|| {
            co_conflict(
                co::PAYMENT_INTENT_EXISTED,
                "the session changed meanwhile; retry",
            )
        }));
    }
    let quote = dealer
        .fee_settings()
        .quote(amount, domain::fees::TenderType::Credit, None);
    let w = store::repo::attempts::AttemptWrite {
        uuid: uuid::Uuid::new_v4().to_string(),
        dealer_id: ns.dealer_id,
        department_id: ns.department_id,
        dealer_order_id: s.dealer_order_id,
        invoice_id: s.invoice_id,
        customer_id: s.customer_id.unwrap_or(ns.guest_customer_id),
        associate_id: Some(ns.associate_id),
        status: "Created".into(),
        transaction_type: "CHARGE".into(),
        payment_type: Some(
            if method == "pin_debit" {
                "PIN_DEBIT"
            } else {
                "ONLINE"
            }
            .into(),
        ),
        amount_cents: amount.cents(),
        payment_provider: dealer.payment_provider.clone(),
        attributes: serde_json::json!({ "checkoutSession": s.uuid, "referenceId": s.reference_id })
            .to_string(),
        card_digits: None,
        tender_type: "CREDIT".into(),
        card_type: None,
        surcharge_cents: quote.surcharge.cents(),
        dual_pricing_cents: quote.dual_pricing_fee.cents(),
        sales_tax_cents: quote.sales_tax.cents(),
        total_cents: quote.total.cents(),
        locale: "en".into(),
        request: "{}".into(),
        parent_transaction_id: None,
        in_flight_until: None,
    };
    let created = async {
        let mut tx = db.begin().await?;
        let a = store::repo::attempts::insert(&mut tx, &w, t).await?;
        tx.commit().await?;
        let i = repo::insert_intent(
            db,
            &format!("pi_{}", uuid::Uuid::new_v4().simple()),
            s.id,
            a.id,
            &method,
            amount.cents(),
            t,
        )
        .await?;
        Ok::<_, store::StoreError>((a, i))
    }
    .await;
    let (attempt, intent) = match created {
        Ok(x) => x,
        Err(e) => {
            // Nothing was charged: give the session back.
            let _ = repo::transition(db, s.id, &["processing"], "open", now()).await;
            return Err(e.into());
        }
    };
    let confirm = super::payments::ConfirmRequest {
        card: req.card,
        token: req.token,
        return_url: req.return_url,
        capture: Some(s.capture_method != "manual"),
    };
    let result = super::payments::confirm(
        app,
        &crate::auth::Principal::Operator,
        &attempt.uuid,
        confirm,
    )
    .await;
    if let Err(e) = result {
        // Refused before the processor was called (the attempt never took off): reopen.
        let a = store::repo::attempts::by_id(db, attempt.id).await?;
        if a.is_some_and(|a| a.status == "Created") {
            repo::transition(db, s.id, &["processing"], "open", now()).await?;
        }
        return Err(e);
    }
    let s = sync_session(app, s).await?;
    let view = intent_view(app, &s, &intent).await?;
    if view.status == "failed" {
        let a = store::repo::attempts::by_id(db, attempt.id).await?;
        if a.is_some_and(|a| a.response_description.as_deref() == Some("processing_error")) {
            return Err(ApiError::checkout(
                StatusCode::BAD_GATEWAY,
                co::EXTERNAL_SERVER_ERROR,
                "the processor failed to process the payment",
            ));
        }
    }
    let status = if view.status == "processing" {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    Ok((status, view))
}

async fn load_intent(
    app: &AppState,
    m: &Merchant,
    session_id: &str,
    intent_id: &str,
) -> ApiResult<(SessionRow, repo::IntentRow)> {
    let s = load_session(app, m, session_id).await?;
    let i = repo::intent(&app.db, intent_id)
        .await?
        .filter(|i| i.session_id == s.id)
        .ok_or_else(|| {
            ApiError::checkout(
                StatusCode::NOT_FOUND,
                co::SESSION_NOT_FOUND,
                "no such payment intent on this session",
            )
        })?;
    Ok((s, i))
}

pub async fn get_intent(
    app: &AppState,
    m: &Merchant,
    session_id: &str,
    intent_id: &str,
) -> ApiResult<IntentView> {
    let (s, i) = load_intent(app, m, session_id, intent_id).await?;
    intent_view(app, &s, &i).await
}

/// Completes an intent after its 3-D Secure challenge.
pub async fn complete_intent(
    app: &AppState,
    m: &Merchant,
    session_id: &str,
    intent_id: &str,
) -> ApiResult<IntentView> {
    let (s, i) = load_intent(app, m, session_id, intent_id).await?;
    if let Some(e) = terminal_error(&s.status) {
        return Err(e);
    }
    let a = store::repo::attempts::by_id(&app.db, i.attempt_id)
        .await?
        .ok_or_else(|| ApiError::internal("intent without attempt"))?;
    super::payments::complete(app, &crate::auth::Principal::Operator, &a.uuid).await?;
    let s = sync_session(app, s).await?;
    intent_view(app, &s, &i).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CaptureRequest {
    /// Up to the authorized amount (default: all of it); the rest of the hold is released.
    pub amount: Option<Money>,
}

/// Captures a manual-capture session's authorization, once.
pub async fn capture_session(
    app: &AppState,
    m: &Merchant,
    id: &str,
    req: CaptureRequest,
) -> ApiResult<SessionView> {
    let s = load_session(app, m, id).await?;
    match s.status.as_str() {
        "requires_capture" => {}
        "succeeded" => {
            return Err(co_conflict(
                co::SESSION_ALREADY_COMPLETED,
                "this session was already captured",
            ))
        }
        "open" | "processing" => {
            return Err(co_conflict(
                co::SESSION_COULD_NOT_CAPTURE,
                "there is no authorization to capture",
            ))
        }
        other => {
            return Err(terminal_error(other)
                .unwrap_or_else(|| ApiError::internal("unknown session status")))
        }
    }
    let amount = req.amount.map(Money::cents).unwrap_or(s.authorized_cents);
    if amount > s.authorized_cents {
        return Err(bad(
            co::INVALID_CAPTURE_AMOUNT,
            "amount: exceeds the authorized amount",
        ));
    }
    if amount <= 0 {
        return Err(ApiError::invalid("amount", "must be more than 0"));
    }
    let (_, a) = session_payment(app, &s)
        .await?
        .ok_or_else(|| ApiError::internal("authorized session without intent"))?;
    let body = super::payments::CaptureBody {
        amount: Some(Money::from_cents(amount).map_err(ApiError::internal)?),
    };
    match super::payments::capture(app, &crate::auth::Principal::Operator, &a.uuid, body).await {
        Ok(_) => {}
        // Another capture (or a release) holds the attempt.
        Err(e) if e.status == StatusCode::CONFLICT => {
            return Err(co_conflict(
                co::SESSION_COULD_NOT_CAPTURE,
                "the session is being captured or cancelled",
            ))
        }
        Err(e) => return Err(e),
    }
    let s = sync_session(app, s).await?;
    view(app, &m.namespace.namespace, &s).await
}
