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
//! schema as text, ledger included, and every column of every table on its own whatever its
//! type, cast to text, `bytea` also as hex, escape form and raw bytes), the log, and every
//! response body. No card number may appear, nor its first or last 12 digits: not as they
//! are, not with spaces, dashes or the `+` of form encoding removed, not with JSON `\u00XX`
//! or `%XX` escapes decoded (`%20`-separated groups included), and not encoded as hex, UTF-16
//! (LE or BE) or base64 (standard or URL-safe, at any alignment; plain, spaced or dashed).
//! No CVV after a `cvv`/`cvc` key, no CVV as a stand-alone value (values checked absent
//! before the payments), and not the letters CVV. The search itself is checked to find
//! each of those forms (and, on PostgreSQL, a number in `bytea`, `jsonb` and array columns
//! of a probe table). Finally the tender data kept instead of the number is
//! checked: `BRAND ending 1234` and a 64-hex keyed hash, stable per card, distinct across
//! cards, and not the plain SHA-256 of the number.

mod common;
use common::process::{demo, s, ServerProcess};
use common::*;
use connectors::sandbox::cards;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, RequestBuilder};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
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

/// The digit groups a card number is written in: 4-6-5 for 15 digits (Amex), else fours.
fn groups(n: &str) -> Vec<&str> {
    let cuts: &[usize] = if n.len() == 15 { &[4, 10] } else { &[4, 8, 12] };
    let mut out = vec![];
    let mut from = 0;
    for &c in cuts.iter().chain([n.len()].iter()) {
        if c > from && c <= n.len() {
            out.push(&n[from..c]);
            from = c;
        }
    }
    out
}

fn hex(bytes: &[u8], upper: bool) -> Vec<u8> {
    bytes
        .iter()
        .flat_map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
            .into_bytes()
        })
        .collect()
}

fn utf16(bytes: &[u8], little_endian: bool) -> Vec<u8> {
    bytes
        .iter()
        .flat_map(|&b| if little_endian { [b, 0] } else { [0, b] })
        .collect()
}

/// The base64 of `bytes` wherever they sit in an encoded string: for each of the three
/// alignments, the characters that only `bytes` determine (a number inside a longer
/// base64-encoded value), in the standard and the URL-safe alphabet.
fn base64_forms(bytes: &[u8]) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let mut out = vec![];
    for k in 0..3usize {
        let mut padded = vec![0u8; k];
        padded.extend_from_slice(bytes);
        let std = base64::engine::general_purpose::STANDARD.encode(&padded);
        // Groups of three bytes lying wholly inside `bytes`: four characters each.
        let (first, last) = (k.div_ceil(3), (k + bytes.len()) / 3);
        if last <= first {
            continue;
        }
        let part = std[first * 4..last * 4].to_string();
        let url = part.replace('+', "-").replace('/', "_");
        out.push(part.into_bytes());
        out.push(url.into_bytes());
    }
    out.sort();
    out.dedup();
    out
}

/// Finds many needles of at least 8 bytes in one pass over a haystack: candidate positions
/// by their first 8 bytes, then a full comparison. Returns the first hit of each needle.
struct Finder {
    needles: Vec<(String, Vec<u8>)>,
    by_prefix: HashMap<[u8; 8], Vec<usize>>,
    /// Whether some needle starts with these two bytes (a cheap filter before the map).
    starts: Vec<bool>,
}

impl Finder {
    fn new(needles: Vec<(String, Vec<u8>)>) -> Finder {
        let mut by_prefix: HashMap<[u8; 8], Vec<usize>> = HashMap::new();
        let mut starts = vec![false; 1 << 16];
        for (i, (what, n)) in needles.iter().enumerate() {
            assert!(n.len() >= 8, "needle {what} is shorter than 8 bytes");
            starts[usize::from(n[0]) << 8 | usize::from(n[1])] = true;
            by_prefix
                .entry(n[..8].try_into().unwrap())
                .or_default()
                .push(i);
        }
        Finder {
            needles,
            by_prefix,
            starts,
        }
    }

