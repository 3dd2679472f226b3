//! Merchant users (email and argon2id password), their login, and password resets: a
//! single-use token (30 minutes). The token is never stored: it is derived from a random
//! nonce with the server's secret key, the reset row keeps its hash and the outbox message
//! the nonce, and the link is rebuilt when the message is sent ([`Engine::pending_messages`]).

use super::{err, merchant, valid_namespace, AccessGrant};
use crate::actor::Actor;
use crate::error::{EngineError, EngineResult, Kind};
use crate::validate::required_text;
use crate::{crypto, now, Engine};
use domain::catalog::checkout as co;
use store::repo::checkout::{self as repo, UserRow};

/// How long a reset token is valid.
pub const RESET_TTL_MS: i64 = 30 * 60 * 1000;

#[derive(Debug, Clone)]
pub struct UserCreate {
    pub email: String,
    /// At least 12 characters.
    pub password: String,
}

#[derive(Debug, Clone)]
pub struct Login {
    pub email: String,
    pub password: String,
}

fn email(field: &str, v: &str) -> EngineResult<String> {
    let e = required_text(field, Some(v), 254)?.to_ascii_lowercase();
    let ok = e
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'));
    if ok {
        Ok(e)
    } else {
        Err(EngineError::invalid(field, "must be an email address"))
    }
}

/// Whether a merchant password is long enough and not too long (for pages that check before
/// they submit, so the rule lives only here).
pub fn password_acceptable(v: &str) -> bool {
    (12..=256).contains(&v.chars().count())
}

/// 12 to 256 characters (characters, as the message and the reset page say: the upper bound
/// counted UTF-8 bytes, refusing a 100-character password of accented letters).
fn password(field: &str, v: &str) -> EngineResult<String> {
    if !password_acceptable(v) {
        return Err(EngineError::invalid(field, "must be 12 to 256 characters"));
    }
    Ok(v.to_string())
}

/// argon2id, off the async threads.
async fn hash(p: String) -> EngineResult<String> {
    tokio::task::spawn_blocking(move || crypto::hash_secret(&p))
        .await
        .map_err(EngineError::internal)
}

