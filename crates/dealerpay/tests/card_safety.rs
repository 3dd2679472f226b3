//! Card data safety, end to end through the real binary: "the full card number and CVV
//! never touch the database, a log line, an error message or a panic message".
//!
//! `dealerpay serve` runs as a child process with `DEALERPAY_LOG=debug` and its stdout and
//! stderr captured in a file, on a database seeded with `demo --json` (two invoices). Every
//! sandbox test card is charged with its own distinctive CVV (plus a second charge of the
//! Visa, a 3-D Secure challenge passed and completed, a refund, an idempotent replay), and
//! hostile confirms (Luhn-invalid number, number as a JSON number, CVV of letters, a card
//! number in expMonth, malformed JSON) are refused with 400 without echoing anything.
//!
//! Then the server is stopped (SIGTERM) and searched: the database (SQLite: the raw bytes of
//! every file — database, sandbox ledger, their -wal/-shm — while running and after the stop,
//! plus every row of every table as text; PostgreSQL: every row of every table of the test
//! schema as text, ledger included), the log, and every response body. No card number may
//! appear (nor with spaces/dashes removed, nor its first or last 12 digits), no CVV after a
//! `cvv`/`cvc` key, no CVV as a stand-alone value (values checked absent before the
//! payments), and not the letters CVV. Finally the tender data kept instead of the number is
//! checked: `BRAND ending 1234` and a 64-hex keyed hash, stable per card, distinct across
//! cards, and not the plain SHA-256 of the number.

mod common;
use common::process::{demo, s, ServerProcess};
use common::*;
use connectors::sandbox::cards;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, RequestBuilder};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The HTTP client of the test: basic auth as the demo partner, and a record of every
/// response body received.
struct Http {
    client: Client,
    base: String,
    user: String,
    pass: String,
    sent: usize,
    bodies: Vec<(String, u16, String)>,
}

