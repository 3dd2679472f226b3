//! The engine's use-cases end to end, without HTTP: an `Engine` built the way `dealerpay
//! serve` builds it (migrated database, a registry of sandbox processors, a secret), dealer
//! data seeded through the DMS-sync use-cases, and callers authenticated through
//! `Engine::authenticate`. Every outcome is read back from the database or a processor ledger.
//!
//! Runs on SQLite (default) or PostgreSQL (`DEALERPAY_TEST_DB=postgres`, server at
//! `DEALERPAY_TEST_POSTGRES_URL`), with a fresh database per test.

// Amounts in cents are written dollars_cents: `100_00` is $100.00.
#![allow(clippy::inconsistent_digit_grouping)]

use base64::Engine as _;
use connectors::sandbox::{Sandbox, SandboxConfig};
use connectors::{PaymentMethod, Registry};
use domain::catalog::{v1, CatalogEntry};
use domain::status::{AttemptStatus, InvoicePaymentStatus, TransactionStatus, TransactionType};
use domain::Money;
use engine::dealer_data as dd;
use engine::partners::{GrantSpec, MintToken};
use engine::payments::{Confirm, PrePayment};
use engine::{Actor, Code, Engine, EngineConfig, EngineError, Generic, Kind};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use store::repo::transactions::{self, TransactionRow};
use store::views::{AttemptView, OrderKey};

// ---------------------------------------------------------------------------------------
// Helpers: a fresh database, an engine over it, seeded dealer data, authenticated callers.
// ---------------------------------------------------------------------------------------

/// The server secret (card-hash / token key material); every engine of a test shares it,
/// as the processes of one deployment do.
const SECRET: &[u8] = b"engine-test-secret-0123456789abcdef";

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_tag() -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!(
        "{}_{}_{}",
        std::process::id(),
        n,
        uuid::Uuid::new_v4().simple()
    )
}

fn on_postgres() -> bool {
    std::env::var("DEALERPAY_TEST_DB").as_deref() == Ok("postgres")
}

fn no_postgres(base: &str, e: db::DbError) -> ! {
    panic!("PostgreSQL at {base} is required for DEALERPAY_TEST_DB=postgres: {e}")
}

