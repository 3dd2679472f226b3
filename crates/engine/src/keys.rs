//! Server keys. One secret lives outside the database (environment or a key file): it keys
//! card-number hashes and request fingerprints, so a copy of the database cannot be used to
//! test card-number guesses, and it is mixed into every signing key, so a copy of the
//! database alone cannot mint tokens. Signing keys themselves live in the database, shared
//! by every server process, and rotate with a database write.

use crate::crypto;
use crate::error::{EngineError, EngineResult};
use db::Db;

pub(crate) struct Keys {
    secret: std::sync::Arc<Vec<u8>>,
    jwt: Vec<u8>,
}

/// The name of the rotatable dealer/department token key in `server_keys`.
pub const TOKEN_SIGNING_KEY: &str = "token_signing_key";

impl Keys {
    pub(crate) fn new(secret: Vec<u8>) -> Keys {
        let jwt = crypto::hmac_hex(&secret, b"dealerpay checkout jwt v1").into_bytes();
        Keys {
            secret: std::sync::Arc::new(secret),
            jwt,
        }
    }

    pub(crate) fn card_hash(&self) -> &[u8] {
        &self.secret
    }

    /// The card-hash key, to move into a transaction closure.
    pub(crate) fn card_hash_shared(&self) -> std::sync::Arc<Vec<u8>> {
        self.secret.clone()
    }

    pub(crate) fn jwt(&self) -> &[u8] {
        &self.jwt
    }

    /// A password-reset token, derived from the reset's nonce: the database (and the outbox in
    /// it) holds only the nonce and the token's hash, so a copy of the database alone cannot
    /// reset anyone's password.
    pub(crate) fn reset_token(&self, nonce: &str) -> String {
        let mac = crypto::hmac_raw(
            &self.secret,
            format!("dealerpay password reset v1|{nonce}").as_bytes(),
        );
        format!("rst_{}", crypto::base64url(&mac))
    }

    /// The dealer/department token key: the database's rotatable key mixed with the secret.
    pub(crate) async fn token_key(&self, db: &Db) -> EngineResult<Vec<u8>> {
        let existing = db
            .read(|c| Box::pin(async move { store::repo::keys::get(c, TOKEN_SIGNING_KEY).await }))
            .await?;
        let hex = match existing {
            Some(h) => h,
            None => {
                db.write(|c| {
                    Box::pin(async move {
                        store::repo::keys::get_or_create(c, TOKEN_SIGNING_KEY, || {
                            crypto::random_hex(32)
                        })
                        .await
                    })
                })
                .await?
            }
        };
        let raw = crypto::hex_decode(&hex)
            .ok_or_else(|| EngineError::internal("the token signing key is not hex"))?;
        Ok(crypto::hmac_raw(&self.secret, &raw))
    }
}

/// Replaces the token signing key: every dealer and department token minted before stops
/// working on every server within one resolver pass.
pub async fn rotate_signing_key(db: &Db) -> EngineResult<()> {
    let k = crypto::random_hex(32);
    db.write(move |c| {
        Box::pin(async move { store::repo::keys::set(c, TOKEN_SIGNING_KEY, &k).await })
    })
    .await?;
    Ok(())
}

/// Reads the secret key from `DEALERPAY_CARD_HASH_KEY` (`configured`) or the key file,
/// creating the file (mode 0600) on first use. Several processes starting at once agree:
/// the file is created exclusively and the losers read the winner's key.
pub fn secret_key(configured: Option<&str>, path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    if let Some(k) = configured {
        return Ok(k.as_bytes().to_vec());
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(path) {
        Ok(mut f) => {
            let key = crypto::random_hex(32);
            f.write_all(key.as_bytes())?;
            f.sync_all()?;
            Ok(key.into_bytes())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            for _ in 0..50 {
                let k = std::fs::read_to_string(path)?;
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
