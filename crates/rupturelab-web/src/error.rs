//! The web `Error`: every failure a handler can return, mapped to a status
//! code and a clear page (or JSON body under `/api`). Internal errors are
//! logged with a reference and shown as an opaque 500 carrying only that
//! reference.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rupturelab_store::StoreError;

use crate::views;

/// What went wrong while handling a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the request is malformed; the message says what to fix.
    #[error("{0}")]
    BadRequest(String),
    /// 401: not signed in.
    #[error("sign in first")]
    Unauthorized,
    /// 403: signed in but not allowed, or a CSRF/origin check failed.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such page or thing.
    #[error("not found")]
    NotFound,
    /// 404 with a message saying what is missing (API calls).
    #[error("{0}")]
    NotFoundMsg(String),
    /// 404 on a participant link that is unknown or revoked.
    #[error("this study link is not valid")]
    UnknownLink,
    /// 409: the request conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// 422: the submitted data is invalid.
    #[error("{0}")]
    Invalid(String),
    /// 429: too many attempts.
    #[error("too many attempts; wait a few minutes and try again")]
    TooManyRequests,
    /// 503: the database cannot be reached (restarting, overloaded); the
    /// request changed nothing and may be repeated after `Retry-After`.
    #[error("the study database is not reachable at the moment; nothing was saved by this request, try again in a few seconds")]
    Unavailable,
    /// 500: anything else; the cause goes to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchStudy(_) => Error::NotFound,
            StoreError::UserExists(_) | StoreError::ParticipantExists(_) => {
                Error::Conflict(e.to_string())
            }
            StoreError::Locked => Error::Conflict(e.to_string()),
            StoreError::Conflict(m) => Error::Conflict(m),
            StoreError::NotFound(_) => Error::NotFoundMsg(e.to_string()),
            StoreError::Invalid(m) => Error::Invalid(m),
            StoreError::Forbidden(m) => Error::Forbidden(m),
            StoreError::StudyExists(_) => Error::Conflict(e.to_string()),
            StoreError::Db(ref db) if unreachable(db) => {
                tracing::warn!(cause = %db, "database unreachable: answering 503");
                Error::Unavailable
            }
            other => Error::Internal(other.to_string()),
        }
    }
}

/// Whether a database error means "the database is not reachable right now"
/// (connection lost or refused, pool exhausted, server shutting down or
/// starting up, SQLite busy, a transaction rolled back to be retried)
/// rather than a bug: such requests get 503.
fn unreachable(e: &rupturelab_store::sqlx::Error) -> bool {
    use rupturelab_store::sqlx::Error as E;
    match e {
        E::PoolTimedOut | E::Io(_) | E::Tls(_) | E::WorkerCrashed => true,
        E::Database(d) => d.code().is_some_and(|c| {
            // PostgreSQL: connection exceptions (08…), operator intervention
            // (57P01-03: shutdown, crash, starting up), too many connections,
            // a transaction rolled back as a deadlock victim or by a
            // serialization failure (40P01, 40001: nothing of it was saved,
            // and repeating it succeeds); SQLite: BUSY and LOCKED (primary
            // codes 5 and 6).
            c.starts_with("08")
                || c.starts_with("57P")
                || c == "53300"
                || c == "40P01"
                || c == "40001"
                || c.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
        }),
        _ => false,
    }
}

/// The seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECS: u64 = 5;

impl From<askama::Error> for Error {
    fn from(e: askama::Error) -> Self {
        Error::Internal(format!("template: {e}"))
    }
}

impl Error {
    /// A session that cannot be read or written: when its store (the
    /// database) is unreachable, the retriable 503; otherwise a 500.
    pub fn session(e: &tower_sessions::session::Error) -> Self {
        // The session store reports the database error as text only.
        let text = e.to_string();
        let unreachable = [
            "pool timed out",
            "error communicating with database",
            "terminating connection",
            "the database system is",
            "database is locked",
            "connection refused",
        ]
        .iter()
        .any(|m| text.contains(m));
        if unreachable {
            tracing::warn!(cause = %text, "session store unreachable: answering 503");
            Error::Unavailable
        } else {
            Error::Internal(text)
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound | Error::NotFoundMsg(_) | Error::UnknownLink => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the user is told: for a 500 only a reference to the log line.
    fn public_message(&self) -> (String, Option<String>) {
        match self {
            Error::Internal(cause) => {
                let reference = crate::accounts::random_hex(4);
                tracing::error!(reference = %reference, cause = %cause, "internal error");
                (
                    "Something went wrong on the server. Nothing you did caused it; try again, and if it persists tell the study team this reference.".into(),
                    Some(reference),
                )
            }
            other => (other.to_string(), None),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if matches!(self, Error::UnknownLink) {
            return (status, views::unknown_link_page()).into_response();
        }
        let (message, reference) = self.public_message();
        with_retry_after(
            status,
            (
                status,
                views::error_page(status, &message, reference.as_deref()),
            )
                .into_response(),
        )
    }
}

/// The same errors as JSON, for the API: `{"error": "...", "status": 404}`.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let (message, reference) = self.0.public_message();
        let body = serde_json::json!({
            "error": message,
            "status": status.as_u16(),
            "reference": reference,
        });
        with_retry_after(status, (status, Json(body)).into_response())
    }
}

fn with_retry_after(status: StatusCode, mut res: Response) -> Response {
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(RETRY_AFTER_SECS),
        );
    }
    res
}

/// Outer middleware: the session and login layers answer a bare, empty 500
/// when their store (the database) fails; that is "unreachable", not a bug,
/// so it becomes the same retriable 503 with `Retry-After` as handlers give.
pub async fn bare_500_is_unavailable(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || res.headers().contains_key(axum::http::header::CONTENT_TYPE)
    {
        return res;
    }
    tracing::warn!("the session store failed: answering 503");
    if api {
        ApiError(Error::Unavailable).into_response()
    } else {
        Error::Unavailable.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rupturelab_store::sqlx;
    use std::borrow::Cow;

    /// A database error with just a code, as a driver reports it.
    #[derive(Debug)]
    struct Coded(&'static str);

    impl std::fmt::Display for Coded {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "error {}", self.0)
        }
    }

    impl std::error::Error for Coded {}

    impl sqlx::error::DatabaseError for Coded {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn status_of(code: &'static str) -> StatusCode {
        Error::from(StoreError::Db(sqlx::Error::Database(Box::new(Coded(code))))).status()
    }

    #[test]
    fn retriable_database_errors_are_503_and_others_500() {
        // Connection lost, shutting down, deadlock victim, serialization
        // failure, SQLite busy / locked (extended codes too).
        for code in ["08006", "57P01", "53300", "40P01", "40001", "5", "6", "517"] {
            assert_eq!(status_of(code), StatusCode::SERVICE_UNAVAILABLE, "{code}");
        }
        // A constraint the code should have checked is a bug: 500.
        for code in ["23505", "42P01", "19"] {
            assert_eq!(status_of(code), StatusCode::INTERNAL_SERVER_ERROR, "{code}");
        }
    }
}