/// A new, empty schema on the test PostgreSQL server; the URL selects it. A missing server
/// fails the test (never a skip), in CI and locally alike.
async fn postgres_schema() -> String {
    let base = std::env::var("DEALERPAY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let db = db::Db::connect(&base)
        .await
        .unwrap_or_else(|e| no_postgres(&base, e));
    let schema = format!("t_{}", unique_tag());
    let sql = format!("CREATE SCHEMA {schema}");
    db.write(move |c| Box::pin(async move { c.execute(&sql, db::args![]).await }))
        .await
        .unwrap_or_else(|e| no_postgres(&base, e));
    db.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One test's database: a SQLite file in its own temp dir, or its own PostgreSQL schema.
struct TestDb {
    url: String,
    dir: Option<TempDir>,
}

async fn fresh_database() -> TestDb {
    if on_postgres() {
        return TestDb {
            url: postgres_schema().await,
            dir: None,
        };
    }
    let dir = std::env::temp_dir().join(format!("dealerpay-engine-test-{}", unique_tag()));
    std::fs::create_dir_all(&dir).unwrap();
    TestDb {
        url: format!("sqlite://{}", dir.join("test.db").display()),
        dir: Some(TempDir(dir)),
    }
}

impl TestDb {
    /// A ledger for the sandbox processor `name`, apart from ours and every other sandbox's
    /// (on PostgreSQL all ledgers use the same table name, so each gets its own schema).
    async fn ledger_url(&self, name: &str) -> String {
        match &self.dir {
            Some(d) => format!(
                "sqlite://{}",
                d.0.join(format!("{name}.ledger.db")).display()
            ),
            None => postgres_schema().await,
        }
    }
}

async fn open_sandbox(name: &str, ledger_url: &str) -> Arc<Sandbox> {
    let s = Sandbox::open_named(name, ledger_url, SandboxConfig::default())
        .await
        .expect("the sandbox ledger opens");
    Arc::new(s)
}

/// What `dealerpay serve` does at start (`api::build`): connect and migrate
/// (`store::open`), then build the engine. Another call on the same URL is another process.
async fn engine_on(url: &str, registry: Registry, config: EngineConfig) -> Engine {
    let db = store::open(url)
        .await
        .expect("the database opens and migrates");
    Engine::new(db, registry, config, SECRET.to_vec())
        .await
        .expect("the engine builds")
}

/// An engine with the default `SANDBOX` processor, over a fresh database.
struct World {
    engine: Arc<Engine>,
    sandbox: Arc<Sandbox>,
    db: TestDb,
}

impl World {
    async fn new() -> World {
        World::with_config(EngineConfig::default()).await
    }

    async fn with_config(config: EngineConfig) -> World {
        let db = fresh_database().await;
        let sandbox = open_sandbox("SANDBOX", &db.ledger_url("sandbox").await).await;
        let registry = Registry::new().with_card(sandbox.clone());
        let engine = Arc::new(engine_on(&db.url, registry, config).await);
        World {
            engine,
            sandbox,
            db,
        }
    }
}

/// The uuids of one seeded dealer with one open repair order and its invoice.
#[derive(Clone)]
struct Seed {
    dealer: String,
    department: String,
    customer: String,
    order: String,
    invoice: String,
}

fn usd(cents: i64) -> Money {
    Money::from_cents(cents).expect("a valid amount")
}

/// Seeds a dealer (3% surcharge, no sales tax, processor `provider`) with a department,
/// associate, customer, an open order and one invoice of `invoice_cents`, through the
/// engine's DMS-sync use-cases as the operator — as `dealerpay demo` does.
async fn seed(e: &Engine, provider: &str, invoice_cents: i64) -> Seed {
    let op = Actor::Operator;
    let u = || uuid::Uuid::new_v4().to_string();
    let (dealer, department, associate, customer, order, invoice) = (u(), u(), u(), u(), u(), u());
    e.upsert_dealer(
        &op,
        dd::UpsertDealer {
            dealer_uuid: dealer.clone(),
            name: Some("Test Motors".into()),
            settings: dd::DealerSettingsChange {
                surcharge_enabled: Some(true),
                surcharge_percent: Some(3.0),
                sales_tax_enabled: Some(false),
                payment_provider: Some(provider.into()),
                ..Default::default()
            },
            profile: Default::default(),
        },
    )
    .await
    .expect("dealer");
    e.upsert_department(
        &op,
        dd::UpsertDepartment {
            dealer_uuid: dealer.clone(),
            department_uuid: department.clone(),
            name: Some("Service".into()),
            department_type: Some("SERVICE".into()),
            profile: Default::default(),
        },
    )
    .await
    .expect("department");
    e.upsert_associate(
        &op,
        dd::UpsertAssociate {
            dealer_uuid: dealer.clone(),
            associate_uuid: associate.clone(),
            user_uuid: Some(u()),
            first_name: Some("Sam".into()),
            last_name: Some("Advisor".into()),
            department_uuid: Some(department.clone()),
            profile: Default::default(),
        },
    )
    .await
    .expect("associate");
    e.upsert_customer(
        &op,
        dd::UpsertCustomer {
            dealer_uuid: dealer.clone(),
            customer_uuid: customer.clone(),
            first_name: Some("Jordan".into()),
            middle_name: None,
            last_name: Some("Rivera".into()),
            company: None,
            email: Some("jordan@example.com".into()),
            phone: None,
            blacklisted: false,
            profile: Default::default(),
        },
    )
    .await
    .expect("customer");
    e.upsert_order(
        &op,
        dd::UpsertOrder {
            dealer_uuid: dealer.clone(),
            order_uuid: order.clone(),
            order_number: Some(format!("RO-{}", &order[..8])),
            order_type: Some("RO".into()),
            order_status: None,
            amount: Some(usd(invoice_cents)),
            order_date: None,
            department_uuid: Some(department.clone()),
            customer_uuid: Some(customer.clone()),
            vehicle_uuid: None,
            dealer_associate_uuid: Some(associate.clone()),
            profile: Default::default(),
        },
    )
    .await
    .expect("order");
    e.upsert_invoice(
        &op,
        dd::UpsertInvoice {
            invoice_guid: invoice.clone(),
            dealer_uuid: Some(dealer.clone()),
            dealer_order_uuid: Some(order.clone()),
            customer_uuid: Some(customer.clone()),
            dealer_associate_uuid: Some(associate),
            amount: Some(usd(invoice_cents)),
            invoice_date: None,
            description: Some("Repair order invoice".into()),
            file_name: None,
            reminder_date: None,
            reminder_mileage: None,
            attributes: Default::default(),
        },
    )
    .await
    .expect("invoice");
    Seed {
        dealer,
        department,
        customer,
        order,
        invoice,
    }
}

fn basic(username: &str, secret: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{secret}"));
    format!("Basic {b64}")
}

/// Creates a partner with `grants` (dealer uuid, scope) and authenticates it the way the
/// API does, from its HTTP Basic header.
async fn partner(e: &Engine, username: &str, grants: &[(&str, &str)]) -> Actor {
    let creds = e
        .create_partner(&Actor::Operator, username)
        .await
        .expect("partner");
    for (dealer, scope) in grants {
        let g = GrantSpec {
            dealer_uuid: dealer.to_string(),
            department_uuid: None,
            scope: scope.to_string(),
        };
        e.grant(&Actor::Operator, &creds.uuid, g)
            .await
            .expect("grant");
    }
    e.authenticate(Some(&basic(&creds.username, &creds.secret)))
        .await
        .expect("the partner authenticates")
}

/// A prePayment of `cents` on the seeded invoice, as the API would build it.
fn prepayment(s: &Seed, cents: i64) -> PrePayment {
    PrePayment {
        dealer_uuid: s.dealer.clone(),
        customer_uuid: s.customer.clone(),
        order: OrderKey::Uuid(s.order.clone()),
        invoice_guid: s.invoice.clone(),
        amount: usd(cents),
        card_digits: None,
        ignore_duplicates: false,
        locale: "en".into(),
        cashier_uuid: None,
        fee_request: Default::default(),
        details: Vec::new(),
        attributes: "{}".into(),
        stored_request: "{}".into(),
    }
}

/// Confirm with a sandbox processor token (`tok_visa`, `tok_chargeDeclined`, …), capturing.
fn token(t: &str) -> Confirm {
    Confirm {
        method: PaymentMethod::Token(t.into()),
        return_url: None,
        capture: true,
    }
}

/// Asserts `r` failed with v1 catalog entry `entry`; returns the error for more checks.
#[track_caller]
fn refused<T: std::fmt::Debug>(r: Result<T, EngineError>, entry: CatalogEntry) -> EngineError {
    let e = r.expect_err(&format!("expected {}", entry.title));
    assert_eq!(
        e.code,
        Code::V1(entry),
        "expected {}, got {e:?}",
        entry.title
    );
    e
}

/// An attempt as stored now, with its transaction and invoice (read from the database).
async fn stored_attempt(e: &Engine, uuid: &str) -> AttemptView {
    let u = uuid.to_string();
    e.db.read(move |c| Box::pin(async move { store::views::attempt_by_uuid(c, &u).await }))
        .await
        .expect("read")
        .expect("the attempt exists")
}

async fn stored_transaction(e: &Engine, uuid: &str) -> TransactionRow {
    let u = uuid.to_string();
    e.db.read(move |c| Box::pin(async move { transactions::by_uuid(c, &u).await }))
        .await
        .expect("read")
        .expect("the transaction exists")
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// prePayment → confirm with `tok_visa` → the v3 status → a partial refund, as a partner
/// holding `payment.all` for the dealer.
#[tokio::test(flavor = "multi_thread")]
async fn card_payment_end_to_end() {
    let w = World::new().await;
    let e = &w.engine;
    let s = seed(e, "SANDBOX", 100_00).await;
    let p = partner(e, "dms-partner", &[(&s.dealer, "payment.all")]).await;
    assert!(matches!(&p, Actor::Partner { grants, .. } if grants.len() == 1));

    // 60.00 of the 100.00 invoice; a 3% surcharge on a Visa credit card makes 61.80.
    let pre = e
        .prepayment(&p, prepayment(&s, 60_00))
        .await
        .expect("prepayment");
    assert_eq!(pre.attempt.attempt.status, AttemptStatus::Created);
    assert_eq!(pre.attempt.attempt.payment_provider, "SANDBOX");
    let attempt = pre.attempt.attempt.uuid.clone();

    let paid = e
        .confirm(&p, &attempt, token("tok_visa"))
        .await
        .expect("confirm");
    assert!(paid.settled);
    assert_eq!(paid.attempt.attempt.status, AttemptStatus::Succeeded);

    // As stored: the attempt succeeded, out of flight, with an approved charge.
    let v = stored_attempt(e, &attempt).await;
    assert_eq!(v.attempt.status, AttemptStatus::Succeeded);
    assert!(!v.attempt.in_flight);
    let charge = v.transaction.expect("a transaction is recorded");
    assert_eq!(charge.transaction_type, TransactionType::Charge);
    assert_eq!(charge.status, TransactionStatus::Approved);
    assert_eq!(charge.amount.cents(), 60_00);
    assert_eq!(charge.surcharge.cents(), 1_80);
    assert_eq!(charge.total.cents(), 61_80);
    assert_eq!(charge.processor, "SANDBOX");
    assert_eq!(charge.card_last4.as_deref(), Some("4242"));
    assert_eq!(v.context.invoice.paid.cents(), 60_00);

    // The processor charged exactly that, once, under the attempt's uuid.
    let ledger = w.sandbox.ledger().await.unwrap();
    let charged: Vec<_> = ledger.iter().filter(|l| l.key == attempt).collect();
    assert_eq!(charged.len(), 1, "{ledger:?}");
    assert_eq!(
        (
            charged[0].kind.as_str(),
            charged[0].status.as_str(),
            charged[0].amount_cents
        ),
        ("charge", "approved", 61_80)
    );

    // The v3 status: partially paid, 40.00 left.
    let st = e
        .invoice_status(&p, &s.department, &s.invoice)
        .await
        .expect("status");
    assert_eq!(
        st.context.invoice.status(),
        InvoicePaymentStatus::PartiallyPaid
    );
    assert_eq!(st.context.invoice.due().cents(), 40_00);
    assert_eq!(st.attempts.len(), 1);
    assert_eq!(st.attempts[0].attempt.status, AttemptStatus::Succeeded);

    // Paying the rest makes it paid; nothing more can be prepaid.
    let rest = e
        .prepayment(&p, prepayment(&s, 40_00))
        .await
        .expect("prepayment of the rest");
    let out = e
        .confirm(&p, &rest.attempt.attempt.uuid, token("tok_mastercard"))
        .await
        .expect("confirm the rest");
    assert_eq!(out.attempt.attempt.status, AttemptStatus::Succeeded);
    let st = e
        .invoice_status(&p, &s.department, &s.invoice)
        .await
        .expect("status");
    assert_eq!(st.context.invoice.status(), InvoicePaymentStatus::Paid);
    assert_eq!(st.context.invoice.due(), Money::ZERO);
    assert_eq!(st.transactions().count(), 2);
    refused(
        e.prepayment(&p, prepayment(&s, 1_00)).await,
        v1::INVOICE_ALREADY_PAID,
    );

    // A partial refund of the first charge: 10.00 goes back on the card.
    let r = e
        .refund(&p, &charge.uuid, Some(usd(10_00)), Some("goodwill".into()))
        .await
        .expect("refund");
    assert!(r.settled);
    assert_eq!(r.attempt.attempt.status, AttemptStatus::Succeeded);
    assert_eq!(r.attempt.attempt.transaction_type, TransactionType::Refund);
    let rt = r
        .attempt
        .transaction
        .clone()
        .expect("the refund's transaction");
    assert_eq!(rt.transaction_type, TransactionType::Refund);
    assert_eq!(rt.status, TransactionStatus::Approved);
    assert_eq!((rt.amount.cents(), rt.total.cents()), (10_00, 10_00));
    assert_eq!(rt.parent_id, Some(charge.id));

    // As stored: the charge has 51.80 left to refund; the invoice owes 10.00 again.
    let charge_now = stored_transaction(e, &charge.uuid).await;
    assert_eq!(charge_now.reversed.cents(), 10_00);
    assert_eq!(charge_now.refundable().cents(), 51_80);
    let st = e
        .invoice_status(&p, &s.department, &s.invoice)
        .await
        .expect("status");
    assert_eq!(
        st.context.invoice.status(),
        InvoicePaymentStatus::PartiallyRefunded
    );
    assert_eq!(st.context.invoice.refunded.cents(), 10_00);
    assert_eq!(st.context.invoice.due().cents(), 10_00);
    let ledger = w.sandbox.ledger().await.unwrap();
    let refund = ledger
        .iter()
        .find(|l| l.kind == "refund" && l.charge_key.as_deref() == Some(attempt.as_str()))
        .expect("the refund reached the processor");
    assert_eq!(
        (refund.status.as_str(), refund.amount_cents),
        ("approved", 10_00)
    );

    // More than what remains refundable is refused, and nothing moves.
    refused(
        e.refund(&p, &charge.uuid, Some(usd(60_00)), None).await,
        v1::INVALID_DATA_FOR_THE_FIELD,
    );
    assert_eq!(
        stored_transaction(e, &charge.uuid).await.reversed.cents(),
        10_00
    );
}

/// Declines are outcomes (a Failed attempt with a DECLINED transaction); refusals are
/// `EngineError`s carrying catalog entries.
#[tokio::test(flavor = "multi_thread")]
async fn declines_and_refusals_carry_catalog_codes() {
    let w = World::new().await;
    let e = &w.engine;
    let s = seed(e, "SANDBOX", 50_00).await;
    let p = partner(e, "payer", &[(&s.dealer, "payment.all")]).await;

    // A declining card: the attempt fails, a DECLINED transaction is kept, no money moves.
    let declined = e
        .prepayment(&p, prepayment(&s, 50_00))
        .await
        .unwrap()
        .attempt
        .attempt
        .uuid;
    let out = e
        .confirm(&p, &declined, token("tok_chargeDeclined"))
        .await
        .expect("a decline is an outcome, not an error");
    assert!(out.settled);
    assert_eq!(out.attempt.attempt.status, AttemptStatus::Failed);
    let v = stored_attempt(e, &declined).await;
    assert_eq!(v.attempt.status, AttemptStatus::Failed);
    assert_eq!(v.attempt.response_code.as_deref(), Some("05"));
    assert_eq!(
        v.attempt.response_description.as_deref(),
        Some("generic_decline")
    );
    assert_eq!(
        v.transaction.as_ref().map(|t| t.status),
        Some(TransactionStatus::Declined)
    );
    assert_eq!(v.context.invoice.paid, Money::ZERO);
    // A failed attempt cannot be confirmed again.
    let err = refused(
        e.confirm(&p, &declined, token("tok_visa")).await,
        v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
    );
    assert_eq!(err.kind, Kind::Conflict);

    // Insufficient funds: its own response code and reason.
    let poor = e
        .prepayment(&p, prepayment(&s, 50_00))
        .await
        .unwrap()
        .attempt
        .attempt
        .uuid;
    let out = e
        .confirm(&p, &poor, token("tok_chargeDeclinedInsufficientFunds"))
        .await
        .unwrap();
    assert_eq!(out.attempt.attempt.status, AttemptStatus::Failed);
    let v = stored_attempt(e, &poor).await;
    assert_eq!(v.attempt.response_code.as_deref(), Some("51"));
    assert_eq!(
        v.attempt.response_description.as_deref(),
        Some("insufficient_funds")
    );

    // A token this processor never issued is a field error; the attempt stays payable.
    let pending = e
        .prepayment(&p, prepayment(&s, 50_00))
        .await
        .unwrap()
        .attempt
        .attempt
        .uuid;
    let err = e
        .confirm(&p, &pending, token("tok_nonsense"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.code),
        (Kind::Invalid, Code::Generic(Generic::Invalid))
    );
    assert!(err.detail.starts_with("token"), "{err:?}");
    assert_eq!(
        stored_attempt(e, &pending).await.attempt.status,
        AttemptStatus::Created
    );
    let ok = e.confirm(&p, &pending, token("tok_visa")).await.unwrap();
    assert_eq!(ok.attempt.attempt.status, AttemptStatus::Succeeded);
    let charge = ok.attempt.transaction.expect("charge").uuid;
    assert_eq!(
        stored_attempt(e, &pending)
            .await
            .context
            .invoice
            .paid
            .cents(),
        50_00
    );

    // An unknown dealer: INVALID_DEALER for the operator (who may name any dealer)…
    let mut unknown = prepayment(&s, 10_00);
    unknown.dealer_uuid = uuid::Uuid::new_v4().to_string();
    let err = refused(
        e.prepayment(&Actor::Operator, unknown.clone()).await,
        v1::INVALID_DEALER,
    );
    assert_eq!(err.kind, Kind::Invalid);
    // …while a partner without a grant for it is refused before the dealer is looked up.
    refused(e.prepayment(&p, unknown).await, v1::INVALID_SCOPE_DEALER);

    // A caller without the scope: payment requests only may neither prepay nor confirm.
    let q = partner(e, "requests-only", &[(&s.dealer, "payment.paymentrequest")]).await;
    let err = refused(
        e.prepayment(&q, prepayment(&s, 10_00)).await,
        v1::INVALID_SCOPE_DEALER,
    );
    assert_eq!(err.kind, Kind::Unauthenticated);
    refused(
        e.confirm(&q, &declined, token("tok_visa")).await,
        v1::INVALID_SCOPE_DEALER,
    );
    refused(
        e.invoice_status(&q, &s.department, &s.invoice).await,
        v1::INVALID_SCOPE_DEPARTMENT,
    );
    // prePayment alone does not allow refunds.
    let r = partner(e, "prepay-only", &[(&s.dealer, "payment.prepayment")]).await;
    refused(
        e.refund(&r, &charge, None, None).await,
        v1::INVALID_SCOPE_DEALER,
    );
    assert_eq!(stored_transaction(e, &charge).await.reversed, Money::ZERO);

    // Wrong or missing credentials.
    refused(
        e.authenticate(Some(&basic("payer", "dps_wrong"))).await,
        v1::WRONG_CREDENTIAL,
    );
    refused(e.authenticate(None).await, v1::NULL_CREDENTIALS);
}

/// Each dealer's charges go to the processor its `paymentProvider` names, and to no other.
#[tokio::test(flavor = "multi_thread")]
async fn processor_is_chosen_per_dealer() {
    let db = fresh_database().await;
    let sandbox = open_sandbox("SANDBOX", &db.ledger_url("sandbox").await).await;
    let other = open_sandbox("OTHERPAY", &db.ledger_url("otherpay").await).await;
    let registry = Registry::new()
        .with_card(sandbox.clone())
        .with_card(other.clone());
    let e = engine_on(&db.url, registry, EngineConfig::default()).await;

    let a = seed(&e, "SANDBOX", 100_00).await;
    // The provider name is case-insensitive and stored upper case.
    let b = seed(&e, "otherpay", 100_00).await;
    let p = partner(
        &e,
        "two-dealers",
        &[(&a.dealer, "payment.all"), (&b.dealer, "payment.all")],
    )
    .await;

    let pay = |s: Seed, cents: i64| {
        let (e, p) = (&e, &p);
        async move {
            let pre = e
                .prepayment(p, prepayment(&s, cents))
                .await
                .expect("prepayment");
            let out = e
                .confirm(p, &pre.attempt.attempt.uuid, token("tok_visa"))
                .await
                .expect("confirm");
            assert_eq!(out.attempt.attempt.status, AttemptStatus::Succeeded);
            out.attempt
        }
    };
    let pa = pay(a.clone(), 20_00).await;
    let pb = pay(b.clone(), 25_00).await;
    assert_eq!(pa.attempt.payment_provider, "SANDBOX");
    assert_eq!(pb.attempt.payment_provider, "OTHERPAY");

    // Each charge is in its own processor's ledger and not in the other's.
    let keys = |l: Vec<connectors::LedgerEntry>| l.into_iter().map(|x| x.key).collect::<Vec<_>>();
    let in_sandbox = keys(sandbox.ledger().await.unwrap());
    let in_other = keys(other.ledger().await.unwrap());
    assert_eq!(in_sandbox, vec![pa.attempt.uuid.clone()]);
    assert_eq!(in_other, vec![pb.attempt.uuid.clone()]);

    // Our transaction rows name the processor that moved the money.
    let ta = stored_transaction(&e, &pa.transaction.as_ref().unwrap().uuid).await;
    let tb = stored_transaction(&e, &pb.transaction.as_ref().unwrap().uuid).await;
    assert_eq!(
        (ta.processor.as_str(), ta.total.cents()),
        ("SANDBOX", 20_60)
    );
    assert_eq!(
        (tb.processor.as_str(), tb.total.cents()),
        ("OTHERPAY", 25_75)
    );

    // A refund goes back through the processor that charged.
    e.refund(&p, &tb.uuid, Some(usd(5_00)), None)
        .await
        .expect("refund on OTHERPAY");
    let refunds =
        |l: Vec<connectors::LedgerEntry>| l.into_iter().filter(|x| x.kind == "refund").count();
    assert_eq!(refunds(other.ledger().await.unwrap()), 1);
    assert_eq!(refunds(sandbox.ledger().await.unwrap()), 0);

    // A provider this server does not have is refused up-front by the dealer upsert…
    let mut bad = dd::UpsertDealer {
        dealer_uuid: uuid::Uuid::new_v4().to_string(),
        name: Some("Nowhere Motors".into()),
        settings: Default::default(),
        profile: Default::default(),
    };
    bad.settings.payment_provider = Some("NOPAY".into());
    let err = e.upsert_dealer(&Actor::Operator, bad).await.unwrap_err();
    assert_eq!(
        (err.kind, err.code),
        (Kind::Invalid, Code::Generic(Generic::Invalid))
    );
    assert!(
        err.detail.starts_with("settings.paymentProvider"),
        "{err:?}"
    );

    // …but a server of the same deployment configured without OTHERPAY (another process on
    // the same database) cannot charge dealer B: SERVICE_UNAVAILABLE, nothing sent anywhere,
    // and the attempt stays payable where the processor is configured.
    let lonely = engine_on(
        &db.url,
        Registry::new().with_card(sandbox.clone()),
        EngineConfig::default(),
    )
    .await;
    let pre = lonely
        .prepayment(&p, prepayment(&b, 10_00))
        .await
        .expect("prePayment needs no processor");
    let uuid = pre.attempt.attempt.uuid;
    let err = refused(
        lonely.confirm(&p, &uuid, token("tok_visa")).await,
        v1::SERVICE_UNAVAILABLE,
    );
    assert_eq!(err.kind, Kind::Unavailable);
    assert_eq!(
        stored_attempt(&e, &uuid).await.attempt.status,
        AttemptStatus::Created
    );
    assert_eq!(
        other.ledger().await.unwrap().len(),
        2,
        "the charge and the refund only"
    );
    assert_eq!(sandbox.ledger().await.unwrap().len(), 1);
    let out = e
        .confirm(&p, &uuid, token("tok_visa"))
        .await
        .expect("confirm where OTHERPAY is configured");
    assert_eq!(out.attempt.attempt.status, AttemptStatus::Succeeded);
    assert!(keys(other.ledger().await.unwrap()).contains(&uuid));
}

/// A prePayment nobody confirms is cancelled after `unconfirmed_attempt_ttl` and can no
/// longer be confirmed.
#[tokio::test(flavor = "multi_thread")]
async fn orphaned_created_attempts_expire() {
    let w = World::new().await;
    let s = seed(&w.engine, "SANDBOX", 30_00).await;
    let p = partner(&w.engine, "abandoner", &[(&s.dealer, "payment.all")]).await;
    let uuid = w
        .engine
        .prepayment(&p, prepayment(&s, 30_00))
        .await
        .unwrap()
        .attempt
        .attempt
        .uuid;

    // With the default ttl (a day) the job leaves it alone.
    assert_eq!(w.engine.expire_unconfirmed().await.unwrap(), 0);
    assert_eq!(
        stored_attempt(&w.engine, &uuid).await.attempt.status,
        AttemptStatus::Created
    );

    // A server with a 50 ms ttl on the same database, once the ttl has passed, expires it.
    let cfg = EngineConfig {
        unconfirmed_attempt_ttl: Duration::from_millis(50),
        ..EngineConfig::default()
    };
    let registry = Registry::new().with_card(w.sandbox.clone());
    let e = engine_on(&w.db.url, registry, cfg).await;
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(e.expire_unconfirmed().await.unwrap(), 1);
    assert_eq!(
        e.expire_unconfirmed().await.unwrap(),
        0,
        "expiry happens once"
    );

    // `expire_created` cancels it: status Cancelled, described as expired, nothing recorded.
    let v = stored_attempt(&e, &uuid).await;
    assert_eq!(v.attempt.status, AttemptStatus::Cancelled);
    assert_eq!(v.attempt.response_description.as_deref(), Some("expired"));
    assert!(!v.attempt.in_flight);
    assert!(v.transaction.is_none());

    // Confirming it now is refused, and nothing reaches the processor.
    let err = refused(
        e.confirm(&p, &uuid, token("tok_visa")).await,
        v1::EERROR_UPDATING_PAYMENT_ATTEMPT,
    );
    assert_eq!(err.kind, Kind::Conflict);
    assert!(w.sandbox.ledger().await.unwrap().is_empty());
    assert_eq!(
        stored_attempt(&e, &uuid).await.context.invoice.paid,
        Money::ZERO
    );

    // The invoice itself is still payable with a new prePayment.
    let again = e
        .prepayment(&p, prepayment(&s, 30_00))
        .await
        .unwrap()
        .attempt
        .attempt
        .uuid;
    let out = e.confirm(&p, &again, token("tok_visa")).await.unwrap();
    assert_eq!(out.attempt.attempt.status, AttemptStatus::Succeeded);
}

/// Fifty clients authenticating at once with one credential cost one argon2 check; wrong
/// secrets are all refused and never remembered.
#[tokio::test(flavor = "multi_thread")]
async fn one_argon2_check_for_a_thundering_herd() {
    let w = World::new().await;
    let creds = w
        .engine
        .create_partner(&Actor::Operator, "herd")
        .await
        .unwrap();
    // A fresh engine (a process just started): nothing verified yet.
    let registry = Registry::new().with_card(w.sandbox.clone());
    let e = Arc::new(engine_on(&w.db.url, registry, EngineConfig::default()).await);
    assert_eq!(e.credentials.verifications(), 0);

    let right = basic(&creds.username, &creds.secret);
    let herd: Vec<_> = (0..50)
        .map(|_| {
            let (e, h) = (e.clone(), right.clone());
            tokio::spawn(async move { e.authenticate(Some(&h)).await })
        })
        .collect();
    for t in herd {
        let actor = t.await.unwrap().expect("the right secret authenticates");
        assert!(matches!(actor, Actor::Partner { ref username, .. } if username == "herd"));
    }
    assert_eq!(e.credentials.verifications(), 1);

    // Five different wrong secrets at once: all refused, each after its own argon2 check (a
    // wrong secret must cost what an unknown username costs, so usernames cannot be probed).
    let wrong: Vec<_> = (0..5)
        .map(|i| {
            let (e, h) = (
                e.clone(),
                basic(&creds.username, &format!("{}-{i}", creds.secret)),
            );
            tokio::spawn(async move { e.authenticate(Some(&h)).await })
        })
        .collect();
    for t in wrong {
        let err = refused(t.await.unwrap(), v1::WRONG_CREDENTIAL);
        assert_eq!(err.kind, Kind::Unauthenticated);
    }
    assert_eq!(e.credentials.verifications(), 6);

    // …and they did not displace the right one: still valid, no new check.
    e.authenticate(Some(&right)).await.expect("still valid");
    assert_eq!(e.credentials.verifications(), 6);
}

/// `dealerpay admin rotate-signing-key` in another process: after `refresh_keys` every
/// dealer token signed with the old key is refused and newly minted ones work.
#[tokio::test(flavor = "multi_thread")]
async fn signing_key_rotation_without_restart() {
    let w = World::new().await;
    let e = &w.engine;
    let s = seed(e, "SANDBOX", 10_00).await;
    let mint = || MintToken {
        kind: "dealer".into(),
        uuid: s.dealer.clone(),
        scopes: vec!["payment.all".into()],
        ttl_seconds: Some(600),
    };
    let bearer = |t: &str| format!("Bearer {t}");

    let old = e
        .mint_scoped_token(&Actor::Operator, mint())
        .await
        .unwrap()
        .token;
    let actor = e
        .authenticate(Some(&bearer(&old)))
        .await
        .expect("a fresh token works");
    assert!(matches!(&actor, Actor::DealerToken { dealer_uuid, .. } if *dealer_uuid == s.dealer));
    e.invoice_status(&actor, &s.department, &s.invoice)
        .await
        .expect("the dealer token may read its dealer's invoices");

    // The admin CLI is another process over the same database (and the same secret).
    let registry = Registry::new().with_card(w.sandbox.clone());
    let admin = engine_on(&w.db.url, registry, EngineConfig::default()).await;
    admin
        .authenticate(Some(&bearer(&old)))
        .await
        .expect("one deployment, one key");
    engine::keys::rotate_signing_key(&admin.db)
        .await
        .expect("rotate");

    // Until its background pass refreshes the key, the running server still has the old one.
    e.authenticate(Some(&bearer(&old)))
        .await
        .expect("not yet refreshed");
    e.refresh_keys().await.expect("refresh");
    let err = refused(
        e.authenticate(Some(&bearer(&old))).await,
        v1::INVALID_DEALER_TOKEN,
    );
    assert_eq!(err.kind, Kind::Unauthenticated);

    let new = e
        .mint_scoped_token(&Actor::Operator, mint())
        .await
        .unwrap()
        .token;
    assert_ne!(new, old);
    let actor = e
        .authenticate(Some(&bearer(&new)))
        .await
        .expect("a token minted after rotation works");
    assert!(matches!(&actor, Actor::DealerToken { dealer_uuid, .. } if *dealer_uuid == s.dealer));

    // The other process agrees once it refreshes too.
    admin.refresh_keys().await.unwrap();
    admin
        .authenticate(Some(&bearer(&new)))
        .await
        .expect("new token on the admin process");
    refused(
        admin.authenticate(Some(&bearer(&old))).await,
        v1::INVALID_DEALER_TOKEN,
    );
}
