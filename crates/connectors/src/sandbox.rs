//! The sandbox processor: deterministic test cards, configurable latency, idempotency by
//! key, 3-D Secure challenges, and its own durable ledger (a database of its own, written
//! in transactions independent of ours) so reconciliation can prove every approved charge
//! is recorded exactly once.

use crate::*;
use db::{args, Db, DbError};
use domain::card::CardNumber;
use domain::fees::CardBrand;
use rand::Rng;
use std::time::Duration;

/// Test cards and what the sandbox does with them.
pub mod cards {
    pub const VISA: &str = "4242424242424242";
    pub const MASTERCARD: &str = "5555555555554444";
    pub const AMEX: &str = "378282246310005";
    pub const DISCOVER: &str = "6011111111111117";
    pub const VISA_DEBIT: &str = "4000056655665556";
    pub const DECLINE: &str = "4000000000000002";
    pub const INSUFFICIENT_FUNDS: &str = "4000000000009995";
    pub const EXPIRED: &str = "4000000000000069";
    pub const INCORRECT_CVC: &str = "4000000000000127";
    pub const PROCESSING_ERROR: &str = "4000000000000119";
    pub const THREE_DS: &str = "4000000000003220";
    /// Approved after the configured slow delay.
    pub const SLOW: &str = "4000000000006975";
    /// ZIP that fails address verification where the dealer enforces ZIP.
    pub const AVS_FAIL_ZIP: &str = "00000";
}

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Added to every call, like a network round trip to a real processor.
    pub latency: Duration,
    /// Extra time the slow test card takes.
    pub slow_delay: Duration,
    /// Base URL at which the challenge pages are reachable (`…/sandbox/challenge/{id}`).
    pub public_url: String,
    /// Delay after a charge is recorded in the ledger and before the answer is sent (fault
    /// injection: the window in which a caller can die after the processor approved).
    pub reply_delay: Duration,
    /// Serve the run-time fault switch (`/sandbox/faults`, see [`crate::faults`]), and log
    /// every charge and resolve call in the ledger's `sandbox_calls` table (see [`CALL_LOG`]).
    pub fault_injection: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            latency: Duration::ZERO,
            slow_delay: Duration::from_secs(3),
            public_url: String::new(),
            reply_delay: Duration::ZERO,
            fault_injection: false,
        }
    }
}

pub struct Sandbox {
    name: String,
    db: Db,
    cfg: SandboxConfig,
    faults: crate::faults::Faults,
}

#[derive(Debug, Clone)]
struct Row {
    key: String,
    kind: String,
    charge_key: Option<String>,
    amount_cents: i64,
    status: String,
    response_code: String,
    reason: String,
    auth_code: Option<String>,
    avs_result: Option<String>,
    cvv_result: Option<String>,
    brand: Option<String>,
    last4: String,
    funding: String,
    processor_id: String,
    challenge_id: Option<String>,
    challenge_state: Option<String>,
    voided: bool,
    capture: bool,
}
db::from_row!(Row {
    key,
    kind,
    charge_key,
    amount_cents,
    status,
    response_code,
    reason,
    auth_code,
    avs_result,
    cvv_result,
    brand,
    last4,
    funding,
    processor_id,
    challenge_id,
    challenge_state,
    voided,
    capture
});

macro_rules! cols {
    () => {
        "key, kind, charge_key, amount_cents, status, response_code, reason, auth_code, avs_result, \
    cvv_result, brand, last4, funding, processor_id, challenge_id, challenge_state, voided, capture"
    };
}

/// The ledger is the sandbox's own schema, in its own database (or its own table beside ours).
const SCHEMA: &[db::Migration] = &[db::Migration {
    version: 1,
    sql: "CREATE TABLE IF NOT EXISTS sandbox_ledger (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, charge_key TEXT, amount_cents BIGINT NOT NULL,
    status TEXT NOT NULL, response_code TEXT NOT NULL, reason TEXT NOT NULL, auth_code TEXT,
    avs_result TEXT, cvv_result TEXT, brand TEXT, last4 TEXT NOT NULL, funding TEXT NOT NULL,
    processor_id TEXT NOT NULL, challenge_id TEXT UNIQUE, challenge_state TEXT, return_url TEXT,
    refunded_cents BIGINT NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0 AND refunded_cents <= amount_cents),
    voided BIGINT NOT NULL DEFAULT 0, capture BIGINT NOT NULL DEFAULT 1, created_at BIGINT NOT NULL)",
}];

