//! `GET /payment/v3/department/{departmentUuid}/status?invoiceId=…` (seed 003):
//! the payment attempts of one invoice of one department.

use super::attempt_views::InvoiceView;
use crate::app::AppState;
use crate::auth::{no_department_scope, DepartmentRef, Principal, RouteAuth};
use crate::error::{ApiError, ApiResult};
use crate::extract::{query_pairs, uuid_param};
use axum::http::StatusCode;
use domain::catalog::v1;
use domain::scope::Scope;
use store::repo::{attempts, dealers, invoices, orders};

pub const AUTH: RouteAuth = RouteAuth::department(Scope::All);

fn unknown_invoice() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        v1::INVALID_INVOICE_ID,
        "invoiceId: no such invoice in this department",
    )
}

pub async fn get(
    app: &AppState,
    p: &Principal,
    department_uuid: &str,
    query: Option<&str>,
) -> ApiResult<wire::PaymentStatusResponse> {
    let department_uuid = uuid_param("departmentUuid", department_uuid)?.to_string();
    let pairs = query_pairs(query);
    let invoice_id = pairs
        .iter()
        .find(|(k, _)| k == "invoiceId")
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::missing("invoiceId"))?;
    let invoice_id = uuid_param("invoiceId", invoice_id)?.to_string();

    let db = &app.db;
    let Some(department) = dealers::department_by_uuid(db, &department_uuid).await? else {
        // Nobody but an operator can hold a grant for a department that does not exist.
        return Err(match p {
            Principal::Operator => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                v1::INVALID_DEPARTMENT,
                "departmentUuid: no such department",
            ),
            _ => no_department_scope(AUTH.scope),
        });
    };
    let dealer = dealers::dealer_by_id(db, department.dealer_id)
        .await?
        .ok_or_else(|| ApiError::internal("department without dealer"))?;
    AUTH.check_department(
        p,
        &DepartmentRef {
            uuid: &department.uuid,
            dealer_uuid: &dealer.uuid,
        },
    )?;

    let invoice = invoices::by_guid(db, &invoice_id)
        .await?
        .ok_or_else(unknown_invoice)?;
    let order = orders::by_id(db, invoice.dealer_order_id)
        .await?
        .ok_or_else(|| ApiError::internal("invoice without order"))?;
    if order.department_id != department.id {
        return Err(unknown_invoice());
    }
    let rows = attempts::for_invoice(db, invoice.id).await?;
    let payment_attempts = if rows.is_empty() {
        vec![]
    } else {
        InvoiceView::load(app, invoice)
            .await?
            .attempts(app, &rows)
            .await?
    };
    Ok(wire::PaymentStatusResponse {
        error: None,
        warnings: vec![],
        payment_attempts,
        signed_document_url: None,
    })
}
