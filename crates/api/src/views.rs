//! Read models → documented wire shapes (seed pages 002 and 003). Fields we have no data
//! for are null only where the thing does not exist (no signature request, no vehicle…).
//! Everything is built from rows already loaded; nothing here reads the database.

use domain::profiles::{
    AssociateProfile, CustomerProfile, DealerProfile, DepartmentProfile, OrderProfile,
    VehicleProfile,
};
use domain::status::{TransactionStatus, TransactionType};
use domain::{Money, Timestamp};
use store::repo::{
    attempts::AttemptRow, dealers, invoices::InvoiceRow, transactions::TransactionRow,
};
use store::views::{AttemptView, InvoiceAttempts, InvoiceContext, Person};
use wire::*;

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

pub fn payment_user(a: &dealers::AssociateRow, department_uuid: Option<&str>) -> PaymentUser {
    PaymentUser {
        id: a.id,
        dealer_associate_uuid: Some(a.uuid.clone()),
        user_uuid: Some(a.user_uuid.clone()),
        dealer_department_uuid: department_uuid.map(str::to_string),
    }
}

pub fn payment_customer(c: &dealers::CustomerRow) -> PaymentCustomer {
    PaymentCustomer {
        customer_uuid: c.uuid.clone(),
        first_name: c.first_name.clone(),
        middle_name: c.middle_name.clone(),
        last_name: c.last_name.clone(),
        company: c.company.clone(),
    }
}

pub fn customer(c: &dealers::CustomerRow) -> Customer {
    let p: CustomerProfile = serde_json::from_str(&c.profile).unwrap_or_default();
    Customer {
        first_name: c.first_name.clone(),
        middle_name: c.middle_name.clone(),
        last_name: c.last_name.clone(),
        gender: p.gender,
        company: c.company.clone(),
        nick_name: p.nick_name,
        customer_key: p.customer_key,
        image_url: p.image_url,
        guid: c.uuid.clone(),
        is_valid: !c.blacklisted,
        status: p.status,
        opted_out: p.opted_out,
        is_indexed: false,
        preferred_locale: p.preferred_locale,
        availability: p.availability,
        phone: c.phone.clone(),
        email: c.email.clone(),
        phone_communication_id: None,
        email_communication_id: None,
    }
}

pub fn dealer(d: &dealers::DealerRow) -> Dealer {
    let p: DealerProfile = serde_json::from_str(&d.profile).unwrap_or_default();
    Dealer {
        id: d.id,
        name: d.name.clone(),
        contract_name: p.contract_name,
        number: p.number,
        comments: p.comments,
        is_valid: true,
        phone_number: p.phone_number,
        email_id: p.email_id,
        website: p.website,
        map_url: p.map_url,
        pickup_offered: p.pickup_offered,
        dropoff_offered: p.dropoff_offered,
        shuttle_offered: p.shuttle_offered,
        coupon_offered: p.coupon_offered,
        loaner_offered: p.loaner_offered,
        service_dept_hours_text: p.service_dept_hours_text,
        parts_dept_hours_text: p.parts_dept_hours_text,
        sales_dept_hours_text: p.sales_dept_hours_text,
        fi_dept_hours_text: p.fi_dept_hours_text,
        in_network: p.in_network,
        latitude: p.latitude,
        longitude: p.longitude,
        altitude: p.altitude,
        is_system_dealer: p.is_system_dealer,
        nick_name: p.nick_name,
        uuid: d.uuid.clone(),
    }
}

pub fn vehicle(v: &dealers::VehicleRow) -> Vehicle {
    let p: VehicleProfile = serde_json::from_str(&v.profile).unwrap_or_default();
    Vehicle {
        id: v.id,
        version: v.version,
        brand: v
            .brand_id
            .zip(v.brand_name.clone())
            .map(|(id, name)| VehicleBrand {
                id,
                version: v.brand_version.unwrap_or(0),
                brand_name: name,
                is_valid: true,
            }),
        vin: v.vin.clone(),
        has_obd_device: p.has_obd_device,
        license_plate: p.license_plate,
        bought_date: p.bought_date,
        sold_date: p.sold_date,
        added_date: Some(ts(v.created_at)),
        model: p.model,
        year: p.year,
        trim: p.trim,
        engine: p.engine,
        body: p.body,
        latest_mileage: p.latest_mileage,
        transmission: p.transmission,
        name: p.name,
        make: v.brand_name.clone(),
        mileage: p.mileage,
        is_primary: p.is_primary,
        last_service_date: p.last_service_date,
        license_state_code: p.license_state_code,
        license_state_description: p.license_state_description,
        vehicle_key: p.vehicle_key,
        status: p.status,
        parent: None,
        color: p.color,
        uuid: v.uuid.clone(),
        is_valid: true,
    }
}