/// With fault injection, every charge and resolve call the ledger handled is logged in the
/// same ledger transaction as its effect: `op`, `key`, `fresh` (1: this call created the
/// key's ledger row), `status` (the row's status after the call) and `at` (ms). It survives
/// a killed and restarted sandbox, so a test can count a key's calls — a second charge
/// call for a key is invisible in the ledger, whose key absorbs it.
pub const CALL_LOG: &str = "CREATE TABLE IF NOT EXISTS sandbox_calls (op TEXT NOT NULL, \
    key TEXT NOT NULL, fresh BIGINT NOT NULL, status TEXT NOT NULL, at BIGINT NOT NULL)";

async fn log_call(
    c: &mut db::Conn,
    op: &str,
    key: &str,
    fresh: bool,
    status: &str,
    at: i64,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO sandbox_calls (op, key, fresh, status, at) VALUES ($1, $2, $3, $4, $5)",
        args![op, key, fresh, status, at],
    )
    .await
    .map(drop)
}

/// The sandbox's decision for a charge, before it is recorded.
struct Decision {
    status: ChargeStatus,
    code: &'static str,
    reason: &'static str,
    avs: Option<&'static str>,
    cvv: Option<&'static str>,
    funding: Funding,
    slow: bool,
}

fn brand_name(b: Option<CardBrand>) -> Option<String> {
    b.map(|b| match b {
        CardBrand::Visa => "VISA",
        CardBrand::Mastercard => "MASTERCARD",
        CardBrand::Amex => "AMEX",
        CardBrand::Discover => "DISCOVER",
    })
    .map(str::to_string)
}

fn decide(req: &ChargeRequest, c: &Card, now: (i32, u32)) -> Decision {
    let n = c.number.expose();
    let d = |status, code, reason| Decision {
        status,
        code,
        reason,
        avs: Some("Y"),
        cvv: Some("M"),
        funding: Funding::Credit,
        slow: false,
    };
    let (year, month) = now;
    if c.exp_month == 0
        || c.exp_month > 12
        || (c.exp_year as i32, c.exp_month) < (year, month)
        || n == cards::EXPIRED
    {
        return d(ChargeStatus::Declined, "54", "expired_card");
    }
    if n == cards::INCORRECT_CVC || (req.enforce_cvv && c.cvv.is_none()) {
        return Decision {
            cvv: Some("N"),
            ..d(ChargeStatus::Declined, "N7", "incorrect_cvc")
        };
    }
    let zip = c.zip.as_deref().map(str::trim).unwrap_or("");
    if req.enforce_zip && (zip.is_empty() || zip == cards::AVS_FAIL_ZIP) {
        return Decision {
            avs: Some("N"),
            ..d(ChargeStatus::Declined, "N4", "avs_failure")
        };
    }
    match n {
        cards::DECLINE => d(ChargeStatus::Declined, "05", "generic_decline"),
        cards::INSUFFICIENT_FUNDS => d(ChargeStatus::Declined, "51", "insufficient_funds"),
        cards::PROCESSING_ERROR => d(ChargeStatus::Error, "96", "processing_error"),
        cards::THREE_DS => d(
            ChargeStatus::RequiresAction,
            "00",
            "authentication_required",
        ),
        cards::VISA_DEBIT => Decision {
            funding: Funding::Debit,
            ..d(ChargeStatus::Approved, "00", "approved")
        },
        cards::SLOW => Decision {
            slow: true,
            ..d(ChargeStatus::Approved, "00", "approved")
        },
        _ => d(ChargeStatus::Approved, "00", "approved"),
    }
}

fn random_code(len: usize) -> String {
    const A: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
    let mut r = rand::thread_rng();
    (0..len)
        .map(|_| A[r.gen_range(0..A.len())] as char)
        .collect()
}

fn unavailable(e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Unavailable(format!("sandbox ledger: {e}"))
}

/// The ledger's own vocabulary (a processor's, not ours).
mod st {
    pub const APPROVED: &str = "approved";
    pub const AUTHORIZED: &str = "authorized";
    pub const DECLINED: &str = "declined";
    pub const ERROR: &str = "error";
    pub const REQUIRES_ACTION: &str = "requires_action";
    pub const ABANDONED: &str = "abandoned";
    pub const RELEASED: &str = "released";
    pub const PENDING: &str = "pending";
    pub const PASSED: &str = "passed";
    pub const FAILED: &str = "failed";
}

