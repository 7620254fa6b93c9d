//! The web server's rate-limit counters (migration `0011_rate_limits.sql`),
//! in SQL shared by both backends. Each call is one statement, atomic on its
//! own, so it takes no study lock: counting failures never waits for a
//! coding write.

use super::Pool;
use crate::Result;

pub(super) async fn fail(
    pool: &Pool,
    scope: &str,
    client: &str,
    now: i64,
    window: i64,
) -> Result<i64> {
    let expired = now - window;
    // Old windows go first, so the table holds only clients seen recently.
    sqlx::query("DELETE FROM rate_limits WHERE since <= $1")
        .bind(expired)
        .execute(pool)
        .await?;
    Ok(sqlx::query_scalar(
        "INSERT INTO rate_limits (scope, client, failures, since) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (scope, client) DO UPDATE SET \
           failures = CASE WHEN rate_limits.since <= $4 THEN 1 ELSE rate_limits.failures + 1 END, \
           since = CASE WHEN rate_limits.since <= $4 THEN $3 ELSE rate_limits.since END \
         RETURNING failures",
    )
    .bind(scope)
    .bind(client)
    .bind(now)
    .bind(expired)
    .fetch_one(pool)
    .await?)
}

pub(super) async fn failures(
    pool: &Pool,
    scope: &str,
    client: &str,
    now: i64,
    window: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT failures FROM rate_limits WHERE scope = $1 AND client = $2 AND since > $3",
    )
    .bind(scope)
    .bind(client)
    .bind(now - window)
    .fetch_optional(pool)
    .await?
    .unwrap_or(0))
}

pub(super) async fn clear(pool: &Pool, scope: &str, client: &str) -> Result<()> {
    sqlx::query("DELETE FROM rate_limits WHERE scope = $1 AND client = $2")
        .bind(scope)
        .bind(client)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn forgive(pool: &Pool, scope: &str, client: &str) -> Result<()> {
    sqlx::query(
        "UPDATE rate_limits SET failures = failures - 1 \
         WHERE scope = $1 AND client = $2 AND failures > 0",
    )
    .bind(scope)
    .bind(client)
    .execute(pool)
    .await?;
    Ok(())
}
