//! The `authflood` scenario's attackers: while the `payment` workers pay, this many clients
//! send HTTP Basic credentials of random unknown usernames as fast as they are answered
//! (`GET /payment/kpayment/v1/paymentattempts/{uuid}`).
//! What it shows: the legitimate p99 (the scenario's row), 5xx answers to anyone (there must
//! be none), how the flood was answered (401 until the address is throttled, then 429), and
//! the server's peak resident memory (argon2 buffers must not pile up).

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::load::{ErrorSample, Target, REQUEST_TIMEOUT};
use crate::payments::random_hex;

/// Flooding clients beside the scenario's paying workers.
pub const FLOOD_CLIENTS: usize = 500;
/// Where the flood comes from.
pub const FLOOD_ADDRESS: [u8; 4] = [127, 0, 0, 2];

#[derive(Clone, Debug, Default, Serialize)]
pub struct FloodStats {
    pub clients: usize,
    /// Answers to the flooding clients that completed in the window, by status
    /// (`transport` for no answer).
    pub answers: BTreeMap<String, u64>,
    /// 5xx answers in the window, to the flood and to the paying workers together.
    pub server_errors: u64,
    /// Peak resident memory of the server process (`VmHWM`), MiB.
    pub server_peak_rss_mib: Option<f64>,
}

pub struct Flood {
    tasks: Vec<JoinHandle<BTreeMap<String, u64>>>,
}

/// Starts the flooding clients; they stop at `deadline` and count what completed from
/// `measure_from` on.
pub fn start(target: &Target, measure_from: Instant, deadline: Instant) -> Result<Flood> {
    // One of our own routes (not a documented one), so a throttled answer shows as 429.
    let url = target.url(&format!(
        "/payment/kpayment/v1/paymentattempts/{}",
        crate::payments::random_uuid()
    ))?;
    // The attackers come from an address of their own (127.0.0.2: all of 127/8 is this
    // machine), as they would in life: the server throttles that address, not the paying
    // clients' 127.0.0.1, and a later server run on the same database is not locked out.
    let client = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(FLOOD_CLIENTS)
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
        .no_proxy()
        .local_address(std::net::IpAddr::from(FLOOD_ADDRESS))
        .build()?;
    let tasks = (0..FLOOD_CLIENTS)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let mut answers = BTreeMap::<String, u64>::new();
                while Instant::now() < deadline {
                    let user = format!("flood-{}", random_hex::<6>());
                    let r = client
                        .get(url.clone())
                        .basic_auth(user, Some("guess"))
                        .send()
                        .await;
                    let what = match r {
                        Ok(resp) => {
                            let st = resp.status().as_u16().to_string();
                            let _ = resp.bytes().await;
                            st
                        }
                        Err(_) => "transport".to_string(),
                    };
                    let now = Instant::now();
                    if now >= measure_from && now <= deadline {
                        *answers.entry(what).or_default() += 1;
                    }
                }
                answers
            })
        })
        .collect();
    Ok(Flood { tasks })
}

impl Flood {
    /// Waits for the flooding clients and sums up, with the paying workers' error kinds.
    pub async fn finish(self, workers: &[ErrorSample], server_pid: Option<u32>) -> FloodStats {
        let mut answers = BTreeMap::<String, u64>::new();
        for t in self.tasks {
            if let Ok(a) = t.await {
                for (k, v) in a {
                    *answers.entry(k).or_default() += v;
                }
            }
        }
        let flood_5xx: u64 = answers
            .iter()
            .filter(|(k, _)| k.starts_with('5'))
            .map(|(_, v)| v)
            .sum();
        let workers_5xx: u64 = workers
            .iter()
            .filter(|e| e.kind.contains("HTTP 5"))
            .map(|e| e.count)
            .sum();
        FloodStats {
            clients: FLOOD_CLIENTS,
            answers,
            server_errors: flood_5xx + workers_5xx,
            server_peak_rss_mib: server_pid.and_then(peak_rss_mib),
        }
    }
}

/// `VmHWM` of a process, in MiB.
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some((kb / 1024.0 * 10.0).round() / 10.0)
}