/// Errors of a ledger transaction: the database's, or the sandbox's own answer.
enum LedgerError {
    Db(DbError),
    Answer(ConnectorError),
}
impl From<DbError> for LedgerError {
    fn from(e: DbError) -> Self {
        LedgerError::Db(e)
    }
}
impl From<LedgerError> for ConnectorError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Db(e) => unavailable(e),
            LedgerError::Answer(e) => e,
        }
    }
}

impl Sandbox {
    /// Opens (and creates) the ledger at `ledger_url` (SQLite path or PostgreSQL URL).
    pub async fn open(ledger_url: &str, cfg: SandboxConfig) -> Result<Sandbox, DbError> {
        Sandbox::open_named("SANDBOX", ledger_url, cfg).await
    }

    /// A sandbox dealers select as `name` (several may run side by side, each with its own
    /// ledger).
    pub async fn open_named(
        name: &str,
        ledger_url: &str,
        cfg: SandboxConfig,
    ) -> Result<Sandbox, DbError> {
        let db = Db::connect(ledger_url).await?;
        db.migrate_table("sandbox_schema", SCHEMA).await?;
        if cfg.fault_injection {
            db.write(|c| Box::pin(async move { c.execute(CALL_LOG, &[]).await }))
                .await?;
        }
        Ok(Sandbox {
            name: name.to_ascii_uppercase(),
            db,
            cfg,
            faults: Default::default(),
        })
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.cfg
    }

    /// The fault switch, when the sandbox runs with fault injection.
    pub fn faults(&self) -> Option<&crate::faults::Faults> {
        self.cfg.fault_injection.then_some(&self.faults)
    }

    async fn row(&self, key: &str) -> Result<Option<Row>, ConnectorError> {
        let key = key.to_string();
        self.db
            .read(move |c| Box::pin(async move { by_key(c, &key).await }))
            .await
            .map_err(unavailable)
    }

    fn outcome(&self, r: &Row) -> ChargeOutcome {
        let status = match r.status.as_str() {
            st::APPROVED => ChargeStatus::Approved,
            st::AUTHORIZED => ChargeStatus::Authorized,
            st::DECLINED => ChargeStatus::Declined,
            st::REQUIRES_ACTION => ChargeStatus::RequiresAction,
            // A key given up on before the processor saw it, or a released hold: nothing charged.
            st::ABANDONED | st::RELEASED => ChargeStatus::Declined,
            _ => ChargeStatus::Error,
        };
        ChargeOutcome {
            key: r.key.clone(),
            status,
            processor_id: r.processor_id.clone(),
            amount_cents: r.amount_cents,
            response_code: r.response_code.clone(),
            reason: r.reason.clone(),
            auth_code: r.auth_code.clone(),
            avs_result: r.avs_result.clone(),
            cvv_result: r.cvv_result.clone(),
            brand: r.brand.clone(),
            last4: r.last4.clone(),
            funding: if r.funding == Funding::Debit.as_str() {
                Funding::Debit
            } else {
                Funding::Credit
            },
            challenge_url: match (status, &r.challenge_id) {
                (ChargeStatus::RequiresAction, Some(id)) => Some(format!(
                    "{}/sandbox/challenge/{id}",
                    self.cfg.public_url.trim_end_matches('/')
                )),
                _ => None,
            },
        }
    }

    async fn think(&self) {
        if !self.cfg.latency.is_zero() {
            tokio::time::sleep(self.cfg.latency).await;
        }
    }

