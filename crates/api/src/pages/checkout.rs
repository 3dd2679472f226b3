//! The hosted checkout page (SPEC §6): `/checkout/{sessionId}` shows the amount and the
//! merchant, takes a card through the session's payment intent, and sends the customer back
//! to the merchant's success URL. Sessions that can no longer be paid say so plainly.

use super::card_form::{self, CardFormPost, FieldErrors, FormView, Refill};
use super::html::{esc, origin, row, Page};
use super::i18n::{fill, Locale};
use super::{guard, not_found, unavailable, PageQuery};
use crate::app::AppState;
use crate::error::ApiError;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use domain::status::{AttemptStatus, SessionStatus};
use store::repo::checkout::SessionRow;
use store::views::SessionView;

/// A session with its merchant (namespace) and its latest payment, as the customer's page
/// sees it.
struct Hosted {
    view: SessionView,
    locale: Locale,
}

impl Hosted {
    async fn load(
        app: &AppState,
        id: &str,
        lang: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<Option<Hosted>, ApiError> {
        let locale = super::request_locale(lang, headers);
        // Brought up to date (payment settled, expiry passed); only well-formed ids reach the
        // database.
        Ok(app
            .engine
            .hosted_session(id)
            .await?
            .map(|view| Hosted { view, locale }))
    }

    /// The same page after the session changed (paid, cancelled, expired meanwhile).
    fn with_session(&self, view: SessionView) -> Hosted {
        Hosted {
            view,
            locale: self.locale,
        }
    }

    /// The session as it is now (after a payment, a completion, or a refusal).
    async fn reloaded(&self, app: &AppState) -> Result<Hosted, ApiError> {
        let view = app
            .engine
            .hosted_session(&self.session().uuid)
            .await?
            .ok_or_else(|| ApiError::internal("session vanished"))?;
        Ok(self.with_session(view))
    }

    fn session(&self) -> &SessionRow {
        &self.view.session
    }

    /// The merchant's name.
    fn merchant_name(&self) -> &str {
        &self.view.namespace.name
    }

    fn path(&self) -> String {
        format!("/checkout/{}", self.session().uuid)
    }

    fn money(&self) -> String {
        self.locale.money(self.session().amount)
    }

    /// The success URL with the session id appended, as the merchant expects it back.
    fn success_url(&self) -> Option<String> {
        let mut u = url::Url::parse(self.session().success_url.as_deref()?).ok()?;
        u.query_pairs_mut()
            .append_pair("session_id", &self.session().uuid);
        Some(u.into())
    }

    fn page(&self, status: StatusCode, title: &str, body: String) -> Page {
        let mut p = Page::new(status, self.locale, title, body);
        p.brand = Some(self.merchant_name().to_string());
        p.lang_path = Some(self.path());
        // The form's answer may be a redirect to the merchant's success page.
        p.form_origins = self
            .success_url()
            .as_deref()
            .and_then(origin)
            .into_iter()
            .collect();
        p
    }

    fn summary(&self) -> String {
        let t = self.locale.text();
        format!(
            "<dl class=\"invoice\">{}<div class=\"row total\"><dt>{}</dt><dd id=\"checkout-amount\">{}</dd></div></dl>",
            row("merchant-name", t.checkout_pay_to, self.merchant_name()),
            esc(t.checkout_amount),
            esc(&self.money())
        )
    }

    /// The end states: paid, failed, canceled, expired.
    fn status_page(&self) -> Page {
        let t = self.locale.text();
        let (key, title, text, link) = match self.session().status {
            SessionStatus::Succeeded => (
                "complete",
                t.checkout_complete,
                t.checkout_complete_text,
                self.success_url(),
            ),
            SessionStatus::RequiresCapture => (
                "complete",
                t.checkout_complete,
                t.checkout_authorized_text,
                self.success_url(),
            ),
            SessionStatus::Cancelled => (
                "canceled",
                t.checkout_canceled,
                t.checkout_canceled_text,
                self.session().cancel_url.clone(),
            ),
            SessionStatus::Expired => (
                "expired",
                t.checkout_expired,
                t.checkout_expired_text,
                self.session().cancel_url.clone(),
            ),
            _ => (
                "failed",
                t.checkout_failed,
                t.checkout_failed_text,
                self.session().cancel_url.clone(),
            ),
        };
        let link = link
            .map(|u| {
                format!(
                    "<p><a id=\"return-link\" class=\"button\" href=\"{}\">{}</a></p>",
                    esc(&u),
                    esc(t.return_to_merchant)
                )
            })
            .unwrap_or_default();
        let ok = if key == "complete" { " ok" } else { "" };
        let body = format!(
            "<div id=\"session-status\" class=\"status{ok}\" data-status=\"{key}\"><h1>{}</h1><p>{}</p></div>{}{link}",
            esc(title),
            esc(text),
            self.summary()
        );
        self.page(StatusCode::OK, title, body)
    }

    fn open_page(
        &self,
        app: &AppState,
        headers: &HeaderMap,
        status: StatusCode,
        message: Option<&str>,
        fields: FieldErrors,
        refill: Refill,
    ) -> Page {
        let t = self.locale.text();
        let (nonce, set_cookie) =
            guard::nonce(headers, app.config.public_url.starts_with("https://"));
        let form = card_form::render(&FormView {
            t,
            action: &self.path(),
            csrf: &guard::token(&app.engine.page_form_key(), &nonce, &self.csrf_scope()),
            lang: self.locale.tag(),
            button: fill(t.pay_button, &[("amount", &self.money())]),
            errors: &fields,
            refill: &refill,
            amount: None,
        });
        let cancel = self
            .session()
            .cancel_url
            .as_deref()
            .map(|u| {
                format!(
                    "<p><a id=\"cancel-link\" class=\"secondary\" href=\"{}\">{}</a></p>",
                    esc(u),
                    esc(t.checkout_cancel)
                )
            })
            .unwrap_or_default();
        let has_error = message.is_some() || !fields.is_empty();
        let body = format!(
            "<h1>{}</h1>{}{}{form}{cancel}",
            esc(t.checkout_title),
            card_form::summary(t, message, &fields),
            self.summary()
        );
        let mut p = self.page(status, t.checkout_title, body);
        p.set_cookie = set_cookie;
        p.has_error = has_error;
        p
    }

    fn csrf_scope(&self) -> String {
        format!("checkout:{}", self.session().uuid)
    }

    /// Where the customer goes once the session's payment has an outcome.
    fn after_payment(&self) -> Response {
        let t = self.locale.text();
        let lang = self.locale.tag();
        let Some((_, a)) = &self.view.payment else {
            return self.status_page().into_response();
        };
        match a.status {
            AttemptStatus::Succeeded | AttemptStatus::RequiresCapture => match self.success_url() {
                Some(u) => Redirect::to(&u).into_response(),
                None => Redirect::to(&format!("{}?lang={lang}", self.path())).into_response(),
            },
            AttemptStatus::RequiresAction => match super::pay::challenge_url(a) {
                Some(url) => super::onward_to_bank(
                    self.locale,
                    self.merchant_name(),
                    &url,
                    t.processing_title,
                ),
                None => Redirect::to(&format!("{}?lang={lang}", self.path())).into_response(),
            },
            AttemptStatus::InProgress | AttemptStatus::Created => {
                super::processing(self.locale, self.merchant_name())
            }
            _ => Redirect::to(&format!("{}?lang={lang}", self.path())).into_response(),
        }
    }
}

/// The session a checkout route addresses, or the page to answer instead.
async fn hosted_or_page(
    app: &AppState,
    id: Result<Path<String>, PathRejection>,
    lang: Option<&str>,
    headers: &HeaderMap,
) -> Result<Hosted, Response> {
    let locale = super::request_locale(lang, headers);
    let Ok(Path(id)) = id else {
        return Err(not_found(locale));
    };
    match Hosted::load(app, &id, lang, headers).await {
        Ok(Some(h)) => Ok(h),
        Ok(None) => Err(not_found(locale)),
        Err(e) if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::BAD_REQUEST => {
            Err(not_found(locale))
        }
        Err(e) => Err(unavailable(locale, &e).into_response()),
    }
}

/// `GET /checkout/{sessionId}`: the hosted checkout page.
#[utoipa::path(get, path = "/checkout/{sessionId}", tag = "customer pages",
    params(("sessionId" = String, Path), PageQuery),
    responses((status = 200, body = String, content_type = "text/html", description = "The payment form, or the session's end state"),
        (status = 404, body = String, content_type = "text/html")))]
