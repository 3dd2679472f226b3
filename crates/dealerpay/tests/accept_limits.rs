//! The accept loop when the process runs out of file descriptors: `dealerpay serve` under
//! `ulimit -n 64`, flooded with more connections than it may hold. It must not die or spin;
//! the connections it cannot take are closed at once (not left hanging in the backlog), the
//! ones it holds keep working, and once descriptors free up it serves new clients again.

mod common;
use common::process::*;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn healthz_over(stream: &mut TcpStream) -> std::io::Result<String> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")?;
    let mut buf = [0u8; 512];
    let n = stream.read(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_accept_loop_survives_running_out_of_descriptors() {
    let (db, _tmp) = fresh_database().await;
    let server = ServerProcess::serve(&db)
        .nofile(64)
        .log_tail(40)
        .start()
        .await;
    let addr = server.base.trim_start_matches("http://").to_string();

    // Far more connections than 64 descriptors allow, each asking for /healthz.
    let flood = tokio::task::spawn_blocking(move || {
        let mut held = Vec::new();
        let (mut answered, mut refused) = (0, 0);
        for _ in 0..200 {
            let Ok(mut s) = TcpStream::connect(&addr) else {
                refused += 1;
                continue;
            };
            match healthz_over(&mut s) {
                Ok(r) if r.starts_with("HTTP/1.1 200") => {
                    answered += 1;
                    held.push(s);
                }
                // Closed by the server (EOF or reset) without an answer: refused at accept.
                Ok(r) if r.is_empty() => refused += 1,
                Err(e)
                    if e.kind() != std::io::ErrorKind::WouldBlock
                        && e.kind() != std::io::ErrorKind::TimedOut =>
                {
                    refused += 1
                }
                other => panic!("a connection was neither served nor closed within 5 s: {other:?}"),
            }
        }
        (held, answered, refused)
    });
    let (mut held, answered, refused) = flood.await.unwrap();
    assert!(answered > 0, "no connection was served");
    assert!(
        refused > 0,
        "all {answered} connections were served under ulimit -n 64: the limit did not apply"
    );

    // The connections it holds still work.
    for s in held.iter_mut().take(5) {
        let r = healthz_over(s).unwrap();
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    }

    // Descriptors free up: new clients (and the database) are served again.
    drop(held);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ready = client.get(server.url("/readyz")).send().await;
        if matches!(&ready, Ok(r) if r.status() == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not serving again 10 s after the flood: {ready:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        server.log().contains("out of file descriptors"),
        "the server did not log running out of descriptors"
    );
}
