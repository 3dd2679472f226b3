//! The card form shared by the pay page and the hosted checkout page: its markup, and the
//! server-side reading of what was posted. The card number and CVC are never written back
//! into a re-rendered form, a URL or a message.

use super::html::esc;
use super::i18n::{fill, Text};
use domain::card::{CardError, CardNumber, Cvv};
use serde::Deserialize;
use wire::CardInput;

/// What the form posts (`application/x-www-form-urlencoded`). Every field is optional so that a
/// malformed post still reaches the handler and gets a page, not a framework error.
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CardFormPost {
    /// The CSRF token printed in the form.
    pub csrf: Option<String>,
    pub lang: Option<String>,
    #[schema(value_type = Option<String>)]
    pub card_number: Option<String>,
    /// `MM/YY` or `MM/YYYY`.
    pub expiry: Option<String>,
    pub cvc: Option<String>,
    pub zip: Option<String>,
    pub holder_name: Option<String>,
    /// Pay page only, where the dealer allows partial payments.
    pub amount: Option<String>,
}

impl std::fmt::Debug for CardFormPost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardFormPost { .. }")
    }
}

/// Field errors keyed by input id, in form order.
#[derive(Debug, Default)]
pub struct FieldErrors(pub Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn get(&self, id: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, v)| v.as_str())
    }
    pub fn push(&mut self, id: &'static str, msg: &str) {
        self.0.push((id, msg.to_string()));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Parses `MM/YY`, `MM/YYYY`, `MM / YY`, `MMYY`.
pub fn parse_expiry(s: &str) -> Option<(u32, u32)> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let (m, y) = match s.split_once('/') {
        Some((m, y)) => (m.to_string(), y.to_string()),
        None if s.len() == 4 => (s[..2].to_string(), s[2..].to_string()),
        None => return None,
    };
    if m.is_empty() || m.len() > 2 || !(y.len() == 2 || y.len() == 4) {
        return None;
    }
    let month: u32 = m.parse().ok()?;
    let mut year: u32 = y.parse().ok()?;
    if year < 100 {
        year += 2000;
    }
    (1..=12).contains(&month).then_some((month, year))
}

fn valid_zip(z: &str) -> bool {
    let z = z.trim();
    (2..=10).contains(&z.len())
        && z.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && z.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
}

/// Reads the card fields; `now` is (year, month) for the expiry check.
pub fn read_card(post: &CardFormPost, t: &Text, now: (u32, u32)) -> Result<CardInput, FieldErrors> {
    let mut errors = FieldErrors::default();
    let number = match CardNumber::parse(post.card_number.as_deref().unwrap_or("")) {
        Ok(n) => Some(n),
        Err(CardError::Luhn) => {
            errors.push("card-number", t.err_card_luhn);
            None
        }
        Err(_) => {
            errors.push("card-number", t.err_card_number);
            None
        }
    };
    let expiry = match post.expiry.as_deref().and_then(parse_expiry) {
        Some((m, y)) if (y, m) < (now.0, now.1) => {
            errors.push("card-expiry", t.err_expired);
            None
        }
        Some((_, y)) if y > now.0 + 30 => {
            errors.push("card-expiry", t.err_expiry);
            None
        }
        Some(e) => Some(e),
        None => {
            errors.push("card-expiry", t.err_expiry);
            None
        }
    };
    let cvv = match Cvv::parse(post.cvc.as_deref().unwrap_or("").trim()) {
        Ok(c) => Some(c),
        Err(_) => {
            errors.push("card-cvc", t.err_cvc);
            None
        }
    };
    let zip = post.zip.as_deref().map(str::trim).unwrap_or("");
    if !valid_zip(zip) {
        errors.push("card-zip", t.err_zip);
    }
    let holder = post
        .holder_name
        .as_deref()
        .map(|s| {
            s.trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect::<String>()
        })
        .filter(|s| !s.is_empty());
    match (number, expiry, cvv) {
        (Some(number), Some((exp_month, exp_year)), Some(cvv)) if errors.is_empty() => {
            Ok(CardInput {
                number,
                exp_month,
                exp_year,
                cvv: Some(cvv),
                zip: Some(zip.to_string()),
                holder_name: holder,
            })
        }
        _ => Err(errors),
    }
}

/// Values to show again after a failed post (never the card number or CVC).
#[derive(Default)]
pub struct Refill {
    pub expiry: String,
    pub zip: String,
    pub holder_name: String,
    pub amount: String,
}

