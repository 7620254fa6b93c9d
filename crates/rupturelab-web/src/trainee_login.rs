//! Trainee accounts (training mode, issue 9): the sign-in at `/training`,
//! the list of the modules an account is enrolled in, password change and
//! sign-out. The exercise pages themselves are `training.rs`'s, under
//! `/training/m/{enrolment}`, reached through [`SignedInTrainee`].
//!
//! Trainee accounts are apart from the staff accounts (axum-login users): the
//! session keeps only the account id and a fingerprint of its password hash
//! (so a password change or reset ends every other session), and nothing
//! here can reach the console, the coding screens or the study's data.
//! Pages are in Turkish when the browser prefers Turkish, else English.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use rupturelab_store::training::{TraineeAccount, TraineeAccountId};
use tower_sessions::Session;

use crate::accounts::{hash_password, token_hash, verify_password, MIN_PASSWORD_CHARS};
use crate::error::Error;
use crate::security::{constant_time_eq, csrf_token};
use crate::training::TCommon;
use crate::views::{render, url_encode};
use crate::AppState;

/// The session key of a signed-in trainee account.
const SESSION_KEY: &str = "trainee_account";

/// What the session keeps of a signed-in trainee account.
#[derive(serde::Serialize, serde::Deserialize)]
struct TraineeSession {
    id: i64,
    /// SHA-256 of the account's password hash when the session signed in.
    check: String,
}

fn check_of(a: &TraineeAccount) -> String {
    token_hash(&a.password_hash)
}

/// The routes of trainee accounts.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/training", get(home))
        .route("/training/login", post(login))
        .route("/training/logout", post(logout))
        .route(
            "/training/password",
            get(password_page).post(change_password),
        )
}

/// The trainee account signed in on this session, if any (a session whose
/// password fingerprint no longer matches is signed out).
async fn signed_in(state: &AppState, session: &Session) -> Result<Option<TraineeAccount>, Error> {
    let Some(s) = session
        .get::<TraineeSession>(SESSION_KEY)
        .await
        .map_err(|e| Error::session(&e))?
    else {
        return Ok(None);
    };
    match state.store.trainee_account(TraineeAccountId(s.id)).await? {
        Some(a) if constant_time_eq(check_of(&a).as_bytes(), s.check.as_bytes()) => Ok(Some(a)),
        _ => {
            session
                .remove::<TraineeSession>(SESSION_KEY)
                .await
                .map_err(|e| Error::session(&e))?;
            Ok(None)
        }
    }
}

async fn sign_in(session: &Session, a: &TraineeAccount) -> Result<(), Error> {
    session
        .insert(
            SESSION_KEY,
            TraineeSession {
                id: a.id.0,
                check: check_of(a),
            },
        )
        .await
        .map_err(|e| Error::session(&e))
}

/// A signed-in trainee account; anyone else is sent to the trainee sign-in.
pub struct SignedInTrainee(pub TraineeAccount);