fn person_user(p: &Person) -> PaymentUser {
    payment_user(&p.associate, p.department.as_ref().map(|d| d.uuid.as_str()))
}

pub fn payment_dealer_order(c: &InvoiceContext) -> PaymentDealerOrder {
    let o = &c.order;
    let p: OrderProfile = serde_json::from_str(&o.profile).unwrap_or_default();
    PaymentDealerOrder {
        order_number: o.order_number.clone(),
        order_type: Some(o.order_type.clone()),
        order_date: Some(ts(o.order_date)),
        payment_dealer: PaymentDealer {
            dealer_uuid: c.dealer.uuid.clone(),
            name: Some(c.dealer.name.clone()),
        },
        payment_customer: payment_customer(&c.order_customer),
        payment_user: c.owner.as_ref().map(person_user),
        signature_request_id: None,
        department_uuid: c.department.uuid.clone(),
        dealer_order_uuid: o.uuid.clone(),
        number_of_invoices: c.invoice_count,
        ready_ro_data: p.ready_ro_data,
        paid_amount: o.paid,
        amount: o.amount,
        dealer_order_sync_date: Some(p.dealer_order_sync_date.unwrap_or(ts(o.updated_at))),
        paid_in_kaarma: o.paid > Money::ZERO,
        suspicious: false,
        paid: o.is_paid(),
        payment_request_sent: o.payment_request_sent,
        paid_online: o.paid > Money::ZERO,
    }
}

pub fn dealer_order(c: &InvoiceContext) -> DealerOrder {
    let o = &c.order;
    let p: OrderProfile = serde_json::from_str(&o.profile).unwrap_or_default();
    DealerOrder {
        id: o.id,
        order_number: o.order_number.clone(),
        order_type: Some(o.order_type.clone()),
        amount: o.amount,
        order_date: Some(ts(o.order_date)),
        description: p.description,
        order_status: Some(o.order_status.as_str().to_string()),
        invoice_url: p.invoice_url,
        ready_ro_data: p.ready_ro_data,
        mileage_text: p.mileage_text,
        department_type: Some(c.department.department_type.clone()),
        labour_op_types: p.labour_op_types,
        dms_description: p.dmsdescription,
        uuid: o.uuid.clone(),
        updated_dt: ts(o.updated_at),
        created_dt: ts(o.created_at),
        pay_types: p.pay_types,
        labor_types: p.labor_types,
        tag_or_hat: p.tag_or_hat,
        vehicle: c.vehicle.as_ref().map(vehicle),
        signature_request_id: None,
        paid_amount: o.paid,
        delivery_amount: p.delivery_amount.unwrap_or_default(),
        customer_signature_url: None,
        paid: o.is_paid(),
        payment_request_sent: o.payment_request_sent,
        paid_online: o.paid > Money::ZERO,
    }
}

pub fn attempt_invoice(i: &InvoiceRow) -> PaymentAttemptInvoice {
    PaymentAttemptInvoice {
        id: i.id,
        version: i.version,
        guid: i.guid.clone(),
        invoice_status: i.status().to_string(),
        amount: i.amount,
        invoice_date: ts(i.invoice_date),
        description: i.description.clone(),
        refunded_amount: i.refunded,
        paid_date: i.paid_at.map(ts),
        signature_file_name: None,
    }
}

