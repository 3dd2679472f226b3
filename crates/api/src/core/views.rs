//! Storage rows → documented wire shapes (seed pages 002 and 003). Fields we have no data
//! for are null only where the thing does not exist (no signature request, no vehicle…).

use super::dealer_data::{CustomerProfile, DealerProfile, OrderProfile, VehicleProfile};
use domain::{Money, Timestamp};
use store::repo::{attempts::AttemptRow, dealers, invoices::InvoiceRow, orders::OrderRow};
use wire::*;

fn money(cents: i64) -> Money {
    Money::from_cents(cents).unwrap_or_default()
}

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
        is_valid: c.blacklisted == 0,
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

/// Everything an order is shown with.
pub struct OrderContext<'a> {
    pub order: &'a OrderRow,
    pub dealer: &'a dealers::DealerRow,
    pub department: &'a dealers::DepartmentRow,
    pub customer: &'a dealers::CustomerRow,
    /// The order's owner (RO owner), with their department's uuid.
    pub owner: Option<(&'a dealers::AssociateRow, Option<String>)>,
    pub vehicle: Option<&'a dealers::VehicleRow>,
    pub invoice_count: i64,
}

fn order_paid(o: &OrderRow) -> bool {
    o.amount_cents > 0 && o.paid_cents >= o.amount_cents
}

pub fn payment_dealer_order(c: &OrderContext) -> PaymentDealerOrder {
    let o = c.order;
    let p: OrderProfile = serde_json::from_str(&o.profile).unwrap_or_default();
    PaymentDealerOrder {
        order_number: o.order_number.clone(),
        order_type: Some(o.order_type.clone()),
        order_date: Some(ts(o.order_date)),
        payment_dealer: PaymentDealer {
            dealer_uuid: c.dealer.uuid.clone(),
            name: Some(c.dealer.name.clone()),
        },
        payment_customer: payment_customer(c.customer),
        payment_user: c.owner.as_ref().map(|(a, d)| payment_user(a, d.as_deref())),
        signature_request_id: None,
        department_uuid: c.department.uuid.clone(),
        dealer_order_uuid: o.uuid.clone(),
        number_of_invoices: c.invoice_count,
        ready_ro_data: p.ready_ro_data,
        paid_amount: money(o.paid_cents),
        amount: money(o.amount_cents),
        dealer_order_sync_date: Some(p.dealer_order_sync_date.unwrap_or(ts(o.updated_at))),
        paid_in_kaarma: o.paid_cents > 0,
        suspicious: false,
        paid: order_paid(o),
        payment_request_sent: o.payment_request_sent != 0,
        paid_online: o.paid_cents > 0,
    }
}

pub fn dealer_order(c: &OrderContext) -> DealerOrder {
    let o = c.order;
    let p: OrderProfile = serde_json::from_str(&o.profile).unwrap_or_default();
    DealerOrder {
        id: o.id,
        order_number: o.order_number.clone(),
        order_type: Some(o.order_type.clone()),
        amount: money(o.amount_cents),
        order_date: Some(ts(o.order_date)),
        description: p.description,
        order_status: Some(o.order_status.clone()),
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
        vehicle: c.vehicle.map(vehicle),
        signature_request_id: None,
        paid_amount: money(o.paid_cents),
        delivery_amount: p.delivery_amount.unwrap_or_default(),
        customer_signature_url: None,
        paid: order_paid(o),
        payment_request_sent: o.payment_request_sent != 0,
        paid_online: o.paid_cents > 0,
    }
}

pub fn attempt_invoice(i: &InvoiceRow) -> PaymentAttemptInvoice {
    PaymentAttemptInvoice {
        id: i.id,
        version: i.version,
        guid: i.guid.clone(),
        invoice_status: i.status().to_string(),
        amount: money(i.amount_cents),
        invoice_date: ts(i.invoice_date),
        description: i.description.clone(),
        refunded_amount: money(i.refunded_cents),
        paid_date: i.paid_at.map(ts),
        signature_file_name: None,
    }
}

/// A payment attempt in the v3 status shape. Transactions join in with the card-payment work.
pub fn payment_attempt(
    a: &AttemptRow,
    invoice: &InvoiceRow,
    ctx: &OrderContext,
    user: Option<PaymentUser>,
) -> PaymentAttemptDto {
    PaymentAttemptDto {
        id: a.id,
        uuid: a.uuid.clone(),
        status: PaymentAttemptStatus::parse(&a.status).unwrap_or(PaymentAttemptStatus::Created),
        payment_customer: payment_customer(ctx.customer),
        payment_dealer_order: payment_dealer_order(ctx),
        payment_user: user,
        invoice: attempt_invoice(invoice),
        transaction_type: TransactionType::parse(&a.transaction_type)
            .unwrap_or(TransactionType::Charge),
        payment_type: a.payment_type.clone(),
        amount: money(a.amount_cents),
        creation_time: ts(a.created_at),
        updated_time_stamp: ts(a.updated_at),
        response_description: a.response_description.clone(),
        response_code: a.response_code.clone(),
        transaction: None,
        transaction_incomplete: None,
        payment_provider: Some(a.payment_provider.clone()),
        payment_mode: PaymentMode::Online,
        transaction_id: None,
        attempt_number: a.attempt_number,
        currency: a.currency.clone(),
        payment_attempt_attributes: serde_json::from_str(&a.attributes).unwrap_or_default(),
        next_action: a
            .next_action
            .as_deref()
            .and_then(|n| serde_json::from_str(n).ok()),
    }
}