impl FromRequestParts<AppState> for SignedInTrainee {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|e| e.into_response())?;
        match signed_in(state, &session).await {
            Ok(Some(a)) => Ok(SignedInTrainee(a)),
            Ok(None) => Err(Redirect::to(&format!(
                "/training?next={}",
                url_encode(parts.uri.path())
            ))
            .into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// The texts of these pages.
struct LUi {
    lang: &'static str,
    sign_in: &'static str,
    intro: &'static str,
    username: &'static str,
    password: &'static str,
    submit: &'static str,
    wrong: &'static str,
    modules: &'static str,
    none: &'static str,
    done_of: &'static str,
    open: &'static str,
    signed_in_as: &'static str,
    sign_out: &'static str,
    change_password: &'static str,
    current: &'static str,
    new: &'static str,
    repeat: &'static str,
    save: &'static str,
    too_short: &'static str,
    mismatch: &'static str,
    wrong_current: &'static str,
    changed: &'static str,
    back: &'static str,
}

const LUI_EN: LUi = LUi {
    lang: "en",
    sign_in: "Sign in to your training",
    intro: "Sign in with the user name and password your supervisor gave you. Your answers are seen only by your supervisor.",
    username: "User name",
    password: "Password",
    submit: "Sign in",
    wrong: "The user name or the password is wrong.",
    modules: "Your training modules",
    none: "You are not enrolled in a module yet; ask your supervisor.",
    done_of: "{done} of {total} exercises done",
    open: "Open",
    signed_in_as: "Signed in as",
    sign_out: "Sign out",
    change_password: "Change password",
    current: "Current password",
    new: "New password",
    repeat: "New password again",
    save: "Change password",
    too_short: "The new password is too short; use at least {n} characters.",
    mismatch: "The two new passwords differ; type the same password twice.",
    wrong_current: "The current password is wrong.",
    changed: "Your password was changed; sessions on other devices have ended.",
    back: "Your modules",
};

const LUI_TR: LUi = LUi {
    lang: "tr",
    sign_in: "Eğitiminize giriş yapın",
    intro: "Süpervizörünüzün verdiği kullanıcı adı ve parolayla giriş yapın. Cevaplarınızı yalnızca süpervizörünüz görür.",
    username: "Kullanıcı adı",
    password: "Parola",
    submit: "Giriş yap",
    wrong: "Kullanıcı adı ya da parola yanlış.",
    modules: "Eğitim modülleriniz",
    none: "Henüz bir modüle kayıtlı değilsiniz; süpervizörünüze sorun.",
    done_of: "{total} alıştırmadan {done} tanesi tamamlandı",
    open: "Aç",
    signed_in_as: "Oturum açan",
    sign_out: "Çıkış yap",
    change_password: "Parolayı değiştir",
    current: "Şu anki parola",
    new: "Yeni parola",
    repeat: "Yeni parola (tekrar)",
    save: "Parolayı değiştir",
    too_short: "Yeni parola çok kısa; en az {n} karakter kullanın.",
    mismatch: "İki yeni parola farklı; aynı parolayı iki kez yazın.",
    wrong_current: "Şu anki parola yanlış.",
    changed: "Parolanız değiştirildi; diğer cihazlardaki oturumlar kapatıldı.",
    back: "Modülleriniz",
};

/// Turkish when the browser's first preferred language is Turkish.
fn lui(headers: &HeaderMap) -> &'static LUi {
    let first = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if first == "tr" || first.starts_with("tr-") || first.starts_with("tr;") {
        &LUI_TR
    } else {
        &LUI_EN
    }
}

fn common(u: &LUi, title: &str) -> TCommon {
    TCommon::new(u.lang, title.to_string())
}

#[derive(Template)]
#[template(path = "t_login.html")]
struct LoginPage {
    c: TCommon,
    u: &'static LUi,
    csrf: String,
    next: String,
    error: Option<String>,
}

struct ModuleRow {
    id: i64,
    title: String,
    progress: String,
}

#[derive(Template)]
#[template(path = "t_modules.html")]
struct ModulesPage {
    c: TCommon,
    u: &'static LUi,
    csrf: String,
    username: String,
    rows: Vec<ModuleRow>,
}

#[derive(serde::Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only the trainee's own pages are a place to return to after sign-in.
fn trainee_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/training/m/")
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'/') =>
        {
            n.to_string()
        }
        _ => "/training".into(),
    }
}

async fn login_page(
    session: &Session,
    u: &'static LUi,
    next: String,
    error: Option<String>,
) -> Result<LoginPage, Error> {
    Ok(LoginPage {
        c: common(u, u.sign_in),
        u,
        csrf: csrf_token(session).await?,
        next,
        error,
    })
}

/// The sign-in form, or the signed-in account's modules.
async fn home(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, Error> {
    let u = lui(&headers);
    let Some(account) = signed_in(&state, &session).await? else {
        let page = login_page(&session, u, trainee_next(q.next.as_deref()), None).await?;
        return Ok(render(&page)?.into_response());
    };
    let mut rows = Vec::new();
    for rec in state.store.trainee_enrolments(account.id).await? {
        let Some(module) = state.store.training_module(rec.module_id).await? else {
            continue;
        };
        let done = state.store.trainee_exercises(rec.id).await?.len();
        rows.push(ModuleRow {
            id: rec.id.0,
            title: module.spec.title,
            progress: u
                .done_of
                .replace("{done}", &done.to_string())
                .replace("{total}", &module.spec.segments.len().to_string()),
        });
    }
    let page = ModulesPage {
        c: common(u, u.modules),
        u,
        csrf: csrf_token(&session).await?,
        username: account.username,
        rows,
    };
    Ok(render(&page)?.into_response())
}

#[derive(serde::Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, Error> {
    let ip = addr.ip().to_string();
    let attempt = state.trainee_limiter.begin(&ip, &form.username).await?;
    let u = lui(&headers);
    let account = state
        .store
        .trainee_account_by_name(form.username.trim())
        .await?;
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    let ok = verify_password(form.password, hash).await;
    let next = trainee_next(form.next.as_deref());
    let Some(account) = account.filter(|_| ok) else {
        state.trainee_limiter.failed(attempt).await;
        tracing::info!(client = %ip, "failed trainee sign-in");
        let page = login_page(&session, u, next, Some(u.wrong.into())).await?;
        return Ok((StatusCode::UNAUTHORIZED, render(&page)?).into_response());
    };
    state.trainee_limiter.succeeded(attempt).await;
    // A new session id at sign-in (no fixation), a fresh CSRF token.
    session.cycle_id().await.map_err(|e| Error::session(&e))?;
    let _ = session.remove::<String>("csrf").await;
    sign_in(&session, &account).await?;
    tracing::info!(trainee = account.id.0, "trainee signed in");
    Ok(Redirect::to(&next).into_response())
}