/// A payment attempt in the v3 status shape, with its transaction (approved) or
/// transaction incomplete (declined, failed).
fn payment_attempt(
    a: &AttemptRow,
    ctx: &InvoiceContext,
    user: Option<PaymentUser>,
    transaction: Option<(i64, TransactionDto)>,
) -> PaymentAttemptDto {
    let (transaction_id, transaction, transaction_incomplete) = match transaction {
        Some((id, t)) if t.status == TransactionStatus::Approved => (Some(id), Some(t), None),
        Some((id, t)) => (Some(id), None, Some(t)),
        None => (None, None, None),
    };
    PaymentAttemptDto {
        id: a.id,
        uuid: a.uuid.clone(),
        status: a.status,
        payment_customer: payment_customer(&ctx.order_customer),
        payment_dealer_order: payment_dealer_order(ctx),
        payment_user: user,
        invoice: attempt_invoice(&ctx.invoice),
        transaction_type: a.transaction_type,
        payment_type: a.payment_type.clone(),
        amount: a.amount,
        creation_time: ts(a.created_at),
        updated_time_stamp: ts(a.updated_at),
        response_description: a.response_description.clone(),
        response_code: a.response_code.clone(),
        transaction,
        transaction_incomplete,
        payment_provider: Some(a.payment_provider.clone()),
        payment_mode: PaymentMode::Online,
        transaction_id,
        attempt_number: a.attempt_number,
        currency: a.currency.clone(),
        payment_attempt_attributes: serde_json::from_str(&a.attributes).unwrap_or_default(),
        next_action: a
            .next_action
            .as_deref()
            .and_then(|n| serde_json::from_str(n).ok()),
    }
}

/// `transactionType` object of the payment-request transaction list.
pub fn transaction_type_info(kind: TransactionType) -> TransactionTypeInfo {
    let (id, description, deposit) = match kind {
        TransactionType::Refund => (2, "Card refund", -1),
        TransactionType::Void => (3, "Card void", -1),
        TransactionType::Charge => (1, "Card charge", 1),
    };
    TransactionTypeInfo {
        id,
        short_code: kind.as_str().to_string(),
        description: Some(description.into()),
        deposit,
        fee: 0,
    }
}

/// What of a transaction still stands: a charge less its refunds and voids; reversals 0.
fn standing(t: &TransactionRow) -> Money {
    if t.is_live_charge() {
        t.refundable()
    } else {
        Money::ZERO
    }
}

pub fn transaction_summary(t: &TransactionRow) -> TransactionSummary {
    TransactionSummary {
        id: t.id,
        transaction_type: transaction_type_info(t.transaction_type),
        description: t.response_reason.clone(),
        trans_date: ts(t.created_at),
        trans_amount: t.total,
        account_balance: standing(t),
        trans_ref_num: t.auth_code.clone(),
        details: Some(t.status.as_str().to_string()),
        category: Some(
            t.funding
                .clone()
                .unwrap_or_else(|| "credit".into())
                .to_ascii_uppercase(),
        ),
        source: Some("ONLINE".into()),
        is_reconciled: false,
        is_settled: t.is_settled,
        reconciled_date: None,
        settled_date: t.settled_at.map(ts),
        device_id: None,
        payment_gateway_trans_id: t.processor_txn_id.clone(),
        is_voided: t.is_voided,
        payment_provider: Some(t.processor.clone()),
        uuid: t.uuid.clone(),
    }
}

/// ISO-8583-ish response codes as the integer reason codes of the gateway response shape.
fn reason_code(code: Option<&str>) -> i64 {
    match code {
        Some(c) => c.parse().unwrap_or(match c {
            "N7" => 78,
            "N4" => 74,
            _ => 0,
        }),
        None => 0,
    }
}

pub fn gateway_response(
    t: &TransactionRow,
    attempt_uuid: &str,
    parent: Option<&TransactionRow>,
    three_ds: Option<bool>,
) -> PaymentGatewayResponse {
    let (code, approved, declined, error) = match t.status {
        TransactionStatus::Approved => (1, true, false, false),
        TransactionStatus::Declined => (2, false, true, false),
        _ => (3, false, false, true),
    };
    PaymentGatewayResponse {
        id: t.id,
        version: 0,
        response_code: code,
        response_reason_code: reason_code(t.response_code.as_deref()),
        response_reason_text: t.response_reason.clone(),
        authorization_code: t.auth_code.clone(),
        avs_response: t.avs_result.clone(),
        description: t.response_reason.clone(),
        amount: t.total,
        card_code_response: t.cvv_result.clone(),
        cardholder_authentication_verification_response: three_ds
            .map(|ok| if ok { "Y" } else { "N" }.to_string()),
        card_type: t.card_brand.clone(),
        pg_trans_id: t.processor_txn_id.clone(),
        pg_trans_ref_id: parent.and_then(|p| p.processor_txn_id.clone()),
        is_approved: approved,
        is_declined: declined,
        is_error: error,
        is_review: false,
        payment_provider_type: Some(t.processor.clone()),
        uuid: t.uuid.clone(),
        payment_attempt_uuid: Some(attempt_uuid.to_string()),
    }
}

