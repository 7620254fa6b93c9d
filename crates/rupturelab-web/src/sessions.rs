//! The session store: sessions live in the study database (SQLite or
//! PostgreSQL, table `web_sessions`), so a restart keeps them and several
//! `serve` processes on one database share them.
//!
//! A signed-in request reads its session and its staff user in one
//! statement ([`Store::session_load`]): the session row names the user. The
//! user read with it waits in a task-local slot ([`prefetch`]) for the
//! auth backend's `get_user`, which then needs no query of its own. The
//! slot lives for one request only, so nothing in process memory outlives
//! the request: a password change or a sign-out in another process is seen
//! by the next request, as before.

use std::cell::RefCell;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use rupturelab_store::{SessionRow, Store, User};
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

/// The key under which axum-login keeps its data in a session.
const AUTH_KEY: &str = "axum-login.data";

/// The backend's session store.
#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sessions")
    }
}

impl Sessions {
    /// The session store in the study database.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Sessions { store }
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The row of a record: its values as JSON, and the staff user axum-login
/// signed in (its data's `user_id`).
fn row(record: &Record) -> session_store::Result<SessionRow> {
    let user_id = record
        .data
        .get(AUTH_KEY)
        .and_then(|d| d.get("user_id"))
        .and_then(serde_json::Value::as_i64);
    Ok(SessionRow {
        id: record.id.to_string(),
        data: serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?,
        expires_at: record.expiry_date.unix_timestamp(),
        user_id,
    })
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh random id is taken only by a 1-in-2^128 collision.
        while !self
            .store
            .session_create(&row(record)?)
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store
            .session_save(&row(record)?)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(s) = self
            .store
            .session_load(&id.to_string(), now())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        stash(s.user);
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&s.data)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?,
            expiry_date: OffsetDateTime::from_unix_timestamp(s.expires_at)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store
            .session_delete(&id.to_string())
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.store
            .session_delete_expired(now())
            .await
            .map(|_| ())
            .map_err(backend)
    }
}

tokio::task_local! {
    /// The staff user read with this request's session, until the auth
    /// backend takes it.
    static PREFETCHED: RefCell<Option<User>>;
}

/// Middleware (outside the session and auth layers): gives each request
/// its own prefetch slot.
pub async fn prefetch(req: Request, next: Next) -> Response {
    PREFETCHED.scope(RefCell::new(None), next.run(req)).await
}

fn stash(user: Option<User>) {
    // Outside a request (no slot) there is nothing to keep it for.
    let _ = PREFETCHED.try_with(|slot| *slot.borrow_mut() = user);
}

/// The user read with this request's session, if it is the one asked for
/// (taken: a second call reads the database).
pub(crate) fn prefetched_user(id: i64) -> Option<User> {
    PREFETCHED
        .try_with(|slot| slot.borrow_mut().take())
        .ok()
        .flatten()
        .filter(|u| u.id.0 == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_names_the_user_axum_login_signed_in() {
        let mut record = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: OffsetDateTime::from_unix_timestamp(2_000_000_000).unwrap(),
        };
        record.data.insert("csrf".into(), serde_json::json!("abc"));
        assert_eq!(row(&record).unwrap().user_id, None);
        record.data.insert(
            AUTH_KEY.into(),
            serde_json::json!({"user_id": 7, "auth_hash": [1, 2, 3]}),
        );
        let r = row(&record).unwrap();
        assert_eq!(r.user_id, Some(7));
        assert_eq!(r.expires_at, 2_000_000_000);
        assert_eq!(r.id, record.id.to_string());
        let back: std::collections::HashMap<String, serde_json::Value> =
            serde_json::from_str(&r.data).unwrap();
        assert_eq!(back, record.data);
    }

    #[tokio::test]
    async fn a_prefetched_user_is_given_once_and_only_for_its_id() {
        let user = User {
            id: rupturelab_store::UserId(3),
            username: "ayla".into(),
            role: rupturelab_store::Role::Coder,
            password_hash: "h".into(),
        };
        // Outside a request: nothing is kept.
        stash(Some(user.clone()));
        assert_eq!(prefetched_user(3), None);
        PREFETCHED
            .scope(RefCell::new(None), async {
                stash(Some(user.clone()));
                assert_eq!(prefetched_user(4), None, "another id");
                stash(Some(user.clone()));
                assert_eq!(prefetched_user(3), Some(user.clone()));
                assert_eq!(prefetched_user(3), None, "taken");
            })
            .await;
    }
}
