//! The payment engine: every use-case of dealerpay, with no HTTP in it.
//!
//! A use-case takes an [`Actor`] (who is acting, for which dealer or department, with which
//! scopes) and a typed command, and returns a domain outcome or one [`EngineError`]. The API
//! routes, the customer pages and Checkout all call the same use-cases.
//!
//! | module | use-cases |
//! |---|---|
//! | [`payments`] | prePayment, confirm, complete (3-D Secure), capture, release, get |
//! | [`reversals`] | refund, void |
//! | [`payment_requests`] | create, expire, the documented read, short links |
//! | [`status`] | the documented v3 status of an invoice |
//! | [`dealer_data`] | DMS sync: dealers, departments, associates, customers, vehicles, orders, invoices |
//! | [`checkout`] | namespaces, API keys, merchant users, sessions, payment intents, capture |
//! | [`partners`] | operator actions: partners, grants, tokens |
//! | [`jobs`] | the in-flight resolver, expiry of sessions and unconfirmed attempts, settlement |
//! | [`reconcile`] | our records against every processor's ledger |

pub mod actor;
pub mod auth;
pub mod checkout;
pub mod config;
pub mod crypto;
pub mod dealer_data;
pub mod error;
pub mod hash_pool;
pub mod idempotency;
pub mod jobs;
pub mod keys;
pub mod partners;
pub mod payment_requests;
pub mod payments;
pub mod reconcile;
pub mod reversals;
pub mod status;
pub mod throttle;
pub mod validate;

pub use actor::{Actor, Grant};
pub use config::EngineConfig;
pub use error::{Code, EngineError, EngineResult, Generic, Kind};

use connectors::{CardConnector, Registry};
use db::Db;
use domain::catalog::v1;
use std::sync::{Arc, RwLock};

/// Everything the use-cases need, built once and shared.
pub struct Engine {
    pub db: Db,
    pub connectors: Arc<Registry>,
    pub config: EngineConfig,
    keys: keys::Keys,
    token_key: RwLock<Arc<Vec<u8>>>,
    pub credentials: auth::CredentialCache,
    throttled: throttle::Throttled,
}

/// The card connector `provider` names in `registry`.
pub(crate) fn card_connector<'r>(
    registry: &'r Registry,
    provider: &str,
) -> EngineResult<&'r Arc<dyn CardConnector>> {
    registry.card(provider).ok_or_else(|| {
        EngineError::new(
            Kind::Unavailable,
            v1::SERVICE_UNAVAILABLE,
            format!("the payment provider {provider} is not configured on this server"),
        )
    })
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    domain::Timestamp::now().millis()
}

impl Engine {
    /// Builds the engine over a migrated database. `secret` keys card-number hashes, request
    /// fingerprints and token signatures; it must not live in the database (see [`keys`]).
    pub async fn new(
        db: Db,
        connectors: Registry,
        config: EngineConfig,
        secret: Vec<u8>,
    ) -> EngineResult<Engine> {
        let keys = keys::Keys::new(secret);
        let token_key = keys.token_key(&db).await?;
        Ok(Engine {
            db,
            connectors: Arc::new(connectors),
            config,
            keys,
            token_key: RwLock::new(Arc::new(token_key)),
            credentials: auth::CredentialCache::default(),
            throttled: Default::default(),
        })
    }

    /// The card connector a dealer's provider names.
    pub(crate) fn card_connector(&self, provider: &str) -> EngineResult<&Arc<dyn CardConnector>> {
        card_connector(&self.connectors, provider)
    }

    /// The key of Idempotency-Key request fingerprints (bodies can carry card data).
    pub fn fingerprint_key(&self) -> &[u8] {
        self.keys.card_hash()
    }

    pub(crate) fn token_key(&self) -> Arc<Vec<u8>> {
        self.token_key
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Re-reads the rotatable signing key, so a rotation (`dealerpay admin
    /// rotate-signing-key`, another process) takes effect without a restart.
    pub async fn refresh_keys(&self) -> EngineResult<()> {
        let k = self.keys.token_key(&self.db).await?;
        let mut cur = self.token_key.write().unwrap_or_else(|p| p.into_inner());
        if **cur != k {
            tracing::info!("token signing key rotated");
            *cur = Arc::new(k);
        }
        Ok(())
    }
}
