//! Merchant namespaces and their API keys (operator). A namespace is a merchant account tied
//! to a dealer, the department whose orders its payments are booked on, and the associate
//! recorded as their payment user; sessions without a customer are paid as the namespace's
//! guest customer.

use super::{err, require_operator, valid_namespace};
use crate::actor::Actor;
use crate::error::{EngineError, EngineResult, Kind};
use crate::validate::{optional_text, required_text};
use crate::{crypto, now, Engine};
use domain::catalog::{checkout as co, v1};
use store::repo::checkout::{self as repo, NamespaceRow};
use store::repo::dealers;

/// Creating a namespace: the fields as sent; checked in order.
#[derive(Debug, Clone)]
pub struct NamespaceCreate {
    /// 3–40 lowercase letters, digits and '-'.
    pub namespace: String,
    pub name: String,
    pub dealer_uuid: String,
    pub department_uuid: String,
    pub dealer_associate_uuid: String,
}

#[derive(Debug, Clone)]
pub struct NamespaceCreated {
    pub namespace: NamespaceRow,
    pub dealer_uuid: String,
}

/// A new API key: shown once; only its hash is stored.
#[derive(Debug, Clone)]
pub struct ApiKeyCreated {
    pub id: String,
    pub api_key: String,
    pub label: String,
}

/// A path or body UUID, in canonical form.
fn uuid_field(field: &str, v: &str) -> EngineResult<String> {
    uuid::Uuid::parse_str(v)
        .map(|u| u.to_string())
        .map_err(|_| EngineError::invalid(field, "must be a UUID"))
}

fn no_namespace() -> EngineError {
    err(Kind::NotFound, co::INVALID_NAMESPACE, "no such namespace")
}

impl Engine {
    /// A namespace by name, for the operator's routes.
    async fn namespace_row(&self, ns: &str) -> EngineResult<NamespaceRow> {
        if !valid_namespace(ns) {
            return Err(no_namespace());
        }
        let ns = ns.to_string();
        self.db
            .read(move |c| Box::pin(async move { repo::namespace(c, &ns).await }))
            .await?
            .ok_or_else(no_namespace)
    }

    /// Creates a namespace with its guest customer, in one transaction.
    pub async fn create_namespace(
        &self,
        actor: &Actor,
        cmd: NamespaceCreate,
    ) -> EngineResult<NamespaceCreated> {
        require_operator(actor)?;
        let ns = cmd.namespace.trim().to_string();
        if !valid_namespace(&ns) {
            return Err(EngineError::invalid(
                "namespace",
                "must be 3 to 40 lowercase letters, digits or '-'",
            ));
        }
        let name = required_text("name", Some(&cmd.name), 200)?;
        let dealer_uuid = uuid_field("dealerUuid", &cmd.dealer_uuid)?;
        let dealer = self
            .db
            .read(move |c| Box::pin(async move { dealers::dealer_by_uuid(c, &dealer_uuid).await }))
            .await?
            .ok_or_else(|| {
                EngineError::not_found(v1::INVALID_DEALER, "dealerUuid: no such dealer")
            })?;
        let department_uuid = uuid_field("departmentUuid", &cmd.department_uuid)?;
        let dept = self
            .db
            .read(move |c| {
                Box::pin(async move { dealers::department_by_uuid(c, &department_uuid).await })
            })
            .await?
            .filter(|d| d.dealer_id == dealer.id)
            .ok_or_else(|| {
                EngineError::invalid("departmentUuid", "no such department for this dealer")
            })?;
        let associate_uuid = uuid_field("dealerAssociateUUID", &cmd.dealer_associate_uuid)?;
        let assoc = self
            .db
            .read(move |c| {
                Box::pin(async move { dealers::associate_by_uuid(c, &associate_uuid).await })
            })
            .await?
            .filter(|a| a.dealer_id == dealer.id)
            .ok_or_else(|| {
                EngineError::invalid("dealerAssociateUUID", "no such associate for this dealer")
            })?;
        let guest = dealers::CustomerWrite {
            uuid: uuid::Uuid::new_v4().to_string(),
            first_name: None,
            middle_name: None,
            last_name: None,
            company: Some(format!("Checkout guest ({ns})")),
            email: None,
            phone: None,
            blacklisted: false,
            profile: "{}".into(),
        };
        let (dealer_id, department_id, associate_id) = (dealer.id, dept.id, assoc.id);
        let t = now();
        let row = self
            .db
            .write(move |c| {
                Box::pin(async move {
                    let guest = dealers::upsert_customer(c, dealer_id, &guest, t)
                        .await?
                        .ok_or_else(|| EngineError::internal("guest customer"))?;
                    let w = repo::NamespaceWrite {
                        namespace: ns,
                        dealer_id,
                        department_id,
                        associate_id,
                        guest_customer_id: guest.id,
                        name,
                    };
                    match repo::insert_namespace(c, &w, t).await {
                        Ok(r) => Ok(r),
                        Err(e) if e.is_unique_violation() => Err(err(
                            Kind::Conflict,
                            co::VALIDATION_ERROR,
                            "namespace: already exists",
                        )),
                        Err(e) => Err(e.into()),
                    }
                })
            })
            .await?;
        Ok(NamespaceCreated {
            namespace: row,
            dealer_uuid: dealer.uuid,
        })
    }

    /// Disables (or enables) a namespace: its tokens and keys stop (or start) working.
    pub async fn set_namespace_disabled(
        &self,
        actor: &Actor,
        namespace: &str,
        disabled: bool,
    ) -> EngineResult<()> {
        require_operator(actor)?;
        let row = self.namespace_row(namespace).await?;
        self.db
            .write(move |c| {
                Box::pin(async move { repo::set_namespace_disabled(c, row.id, disabled).await })
            })
            .await?;
        Ok(())
    }

    /// Creates an API key for a namespace (label: default `default`).
    pub async fn create_api_key(
        &self,
        actor: &Actor,
        namespace: &str,
        label: Option<&str>,
    ) -> EngineResult<ApiKeyCreated> {
        require_operator(actor)?;
        let row = self.namespace_row(namespace).await?;
        let label = optional_text("label", label, 100)?.unwrap_or_else(|| "default".into());
        let key = crypto::new_secret("dpk_");
        let id = uuid::Uuid::new_v4().to_string();
        let (hash, i, l, t) = (
            crypto::sha256_hex(key.as_bytes()),
            id.clone(),
            label.clone(),
            now(),
        );
        self.db
            .write(move |c| {
                Box::pin(async move { repo::insert_api_key(c, &i, row.id, &hash, &l, t).await })
            })
            .await?;
        Ok(ApiKeyCreated {
            id,
            api_key: key,
            label,
        })
    }

    /// Revokes a live API key; unknown or already revoked: `API_KEY_NOT_FOUND`.
    pub async fn revoke_api_key(
        &self,
        actor: &Actor,
        namespace: &str,
        key_id: &str,
    ) -> EngineResult<()> {
        require_operator(actor)?;
        let row = self.namespace_row(namespace).await?;
        let not_found = || {
            err(
                Kind::NotFound,
                co::API_KEY_NOT_FOUND,
                "no live API key with this id",
            )
        };
        // Key ids are UUIDs: nothing else is worth a lookup.
        uuid::Uuid::parse_str(key_id).map_err(|_| not_found())?;
        let id = key_id.to_string();
        let t = now();
        let revoked = self
            .db
            .write(move |c| Box::pin(async move { repo::revoke_api_key(c, row.id, &id, t).await }))
            .await?;
        if revoked {
            Ok(())
        } else {
            Err(not_found())
        }
    }
}
