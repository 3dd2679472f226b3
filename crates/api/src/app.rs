//! Application state shared by every handler: one `App` built at start, shared as `AppState`.

use crate::metrics::Metrics;
use connectors::http::HttpConnector;
use connectors::sandbox::{Sandbox, SandboxConfig};
use connectors::Registry;
use engine::{Engine, EngineConfig};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// Absolute base URL customers reach us at (pay links, short URLs, 3-D Secure returns).
    pub public_url: String,
    /// Operator token from configuration (`DEALERPAY_OPERATOR_TOKEN`), in addition to
    /// tokens minted with `dealerpay admin operator-token`.
    pub operator_token: Option<String>,
    /// The standalone sandbox processor to use for provider `SANDBOX` (`--processor-url`);
    /// in-process when absent.
    pub processor_url: Option<String>,
    /// More processors dealers may select, as `(provider name, URL of a standalone sandbox)`
    /// (`--processor NAME=URL`).
    pub extra_processors: Vec<(String, String)>,
    /// Ledger of the in-process sandbox; by default beside the main database.
    pub sandbox_ledger: Option<String>,
    pub sandbox_latency: Duration,
    pub sandbox_slow_delay: Duration,
    /// How long we wait for the processor before the outcome counts as unknown.
    pub processor_timeout: Duration,
    /// How often the background jobs (in-flight resolver, expiries, key refresh) run.
    pub resolver_interval: Duration,
    /// How long past the processor timeout an in-flight attempt's lease lasts before the
    /// resolver may claim it (room for recording the answer after it arrived).
    pub lease_grace: Duration,
    /// How long a customer has to finish 3-D Secure before the attempt is abandoned.
    pub challenge_timeout: Duration,
    /// Charges older than this are settled (batch close) and can no longer be voided.
    pub settle_after: Duration,
    /// A prePayment nobody confirms within this long expires.
    pub unconfirmed_attempt_ttl: Duration,
    /// The longest a request may take before it is answered 503 (a frozen dependency must
    /// not hold a request forever). Must exceed the processor timeout.
    pub request_timeout: Duration,
    /// The secret that keys card-number hashes and request fingerprints. It must not live in
    /// the database it protects: from `DEALERPAY_CARD_HASH_KEY`, else from `key_file`.
    pub card_hash_key: Option<String>,
    /// Where the secret is kept when not configured (created with mode 0600 on first start)
    /// [default: `<sqlite file>.key`, or `./dealerpay.key` with PostgreSQL].
    pub key_file: Option<std::path::PathBuf>,
    /// Customer pages: views and form posts allowed per client address per minute (counted in
    /// the database, so across every server on it).
    pub page_views_per_minute: u32,
    pub page_posts_per_minute: u32,
    /// Failed password sign-ins allowed per client address and per username in a window
    /// (kept in the database, so across every server on it).
    pub auth_throttle: engine::throttle::AuthThrottle,
    /// Whether Checkout merchant URLs may be plain http to this machine (development only).
    pub allow_http_loopback_urls: bool,
    /// How long a client may take to send a request head (and stay idle) and a body.
    pub timeouts: crate::server::Timeouts,
    /// Proxies whose `X-Forwarded-For` names the client (rate limits, sign-in throttle).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            public_url: "http://127.0.0.1:8080".into(),
            operator_token: None,
            processor_url: None,
            extra_processors: Vec::new(),
            sandbox_ledger: None,
            sandbox_latency: Duration::ZERO,
            sandbox_slow_delay: Duration::from_secs(3),
            processor_timeout: Duration::from_secs(15),
            resolver_interval: Duration::from_secs(2),
            lease_grace: Duration::from_secs(5),
            challenge_timeout: Duration::from_secs(15 * 60),
            settle_after: Duration::from_secs(24 * 3600),
            unconfirmed_attempt_ttl: Duration::from_secs(24 * 3600),
            request_timeout: Duration::from_secs(60),
            card_hash_key: None,
            key_file: None,
            page_views_per_minute: 300,
            page_posts_per_minute: 30,
            auth_throttle: Default::default(),
            allow_http_loopback_urls: false,
            timeouts: Default::default(),
            trusted_proxies: Vec::new(),
        }
    }
}

impl Config {
    fn engine(&self) -> EngineConfig {
        EngineConfig {
            public_url: self.public_url.clone(),
            operator_token: self.operator_token.clone(),
            processor_timeout: self.processor_timeout,
            lease_grace: self.lease_grace,
            challenge_timeout: self.challenge_timeout,
            settle_after: self.settle_after,
            unconfirmed_attempt_ttl: self.unconfirmed_attempt_ttl,
            auth_throttle: self.auth_throttle,
            allow_http_loopback_urls: self.allow_http_loopback_urls,
            ..EngineConfig::default()
        }
    }
}

pub struct App {
    pub engine: Arc<Engine>,
    pub config: Config,
    pub metrics: Metrics,
    /// The in-process sandbox, whose challenge pages this server then serves.
    pub sandbox: Option<Arc<Sandbox>>,
    /// Per-client limits on the customer pages.
    pub page_limiter: crate::pages::rate_limit::RateLimiter,
}

pub type AppState = Arc<App>;

/// The in-process sandbox's ledger: a SQLite file beside a SQLite database, or its own table
/// in the same PostgreSQL database.
pub fn default_ledger_url(database_url: &str) -> String {
    match db::sqlite_path(database_url) {
        Some(path) => format!("sqlite://{path}.sandbox-ledger"),
        None => database_url.to_string(),
    }
}

/// Default place of the secret key file: beside a SQLite database, else the working directory.
pub fn default_key_file(database_url: &str) -> std::path::PathBuf {
    match db::sqlite_path(database_url) {
        Some(path) => format!("{path}.key").into(),
        None => "dealerpay.key".into(),
    }
}

impl App {
    /// Builds the app over a migrated database: the processors, then the engine.
    pub async fn new(db: db::Db, database_url: &str, config: Config) -> anyhow::Result<App> {
        let key_file = config
            .key_file
            .clone()
            .unwrap_or_else(|| default_key_file(database_url));
        let secret = engine::keys::secret_key(config.card_hash_key.as_deref(), &key_file)
            .map_err(|e| anyhow::anyhow!("the card hash key: {e}"))?;
        let mut registry = Registry::new();
        let mut sandbox = None;
        match &config.processor_url {
            Some(url) => {
                registry = registry.with_card(Arc::new(HttpConnector::new(
                    "SANDBOX",
                    url,
                    config.processor_timeout,
                )))
            }
            None => {
                let ledger = config
                    .sandbox_ledger
                    .clone()
                    .unwrap_or_else(|| default_ledger_url(database_url));
                let cfg = SandboxConfig {
                    latency: config.sandbox_latency,
                    slow_delay: config.sandbox_slow_delay,
                    public_url: config.public_url.clone(),
                    reply_delay: Duration::ZERO,
                    fault_injection: false,
                };
                let sb = Arc::new(Sandbox::open(&ledger, cfg).await?);
                registry = registry.with_card(sb.clone());
                sandbox = Some(sb);
            }
        }
        for (name, url) in &config.extra_processors {
            registry = registry.with_card(Arc::new(HttpConnector::new(
                name,
                url,
                config.processor_timeout,
            )));
        }
        let engine = Engine::new(db, registry, config.engine(), secret).await?;
        let page_limiter = crate::pages::rate_limit::RateLimiter::new(
            config.page_views_per_minute,
            config.page_posts_per_minute,
        );
        Ok(App {
            engine: Arc::new(engine),
            config,
            metrics: Metrics::default(),
            sandbox,
            page_limiter,
        })
    }
}
