//! The web server's sessions (migration `0012_web_sessions.sql`), in SQL
//! shared by both backends. A session is read together with its signed-in
//! user in one statement: every signed-in request starts with it.

use super::Pool;
use crate::web::{SessionRow, StoredSession};
use crate::Result;

/// A session and its signed-in user, by session id ($1), if it has not
/// expired at $2 (epoch seconds). Its columns make a [`SessionColumns`].
pub(super) const LOAD: &str =
    "SELECT s.data, s.expires_at, u.id, u.username, u.role, u.password_hash \
     FROM web_sessions s LEFT JOIN users u ON u.id = s.user_id \
     WHERE s.id = $1 AND s.expires_at > $2";

/// The columns of [`LOAD`].
pub(super) type SessionColumns = (
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The session [`LOAD`] read.
pub(super) fn session_of(c: SessionColumns) -> Result<StoredSession> {
    let (data, expires_at, uid, username, role, password_hash) = c;
    let user = match (uid, username, role, password_hash) {
        (Some(uid), Some(username), Some(role), Some(password_hash)) => Some(crate::web::User {
            id: crate::web::UserId(uid),
            username,
            role: crate::web::Role::parse(&role).map_err(super::invalid)?,
            password_hash,
        }),
        _ => None,
    };
    Ok(StoredSession {
        data,
        expires_at,
        user,
    })
}

pub(super) async fn load(pool: &Pool, id: &str, now: i64) -> Result<Option<StoredSession>> {
    let row: Option<SessionColumns> = sqlx::query_as(LOAD)
        .bind(id)
        .bind(now)
        .fetch_optional(pool)
        .await?;
    row.map(session_of).transpose()
}

/// The user id, if that user still exists (a session never names a
/// removed account).
const USER: &str = "(SELECT id FROM users WHERE id = $4)";

pub(super) async fn create(pool: &Pool, s: &SessionRow) -> Result<bool> {
    let done = sqlx::query(&format!(
        "INSERT INTO web_sessions (id, data, expires_at, user_id) VALUES ($1, $2, $3, {USER}) \
         ON CONFLICT (id) DO NOTHING"
    ))
    .bind(&s.id)
    .bind(&s.data)
    .bind(s.expires_at)
    .bind(s.user_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Updates a session that exists; a session deleted meanwhile (signed
/// out by another request) stays deleted rather than coming back.
pub(super) async fn save(pool: &Pool, s: &SessionRow) -> Result<()> {
    sqlx::query(&format!(
        "UPDATE web_sessions SET data = $2, expires_at = $3, user_id = {USER} WHERE id = $1"
    ))
    .bind(&s.id)
    .bind(&s.data)
    .bind(s.expires_at)
    .bind(s.user_id)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn delete(pool: &Pool, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM web_sessions WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn delete_expired(pool: &Pool, now: i64) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}
