//! Read models: everything a documented shape shows, loaded in one query (or two when a list
//! is involved), so a reply is built from rows in hand instead of going back to the database
//! row by row.
//!
//! The core is the *invoice context*: an invoice with its order, dealer, department, the
//! order's and the invoice's customers, the order's owner, the invoice's associate (each with
//! their department), the vehicle, and two counts. Every payment view extends it.

use crate::repo::attempts::{AttemptRow, Detail};
use crate::repo::checkout::{NamespaceRow, SessionRow};
use crate::repo::dealers::{AssociateRow, CustomerRow, DealerRow, DepartmentRow, VehicleRow};
use crate::repo::invoices::InvoiceRow;
use crate::repo::orders::OrderRow;
use crate::repo::payment_requests::PaymentRequestRow;
use crate::repo::transactions::TransactionRow;
use crate::Result;
use db::{args, Cols, Conn, FromRow};
use domain::status::{AttemptStatus, TransactionStatus, TransactionType};
use domain::Money;

/// A dealer associate with their department (the shapes show both).
#[derive(Debug, Clone)]
pub struct Person {
    pub associate: AssociateRow,
    pub department: Option<DepartmentRow>,
}

impl Person {
    fn from_cols(c: &mut Cols<'_>) -> db::Result<Option<Person>> {
        let associate: Option<AssociateRow> = c.opt_row()?;
        let department: Option<DepartmentRow> = c.opt_row()?;
        Ok(associate.map(|associate| Person {
            associate,
            department,
        }))
    }

    const WIDTH: usize = AssociateRow::WIDTH + DepartmentRow::WIDTH;
}

/// An invoice and everything it is shown with.
#[derive(Debug, Clone)]
pub struct InvoiceContext {
    pub invoice: InvoiceRow,
    pub order: OrderRow,
    pub dealer: DealerRow,
    /// The order's department.
    pub department: DepartmentRow,
    pub order_customer: CustomerRow,
    /// The invoice's customer (loaded for the payment request view only).
    pub invoice_customer: Option<CustomerRow>,
    /// The order's RO owner.
    pub owner: Option<Person>,
    /// The associate the invoice names.
    pub invoice_person: Option<Person>,
    /// The order's vehicle (loaded for the payment request view only).
    pub vehicle: Option<VehicleRow>,
    /// Invoices of the order.
    pub invoice_count: i64,
    /// The invoice's attributes (loaded only when it has some).
    pub attributes: Vec<(String, String)>,
    attribute_count: i64,
}

/// Columns of [`InvoiceContext`], with [`invoice_context_joins`] after `FROM invoices i`.
macro_rules! invoice_context_cols {
    () => {
        concat!(
            crate::invoice_cols!("i"),
            ", ",
            crate::order_cols!("o"),
            ", ",
            crate::dealer_cols!("d"),
            ", ",
            crate::department_cols!("dp"),
            ", ",
            crate::customer_cols!("ocu"),
            ", ",
            crate::associate_cols!("ow"),
            ", ",
            crate::department_cols!("owd"),
            ", ",
            crate::associate_cols!("ia"),
            ", ",
            crate::department_cols!("iad"),
            ", ",
            "(SELECT COUNT(*) FROM invoices x WHERE x.dealer_order_id = o.id), ",
            "(SELECT COUNT(*) FROM invoice_attributes x WHERE x.invoice_id = i.id)"
        )
    };
}

/// The joins of [`invoice_context_cols`], from an invoice aliased `i`. Outer joins
/// throughout, so a missing invoice yields NULLs rather than no row.
macro_rules! invoice_context_joins {
    () => {
        " LEFT JOIN dealer_orders o ON o.id = i.dealer_order_id \
          LEFT JOIN dealers d ON d.id = o.dealer_id \
          LEFT JOIN departments dp ON dp.id = o.department_id \
          LEFT JOIN customers ocu ON ocu.id = o.customer_id \
          LEFT JOIN associates ow ON ow.id = o.associate_id \
          LEFT JOIN departments owd ON owd.id = ow.department_id \
          LEFT JOIN associates ia ON ia.id = i.associate_id \
          LEFT JOIN departments iad ON iad.id = ia.department_id "
    };
}