async fn logout(session: Session) -> Result<Response, Error> {
    session
        .remove::<TraineeSession>(SESSION_KEY)
        .await
        .map_err(|e| Error::session(&e))?;
    session.cycle_id().await.map_err(|e| Error::session(&e))?;
    Ok(Redirect::to("/training").into_response())
}

#[derive(Template)]
#[template(path = "t_password.html")]
struct PasswordPage {
    c: TCommon,
    u: &'static LUi,
    csrf: String,
    min: usize,
    error: Option<String>,
    message: Option<String>,
}

async fn password_view(
    session: &Session,
    u: &'static LUi,
    error: Option<String>,
    message: Option<String>,
) -> Result<PasswordPage, Error> {
    Ok(PasswordPage {
        c: common(u, u.change_password),
        u,
        csrf: csrf_token(session).await?,
        min: MIN_PASSWORD_CHARS,
        error,
        message,
    })
}

async fn password_page(
    SignedInTrainee(_): SignedInTrainee,
    session: Session,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let page = password_view(&session, lui(&headers), None, None).await?;
    Ok(render(&page)?.into_response())
}

#[derive(serde::Deserialize)]
struct PasswordForm {
    current: String,
    new: String,
    repeat: String,
}

async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    SignedInTrainee(account): SignedInTrainee,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, Error> {
    let ip = addr.ip().to_string();
    let attempt = state.trainee_limiter.begin(&ip, &account.username).await?;
    let u = lui(&headers);
    let current_ok = verify_password(form.current, Some(account.password_hash.clone())).await;
    if current_ok {
        state.trainee_limiter.succeeded(attempt).await;
    } else {
        state.trainee_limiter.failed(attempt).await;
    }
    let error = if !current_ok {
        Some(u.wrong_current.to_string())
    } else if form.new.chars().count() < MIN_PASSWORD_CHARS {
        Some(u.too_short.replace("{n}", &MIN_PASSWORD_CHARS.to_string()))
    } else if form.new != form.repeat {
        Some(u.mismatch.to_string())
    } else {
        None
    };
    if let Some(e) = error {
        let page = password_view(&session, u, Some(e), None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    let hash = hash_password(form.new).await?;
    state.store.set_trainee_password(account.id, &hash).await?;
    // This session stays signed in; every other one no longer matches.
    sign_in(
        &session,
        &TraineeAccount {
            password_hash: hash,
            ..account
        },
    )
    .await?;
    let page = password_view(&session, u, None, Some(u.changed.to_string())).await?;
    Ok(render(&page)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_trainee_pages_are_return_targets() {
        assert_eq!(
            trainee_next(Some("/training/m/12/s/2")),
            "/training/m/12/s/2"
        );
        assert_eq!(trainee_next(Some("/studies/x")), "/training");
        assert_eq!(
            trainee_next(Some("//evil.example/training/m/1")),
            "/training"
        );
        assert_eq!(trainee_next(Some("/training/m/1?x=//evil")), "/training");
        assert_eq!(trainee_next(None), "/training");
    }

    #[test]
    fn turkish_browsers_get_turkish_pages() {
        let mut h = HeaderMap::new();
        assert_eq!(lui(&h).lang, "en");
        h.insert(
            header::ACCEPT_LANGUAGE,
            "tr-TR,tr;q=0.9,en;q=0.8".parse().unwrap(),
        );
        assert_eq!(lui(&h).lang, "tr");
        h.insert(header::ACCEPT_LANGUAGE, "en-GB,tr;q=0.5".parse().unwrap());
        assert_eq!(lui(&h).lang, "en");
    }
}
