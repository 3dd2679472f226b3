//! Loads what an invoice's payment attempts are shown with — order, dealer, people,
//! transactions — once, then maps each attempt to the documented shape.

use super::views::{self, OrderContext};
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use std::collections::HashMap;
use store::repo::attempts::AttemptRow;
use store::repo::transactions::TransactionRow;
use store::repo::{attempts, dealers, invoices, orders, transactions};
use wire::{PaymentAttemptDto, PaymentUser, TransactionDetail, TransactionDto};

pub struct InvoiceView {
    pub invoice: invoices::InvoiceRow,
    pub order: orders::OrderRow,
    pub dealer: dealers::DealerRow,
    pub department: dealers::DepartmentRow,
    pub customer: dealers::CustomerRow,
    pub vehicle: Option<dealers::VehicleRow>,
    pub invoice_count: i64,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub transactions: Vec<TransactionRow>,
    /// Associates seen on the order or its attempts, with their departments.
    people: HashMap<i64, (dealers::AssociateRow, Option<dealers::DepartmentRow>)>,
}

fn missing(what: &str) -> ApiError {
    ApiError::internal(format!("inconsistent data: missing {what}"))
}

impl InvoiceView {
    pub async fn load(app: &AppState, invoice: invoices::InvoiceRow) -> ApiResult<InvoiceView> {
        let db = &app.db;
        let order = orders::by_id(db, invoice.dealer_order_id)
            .await?
            .ok_or_else(|| missing("order"))?;
        let dealer = dealers::dealer_by_id(db, order.dealer_id)
            .await?
            .ok_or_else(|| missing("dealer"))?;
        let department = dealers::department_by_id(db, order.department_id)
            .await?
            .ok_or_else(|| missing("department"))?;
        let customer = dealers::customer_by_id(db, order.customer_id)
            .await?
            .ok_or_else(|| missing("customer"))?;
        let vehicle = match order.vehicle_id {
            Some(id) => dealers::vehicle_by_id(db, id).await?,
            None => None,
        };
        let attributes = invoices::attributes(db, invoice.id)
            .await?
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        let mut view = InvoiceView {
            invoice_count: orders::invoice_count(db, order.id).await?,
            transactions: transactions::for_invoice(db, invoice.id).await?,
            invoice,
            order,
            dealer,
            department,
            customer,
            vehicle,
            attributes,
            people: HashMap::new(),
        };
        if let Some(id) = view.order.associate_id {
            view.person(app, id).await?;
        }
        Ok(view)
    }

    async fn person(&mut self, app: &AppState, id: i64) -> ApiResult<()> {
        if self.people.contains_key(&id) {
            return Ok(());
        }
        if let Some(a) = dealers::associate_by_id(&app.db, id).await? {
            let dept = match a.department_id {
                Some(d) if d == self.department.id => Some(self.department.clone()),
                Some(d) => dealers::department_by_id(&app.db, d).await?,
                None => None,
            };
            self.people.insert(id, (a, dept));
        }
        Ok(())
    }

    fn payment_user(&self, id: Option<i64>) -> Option<PaymentUser> {
        let (a, d) = self.people.get(&id?)?;
        Some(views::payment_user(a, d.as_ref().map(|d| d.uuid.as_str())))
    }

    fn associate(&self, id: Option<i64>) -> Option<wire::Associate> {
        let (a, d) = self.people.get(&id?)?;
        Some(views::associate(a, d.as_ref()?, &self.dealer))
    }

