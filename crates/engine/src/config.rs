//! The engine's settings; `dealerpay serve` fills them from flags and the environment.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Absolute base URL customers reach us at (pay links, short URLs, 3-D Secure returns).
    pub public_url: String,
    /// Operator token from configuration (`DEALERPAY_OPERATOR_TOKEN`), in addition to
    /// tokens minted with `dealerpay admin operator-token`.
    pub operator_token: Option<String>,
    /// How long we wait for the processor before the outcome counts as unknown.
    pub processor_timeout: Duration,
    /// How long past the processor timeout an in-flight attempt's lease lasts before the
    /// resolver may claim it (room for recording the answer after it arrived).
    pub lease_grace: Duration,
    /// How long a customer has to finish 3-D Secure before the attempt is abandoned.
    pub challenge_timeout: Duration,
    /// Charges older than this are settled (batch close) and can no longer be voided.
    pub settle_after: Duration,
    /// A prePayment nobody confirms within this long expires (its attempt is cancelled).
    pub unconfirmed_attempt_ttl: Duration,
    /// How long an authorization is held before the resolver releases it.
    pub capture_window: Duration,
    /// Failed password sign-ins allowed per client address and per username in one window.
    pub auth_throttle: crate::throttle::AuthThrottle,
    /// Whether merchant URLs may be plain http to this machine (development only).
    pub allow_http_loopback_urls: bool,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            public_url: "http://127.0.0.1:8080".into(),
            operator_token: None,
            processor_timeout: Duration::from_secs(15),
            lease_grace: Duration::from_secs(5),
            challenge_timeout: Duration::from_secs(15 * 60),
            settle_after: Duration::from_secs(24 * 3600),
            unconfirmed_attempt_ttl: Duration::from_secs(24 * 3600),
            capture_window: Duration::from_secs(7 * 24 * 3600),
            auth_throttle: Default::default(),
            allow_http_loopback_urls: false,
        }
    }
}

impl EngineConfig {
    /// Until when an operation that calls the processor now holds its in-flight lease.
    pub fn lease_until(&self, now_ms: i64) -> i64 {
        now_ms + (self.processor_timeout + self.lease_grace).as_millis() as i64
    }
}