    pub async fn charge(&self, req: ChargeRequest) -> Result<ChargeOutcome, ConnectorError> {
        self.think().await;
        if req.amount_cents <= 0 {
            return Err(ConnectorError::Rejected("amount must be positive".into()));
        }
        let card = resolve_method(&req.method)?;
        let dec = decide(&req, &card, time_now());
        let approved = dec.status == ChargeStatus::Approved;
        let status = match dec.status {
            ChargeStatus::Approved if !req.capture => st::AUTHORIZED,
            ChargeStatus::Approved | ChargeStatus::Authorized | ChargeStatus::Pending => {
                st::APPROVED
            }
            ChargeStatus::Declined => st::DECLINED,
            ChargeStatus::Error => st::ERROR,
            ChargeStatus::RequiresAction => st::REQUIRES_ACTION,
        };
        let challenge = (dec.status == ChargeStatus::RequiresAction)
            .then(|| uuid::Uuid::new_v4().simple().to_string());
        let last4 = card.number.last4().to_string();
        let brand = brand_name(card.number.brand());
        let key = req.key.clone();
        let (amount, capture, return_url) = (req.amount_cents, req.capture, req.return_url.clone());
        let auth = approved.then(|| random_code(6));
        let processor_id = format!("ch_{}", uuid::Uuid::new_v4().simple());
        let now = domain::Timestamp::now().millis();
        let log = self.cfg.fault_injection;
        // Record and read back in one ledger transaction (one commit).
        let row = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    let fresh = c.execute(
                        "INSERT INTO sandbox_ledger (key, kind, charge_key, amount_cents, status, response_code, reason, \
                         auth_code, avs_result, cvv_result, brand, last4, funding, processor_id, challenge_id, challenge_state, \
                         return_url, created_at, capture) VALUES ($1, 'charge', NULL, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
                         ON CONFLICT (key) DO NOTHING",
                        args![
                            &key,
                            amount,
                            status,
                            dec.code,
                            dec.reason,
                            &auth,
                            dec.avs,
                            dec.cvv,
                            &brand,
                            &last4,
                            dec.funding.as_str(),
                            &processor_id,
                            &challenge,
                            challenge.as_ref().map(|_| st::PENDING),
                            &return_url,
                            now,
                            capture
                        ],
                    )
                    .await?;
                    let row = by_key(c, &key).await?.ok_or(DbError::NoRows)?;
                    if log {
                        log_call(c, "charge", &key, fresh == 1, &row.status, now).await?;
                    }
                    Ok::<_, DbError>(row)
                })
            })
            .await
            .map_err(unavailable)?;
        if row.status == st::ABANDONED {
            return Ok(self.outcome(&row));
        }
        if !self.cfg.reply_delay.is_zero() {
            tokio::time::sleep(self.cfg.reply_delay).await;
        }
        // The slow card is charged at once but answered late, like a processor whose reply
        // is stuck in traffic: the caller times out not knowing the charge happened.
        if dec.slow {
            tokio::time::sleep(self.cfg.slow_delay).await;
        }
        // A key names one charge: the same key with another amount or card is a client bug.
        if row.kind != "charge"
            || row.amount_cents != req.amount_cents
            || row.last4 != card.number.last4()
        {
            return Err(ConnectorError::Rejected(
                "idempotency key reused for a different charge".into(),
            ));
        }
        Ok(self.outcome(&row))
    }

    pub async fn complete(&self, key: &str) -> Result<ChargeOutcome, ConnectorError> {
        self.think().await;
        let key = key.to_string();
        let row = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    let row = by_key(c, &key)
                        .await?
                        .ok_or(LedgerError::Answer(ConnectorError::NotFound))?;
                    if row.status != st::REQUIRES_ACTION {
                        return Ok::<_, LedgerError>(row);
                    }
                    let (status, code, reason, auth) = match row.challenge_state.as_deref() {
                        Some(st::PASSED) => (
                            if row.capture { st::APPROVED } else { st::AUTHORIZED },
                            "00",
                            "approved",
                            Some(random_code(6)),
                        ),
                        Some(st::FAILED) => (st::DECLINED, "05", "authentication_failed", None),
                        _ => return Ok(row),
                    };
                    c.execute(
                        "UPDATE sandbox_ledger SET status = $1, response_code = $2, reason = $3, auth_code = $4 \
                         WHERE key = $5 AND status = $6",
                        args![status, code, reason, &auth, &key, st::REQUIRES_ACTION],
                    )
                    .await?;
                    Ok(by_key(c, &key).await?.ok_or(DbError::NoRows)?)
                })
            })
            .await?;
        Ok(self.outcome(&row))
    }

    pub async fn resolve(&self, key: &str) -> Result<Option<ChargeOutcome>, ConnectorError> {
        self.think().await;
        let key = key.to_string();
        let processor_id = format!("ch_{}", uuid::Uuid::new_v4().simple());
        let now = domain::Timestamp::now().millis();
        let log = self.cfg.fault_injection;
        let (inserted, row) = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    let inserted = c
                        .execute(
                            "INSERT INTO sandbox_ledger (key, kind, amount_cents, status, response_code, reason, last4, funding, \
                             processor_id, created_at) VALUES ($1, 'charge', 0, $2, '05', $2, '', 'credit', $3, $4) \
                             ON CONFLICT (key) DO NOTHING",
                            args![&key, st::ABANDONED, &processor_id, now],
                        )
                        .await?;
                    let row = by_key(c, &key).await?.ok_or(DbError::NoRows)?;
                    if log {
                        log_call(c, "resolve", &key, inserted == 1, &row.status, now).await?;
                    }
                    Ok::<_, DbError>((inserted, row))
                })
            })
            .await
            .map_err(unavailable)?;
        if inserted == 1 {
            return Ok(None);
        }
        Ok((row.kind == "charge" && row.status != st::ABANDONED).then(|| self.outcome(&row)))
    }

    /// Captures `amount` of an authorization (the rest is released). Idempotent: capturing a
    /// captured charge again answers its outcome if the amount matches.
    pub async fn capture(&self, key: &str, amount: i64) -> Result<ChargeOutcome, ConnectorError> {
        self.think().await;
        let key = key.to_string();
        let row = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    let answer = |e| Err(LedgerError::Answer(e));
                    let Some(row) = by_key(c, &key).await?.filter(|r| r.kind == "charge") else {
                        return answer(ConnectorError::NotFound);
                    };
                    if row.status == st::APPROVED && !row.capture {
                        return if row.amount_cents == amount {
                            Ok(row)
                        } else {
                            answer(ConnectorError::Rejected("already captured for another amount".into()))
                        };
                    }
                    if row.status != st::AUTHORIZED {
                        return answer(ConnectorError::Rejected(format!("the charge is {}, not authorized", row.status)));
                    }
                    if amount <= 0 || amount > row.amount_cents {
                        return answer(ConnectorError::Rejected("capture amount exceeds the authorization".into()));
                    }
                    c.execute(
                        "UPDATE sandbox_ledger SET status = $1, amount_cents = $2 WHERE key = $3 AND status = $4",
                        args![st::APPROVED, amount, &key, st::AUTHORIZED],
                    )
                    .await?;
                    Ok(by_key(c, &key).await?.ok_or(DbError::NoRows)?)
                })
            })
            .await?;
        Ok(self.outcome(&row))
    }

    /// Releases an authorization; releasing a released one is a no-op.
    pub async fn release(&self, key: &str) -> Result<ChargeOutcome, ConnectorError> {
        self.think().await;
        let key = key.to_string();
        let row = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    c.execute(
                        "UPDATE sandbox_ledger SET status = $1, reason = $1 WHERE key = $2 AND status = $3",
                        args![st::RELEASED, &key, st::AUTHORIZED],
                    )
                    .await?;
                    let Some(row) = by_key(c, &key).await?.filter(|r| r.kind == "charge") else {
                        return Err(LedgerError::Answer(ConnectorError::NotFound));
                    };
                    if row.status != st::RELEASED {
                        return Err(LedgerError::Answer(ConnectorError::Rejected(format!(
                            "the charge is {}, not an authorization",
                            row.status
                        ))));
                    }
                    Ok(row)
                })
            })
            .await?;
        Ok(self.outcome(&row))
    }

    pub async fn lookup(&self, key: &str) -> Result<Option<ChargeOutcome>, ConnectorError> {
        self.think().await;
        Ok(self
            .row(key)
            .await?
            .filter(|r| r.kind == "charge")
            .map(|r| self.outcome(&r)))
    }

    /// Records a refund or void against a charge in one ledger transaction.
    async fn reverse(
        &self,
        kind: &'static str,
        key: &str,
        charge_key: &str,
        amount: Option<i64>,
    ) -> Result<RefundOutcome, ConnectorError> {
        self.think().await;
        let (key, charge_key) = (key.to_string(), charge_key.to_string());
        let lookup_key = key.clone();
        let processor_id = format!(
            "{}_{}",
            if kind == "void" { "vd" } else { "re" },
            uuid::Uuid::new_v4().simple()
        );
        let now = domain::Timestamp::now().millis();
        let row = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    if let Some(existing) = by_key(c, &key).await? {
                        if existing.kind != kind || existing.charge_key.as_deref() != Some(charge_key.as_str()) {
                            return Err(LedgerError::Answer(ConnectorError::Rejected(
                                "idempotency key reused for a different request".into(),
                            )));
                        }
                        return Ok(existing);
                    }
                    let Some(charge) = by_key(c, &charge_key).await?.filter(|r| r.kind == "charge") else {
                        return Err(LedgerError::Answer(ConnectorError::NotFound));
                    };
                    let amount = amount.unwrap_or(charge.amount_cents);
                    let ok = if charge.status != st::APPROVED || charge.voided || amount <= 0 {
                        false
                    } else if kind == "void" {
                        c.execute(
                            "UPDATE sandbox_ledger SET voided = 1 WHERE key = $1 AND voided = 0 AND refunded_cents = 0",
                            args![&charge_key],
                        )
                        .await?
                            == 1
                    } else {
                        c.execute(
                            "UPDATE sandbox_ledger SET refunded_cents = refunded_cents + $1 \
                             WHERE key = $2 AND voided = 0 AND refunded_cents + $1 <= amount_cents",
                            args![amount, &charge_key],
                        )
                        .await?
                            == 1
                    };
                    let (status, reason) = if ok {
                        (st::APPROVED, "approved")
                    } else if kind == "void" {
                        (st::DECLINED, "charge_not_voidable")
                    } else {
                        (st::DECLINED, "amount_exceeds_refundable")
                    };
                    c.execute(
                        "INSERT INTO sandbox_ledger (key, kind, charge_key, amount_cents, status, response_code, reason, brand, \
                         last4, funding, processor_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                        args![
                            &key,
                            kind,
                            &charge_key,
                            amount,
                            status,
                            if ok { "00" } else { "12" },
                            reason,
                            &charge.brand,
                            &charge.last4,
                            &charge.funding,
                            &processor_id,
                            now
                        ],
                    )
                    .await?;
                    Ok(by_key(c, &key).await?.ok_or(DbError::NoRows)?)
                })
            })
            .await;
        match row {
            Ok(row) => Ok(reversal(&row)),
            // A concurrent call with the same key won the insert: its outcome stands.
            Err(LedgerError::Db(e)) if e.is_unique_violation() => {
                let row = self
                    .row(&lookup_key)
                    .await?
                    .ok_or_else(|| unavailable("reversal vanished"))?;
                Ok(reversal(&row))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn refund(&self, req: RefundRequest) -> Result<RefundOutcome, ConnectorError> {
        self.reverse("refund", &req.key, &req.charge_key, Some(req.amount_cents))
            .await
    }

    pub async fn void(&self, key: &str, charge_key: &str) -> Result<RefundOutcome, ConnectorError> {
        self.reverse("void", key, charge_key, None).await
    }

    pub async fn ledger(&self) -> Result<Vec<LedgerEntry>, ConnectorError> {
        let rows: Vec<(String, String, Option<String>, String, i64)> = self
            .db
            .read(|c| {
                Box::pin(async move {
                    c.query_all(
                        "SELECT key, kind, charge_key, status, amount_cents FROM sandbox_ledger ORDER BY created_at, key",
                        &[],
                    )
                    .await
                })
            })
            .await
            .map_err(unavailable)?;
        Ok(rows
            .into_iter()
            .map(
                |(key, kind, charge_key, status, amount_cents)| LedgerEntry {
                    key,
                    kind,
                    charge_key,
                    status,
                    amount_cents,
                },
            )
            .collect())
    }

    /// Records the customer's answer to a challenge; returns where to send them next.
    pub async fn answer_challenge(
        &self,
        challenge_id: &str,
        pass: bool,
    ) -> Result<Option<String>, ConnectorError> {
        let id = challenge_id.to_string();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let Some((_, return_url)) = c
                        .query_opt::<(String, Option<String>)>(
                            "SELECT key, return_url FROM sandbox_ledger WHERE challenge_id = $1",
                            args![&id],
                        )
                        .await?
                    else {
                        return Err(LedgerError::Answer(ConnectorError::NotFound));
                    };
                    c.execute(
                        "UPDATE sandbox_ledger SET challenge_state = $1 WHERE challenge_id = $2 AND challenge_state = $3",
                        args![if pass { st::PASSED } else { st::FAILED }, &id, st::PENDING],
                    )
                    .await?;
                    Ok(return_url)
                })
            })
            .await
            .map_err(ConnectorError::from)
    }

    /// Whether a challenge exists and is still waiting for the customer.
    pub async fn challenge_pending(
        &self,
        challenge_id: &str,
    ) -> Result<Option<bool>, ConnectorError> {
        let id = challenge_id.to_string();
        let state: Option<Option<String>> = self
            .db
            .read(move |c| {
                Box::pin(async move {
                    c.scalar_opt(
                        "SELECT challenge_state FROM sandbox_ledger WHERE challenge_id = $1",
                        args![&id],
                    )
                    .await
                })
            })
            .await
            .map_err(unavailable)?;
        Ok(state.map(|s| s.as_deref() == Some(st::PENDING)))
    }
}

