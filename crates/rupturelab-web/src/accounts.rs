//! Accounts: argon2id password hashes (computed in `spawn_blocking`), the
//! axum-login backend, random tokens and their SHA-256 digests, and the
//! extractors that say who is calling (a signed-in researcher, or an API
//! client with a bearer token).

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_login::{AuthUser, AuthnBackend};
use rupturelab_store::{Role, Store, StoreError, User, UserId};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, Error};

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// `n` random bytes from the operating system, as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the operating system's random source works");
    hex(&buf)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new 128-bit random token (32 hex characters) for an invitation link or API use.
pub fn new_token() -> String {
    random_hex(16)
}

/// The stored form of a high-entropy token: hex SHA-256.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// At most this many argon2id hashes run at once (one per core, 1–4). Each
/// takes 19 MiB (argon2's default memory cost) on its own blocking thread,
/// and the allocator keeps what a thread used: ten coders signing in at once
/// once grew the server from 27 to 220 MiB. Queuing here bounds that memory
/// and the CPU a flood of sign-ins can take.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(hashing_capacity()))
}

/// The number of hashing permits: one per core, 1–4.
fn hashing_capacity() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.clamp(1, 4)
}

/// Hashes a password with argon2id (default parameters, random salt).
pub async fn hash_password(password: String) -> Result<String, Error> {
    let _permit = hashing_permits()
        .acquire()
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// Checks a password against a PHC hash (false on any mismatch or bad hash).
/// With no hash (unknown user) it verifies against a dummy hash, so that a
/// wrong name costs as much time as a wrong password, and returns false.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    let Ok(_permit) = hashing_permits().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| {
            static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            DUMMY
                .get_or_init(|| {
                    Argon2::default()
                        .hash_password(random_hex(16).as_bytes())
                        .map(|h| h.to_string())
                        .unwrap_or_default()
                })
                .clone()
        });
        let ok = PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && known
    })
    .await
    .unwrap_or(false)
}

/// Creates a user (for `rupturelab user add` and tests).
pub async fn create_user(
    store: &dyn Store,
    username: &str,
    role: Role,
    password: &str,
) -> Result<UserId, Error> {
    let name = username.trim();
    if name.is_empty()
        || name.len() > 64
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::Invalid(
            "a user name is 1–64 characters without spaces".into(),
        ));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::Invalid(format!(
            "the password is too short; use at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let hash = hash_password(password.to_string()).await?;
    Ok(store.create_user(name, role, &hash).await?)
}

/// Creates an API token for a user; returns the token (shown once, stored hashed).
pub async fn create_api_token(
    store: &dyn Store,
    user: UserId,
    label: &str,
) -> Result<String, Error> {
    let token = format!("rl_{}", new_token());
    store
        .add_api_token(user, &token_hash(&token), label)
        .await?;
    Ok(token)
}

/// A signed-in user as the session knows them.
#[derive(Clone)]
pub struct SessionUser(pub User);

impl std::fmt::Debug for SessionUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionUser")
            .field("id", &self.0.id.0)
            .field("username", &self.0.username)
            .finish_non_exhaustive()
    }
}

impl AuthUser for SessionUser {
    type Id = i64;
    fn id(&self) -> i64 {
        self.0.id.0
    }
    // A password change invalidates existing sessions.
    fn session_auth_hash(&self) -> &[u8] {
        self.0.password_hash.as_bytes()
    }
}

/// Login form credentials.
#[derive(Clone, serde::Deserialize)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// The axum-login backend over the store.
#[derive(Clone)]
pub struct Backend {
    /// The store.
    pub store: Arc<dyn Store>,
}

/// A backend failure.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BackendError(#[from] StoreError);

impl AuthnBackend for Backend {
    type User = SessionUser;
    type Credentials = Credentials;
    type Error = BackendError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<SessionUser>, BackendError> {
        let user = self.store.user_by_name(creds.username.trim()).await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let ok = verify_password(creds.password, hash).await;
        Ok(user.filter(|_| ok).map(SessionUser))
    }

    async fn get_user(&self, id: &i64) -> Result<Option<SessionUser>, BackendError> {
        // Usually read with the session, in the same statement.
        if let Some(u) = crate::sessions::prefetched_user(*id) {
            return Ok(Some(SessionUser(u)));
        }
        Ok(self.store.user_by_id(UserId(*id)).await?.map(SessionUser))
    }
}