/// The parts of an invoice's context only the payment request view shows (its vehicle and
/// the invoice's own customer), to append after [`invoice_context_cols`].
macro_rules! context_extra_cols {
    () => {
        concat!(
            "v.id, v.uuid, v.dealer_id, v.customer_id, v.brand_id, vb.brand_name, vb.version, v.vin, v.profile, \
             v.version, v.created_at, ",
            crate::customer_cols!("icu")
        )
    };
}

macro_rules! context_extra_joins {
    () => {
        " LEFT JOIN vehicles v ON v.id = o.vehicle_id \
          LEFT JOIN vehicle_brands vb ON vb.id = v.brand_id \
          LEFT JOIN customers icu ON icu.id = i.customer_id "
    };
}

impl FromRow for InvoiceContext {
    const WIDTH: usize = InvoiceRow::WIDTH
        + OrderRow::WIDTH
        + DealerRow::WIDTH
        + DepartmentRow::WIDTH
        + CustomerRow::WIDTH
        + 2 * Person::WIDTH
        + 2;

    fn from_cols(c: &mut Cols<'_>) -> db::Result<Self> {
        Ok(InvoiceContext {
            invoice: c.row()?,
            order: c.row()?,
            dealer: c.row()?,
            department: c.row()?,
            order_customer: c.row()?,
            owner: Person::from_cols(c)?,
            invoice_person: Person::from_cols(c)?,
            invoice_count: c.get()?,
            attribute_count: c.get()?,
            attributes: Vec::new(),
            invoice_customer: None,
            vehicle: None,
        })
    }
}

impl InvoiceContext {
    /// Loads the attributes when there are any (a second statement only then).
    async fn with_attributes(mut self, c: &mut Conn) -> Result<InvoiceContext> {
        if self.attribute_count > 0 {
            self.attributes = crate::repo::invoices::attributes(c, self.invoice.id).await?;
        }
        Ok(self)
    }

    /// Takes in what a recorded outcome changed.
    pub fn apply(&mut self, invoice: InvoiceRow, order: OrderRow) {
        self.invoice = invoice;
        self.order = order;
    }
}

pub async fn invoice_context_by_guid(c: &mut Conn, guid: &str) -> Result<Option<InvoiceContext>> {
    let ctx: Option<InvoiceContext> = c
        .query_opt(
            concat!(
                "SELECT ",
                invoice_context_cols!(),
                " FROM invoices i",
                invoice_context_joins!(),
                "WHERE i.guid = $1"
            ),
            args![guid],
        )
        .await?;
    match ctx {
        Some(ctx) => ctx.with_attributes(c).await.map(Some),
        None => Ok(None),
    }
}

/// How prePayment names the repair order: by uuid, or by number and type.
#[derive(Debug, Clone)]
pub enum OrderKey {
    Uuid(String),
    Number { number: String, order_type: String },
}

/// Everything prePayment checks, in one query. Each part is `None` when the request names
/// something that does not exist for the dealer.
#[derive(Debug, Clone)]
pub struct PrePaymentContext {
    pub dealer: DealerRow,
    pub customer: Option<CustomerRow>,
    pub order_found: bool,
    /// The invoice (on the named order) with its context.
    pub invoice: Option<InvoiceContext>,
    /// The associate named by `currentPaymentUser`, if of this dealer.
    pub cashier: Option<Person>,
    /// Failed charge attempts on the invoice since the window start.
    pub recent_failures: i64,
    /// Attempts that look like the same payment (same customer, amount and card digits)
    /// since the duplicate window start.
    pub duplicates: i64,
}

/// What the prePayment lookup needs.
#[derive(Debug, Clone)]
pub struct PrePaymentKeys {
    pub dealer_uuid: String,
    pub customer_uuid: String,
    pub order: OrderKey,
    pub invoice_guid: String,
    pub cashier_uuid: Option<String>,
    pub amount: Money,
    pub card_digits: Option<String>,
    pub failures_since: i64,
    /// Start of the dealer's duplicate window is computed in SQL from this instant.
    pub now: i64,
}

