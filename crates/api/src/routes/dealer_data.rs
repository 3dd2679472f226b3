//! DMS-sync upserts (scope `payment.dealerdata`, ServiceSubscriberScope; creating a dealer
//! needs the operator token).

use super::v1_ok;
use crate::app::AppState;
use crate::auth::Principal;
use crate::core::dealer_data::{self as core, *};
use crate::error::ApiResult;
use crate::extract::JsonBody;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use wire::V1ErrorEnvelope;

v1_ok!(DealerResponse, dealer: DealerRecord);
v1_ok!(DepartmentResponse, department: DepartmentRecord);
v1_ok!(AssociateResponse, dealer_associate: AssociateRecord);
v1_ok!(CustomerResponse, customer: CustomerRecord);
v1_ok!(VehicleResponse, vehicle: VehicleRecord);
v1_ok!(OrderResponse, dealer_order: OrderRecord);
v1_ok!(InvoiceResponse, invoice: InvoiceRecord);

/// Create or update a dealer and its payment settings.
///
/// Creating needs the operator token; updating also accepts a partner or dealer token
/// holding `payment.dealerdata` (or `payment.all`) for the dealer. Omitted settings keep
/// their stored values.
#[utoipa::path(put, path = "/payment/kpayment/v1/dealers/{dealerUuid}", tag = "dealer data",
    params(("dealerUuid" = String, Path, description = "The dealer's uuid, as the DMS knows it")),
    request_body = DealerUpsert,
    responses((status = 200, body = DealerResponse, description = "Updated"), (status = 201, body = DealerResponse, description = "Created"),
        (status = 400, body = V1ErrorEnvelope), (status = 401, body = V1ErrorEnvelope)),
    security(("operatorToken" = []), ("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn upsert_dealer(
    State(app): State<AppState>,
    p: Principal,
    Path(dealer_uuid): Path<String>,
    JsonBody(req): JsonBody<DealerUpsert>,
) -> ApiResult<(StatusCode, Json<DealerResponse>)> {
    let (created, rec) = core::upsert_dealer(&app, &p, &dealer_uuid, req).await?;
    Ok((created_status(created), Json(DealerResponse::new(rec))))
}

/// Create or update a department of a dealer.
#[utoipa::path(put, path = "/payment/kpayment/v1/dealers/{dealerUuid}/departments/{departmentUuid}", tag = "dealer data",
    params(("dealerUuid" = String, Path), ("departmentUuid" = String, Path)),
    request_body = DepartmentUpsert,
    responses((status = 200, body = DepartmentResponse), (status = 400, body = V1ErrorEnvelope),
        (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("operatorToken" = []), ("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn upsert_department(
    State(app): State<AppState>,
    p: Principal,
    Path((dealer_uuid, uuid)): Path<(String, String)>,
    JsonBody(req): JsonBody<DepartmentUpsert>,
) -> ApiResult<Json<DepartmentResponse>> {
    Ok(Json(DepartmentResponse::new(
        core::upsert_department(&app, &p, &dealer_uuid, &uuid, req).await?,
    )))
}

/// Create or update a dealer associate (a PaymentUser).
#[utoipa::path(put, path = "/payment/kpayment/v1/dealers/{dealerUuid}/associates/{dealerAssociateUuid}", tag = "dealer data",
    params(("dealerUuid" = String, Path), ("dealerAssociateUuid" = String, Path)),
    request_body = AssociateUpsert,
    responses((status = 200, body = AssociateResponse), (status = 400, body = V1ErrorEnvelope),
        (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("operatorToken" = []), ("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn upsert_associate(
    State(app): State<AppState>,
    p: Principal,
    Path((dealer_uuid, uuid)): Path<(String, String)>,
    JsonBody(req): JsonBody<AssociateUpsert>,
) -> ApiResult<Json<AssociateResponse>> {
    Ok(Json(AssociateResponse::new(
        core::upsert_associate(&app, &p, &dealer_uuid, &uuid, req).await?,
    )))
}

/// Create or update a customer (with the blacklist flag).
#[utoipa::path(put, path = "/payment/kpayment/v1/dealers/{dealerUuid}/customers/{customerUuid}", tag = "dealer data",
    params(("dealerUuid" = String, Path), ("customerUuid" = String, Path)),
    request_body = CustomerUpsert,
    responses((status = 200, body = CustomerResponse), (status = 400, body = V1ErrorEnvelope),
        (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("operatorToken" = []), ("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn upsert_customer(
    State(app): State<AppState>,
    p: Principal,
    Path((dealer_uuid, uuid)): Path<(String, String)>,
    JsonBody(req): JsonBody<CustomerUpsert>,
) -> ApiResult<Json<CustomerResponse>> {
    Ok(Json(CustomerResponse::new(
        core::upsert_customer(&app, &p, &dealer_uuid, &uuid, req).await?,
    )))
}

/// Create or update a vehicle.
#[utoipa::path(put, path = "/payment/kpayment/v1/dealers/{dealerUuid}/vehicles/{vehicleUuid}", tag = "dealer data",
    params(("dealerUuid" = String, Path), ("vehicleUuid" = String, Path)),
    request_body = VehicleUpsert,
    responses((status = 200, body = VehicleResponse), (status = 400, body = V1ErrorEnvelope),
        (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("operatorToken" = []), ("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn upsert_vehicle(
    State(app): State<AppState>,
    p: Principal,
    Path((dealer_uuid, uuid)): Path<(String, String)>,
    JsonBody(req): JsonBody<VehicleUpsert>,
) -> ApiResult<Json<VehicleResponse>> {
    Ok(Json(VehicleResponse::new(
        core::upsert_vehicle(&app, &p, &dealer_uuid, &uuid, req).await?,
    )))
}

/// Create or update a dealer order (repair order); `orderStatus` opens or closes it.
///
/// The order number is unique per dealer and order type: reusing it for another order
/// uuid answers 409 `ORDER_ALREADY_EXISTS`.
#[utoipa::path(put, path = "/payment/kpayment/v1/dealers/{dealerUuid}/orders/{dealerOrderUuid}", tag = "dealer data",
    params(("dealerUuid" = String, Path), ("dealerOrderUuid" = String, Path)),
    request_body = OrderUpsert,
    responses((status = 200, body = OrderResponse), (status = 400, body = V1ErrorEnvelope),
        (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("operatorToken" = []), ("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn upsert_order(
    State(app): State<AppState>,
    p: Principal,
    Path((dealer_uuid, uuid)): Path<(String, String)>,
    JsonBody(req): JsonBody<OrderUpsert>,
) -> ApiResult<Json<OrderResponse>> {
    Ok(Json(OrderResponse::new(
        core::upsert_order(&app, &p, &dealer_uuid, &uuid, req).await?,
    )))
}

/// Create or update an invoice (the InvoiceDTO of a DMS sync, with its attributes).
#[utoipa::path(put, path = "/payment/kpayment/v1/invoices/{invoiceGuid}", tag = "dealer data",
    params(("invoiceGuid" = String, Path)),
    request_body = InvoiceUpsert,
    responses((status = 200, body = InvoiceResponse), (status = 400, body = V1ErrorEnvelope),
        (status = 401, body = V1ErrorEnvelope), (status = 404, body = V1ErrorEnvelope), (status = 409, body = V1ErrorEnvelope)),
    security(("operatorToken" = []), ("partnerBasic" = []), ("dealerToken" = [])))]
pub async fn upsert_invoice(
    State(app): State<AppState>,
    p: Principal,
    Path(guid): Path<String>,
    JsonBody(req): JsonBody<InvoiceUpsert>,
) -> ApiResult<Json<InvoiceResponse>> {
    Ok(Json(InvoiceResponse::new(
        core::upsert_invoice(&app, &p, &guid, req).await?,
    )))
}