async fn by_key(c: &mut db::Conn, key: &str) -> Result<Option<Row>, DbError> {
    c.query_opt(
        concat!("SELECT ", cols!(), " FROM sandbox_ledger WHERE key = $1"),
        args![key],
    )
    .await
}

fn reversal(r: &Row) -> RefundOutcome {
    RefundOutcome {
        key: r.key.clone(),
        approved: r.status == st::APPROVED,
        processor_id: r.processor_id.clone(),
        amount_cents: r.amount_cents,
        reason: r.reason.clone(),
    }
}

/// (year, month) now, UTC.
fn time_now() -> (i32, u32) {
    let days = domain::Timestamp::now().millis().div_euclid(86_400_000);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y as i32, m as u32)
}

/// Processor tokens the sandbox accepts instead of card details (like Stripe's test tokens):
/// each stands for one of its test cards.
fn card_for_token(token: &str) -> Option<Card> {
    let number = match token {
        "tok_visa" => cards::VISA,
        "tok_mastercard" => cards::MASTERCARD,
        "tok_amex" => cards::AMEX,
        "tok_discover" => cards::DISCOVER,
        "tok_visa_debit" => cards::VISA_DEBIT,
        "tok_chargeDeclined" => cards::DECLINE,
        "tok_chargeDeclinedInsufficientFunds" => cards::INSUFFICIENT_FUNDS,
        "tok_threeDSecureRequired" => cards::THREE_DS,
        _ => return None,
    };
    let cvv = if number == cards::AMEX { "1234" } else { "123" };
    Some(Card {
        number: CardNumber::parse(number).ok()?,
        exp_month: 12,
        exp_year: 2034,
        cvv: domain::card::Cvv::parse(cvv).ok(),
        zip: Some("94107".into()),
        holder_name: None,
    })
}