macro_rules! prepayment_sql {
    ($order_match:literal) => {
        concat!(
            "SELECT ",
            crate::dealer_cols!("rd"),
            ", ",
            crate::customer_cols!("rc"),
            ", ro.id, ",
            invoice_context_cols!(),
            ", ",
            crate::associate_cols!("ca"),
            ", ",
            crate::department_cols!("cad"),
            ", (SELECT COUNT(*) FROM payment_attempts x WHERE x.invoice_id = i.id AND x.status = {failed} \
                 AND x.created_at >= $7 AND x.transaction_type = $8 AND COALESCE(x.response_description, '') <> $9), \
               (SELECT COUNT(*) FROM payment_attempts x WHERE CAST($10 AS TEXT) IS NOT NULL AND x.dealer_id = rd.id AND x.customer_id = rc.id \
                 AND x.amount_cents = $11 AND x.card_digits = $10 AND x.created_at >= $12 - rd.duplicate_window_minutes * 60000 \
                 AND x.transaction_type = $8 AND x.status NOT IN ($6, $13)) \
             FROM dealers rd \
             LEFT JOIN customers rc ON rc.uuid = $2 AND rc.dealer_id = rd.id ",
            $order_match,
            " LEFT JOIN invoices i ON i.guid = $5 AND i.dealer_order_id = ro.id",
            invoice_context_joins!(),
            "LEFT JOIN associates ca ON ca.uuid = $14 AND ca.dealer_id = rd.id \
             LEFT JOIN departments cad ON cad.id = ca.department_id \
             WHERE rd.uuid = $1"
        )
    };
}

impl FromRow for PrePaymentContext {
    const WIDTH: usize =
        DealerRow::WIDTH + CustomerRow::WIDTH + 1 + InvoiceContext::WIDTH + Person::WIDTH + 2;

    fn from_cols(c: &mut Cols<'_>) -> db::Result<Self> {
        Ok(PrePaymentContext {
            dealer: c.row()?,
            customer: c.opt_row()?,
            order_found: c.get::<Option<i64>>()?.is_some(),
            invoice: c.opt_row()?,
            cashier: Person::from_cols(c)?,
            recent_failures: c.get()?,
            duplicates: c.get()?,
        })
    }
}

/// The failed-attempt count is served by the partial index on failed attempts, which needs
/// the status written literally.
fn with_failed(sql: &str) -> String {
    sql.replace(
        "{failed}",
        &crate::sql_literal(AttemptStatus::Failed.as_str()),
    )
}

static PREPAY_BY_UUID: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    with_failed(prepayment_sql!(
        "LEFT JOIN dealer_orders ro ON ro.uuid = $3 AND ro.dealer_id = rd.id AND $4 = ''"
    ))
});

static PREPAY_BY_NUMBER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    with_failed(prepayment_sql!(
        "LEFT JOIN dealer_orders ro ON ro.order_number = $3 AND ro.order_type = $4 AND ro.dealer_id = rd.id"
    ))
});

pub async fn prepayment_context(
    c: &mut Conn,
    k: &PrePaymentKeys,
) -> Result<Option<PrePaymentContext>> {
    let (sql, a3, a4): (&str, &str, &str) = match &k.order {
        OrderKey::Uuid(u) => (&PREPAY_BY_UUID, u.as_str(), ""),
        OrderKey::Number { number, order_type } => {
            (&PREPAY_BY_NUMBER, number.as_str(), order_type.as_str())
        }
    };
    let ctx: Option<PrePaymentContext> = c
        .query_opt(
            sql,
            args![
                &k.dealer_uuid,
                &k.customer_uuid,
                a3,
                a4,
                &k.invoice_guid,
                AttemptStatus::Failed,
                k.failures_since,
                TransactionType::Charge,
                crate::repo::attempts::ABANDONED,
                &k.card_digits,
                k.amount,
                k.now,
                AttemptStatus::Cancelled,
                &k.cashier_uuid
            ],
        )
        .await?;
    let Some(mut ctx) = ctx else { return Ok(None) };
    if let Some(i) = ctx.invoice.take() {
        ctx.invoice = Some(i.with_attributes(c).await?);
    }
    Ok(Some(ctx))
}