/// axum-login's session type for this backend.
pub type AuthSession = axum_login::AuthSession<Backend>;

/// A signed-in researcher (console pages). Anyone else is sent to the login
/// page (not signed in) or shown a 403 (a coder).
pub struct Researcher(pub User);

/// Where an unauthenticated console request goes.
pub struct LoginRedirect(String);

impl IntoResponse for LoginRedirect {
    fn into_response(self) -> Response {
        Redirect::to(&self.0).into_response()
    }
}

/// Rejection of [`Researcher`].
pub enum ConsoleRejection {
    /// Not signed in.
    Login(LoginRedirect),
    /// Signed in without the right role, or a server error.
    Error(Error),
}

impl IntoResponse for ConsoleRejection {
    fn into_response(self) -> Response {
        match self {
            ConsoleRejection::Login(r) => r.into_response(),
            ConsoleRejection::Error(e) => e.into_response(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Researcher {
    type Rejection = ConsoleRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = AuthSession::from_request_parts(parts, state)
            .await
            .map_err(|_| ConsoleRejection::Error(Error::Internal("no auth layer".into())))?;
        match auth.user {
            Some(SessionUser(u)) if u.role == Role::Researcher => Ok(Researcher(u)),
            Some(_) => Err(ConsoleRejection::Error(Error::Forbidden(
                "the researcher console is for researchers; your account is a coder account".into(),
            ))),
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                Err(ConsoleRejection::Login(LoginRedirect(format!(
                    "/login?next={}",
                    crate::views::url_encode(next)
                ))))
            }
        }
    }
}

/// A signed-in user of any role (pages every account may see).
pub struct AnyUser(pub User);

impl<S: Send + Sync> FromRequestParts<S> for AnyUser {
    type Rejection = ConsoleRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = AuthSession::from_request_parts(parts, state)
            .await
            .map_err(|_| ConsoleRejection::Error(Error::Internal("no auth layer".into())))?;
        match auth.user {
            Some(SessionUser(u)) => Ok(AnyUser(u)),
            None => Err(ConsoleRejection::Login(LoginRedirect("/login".into()))),
        }
    }
}

/// A researcher calling the JSON API, by session cookie or `Authorization: Bearer <token>`.
pub struct ApiResearcher(pub User);

impl FromRequestParts<crate::AppState> for ApiResearcher {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = if let Some(token) = crate::security::bearer_token(&parts.headers) {
            // Wrong API tokens count against the same per-address limit as
            // unknown participant links.
            let ip = parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_default();
            if state.token_limiter.blocked(&ip).await {
                return Err(Error::TooManyRequests.into());
            }
            let user = state.store.user_by_api_token(&token_hash(&token)).await?;
            if user.is_none() {
                state.token_limiter.fail(&ip).await;
                return Err(Error::Unauthorized.into());
            }
            user
        } else {
            AuthSession::from_request_parts(parts, state)
                .await
                .map_err(|_| Error::Internal("no auth layer".into()))?
                .user
                .map(|u| u.0)
        };
        match user {
            Some(u) if u.role == Role::Researcher => Ok(ApiResearcher(u)),
            Some(_) => Err(Error::Forbidden("this API is for researcher accounts".into()).into()),
            None => Err(Error::Unauthorized.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn password_hashing_waits_for_a_permit() {
        // Other tests in this process hash passwords too: wait until every
        // permit is free and take them all (available_permits() would race).
        let n = hashing_capacity();
        assert!((1..=4).contains(&n), "{n}");
        let all = hashing_permits().acquire_many(n as u32).await.unwrap();
        let hashing = tokio::spawn(hash_password("a long password".into()));
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !hashing.is_finished(),
            "no hash runs while every permit is taken"
        );
        drop(all);
        let h = hashing.await.unwrap().unwrap();
        assert!(verify_password("a long password".into(), Some(h)).await);
    }

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong".into(), Some(h)).await);
        assert!(!verify_password("x".into(), None).await);
    }

    #[test]
    fn tokens_are_128_bit_hex_and_hashed_with_sha256() {
        let t = new_token();
        assert_eq!(t.len(), 32);
        assert!(t.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(t, new_token());
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
