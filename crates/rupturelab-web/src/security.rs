//! Cross-cutting protections: security headers on every response, the CSRF
//! guard on every state-changing request (a per-session token in a form
//! field or `X-CSRF-Token` header, plus an `Origin` / `Sec-Fetch-Site`
//! check), and the in-memory rate limiter for logins and participant links.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::error::{ApiError, Error};

/// The Content-Security-Policy: no inline scripts or styles, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
media-src 'self' https:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

/// Adds the security headers to every response.
pub async fn headers(req: Request, next: Next) -> Response {
    let is_static = req.uri().path().starts_with("/static/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Participant links carry their token in the path: never send it to
    // another site. (Not `no-referrer`: browsers then send `Origin: null`
    // on our own form posts, which the CSRF guard must distrust.)
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !is_static && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// The bearer token of an `Authorization` header, if any.
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let t = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?;
    Some(t.trim().to_string())
}

const CSRF_KEY: &str = "csrf";
/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// The header that carries the CSRF token (JavaScript and API clients).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, Error> {
    if let Some(t) = session
        .get::<String>(CSRF_KEY)
        .await
        .map_err(|e| Error::session(&e))?
    {
        return Ok(t);
    }
    let t = crate::accounts::random_hex(16);
    session
        .insert(CSRF_KEY, &t)
        .await
        .map_err(|e| Error::session(&e))?;
    Ok(t)
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn reject(api: bool, why: &str) -> Response {
    tracing::warn!(reason = why, "request refused by the CSRF guard");
    let e = Error::Forbidden(format!(
        "this form has expired or did not come from this site ({why}); reload the page and try again"
    ));
    if api {
        ApiError(e).into_response()
    } else {
        e.into_response()
    }
}

/// Whether the request's `Origin` (when sent) names this server.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origin == "null" {
        // An opaque origin (sandboxed frame, privacy setting): trust it only
        // when the browser itself says the request is same-origin.
        return headers
            .get("sec-fetch-site")
            .is_some_and(|v| v == "same-origin");
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    origin_host.eq_ignore_ascii_case(host)
}