impl Http {
    async fn send(&mut self, what: &str, rb: RequestBuilder) -> (u16, Value) {
        let (st, _, text) = self.send_raw(what, rb).await;
        (st, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn send_raw(
        &mut self,
        what: &str,
        rb: RequestBuilder,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        self.sent += 1;
        let r = rb.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let st = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        self.bodies.push((what.to_string(), st, text.clone()));
        (st, headers, text)
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .basic_auth(&self.user, Some(&self.pass))
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.client
            .get(format!("{}{path}", self.base))
            .basic_auth(&self.user, Some(&self.pass))
    }

    /// prePayment of `amount` dollars on the demo run's invoice; returns the attempt uuid.
    async fn prepay(&mut self, d: &Value, amount: f64) -> String {
        let body = json!({
            "dealerUuid": s(d, "dealerUuid"), "customerUuid": s(d, "customerUuid"),
            "dealerOrderUuid": s(d, "dealerOrderUuid"), "invoiceGUID": s(d, "invoiceGuid"),
            "amount": amount, "ignorePaymentAttemptValidation": true
        });
        let rb = self.post("/payment/kpayment/v1/prepayment").json(&body);
        let (st, b) = self.send("prepayment", rb).await;
        assert_eq!(st, 200, "prepayment: {b}");
        assert_eq!(b["paymentAttempt"]["status"], "Created", "{b}");
        b["paymentAttempt"]["uuid"].as_str().unwrap().to_string()
    }

    async fn confirm(&mut self, attempt: &str, body: &Value) -> (u16, Value) {
        let rb = self
            .post(&format!(
                "/payment/kpayment/v1/paymentattempts/{attempt}/confirm"
            ))
            .json(body);
        self.send("confirm", rb).await
    }
}

fn card(number: &str, cvv: &str) -> Value {
    json!({"card": {"number": number, "expMonth": 12, "expYear": 2034, "cvv": cvv,
                    "zip": "94107", "holderName": "Test Holder"}})
}

#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Approved: brand and tender (CREDIT/DEBIT).
    Approved(&'static str, &'static str),
    /// Declined or failed with this processor reason.
    Failed(&'static str),
    /// 3-D Secure: passes the challenge, then completes (Visa).
    ThreeDs,
}

/// Every sandbox test card, what the sandbox does with it, and the invoice it is paid on
/// (0: approvals, 1: failures; at most 10 failures a day per invoice).
const CASES: [(&str, Expect, usize); 12] = [
    (cards::VISA, Expect::Approved("VISA", "CREDIT"), 0),
    (
        cards::MASTERCARD,
        Expect::Approved("MASTERCARD", "CREDIT"),
        0,
    ),
    (cards::AMEX, Expect::Approved("AMEX", "CREDIT"), 0),
    (cards::DISCOVER, Expect::Approved("DISCOVER", "CREDIT"), 0),
    (cards::VISA_DEBIT, Expect::Approved("VISA", "DEBIT"), 0),
    (cards::SLOW, Expect::Approved("VISA", "CREDIT"), 0),
    (cards::DECLINE, Expect::Failed("generic_decline"), 1),
    (
        cards::INSUFFICIENT_FUNDS,
        Expect::Failed("insufficient_funds"),
        1,
    ),
    (cards::EXPIRED, Expect::Failed("expired_card"), 1),
    (cards::INCORRECT_CVC, Expect::Failed("incorrect_cvc"), 1),
    (
        cards::PROCESSING_ERROR,
        Expect::Failed("processing_error"),
        1,
    ),
    (cards::THREE_DS, Expect::ThreeDs, 0),
];

/// Not a card: fails the Luhn check (must be refused without being echoed).
const BAD_LUHN: &str = "4242424242424241";
/// A CVV of letters (must be refused without being echoed).
const LETTERS_CVV: &str = "qzxj";

// ---------------------------------------------------------------------------------------
// Searching raw bytes
// ---------------------------------------------------------------------------------------

fn occurrences(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return vec![];
    }
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// A byte that can delimit a value in text: whitespace or punctuation, except the `.`, `_`
/// and `-` found inside numbers, identifiers and UUIDs. Binary bytes are not delimiters, so
/// digits that happen to occur in the binary structure of a database file (page headers,
/// checksums, integers) do not count as values.
fn is_delimiter(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
        || (b.is_ascii_punctuation() && !matches!(b, b'.' | b'_' | b'-'))
}

/// Occurrences of `needle` that stand alone as a value in text (`"731"`, `,731,`, `=731 `):
/// not inside a UUID, hash, timestamp or other number, as a stored or logged CVV would.
fn token_occurrences(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    occurrences(hay, needle)
        .into_iter()
        .filter(|&i| {
            let end = i + needle.len();
            (i == 0 || is_delimiter(hay[i - 1])) && (end == hay.len() || is_delimiter(hay[end]))
        })
        .collect()
}

/// A CVV-looking key followed by a 3-4 digit value: `"cvv":"731"`, `cvv=731`, `CVC: 7319`,
/// `""cvv"": ""731""` (PostgreSQL text of a JSON column)…
fn cvv_contexts(hay: &[u8]) -> Vec<usize> {
    let lower = hay.to_ascii_lowercase();
    let mut hits = vec![];
    for key in [&b"cvv"[..], b"cvc", b"securitycode", b"security_code"] {
        for i in occurrences(&lower, key) {
            let mut j = i + key.len();
            let mut skipped = 0;
            while j < lower.len() && skipped < 8 && b"\"':= \\\t".contains(&lower[j]) {
                j += 1;
                skipped += 1;
            }
            let digits = lower[j..].iter().take_while(|b| b.is_ascii_digit()).count();
            if (3..=4).contains(&digits) {
                hits.push(i);
            }
        }
    }
    hits
}

fn snippet(hay: &[u8], at: usize, len: usize) -> String {
    let from = at.saturating_sub(60);
    let to = (at + len + 60).min(hay.len());
    String::from_utf8_lossy(&hay[from..to])
        .chars()
        .map(|c| if c.is_control() { '·' } else { c })
        .collect()
}

/// What must never appear.
struct Needles {
    /// Full card numbers (every test card, and the Luhn-invalid number).
    numbers: Vec<String>,
    /// Runs of 12 digits of the card numbers (first and last twelve).
    fragments: Vec<String>,
    /// The CVVs sent, each chosen to be absent as a stand-alone value before the payments.
    cvvs: Vec<String>,
}

impl Needles {
    /// Every violation in `hay`, described.
    fn violations(&self, label: &str, hay: &[u8]) -> Vec<String> {
        let mut out = vec![];
        // Numbers formatted with spaces or dashes are found with those removed.
        let stripped: Vec<u8> = hay
            .iter()
            .copied()
            .filter(|b| !matches!(b, b' ' | b'-'))
            .collect();
        for n in self.numbers.iter().chain(&self.fragments) {
            for (which, h) in [("", hay), (" (spaces/dashes removed)", &stripped[..])] {
                if let Some(&i) = occurrences(h, n.as_bytes()).first() {
                    out.push(format!(
                        "{label}: card digits {n}{which}: …{}…",
                        snippet(h, i, n.len())
                    ));
                }
            }
        }
        for c in &self.cvvs {
            for i in token_occurrences(hay, c.as_bytes()) {
                out.push(format!(
                    "{label}: CVV {c} as a value: …{}…",
                    snippet(hay, i, c.len())
                ));
            }
        }
        for i in cvv_contexts(hay) {
            out.push(format!(
                "{label}: a CVV after a cvv key: …{}…",
                snippet(hay, i, 8)
            ));
        }
        if let Some(&i) = occurrences(hay, LETTERS_CVV.as_bytes()).first() {
            out.push(format!(
                "{label}: the letters CVV {LETTERS_CVV}: …{}…",
                snippet(hay, i, LETTERS_CVV.len())
            ));
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// What the database holds, as bytes
// ---------------------------------------------------------------------------------------

/// SQLite: every file in the test's directory (database, ledger, their -wal/-shm), raw,
/// and then every row of every table of each database as text. PostgreSQL: every row of
/// every table of the test schema as text (the sandbox ledger's table included).
async fn database_artifacts(url: &str, dir: Option<&Path>) -> Vec<(String, Vec<u8>)> {
    let Some(dir) = dir else {
        let out = dump_tables(url, "").await;
        let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            names.contains(&"table payment_attempts") && names.contains(&"table sandbox_ledger"),
            "tables of the test schema: {names:?}"
        );
        return out;
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    // Raw bytes first: opening a database below creates its -wal/-shm again.
    let mut out: Vec<(String, Vec<u8>)> = paths
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (format!("file {name}"), std::fs::read(p).unwrap_or_default())
        })
        .collect();
    for p in &paths {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        // The key file (the card-hash secret kept outside the database) is searched as bytes only.
        if !name.ends_with("-wal")
            && !name.ends_with("-shm")
            && !name.ends_with("-journal")
            && !name.ends_with(".key")
        {
            out.extend(dump_tables(&format!("sqlite://{}", p.display()), &name).await);
        }
    }
    out
}

/// Every row of every table as text: PostgreSQL's `t::text`, or on SQLite each column cast
/// to text, comma-separated in parentheses.
async fn dump_tables(url: &str, file: &str) -> Vec<(String, Vec<u8>)> {
    let db = db::Db::connect(url).await.unwrap();
    let sqlite = db.backend() == db::Backend::Sqlite;
    let tables: Vec<String> = scalars(
        &db,
        if sqlite {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        } else {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        },
        vec![],
    )
    .await;
    let mut out = vec![];
    for t in tables {
        let sql = if sqlite {
            let cols: Vec<String> = scalars(
                &db,
                "SELECT name FROM pragma_table_info($1)",
                vec![(&t).into()],
            )
            .await;
            let row = cols
                .iter()
                .map(|c| format!("COALESCE(CAST(\"{c}\" AS TEXT), 'NULL')"))
                .collect::<Vec<_>>()
                .join(" || ',' || ");
            format!("SELECT '(' || {row} || ')' FROM \"{t}\"")
        } else {
            format!("SELECT t::text FROM \"{t}\" t")
        };
        let rows: Vec<String> = scalars(&db, sql, vec![]).await;
        let label = if file.is_empty() {
            format!("table {t}")
        } else {
            format!("table {t} of {file}")
        };
        out.push((label, rows.join("\n").into_bytes()));
    }
    db.close().await;
    out
}

fn total_len(a: &[(String, Vec<u8>)]) -> usize {
    a.iter().map(|(_, b)| b.len()).sum()
}

/// The first candidate that does not stand alone anywhere in `baseline` and is not taken.
fn pick_cvv(candidates: &[&str], baseline: &[&[u8]], taken: &BTreeSet<String>) -> String {
    candidates
        .iter()
        .find(|c| {
            !taken.contains(**c)
                && baseline
                    .iter()
                    .all(|h| token_occurrences(h, c.as_bytes()).is_empty())
        })
        .unwrap_or_else(|| panic!("no distinctive CVV left among {candidates:?}"))
        .to_string()
}

/// SHA-256 of `s` via `sha256sum`, if available (an unkeyed hash of a card number is
/// reversible by enumeration, so tender data must not carry one).
fn plain_sha256(s: &str) -> Option<String> {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(s.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    text.split_whitespace().next().map(str::to_string)
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_numbers_and_cvvs_never_reach_the_database_logs_or_errors() {
    let started = Instant::now();
    let (db, dir) = fresh_database().await;
    let dir_path = dir.as_ref().map(|d| d.0.clone());

    // Two invoices: one for approvals, one for failures.
    let runs = [demo(&db).await, demo(&db).await];
    let creds = &runs[1]; // each demo run rotates the password: the last one works

    // Baseline: the seeded database, before any card data was sent.
    let baseline = database_artifacts(&db, dir_path.as_deref()).await;
    assert!(
        total_len(&baseline) > 0,
        "nothing to search in the baseline"
    );
    let baseline_refs: Vec<&[u8]> = baseline.iter().map(|(_, b)| &b[..]).collect();

    // Distinctive CVVs: 3 digits (4 for Amex), none standing alone in the seeded database.
    const THREE: [&str; 24] = [
        "731", "842", "953", "617", "528", "394", "276", "165", "589", "937", "713", "859", "462",
        "318", "795", "681", "247", "573", "928", "364", "819", "451", "692", "137",
    ];
    const FOUR: [&str; 6] = ["7319", "8427", "9538", "6173", "5284", "3946"];
    let mut taken = BTreeSet::new();
    let mut cvv_of = vec![];
    for (number, _, _) in CASES {
        let c = if number == cards::AMEX {
            pick_cvv(&FOUR, &baseline_refs, &taken)
        } else {
            pick_cvv(&THREE, &baseline_refs, &taken)
        };
        taken.insert(c.clone());
        cvv_of.push(c);
    }
    let second_visa_cvv = pick_cvv(&THREE, &baseline_refs, &taken);
    taken.insert(second_visa_cvv.clone());
    let hostile_cvv = pick_cvv(&THREE, &baseline_refs, &taken);
    taken.insert(hostile_cvv.clone());
    let page_cvv = pick_cvv(&THREE, &baseline_refs, &taken);
    taken.insert(page_cvv.clone());
    assert!(
        baseline_refs
            .iter()
            .all(|h| occurrences(h, LETTERS_CVV.as_bytes()).is_empty()),
        "{LETTERS_CVV} already in the seeded database"
    );

    let mut numbers: Vec<String> = CASES.iter().map(|c| c.0.to_string()).collect();
    numbers.push(BAD_LUHN.to_string());
    let mut fragments = BTreeSet::new();
    for n in &numbers {
        fragments.insert(n[..12].to_string());
        fragments.insert(n[n.len() - 12..].to_string());
    }
    // A 12-digit run already present before any card was sent says nothing; skip it (the
    // full numbers are never skipped).
    let fragments: Vec<String> = fragments
        .into_iter()
        .filter(|f| {
            let present = baseline_refs
                .iter()
                .any(|h| !occurrences(h, f.as_bytes()).is_empty());
            if present {
                eprintln!("note: {f} occurs in the seeded database already; not searched");
            }
            !present
        })
        .collect();
    let needles = Needles {
        numbers,
        fragments,
        cvvs: taken.iter().cloned().collect(),
    };
    let pre = needles.violations("seeded database", &baseline.concat_bytes());
    assert!(pre.is_empty(), "before any payment: {pre:#?}");

    let mut server = ServerProcess::serve(&db)
        .args(["--sandbox-slow-ms", "300"])
        .env("DEALERPAY_LOG", "debug")
        .log_prefix("card-safety")
        .log_tail(80)
        .start()
        .await;
    let mut http = Http {
        client: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: server.base.clone(),
        user: s(creds, "username").to_string(),
        pass: s(creds, "password").to_string(),
        sent: 0,
        bodies: vec![],
    };

    // ---- every sandbox test card -------------------------------------------------------
    // attempt uuid -> (brand, last4, tender) of the approved charges.
    let mut approved: BTreeMap<String, (String, String, String)> = BTreeMap::new();
    let mut charge_of_number: BTreeMap<&str, String> = BTreeMap::new();
    for (i, (number, expect, invoice)) in CASES.iter().enumerate() {
        let cvv = &cvv_of[i];
        let attempt = http.prepay(&runs[*invoice], 1.00).await;
        let body = card(number, cvv);
        let (st, b) = if *number == cards::DISCOVER {
            // With an Idempotency-Key, whose response is stored and replayed.
            let key = uuid::Uuid::new_v4().to_string();
            let path = format!("/payment/kpayment/v1/paymentattempts/{attempt}/confirm");
            let rb = http.post(&path).header("Idempotency-Key", &key).json(&body);
            let (st, _, first) = http.send_raw("confirm with Idempotency-Key", rb).await;
            let rb = http.post(&path).header("Idempotency-Key", &key).json(&body);
            let (st2, h2, again) = http.send_raw("replayed confirm", rb).await;
            assert_eq!((st2, &again), (st, &first), "the replay differs");
            assert_eq!(
                h2.get("idempotent-replayed").and_then(|v| v.to_str().ok()),
                Some("true"),
                "{h2:?}"
            );
            (st, serde_json::from_str(&first).unwrap_or(Value::Null))
        } else {
            http.confirm(&attempt, &body).await
        };
        assert_eq!(st, 200, "confirm with {number}: {b}");
        let pa = &b["paymentAttempt"];
        match expect {
            Expect::Approved(brand, tender) => {
                assert_eq!(pa["status"], "Succeeded", "{number}: {b}");
                let last4 = &number[number.len() - 4..];
                approved.insert(
                    attempt.clone(),
                    (brand.to_string(), last4.to_string(), tender.to_string()),
                );
                let t = pa["transaction"]["uuid"]
                    .as_str()
                    .expect("transaction uuid");
                charge_of_number.insert(*number, t.to_string());
            }
            Expect::Failed(reason) => {
                assert_eq!(pa["status"], "Failed", "{number}: {b}");
                assert_eq!(pa["responseDescription"], *reason, "{number}: {b}");
            }
            Expect::ThreeDs => {
                assert_eq!(pa["status"], "RequiresAction", "{number}: {b}");
                let url = pa["nextAction"]["redirectToUrlAction"]["redirectUrl"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no challenge URL: {b}"))
                    .to_string();
                let (st, page) = {
                    let rb = http.client.get(&url);
                    let (st, _, page) = http.send_raw("challenge page", rb).await;
                    (st, page)
                };
                assert_eq!(st, 200, "challenge page {url}: {page}");
                assert!(page.contains("result"), "{page}");
                let rb = http
                    .client
                    .post(&url)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body("result=pass");
                let (st, _, page) = http.send_raw("challenge answer", rb).await;
                assert!(st == 200 || st == 303, "challenge answer: {st} {page}");
                let rb = http.post(&format!(
                    "/payment/kpayment/v1/paymentattempts/{attempt}/complete"
                ));
                let (st, b) = http.send("complete", rb).await;
                assert_eq!(st, 200, "complete: {b}");
                assert_eq!(b["paymentAttempt"]["status"], "Succeeded", "{b}");
                approved.insert(
                    attempt.clone(),
                    ("VISA".into(), number[12..].to_string(), "CREDIT".into()),
                );
            }
        }
    }

    // The same Visa again with another CVV: its keyed hash must be the same.
    let attempt = http.prepay(&runs[0], 1.00).await;
    let (st, b) = http
        .confirm(&attempt, &card(cards::VISA, &second_visa_cvv))
        .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["paymentAttempt"]["status"], "Succeeded", "{b}");
    approved.insert(attempt, ("VISA".into(), "4242".into(), "CREDIT".into()));

    // ---- hostile confirms: refused with 400, nothing echoed ------------------------------
    let attempt = http.prepay(&runs[1], 1.00).await;
    let hostile = [
        (
            "Luhn-invalid number",
            card(BAD_LUHN, &hostile_cvv),
            "card.number",
        ),
        (
            "number as a JSON number",
            json!({"card": {"number": 4242424242424242u64, "expMonth": 12, "expYear": 2034,
                            "cvv": hostile_cvv, "zip": "94107"}}),
            "card.number",
        ),
        ("CVV of letters", card(cards::VISA, LETTERS_CVV), "card.cvv"),
        (
            "card number in expMonth",
            json!({"card": {"number": cards::MASTERCARD, "expMonth": cards::VISA, "expYear": 2034,
                            "cvv": hostile_cvv}}),
            "card.expMonth",
        ),
    ];
    let mut error_bodies = vec![];
    for (what, body, field) in &hostile {
        let (st, b) = http.confirm(&attempt, body).await;
        assert_eq!(st, 400, "{what}: {b}");
        let desc = v1_error(&b, "INVALID_DATA_FOR_THE_FIELD");
        assert!(desc.starts_with(field), "{what}: {desc}");
        error_bodies.push((what.to_string(), b.to_string()));
    }
    // Malformed JSON around a card number: a syntax error that must not quote the input.
    let raw = format!(
        "{{\"card\":{{\"number\":\"{}\",\"cvv\":\"{hostile_cvv}\",}}}}",
        cards::VISA
    );
    let rb = http
        .post(&format!(
            "/payment/kpayment/v1/paymentattempts/{attempt}/confirm"
        ))
        .header(CONTENT_TYPE, "application/json")
        .body(raw);
    let (st, b) = http.send("malformed confirm", rb).await;
    assert_eq!(st, 400, "malformed JSON: {b}");
    error_bodies.push(("malformed JSON".into(), b.to_string()));
    for (what, body) in &error_bodies {
        for n in &needles.numbers {
            assert!(
                !body.contains(n.as_str()),
                "{what}: the error echoes {n}: {body}"
            );
        }
        assert!(
            token_occurrences(body.as_bytes(), hostile_cvv.as_bytes()).is_empty()
                && !body.contains(LETTERS_CVV),
            "{what}: the error echoes the CVV: {body}"
        );
    }
    // The attempt is still usable after the refusals.
    let (st, b) = http
        .confirm(&attempt, &card(cards::DECLINE, &hostile_cvv))
        .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["paymentAttempt"]["status"], "Failed", "{b}");

    // ---- the pay page's form: cards typed by a customer ---------------------------------
    let page = format!("/pay/{}", s(&runs[0], "paymentRequestGuid"));
    let r = http
        .client
        .get(format!("{}{page}", http.base))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = r.text().await.unwrap();
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("the pay page has a form")
        + 19;
    let csrf = html[at..at + html[at..].find('"').unwrap()].to_string();
    for (what, number, expect) in [
        ("pay page: Luhn-invalid number", BAD_LUHN, 422),
        ("pay page: spaced number", "5555 5555 5555 4444", 303),
    ] {
        let form = [
            ("csrf", csrf.as_str()),
            ("cardNumber", number),
            ("expiry", "12/34"),
            ("cvc", page_cvv.as_str()),
            ("zip", "94107"),
            // Not 1.00: the API already charged this card 1.00 here (a suspected duplicate).
            ("amount", "2.00"),
        ];
        let rb = http
            .client
            .post(format!("{}{page}", http.base))
            .header("cookie", &cookie)
            .form(&form);
        let (st, headers, body) = http.send_raw(what, rb).await;
        assert_eq!(st, expect, "{what}: {body}");
        if let Some(to) = headers.get("location") {
            // On to the outcome; the redirect chain carries no card data.
            let to = to.to_str().unwrap().to_string();
            assert!(!to.contains("5555"), "{to}");
            let rb = http
                .client
                .get(format!("{}{to}", http.base))
                .header("cookie", &cookie);
            let (st, headers, _) = http.send_raw("pay page: outcome", rb).await;
            assert_eq!(st, 303, "approved → receipt");
            assert!(headers["location"].to_str().unwrap().contains("/receipt/"));
        }
    }

    // ---- a refund of an approved charge ------------------------------------------------
    let charge = &charge_of_number[cards::MASTERCARD];
    let rb = http
        .post(&format!(
            "/payment/kpayment/v1/transactions/{charge}/refund"
        ))
        .json(&json!({"amount": 1.00}));
    let (st, b) = http.send("refund", rb).await;
    assert_eq!(st, 200, "refund: {b}");
    assert_eq!(b["paymentAttempt"]["status"], "Succeeded", "refund: {b}");

    // ---- (d) what we keep instead of the number: brand, last four and a keyed hash ------
    let mut hashes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut seen = 0;
    for run in &runs {
        let path = format!(
            "/payment/v3/department/{}/status?invoiceId={}",
            s(run, "departmentUuid"),
            s(run, "invoiceGuid")
        );
        let rb = http.get(&path);
        let (st, b) = http.send("v3 status", rb).await;
        assert_eq!(st, 200, "v3 status: {b}");
        for a in b["paymentAttempts"].as_array().expect("paymentAttempts") {
            let uuid = a["uuid"].as_str().unwrap_or_default();
            for key in ["transaction", "transactionIncomplete"] {
                let td = &a[key]["tenderData"];
                if td.is_null() {
                    continue;
                }
                let data = td["data"].as_str().unwrap_or_default();
                let hash = td["hash"].as_str().unwrap_or_default();
                assert!(
                    data.contains(" ending ") && data.len() <= 24,
                    "tenderData.data {data:?} in {a}"
                );
                assert!(is_hex64(hash), "tenderData.hash {hash:?} in {a}");
                if let (Some((brand, last4, tender)), "transaction") = (approved.get(uuid), key) {
                    if a["transactionType"] != "CHARGE" {
                        continue;
                    }
                    assert_eq!(data, format!("{brand} ending {last4}"), "{a}");
                    assert_eq!(
                        td["tenderSubType"]["tenderType"]["tenderName"], *tender,
                        "{a}"
                    );
                    hashes
                        .entry(format!("{brand} {last4}"))
                        .or_default()
                        .insert(hash.to_string());
                    seen += 1;
                }
            }
        }
    }
    assert_eq!(seen, approved.len(), "approved charges in the v3 status");
    // One hash per card (the two Visa 4242 charges share theirs), different across cards.
    let all: BTreeSet<&String> = hashes.values().flatten().collect();
    for (card, hs) in &hashes {
        assert_eq!(hs.len(), 1, "{card}: hashes {hs:?}");
    }
    assert_eq!(
        all.len(),
        hashes.len(),
        "two cards share a hash: {hashes:?}"
    );
    if let Some(plain) = plain_sha256(cards::VISA) {
        let visa = hashes["VISA 4242"].iter().next().unwrap();
        assert_ne!(
            visa, &plain,
            "tender hash is the unkeyed SHA-256 of the card number"
        );
    }

    // ---- stop the server, then search everything -----------------------------------------
    let live = database_artifacts(&db, dir_path.as_deref()).await;
    server.stop().await;
    let stopped = database_artifacts(&db, dir_path.as_deref()).await;
    let log = server.log_bytes();

    let mut violations = vec![];
    for (when, set) in [("while running", &live), ("after stop", &stopped)] {
        for (name, bytes) in set {
            violations.extend(needles.violations(&format!("{name} ({when})"), bytes));
        }
    }
    violations.extend(needles.violations("server log", &log));
    for (what, status, body) in &http.bodies {
        violations
            .extend(needles.violations(&format!("{what} response ({status})"), body.as_bytes()));
    }
    assert!(
        violations.is_empty(),
        "card data found ({} places; the first 40):\n{}",
        violations.len(),
        violations[..violations.len().min(40)].join("\n")
    );

    // The searches were not vacuous.
    if let Some(dir) = &dir_path {
        let names: Vec<&str> = stopped.iter().map(|(n, _)| n.as_str()).collect();
        for want in [
            "file test.db",
            "file test.db.sandbox-ledger",
            "table payment_attempts of test.db",
            "table transactions of test.db",
            "table idempotency_keys of test.db",
            "table sandbox_ledger of test.db.sandbox-ledger",
        ] {
            assert!(
                names.contains(&want),
                "{want} not among {names:?} in {}",
                dir.display()
            );
        }
        let live_names: Vec<&str> = live.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            live_names.contains(&"file test.db-wal"),
            "no WAL file while running: {live_names:?}"
        );
    }
    let stopped_all = stopped.concat_bytes();
    for a in approved.keys() {
        assert!(
            !occurrences(&stopped_all, a.as_bytes()).is_empty(),
            "attempt {a} not found in the database artifacts: the search reads the wrong place"
        );
    }
    assert!(
        !occurrences(&stopped_all, b"VISA").is_empty()
            && !occurrences(&stopped_all, b"4242").is_empty(),
        "brand and last four are expected in the database"
    );
    let log_text = String::from_utf8_lossy(&log);
    let requests = log_text
        .lines()
        .filter(|l| l.contains("\"message\":\"request\""))
        .count();
    assert!(
        requests >= http.sent && requests >= 30,
        "{requests} request log lines for {} requests sent",
        http.sent
    );
    assert!(
        log_text.contains("\"level\":\"DEBUG\""),
        "no debug lines: DEALERPAY_LOG=debug not in effect?"
    );
    assert!(
        !log_text.contains("panicked"),
        "the server panicked:\n{log_text}"
    );
    eprintln!(
        "{}: {} requests, {} request log lines, {} KiB of log, {} KiB of database searched, \
         {} approved charges, CVVs {:?}; {:?}",
        backend(),
        http.sent,
        requests,
        log.len() / 1024,
        (total_len(&live) + total_len(&stopped)) / 1024,
        approved.len(),
        needles.cvvs,
        started.elapsed()
    );
}

trait ConcatBytes {
    fn concat_bytes(&self) -> Vec<u8>;
}

impl ConcatBytes for Vec<(String, Vec<u8>)> {
    fn concat_bytes(&self) -> Vec<u8> {
        let mut out = vec![];
        for (_, b) in self {
            out.extend_from_slice(b);
            out.push(b'\n');
        }
        out
    }
}
