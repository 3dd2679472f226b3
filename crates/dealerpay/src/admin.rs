//! `dealerpay admin …`: the operator's tools, run directly against the database.

use api::app::AppState;
use clap::Subcommand;
use engine::partners::{GrantSpec, MintToken, Partner};
use engine::{Actor, EngineError};

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
    /// Print the messages waiting to be sent (password resets…), as they would be sent: one
    /// JSON object per line, links included (rebuilt with this server's key; the database
    /// holds no link). Until an email provider is configured, this is how an operator hands
    /// a merchant its reset link. Pass --public-url so the links are absolute.
    Outbox {
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

fn fail(e: EngineError) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", e.code, e.detail)
}

fn view(p: &Partner) -> serde_json::Value {
    serde_json::json!({
        "uuid": p.partner.uuid,
        "username": p.partner.username,
        "disabled": p.partner.disabled,
        "grants": p.grants.iter().map(|g| serde_json::json!({
            "dealerUuid": g.dealer_uuid, "departmentUuid": g.department_uuid, "scope": g.scope,
        })).collect::<Vec<_>>(),
    })
}

pub async fn run(state: &AppState, cmd: AdminCommand) -> anyhow::Result<()> {
    let e = &state.engine;
    let op = Actor::Operator;
    let out =
        |v: serde_json::Value| println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    match cmd {
        AdminCommand::PartnerCreate { username } => {
            let c = e.create_partner(&op, &username).await.map_err(fail)?;
            out(
                serde_json::json!({ "uuid": c.uuid, "username": c.username, "password": c.secret }),
            );
        }
        AdminCommand::PartnerShow { partner } => {
            let uuid = e.partner_uuid_for(&op, &partner).await.map_err(fail)?;
            out(view(&e.get_partner(&op, &uuid).await.map_err(fail)?));
        }
        AdminCommand::PartnerDisable { partner } => {
            let uuid = e.partner_uuid_for(&op, &partner).await.map_err(fail)?;
            out(view(
                &e.set_partner_disabled(&op, &uuid, true)
                    .await
                    .map_err(fail)?,
            ));
        }
        AdminCommand::PartnerEnable { partner } => {
            let uuid = e.partner_uuid_for(&op, &partner).await.map_err(fail)?;
            out(view(
                &e.set_partner_disabled(&op, &uuid, false)
                    .await
                    .map_err(fail)?,
            ));
        }
        AdminCommand::RotateSecret { partner } => {
            let uuid = e.partner_uuid_for(&op, &partner).await.map_err(fail)?;
            let c = e.rotate_partner_secret(&op, &uuid).await.map_err(fail)?;
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
            let uuid = e.partner_uuid_for(&op, &partner).await.map_err(fail)?;
            let g = GrantSpec {
                dealer_uuid: dealer,
                department_uuid: department,
                scope,
            };
            out(view(&e.grant(&op, &uuid, g).await.map_err(fail)?));
        }
        AdminCommand::Revoke {
            partner,
            dealer,
            department,
            scope,
        } => {
            let uuid = e.partner_uuid_for(&op, &partner).await.map_err(fail)?;
            let g = GrantSpec {
                dealer_uuid: dealer,
                department_uuid: department,
                scope,
            };
            out(view(&e.revoke(&op, &uuid, g).await.map_err(fail)?));
        }
        AdminCommand::Token {
            kind,
            uuid,
            scopes,
            ttl,
        } => {
            let t = e
                .mint_scoped_token(
                    &op,
                    MintToken {
                        kind,
                        uuid,
                        scopes,
                        ttl_seconds: Some(ttl),
                    },
                )
                .await
                .map_err(fail)?;
            out(serde_json::json!({ "token": t.token, "expiresAt": t.expires_at }));
        }
        AdminCommand::OperatorToken { label } => {
            let token = e.create_operator_token(&op, &label).await.map_err(fail)?;
            out(serde_json::json!({ "operatorToken": token }));
        }
        AdminCommand::Outbox { limit } => {
            for m in e
                .pending_messages(limit.clamp(1, 10_000))
                .await
                .map_err(fail)?
            {
                println!("{}", serde_json::to_string(&m)?);
            }
        }
        AdminCommand::RotateSigningKey => {
            engine::keys::rotate_signing_key(&e.db)
                .await
                .map_err(fail)?;
            out(serde_json::json!({
                "rotated": true,
                "note": "running servers pick up the new key within one background pass (2 s by default)"
            }));
        }
    }
    Ok(())
}
