//! This process's own per-client limits of the customer pages: a cheap first gate in front
//! of the shared count in the database (`Engine::page_hit`), so a flood this process
//! already refuses costs no database write.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Per client address, separately for page views and form posts: `governor`'s GCRA, a
/// burst of the per-minute allowance refilled evenly over the minute.
pub struct RateLimiter {
    views: DefaultKeyedRateLimiter<IpAddr>,
    posts: DefaultKeyedRateLimiter<IpAddr>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least 1"))
}

impl RateLimiter {
    pub fn new(views_per_minute: u32, posts_per_minute: u32) -> RateLimiter {
        RateLimiter {
            views: governor::RateLimiter::keyed(per_minute(views_per_minute)),
            posts: governor::RateLimiter::keyed(per_minute(posts_per_minute)),
        }
    }

    /// Counts one request; `Err(seconds)` when the client is over its limit.
    pub fn check(&self, ip: IpAddr, post: bool) -> Result<(), u32> {
        let limiter = if post { &self.posts } else { &self.views };
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            (wait.as_secs() as u32 + 1).min(60)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_counts_per_client_and_kind() {
        let l = RateLimiter::new(3, 1);
        let a = IpAddr::from([10, 0, 0, 1]);
        let b = IpAddr::from([10, 0, 0, 2]);
        assert!(l.check(a, true).is_ok());
        assert!(l.check(a, true).is_err(), "second post in the minute");
        assert!(
            l.check(b, true).is_ok(),
            "another client has its own budget"
        );
        for _ in 0..3 {
            assert!(l.check(a, false).is_ok());
        }
        let retry = l.check(a, false).unwrap_err();
        assert!((1..=60).contains(&retry));
    }
}
