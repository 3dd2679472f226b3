//! Throttling of failed password sign-ins, per client address and per username. The counters
//! live in the database (`auth_failures`), so the limits hold across every server process on
//! it. Only password checks are gated: a caller whose secret already passed (answered from
//! the credential cache) and token callers are never slowed by someone else's guessing.

use crate::error::{EngineError, EngineResult, Kind};
use crate::{now, Engine};
use domain::catalog::v1;
use std::net::IpAddr;
use std::time::Duration;
use store::repo::auth_failures;

/// How many failed sign-ins are allowed in one window before further password checks are
/// refused until the window ends.
#[derive(Debug, Clone, Copy)]
pub struct AuthThrottle {
    pub window: Duration,
    /// Failures from one client address (every username together).
    pub per_address: i64,
    /// Failures for one username (from every address together).
    pub per_username: i64,
    /// How long a refused password check waits before it answers ("tarpit"): a flooding
    /// client's connections then sit idle, at no cost to us, instead of hammering the server
    /// with requests that are cheap to refuse but not free to parse and answer.
    pub refusal_delay: Duration,
}

impl Default for AuthThrottle {
    fn default() -> Self {
        AuthThrottle {
            window: Duration::from_secs(300),
            per_address: 100,
            per_username: 10,
            refusal_delay: Duration::from_secs(1),
        }
    }
}

/// Throttles the database has confirmed, remembered by this process until they end: a flood
/// from a throttled address is then refused without touching the database at all (the
/// counters only grow within a window, so a confirmed throttle cannot be lifted early).
#[derive(Default)]
pub struct Throttled(std::sync::Mutex<std::collections::HashMap<String, i64>>);

impl Throttled {
    const MAX_ENTRIES: usize = 100_000;

    fn until(&self, buckets: &[String; 2], now: i64) -> Option<i64> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        buckets
            .iter()
            .filter_map(|b| map.get(b).copied())
            .filter(|until| *until > now)
            .max()
    }

    fn remember(&self, bucket: String, until: i64, now: i64) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= Self::MAX_ENTRIES {
            map.retain(|_, u| *u > now);
        }
        map.insert(bucket, until);
    }
}

fn buckets(from: Option<IpAddr>, username: &str) -> [String; 2] {
    let addr = from.map_or_else(|| "unknown".to_string(), |a| a.to_string());
    [
        format!("addr:{addr}"),
        format!("user:{}", username.to_lowercase()),
    ]
}

fn too_many(retry_after: u32, detail: &str) -> EngineError {
    let mut e = EngineError::new(Kind::TooMany, v1::WRONG_CREDENTIAL, detail);
    e.retry_after = Some(retry_after.max(1));
    e
}

/// The hashing pool's queue is full: too many password checks at once.
pub(crate) fn busy() -> EngineError {
    too_many(
        1,
        "too many sign-ins are being checked right now; retry shortly",
    )
}

fn retry_secs(until: i64, now: i64) -> u32 {
    (((until - now) + 999) / 1000).clamp(1, u32::MAX as i64) as u32
}

const THROTTLED: &str =
    "too many failed sign-ins from this address or for this username; retry later";

impl Engine {
    /// A throttle this process already knows of for the address or username: `Err` without
    /// any database work. Callers let a secret that already passed for this username through.
    pub(crate) fn known_throttle(&self, from: Option<IpAddr>, username: &str) -> EngineResult<()> {
        let now = now();
        match self.throttled.until(&buckets(from, username), now) {
            Some(until) => Err(too_many(retry_secs(until, now), THROTTLED)),
            None => Ok(()),
        }
    }

    /// Refuses a password check while the client address or the username is over its limit.
    pub(crate) async fn check_throttle(
        &self,
        from: Option<IpAddr>,
        username: &str,
    ) -> EngineResult<()> {
        let t = self.config.auth_throttle;
        let [addr, user] = buckets(from, username);
        let window_ms = t.window.as_millis() as i64;
        let now = now();
        let since = now - window_ms;
        let rows = self
            .db
            .read(move |c| {
                Box::pin(async move { auth_failures::current(c, [&addr, &user], since).await })
            })
            .await?;
        let over: Vec<_> = rows
            .into_iter()
            .filter(|b| {
                let limit = if b.bucket.starts_with("addr:") {
                    t.per_address
                } else {
                    t.per_username
                };
                b.failures >= limit
            })
            .collect();
        let mut latest = None;
        for b in over {
            let until = b.window_start + window_ms;
            latest = latest.max(Some(until));
            self.throttled.remember(b.bucket, until, now);
        }
        match latest {
            Some(until) => Err(too_many(retry_secs(until, now), THROTTLED)),
            None => Ok(()),
        }
    }

    /// Counts a failed password check against the client address and the username. A
    /// failure to record is logged, never shown to the caller (who is refused anyway).
    pub(crate) async fn record_failure(&self, from: Option<IpAddr>, username: &str) {
        let window_ms = self.config.auth_throttle.window.as_millis() as i64;
        let [addr, user] = buckets(from, username);
        let now = now();
        let since = now - window_ms;
        let r: Result<(), db::DbError> = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    auth_failures::record(c, &addr, now, since).await?;
                    auth_failures::record(c, &user, now, since).await
                })
            })
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "could not record a failed sign-in");
        }
    }

    /// Forgets throttle windows that have ended (housekeeping).
    pub async fn purge_auth_failures(&self) -> EngineResult<u64> {
        let before = now() - self.config.auth_throttle.window.as_millis() as i64;
        Ok(self
            .db
            .write(move |c| Box::pin(async move { auth_failures::purge(c, before).await }))
            .await?)
    }
}

/// Customer-page requests allowed per client address per minute, views and form posts apart.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    pub views_per_minute: i64,
    pub posts_per_minute: i64,
}

const PAGE_WINDOW_MS: i64 = 60_000;

impl Engine {
    /// Counts a customer-page request from `from` in the database (so the limit holds across
    /// every server on it): `Some(seconds to wait)` past the limit. A database that cannot
    /// count lets the request through (it is logged): the page itself will say whether the
    /// database is there.
    pub async fn page_hit(&self, from: IpAddr, post: bool, limits: PageLimits) -> Option<u32> {
        let (kind, limit) = if post {
            ("post", limits.posts_per_minute)
        } else {
            ("view", limits.views_per_minute)
        };
        let bucket = format!("{kind}:{from}");
        let now = now();
        let since = now - PAGE_WINDOW_MS;
        let r = self
            .db
            .write(move |c| {
                Box::pin(async move { store::repo::page_hits::hit(c, &bucket, now, since).await })
            })
            .await;
        match r {
            Ok(w) if w.hits > limit => Some(retry_secs(w.window_start + PAGE_WINDOW_MS, now)),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not count a page request");
                None
            }
        }
    }

    /// Forgets page-limit windows that have ended (housekeeping).
    pub async fn purge_page_hits(&self) -> EngineResult<u64> {
        let before = now() - PAGE_WINDOW_MS;
        Ok(self
            .db
            .write(move |c| Box::pin(async move { store::repo::page_hits::purge(c, before).await }))
            .await?)
    }
}
