//! `GET /payment/v3/department/{departmentUuid}/status?invoiceId=…` (seed 003): the payment
//! attempts of one invoice of one department.

use crate::actor::{no_department_scope, Actor, DepartmentRef};
use crate::error::{EngineError, EngineResult, Kind};
use crate::Engine;
use domain::catalog::v1;
use domain::scope::Scope;
use store::views::{self, InvoiceAttempts};

pub const SCOPE: Scope = Scope::All;

fn unknown_invoice() -> EngineError {
    EngineError::new(
        Kind::Unprocessable,
        v1::INVALID_INVOICE_ID,
        "invoiceId: no such invoice in this department",
    )
}

impl Engine {
    /// Every attempt of the invoice, if it belongs to the department. Both ids are canonical
    /// UUIDs (the HTTP layer checked their form).
    pub async fn invoice_status(
        &self,
        actor: &Actor,
        department_uuid: &str,
        invoice_guid: &str,
    ) -> EngineResult<InvoiceAttempts> {
        let guid = invoice_guid.to_string();
        // The common case in one read: the invoice with its department and dealer.
        let found = self
            .db
            .read(move |c| Box::pin(async move { views::invoice_attempts(c, &guid).await }))
            .await?;
        if let Some(v) = found {
            if v.context.department.uuid == department_uuid {
                actor.require_department(
                    SCOPE,
                    &DepartmentRef {
                        uuid: &v.context.department.uuid,
                        dealer_uuid: &v.context.dealer.uuid,
                    },
                )?;
                return Ok(v);
            }
        }
        // Not an invoice of this department: say so only to a caller who may look at it.
        let dep = department_uuid.to_string();
        let department = self
            .db
            .read(move |c| {
                Box::pin(async move {
                    c.query_opt::<(String, String)>(
                        "SELECT dp.uuid, d.uuid FROM departments dp JOIN dealers d ON d.id = dp.dealer_id WHERE dp.uuid = $1",
                        db::args![&dep],
                    )
                    .await
                })
            })
            .await?;
        let Some((uuid, dealer_uuid)) = department else {
            // Nobody but an operator can hold a grant for a department that does not exist.
            return Err(match actor {
                Actor::Operator => EngineError::new(
                    Kind::Unprocessable,
                    v1::INVALID_DEPARTMENT,
                    "departmentUuid: no such department",
                ),
                _ => no_department_scope(SCOPE),
            });
        };
        actor.require_department(
            SCOPE,
            &DepartmentRef {
                uuid: &uuid,
                dealer_uuid: &dealer_uuid,
            },
        )?;
        Err(unknown_invoice())
    }
}