    /// `(needle description, position)` of the first occurrence of each needle found.
    fn first_hits(&self, hay: &[u8]) -> Vec<(&str, usize, usize)> {
        let mut found = vec![None; self.needles.len()];
        if hay.len() >= 8 {
            for i in 0..=hay.len() - 8 {
                if !self.starts[usize::from(hay[i]) << 8 | usize::from(hay[i + 1])] {
                    continue;
                }
                let Some(candidates) = self.by_prefix.get(&hay[i..i + 8]) else {
                    continue;
                };
                for &c in candidates {
                    if found[c].is_none() && hay[i..].starts_with(&self.needles[c].1) {
                        found[c] = Some(i);
                    }
                }
            }
        }
        found
            .iter()
            .enumerate()
            .filter_map(|(c, at)| {
                at.map(|at| (self.needles[c].0.as_str(), at, self.needles[c].1.len()))
            })
            .collect()
    }
}

/// `hay` as a decoder would read it: JSON `\u00XX` escapes and `%XX` percent escapes
/// replaced by the byte they stand for (`\u0034\u0032…`, `4242%204242…`).
fn unescaped(hay: &[u8]) -> Vec<u8> {
    let hexval = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(b"\\u00") && i + 6 <= hay.len() {
            if let (Some(h), Some(l)) = (hexval(hay[i + 4]), hexval(hay[i + 5])) {
                out.push(h << 4 | l);
                i += 6;
                continue;
            }
        }
        if hay[i] == b'%' && i + 3 <= hay.len() {
            if let (Some(h), Some(l)) = (hexval(hay[i + 1]), hexval(hay[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(hay[i]);
        i += 1;
    }
    out
}

/// `hay` without the separators card numbers are written with: spaces, dashes, and the `+`
/// of form encoding (`4242+4242+…`).
fn without_separators(hay: &[u8]) -> Vec<u8> {
    hay.iter()
        .copied()
        .filter(|b| !matches!(b, b' ' | b'-' | b'+'))
        .collect()
}

/// What must never appear.
struct Needles {
    /// Full card numbers (every test card, and the Luhn-invalid number).
    numbers: Vec<String>,
    /// The CVVs sent, each chosen to be absent as a stand-alone value before the payments.
    cvvs: Vec<String>,
    /// The digits of the numbers and of their runs of 12 (first and last twelve), searched in the text as it is, without
    /// separators, and with escapes decoded.
    digits: Finder,
    /// The numbers (plain, and grouped with spaces or dashes) encoded: hex (lower and upper
    /// case), UTF-16 (LE and BE) and base64 (standard and URL-safe, every alignment).
    encoded: Finder,
}

impl Needles {
    fn new(numbers: Vec<String>, fragments: Vec<String>, cvvs: Vec<String>) -> Needles {
        let digits = Finder::new(
            numbers
                .iter()
                .chain(&fragments)
                .map(|n| (format!("card digits {n}"), n.clone().into_bytes()))
                .collect(),
        );
        let mut encoded = vec![];
        for n in &numbers {
            let g = groups(n);
            for (form, text) in [
                ("", n.clone()),
                (" spaced", g.join(" ")),
                (" dashed", g.join("-")),
            ] {
                let b = text.as_bytes();
                let what = |enc: &str| format!("card number {n}{form} as {enc}");
                encoded.push((what("hex"), hex(b, false)));
                encoded.push((what("HEX"), hex(b, true)));
                encoded.push((what("UTF-16LE"), utf16(b, true)));
                encoded.push((what("UTF-16BE"), utf16(b, false)));
                for f in base64_forms(b) {
                    encoded.push((what("base64"), f));
                }
            }
        }
        encoded.sort_by(|a, b| a.1.cmp(&b.1));
        encoded.dedup_by(|a, b| a.1 == b.1);
        Needles {
            numbers,
            cvvs,
            digits,
            encoded: Finder::new(encoded),
        }
    }

    /// Every violation in `hay`, described.
    fn violations(&self, label: &str, hay: &[u8]) -> Vec<String> {
        let mut out = vec![];
        let decoded = unescaped(hay);
        for (which, h) in [
            ("", hay.to_vec()),
            (" (spaces/dashes/+ removed)", without_separators(hay)),
            (
                " (\\u00XX and %XX escapes decoded, separators removed)",
                without_separators(&decoded),
            ),
        ] {
            for (what, i, len) in self.digits.first_hits(&h) {
                out.push(format!("{label}: {what}{which}: …{}…", snippet(&h, i, len)));
            }
        }
        for (what, i, len) in self.encoded.first_hits(hay) {
            out.push(format!("{label}: {what}: …{}…", snippet(hay, i, len)));
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
        assert!(
            names.contains(&"column payment_attempts.card_digits (text)")
                && names.contains(&"column sandbox_ledger.last4 (text)"),
            "columns of the test schema: {names:?}"
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
        if !sqlite {
            out.extend(postgres_columns(&db, &t).await);
        }
    }
    db.close().await;
    out
}

/// PostgreSQL: every column of table `t`, whatever its type, each on its own: cast to text,
/// and a `bytea` also in its hex and escape forms and as its raw bytes (decoded here from
/// base64), so that a number stored in binary or in any text form is found.
async fn postgres_columns(db: &db::Db, t: &str) -> Vec<(String, Vec<u8>)> {
    use base64::Engine as _;
    let cols: Vec<(String, String)> = rows(
        db,
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        vec![t.into()],
    )
    .await;
    assert!(!cols.is_empty(), "no columns listed for {t}");
    let mut out = vec![];
    for (c, ty) in cols {
        let text = |expr: String| {
            let sql = format!("SELECT {expr} FROM \"{t}\" WHERE \"{c}\" IS NOT NULL");
            async move { scalars::<String>(db, sql, vec![]).await.join("\n") }
        };
        let label = format!("column {t}.{c} ({ty})");
        out.push((
            label.clone(),
            text(format!("\"{c}\"::text")).await.into_bytes(),
        ));
        if ty == "bytea" {
            for form in ["hex", "escape"] {
                out.push((
                    format!("{label} as {form}"),
                    text(format!("encode(\"{c}\", '{form}')"))
                        .await
                        .into_bytes(),
                ));
            }
            let mut raw = vec![];
            // PostgreSQL breaks base64 into lines: one line per value here.
            let expr = format!("replace(encode(\"{c}\", 'base64'), chr(10), '')");
            for b64 in text(expr).await.split('\n') {
                raw.extend(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .expect("PostgreSQL's base64"),
                );
                raw.push(b'\n');
            }
            out.push((format!("{label} raw"), raw));
        }
    }
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
    let needles = Needles::new(numbers, fragments, taken.iter().cloned().collect());
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
    if dir_path.is_none() {
        postgres_columns_are_searched(&db).await;
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

/// PostgreSQL: a card number in a column of any type is found — raw and UTF-16 in `bytea`,
/// in `jsonb` written with `\u00XX` escapes, grouped in a `text[]` — in a probe table of
/// the test schema, dumped as the search above dumps every table.
async fn postgres_columns_are_searched(url: &str) {
    let n = cards::VISA;
    let store = db::Db::connect(url).await.unwrap();
    exec(
        &store,
        "CREATE TABLE card_safety_probe (raw bytea, wide bytea, doc jsonb, list text[], plain integer)",
        vec![],
    )
    .await;
    let escaped: String = n.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
    exec(
        &store,
        format!(
            "INSERT INTO card_safety_probe VALUES (decode('{}', 'hex'), decode('{}', 'hex'), \
             '{{\"n\": \"{escaped}\"}}'::jsonb, ARRAY['{}'], 1)",
            String::from_utf8(hex(n.as_bytes(), false)).unwrap(),
            String::from_utf8(hex(&utf16(n.as_bytes(), true), false)).unwrap(),
            groups(n).join(" ")
        ),
        vec![],
    )
    .await;
    store.close().await;
    let needles = Needles::new(vec![n.to_string()], vec![], vec![]);
    let dumped = dump_tables(url, "").await;
    let store = db::Db::connect(url).await.unwrap();
    exec(&store, "DROP TABLE card_safety_probe", vec![]).await;
    store.close().await;
    for col in ["raw (bytea)", "wide (bytea)", "doc (jsonb)", "list (ARRAY)"] {
        let label = format!("column card_safety_probe.{col}");
        let found: Vec<String> = dumped
            .iter()
            .filter(|(l, _)| l.starts_with(&label))
            .flat_map(|(l, b)| needles.violations(l, b))
            .collect();
        assert!(
            !found.is_empty(),
            "the card number in {label} was not found: {:?}",
            dumped
                .iter()
                .filter(|(l, _)| l.starts_with("column card_safety_probe"))
                .map(|(l, b)| (l, String::from_utf8_lossy(b)))
                .collect::<Vec<_>>()
        );
    }
    assert!(
        dumped
            .iter()
            .any(|(l, b)| l == "column card_safety_probe.plain (integer)" && b == b"1"),
        "the integer column was not dumped"
    );
}

/// The search finds a card number however it was written or encoded, and nothing in text
/// without one.
#[test]
fn every_encoding_of_a_card_number_is_found() {
    use base64::Engine as _;
    let (visa, amex) = (cards::VISA, cards::AMEX);
    let needles = Needles::new(vec![visa.into(), amex.into()], vec![], vec![]);
    let escaped =
        |s: &str| -> String { s.chars().map(|c| format!("\\u{:04x}", c as u32)).collect() };
    let escaped_upper =
        |s: &str| -> String { s.chars().map(|c| format!("\\u{:04X}", c as u32)).collect() };
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("plain".into(), visa.into()),
        ("form +".into(), "4242+4242+4242+4242".into()),
        ("form %20".into(), "4242%204242%204242%204242".into()),
        ("Amex form +".into(), "3782+822463+10005".into()),
        ("Amex form %20".into(), "3782%20822463%2010005".into()),
        ("spaces".into(), "4242 4242 4242 4242".into()),
        ("dashes".into(), "3782-822463-10005".into()),
        (
            "percent-encoded digits".into(),
            "%34%32%34%32%34%32%34%32%34%32%34%32%34%32%34%32".into(),
        ),
        ("JSON \\u00XX".into(), escaped(visa).into_bytes()),
        (
            "JSON \\u00XX, upper case".into(),
            escaped_upper(amex).into_bytes(),
        ),
        (
            "JSON \\u00XX, grouped".into(),
            escaped("4242 4242 4242 4242").into_bytes(),
        ),
        ("hex".into(), hex(visa.as_bytes(), false)),
        (
            "HEX of the spaced number".into(),
            hex(b"3782 822463 10005", true),
        ),
        ("UTF-16LE".into(), utf16(visa.as_bytes(), true)),
        ("UTF-16BE".into(), utf16(amex.as_bytes(), false)),
        (
            "UTF-16LE of the dashed number".into(),
            utf16(b"4242-4242-4242-4242", true),
        ),
    ];
    for prefix in ["", "a", "ab", "abc", "card=", "{\"number\":\""] {
        for (name, engine) in [
            ("base64", &base64::engine::general_purpose::STANDARD),
            (
                "base64url",
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ),
        ] {
            for n in [visa, amex, "4242 4242 4242 4242"] {
                let text = format!("{prefix}{n}\"}}");
                cases.push((
                    format!("{name} of {text:?}"),
                    engine.encode(text).into_bytes(),
                ));
            }
        }
    }
    for (what, enc) in &cases {
        let mut hay = b"{\"field\":\"".to_vec();
        hay.extend_from_slice(enc);
        hay.extend_from_slice(b"\",\"at\":\"2025-03-28T11:34:46.794Z\"}");
        assert!(
            !needles.violations(what, &hay).is_empty(),
            "{what} not found in {:?}",
            String::from_utf8_lossy(&hay)
        );
    }
    let clean = format!(
        "{{\"data\":\"VISA ending 4242\",\"uuid\":\"{}\",\"hash\":\"{}\",\"amount\":4242.42}}",
        uuid::Uuid::new_v4(),
        String::from_utf8(hex(b"not a card number at all", false)).unwrap()
    );
    let found = needles.violations("clean", clean.as_bytes());
    assert!(found.is_empty(), "{found:?}");
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
