//! Limits that keep one bad or slow client from hurting everyone else:
//!
//! * [`serve`] runs the HTTP/1.1 connections itself (instead of
//!   `axum::serve`) so that a client must send its request headers within
//!   [`HEADER_READ_TIMEOUT`]; a slowloris-style client that trickles them
//!   is disconnected (hyper's header-read timeout needs a timer, which
//!   `axum::serve` does not set).
//! * [`body_limits`] reads every request body before the handler runs: it
//!   must arrive within [`BODY_READ_TIMEOUT`] (else 408), be at most
//!   [`crate::BODY_LIMIT`] bytes (else 413), and a form may have at most
//!   [`MAX_FORM_FIELDS`] fields (else 413) — each with a message saying so.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

/// How long a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(15);
/// The most fields a submitted form may have (a page has a few dozen).
pub const MAX_FORM_FIELDS: usize = 2000;

fn refuse(api: bool, status: StatusCode, message: &str) -> Response {
    if api {
        let body =
            serde_json::json!({"error": message, "status": status.as_u16(), "reference": null});
        (status, axum::Json(body)).into_response()
    } else {
        (status, crate::views::error_page(status, message, None)).into_response()
    }
}

/// Reads the request body within the time and size limits (see the module docs).
pub async fn body_limits(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let (parts, body) = req.into_parts();
    if let Some(len) = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > crate::BODY_LIMIT as u64 {
            return too_large(api);
        }
    }
    let bytes = match tokio::time::timeout(
        BODY_READ_TIMEOUT,
        axum::body::to_bytes(body, crate::BODY_LIMIT),
    )
    .await
    {
        Err(_) => {
            tracing::warn!("request body not received in time: 408");
            return refuse(
                api,
                StatusCode::REQUEST_TIMEOUT,
                &format!(
                    "the request did not arrive within {} seconds; check the connection and send it again",
                    BODY_READ_TIMEOUT.as_secs()
                ),
            );
        }
        // Too large, or the client went away: either way it gets a 413.
        Ok(Err(_)) => return too_large(api),
        Ok(Ok(b)) => b,
    };
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let fields = bytes.split(|b| *b == b'&').count();
        if fields > MAX_FORM_FIELDS {
            return refuse(
                api,
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the form has {fields} fields; at most {MAX_FORM_FIELDS} are accepted"),
            );
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn too_large(api: bool) -> Response {
    refuse(
        api,
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!(
            "the request is too large: at most {} KiB are accepted; shorten the text or send it in parts",
            crate::BODY_LIMIT / 1024
        ),
    )
}

/// Serves HTTP/1.1 on `listener` until `shutdown` completes, then lets the
/// requests in flight finish. Each request carries `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (signal_tx, signal_rx) = tokio::sync::watch::channel(());
    let (close_tx, close_rx) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(remote));
            tower::ServiceExt::oneshot(router.clone(), req.map(Body::new))
        });
        let mut signal = signal_rx.clone();
        let close = close_rx.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                _ = signal.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.as_mut().await;
                }
            }
            drop(close);
        });
    }
    drop(listener);
    let _ = signal_tx.send(());
    drop(signal_rx);
    drop(close_rx);
    close_tx.closed().await;
    Ok(())
}

/// Under `/api/`, an error answered by the framework rather than a handler
/// (a JSON body that does not parse: 400/415/422, an unknown method: 405, …)
/// comes as plain text; it becomes the API's JSON error shape
/// `{"error", "status", "reference"}` with the same status and message.
pub async fn api_json_errors(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let is_html = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    let message = if text.is_empty() || is_html {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut out = refuse(true, status, &message);
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// Adds the error answers every API operation can give (documented once
/// here) to each operation of the OpenAPI document that lacks them.
pub fn with_common_errors(mut doc: serde_json::Value) -> serde_json::Value {
    let common = [
        (
            "400",
            "the request is malformed (JSON that does not parse, a bad query or path value)",
        ),
        ("401", "not signed in: no session and no valid bearer token"),
        (
            "403",
            "not allowed for this account, or the CSRF / origin check failed",
        ),
        ("404", "no such study, participant, response or coding"),
        ("405", "the method is not allowed on this path"),
        ("408", "the request body did not arrive in time"),
        ("409", "conflicts with what is stored"),
        ("413", "the request body or form is too large"),
        ("415", "the body is not application/json"),
        ("422", "the data is invalid; the message names the field"),
        (
            "429",
            "too many failed attempts from this address; wait and retry",
        ),
        (
            "503",
            "the database is unreachable; retry after the Retry-After seconds",
        ),
    ];
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return doc;
    };
    for item in paths.values_mut() {
        let Some(ops) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in ops.iter_mut() {
            if !["get", "put", "post", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else {
                continue;
            };
            for (code, description) in common {
                responses.entry(code).or_insert_with(|| {
                    let mut r = serde_json::json!({
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                    });
                    if code == "503" {
                        r["headers"] = serde_json::json!({"Retry-After": {
                            "description": "seconds to wait before retrying",
                            "schema": {"type": "integer"}}});
                    }
                    r
                });
            }
        }
    }
    doc
}
