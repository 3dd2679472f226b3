//! Application state shared by every handler: one `App` built at start, shared as `AppState`.

use crate::auth::CredentialCache;
use crate::observe::Metrics;
use processor::http::HttpProcessor;
use processor::sandbox::{Sandbox, SandboxConfig};
use processor::Processor;
use std::sync::Arc;
use std::time::Duration;
use store::Db;

#[derive(Debug, Clone)]
pub struct Config {
    /// Absolute base URL customers reach us at (pay links, short URLs, 3-D Secure returns).
    pub public_url: String,
    /// Operator token from configuration (`DEALERPAY_OPERATOR_TOKEN`), in addition to
    /// tokens minted with `dealerpay admin operator-token`.
    pub operator_token: Option<String>,
    /// The standalone sandbox processor to use (`--processor-url`); in-process when absent.
    pub processor_url: Option<String>,
    /// Ledger of the in-process sandbox; by default beside the main database.
    pub sandbox_ledger: Option<String>,
    pub sandbox_latency: Duration,
    pub sandbox_slow_delay: Duration,
    /// How long we wait for the processor before the outcome counts as unknown.
    pub processor_timeout: Duration,
    /// How often the in-flight resolver looks for attempts whose lease ran out.
    pub resolver_interval: Duration,
    /// How long past the processor timeout an in-flight attempt's lease lasts before the
    /// resolver may claim it (room for recording the answer after it arrived).
    pub lease_grace: Duration,
    /// How long a customer has to finish 3-D Secure before the attempt is abandoned.
    pub challenge_timeout: Duration,
    /// Charges older than this are settled (batch close) and can no longer be voided.
    pub settle_after: Duration,
    /// The secret that keys card-number hashes and request fingerprints. It must not live in
    /// the database it protects: from `DEALERPAY_CARD_HASH_KEY`, else from `key_file`.
    pub card_hash_key: Option<String>,
    /// Where the secret is kept when not configured (created with mode 0600 on first start)
    /// [default: `<sqlite file>.key`, or `./dealerpay.key` with PostgreSQL].
    pub key_file: Option<std::path::PathBuf>,
    /// Customer pages: views and form posts allowed per client address per minute (per server
    /// process).
    pub page_views_per_minute: u32,
    pub page_posts_per_minute: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            public_url: "http://127.0.0.1:8080".into(),
            operator_token: None,
            processor_url: None,
            sandbox_ledger: None,
            sandbox_latency: Duration::ZERO,
            sandbox_slow_delay: Duration::from_secs(3),
            processor_timeout: Duration::from_secs(15),
            resolver_interval: Duration::from_secs(2),
            lease_grace: Duration::from_secs(5),
            challenge_timeout: Duration::from_secs(15 * 60),
            settle_after: Duration::from_secs(24 * 3600),
            card_hash_key: None,
            key_file: None,
            page_views_per_minute: 300,
            page_posts_per_minute: 30,
        }
    }
}

pub struct App {
    pub db: Db,
    pub config: Config,
    /// HMAC key for dealer/department tokens, shared by all processes through the database.
    pub token_key: Vec<u8>,
    /// HMAC key (kept outside the database) for the card-number hash in tender data and for
    /// Idempotency-Key request fingerprints, so a copy of the database alone cannot be used
    /// to guess card numbers.
    pub card_hash_key: Vec<u8>,
    pub credentials: CredentialCache,
    pub metrics: Metrics,
    pub processor: Arc<dyn Processor>,
    /// The in-process sandbox, whose challenge pages this server then serves.
    pub sandbox: Option<Arc<Sandbox>>,
    /// Per-client limits on the customer pages.
    pub page_limiter: crate::pages::guard::RateLimiter,
}

pub type AppState = Arc<App>;

/// The in-process sandbox's ledger: a SQLite file beside a SQLite database, or its own table
/// in the same PostgreSQL database.
pub fn default_ledger_url(database_url: &str) -> String {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        return database_url.to_string();
    }
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .unwrap_or(database_url);
    let path = path.split('?').next().unwrap_or(path);
    format!("sqlite://{path}.sandbox-ledger")
}

/// Default place of the secret key file: beside a SQLite database, else the working directory.
pub fn default_key_file(database_url: &str) -> std::path::PathBuf {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        return "dealerpay.key".into();
    }
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .unwrap_or(database_url);
    format!("{}.key", path.split('?').next().unwrap_or(path)).into()
}

/// Reads the secret key, creating the key file on first use. Several processes starting at
/// once agree: the file is created exclusively and the losers read the winner's key.
fn secret_key(config: &Config, database_url: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    if let Some(k) = &config.card_hash_key {
        return Ok(k.as_bytes().to_vec());
    }
    let path = config
        .key_file
        .clone()
        .unwrap_or_else(|| default_key_file(database_url));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(&path) {
        Ok(mut f) => {
            let key = crate::auth::random_hex(32);
            f.write_all(key.as_bytes())?;
            f.sync_all()?;
            Ok(key.into_bytes())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            for _ in 0..50 {
                let k = std::fs::read_to_string(&path)?;
                if k.trim().len() >= 32 {
                    return Ok(k.trim().as_bytes().to_vec());
                }
                // Another process is writing it right now.
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: key too short", path.display()),
            ))
        }
        Err(e) => Err(e),
    }
}

async fn key(db: &Db, name: &str) -> Result<Vec<u8>, store::StoreError> {
    let hex = store::repo::keys::get_or_create(db, name, || crate::auth::random_hex(32)).await?;
    crate::auth::hex_decode(&hex)
        .ok_or_else(|| store::StoreError::Corrupt(format!("{name} is not hex")))
}

impl Config {
    /// Until when an operation that calls the processor now holds its in-flight lease.
    pub fn lease_until(&self, now_ms: i64) -> i64 {
        now_ms + (self.processor_timeout + self.lease_grace).as_millis() as i64
    }
}

impl App {
    /// Builds the app over a migrated database.
    pub async fn new(db: Db, database_url: &str, config: Config) -> Result<App, store::StoreError> {
        let card_hash_key = secret_key(&config, database_url)
            .map_err(|e| store::StoreError::Config(format!("the card hash key: {e}")))?;
        // Dealer/department tokens are signed with the database's rotatable key mixed with the
        // off-database secret: rotation stays a database write, and a copy of the database
        // alone cannot mint tokens.
        let token_key =
            crate::auth::hmac_raw(&card_hash_key, &key(&db, "token_signing_key").await?);
        let (processor, sandbox): (Arc<dyn Processor>, _) = match &config.processor_url {
            Some(url) => (
                Arc::new(HttpProcessor::new(url, config.processor_timeout)),
                None,
            ),
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
                (sb.clone(), Some(sb))
            }
        };
        let page_limiter = crate::pages::guard::RateLimiter::new(
            config.page_views_per_minute,
            config.page_posts_per_minute,
        );
        Ok(App {
            db,
            config,
            token_key,
            card_hash_key,
            credentials: CredentialCache::default(),
            metrics: Metrics::default(),
            processor,
            sandbox,
            page_limiter,
        })
    }
}
