//! Application state shared by every handler: one `App` built at start, shared as `AppState`.

use crate::auth::CredentialCache;
use crate::observe::Metrics;
use std::sync::Arc;
use store::Db;

#[derive(Debug, Clone)]
pub struct Config {
    /// Absolute base URL customers reach us at (pay links, short URLs).
    pub public_url: String,
    /// Operator token from configuration (`DEALERPAY_OPERATOR_TOKEN`), in addition to
    /// tokens minted with `dealerpay admin operator-token`.
    pub operator_token: Option<String>,
}

pub struct App {
    pub db: Db,
    pub config: Config,
    /// HMAC key for dealer/department tokens, shared by all processes through the database.
    pub token_key: Vec<u8>,
    pub credentials: CredentialCache,
    pub metrics: Metrics,
}

pub type AppState = Arc<App>;

impl App {
    /// Builds the app over a migrated database.
    pub async fn new(db: Db, config: Config) -> Result<App, store::StoreError> {
        let key_hex = store::repo::keys::get_or_create(&db, "token_signing_key", || {
            crate::auth::random_hex(32)
        })
        .await?;
        let token_key = crate::auth::hex_decode(&key_hex)
            .ok_or_else(|| store::StoreError::Corrupt("token_signing_key is not hex".into()))?;
        Ok(App {
            db,
            config,
            token_key,
            credentials: CredentialCache::default(),
            metrics: Metrics::default(),
        })
    }
}