impl Refill {
    pub fn from_post(p: &CardFormPost) -> Refill {
        let keep = |s: &Option<String>, n: usize| {
            s.as_deref()
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_control())
                .take(n)
                .collect()
        };
        Refill {
            expiry: keep(&p.expiry, 7),
            zip: keep(&p.zip, 10),
            holder_name: keep(&p.holder_name, 100),
            amount: keep(&p.amount, 12),
        }
    }
}

/// The amount input for partial payments.
pub struct AmountField {
    pub max_text: String,
}

pub struct FormView<'a> {
    pub t: &'a Text,
    pub action: &'a str,
    pub csrf: &'a str,
    pub lang: &'a str,
    pub button: String,
    pub errors: &'a FieldErrors,
    pub refill: &'a Refill,
    pub amount: Option<AmountField>,
}

/// One labelled input with its hint and error line (the card form's and the reset page's).
pub(super) struct Field<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub label: &'a str,
    pub hint: Option<&'a str>,
    pub error: Option<&'a str>,
    pub attrs: &'a str,
    pub value: &'a str,
    /// Markup placed beside the input (the card brand).
    pub beside: &'a str,
}

impl Field<'_> {
    pub fn html(&self) -> String {
        let id = self.id;
        let hint_html = self
            .hint
            .map(|h| format!("<span class=\"hint\" id=\"{id}-hint\">{}</span>", esc(h)))
            .unwrap_or_default();
        let described = match self.hint {
            Some(_) => format!("{id}-hint {id}-error"),
            None => format!("{id}-error"),
        };
        let invalid = if self.error.is_some() {
            " aria-invalid=\"true\""
        } else {
            ""
        };
        let input = format!(
            "<input id=\"{id}\" name=\"{}\" {} value=\"{}\" aria-describedby=\"{described}\"{invalid}>",
            self.name,
            self.attrs,
            esc(self.value)
        );
        let input = if self.beside.is_empty() {
            input
        } else {
            format!("<div class=\"card-line\">{input}{}</div>", self.beside)
        };
        format!(
            "<div class=\"field\"><label for=\"{id}\">{}</label>{hint_html}\
             <span class=\"field-error\" id=\"{id}-error\">{}</span>{input}</div>",
            esc(self.label),
            esc(self.error.unwrap_or(""))
        )
    }
}

/// The form. Field ids are a contract with `assets/pay.js` and the browser tests.
pub fn render(v: &FormView) -> String {
    let t = v.t;
    let e = v.errors;
    let amount = v
        .amount
        .as_ref()
        .map(|a| {
            Field { id: "pay-amount", name: "amount", label: t.pay_amount, hint: Some(&fill(t.pay_amount_hint, &[("max", &a.max_text)])), error: e.get("pay-amount"), attrs: "type=\"text\" inputmode=\"decimal\" autocomplete=\"transaction-amount\" required", value: &v.refill.amount, beside: "" }.html()
        })
        .unwrap_or_default();
    let optional = format!("{} ({})", t.holder_name, t.optional);
    format!(
        "<form id=\"pay-form\" method=\"post\" action=\"{action}\" novalidate \
           data-err-number=\"{en}\" data-err-luhn=\"{el}\" data-err-expiry=\"{ee}\" data-err-expired=\"{ex}\" \
           data-err-cvc=\"{ec}\" data-err-zip=\"{ez}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"lang\" value=\"{lang}\">\
         {amount}<fieldset><legend>{legend}</legend>{number}<div class=\"pair\">{expiry}{cvc}</div>{zip}{name}</fieldset>\
         <button id=\"pay-button\" type=\"submit\">{button}</button>\
         <p class=\"secure\">{secure}</p></form>",
        action = esc(v.action),
        en = esc(t.err_card_number),
        el = esc(t.err_card_luhn),
        ee = esc(t.err_expiry),
        ex = esc(t.err_expired),
        ec = esc(t.err_cvc),
        ez = esc(t.err_zip),
        csrf = esc(v.csrf),
        lang = esc(v.lang),
        legend = esc(t.card_details),
        number = Field { id: "card-number", name: "cardNumber", label: t.card_number, hint: Some(t.card_number_hint), error: e.get("card-number"), attrs: "type=\"text\" inputmode=\"numeric\" autocomplete=\"cc-number\" maxlength=\"23\" spellcheck=\"false\" required", value: "", beside: "<span id=\"card-brand\" class=\"card-brand\" aria-live=\"polite\"></span>" }.html(),
        expiry = Field { id: "card-expiry", name: "expiry", label: t.expiry, hint: Some(t.expiry_hint), error: e.get("card-expiry"), attrs: "type=\"text\" inputmode=\"numeric\" autocomplete=\"cc-exp\" maxlength=\"7\" required", value: &v.refill.expiry, beside: "" }.html(),
        cvc = Field { id: "card-cvc", name: "cvc", label: t.cvc, hint: Some(t.cvc_hint), error: e.get("card-cvc"), attrs: "type=\"text\" inputmode=\"numeric\" autocomplete=\"cc-csc\" maxlength=\"4\" required", value: "", beside: "" }.html(),
        zip = Field { id: "card-zip", name: "zip", label: t.zip, hint: None, error: e.get("card-zip"), attrs: "type=\"text\" autocomplete=\"postal-code\" maxlength=\"10\" required", value: &v.refill.zip, beside: "" }.html(),
        name = Field { id: "card-name", name: "holderName", label: &optional, hint: None, error: e.get("card-name"), attrs: "type=\"text\" autocomplete=\"cc-name\" maxlength=\"100\"", value: &v.refill.holder_name, beside: "" }.html(),
        button = esc(&v.button),
        secure = esc(t.secure_note),
    )
}

