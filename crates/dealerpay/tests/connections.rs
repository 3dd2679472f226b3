//! Connection hygiene (issue "Hardening", item 6): a client that sends nothing, trickles its
//! head or sends less body than it announced is cut off; the client address behind a trusted
//! proxy is the forwarded one (and only then); the customer pages' limits hold across two
//! servers on one database; JSON routes take nothing but `application/json`.

mod common;
use common::*;
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr_of(app: &TestApp) -> String {
    app.url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// Reads until the server closes the connection (or `limit` passes): what it sent, and when
/// it closed (`None`: still open at `limit`).
async fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&got).into(), None),
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (String::from_utf8_lossy(&got).into(), Some(start.elapsed()))
            }
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

async fn short_timeouts() -> TestApp {
    TestApp::spawn_with(|c| {
        c.timeouts = api::server::Timeouts {
            header_read: Duration::from_secs(1),
            body_read: Duration::from_secs(1),
        };
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_trickling_and_idle_clients_are_cut_off() {
    let app = short_timeouts().await;
    let addr = addr_of(&app);

    // Connects and sends nothing.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    let closed = closed.expect("a silent connection is closed");
    assert!(
        closed >= Duration::from_millis(800),
        "not before the timeout: {closed:?}"
    );

    // Sends half a head and stops.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "a trickled head is cut off");

    // A keep-alive connection is served, stays usable a moment, then closes when idle.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let get = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    s.write_all(get).await.unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.write_all(get).await.unwrap();
    let n = s.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "a short pause keeps the connection"
    );
    let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "an idle keep-alive connection is closed");

    // Announces 100 bytes of body and sends 10: refused (the documented routes keep their
    // documented 400 and catalog code) and the connection closes. Nothing is written.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        b"POST /payment/kpayment/v1/prepayment HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"amount\":",
    )
    .await
    .unwrap();
    let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("INVALID_REQUEST_DATA"), "{answer}");
    assert!(
        answer.contains("body: not received within 1 seconds"),
        "{answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(closed.is_some(), "then the connection closes");
    let attempts = scalar(app.db(), "SELECT COUNT(*) FROM payment_attempts", vec![]).await;
    assert_eq!(attempts, 0);

    // The server itself is fine.
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

async fn page_status(app: &TestApp, forwarded_for: Option<&str>) -> u16 {
    let mut rb = app.client.get(app.url("/pay/no-such-link"));
    if let Some(f) = forwarded_for {
        rb = rb.header("x-forwarded-for", f);
    }
    rb.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_behind_a_trusted_proxy_is_counted_alone() {
    // The test client connects from 127.0.0.1: here it is a trusted proxy.
    let app = TestApp::spawn_with(|c| {
        c.page_views_per_minute = 3;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    for _ in 0..3 {
        assert_eq!(page_status(&app, Some("203.0.113.1")).await, 404);
    }
    assert_eq!(page_status(&app, Some("203.0.113.1")).await, 429);
    // Another customer behind the same proxy is not limited by the first.
    assert_eq!(page_status(&app, Some("203.0.113.2")).await, 404);
    // A client-made entry left of the proxy's is not believed: the proxy appended the real one.
    assert_eq!(
        page_status(&app, Some("198.51.100.50, 203.0.113.1")).await,
        429
    );

    // Without trusted proxies the header is ignored: every "customer" is the peer.
    let app = TestApp::spawn_with(|c| c.page_views_per_minute = 3).await;
    for i in 0..3 {
        assert_eq!(
            page_status(&app, Some(&format!("203.0.113.{i}"))).await,
            404
        );
    }
    assert_eq!(page_status(&app, Some("203.0.113.99")).await, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_limits_hold_across_two_servers_on_one_database() {
    let limit = |c: &mut api::app::Config| {
        c.page_views_per_minute = 4;
        c.page_posts_per_minute = 4;
    };
    let a = TestApp::spawn_with(limit).await;
    // A second server on the same database.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b_url = format!("http://{}", listener.local_addr().unwrap());
    let mut config = a.state.config.clone();
    config.public_url = b_url.clone();
    let b_state = api::build(&a.database_url, config)
        .await
        .expect("second server");
    tokio::spawn(api::serve(listener, b_state, std::future::pending()));
    let get = |url: String| {
        let c = a.client.clone();
        async move { c.get(url).send().await.unwrap().status().as_u16() }
    };
    // Two views on each server: within each one's own allowance…
    for base in [a.url(""), a.url(""), b_url.clone(), b_url.clone()] {
        assert_eq!(get(format!("{base}/pay/no-such-link")).await, 404);
    }
    // …but the fifth, on either, is over the shared one.
    assert_eq!(get(a.url("/pay/no-such-link")).await, 429);
    assert_eq!(get(format!("{b_url}/pay/no-such-link")).await, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_routes_take_only_application_json() {
    let app = TestApp::spawn().await;
    let s = app.seed(100.0).await;
    let p = app.partner(&[(&s.dealer, None, "payment.all")]).await;
    let body =
        json!({"dealerUuid": s.dealer, "customerUuid": s.customer, "dealerOrderUuid": s.order,
        "invoiceGUID": s.invoice, "amount": 10.0, "ignorePaymentAttemptValidation": true})
        .to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut rb = p
            .auth(app.req(Method::POST, "/payment/kpayment/v1/prepayment"))
            .body(body.clone());
        if let Some(ct) = content_type {
            rb = rb.header("content-type", ct);
        }
        let (st, b) = TestApp::send(rb).await;
        assert_eq!(st, 400, "{content_type:?}: {b}");
        assert!(b.to_string().contains("Content-Type"), "{b}");
    }
    let attempts = scalar(app.db(), "SELECT COUNT(*) FROM payment_attempts", vec![]).await;
    assert_eq!(attempts, 0, "nothing was executed");
    // The same body as JSON is taken.
    let (st, b) = TestApp::send(
        p.auth(app.req(Method::POST, "/payment/kpayment/v1/prepayment"))
            .header("content-type", "application/json; charset=utf-8")
            .body(body),
    )
    .await;
    assert_eq!(st, 200, "{b}");
}