/// Refuses state-changing requests that are cross-site or lack the session's
/// CSRF token. Requests authenticated by a bearer API token carry no cookie
/// authority and only get the origin check.
pub async fn csrf_guard(session: Session, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let api = req.uri().path().starts_with("/api/");
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return reject(api, "cross-site request");
        }
    }
    if !same_origin(headers) {
        return reject(api, "foreign origin");
    }
    if api && bearer_token(headers).is_some() {
        return next.run(req).await;
    }
    let expected = match session.get::<String>(CSRF_KEY).await {
        Ok(Some(t)) => t,
        Ok(None) => return reject(api, "no session token"),
        Err(e) if api => return ApiError(Error::session(&e)).into_response(),
        Err(e) => return Error::session(&e).into_response(),
    };
    if let Some(given) = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return next.run(req).await;
        }
        return reject(api, "wrong token");
    }
    // A file upload carries the token in the form's action URL, since the
    // multipart body is not parsed here.
    let is_multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    if is_multipart {
        let ok = req.uri().query().is_some_and(|q| {
            form_urlencoded::parse(q.as_bytes()).any(|(k, v)| {
                k == CSRF_FIELD && constant_time_eq(v.as_bytes(), expected.as_bytes())
            })
        });
        if !ok {
            return reject(api, "missing or wrong token");
        }
        return next.run(req).await;
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return reject(api, "missing token");
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, crate::BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return (
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                crate::views::error_page(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "The form is too large.",
                    None,
                ),
            )
                .into_response()
        }
    };
    let ok = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == CSRF_FIELD)
        .is_some_and(|(_, v)| constant_time_eq(v.as_bytes(), expected.as_bytes()));
    if !ok {
        return reject(api, "missing or wrong token");
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Counts failures per key (a client address) in a window; a key with
/// `max` failures in the window is blocked until the window passes. The
/// server's limiters keep their counts in the database ([`RateLimiter::shared`]),
/// so every `serve` process on one database enforces one limit; if the
/// database cannot be reached the process falls back to its own counts.
pub struct RateLimiter {
    max: u32,
    window: Duration,
    shared: Option<(&'static str, std::sync::Arc<dyn rupturelab_store::Store>)>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

fn now_ms() -> i64 {
    rupturelab_core::Timestamp::now().0
}

impl RateLimiter {
    /// A limiter of `max` failures per `window`, counted in this process.
    pub fn new(max: u32, window: Duration) -> Self {
        RateLimiter {
            max,
            window,
            shared: None,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// A limiter whose counts live in the store under `scope`, shared by
    /// every process on the database.
    pub fn shared(
        scope: &'static str,
        store: std::sync::Arc<dyn rupturelab_store::Store>,
        max: u32,
        window: Duration,
    ) -> Self {
        RateLimiter {
            shared: Some((scope, store)),
            ..RateLimiter::new(max, window)
        }
    }

    fn window_ms(&self) -> i64 {
        i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX / 2)
    }

    /// Whether the key is blocked now.
    pub async fn blocked(&self, key: &str) -> bool {
        if let Some((scope, store)) = &self.shared {
            match store
                .rate_limit_failures(scope, key, now_ms(), self.window_ms())
                .await
            {
                Ok(n) => return n >= i64::from(self.max),
                Err(e) => {
                    tracing::warn!(cause = %e, "rate limit: database unreachable, counting in this process")
                }
            }
        }
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .is_some_and(|(n, since)| *n >= self.max && since.elapsed() < self.window)
    }

    /// Records a failure of the key and returns its failures in the window.
    pub async fn fail(&self, key: &str) -> u32 {
        if let Some((scope, store)) = &self.shared {
            match store
                .rate_limit_fail(scope, key, now_ms(), self.window_ms())
                .await
            {
                Ok(n) => return u32::try_from(n).unwrap_or(u32::MAX),
                Err(e) => {
                    tracing::warn!(cause = %e, "rate limit: database unreachable, counting in this process")
                }
            }
        }
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            let window = self.window;
            map.retain(|_, (_, since)| since.elapsed() < window);
        }
        let e = map.entry(key.to_string()).or_insert((0, Instant::now()));
        if e.1.elapsed() >= self.window {
            *e = (0, Instant::now());
        }
        e.0 += 1;
        e.0
    }

    /// Takes one counted attempt of the key back (it succeeded).
    pub async fn forgive(&self, key: &str) {
        if let Some((scope, store)) = &self.shared {
            match store.rate_limit_forgive(scope, key).await {
                Ok(()) => return,
                Err(e) => tracing::warn!(cause = %e, "rate limit: database unreachable"),
            }
        }
        if let Some(e) = self
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(key)
        {
            e.0 = e.0.saturating_sub(1);
        }
    }

    /// Forgets a key's failures (after a success).
    pub async fn clear(&self, key: &str) {
        if let Some((scope, store)) = &self.shared {
            if let Err(e) = store.rate_limit_clear(scope, key).await {
                tracing::warn!(cause = %e, "rate limit: database unreachable");
            }
        }
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// Sign-in limits, in two counters:
///
/// * per address **and user name**: `max` attempts in the window. An attempt
///   is counted *before* the slow, queued password check and forgotten on
///   success, so a burst of concurrent guesses at one account cannot slip
///   past the limit, while colleagues signing in at the same moment from one
///   office address (one NAT) never count against each other;
/// * per address: `10 × max` attempts in the window, each counted when it
///   begins (so attempts still running count too) and taken back when it
///   succeeds, so one address cannot spray guesses over many user names,
///   not even with many requests at once. A success does not clear it.
pub struct SignInLimiter {
    max: u32,
    name: RateLimiter,
    address: RateLimiter,
}

/// A sign-in attempt that passed the limits; report how it ended.
#[must_use = "report the attempt's outcome with succeeded() or failed()"]
pub struct SignInAttempt {
    ip: String,
    key: String,
}

impl SignInLimiter {
    /// Limits kept in the store under `scope` (per address) and
    /// `name_scope` (per address and user name), shared by every process.
    pub fn shared(
        scopes: (&'static str, &'static str),
        store: std::sync::Arc<dyn rupturelab_store::Store>,
        max: u32,
        window: Duration,
    ) -> Self {
        SignInLimiter {
            max,
            address: RateLimiter::shared(scopes.0, store.clone(), max.saturating_mul(10), window),
            name: RateLimiter::shared(scopes.1, store, max, window),
        }
    }

    /// Limits counted in this process only.
    #[cfg(test)]
    pub fn new(max: u32, window: Duration) -> Self {
        SignInLimiter {
            max,
            address: RateLimiter::new(max.saturating_mul(10), window),
            name: RateLimiter::new(max, window),
        }
    }

    /// Starts an attempt of `name` from `ip`: `TooManyRequests` when the
    /// address or the name from this address is over its limit.
    pub async fn begin(&self, ip: &str, name: &str) -> Result<SignInAttempt, crate::Error> {
        // The address counts this attempt now, before the password check,
        // so concurrent guesses at many names cannot all slip under its
        // ceiling; a success takes it back.
        if self.address.fail(ip).await > self.max.saturating_mul(10) {
            tracing::warn!(client = %ip, "sign-in refused: too many failed attempts from this address");
            return Err(crate::Error::TooManyRequests);
        }
        // User names are matched as typed (trimmed); lower-casing keeps
        // "Ayla" and "ayla" on one counter. A name longer than any real
        // one is cut, so a huge form field cannot make a huge key.
        let name: String = name.trim().chars().take(64).collect();
        let key = format!("{ip} {}", name.to_lowercase());
        if self.name.fail(&key).await > self.max {
            tracing::warn!(client = %ip, "sign-in refused: too many attempts for one user name");
            return Err(crate::Error::TooManyRequests);
        }
        Ok(SignInAttempt {
            ip: ip.to_string(),
            key,
        })
    }

    /// The password was right: the name's attempts are forgotten and the
    /// attempt is taken off the address's count.
    pub async fn succeeded(&self, attempt: SignInAttempt) {
        self.name.clear(&attempt.key).await;
        self.address.forgive(&attempt.ip).await;
    }

    /// The password was wrong: it stays counted for the name and for the
    /// address.
    /// (Both counts were taken in [`SignInLimiter::begin`].)
    pub async fn failed(&self, attempt: SignInAttempt) {
        drop(attempt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rate_limiter_blocks_after_max_failures_and_clears() {
        let l = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..2 {
            l.fail("a").await;
        }
        assert!(!l.blocked("a").await);
        l.fail("a").await;
        assert!(l.blocked("a").await);
        assert!(!l.blocked("b").await);
        l.clear("a").await;
        assert!(!l.blocked("a").await);
        let short = RateLimiter::new(1, Duration::from_millis(1));
        short.fail("x").await;
        std::thread::sleep(Duration::from_millis(5));
        assert!(!short.blocked("x").await);
    }

    #[tokio::test]
    async fn sign_ins_are_limited_per_name_and_per_address() {
        let l = SignInLimiter::new(2, Duration::from_secs(60));
        // Two wrong attempts at one name; the third attempt is refused
        // before any password check, even with the right password.
        for _ in 0..2 {
            let a = l.begin("1.2.3.4", "ayla").await.unwrap();
            l.failed(a).await;
        }
        assert!(
            l.begin("1.2.3.4", "Ayla ").await.is_err(),
            "same name, any case"
        );
        // Colleagues at the same address are not affected, however many.
        for i in 0..15 {
            let a = l.begin("1.2.3.4", &format!("coder{i}")).await.unwrap();
            l.succeeded(a).await;
        }
        // Attempts still running count: three concurrent guesses at one
        // name cannot all pass a limit of two.
        let a1 = l.begin("5.6.7.8", "burak").await.unwrap();
        let a2 = l.begin("5.6.7.8", "burak").await.unwrap();
        assert!(l.begin("5.6.7.8", "burak").await.is_err());
        l.succeeded(a1).await;
        l.failed(a2).await;
        // A success forgets the name's attempts.
        let a = l.begin("5.6.7.8", "burak").await.unwrap();
        l.succeeded(a).await;
        // Spraying many names from one address stops at 10 × max failures.
        for i in 0..20 {
            let a = l.begin("9.9.9.9", &format!("guess{i}")).await.unwrap();
            l.failed(a).await;
        }
        assert!(l.begin("9.9.9.9", "someone-else").await.is_err());
        // Concurrent guesses over many names: attempts still running count
        // for the address, so the 21st is refused before any has failed.
        let mut running = Vec::new();
        for i in 0..20 {
            running.push(l.begin("8.8.8.8", &format!("n{i}")).await.unwrap());
        }
        assert!(l.begin("8.8.8.8", "n20").await.is_err());
        for a in running {
            l.failed(a).await;
        }
        // A huge name makes a bounded key.
        let a = l.begin("7.7.7.7", &"x".repeat(1 << 20)).await.unwrap();
        assert!(a.key.len() < 100);
        l.succeeded(a).await;
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
