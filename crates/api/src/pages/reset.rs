//! The merchant's password-reset page, where the link of a reset message leads
//! (`/checkout/reset?token=…`): a form for the new password (twice), posted back with the
//! token, which the engine checks and uses once. The token stays out of the access log (only
//! paths are logged) and out of any Referer (`no-referrer`).

use super::card_form::{summary, Field, FieldErrors};
use super::guard;
use super::html::{esc, Page};
use super::i18n::{Locale, Text};
use crate::app::AppState;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use domain::catalog::checkout as co;
use serde::Deserialize;

const PATH: &str = "/checkout/reset";
const CSRF_SCOPE: &str = "reset";

#[derive(Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResetQuery {
    /// The token of the reset link.
    pub token: Option<String>,
    /// en, es or fr-CA.
    pub lang: Option<String>,
}

/// The reset form's fields.
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetPost {
    pub csrf: Option<String>,
    pub lang: Option<String>,
    pub token: Option<String>,
    pub password: Option<String>,
    pub repeat: Option<String>,
}

fn invalid_link(locale: Locale) -> Response {
    let t = locale.text();
    Page::message(
        StatusCode::GONE,
        locale,
        t.reset_invalid_title,
        t.reset_invalid_text,
        None,
    )
    .into_response()
}

fn form_page(
    app: &AppState,
    headers: &HeaderMap,
    locale: Locale,
    token: &str,
    status: StatusCode,
    errors: &FieldErrors,
) -> Response {
    let t: &Text = locale.text();
    let (nonce, set_cookie) = guard::nonce(headers, app.config.public_url.starts_with("https://"));
    let csrf = guard::token(&app.engine.page_form_key(), &nonce, CSRF_SCOPE);
    let field = |id, name, label| {
        Field {
            id,
            name,
            label,
            hint: None,
            error: errors.get(id),
            attrs: "type=\"password\" autocomplete=\"new-password\" minlength=\"12\" maxlength=\"256\" required",
            value: "",
            beside: "",
        }
        .html()
    };
    let body = format!(
        "<h1>{title}</h1>{summary}<p>{intro}</p>\
         <form id=\"reset-form\" method=\"post\" action=\"{PATH}\" novalidate>\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"lang\" value=\"{lang}\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         {new}{repeat}<button id=\"reset-button\" type=\"submit\">{submit}</button></form>",
        title = esc(t.reset_title),
        summary = summary(t, None, errors),
        intro = esc(t.reset_intro),
        csrf = esc(&csrf),
        lang = locale.tag(),
        token = esc(token),
        new = field("reset-password", "password", t.reset_new),
        repeat = field("reset-repeat", "repeat", t.reset_repeat),
        submit = esc(t.reset_submit),
    );
    let mut page = Page::new(status, locale, t.reset_title, body);
    page.set_cookie = set_cookie;
    page.has_error = !errors.is_empty();
    page.into_response()
}

/// `GET /checkout/reset?token=…`: the form, or why the link no longer works.
#[utoipa::path(get, path = "/checkout/reset", tag = "customer pages",
    params(ResetQuery),
    responses((status = 200, body = String, content_type = "text/html", description = "The new-password form"),
        (status = 410, body = String, content_type = "text/html", description = "The link was used or has expired")))]
pub async fn reset_page(
    State(app): State<AppState>,
    q: Result<Query<ResetQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let locale = super::request_locale(q.lang.as_deref(), &headers);
    let token = q.token.unwrap_or_default();
    match app.engine.password_reset_usable(&token).await {
        Ok(true) => form_page(
            &app,
            &headers,
            locale,
            &token,
            StatusCode::OK,
            &FieldErrors::default(),
        ),
        Ok(false) => invalid_link(locale),
        Err(e) => super::unavailable(locale, &e.into()).into_response(),
    }
}

/// `POST /checkout/reset`: sets the new password.
#[utoipa::path(post, path = "/checkout/reset", tag = "customer pages",
    request_body(content = ResetPost, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = String, content_type = "text/html", description = "Password changed"),
        (status = 403, body = String, content_type = "text/html", description = "Form token missing or stale"),
        (status = 410, body = String, content_type = "text/html", description = "The link was used or has expired"),
        (status = 422, body = String, content_type = "text/html", description = "Fields to correct")))]
pub async fn reset_submit(
    State(app): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<ResetPost>, FormRejection>,
) -> Response {
    let post = form.map(|Form(f)| f).unwrap_or_default();
    let locale = super::request_locale(post.lang.as_deref(), &headers);
    let t = locale.text();
    let token = post.token.unwrap_or_default();
    // The form again, with one field's error.
    let refuse = |status: StatusCode, field: &'static str, message: &str| {
        let mut errors = FieldErrors::default();
        errors.push(field, message);
        form_page(&app, &headers, locale, &token, status, &errors)
    };
    if !guard::verify(
        &app.engine.page_form_key(),
        &headers,
        post.csrf.as_deref(),
        CSRF_SCOPE,
    ) {
        return refuse(StatusCode::FORBIDDEN, "reset-password", t.err_session);
    }
    let password = post.password.unwrap_or_default();
    if !engine::checkout::users::password_acceptable(&password) {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reset-password",
            t.reset_too_short,
        );
    }
    if post.repeat.as_deref() != Some(password.as_str()) {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reset-repeat",
            t.reset_mismatch,
        );
    }
    match app.engine.confirm_password_reset(&token, &password).await {
        Ok(()) => Page::message(
            StatusCode::OK,
            locale,
            t.reset_done_title,
            t.reset_done_text,
            None,
        )
        .into_response(),
        Err(e) if e.code == engine::Code::Checkout(co::INVALID_RESET_PASSWORD_TOKEN) => {
            invalid_link(locale)
        }
        Err(e) if e.kind == engine::Kind::Invalid => refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reset-password",
            t.reset_too_short,
        ),
        Err(e) => super::unavailable(locale, &e.into()).into_response(),
    }
}