/// One payment attempt and everything its documented shape shows.
#[derive(Debug, Clone)]
pub struct AttemptView {
    pub attempt: AttemptRow,
    pub context: InvoiceContext,
    /// The associate the attempt names (`paymentUser`, `cashier`).
    pub cashier: Option<Person>,
    /// Its recorded outcome, if any yet.
    pub transaction: Option<TransactionRow>,
    /// For a refund or void: the charge it reverses.
    pub parent: Option<TransactionRow>,
    /// Transactions of the invoice that were not approved.
    pub declines: i64,
    pub details: Vec<Detail>,
    detail_count: i64,
}

impl FromRow for AttemptView {
    const WIDTH: usize =
        AttemptRow::WIDTH + InvoiceContext::WIDTH + Person::WIDTH + 2 * TransactionRow::WIDTH + 2;

    fn from_cols(c: &mut Cols<'_>) -> db::Result<Self> {
        let attempt = c.row()?;
        let context = c.row()?;
        let cashier = Person::from_cols(c)?;
        let transaction = c.opt_row()?;
        let parent = c.opt_row()?;
        Ok(AttemptView {
            attempt,
            context,
            cashier,
            transaction,
            parent,
            declines: c.get()?,
            details: Vec::new(),
            detail_count: c.get()?,
        })
    }
}

impl AttemptView {
    /// Takes in a recorded outcome: the attempt as it is now, its transaction, and the
    /// invoice and order it moved.
    pub fn record(
        &mut self,
        attempt: AttemptRow,
        t: TransactionRow,
        invoice: InvoiceRow,
        order: OrderRow,
    ) {
        if t.status != TransactionStatus::Approved {
            self.declines += 1;
        }
        self.attempt = attempt;
        self.transaction = Some(t);
        self.context.apply(invoice, order);
    }

    /// An attempt made by prePayment, with the context prePayment loaded.
    pub fn created(
        attempt: AttemptRow,
        context: InvoiceContext,
        cashier: Option<Person>,
        details: Vec<Detail>,
    ) -> AttemptView {
        AttemptView {
            attempt,
            context,
            cashier,
            transaction: None,
            parent: None,
            declines: 0,
            detail_count: details.len() as i64,
            details,
        }
    }
}

macro_rules! attempt_view_sql {
    ($where:literal) => {
        concat!(
            "SELECT ",
            crate::attempt_cols!("a"),
            ", ",
            invoice_context_cols!(),
            ", ",
            crate::associate_cols!("ca"),
            ", ",
            crate::department_cols!("cad"),
            ", ",
            crate::transaction_cols!("t"),
            ", ",
            crate::transaction_cols!("pt"),
            ", (SELECT COUNT(*) FROM transactions x WHERE x.invoice_id = i.id AND x.status <> {approved}), \
               (SELECT COUNT(*) FROM transaction_details x WHERE x.attempt_id = a.id) \
             FROM payment_attempts a JOIN invoices i ON i.id = a.invoice_id",
            invoice_context_joins!(),
            "LEFT JOIN associates ca ON ca.id = a.associate_id \
             LEFT JOIN departments cad ON cad.id = ca.department_id \
             LEFT JOIN transactions t ON t.attempt_id = a.id \
             LEFT JOIN transactions pt ON pt.id = t.parent_id ",
            $where
        )
    };
}

async fn finish_attempt_view(c: &mut Conn, v: Option<AttemptView>) -> Result<Option<AttemptView>> {
    let Some(mut v) = v else { return Ok(None) };
    if v.detail_count > 0 {
        v.details = c
            .query_all(
                "SELECT id, attempt_id, detail_type, amount_cents, description FROM transaction_details \
                 WHERE attempt_id = $1 ORDER BY id",
                args![v.attempt.id],
            )
            .await?;
    }
    v.context = v.context.with_attributes(c).await?;
    Ok(Some(v))
}