pub fn tender_data(t: &TransactionRow) -> Option<TenderData> {
    let brand = t.card_brand.clone()?;
    let last4 = t.card_last4.clone()?;
    let sub_id = match brand.as_str() {
        "VISA" => 1,
        "MASTERCARD" => 2,
        "AMEX" => 3,
        "DISCOVER" => 4,
        _ => 5,
    };
    let debit = t.funding.as_deref() == Some("debit");
    Some(TenderData {
        id: t.id,
        data: Some(format!("{brand} ending {last4}")),
        hash: t.card_hash.clone(),
        tender_sub_type: TenderSubType {
            id: sub_id,
            sub_tender_name: brand,
            tender_type: TenderTypeInfo {
                id: if debit { 2 } else { 1 },
                version: 0,
                tender_name: if debit { "DEBIT" } else { "CREDIT" }.into(),
                available_on_mobile: true,
            },
            valid: true,
        },
    })
}

/// An associate in the roOwner/cashier shape; needs their department.
pub fn associate(
    a: &dealers::AssociateRow,
    dept: &dealers::DepartmentRow,
    dealer: &dealers::DealerRow,
) -> Associate {
    let p: AssociateProfile = serde_json::from_str(&a.profile).unwrap_or_default();
    let dp: DepartmentProfile = serde_json::from_str(&dept.profile).unwrap_or_default();
    Associate {
        id: a.id,
        uuid: a.uuid.clone(),
        user_uuid: a.user_uuid.clone(),
        first_name: Some(a.first_name.clone()),
        last_name: Some(a.last_name.clone()),
        user_name: p.user_name,
        cell_phone: p.cell_phone,
        text_number: p.text_number,
        is_text_number_verified: p.is_text_number_verified,
        email_address: p.email_address,
        nickname: p.nickname,
        associate_dms_id: p.associate_dms_id,
        image_url: p.image_url,
        is_valid: true,
        bio: p.bio,
        user_invite_status: None,
        default_thread_owner_user_uuid: None,
        out_of_office: false,
        out_of_office_start_date: None,
        sso_feature_enabled: false,
        is_dealer_mapped_to_sso_partner: false,
        is_sso_partner_mapped: false,
        department: AssociateDepartment {
            id: dept.id,
            name: dept.name.clone(),
            uuid: dept.uuid.clone(),
            calendar_uuid: dp.calendar_uuid,
            broker_number: dp.broker_number,
            communication_group: dp.communication_group,
            dealer: DepartmentDealer {
                id: dealer.id,
                name: dealer.name.clone(),
                uuid: dealer.uuid.clone(),
                is_valid: true,
            },
        },
        role: AssociateRole {
            role_name: p.role_name.unwrap_or_else(|| "Associate".into()),
            role_acronym: p.role_acronym,
        },
    }
}

fn transaction_invoice(ctx: &InvoiceContext, declines: i64) -> TransactionInvoice {
    let i = &ctx.invoice;
    let attributes: serde_json::Map<String, serde_json::Value> = ctx
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    TransactionInvoice {
        id: i.id,
        guid: i.guid.clone(),
        invoice_status: i.status().to_string(),
        amount: i.amount,
        invoice_date: ts(i.invoice_date),
        description: i.description.clone(),
        refunded_amount: i.refunded,
        paid_date: i.paid_at.map(ts),
        file_name: i.file_name.clone(),
        reminder_mileage: i.reminder_mileage,
        reminder_date: i.reminder_date.map(ts),
        signature_file_name: None,
        payment_declines: Some(declines.to_string()),
        invoice_attributes: attributes,
        payment_dealer: PaymentDealerRef {
            dealer_uuid: ctx.dealer.uuid.clone(),
        },
        payment_dealer_order: PaymentDealerOrderRef {
            order_number: ctx.order.order_number.clone(),
            order_type: Some(ctx.order.order_type.clone()),
            department_uuid: ctx.department.uuid.clone(),
            dealer_order_uuid: ctx.order.uuid.clone(),
        },
        payment_customer: PaymentCustomerRef {
            customer_uuid: ctx.order_customer.uuid.clone(),
        },
        payment_user: ctx.invoice_person.as_ref().map(person_user),
    }
}

