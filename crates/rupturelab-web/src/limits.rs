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