/// The declines count is served by the partial index on transactions that were not
/// approved, which needs the status written literally.
fn with_approved(sql: &str) -> String {
    sql.replace(
        "{approved}",
        &crate::sql_literal(TransactionStatus::Approved.as_str()),
    )
}

static ATTEMPT_BY_UUID: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| with_approved(attempt_view_sql!("WHERE a.uuid = $1")));
static ATTEMPT_BY_ID: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| with_approved(attempt_view_sql!("WHERE a.id = $1")));
static ATTEMPT_BY_TRANSACTION: std::sync::LazyLock<String> =
    // The attempt is found through its transaction's uuid in a subquery: a filter on the
    // joined `t` would leave PostgreSQL (past `join_collapse_limit` joins) scanning attempts.
    std::sync::LazyLock::new(|| {
        with_approved(attempt_view_sql!(
            "WHERE a.id = (SELECT x.attempt_id FROM transactions x WHERE x.uuid = $1)"
        ))
    });

pub async fn attempt_by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<AttemptView>> {
    let v = c.query_opt(&ATTEMPT_BY_UUID, args![uuid]).await?;
    finish_attempt_view(c, v).await
}

pub async fn attempt_by_id(c: &mut Conn, id: i64) -> Result<Option<AttemptView>> {
    let v = c.query_opt(&ATTEMPT_BY_ID, args![id]).await?;
    finish_attempt_view(c, v).await
}

/// A charge's attempt, by the charge's transaction uuid (refunds and voids start here).
pub async fn attempt_by_transaction_uuid(c: &mut Conn, uuid: &str) -> Result<Option<AttemptView>> {
    let v = c.query_opt(&ATTEMPT_BY_TRANSACTION, args![uuid]).await?;
    finish_attempt_view(c, v).await
}

/// One attempt of an invoice with its outcome (for the invoice's list of attempts).
#[derive(Debug, Clone)]
pub struct AttemptItem {
    pub attempt: AttemptRow,
    pub transaction: Option<TransactionRow>,
    pub cashier: Option<Person>,
}

impl FromRow for AttemptItem {
    const WIDTH: usize = AttemptRow::WIDTH + TransactionRow::WIDTH + Person::WIDTH;

    fn from_cols(c: &mut Cols<'_>) -> db::Result<Self> {
        Ok(AttemptItem {
            attempt: c.row()?,
            transaction: c.opt_row()?,
            cashier: Person::from_cols(c)?,
        })
    }
}

/// Every attempt of an invoice, in attempt order, with its context: the v3 status shape.
#[derive(Debug, Clone)]
pub struct InvoiceAttempts {
    pub context: InvoiceContext,
    pub attempts: Vec<AttemptItem>,
    pub details: Vec<Detail>,
}

impl InvoiceAttempts {
    /// The invoice's transactions (each belongs to one of its attempts).
    pub fn transactions(&self) -> impl Iterator<Item = &TransactionRow> {
        self.attempts.iter().filter_map(|a| a.transaction.as_ref())
    }

    /// The documented view of one attempt of the list.
    pub fn view(&self, item: &AttemptItem) -> AttemptView {
        let parent = item
            .transaction
            .as_ref()
            .and_then(|t| t.parent_id)
            .and_then(|p| self.transactions().find(|t| t.id == p).cloned());
        AttemptView {
            attempt: item.attempt.clone(),
            context: self.context.clone(),
            cashier: item.cashier.clone(),
            transaction: item.transaction.clone(),
            parent,
            declines: self
                .transactions()
                .filter(|t| t.status != TransactionStatus::Approved)
                .count() as i64,
            details: self
                .details
                .iter()
                .filter(|d| d.attempt_id == item.attempt.id)
                .cloned()
                .collect(),
            detail_count: 0,
        }
    }
}

