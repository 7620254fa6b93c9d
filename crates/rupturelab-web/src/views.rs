//! Page rendering helpers shared by the console and the participant runner:
//! the error pages, static assets, URL encoding. Templates live in
//! `templates/` (askama, compile-time checked, auto-escaped).

use askama::Template;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::error::Error;
use crate::i18n::{self, Catalog};
use rupturelab_core::Language;

/// Renders a template into an HTML response (a template failure is a 500).
pub fn render<T: Template>(t: &T) -> Result<Html<String>, Error> {
    Ok(Html(t.render()?))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: String,
    status: u16,
    message: &'a str,
    reference: Option<&'a str>,
}

/// A plain error page (status, message, optional log reference).
pub fn error_page(status: StatusCode, message: &str, reference: Option<&str>) -> Html<String> {
    let page = ErrorPage {
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        message,
        reference,
    };
    Html(page.render().unwrap_or_else(|_| "Error".into()))
}

#[derive(Template)]
#[template(path = "p_unknown.html")]
struct UnknownLink {
    en: &'static Catalog,
    tr: &'static Catalog,
}

/// The page for an unknown or revoked participant link, in English and Turkish
/// (the study, and so its language, is unknown).
pub fn unknown_link_page() -> Html<String> {
    let page = UnknownLink {
        en: i18n::catalog(Language::En),
        tr: i18n::catalog(Language::Tr),
    };
    Html(page.render().unwrap_or_else(|_| "Not found".into()))
}

/// The 404 fallback.
pub async fn not_found() -> Response {
    Error::NotFound.into_response()
}

const APP_CSS: &str = include_str!("../static/app.css");
const AUTOSAVE_JS: &str = include_str!("../static/autosave.js");
const TRANSCRIPT_JS: &str = include_str!("../static/transcript.js");
const CODING_JS: &str = include_str!("../static/coding.js");
const CODING_CSS: &str = include_str!("../static/coding.css");

/// Serves the embedded static assets.
pub async fn static_file(Path(file): Path<String>) -> Response {
    let (body, ctype) = match file.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "autosave.js" => (AUTOSAVE_JS, "text/javascript; charset=utf-8"),
        "transcript.js" => (TRANSCRIPT_JS, "text/javascript; charset=utf-8"),
        "coding.js" => (CODING_JS, "text/javascript; charset=utf-8"),
        "coding.css" => (CODING_CSS, "text/css; charset=utf-8"),
        _ => return Error::NotFound.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// Percent-encodes a string for a query parameter.
pub fn url_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A safe local redirect target: only paths on this site.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

/// Formats milliseconds as m:ss(.mmm).
pub fn fmt_ms(ms: i64) -> String {
    let s = ms / 1000;
    let rest = ms % 1000;
    if rest == 0 {
        format!("{}:{:02}", s / 60, s % 60)
    } else {
        format!("{}:{:02}.{:03}", s / 60, s % 60, rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_path_refuses_other_sites() {
        assert_eq!(local_path(Some("/studies/x")), "/studies/x");
        assert_eq!(local_path(Some("//evil.example")), "/");
        assert_eq!(local_path(Some("https://evil.example")), "/");
        assert_eq!(local_path(Some("/\\evil")), "/");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn error_pages_escape_the_message() {
        let h = error_page(StatusCode::BAD_REQUEST, "<script>x</script>", None).0;
        assert!(!h.contains("<script>x"));
        assert!(h.contains("&#60;script&#62;"));
    }
}