    pub fn ctx(&self) -> OrderContext<'_> {
        let owner = self.order.associate_id.and_then(|id| self.people.get(&id));
        OrderContext {
            order: &self.order,
            dealer: &self.dealer,
            department: &self.department,
            customer: &self.customer,
            owner: owner.map(|(a, d)| (a, d.as_ref().map(|d| d.uuid.clone()))),
            vehicle: self.vehicle.as_ref(),
            invoice_count: self.invoice_count,
        }
    }

    /// Maps every attempt (loading the people they name).
    pub async fn attempts(
        &mut self,
        app: &AppState,
        rows: &[AttemptRow],
    ) -> ApiResult<Vec<PaymentAttemptDto>> {
        for a in rows {
            if let Some(id) = a.associate_id {
                self.person(app, id).await?;
            }
        }
        let mut out = Vec::with_capacity(rows.len());
        for a in rows {
            let details = attempts::details(&app.db, a.id).await?;
            out.push(self.attempt(a, details));
        }
        Ok(out)
    }

    /// The attempt with its transaction, if it has one yet.
    pub fn attempt(
        &self,
        a: &AttemptRow,
        details: Vec<(i64, String, i64, Option<String>)>,
    ) -> PaymentAttemptDto {
        let user = self.payment_user(a.associate_id);
        let t = self
            .transactions
            .iter()
            .find(|t| t.attempt_id == a.id)
            .map(|t| (t.id, self.transaction(a, t, details)));
        views::payment_attempt(a, &self.invoice, &self.ctx(), user, t)
    }

    fn transaction(
        &self,
        a: &AttemptRow,
        t: &TransactionRow,
        details: Vec<(i64, String, i64, Option<String>)>,
    ) -> TransactionDto {
        let ctx = self.ctx();
        let parent = t
            .parent_id
            .and_then(|p| self.transactions.iter().find(|x| x.id == p));
        let declines = self
            .transactions
            .iter()
            .filter(|x| x.status != "APPROVED")
            .count() as i64;
        let approved = t.status == "APPROVED";
        let is_3ds = a.next_action.is_some() || a.three_ds_failed != 0;
        TransactionDto {
            status: wire::TransactionStatus::parse(&t.status)
                .unwrap_or(wire::TransactionStatus::Error),
            id: t.id,
            uuid: t.uuid.clone(),
            payment_gateway_response: Some(views::gateway_response(
                t,
                &a.uuid,
                parent,
                is_3ds.then_some(a.three_ds_failed == 0 && approved),
            )),
            payment_user: self.payment_user(a.associate_id),
            transaction_type: wire::TransactionType::parse(&t.transaction_type)
                .unwrap_or(wire::TransactionType::Charge),
            invoice: views::transaction_invoice(
                &self.invoice,
                &ctx,
                &self.attributes,
                declines,
                self.payment_user(Some(self.invoice.associate_id)),
            ),
            tender_data: views::tender_data(t),
            description: t.response_reason.clone(),
            trans_date: domain::Timestamp::from_millis(t.created_at),
            trans_amount: domain::Money::from_cents(t.total_cents).unwrap_or_default(),
            source: Some("ONLINE".into()),
            payment_provider: Some(t.processor.clone()),
            payment_dealer: wire::PaymentDealer {
                dealer_uuid: self.dealer.uuid.clone(),
                name: Some(self.dealer.name.clone()),
            },
            payment_dealer_order: views::payment_dealer_order(&ctx),
            payment_customer: views::payment_customer(&self.customer),
            device_type: wire::DeviceType::Manual,
            transaction_attributes: serde_json::from_str(&a.attributes).unwrap_or_default(),
            account_balance: views::transaction_summary(t).account_balance,
            details: Some(format!(
                "amount {} surcharge {} dual pricing {} sales tax {}",
                cents(t.amount_cents),
                cents(t.surcharge_cents),
                cents(t.dual_pricing_cents),
                cents(t.sales_tax_cents)
            )),
            is_settled: t.is_settled != 0,
            settled_date: t.settled_at.map(domain::Timestamp::from_millis),
            payment_gateway_trans_id: t.processor_txn_id.clone(),
            is_voided: t.is_voided != 0,
            ip_address: serde_json::from_str::<serde_json::Value>(&a.request)
                .ok()
                .and_then(|r| {
                    r.get("ipAddress")
                        .and_then(|v| v.as_str())
                        .map(str::to_string)
                }),
            parent_transaction: parent.map(views::transaction_summary),
            transaction_details: details
                .into_iter()
                .map(|(id, kind, amount, description)| TransactionDetail {
                    id,
                    transaction_id: approved.then_some(t.id),
                    transaction_incomplete_id: (!approved).then_some(t.id),
                    detail_type: kind,
                    amount: domain::Money::from_cents(amount).unwrap_or_default(),
                    description,
                })
                .collect(),
            ro_owner: self.associate(self.order.associate_id),
            cashier: self.associate(a.associate_id),
            three_ds_authentication_failed: a.three_ds_failed != 0,
        }
    }
}

fn cents(c: i64) -> String {
    domain::Money::from_cents(c).unwrap_or_default().to_string()
}

/// The documented shape of one attempt, loading its invoice's context.
pub async fn attempt_dto(app: &AppState, a: &AttemptRow) -> ApiResult<PaymentAttemptDto> {
    let invoice = invoices::by_id(&app.db, a.invoice_id)
        .await?
        .ok_or_else(|| missing("invoice"))?;
    let mut view = InvoiceView::load(app, invoice).await?;
    Ok(view.attempts(app, std::slice::from_ref(a)).await?.remove(0))
}
