//! DMS-sync upserts (scope `payment.dealerdata`, ServiceSubscriberScope; creating a dealer
//! needs the operator token). Each handler turns the body into an engine command (the engine
//! validates every field, in the documented order) and the outcome into the record it
//! answers with.

use super::v1_ok;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::JsonBody;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use domain::Timestamp;
use engine::dealer_data as dd;
use engine::validate::bps_to_percent;
use store::repo::dealers::DealerRow;
use wire::*;

v1_ok!(DealerResponse, dealer: DealerRecord);
v1_ok!(DepartmentResponse, department: DepartmentRecord);
v1_ok!(AssociateResponse, dealer_associate: AssociateRecord);
v1_ok!(CustomerResponse, customer: CustomerRecord);
v1_ok!(VehicleResponse, vehicle: VehicleRecord);
v1_ok!(OrderResponse, dealer_order: OrderRecord);
v1_ok!(InvoiceResponse, invoice: InvoiceRecord);

/// `201 Created` for a new record, `200 OK` for an update.
pub fn created_status(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// The dealer record a dealer upsert answers with.
pub fn dealer_record(row: &DealerRow) -> DealerRecord {
    DealerRecord {
        id: row.id,
        uuid: row.uuid.clone(),
        name: row.name.clone(),
        version: row.version,
        settings: DealerSettings {
            duplicate_transaction_window_minutes: row.duplicate_window_minutes,
            enforce_cvv: row.enforce_cvv,
            enforce_zip: row.enforce_zip,
            surcharge_enabled: row.surcharge_enabled,
            surcharge_percent: bps_to_percent(row.surcharge_bps),
            dual_pricing_enabled: row.dual_pricing_enabled,
            dual_pricing_percent: bps_to_percent(row.dual_pricing_bps),
            sales_tax_enabled: row.sales_tax_enabled,
            sales_tax_percent: bps_to_percent(row.sales_tax_bps),
            allow_partial_payments: row.allow_partial_payments,
            payment_provider: row.payment_provider.clone(),
            ach_provider: row.ach_provider.clone(),
            preferred_dealer_id: row.preferred_dealer_id.clone(),
        },
        profile: serde_json::from_str(&row.profile).unwrap_or_default(),
        created_at: Timestamp::from_millis(row.created_at),
        updated_at: Timestamp::from_millis(row.updated_at),
    }
}

fn settings_change(s: DealerSettingsInput) -> dd::DealerSettingsChange {
    dd::DealerSettingsChange {
        duplicate_transaction_window_minutes: s.duplicate_transaction_window_minutes,
        enforce_cvv: s.enforce_cvv,
        enforce_zip: s.enforce_zip,
        surcharge_enabled: s.surcharge_enabled,
        surcharge_percent: s.surcharge_percent,
        dual_pricing_enabled: s.dual_pricing_enabled,
        dual_pricing_percent: s.dual_pricing_percent,
        sales_tax_enabled: s.sales_tax_enabled,
        sales_tax_percent: s.sales_tax_percent,
        allow_partial_payments: s.allow_partial_payments,
        payment_provider: s.payment_provider,
        ach_provider: s.ach_provider,
        preferred_dealer_id: s.preferred_dealer_id,
    }
}

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
    Caller(actor): Caller,
    Path(dealer_uuid): Path<String>,
    JsonBody(req): JsonBody<DealerUpsert>,
) -> ApiResult<(StatusCode, Json<DealerResponse>)> {
    let cmd = dd::UpsertDealer {
        dealer_uuid,
        name: req.name,
        settings: settings_change(req.settings),
        profile: req.profile,
    };
    let out = app.engine.upsert_dealer(&actor, cmd).await?;
    Ok((
        created_status(out.created),
        Json(DealerResponse::new(dealer_record(&out.dealer))),
    ))
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
    Caller(actor): Caller,
    Path((dealer_uuid, uuid)): Path<(String, String)>,
    JsonBody(req): JsonBody<DepartmentUpsert>,
) -> ApiResult<Json<DepartmentResponse>> {
    let cmd = dd::UpsertDepartment {
        dealer_uuid,
        department_uuid: uuid,
        name: req.name,
        department_type: req.department_type,
        profile: req.profile,
    };
    let out = app.engine.upsert_department(&actor, cmd).await?;
    let d = out.department;
    Ok(Json(DepartmentResponse::new(DepartmentRecord {
        id: d.id,
        uuid: d.uuid,
        dealer_uuid: out.dealer_uuid,
        name: d.name,
        department_type: d.department_type,
        profile: out.profile,
    })))
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
    Caller(actor): Caller,
    Path((dealer_uuid, uuid)): Path<(String, String)>,
    JsonBody(req): JsonBody<AssociateUpsert>,
) -> ApiResult<Json<AssociateResponse>> {
    let cmd = dd::UpsertAssociate {
        dealer_uuid,
        associate_uuid: uuid,
        user_uuid: req.user_uuid,
        first_name: req.first_name,
        last_name: req.last_name,
        department_uuid: req.department_uuid,
        profile: req.profile,
    };
    let out = app.engine.upsert_associate(&actor, cmd).await?;
    let a = out.associate;
    Ok(Json(AssociateResponse::new(AssociateRecord {
        id: a.id,
        uuid: a.uuid,
        user_uuid: a.user_uuid,
        first_name: a.first_name,
        last_name: a.last_name,
        department_uuid: out.department_uuid,
        profile: out.profile,
    })))
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
    Caller(actor): Caller,
    Path((dealer_uuid, uuid)): Path<(String, String)>,
    JsonBody(req): JsonBody<CustomerUpsert>,
) -> ApiResult<Json<CustomerResponse>> {
    let cmd = dd::UpsertCustomer {
        dealer_uuid,
        customer_uuid: uuid,
        first_name: req.first_name,
        middle_name: req.middle_name,
        last_name: req.last_name,
        company: req.company,
        email: req.email,
        phone: req.phone,
        blacklisted: req.blacklisted,
        profile: req.profile,
    };
    let out = app.engine.upsert_customer(&actor, cmd).await?;
    let c = out.customer;
    Ok(Json(CustomerResponse::new(CustomerRecord {
        id: c.id,
        uuid: c.uuid,
        first_name: c.first_name,
        middle_name: c.middle_name,
        last_name: c.last_name,
        company: c.company,
        email: c.email,
        phone: c.phone,
        blacklisted: c.blacklisted,
        profile: out.profile,
    })))
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
    Caller(actor): Caller,
    Path((dealer_uuid, uuid)): Path<(String, String)>,
    JsonBody(req): JsonBody<VehicleUpsert>,
) -> ApiResult<Json<VehicleResponse>> {
    let cmd = dd::UpsertVehicle {
        dealer_uuid,
        vehicle_uuid: uuid,
        customer_uuid: req.customer_uuid,
        vin: req.vin,
        make: req.make,
        profile: req.profile,
    };
    let v = app.engine.upsert_vehicle(&actor, cmd).await?;
    Ok(Json(VehicleResponse::new(VehicleRecord {
        id: v.id,
        uuid: v.uuid,
        customer_uuid: v.customer_uuid,
        vin: v.vin,
        make: v.make,
        profile: v.profile,
    })))
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
    Caller(actor): Caller,
    Path((dealer_uuid, uuid)): Path<(String, String)>,
    JsonBody(req): JsonBody<OrderUpsert>,
) -> ApiResult<Json<OrderResponse>> {
    let cmd = dd::UpsertOrder {
        dealer_uuid,
        order_uuid: uuid,
        order_number: req.order_number,
        order_type: req.order_type,
        order_status: req.order_status,
        amount: req.amount,
        order_date: req.order_date,
        department_uuid: req.department_uuid,
        customer_uuid: req.customer_uuid,
        vehicle_uuid: req.vehicle_uuid,
        dealer_associate_uuid: req.dealer_associate_uuid,
        profile: req.profile,
    };
    let out = app.engine.upsert_order(&actor, cmd).await?;
    let o = out.order;
    Ok(Json(OrderResponse::new(OrderRecord {
        id: o.id,
        uuid: o.uuid,
        order_number: o.order_number,
        order_type: o.order_type,
        order_status: o.order_status.as_str().to_string(),
        amount: o.amount,
        paid_amount: o.paid,
        order_date: Timestamp::from_millis(o.order_date),
        department_uuid: out.department_uuid,
        customer_uuid: out.customer_uuid,
        vehicle_uuid: out.vehicle_uuid,
        dealer_associate_uuid: out.dealer_associate_uuid,
        profile: out.profile,
    })))
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
    Caller(actor): Caller,
    Path(guid): Path<String>,
    JsonBody(req): JsonBody<InvoiceUpsert>,
) -> ApiResult<Json<InvoiceResponse>> {
    let cmd = dd::UpsertInvoice {
        invoice_guid: guid,
        dealer_uuid: req.payment_dealer.and_then(|d| d.dealer_uuid),
        dealer_order_uuid: req.payment_dealer_order.and_then(|o| o.dealer_order_uuid),
        customer_uuid: req.payment_customer.and_then(|c| c.customer_uuid),
        dealer_associate_uuid: req.payment_user.and_then(|u| u.dealer_associate_uuid),
        amount: req.amount,
        invoice_date: req.invoice_date,
        description: req.description,
        file_name: req.file_name,
        reminder_date: req.reminder_date,
        reminder_mileage: req.reminder_mileage,
        attributes: req.invoice_attributes,
    };
    let out = app.engine.upsert_invoice(&actor, cmd).await?;
    let i = &out.invoice;
    Ok(Json(InvoiceResponse::new(InvoiceRecord {
        id: i.id,
        guid: i.guid.clone(),
        version: i.version,
        invoice_status: i.status().to_string(),
        amount: i.amount,
        paid_amount: i.paid,
        refunded_amount: i.refunded,
        amount_due: i.due(),
        dealer_uuid: out.dealer_uuid,
        dealer_order_uuid: out.dealer_order_uuid,
        customer_uuid: out.customer_uuid,
        dealer_associate_uuid: out.dealer_associate_uuid,
        invoice_attributes: out.attributes.into_iter().collect(),
    })))
}
