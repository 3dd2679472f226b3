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
    /// How long a customer has to finish 3-D Secure before the attempt is abandoned.
    pub challenge_timeout: Duration,
    /// Charges older than this are settled (batch close) and can no longer be voided.
    pub settle_after: Duration,
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
            challenge_timeout: Duration::from_secs(15 * 60),
            settle_after: Duration::from_secs(24 * 3600),
        }
    }
}

pub struct App {
    pub db: Db,
    pub config: Config,
    /// HMAC key for dealer/department tokens, shared by all processes through the database.
    pub token_key: Vec<u8>,
    /// HMAC key for the card-number hash kept in tender data.
    pub card_hash_key: Vec<u8>,
    pub credentials: CredentialCache,
    pub metrics: Metrics,
    pub processor: Arc<dyn Processor>,
    /// The in-process sandbox, whose challenge pages this server then serves.
    pub sandbox: Option<Arc<Sandbox>>,
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

async fn key(db: &Db, name: &str) -> Result<Vec<u8>, store::StoreError> {
    let hex = store::repo::keys::get_or_create(db, name, || crate::auth::random_hex(32)).await?;
    crate::auth::hex_decode(&hex)
        .ok_or_else(|| store::StoreError::Corrupt(format!("{name} is not hex")))
}

impl App {
    /// Builds the app over a migrated database.
    pub async fn new(db: Db, database_url: &str, config: Config) -> Result<App, store::StoreError> {
        let token_key = key(&db, "token_signing_key").await?;
        let card_hash_key = key(&db, "card_hash_key").await?;
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
                };
                let sb = Arc::new(Sandbox::open(&ledger, cfg).await?);
                (sb.clone(), Some(sb))
            }
        };
        Ok(App {
            db,
            config,
            token_key,
            card_hash_key,
            credentials: CredentialCache::default(),
            metrics: Metrics::default(),
            processor,
            sandbox,
        })
    }
}
