//! The customer's landing page for a payment link. It shows what the link is for and whether
//! it can still be paid; the card form, 3-D Secure and receipts come with the pay-page work.

use crate::app::AppState;
use crate::core::payment_requests::{load, unpayable};
use crate::error::{ApiError, ApiResult};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::catalog::v1;
use domain::Timestamp;
use store::repo::{dealers, payment_requests};

/// The pay page for a payment request (HTML).
#[utoipa::path(get, path = "/pay/{guid}", tag = "customer pages",
    params(("guid" = String, Path)),
    responses((status = 200, body = String, content_type = "text/html"), (status = 404, body = String, content_type = "text/html"),
        (status = 410, body = String, content_type = "text/html", description = "Expired or superseded link")))]
pub async fn pay_page(
    State(app): State<AppState>,
    guid: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let not_found = || {
        page(
            StatusCode::NOT_FOUND,
            "Payment link not found",
            "Check the link in your message, or contact the dealership.",
            None,
        )
    };
    // Customers get a page, never an API error, whatever the link looks like.
    let Ok(Path(guid)) = guid else {
        return Ok(not_found());
    };
    let Ok(guid) = uuid::Uuid::parse_str(&guid) else {
        return Ok(not_found());
    };
    let Some(pr) = payment_requests::by_guid(&app.db, &guid.to_string()).await? else {
        return Ok(not_found());
    };
    let dealer = dealers::dealer_by_id(&app.db, pr.dealer_id)
        .await?
        .ok_or_else(|| ApiError::internal("request without dealer"))?;
    if let Some(e) = unpayable(&pr, Timestamp::now().millis()) {
        let (title, text) = match e.code {
            crate::error::Code::V1(c) if c == v1::PAYMENT_REQUEST_OBSOLETE => (
                "This payment link was replaced",
                "The dealership sent you a newer link for this invoice. Please use the most recent message.",
            ),
            _ => ("This payment link has expired", "Please ask the dealership to send you a new link."),
        };
        return Ok(page(StatusCode::GONE, title, text, Some(&dealer.name)));
    }
    let dto = load(&app, &pr, &dealer).await?;
    let inv = &dto.invoice;
    let due = domain::Money::from_cents(pr.amount_cents).unwrap_or_default();
    let body = if inv.invoice_status == "PAID" {
        "This invoice is paid. Thank you!".to_string()
    } else {
        format!(
            "Repair order {} — amount due ${}. Online card payment on this page is not available yet; please contact the dealership to pay.",
            inv.dealer_order.order_number, due
        )
    };
    Ok(page(
        StatusCode::OK,
        "Your payment",
        &body,
        Some(&dealer.name),
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(status: StatusCode, title: &str, text: &str, dealer: Option<&str>) -> Response {
    let dealer = dealer
        .map(|d| format!("<p>{}</p>", escape(d)))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title></head><body><main><h1>{t}</h1>{dealer}<p>{x}</p></main></body></html>",
        t = escape(title),
        x = escape(text)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, super::ops::csp()),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}