impl Engine {
    /// Creates a user of the merchant's namespace.
    pub async fn create_merchant_user(
        &self,
        actor: &Actor,
        cmd: UserCreate,
    ) -> EngineResult<UserRow> {
        let m = merchant(actor)?;
        let email = email("email", &cmd.email)?;
        let pw = hash(password("password", &cmd.password)?).await?;
        let (id, ns, t) = (uuid::Uuid::new_v4().to_string(), m.namespace.id, now());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    match repo::insert_user(c, &id, ns, &email, &pw, t).await {
                        Ok(u) => Ok(u),
                        Err(e) if e.is_unique_violation() => Err(err(
                            Kind::Conflict,
                            co::VALIDATION_ERROR,
                            "email: already registered",
                        )),
                        Err(e) => Err(e.into()),
                    }
                })
            })
            .await
    }

    /// A merchant user signs in and gets an access token. Unknown users cost the same
    /// password-hashing work, so existence cannot be timed.
    pub async fn merchant_login(&self, namespace: &str, cmd: Login) -> EngineResult<AccessGrant> {
        let refused = || {
            err(
                Kind::Unauthenticated,
                co::UNAUTHORIZED,
                "wrong email or password",
            )
        };
        if !valid_namespace(namespace) {
            return Err(refused());
        }
        let ns = namespace.to_string();
        let row = self
            .db
            .read(move |c| Box::pin(async move { repo::namespace(c, &ns).await }))
            .await?
            .filter(|n| !n.disabled)
            .ok_or_else(refused)?;
        let email = email("email", &cmd.email)?;
        let user = self
            .db
            .read(move |c| Box::pin(async move { repo::user_by_email(c, row.id, &email).await }))
            .await?;
        let (pw, stored) = (cmd.password, user.as_ref().map(|u| u.password_hash.clone()));
        let ok = tokio::task::spawn_blocking(move || match stored {
            Some(h) => crypto::verify_secret(&pw, &h),
            None => {
                let _ = crypto::hash_secret(&pw);
                false
            }
        })
        .await
        .map_err(EngineError::internal)?;
        match user {
            Some(u) if ok => Ok(self.access_grant(namespace, &format!("user:{}", u.uuid))),
            _ => Err(refused()),
        }
    }

    /// Asks for a password reset. Answers the same whether or not the address is registered;
    /// when it is, a single-use token goes to the outbox with a link to set a new password.
    pub async fn request_password_reset(
        &self,
        namespace: &str,
        email_address: &str,
    ) -> EngineResult<()> {
        let email = email("email", email_address)?;
        if !valid_namespace(namespace) {
            return Ok(());
        }
        let ns = namespace.to_string();
        let user = self
            .db
            .read(move |c| {
                Box::pin(async move {
                    let Some(row) = repo::namespace(c, &ns).await? else {
                        return Ok::<_, db::DbError>(None);
                    };
                    repo::user_by_email(c, row.id, &email).await
                })
            })
            .await?;
        let Some(user) = user else {
            return Ok(());
        };
        let nonce = crypto::random_hex(16);
        let token = self.keys.reset_token(&nonce);
        let payload = serde_json::json!({ "namespace": namespace, "email": user.email, "resetNonce": nonce, "expiresInMinutes": 30 })
            .to_string();
        let (hash, t) = (crypto::sha256_hex(token.as_bytes()), now());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    repo::insert_reset(c, &user, &hash, t + RESET_TTL_MS, &payload, t).await
                })
            })
            .await?;
        Ok(())
    }

    /// Sets a new password with a reset token, once (`INVALID_RESET_PASSWORD_TOKEN` when the
    /// token is unknown, used or expired).
    pub async fn confirm_password_reset(
        &self,
        token: &str,
        new_password: &str,
    ) -> EngineResult<()> {
        let pw = hash(password("newPassword", new_password)?).await?;
        let (hash, t) = (crypto::sha256_hex(token.trim().as_bytes()), now());
        let used = self
            .db
            .write(move |c| Box::pin(async move { repo::use_reset(c, &hash, &pw, t).await }))
            .await?;
        if used {
            Ok(())
        } else {
            Err(super::bad(
                co::INVALID_RESET_PASSWORD_TOKEN,
                "the reset token is unknown, used or expired",
            ))
        }
    }

    /// Whether a reset token is known, unused and unexpired (the reset page says so before
    /// the merchant types a new password).
    pub async fn password_reset_usable(&self, token: &str) -> EngineResult<bool> {
        let (hash, t) = (crypto::sha256_hex(token.trim().as_bytes()), now());
        Ok(self
            .db
            .read(move |c| Box::pin(async move { repo::reset_usable(c, &hash, t).await }))
            .await?)
    }

    /// The link a reset message carries (the reset page, with the token derived from the
    /// message's nonce).
    pub fn password_reset_link(&self, nonce: &str) -> String {
        format!(
            "{}/checkout/reset?token={}",
            self.config.public_url.trim_end_matches('/'),
            self.keys.reset_token(nonce)
        )
    }

    /// Messages waiting to be sent, oldest first, as they would be sent: a password reset
    /// with its link rebuilt from the stored nonce.
    pub async fn pending_messages(&self, limit: i64) -> EngineResult<Vec<OutboxMessage>> {
        let rows = self
            .db
            .read(move |c| Box::pin(async move { repo::outbox_pending(c, limit).await }))
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, recipient, payload)| {
                let mut body: serde_json::Value =
                    serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null);
                if kind == "password_reset" {
                    if let Some(nonce) = body.get("resetNonce").and_then(|n| n.as_str()) {
                        let link = self.password_reset_link(nonce);
                        if let Some(o) = body.as_object_mut() {
                            o.remove("resetNonce");
                            o.insert("resetUrl".into(), link.into());
                        }
                    }
                }
                OutboxMessage {
                    id,
                    kind,
                    recipient,
                    body,
                }
            })
            .collect())
    }
}

/// A message for the email/text sender, rendered.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxMessage {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub body: serde_json::Value,
}