/// An invoice by guid with all its attempts: two statements (three with details, four with
/// invoice attributes).
pub async fn invoice_attempts(c: &mut Conn, invoice_guid: &str) -> Result<Option<InvoiceAttempts>> {
    let Some(context) = invoice_context_by_guid(c, invoice_guid).await? else {
        return Ok(None);
    };
    let attempts: Vec<AttemptItem> = c
        .query_all(
            concat!(
                "SELECT ",
                crate::attempt_cols!("a"),
                ", ",
                crate::transaction_cols!("t"),
                ", ",
                crate::associate_cols!("ca"),
                ", ",
                crate::department_cols!("cad"),
                " FROM payment_attempts a LEFT JOIN transactions t ON t.attempt_id = a.id \
                  LEFT JOIN associates ca ON ca.id = a.associate_id \
                  LEFT JOIN departments cad ON cad.id = ca.department_id \
                  WHERE a.invoice_id = $1 ORDER BY a.attempt_number"
            ),
            args![context.invoice.id],
        )
        .await?;
    let details = if attempts.is_empty() {
        Vec::new()
    } else {
        crate::repo::attempts::details_of_invoice(c, context.invoice.id).await?
    };
    Ok(Some(InvoiceAttempts {
        context,
        attempts,
        details,
    }))
}

/// A payment request and everything the documented "Get payment request" shape shows.
#[derive(Debug, Clone)]
pub struct PaymentRequestView {
    pub request: PaymentRequestRow,
    pub context: InvoiceContext,
    /// The invoice's transactions, oldest first.
    pub transactions: Vec<TransactionRow>,
    /// `(id, name, value)` of the request's attributes.
    pub attributes: Vec<(i64, String, String)>,
}

struct RequestRow {
    request: PaymentRequestRow,
    context: InvoiceContext,
    attribute_count: i64,
}

impl FromRow for RequestRow {
    const WIDTH: usize = PaymentRequestRow::WIDTH
        + InvoiceContext::WIDTH
        + 1
        + VehicleRow::WIDTH
        + CustomerRow::WIDTH;

    fn from_cols(c: &mut Cols<'_>) -> db::Result<Self> {
        let request = c.row()?;
        let mut context: InvoiceContext = c.row()?;
        let attribute_count = c.get()?;
        context.vehicle = c.opt_row()?;
        context.invoice_customer = c.opt_row()?;
        Ok(RequestRow {
            request,
            context,
            attribute_count,
        })
    }
}

macro_rules! payment_request_view_sql {
    ($where:literal) => {
        concat!(
            "SELECT ",
            crate::payment_request_cols!("pr"),
            ", ",
            invoice_context_cols!(),
            ", (SELECT COUNT(*) FROM payment_request_attributes x WHERE x.payment_request_id = pr.id), ",
            context_extra_cols!(),
            " FROM payment_requests pr JOIN invoices i ON i.id = pr.invoice_id",
            invoice_context_joins!(),
            context_extra_joins!(),
            $where
        )
    };
}

async fn finish_request_view(
    c: &mut Conn,
    r: Option<RequestRow>,
) -> Result<Option<PaymentRequestView>> {
    let Some(r) = r else { return Ok(None) };
    let context = r.context.with_attributes(c).await?;
    let transactions = crate::repo::transactions::for_invoice(c, context.invoice.id).await?;
    let attributes = if r.attribute_count > 0 {
        crate::repo::payment_requests::attributes(c, r.request.id).await?
    } else {
        Vec::new()
    };
    Ok(Some(PaymentRequestView {
        request: r.request,
        context,
        transactions,
        attributes,
    }))
}

/// Two statements: the request with its context, and the invoice's transactions (more only
/// when there are attributes to show).
pub async fn payment_request_by_guid(
    c: &mut Conn,
    guid: &str,
) -> Result<Option<PaymentRequestView>> {
    let r = c
        .query_opt(payment_request_view_sql!("WHERE pr.guid = $1"), args![guid])
        .await?;
    finish_request_view(c, r).await
}

// --- checkout ---

/// A hosted checkout session and everything its shapes and its lifecycle read: its namespace,
/// its customer's uuid, and its latest payment intent with the attempt underneath (the
/// session's payment state follows that attempt). One statement.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub session: SessionRow,
    pub namespace: NamespaceRow,
    pub customer_uuid: Option<String>,
    /// The latest payment intent and its attempt; none before the first payment.
    pub payment: Option<(crate::repo::checkout::IntentRow, AttemptRow)>,
}

