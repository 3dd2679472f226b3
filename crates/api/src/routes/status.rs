use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{query_pairs, uuid_param};
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use wire::{PaymentStatusResponse, V3ErrorEnvelope};

/// getPaymentStatus (myKaarma v7.6.1): the payment attempts of an invoice.
///
/// ApiScope `payment.all`, API Scope Level DepartmentScope. `invoiceId` is the invoice's
/// guid. 400 for malformed input, 401 for missing grants, 422 for an invoice that is not
/// in this department.
#[utoipa::path(get, path = "/payment/v3/department/{departmentUuid}/status", tag = "payment status",
    params(("departmentUuid" = String, Path), ("invoiceId" = String, Query, description = "The invoice guid")),
    responses((status = 200, body = PaymentStatusResponse, description = "OK"), (status = 400, body = V3ErrorEnvelope, description = "Bad Request"),
        (status = 401, body = V3ErrorEnvelope, description = "Unauthorized"), (status = 422, body = V3ErrorEnvelope, description = "Unprocessable Entity"),
        (status = 500, body = V3ErrorEnvelope, description = "Internal Server Error")),
    security(("partnerBasic" = []), ("dealerToken" = []), ("departmentToken" = [])))]
pub async fn get_payment_status(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Path(department_uuid): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<PaymentStatusResponse>> {
    let department_uuid = uuid_param("departmentUuid", &department_uuid)?.to_string();
    let pairs = query_pairs(query.as_deref());
    let invoice_id = pairs
        .iter()
        .find(|(k, _)| k == "invoiceId")
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::missing("invoiceId"))?;
    let invoice_id = uuid_param("invoiceId", invoice_id)?.to_string();
    let v = app
        .engine
        .invoice_status(&actor, &department_uuid, &invoice_id)
        .await?;
    Ok(Json(crate::views::status_dto(&v)))
}
