//! `dealerpay admin …`: the operator's tools, run directly against the database.

use api::app::AppState;
use api::core::partners::{self, GrantView, TokenRequest};
use api::ApiError;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a partner (service subscriber); prints its secret once.
    PartnerCreate { username: String },
    /// Show a partner and its grants.
    PartnerShow {
        /// Username or uuid.
        partner: String,
    },
    /// Disable a partner: its credentials stop working at once.
    PartnerDisable { partner: String },
    /// Re-enable a partner.
    PartnerEnable { partner: String },
    /// Replace a partner's secret; prints the new one.
    RotateSecret { partner: String },
    /// Grant a scope for a dealer (all departments) or, with --department, one department.
    Grant {
        partner: String,
        #[arg(long)]
        dealer: String,
        #[arg(long)]
        department: Option<String>,
        /// e.g. payment.all, payment.prepayment, payment.payisland, payment.paymentrequest, payment.dealerdata
        #[arg(long)]
        scope: String,
    },
    /// Revoke a grant.
    Revoke {
        partner: String,
        #[arg(long)]
        dealer: String,
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        scope: String,
    },
    /// Mint a signed, expiring dealer or department token.
    Token {
        /// dealer or department
        #[arg(long, value_parser = ["dealer", "department"])]
        kind: String,
        /// The dealer's or department's uuid.
        #[arg(long)]
        uuid: String,
        /// Scopes to include (repeatable).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
    },
    /// Create an operator token for the admin API (prints it once; only its hash is stored).
    OperatorToken {
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// Rotate the key that signs dealer/department tokens; every issued token stops working.
    RotateSigningKey,
}

fn fail(e: ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", e.entry(api::error::Family::V1).title, e.detail)
}

pub async fn run(state: &AppState, cmd: AdminCommand) -> anyhow::Result<()> {
    let db = &state.db;
    let out =
        |v: serde_json::Value| println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    match cmd {
        AdminCommand::PartnerCreate { username } => {
            let c = partners::create(db, &username).await.map_err(fail)?;
            out(
                serde_json::json!({ "uuid": c.uuid, "username": c.username, "password": c.secret }),
            );
        }
        AdminCommand::PartnerShow { partner } => {
            let uuid = partners::uuid_for(db, &partner).await.map_err(fail)?;
            out(serde_json::to_value(
                partners::view(db, &uuid).await.map_err(fail)?,
            )?);
        }
        AdminCommand::PartnerDisable { partner } => {
            let uuid = partners::uuid_for(db, &partner).await.map_err(fail)?;
            out(serde_json::to_value(
                partners::set_disabled(db, &uuid, true)
                    .await
                    .map_err(fail)?,
            )?);
        }
        AdminCommand::PartnerEnable { partner } => {
            let uuid = partners::uuid_for(db, &partner).await.map_err(fail)?;
            out(serde_json::to_value(
                partners::set_disabled(db, &uuid, false)
                    .await
                    .map_err(fail)?,
            )?);
        }
        AdminCommand::RotateSecret { partner } => {
            let uuid = partners::uuid_for(db, &partner).await.map_err(fail)?;
            let c = partners::rotate_secret(db, &uuid).await.map_err(fail)?;
            out(
                serde_json::json!({ "uuid": c.uuid, "username": c.username, "password": c.secret }),
            );
        }
        AdminCommand::Grant {
            partner,
            dealer,
            department,
            scope,
        } => {
            let uuid = partners::uuid_for(db, &partner).await.map_err(fail)?;
            let g = GrantView {
                dealer_uuid: dealer,
                department_uuid: department,
                scope,
            };
            out(serde_json::to_value(
                partners::grant(db, &uuid, &g).await.map_err(fail)?,
            )?);
        }
        AdminCommand::Revoke {
            partner,
            dealer,
            department,
            scope,
        } => {
            let uuid = partners::uuid_for(db, &partner).await.map_err(fail)?;
            let g = GrantView {
                dealer_uuid: dealer,
                department_uuid: department,
                scope,
            };
            out(serde_json::to_value(
                partners::revoke(db, &uuid, &g).await.map_err(fail)?,
            )?);
        }
        AdminCommand::Token {
            kind,
            uuid,
            scopes,
            ttl,
        } => {
            let req = TokenRequest {
                kind,
                uuid,
                scopes,
                ttl_seconds: Some(ttl),
            };
            out(serde_json::to_value(
                partners::mint(db, &state.token_key, &req)
                    .await
                    .map_err(fail)?,
            )?);
        }
        AdminCommand::OperatorToken { label } => {
            let token = partners::create_operator_token(db, &label)
                .await
                .map_err(fail)?;
            out(serde_json::json!({ "operatorToken": token }));
        }
        AdminCommand::RotateSigningKey => {
            store::repo::keys::set(db, "token_signing_key", &api::auth::random_hex(32)).await?;
            out(
                serde_json::json!({ "rotated": true, "note": "restart running servers to load the new key" }),
            );
        }
    }
    Ok(())
}