/// The error summary: a page-level message, or links to each field in error. Announced by
/// screen readers (role=alert) and focused by the script.
pub fn summary(t: &Text, message: Option<&str>, errors: &FieldErrors) -> String {
    if message.is_none() && errors.is_empty() {
        return String::new();
    }
    let mut inner = String::new();
    if let Some(m) = message {
        inner.push_str(&format!("<p>{}</p>", esc(m)));
    }
    if !errors.is_empty() {
        inner.push_str("<ul>");
        for (id, msg) in &errors.0 {
            inner.push_str(&format!("<li><a href=\"#{id}\">{}</a></li>", esc(msg)));
        }
        inner.push_str("</ul>");
    }
    format!(
        "<div id=\"form-error\" class=\"error-summary\" role=\"alert\" tabindex=\"-1\"><h2>{}</h2>{inner}</div>",
        esc(t.error_summary)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::i18n::EN;

    fn post(number: &str, exp: &str, cvc: &str, zip: &str) -> CardFormPost {
        CardFormPost {
            card_number: Some(number.into()),
            expiry: Some(exp.into()),
            cvc: Some(cvc.into()),
            zip: Some(zip.into()),
            ..Default::default()
        }
    }

    #[test]
    fn reads_a_good_card() {
        let c = read_card(
            &post("4242 4242 4242 4242", "12 / 34", "123", "94107"),
            &EN,
            (2026, 11),
        )
        .unwrap();
        assert_eq!((c.exp_month, c.exp_year), (12, 2034));
        assert_eq!(c.number.last4(), "4242");
    }

    #[test]
    fn names_each_bad_field_without_echoing_the_number() {
        let e = read_card(
            &post("4242424242424241", "13/30", "12", ""),
            &EN,
            (2026, 11),
        )
        .unwrap_err();
        let ids: Vec<_> = e.0.iter().map(|(k, _)| *k).collect();
        assert_eq!(ids, ["card-number", "card-expiry", "card-cvc", "card-zip"]);
        assert!(e.0.iter().all(|(_, m)| !m.contains("4242")));
        let e = read_card(
            &post("4242424242424242", "10/26", "123", "H2X 1Y4"),
            &EN,
            (2026, 11),
        )
        .unwrap_err();
        assert_eq!(e.get("card-expiry"), Some(EN.err_expired));
        assert!(read_card(
            &post("4242424242424242", "11/26", "123", "H2X 1Y4"),
            &EN,
            (2026, 11)
        )
        .is_ok());
    }

    #[test]
    fn expiry_forms() {
        assert_eq!(parse_expiry("0130"), Some((1, 2030)));
        assert_eq!(parse_expiry("1/2031"), Some((1, 2031)));
        assert_eq!(parse_expiry("00/30"), None);
        assert_eq!(parse_expiry("12/3"), None);
        assert_eq!(parse_expiry("ab/cd"), None);
    }
}