pub async fn checkout_page(
    State(app): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<PageQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let locale = super::request_locale(q.lang.as_deref(), &headers);
    let Ok(Path(id)) = id else {
        return not_found(locale);
    };
    match Hosted::load(&app, &id, q.lang.as_deref(), &headers).await {
        Ok(Some(h)) if h.session().status == SessionStatus::Open => h
            .open_page(
                &app,
                &headers,
                StatusCode::OK,
                None,
                FieldErrors::default(),
                Refill::default(),
            )
            .into_response(),
        Ok(Some(h)) if h.session().status == SessionStatus::Processing => h.after_payment(),
        Ok(Some(h)) => h.status_page().into_response(),
        Ok(None) => not_found(locale),
        Err(e) if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::BAD_REQUEST => {
            not_found(locale)
        }
        Err(e) => unavailable(locale, &e).into_response(),
    }
}

/// `POST /checkout/{sessionId}`: pay the session with a card.
#[utoipa::path(post, path = "/checkout/{sessionId}", tag = "customer pages",
    params(("sessionId" = String, Path)),
    request_body(content = CardFormPost, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "To the merchant's success URL, or back to this page with the outcome"),
        (status = 200, body = String, content_type = "text/html", description = "The session's end state, or on to 3-D Secure"),
        (status = 403, body = String, content_type = "text/html", description = "Form token missing or stale"),
        (status = 404, body = String, content_type = "text/html"),
        (status = 422, body = String, content_type = "text/html", description = "Card fields to correct")))]
