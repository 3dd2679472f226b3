use crate::app::AppState;
use crate::auth::Principal;
use crate::core::status;
use crate::error::ApiResult;
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
    p: Principal,
    Path(department_uuid): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<PaymentStatusResponse>> {
    Ok(Json(
        status::get(&app, &p, &department_uuid, query.as_deref()).await?,
    ))
}
