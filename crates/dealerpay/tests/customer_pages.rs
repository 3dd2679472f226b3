//! The customer pages over plain HTTP (the browser runs them in `e2e/`): CSRF, the pay flow
//! from decline to receipt and PDF, receipts bound to their link, locales, expiring a link,
//! and the per-client rate limits.

mod common;
use common::*;
use reqwest::{Method, Response};
use serde_json::json;

/// A browser-like visitor: keeps the CSRF cookie and the last form token.
struct Visitor<'a> {
    app: &'a TestApp,
    cookie: Option<String>,
    csrf: Option<String>,
}

impl<'a> Visitor<'a> {
    fn new(app: &'a TestApp) -> Visitor<'a> {
        Visitor {
            app,
            cookie: None,
            csrf: None,
        }
    }

    async fn get(&mut self, path: &str) -> (u16, String) {
        let mut rb = self.app.req(Method::GET, path);
        if let Some(c) = &self.cookie {
            rb = rb.header("cookie", c);
        }
        let r = rb.send().await.unwrap();
        self.take(r).await
    }

    async fn take(&mut self, r: Response) -> (u16, String) {
        let status = r.status().as_u16();
        if let Some(c) = r.headers().get("set-cookie") {
            self.cookie = Some(c.to_str().unwrap().split(';').next().unwrap().to_string());
        }
        let loc = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let body = r.text().await.unwrap();
        if let Some(l) = loc {
            return (status, l);
        }
        if status != 204 && status != 303 {
            assert!(
                ct.unwrap_or_default().starts_with("text/html"),
                "pages answer HTML: {body}"
            );
        }
        if let Some(i) = body.find("name=\"csrf\" value=\"") {
            let rest = &body[i + 19..];
            self.csrf = Some(rest[..rest.find('"').unwrap()].to_string());
        }
        (status, body)
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let mut form: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(t) = &self.csrf {
            form.push(("csrf".into(), t.clone()));
        }
        let mut rb = self.app.req(Method::POST, path).form(&form);
        if let Some(c) = &self.cookie {
            rb = rb.header("cookie", c);
        }
        let r = rb.send().await.unwrap();
        self.take(r).await
    }

    /// Follows 303s from a post or get until a page.
    async fn follow(&mut self, (mut status, mut body): (u16, String)) -> (u16, String, String) {
        let mut at = String::new();
        for _ in 0..5 {
            if status != 303 {
                break;
            }
            at = body.trim_start_matches(&self.app.base).to_string();
            (status, body) = self.get(&at).await;
        }
        (status, body, at)
    }
}

fn card(number: &'static str) -> Vec<(&'static str, &'static str)> {
    // What the browser posts: the prefilled amount (whole amount due here) and the card.
    vec![
        ("cardNumber", number),
        ("expiry", "12/34"),
        ("cvc", "123"),
        ("zip", "94107"),
        ("amount", "120.00"),
    ]
}

/// A seeded invoice of `amount` and the path of its new pay link.
async fn pay_link(app: &TestApp, amount: f64) -> (Seed, String) {
    let s = app.seed(amount).await;
    let (st, b) = app.payment_request(&s, json!({})).await;
    assert_eq!(st, 201, "{b}");
    let guid = b["paymentRequest"]["guid"].as_str().unwrap();
    let page = format!("/pay/{guid}");
    (s, page)
}

async fn attempts(app: &TestApp, invoice: &str) -> i64 {
    scalar(
        app.db(),
        format!(
            "SELECT COUNT(*) FROM payment_attempts a JOIN invoices i ON i.id = a.invoice_id WHERE i.guid = '{invoice}'"
        ),
        vec![],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_a_link_from_decline_to_receipt() {
    let app = TestApp::spawn().await;
    let (s, page) = pay_link(&app, 120.0).await;
    let mut v = Visitor::new(&app);

    let (st, html) = v.get(&page).await;
    assert_eq!(st, 200);
    for needle in [
        "Test Motors",
        "id=\"amount-due\">$120.00",
        "id=\"fee-disclosure\"",
        "up to 3.5%",
        "$124.62",
        "Honda Accord",
        "id=\"pay-form\"",
    ] {
        assert!(html.contains(needle), "pay page lacks {needle}: {html}");
    }

    // A post without the page's token is refused and creates nothing.
    let saved = v.csrf.take();
    let (st, html) = v.post(&page, &card("4242424242424242")).await;
    assert_eq!(st, 403);
    assert!(html.contains("id=\"form-error\""));
    assert_eq!(attempts(&app, &s.invoice).await, 0);
    v.csrf = saved;

    // Bad fields are named, nothing is created, and the number is not echoed.
    let mut bad = card("4242424242424241");
    bad[1] = ("expiry", "13/99");
    let (st, html) = v.post(&page, &bad).await;
    assert_eq!(st, 422);
    assert!(
        html.contains("href=\"#card-number\"") && html.contains("href=\"#card-expiry\""),
        "{html}"
    );
    assert!(!html.contains("4242424242424241"));
    assert_eq!(attempts(&app, &s.invoice).await, 0);

    // Declined: back on the page with the reason (PRG), then another card pays.
    let r = v.post(&page, &card("4000000000009995")).await;
    let (st, html, at) = v.follow(r).await;
    assert_eq!(st, 402, "{at}: {html}");
    assert!(at.contains("?attempt="));
    assert!(html.contains("insufficient funds"), "{html}");
    let r = v.post(&page, &card("4242424242424242")).await;
    let (st, html, receipt) = v.follow(r).await;
    assert_eq!(st, 200, "{html}");
    assert!(
        receipt.starts_with(&format!("{page}/receipt/")),
        "{receipt}"
    );
    // The page disclosed at most $4.20 (3.5%) + tax = $124.62; Visa caps surcharges at 3%, so
    // the card was charged $3.60 + $0.36 tax.
    for needle in [
        "id=\"receipt\"",
        "Visa •••• 4242",
        "id=\"receipt-auth-code\"",
        ">$3.60<",
        ">$123.96<",
    ] {
        assert!(html.contains(needle), "receipt lacks {needle}: {html}");
    }
    assert!(!html.contains("4242424242424242"));

    // The PDF: a real PDF with the same facts, offered as a download.
    let txn = receipt
        .split("/receipt/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let r = app
        .req(Method::GET, &format!("{page}/receipt/{txn}/pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    let pdf = r.bytes().await.unwrap();
    let raw = String::from_utf8_lossy(&pdf);
    assert!(raw.starts_with("%PDF-1.") && raw.trim_end().ends_with("%%EOF"));
    let text = common::pdf_text::text(&pdf);
    for needle in ["\nTest Motors\n", "\nRO-", "\n$123.96\n", "4242\n"] {
        assert!(text.contains(needle), "pdf lacks {needle:?}: {text}");
    }

    // Paid: the link says so and keeps the receipt reachable, in every language.
    let (st, html) = v.get(&format!("{page}?lang=fr-CA")).await;
    assert_eq!(st, 200);
    assert!(
        html.contains("data-status=\"paid\"") && html.contains("class=\"receipt-link\""),
        "{html}"
    );
    assert!(
        html.contains("<html lang=\"fr-CA\">") && html.contains("120,00\u{a0}$"),
        "{html}"
    );

    // A receipt is bound to its link's invoice: another link cannot show it.
    let s2 = app.seed(50.0).await;
    let (_, b2) = app.payment_request(&s2, json!({})).await;
    let other = b2["paymentRequest"]["guid"].as_str().unwrap().to_string();
    let (st, _) = v.get(&format!("/pay/{other}/receipt/{txn}")).await;
    assert_eq!(st, 404);
    let (st, _) = v.get(&format!("/pay/{other}/receipt/{txn}/pdf")).await;
    assert_eq!(st, 404);
    let (st, html) = v.get("/pay/not-a-guid/receipt/nope").await;
    assert_eq!(st, 404);
    assert!(html.contains("<h1>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dealer_can_expire_a_link() {
    let app = TestApp::spawn().await;
    let s = app.seed(80.0).await;
    let (_, b) = app.payment_request(&s, json!({"locale": "es"})).await;
    let guid = b["paymentRequest"]["guid"].as_str().unwrap().to_string();
    let path = format!("/payment/kpayment/v1/paymentrequest/{guid}/expire");

    let reader = app.partner(&[(&s.dealer, None, "payment.payisland")]).await;
    let (st, b) = TestApp::send(reader.auth(app.req(Method::POST, &path))).await;
    assert_eq!(st, 401, "{b}");
    v1_error(&b, "INVALID_SCOPE_DEALER");

    let sender = app
        .partner(&[(&s.dealer, None, "payment.paymentrequest")])
        .await;
    let (st, b) = TestApp::send(sender.auth(app.req(Method::POST, &path))).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["paymentRequest"]["status"], "EXPIRED");
    let (st, b) = TestApp::send(sender.auth(app.req(Method::POST, &path))).await;
    assert_eq!(st, 400);
    v1_error(&b, "PAYMENT_REQUEST_EXPIRED");

    let mut v = Visitor::new(&app);
    let (st, html) = v.get(&format!("/pay/{guid}")).await;
    assert_eq!(st, 410);
    assert!(
        html.contains("data-status=\"expired\"") && html.contains("<html lang=\"es\">"),
        "{html}"
    );
    // Posting to an expired link charges nothing.
    let (st, _) = v
        .post(&format!("/pay/{guid}"), &card("4242424242424242"))
        .await;
    assert_eq!(st, 410);
    assert_eq!(attempts(&app, &s.invoice).await, 0);

    let (st, b) = TestApp::send(sender.auth(app.req(
        Method::POST,
        "/payment/kpayment/v1/paymentrequest/nope/expire",
    )))
    .await;
    assert_eq!(st, 400);
    v1_error(&b, "INVALID_PAYMNETREQUEST_GUID");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_are_rate_limited_per_client() {
    let app = TestApp::spawn_with(|c| {
        c.page_views_per_minute = 5;
        c.page_posts_per_minute = 2;
    })
    .await;
    let s = app.seed(40.0).await;
    let (_, b) = app.payment_request(&s, json!({})).await;
    let page = format!("/pay/{}", b["paymentRequest"]["guid"].as_str().unwrap());
    let mut v = Visitor::new(&app);
    for _ in 0..5 {
        assert_eq!(v.get(&page).await.0, 200);
    }
    let r = app.req(Method::GET, &page).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let retry: u32 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert!(r.text().await.unwrap().contains("Too many requests"));
    // Posts have their own, smaller budget; the API is not limited.
    let mut bad = card("1");
    bad.push(("lang", "en"));
    assert_eq!(v.post(&page, &bad).await.0, 422);
    assert_eq!(v.post(&page, &bad).await.0, 422);
    assert_eq!(v.post(&page, &bad).await.0, 429);
    assert_eq!(
        app.req(Method::GET, "/healthz")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_never_answer_json() {
    let app = TestApp::spawn().await;
    for (m, path) in [
        (Method::GET, "/checkout/cs_nope"),
        (Method::GET, "/checkout/%00"),
        (Method::POST, "/checkout/cs_%00%00"),
        (Method::POST, "/checkout/cs_nope"),
        (Method::GET, "/checkout/cs_nope/return"),
        (Method::DELETE, "/pay/00000000-0000-0000-0000-000000000000"),
        (
            Method::GET,
            "/pay/00000000-0000-0000-0000-000000000000/nothing-here",
        ),
        (Method::GET, "/assets/missing.css"),
    ] {
        let r = app.req(m.clone(), path).send().await.unwrap();
        let status = r.status().as_u16();
        assert!((400..500).contains(&status), "{m} {path}: {status}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{m} {path}"
        );
        assert!(
            r.headers().contains_key("content-security-policy"),
            "{m} {path}"
        );
    }
    let css = app
        .req(Method::GET, "/assets/pages.css")
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_amounts_are_read_exactly_or_refused_with_a_field_error() {
    let app = TestApp::spawn().await;
    let (s, page) = pay_link(&app, 120.0).await;
    let mut v = Visitor::new(&app);
    assert_eq!(v.get(&page).await.0, 200);
    let with_amount = |amount: &'static str| {
        let mut f = card("4242424242424242");
        f.retain(|(k, _)| *k != "amount");
        f.push(("amount", amount));
        f
    };
    // `0.001` used to be read as $1.00, `5,00` and `1.234,56` silently as English numbers.
    for typed in ["0.001", "5,00", "1.234,56", "12..5", "5.00 EUR"] {
        let (st, html) = v.post(&page, &with_amount(typed)).await;
        assert_eq!(st, 422, "{typed}: {html}");
        assert!(
            html.contains("id=\"pay-amount-error\">Write the amount like 1,234.56"),
            "{typed}: the amount field says what is wrong: {html}"
        );
        assert!(html.contains("aria-invalid=\"true\""), "{typed}");
    }
    // Well-formed but more than is due: the range message.
    let (st, html) = v.post(&page, &with_amount("1,000.00")).await;
    assert_eq!(st, 422);
    assert!(html.contains("up to the amount due"), "{html}");
    assert_eq!(attempts(&app, &s.invoice).await, 0, "nothing was attempted");

    // The locale's own format, currency sign included, pays exactly that.
    let (st, to) = v.post(&page, &with_amount("$5.25")).await;
    assert_eq!(st, 303, "{to}");
    let cents = scalar(
        app.db(),
        format!(
            "SELECT a.amount_cents FROM payment_attempts a JOIN invoices i ON i.id = a.invoice_id \
             WHERE i.guid = '{}'",
            s.invoice
        ),
        vec![],
    )
    .await;
    assert_eq!(cents, 525);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blacklisted_customer_is_told_the_real_reason() {
    let app = TestApp::spawn().await;
    let (s, page) = pay_link(&app, 120.0).await;
    let mut v = Visitor::new(&app);
    assert_eq!(v.get(&page).await.0, 200);
    // The dealer blocks the customer after the link went out.
    let (st, b) = app
        .put_op(
            &format!(
                "/payment/kpayment/v1/dealers/{}/customers/{}",
                s.dealer, s.customer
            ),
            json!({"lastName": "Rivera", "blacklisted": true}),
        )
        .await;
    assert_eq!(st, 200, "{b}");
    let posted = v.post(&page, &card("4242424242424242")).await;
    let (st, html, _) = v.follow(posted).await;
    assert!((400..500).contains(&st), "{st}: {html}");
    assert!(
        html.contains("The dealer does not accept online payments on this account"),
        "the customer hears why: {html}"
    );
    assert!(!html.contains("could not reach the card network"), "{html}");
    assert_eq!(
        attempts(&app, &s.invoice).await,
        0,
        "nothing reached the processor"
    );
}