pub async fn checkout_submit(
    State(app): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    form: Result<Form<CardFormPost>, FormRejection>,
) -> Response {
    let post = form.map(|Form(f)| f).unwrap_or_default();
    let locale = super::request_locale(post.lang.as_deref(), &headers);
    let h = match hosted_or_page(&app, id, post.lang.as_deref(), &headers).await {
        Ok(h) => h,
        Err(page) => return page,
    };
    match pay(&app, &h, &headers, post).await {
        Ok(r) => r,
        Err(e) => unavailable(locale, &e).into_response(),
    }
}

async fn pay(
    app: &AppState,
    h: &Hosted,
    headers: &HeaderMap,
    post: CardFormPost,
) -> Result<Response, ApiError> {
    let t = h.locale.text();
    if h.session().status != SessionStatus::Open {
        return Ok(h.status_page().into_response());
    }
    let refill = Refill::from_post(&post);
    if !guard::verify(
        &app.engine.page_form_key(),
        headers,
        post.csrf.as_deref(),
        &h.csrf_scope(),
    ) {
        return Ok(h
            .open_page(
                app,
                headers,
                StatusCode::FORBIDDEN,
                Some(t.err_session),
                FieldErrors::default(),
                refill,
            )
            .into_response());
    }
    let now = time::OffsetDateTime::now_utc();
    let card =
        match card_form::read_card(&post, t, (now.year() as u32, u8::from(now.month()) as u32)) {
            Ok(c) => c,
            Err(fields) => {
                return Ok(h
                    .open_page(
                        app,
                        headers,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        None,
                        fields,
                        refill,
                    )
                    .into_response());
            }
        };
    let method = connectors::PaymentMethod::Card(connectors::Card {
        number: card.number,
        exp_month: card.exp_month,
        exp_year: card.exp_year,
        cvv: card.cvv,
        zip: card.zip,
        holder_name: card.holder_name,
    });
    let return_url = format!(
        "{}{}/return?lang={}",
        app.config.public_url.trim_end_matches('/'),
        h.path(),
        h.locale.tag()
    );
    match app
        .engine
        .pay_hosted_session(&h.session().uuid, method, Some(return_url))
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => {}
        Err(e) if e.status.is_server_error() => return Err(e),
        Err(e) => {
            // Paid, canceled or expired meanwhile: show that; otherwise say why.
            let h2 = h.reloaded(app).await?;
            if h2.session().status != SessionStatus::Open {
                return Ok(h2.status_page().into_response());
            }
            let msg = super::pay::engine_message(t, &e);
            return Ok(h
                .open_page(
                    app,
                    headers,
                    StatusCode::CONFLICT,
                    Some(msg),
                    FieldErrors::default(),
                    refill,
                )
                .into_response());
        }
    }
    Ok(h.reloaded(app).await?.after_payment())
}

/// `GET /checkout/{sessionId}/return`: back from 3-D Secure; finishes the payment.
#[utoipa::path(get, path = "/checkout/{sessionId}/return", tag = "customer pages",
    params(("sessionId" = String, Path), PageQuery),
    responses((status = 303, description = "To the merchant's success URL or back to the checkout page"),
        (status = 200, body = String, content_type = "text/html"), (status = 404, body = String, content_type = "text/html")))]
pub async fn checkout_return(
    State(app): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<PageQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let locale = super::request_locale(q.lang.as_deref(), &headers);
    let h = match hosted_or_page(&app, id, q.lang.as_deref(), &headers).await {
        Ok(h) => h,
        Err(page) => return page,
    };
    let r = async {
        // Completes the latest payment if it waits for 3-D Secure; a refusal shows as the
        // session's state.
        if let Err(e) = app.engine.complete_hosted_session(&h.session().uuid).await {
            let e = ApiError::from(e);
            if e.status.is_server_error() {
                return Err(e);
            }
        }
        let h2 = h.reloaded(&app).await?;
        match h2.session().status {
            SessionStatus::Processing
            | SessionStatus::Succeeded
            | SessionStatus::RequiresCapture => Ok(h2.after_payment()),
            _ => Ok(h2.status_page().into_response()),
        }
    }
    .await;
    match r {
        Ok(r) => r,
        Err(e) => unavailable(locale, &e).into_response(),
    }
}
