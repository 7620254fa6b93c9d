//! First start: when the database has no researcher account, the server
//! makes a one-time setup link (`/setup/{token}`) and `rupturelab serve`
//! prints it on the terminal. Whoever opens it first creates the first
//! researcher account and is signed in; the link then stops working.
//!
//! The token lives in this process only (its SHA-256 digest, compared in
//! constant time) and is never logged: a restart makes a new one, and once a
//! researcher exists no link is made at all.

use std::net::SocketAddr;
use std::sync::Mutex;

use askama::Template;
use axum::extract::{ConnectInfo, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use rupturelab_store::Role;
use tower_sessions::Session;

use crate::accounts::{self, token_hash, AuthSession, SessionUser};
use crate::error::Error;
use crate::security::{constant_time_eq, csrf_token};
use crate::views::render;
use crate::AppState;

/// The digest of the pending setup token, if any.
#[derive(Default)]
pub(crate) struct SetupToken(Mutex<Option<String>>);

impl SetupToken {
    /// Makes a new token, keeps its digest and returns the token.
    pub(crate) fn issue(&self) -> String {
        let token = accounts::new_token();
        *self.lock() = Some(token_hash(&token));
        token
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn matches(&self, token: &str) -> bool {
        digest_matches(&self.lock(), token)
    }

    /// Takes the token if it matches, so two requests cannot both use it.
    fn take(&self, token: &str) -> bool {
        let mut slot = self.lock();
        let ok = digest_matches(&slot, token);
        if ok {
            *slot = None;
        }
        ok
    }

    fn put_back(&self, token: &str) {
        *self.lock() = Some(token_hash(token));
    }

    fn clear(&self) {
        *self.lock() = None;
    }
}

/// Whether `token` hashes to the kept digest (compared in constant time).
fn digest_matches(slot: &Option<String>, token: &str) -> bool {
    let given = token_hash(token);
    slot.as_deref()
        .is_some_and(|h| constant_time_eq(h.as_bytes(), given.as_bytes()))
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/setup/{token}", get(setup_page).post(setup))
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    title: String,
    csrf: String,
    action: String,
    username: String,
    error: Option<String>,
}

/// The link is valid only while no researcher exists and the token matches.
async fn check(state: &AppState, ip: &str, token: &str) -> Result<(), Error> {
    if state.token_limiter.blocked(ip).await {
        return Err(Error::TooManyRequests);
    }
    if state.store.count_users(Role::Researcher).await? > 0 {
        state.setup.clear();
        return Err(Error::NotFound);
    }
    if !state.setup.matches(token) {
        state.token_limiter.fail(ip).await;
        return Err(Error::NotFound);
    }
    Ok(())
}

async fn setup_page(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    session: Session,
    Path(token): Path<String>,
) -> Result<Response, Error> {
    check(&state, &addr.ip().to_string(), &token).await?;
    let page = SetupPage {
        title: "Create the first researcher account — RuptureLab".into(),
        csrf: csrf_token(&session).await?,
        action: format!("/setup/{token}"),
        username: String::new(),
        error: None,
    };
    Ok(render(&page)?.into_response())
}

#[derive(serde::Deserialize)]
struct SetupForm {
    username: String,
    password: String,
    again: String,
}

async fn setup(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    mut auth: AuthSession,
    session: Session,
    Path(token): Path<String>,
    Form(form): Form<SetupForm>,
) -> Result<Response, Error> {
    check(&state, &addr.ip().to_string(), &token).await?;
    let again = |error: String| async {
        let page = SetupPage {
            title: "Create the first researcher account — RuptureLab".into(),
            csrf: csrf_token(&session).await?,
            action: format!("/setup/{token}"),
            username: form.username.clone(),
            error: Some(error),
        };
        Ok::<_, Error>(
            (axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response(),
        )
    };
    if form.password != form.again {
        return again("The two passwords differ; type the same password twice.".into()).await;
    }
    if !state.setup.take(&token) {
        return Err(Error::NotFound);
    }
    let id = match accounts::create_user(
        state.store.as_ref(),
        &form.username,
        Role::Researcher,
        &form.password,
    )
    .await
    {
        Ok(id) => id,
        Err(Error::Invalid(m)) | Err(Error::Conflict(m)) => {
            state.setup.put_back(&token);
            return again(sentence(&m)).await;
        }
        Err(e) => {
            state.setup.put_back(&token);
            return Err(e);
        }
    };
    let user = state.store.user_by_id(id).await?.ok_or(Error::NotFound)?;
    auth.login(&SessionUser(user))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    let _ = session.remove::<String>("csrf").await;
    tracing::info!(user = %form.username.trim(), "first researcher account created through the setup link");
    Ok(Redirect::to("/studies").into_response())
}

/// The message with its first letter capitalised.
fn sentence(m: &str) -> String {
    let mut c = m.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