impl FromRow for SessionView {
    const WIDTH: usize = SessionRow::WIDTH
        + NamespaceRow::WIDTH
        + 1
        + crate::repo::checkout::IntentRow::WIDTH
        + AttemptRow::WIDTH;

    fn from_cols(c: &mut Cols<'_>) -> db::Result<Self> {
        let session = c.row()?;
        let namespace = c.row()?;
        let customer_uuid = c.get()?;
        let intent: Option<crate::repo::checkout::IntentRow> = c.opt_row()?;
        let attempt: Option<AttemptRow> = c.opt_row()?;
        Ok(SessionView {
            session,
            namespace,
            customer_uuid,
            payment: intent.zip(attempt),
        })
    }
}

macro_rules! session_view_sql {
    ($where:literal) => {
        concat!(
            "SELECT ",
            crate::session_cols!("s"),
            ", ",
            crate::namespace_cols!("n"),
            ", cu.uuid, ",
            crate::intent_cols!("pi"),
            ", ",
            crate::attempt_cols!("pa"),
            " FROM checkout_sessions s JOIN checkout_namespaces n ON n.id = s.namespace_id \
              LEFT JOIN customers cu ON cu.id = s.customer_id \
              LEFT JOIN checkout_payment_intents pi ON pi.id = \
                (SELECT MAX(x.id) FROM checkout_payment_intents x WHERE x.session_id = s.id) \
              LEFT JOIN payment_attempts pa ON pa.id = pi.attempt_id ",
            $where
        )
    };
}

/// A session by its public id.
pub async fn session_by_uuid(c: &mut Conn, uuid: &str) -> Result<Option<SessionView>> {
    c.query_opt(session_view_sql!("WHERE s.uuid = $1"), args![uuid])
        .await
}

/// A session by its internal id.
pub async fn session_by_id(c: &mut Conn, id: i64) -> Result<Option<SessionView>> {
    c.query_opt(session_view_sql!("WHERE s.id = $1"), args![id])
        .await
}

/// A namespace's sessions after the cursor (an internal id), oldest first.
pub async fn sessions_after(
    c: &mut Conn,
    namespace_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<SessionView>> {
    c.query_all(
        session_view_sql!("WHERE s.namespace_id = $1 AND s.id > $2 ORDER BY s.id LIMIT $3"),
        args![namespace_id, after, limit],
    )
    .await
}

/// What paying a session names, as prePayment takes it: the dealer (and its processor), the
/// session's own order and invoice, who pays (the session's customer, else the namespace's
/// guest customer) and the associate the namespace books payments for.
#[derive(Debug, Clone)]
pub struct SessionPaymentKeys {
    pub dealer_uuid: String,
    pub payment_provider: String,
    pub order_uuid: String,
    pub invoice_guid: String,
    pub customer_uuid: String,
    pub associate_uuid: String,
}
db::from_row!(SessionPaymentKeys {
    dealer_uuid,
    payment_provider,
    order_uuid,
    invoice_guid,
    customer_uuid,
    associate_uuid
});

pub async fn session_payment_keys(
    c: &mut Conn,
    session_id: i64,
) -> Result<Option<SessionPaymentKeys>> {
    c.query_opt(
        "SELECT d.uuid, d.payment_provider, o.uuid, i.guid, COALESCE(cu.uuid, g.uuid), a.uuid \
         FROM checkout_sessions s JOIN checkout_namespaces n ON n.id = s.namespace_id \
         JOIN dealers d ON d.id = n.dealer_id \
         JOIN dealer_orders o ON o.id = s.dealer_order_id \
         JOIN invoices i ON i.id = s.invoice_id \
         LEFT JOIN customers cu ON cu.id = s.customer_id \
         JOIN customers g ON g.id = n.guest_customer_id \
         JOIN associates a ON a.id = n.associate_id \
         WHERE s.id = $1",
        args![session_id],
    )
    .await
}