fn person_associate(p: &Person, dealer: &dealers::DealerRow) -> Option<Associate> {
    Some(associate(&p.associate, p.department.as_ref()?, dealer))
}

fn cents(m: Money) -> String {
    m.to_string()
}

/// The documented shape of one attempt, with its transaction (approved) or transaction
/// incomplete (declined, failed).
pub fn attempt_dto(v: &AttemptView) -> PaymentAttemptDto {
    let a = &v.attempt;
    let ctx = &v.context;
    let user = v.cashier.as_ref().map(person_user);
    let t = v
        .transaction
        .as_ref()
        .map(|t| (t.id, transaction_dto(v, t)));
    payment_attempt(a, ctx, user, t)
}

fn transaction_dto(v: &AttemptView, t: &TransactionRow) -> TransactionDto {
    let a = &v.attempt;
    let ctx = &v.context;
    let parent = v.parent.as_ref();
    let approved = t.status == TransactionStatus::Approved;
    let is_3ds = a.next_action.is_some() || a.three_ds_failed;
    TransactionDto {
        status: t.status,
        id: t.id,
        uuid: t.uuid.clone(),
        payment_gateway_response: Some(gateway_response(
            t,
            &a.uuid,
            parent,
            is_3ds.then_some(!a.three_ds_failed && approved),
        )),
        payment_user: v.cashier.as_ref().map(person_user),
        transaction_type: t.transaction_type,
        invoice: transaction_invoice(ctx, v.declines),
        tender_data: tender_data(t),
        description: t.response_reason.clone(),
        trans_date: Timestamp::from_millis(t.created_at),
        trans_amount: t.total,
        source: Some("ONLINE".into()),
        payment_provider: Some(t.processor.clone()),
        payment_dealer: PaymentDealer {
            dealer_uuid: ctx.dealer.uuid.clone(),
            name: Some(ctx.dealer.name.clone()),
        },
        payment_dealer_order: payment_dealer_order(ctx),
        payment_customer: payment_customer(&ctx.order_customer),
        device_type: DeviceType::Manual,
        transaction_attributes: serde_json::from_str(&a.attributes).unwrap_or_default(),
        account_balance: transaction_summary(t).account_balance,
        details: Some(format!(
            "amount {} surcharge {} dual pricing {} sales tax {}",
            cents(t.amount),
            cents(t.surcharge),
            cents(t.dual_pricing),
            cents(t.sales_tax)
        )),
        is_settled: t.is_settled,
        settled_date: t.settled_at.map(Timestamp::from_millis),
        payment_gateway_trans_id: t.processor_txn_id.clone(),
        is_voided: t.is_voided,
        ip_address: serde_json::from_str::<serde_json::Value>(&a.request)
            .ok()
            .and_then(|r| {
                r.get("ipAddress")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            }),
        parent_transaction: parent.map(transaction_summary),
        transaction_details: v
            .details
            .iter()
            .map(|d| TransactionDetail {
                id: d.id,
                transaction_id: approved.then_some(t.id),
                transaction_incomplete_id: (!approved).then_some(t.id),
                detail_type: d.detail_type.clone(),
                amount: d.amount,
                description: d.description.clone(),
            })
            .collect(),
        ro_owner: ctx
            .owner
            .as_ref()
            .and_then(|p| person_associate(p, &ctx.dealer)),
        cashier: v
            .cashier
            .as_ref()
            .and_then(|p| person_associate(p, &ctx.dealer)),
        three_ds_authentication_failed: a.three_ds_failed,
    }
}

/// The documented v3 status shape of an invoice's attempts.
pub fn status_dto(v: &InvoiceAttempts) -> PaymentStatusResponse {
    PaymentStatusResponse {
        error: None,
        warnings: vec![],
        payment_attempts: v
            .attempts
            .iter()
            .map(|item| attempt_dto(&v.view(item)))
            .collect(),
        signed_document_url: None,
    }
}