/// The card behind a payment method.
fn resolve_method(m: &PaymentMethod) -> Result<Card, ConnectorError> {
    match m {
        PaymentMethod::Card(c) => Ok(c.clone()),
        PaymentMethod::Token(t) => card_for_token(t.trim()).ok_or(ConnectorError::InvalidMethod(
            "is not a token this processor issued",
        )),
    }
}

/// The sandbox's BIN table: its debit test card's BIN is debit, everything else credit.
fn funding_of(card: &CardNumber) -> Funding {
    if card.bin() == &cards::VISA_DEBIT[..6] {
        Funding::Debit
    } else {
        Funding::Credit
    }
}

/// What the sandbox knows of a payment method before a charge (its BIN table and tokens);
/// the same for the in-process sandbox and the standalone one.
pub fn inspect(m: &PaymentMethod) -> Result<CardInfo, ConnectorError> {
    use sha2::Digest;
    let card = resolve_method(m)?;
    Ok(CardInfo {
        brand: card.number.brand(),
        funding: funding_of(&card.number),
        last4: card.number.last4().to_string(),
        fingerprint: hex(&sha2::Sha256::digest(card.number.expose().as_bytes())),
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl CardConnector for Sandbox {
    fn name(&self) -> &str {
        &self.name
    }
    fn inspect(&self, m: &PaymentMethod) -> Result<CardInfo, ConnectorError> {
        inspect(m)
    }
    fn charge(&self, req: ChargeRequest) -> BoxFut<'_, Result<ChargeOutcome, ConnectorError>> {
        Box::pin(Sandbox::charge(self, req))
    }
    fn complete(&self, key: String) -> BoxFut<'_, Result<ChargeOutcome, ConnectorError>> {
        Box::pin(async move { Sandbox::complete(self, &key).await })
    }
    fn lookup(&self, key: String) -> BoxFut<'_, Result<Option<ChargeOutcome>, ConnectorError>> {
        Box::pin(async move { Sandbox::lookup(self, &key).await })
    }
    fn resolve(&self, key: String) -> BoxFut<'_, Result<Option<ChargeOutcome>, ConnectorError>> {
        Box::pin(async move { Sandbox::resolve(self, &key).await })
    }
    fn capture(
        &self,
        key: String,
        amount_cents: i64,
    ) -> BoxFut<'_, Result<ChargeOutcome, ConnectorError>> {
        Box::pin(async move { Sandbox::capture(self, &key, amount_cents).await })
    }
    fn release(&self, key: String) -> BoxFut<'_, Result<ChargeOutcome, ConnectorError>> {
        Box::pin(async move { Sandbox::release(self, &key).await })
    }
    fn refund(&self, req: RefundRequest) -> BoxFut<'_, Result<RefundOutcome, ConnectorError>> {
        Box::pin(Sandbox::refund(self, req))
    }
    fn void(
        &self,
        key: String,
        charge_key: String,
    ) -> BoxFut<'_, Result<RefundOutcome, ConnectorError>> {
        Box::pin(async move { Sandbox::void(self, &key, &charge_key).await })
    }
    fn ledger(&self) -> BoxFut<'_, Result<Vec<LedgerEntry>, ConnectorError>> {
        Box::pin(Sandbox::ledger(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::card::Cvv;

    fn req(number: &str, zip: &str, enforce_zip: bool) -> (ChargeRequest, Card) {
        let card = Card {
            number: CardNumber::parse(number).unwrap(),
            exp_month: 12,
            exp_year: 2099,
            cvv: Some(Cvv::parse("123").unwrap()),
            zip: Some(zip.into()),
            holder_name: None,
        };
        let r = ChargeRequest {
            key: "k".into(),
            amount_cents: 100,
            currency: "USD".into(),
            method: PaymentMethod::Card(card.clone()),
            enforce_cvv: true,
            enforce_zip,
            return_url: None,
            capture: true,
        };
        (r, card)
    }

    fn decide(r: &(ChargeRequest, Card), now: (i32, u32)) -> Decision {
        super::decide(&r.0, &r.1, now)
    }

    #[test]
    fn test_cards_decide() {
        let now = (2026, 11);
        assert_eq!(
            decide(&req(cards::VISA, "94107", true), now).status,
            ChargeStatus::Approved
        );
        assert_eq!(
            decide(&req(cards::DECLINE, "94107", true), now).reason,
            "generic_decline"
        );
        assert_eq!(
            decide(&req(cards::INSUFFICIENT_FUNDS, "1", false), now).code,
            "51"
        );
        assert_eq!(
            decide(&req(cards::EXPIRED, "1", false), now).reason,
            "expired_card"
        );
        assert_eq!(
            decide(&req(cards::INCORRECT_CVC, "1", false), now).reason,
            "incorrect_cvc"
        );
        assert_eq!(
            decide(&req(cards::PROCESSING_ERROR, "1", false), now).status,
            ChargeStatus::Error
        );
        assert_eq!(
            decide(&req(cards::THREE_DS, "1", false), now).status,
            ChargeStatus::RequiresAction
        );
        assert_eq!(
            decide(&req(cards::VISA_DEBIT, "1", false), now).funding,
            Funding::Debit
        );
        assert_eq!(
            decide(&req(cards::VISA, "00000", true), now).reason,
            "avs_failure"
        );
        assert_eq!(
            decide(&req(cards::VISA, "00000", false), now).status,
            ChargeStatus::Approved
        );
        let mut r = req(cards::VISA, "1", false);
        r.1.exp_year = 2026;
        r.1.exp_month = 10;
        assert_eq!(decide(&r, now).reason, "expired_card");
        r.1.cvv = None;
        r.1.exp_year = 2030;
        assert_eq!(decide(&r, now).reason, "incorrect_cvc");
    }

    #[test]
    fn civil_date() {
        let (y, m) = time_now();
        assert!((2025..2100).contains(&y) && (1..=12).contains(&m));
    }
}
