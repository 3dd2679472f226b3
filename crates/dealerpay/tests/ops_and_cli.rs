//! Operations surface (health, readiness, request ids, metrics, OpenAPI, docs) and the
//! `dealerpay` binary itself (demo, serve with graceful shutdown, admin, --help), run as a
//! real child process against a fresh SQLite or PostgreSQL database.

mod common;
use common::process::{run, run_json, run_ok, s, ServerProcess};
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn pr_path(guid: &str) -> String {
    format!("/payment/kpayment/v1/paymentrequest/{guid}")
}

fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Sends and returns (status, headers, body text).
async fn send_raw(rb: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, String) {
    let r = rb.send().await.expect("request sent");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The description of a v1 or v3 error envelope, whichever the body is.
fn error_description(body: &Value) -> String {
    body["errors"][0]["errorDescription"]
        .as_str()
        .or_else(|| body["error"]["errorDescription"].as_str())
        .unwrap_or("")
        .to_string()
}

// ---------------------------------------------------------------------------------------
// Health and readiness
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_follow_the_database() {
    let app = TestApp::spawn().await;

    let (st, h, body) = send_raw(app.req(Method::GET, "/healthz")).await;
    assert_eq!((st, body.as_str()), (200, "ok"));
    assert!(header(&h, "retry-after").is_none());
    let (st, _, body) = send_raw(app.req(Method::GET, "/readyz")).await;
    assert_eq!(st, 200, "{body}");

    // A data route works while the database does.
    let missing = new_uuid();
    let (st, b) = TestApp::send(app.op(Method::GET, &pr_path(&missing))).await;
    assert_eq!(st, 400, "{b}");
    v1_error(&b, "INVALID_PAYMNETREQUEST_GUID");

    app.db().close().await;

    // Liveness does no I/O; readiness now fails with 503, Retry-After and a v1 envelope.
    let (st, _, body) = send_raw(app.req(Method::GET, "/healthz")).await;
    assert_eq!((st, body.as_str()), (200, "ok"));
    let (st, h, body) = send_raw(app.req(Method::GET, "/readyz")).await;
    assert_eq!(st, 503, "{body}");
    let retry = header(&h, "retry-after").expect("Retry-After on 503 readyz");
    assert!(retry.parse::<u32>().is_ok(), "Retry-After: {retry}");
    let b: Value = serde_json::from_str(&body).expect("JSON envelope");
    v1_error(&b, "SERVICE_UNAVAILABLE");
    assert_eq!(b["errors"][0]["errorCode"], 100100, "{b}");
    assert!(header(&h, "content-type")
        .unwrap_or("")
        .starts_with("application/json"));

    // A documented data route keeps to its listed statuses (503 -> 500) but still says why.
    let (st, h, body) = send_raw(app.op(Method::GET, &pr_path(&missing))).await;
    assert_ne!(st, 200, "{body}");
    assert_eq!(st, 500, "{body}");
    let b: Value = serde_json::from_str(&body).expect("JSON envelope");
    v1_error(&b, "SERVICE_UNAVAILABLE");
    assert_eq!(b["errors"][0]["errorCode"], 100100, "{b}");
    assert!(
        header(&h, "retry-after").is_some(),
        "Retry-After missing on the unavailable data route: {h:?}"
    );

    // An undocumented data route answers the plain 503.
    let (st, h, body) = send_raw(app.op(
        Method::GET,
        &format!("/payment/admin/v1/partners/{}", new_uuid()),
    ))
    .await;
    assert_eq!(st, 503, "{body}");
    assert!(header(&h, "retry-after").is_some());
    let b: Value = serde_json::from_str(&body).expect("JSON envelope");
    v1_error(&b, "SERVICE_UNAVAILABLE");
}

// ---------------------------------------------------------------------------------------
// Request ids
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_generated_echoed_or_replaced() {
    let app = TestApp::spawn().await;
    let rid = |h: &reqwest::header::HeaderMap| -> String {
        header(h, "x-request-id")
            .expect("x-request-id on every response")
            .to_string()
    };

    // None sent: a generated UUID, different per request.
    let (_, h1, _) = send_raw(app.req(Method::GET, "/healthz")).await;
    let (_, h2, _) = send_raw(app.req(Method::GET, "/healthz")).await;
    let (a, b) = (rid(&h1), rid(&h2));
    assert!(uuid::Uuid::parse_str(&a).is_ok(), "not a UUID: {a}");
    assert!(uuid::Uuid::parse_str(&b).is_ok(), "not a UUID: {b}");
    assert_ne!(a, b);

    // A sane one is echoed, on success and on errors alike.
    let (st, h, _) = send_raw(
        app.req(Method::GET, "/healthz")
            .header("x-request-id", "abc-123"),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(rid(&h), "abc-123");
    let (st, h, _) = send_raw(
        app.req(Method::GET, "/payment/nope")
            .header("x-request-id", "abc-123"),
    )
    .await;
    assert_eq!(st, 404);
    assert_eq!(rid(&h), "abc-123");
    let (st, h, _) = send_raw(
        app.req(Method::GET, &pr_path(&new_uuid()))
            .header("x-request-id", "abc-123"),
    )
    .await;
    assert_eq!(st, 401);
    assert_eq!(rid(&h), "abc-123");

    // Insane ones are replaced by a generated UUID.
    for bad in ["a".repeat(200), "abc 123".to_string(), "x;y<z>".to_string()] {
        let (st, h, _) = send_raw(
            app.req(Method::GET, "/healthz")
                .header("x-request-id", bad.as_str()),
        )
        .await;
        assert_eq!(st, 200);
        let got = rid(&h);
        assert_ne!(got, bad);
        assert!(
            uuid::Uuid::parse_str(&got).is_ok(),
            "{bad:?} replaced by {got:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------

fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|v| v.trim().parse::<f64>().ok())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_template() {
    let app = TestApp::spawn().await;
    const N: usize = 5;
    for _ in 0..N {
        let (st, _, _) = send_raw(app.req(Method::GET, "/healthz")).await;
        assert_eq!(st, 200);
    }
    // Concrete ids must be folded into the route template, unknown paths into one label.
    let guid = new_uuid();
    let (st, _, _) = send_raw(app.op(Method::GET, &pr_path(&guid))).await;
    assert_eq!(st, 400);
    let nope = format!("/payment/nope-{}", uuid::Uuid::new_v4().simple());
    let (st, _, _) = send_raw(app.req(Method::GET, &nope)).await;
    assert_eq!(st, 404);

    let (st, h, text) = send_raw(app.req(Method::GET, "/metrics")).await;
    assert_eq!(st, 200);
    assert!(
        header(&h, "content-type")
            .unwrap_or("")
            .starts_with("text/plain"),
        "{h:?}"
    );

    let healthz = metric_value(
        &text,
        "dealerpay_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\",status=\"200\"}",
    )
    .unwrap_or_else(|| panic!("no healthz count series in:\n{text}"));
    assert!(healthz >= N as f64, "healthz count {healthz} < {N}");
    let inf = metric_value(
        &text,
        "dealerpay_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",status=\"200\",le=\"+Inf\"}",
    )
    .expect("+Inf bucket");
    assert_eq!(inf, healthz);

    assert!(text.contains("# TYPE dealerpay_http_requests_in_flight gauge"));
    let in_flight = metric_value(&text, "dealerpay_http_requests_in_flight")
        .unwrap_or_else(|| panic!("no in-flight gauge in:\n{text}"));
    // The /metrics request itself is in flight while the page is rendered.
    assert!(in_flight >= 1.0, "in flight: {in_flight}");

    assert!(
        text.contains(
            "dealerpay_http_request_duration_seconds_count{method=\"GET\",route=\"/payment/kpayment/v1/paymentrequest/{guid}\",status=\"400\"} 1"
        ),
        "paymentrequest series by template missing:\n{text}"
    );
    assert!(!text.contains(&guid), "a raw id became a metric label");
    assert!(!text.contains(&nope), "a raw unknown path became a label");
}

// ---------------------------------------------------------------------------------------
// OpenAPI and routing
// ---------------------------------------------------------------------------------------

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_matches_the_served_routes() {
    let app = TestApp::spawn().await;
    let (st, h, text) = send_raw(app.req(Method::GET, "/payment/openapi.json")).await;
    assert_eq!(st, 200);
    assert!(header(&h, "content-type")
        .unwrap_or("")
        .starts_with("application/json"));
    let doc: Value = serde_json::from_str(&text).expect("OpenAPI is JSON");
    let version = doc["openapi"].as_str().unwrap_or("");
    assert!(version.starts_with("3.1."), "openapi: {version}");
    let paths = doc["paths"].as_object().expect("paths");

    for (path, method) in [
        ("/payment/kpayment/v1/paymentrequest/{guid}", "get"),
        ("/payment/v3/department/{departmentUuid}/status", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is not documented"
        );
    }

    let mut checked = 0;
    for (path, item) in paths {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let responses = op["responses"].as_object();
            assert!(
                responses.is_some_and(|r| !r.is_empty()),
                "{m} {path} documents no response"
            );

            // Fill the placeholders and call it with the operator token.
            let mut concrete = String::new();
            let mut rest = path.as_str();
            while let Some(i) = rest.find('{') {
                let j = rest[i..].find('}').expect("closed placeholder") + i;
                concrete.push_str(&rest[..i]);
                let name = &rest[i + 1..j];
                concrete.push_str(&if name == "code" {
                    "AAAAAAAAAA".to_string()
                } else {
                    new_uuid()
                });
                rest = &rest[j + 1..];
            }
            concrete.push_str(rest);
            let method = Method::from_bytes(m.to_ascii_uppercase().as_bytes()).unwrap();
            let mut rb = app.op(method, &concrete);
            if m == "put" || m == "post" {
                rb = rb.json(&json!({}));
            }
            let (st, _, body) = send_raw(rb).await;
            let b: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            assert!(
                !(st == 404 && error_description(&b).contains("no such route")),
                "{m} {path} ({concrete}) is documented but not served: {st} {body}"
            );
            assert!(
                !error_description(&b).contains("no such route"),
                "{m} {path} ({concrete}): {st} {body}"
            );
            assert_ne!(st, 405, "{m} {path} ({concrete}): {body}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} operations documented");

    // An unknown path: v1 envelope, 404.
    let (st, b) = TestApp::send(app.req(Method::GET, "/payment/nope")).await;
    assert_eq!(st, 404, "{b}");
    let d = v1_error(&b, "INVALID_REQUEST_DATA");
    assert!(d.contains("no such route"), "{d}");
    assert_eq!(b["errors"][0]["errorCode"], 100006);

    // A wrong method on a served path: 405 with a v1 envelope.
    let (st, b) = TestApp::send(app.req(Method::DELETE, "/healthz")).await;
    assert_eq!(st, 405, "{b}");
    v1_error(&b, "INVALID_REQUEST_DATA");
}

// ---------------------------------------------------------------------------------------
// Docs
// ---------------------------------------------------------------------------------------

fn assert_no_remote_urls(what: &str, body: &str) {
    for scheme in ["http://", "https://", "//cdn", "@import"] {
        assert!(
            !body.contains(scheme),
            "{what} references {scheme}…: {}",
            &body[body.find(scheme).unwrap().saturating_sub(60)..]
                .chars()
                .take(160)
                .collect::<String>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_are_self_contained_and_csp_clean() {
    let app = TestApp::spawn().await;
    let (st, h, html) = send_raw(app.req(Method::GET, "/payment/docs")).await;
    assert_eq!(st, 200);
    assert!(
        header(&h, "content-type")
            .unwrap_or("")
            .starts_with("text/html"),
        "{h:?}"
    );
    let csp = header(&h, "content-security-policy").expect("CSP on the docs page");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("http:") && !csp.contains("https:"), "{csp}");
    assert!(html.to_ascii_lowercase().contains("<html"));
    assert_no_remote_urls("docs.html", &html);
    // Nothing inline that the policy would block.
    assert!(
        !html.contains("<style"),
        "inline <style> is blocked by the CSP"
    );
    assert!(
        !html.contains(" style="),
        "inline style attributes are blocked"
    );
    for tag in html.split("<script").skip(1) {
        let open_end = tag.find('>').unwrap();
        assert!(
            tag[..open_end].contains("src="),
            "inline script: <script{}",
            &tag[..open_end]
        );
        assert!(
            tag[open_end + 1..].trim_start().starts_with("</script>"),
            "script with inline content"
        );
    }
    assert!(html.contains("/payment/docs/docs.js"));
    assert!(html.contains("/payment/docs/docs.css"));

    for (path, ct) in [
        ("/payment/docs/docs.js", "text/javascript"),
        ("/payment/docs/docs.css", "text/css"),
    ] {
        let (st, h, body) = send_raw(app.req(Method::GET, path)).await;
        assert_eq!(st, 200, "{path}");
        let got = header(&h, "content-type").unwrap_or("");
        assert!(got.starts_with(ct), "{path}: content-type {got}");
        assert_eq!(header(&h, "x-content-type-options"), Some("nosniff"));
        assert!(body.len() > 100, "{path} is empty");
        assert_no_remote_urls(path, &body);
    }
    let (_, _, js) = send_raw(app.req(Method::GET, "/payment/docs/docs.js")).await;
    assert!(!js.contains("eval("), "eval is blocked by the CSP");
    assert!(js.contains("/payment/openapi.json"));
}

// ---------------------------------------------------------------------------------------
// The binary
// ---------------------------------------------------------------------------------------

/// Minimal standard base64 (for a raw HTTP Basic header).
fn base64(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

const DEMO_KEYS: [&str; 8] = [
    "username",
    "password",
    "dealerUuid",
    "departmentUuid",
    "customerUuid",
    "dealerOrderUuid",
    "invoiceGuid",
    "paymentRequestGuid",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_demo_json_serve_and_graceful_shutdown() {
    let (db, _dir) = fresh_database().await;
    let first = run_json(&["demo", "--json", "--database", &db]).await;
    assert!(first.is_object(), "{first}");
    for k in DEMO_KEYS {
        assert!(
            first[k].as_str().is_some_and(|v| !v.is_empty()),
            "{k} missing in {first}"
        );
    }
    for k in DEMO_KEYS
        .iter()
        .filter(|k| k.ends_with("Uuid") || k.ends_with("Guid"))
    {
        assert!(uuid::Uuid::parse_str(s(&first, k)).is_ok(), "{k}: {first}");
    }

    // A second run succeeds, with a new password and a new payment request.
    let second = run_json(&["demo", "--json", "--database", &db]).await;
    for k in DEMO_KEYS {
        assert!(second[k].is_string(), "{k} missing in {second}");
    }
    assert_eq!(s(&first, "username"), s(&second, "username"));
    assert_eq!(s(&first, "dealerUuid"), s(&second, "dealerUuid"));
    assert_ne!(s(&first, "password"), s(&second, "password"));
    assert_ne!(
        s(&first, "paymentRequestGuid"),
        s(&second, "paymentRequestGuid")
    );

    let mut server = ServerProcess::serve(&db).start().await;
    let client = reqwest::Client::new();
    let (user, pass) = (
        s(&second, "username").to_string(),
        s(&second, "password").to_string(),
    );
    let base = server.base.clone();
    let get = |guid: &str| {
        client
            .get(format!("{base}{}", pr_path(guid)))
            .basic_auth(&user, Some(&pass))
    };

    // The second run's credentials read the second run's request.
    let guid2 = s(&second, "paymentRequestGuid");
    let (st, b) = TestApp::send(get(guid2)).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["paymentRequest"]["guid"], guid2, "{b}");

    // The first run's password was rotated away.
    let (st, b) = TestApp::send(
        client
            .get(format!("{base}{}", pr_path(guid2)))
            .basic_auth(&user, Some(s(&first, "password"))),
    )
    .await;
    assert_eq!(st, 401, "{b}");
    v1_error(&b, "WRONG_CREDENTIAL");

    // The first run's request: each run makes a fresh invoice, and a request only makes
    // earlier requests *for the same invoice* obsolete.
    let guid1 = s(&first, "paymentRequestGuid");
    let (st, b) = TestApp::send(get(guid1)).await;
    assert_ne!(s(&first, "invoiceGuid"), s(&second, "invoiceGuid"));
    assert_eq!(st, 200, "first demo request: {b}");
    assert_eq!(b["paymentRequest"]["guid"], guid1, "{b}");
    // A new request for the first run's invoice makes the first run's request obsolete.
    let (st, b) = TestApp::send(
        client
            .post(format!("{base}/payment/kpayment/v1/paymentrequest"))
            .basic_auth(&user, Some(&pass))
            .json(&json!({"dealerUuid": s(&first, "dealerUuid"), "invoiceGuid": s(&first, "invoiceGuid")})),
    )
    .await;
    assert_eq!(st, 201, "{b}");
    let (st, b) = TestApp::send(get(guid1)).await;
    assert_eq!(st, 400, "{b}");
    v1_error(&b, "PAYMENT_REQUEST_OBSOLETE");
    let (st, b) = TestApp::send(get(guid2)).await;
    assert_eq!(st, 200, "{b}");

    // Graceful shutdown: SIGTERM while requests stream in; exit 0 within 10 s.
    let mut streams = vec![];
    for _ in 0..3 {
        let rb = get(guid2);
        streams.push(tokio::spawn(async move {
            let mut seen = vec![];
            let deadline = Instant::now() + Duration::from_secs(8);
            while Instant::now() < deadline {
                match rb.try_clone().unwrap().send().await {
                    Ok(r) => seen.push(Ok(r.status().as_u16())),
                    Err(e) => {
                        seen.push(Err(e.to_string()));
                        if seen.iter().filter(|r| r.is_err()).count() >= 3 {
                            break;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // An upload in flight when the signal arrives: head and part of the body now, the
    // rest after SIGTERM. Draining must let it finish. (First run's invoice, so that the
    // request the streams read stays current.)
    let body =
        json!({"dealerUuid": s(&first, "dealerUuid"), "invoiceGuid": s(&first, "invoiceGuid")})
            .to_string();
    let head = format!(
        "POST /payment/kpayment/v1/paymentrequest HTTP/1.1\r\nHost: {host}\r\n\
         Authorization: Basic {auth}\r\nContent-Type: application/json\r\n\
         Content-Length: {len}\r\n\r\n",
        host = base.trim_start_matches("http://"),
        auth = base64(format!("{user}:{pass}").as_bytes()),
        len = body.len()
    );
    let mut raw = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    raw.write_all(head.as_bytes()).unwrap();
    raw.write_all(&body.as_bytes()[..10]).unwrap();
    raw.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    server.sigterm();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        server.running(),
        "serve exited with a request in flight:\n{}",
        server.log()
    );
    let rest = body.as_bytes()[10..].to_vec();
    let response = tokio::task::spawn_blocking(move || {
        raw.write_all(&rest).unwrap();
        raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = Vec::new();
        let _ = raw.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).to_string()
    })
    .await
    .unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "in-flight request during shutdown: {response:?}"
    );
    assert!(response.contains("\"paymentRequest\""), "{response}");
    server.assert_graceful_stop(started).await;
    let took = started.elapsed();
    let mut ok = 0;
    for h in streams {
        for st in h.await.unwrap().into_iter().flatten() {
            assert_eq!(st, 200, "a request answered {st} during shutdown");
            ok += 1;
        }
    }
    assert!(ok > 0, "no request succeeded before the shutdown");
    let log = server.log();
    assert!(log.contains("shutdown requested"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    eprintln!("serve exited {took:?} after SIGTERM, {ok} requests answered");

    // Nothing listens any more.
    assert!(client.get(server.url("/healthz")).send().await.is_err());
}

/// A client that never finishes its request head must not keep the server from stopping:
/// without a header-read timeout or a drain deadline, SIGTERM waits for that client forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_serve_stops_despite_a_stalled_request_head() {
    let (db, _dir) = fresh_database().await;
    let mut server = ServerProcess::serve(&db).start().await;
    let mut raw = std::net::TcpStream::connect(server.base.trim_start_matches("http://")).unwrap();
    raw.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    raw.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    server.sigterm();
    server.assert_graceful_stop(started).await;
    drop(raw);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_migrate_and_demo_text() {
    let (db, _dir) = fresh_database().await;
    let out = run_ok(&["migrate", "--database", &db]).await;
    assert!(out.contains("migrations applied"), "{out}");
    // Migrating twice is harmless.
    run_ok(&["migrate", "--database", &db]).await;

    let text = run_ok(&["demo", "--database", &db]).await;
    assert!(text.contains("curl"), "{text}");
    assert!(
        text.contains("/payment/kpayment/v1/paymentrequest/"),
        "{text}"
    );
    assert!(
        text.contains("http://127.0.0.1:8080/payment/docs"),
        "{text}"
    );
    // The printed password is the one that just became valid: a JSON run rotates it away.
    assert!(serde_json::from_str::<Value>(&text).is_err());
    let line = text
        .lines()
        .find(|l| l.contains("/payment/kpayment/v1/paymentrequest/") && !l.contains("-X POST"))
        .unwrap();
    let guid = line.rsplit('/').next().unwrap().trim();
    assert!(uuid::Uuid::parse_str(guid).is_ok(), "{line}");

    let text2 = run_ok(&[
        "demo",
        "--database",
        &db,
        "--public-url",
        "https://pay.example.test/",
    ])
    .await;
    assert!(
        text2.contains("https://pay.example.test/payment/kpayment/v1/paymentrequest/"),
        "{text2}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_admin_partners_grants_and_tokens() {
    let (db, _dir) = fresh_database().await;
    let demo = run_json(&["demo", "--json", "--database", &db]).await;
    let dealer = s(&demo, "dealerUuid").to_string();
    let guid = s(&demo, "paymentRequestGuid").to_string();
    let admin = |rest: &[&str]| {
        let mut a = vec!["admin", "--database", db.as_str()];
        a.extend_from_slice(rest);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let admin_json = |rest: &[&str]| {
        let a = admin(rest);
        async move {
            let refs: Vec<&str> = a.iter().map(String::as_str).collect();
            run_json(&refs).await
        }
    };

    let bob = admin_json(&["partner-create", "bob"]).await;
    assert_eq!(bob["username"], "bob", "{bob}");
    let bob_uuid = s(&bob, "uuid").to_string();
    let pass1 = s(&bob, "password").to_string();
    assert!(pass1.len() >= 20, "{bob}");
    // The username is taken now.
    let again = run(&admin(&["partner-create", "bob"])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>())
    .await;
    assert!(!again.status.success());

    let g = admin_json(&[
        "grant",
        "bob",
        "--dealer",
        &dealer,
        "--scope",
        "payment.all",
    ])
    .await;
    assert_eq!(g["grants"][0]["scope"], "payment.all", "{g}");
    assert_eq!(g["grants"][0]["dealerUuid"], dealer.as_str(), "{g}");

    let server = ServerProcess::serve(&db).start().await;
    let client = reqwest::Client::new();
    let pr = || client.get(server.url(&pr_path(&guid)));

    let (st, b) = TestApp::send(pr().basic_auth("bob", Some(&pass1))).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["paymentRequest"]["guid"], guid.as_str());

    // Disabled: 401 ACCESS_FORBIDDEN_INVALID_PARTNER even with the right secret.
    let v = admin_json(&["partner-disable", "bob"]).await;
    assert_eq!(v["disabled"], true, "{v}");
    let (st, b) = TestApp::send(pr().basic_auth("bob", Some(&pass1))).await;
    assert_eq!(st, 401, "{b}");
    v1_error(&b, "ACCESS_FORBIDDEN_INVALID_PARTNER");

    // Enabled again (by uuid this time) and rotated: old secret wrong, new one works.
    let v = admin_json(&["partner-enable", &bob_uuid]).await;
    assert_eq!(v["disabled"], false, "{v}");
    let (st, b) = TestApp::send(pr().basic_auth("bob", Some(&pass1))).await;
    assert_eq!(st, 200, "{b}");
    let rotated = admin_json(&["rotate-secret", "bob"]).await;
    let pass2 = s(&rotated, "password").to_string();
    assert_ne!(pass1, pass2);
    assert_eq!(rotated["uuid"], bob_uuid.as_str());
    let (st, b) = TestApp::send(pr().basic_auth("bob", Some(&pass1))).await;
    assert_eq!(st, 401, "{b}");
    v1_error(&b, "WRONG_CREDENTIAL");
    let (st, b) = TestApp::send(pr().basic_auth("bob", Some(&pass2))).await;
    assert_eq!(st, 200, "{b}");

    // partner-show reflects the state.
    let shown = admin_json(&["partner-show", "bob"]).await;
    assert_eq!(shown["uuid"], bob_uuid.as_str(), "{shown}");
    assert_eq!(shown["disabled"], false, "{shown}");
    assert_eq!(shown["grants"].as_array().map(Vec::len), Some(1), "{shown}");

    // Revoking the grant takes the access away.
    let v = admin_json(&[
        "revoke",
        "bob",
        "--dealer",
        &dealer,
        "--scope",
        "payment.all",
    ])
    .await;
    assert_eq!(v["grants"].as_array().map(Vec::len), Some(0), "{v}");
    let (st, b) = TestApp::send(pr().basic_auth("bob", Some(&pass2))).await;
    assert_eq!(st, 401, "{b}");
    assert!(b["errors"][0]["errorTitle"].is_string(), "{b}");

    // An operator token from the CLI works on the admin API; nothing else does.
    let t = admin_json(&["operator-token"]).await;
    let op = s(&t, "operatorToken").to_string();
    let partner_url = server.url(&format!("/payment/admin/v1/partners/{bob_uuid}"));
    let (st, b) = TestApp::send(client.get(&partner_url).bearer_auth(&op)).await;
    assert_eq!(st, 200, "{b}");
    assert!(b.to_string().contains(&bob_uuid), "{b}");
    let (st, b) = TestApp::send(client.get(&partner_url).bearer_auth(format!("{op}x"))).await;
    assert_eq!(st, 401, "{b}");
    let (st, b) = TestApp::send(client.get(&partner_url).basic_auth("bob", Some(&pass2))).await;
    assert_eq!(st, 401, "{b}");

    // A dealer token with payment.payisland reads that dealer's request, not another's.
    let tok = admin_json(&[
        "token",
        "--kind",
        "dealer",
        "--uuid",
        &dealer,
        "--scope",
        "payment.payisland",
    ])
    .await;
    let token = s(&tok, "token").to_string();
    assert!(token.starts_with("dpt1."), "{tok}");
    assert!(tok["expiresAt"].is_string(), "{tok}");
    let (st, b) = TestApp::send(pr().bearer_auth(&token)).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["paymentRequest"]["guid"], guid.as_str());

    // Another dealer (created through the admin-authorised upsert route).
    let other = new_uuid();
    let (st, b) = TestApp::send(
        client
            .put(server.url(&format!("/payment/kpayment/v1/dealers/{other}")))
            .bearer_auth(&op)
            .json(&json!({"name": "Other Motors"})),
    )
    .await;
    assert!(st == 200 || st == 201, "{b}");
    let tok = admin_json(&[
        "token",
        "--kind",
        "dealer",
        "--uuid",
        &other,
        "--scope",
        "payment.payisland",
    ])
    .await;
    let (st, b) = TestApp::send(pr().bearer_auth(s(&tok, "token"))).await;
    assert_ne!(st, 200, "another dealer's token read the request: {b}");
    assert!(b["errors"][0]["errorTitle"].is_string(), "{b}");

    // The wrong scope does not read either.
    let tok = admin_json(&[
        "token",
        "--kind",
        "dealer",
        "--uuid",
        &dealer,
        "--scope",
        "payment.dealerdata",
    ])
    .await;
    let (st, b) = TestApp::send(pr().bearer_auth(s(&tok, "token"))).await;
    assert_eq!(st, 401, "{b}");

    // Rotating the signing key (from another process) invalidates issued tokens without a
    // restart: the running server re-reads the key on its next background pass.
    let pr_url = server.url(&pr_path(&guid));
    let (st, b) = TestApp::send(client.get(&pr_url).bearer_auth(&token)).await;
    assert_eq!(st, 200, "the token works before the rotation: {b}");
    let v = admin_json(&["rotate-signing-key"]).await;
    assert_eq!(v["rotated"], true, "{v}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (st, b) = TestApp::send(client.get(&pr_url).bearer_auth(&token)).await;
        if st == 401 {
            break;
        }
        assert_eq!(st, 200, "{b}");
        assert!(
            std::time::Instant::now() < deadline,
            "a token signed with the old key still works 15 s after the rotation: {b}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let tok = admin_json(&[
        "token",
        "--kind",
        "dealer",
        "--uuid",
        &dealer,
        "--scope",
        "payment.payisland",
    ])
    .await;
    let (st, b) = TestApp::send(client.get(&pr_url).bearer_auth(s(&tok, "token"))).await;
    assert_eq!(st, 200, "{b}");
}

const ADMIN_SUBCOMMANDS: [&str; 10] = [
    "partner-create",
    "partner-show",
    "partner-disable",
    "partner-enable",
    "rotate-secret",
    "grant",
    "revoke",
    "token",
    "operator-token",
    "rotate-signing-key",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_help_for_every_command() {
    let admin_help = run_ok(&["admin", "--help"]).await;
    let listed: Vec<String> = admin_help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .filter(|c| c != "help")
        .collect();
    for c in ADMIN_SUBCOMMANDS {
        assert!(
            listed.iter().any(|l| l == c),
            "{c} not in admin --help:\n{admin_help}"
        );
    }

    let mut invocations: Vec<Vec<String>> = vec![
        vec!["--help".into()],
        vec!["serve".into(), "--help".into()],
        vec!["demo".into(), "--help".into()],
        vec!["admin".into(), "--help".into()],
        vec!["migrate".into(), "--help".into()],
    ];
    for c in &listed {
        invocations.push(vec!["admin".into(), c.clone(), "--help".into()]);
    }
    for args in &invocations {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&refs).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "dealerpay {args:?}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("Usage:"), "dealerpay {args:?}:\n{stdout}");
    }

    let root = run_ok(&["--help"]).await;
    for c in ["serve", "demo", "admin", "migrate"] {
        assert!(root.contains(c), "{c} missing from --help:\n{root}");
    }
    let version = run_ok(&["--version"]).await;
    assert!(version.starts_with("dealerpay "), "{version}");

    // Misuse is an error, not a silent success.
    let out = run(&["admin", "no-such-command"]).await;
    assert!(!out.status.success());
    let out = run(&["admin", "token", "--kind", "dealer", "--uuid", "x"]).await;
    assert!(!out.status.success(), "token without --scope must fail");
}
