//! The pages' shared HTML: escaping, the page shell, and the response with its security
//! headers. Pages are rendered on the server; the one script only enhances the card form.

use super::i18n::{Locale, Text};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The origin (`scheme://host[:port]`) of an absolute http(s) URL, for CSP `form-action`.
pub fn origin(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() || !u.username().is_empty()
    {
        return None;
    }
    // ASCII serialisation: punycode hosts, no quotes or spaces that could break the header.
    Some(u.origin().ascii_serialization())
}

/// One rendered page.
pub struct Page {
    pub status: StatusCode,
    pub locale: Locale,
    pub title: String,
    /// Who the page is for (dealer or merchant), shown in the header.
    pub brand: Option<String>,
    pub body: String,
    /// Where this page's forms may post or be redirected to, besides ourselves (the 3-D Secure
    /// bank, a merchant's return URLs).
    pub form_origins: Vec<String>,
    /// The path (without query) the language switcher links to; none hides the switcher.
    pub lang_path: Option<String>,
    /// Reload after this many seconds (waiting for a payment outcome).
    pub refresh: Option<u32>,
    /// Where the refresh goes (default: this page).
    pub refresh_url: Option<String>,
    pub set_cookie: Option<String>,
    pub retry_after: Option<u32>,
    /// Page title prefixed with the error marker so screen readers hear it first.
    pub has_error: bool,
}

impl Page {
    pub fn new(status: StatusCode, locale: Locale, title: impl Into<String>, body: String) -> Page {
        Page {
            status,
            locale,
            title: title.into(),
            brand: None,
            body,
            form_origins: vec![],
            lang_path: None,
            refresh: None,
            refresh_url: None,
            set_cookie: None,
            retry_after: None,
            has_error: false,
        }
    }

    /// A page that only says what happened: a heading, a paragraph, an optional link.
    pub fn message(
        status: StatusCode,
        locale: Locale,
        title: &str,
        text: &str,
        link: Option<(&str, &str)>,
    ) -> Page {
        let link = link
            .map(|(href, label)| {
                format!(
                    "<p><a class=\"button\" href=\"{}\">{}</a></p>",
                    esc(href),
                    esc(label)
                )
            })
            .unwrap_or_default();
        Page::new(
            status,
            locale,
            title,
            format!("<h1>{}</h1><p>{}</p>{link}", esc(title), esc(text)),
        )
    }

    pub fn csp(&self) -> String {
        let mut form = String::from("'self'");
        for o in &self.form_origins {
            form.push(' ');
            form.push_str(o);
        }
        format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action {form}; frame-ancestors 'none'; base-uri 'none'"
        )
    }

    fn html(&self) -> String {
        let t: &Text = self.locale.text();
        let refresh = self
            .refresh
            .map(|s| match &self.refresh_url {
                Some(u) => format!(
                    "<meta http-equiv=\"refresh\" content=\"{s};url={}\">",
                    esc(u)
                ),
                None => format!("<meta http-equiv=\"refresh\" content=\"{s}\">"),
            })
            .unwrap_or_default();
        let brand = self
            .brand
            .as_deref()
            .map(|b| format!("<p class=\"brand\">{}</p>", esc(b)))
            .unwrap_or_default();
        let switcher = self
            .lang_path
            .as_deref()
            .map(|path| {
                let links: String = Locale::all()
                    .iter()
                    .map(|l| {
                        let current = if *l == self.locale { " aria-current=\"true\"" } else { "" };
                        format!(
                            "<li><a href=\"{}?lang={}\" lang=\"{}\" hreflang=\"{}\"{current}>{}</a></li>",
                            esc(path),
                            l.tag(),
                            l.tag(),
                            l.tag(),
                            esc(l.text().language_name)
                        )
                    })
                    .collect();
                format!(
                    "<nav class=\"langs\" aria-label=\"{}\"><ul>{links}</ul></nav>",
                    esc(t.languages_label)
                )
            })
            .unwrap_or_default();
        let title = if self.has_error {
            format!("{}: {}", t.error_summary, self.title)
        } else {
            self.title.clone()
        };
        format!(
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta name=\"referrer\" content=\"no-referrer\">{refresh}\
             <title>{title}</title><link rel=\"stylesheet\" href=\"/assets/pages.css\">\
             <script src=\"/assets/pay.js\" defer></script></head>\
             <body><header class=\"top\">{brand}{switcher}</header>\
             <main id=\"main\">{body}</main>\
             <footer class=\"foot\"><p>dealerpay</p></footer></body></html>",
            lang = self.locale.tag(),
            title = esc(&title),
            body = self.body,
        )
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut r = (self.status, self.html()).into_response();
        let h = r.headers_mut();
        let set = |h: &mut axum::http::HeaderMap, k, v: &str| {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.insert(k, v);
            }
        };
        set(h, header::CONTENT_TYPE, "text/html; charset=utf-8");
        set(h, header::CONTENT_SECURITY_POLICY, &self.csp());
        set(h, header::CACHE_CONTROL, "no-store");
        set(h, header::REFERRER_POLICY, "no-referrer");
        set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        set(h, header::X_FRAME_OPTIONS, "DENY");
        set(h, header::CONTENT_LANGUAGE, self.locale.tag());
        if let Some(c) = &self.set_cookie {
            set(h, header::SET_COOKIE, c);
        }
        if let Some(s) = self.retry_after {
            set(h, header::RETRY_AFTER, &s.to_string());
        }
        r
    }
}

/// A `<dl>` row.
pub fn row(id: &str, label: &str, value: &str) -> String {
    format!(
        "<div class=\"row\"><dt>{}</dt><dd id=\"{id}\">{}</dd></div>",
        esc(label),
        esc(value)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin("https://shop.example/ok?x=1").as_deref(),
            Some("https://shop.example")
        );
        assert_eq!(
            origin("http://127.0.0.1:9/a").as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(origin("javascript:alert(1)"), None);
        assert_eq!(origin("https://a.example; script-src *"), None);
        assert_eq!(esc("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
