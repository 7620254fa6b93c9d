//! SQLite implementation of the audit-trail page's calls and of the search
//! index's freshness fingerprint.

use rupturelab_core::{AuditEvent, Timestamp};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use crate::audit::{AuditFacets, AuditFilter};
use crate::{Result, StudyId};

fn push_filter(qb: &mut QueryBuilder<'_, Sqlite>, id: StudyId, f: &AuditFilter) {
    qb.push(" WHERE study_id = ").push_bind(id.0);
    let some = |o: &Option<String>| o.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(a) = some(&f.actor) {
        qb.push(" AND actor = ").push_bind(a);
    }
    if let Some(a) = some(&f.action) {
        qb.push(" AND (action = ")
            .push_bind(a.clone())
            .push(" OR substr(action, 1, ")
            .push_bind(a.chars().count() as i64 + 1)
            .push(") = ")
            .push_bind(format!("{a}."))
            .push(")");
    }
    if let Some(e) = some(&f.entity) {
        qb.push(" AND instr(entity, ").push_bind(e).push(") > 0");
    }
    if let Some(t) = f.from {
        qb.push(" AND at >= ").push_bind(t.0);
    }
    if let Some(t) = f.to {
        qb.push(" AND at < ").push_bind(t.0);
    }
}

pub(super) async fn audit_page(
    pool: &SqlitePool,
    id: StudyId,
    filter: &AuditFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<AuditEvent>, i64)> {
    let mut qb = QueryBuilder::new("SELECT count(*) FROM audit_events");
    push_filter(&mut qb, id, filter);
    let total: i64 = qb.build_query_scalar().fetch_one(pool).await?;
    let mut qb = QueryBuilder::new("SELECT at, actor, action, entity, detail FROM audit_events");
    push_filter(&mut qb, id, filter);
    qb.push(" ORDER BY at DESC, id DESC LIMIT ")
        .push_bind(limit.max(0))
        .push(" OFFSET ")
        .push_bind(offset.max(0));
    let rows = qb.build().fetch_all(pool).await?;
    let events = rows
        .into_iter()
        .map(|r| AuditEvent {
            at: Timestamp(r.get(0)),
            actor: r.get(1),
            action: r.get(2),
            entity: r.get(3),
            detail: r.get(4),
        })
        .collect();
    Ok((events, total))
}

pub(super) async fn audit_facets(pool: &SqlitePool, id: StudyId) -> Result<AuditFacets> {
    let actors = sqlx::query_scalar(
        "SELECT DISTINCT actor FROM audit_events WHERE study_id = $1 ORDER BY actor",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await?;
    let actions = sqlx::query_scalar(
        "SELECT DISTINCT action FROM audit_events WHERE study_id = $1 ORDER BY action",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await?;
    Ok(AuditFacets { actors, actions })
}

pub(super) async fn search_fingerprint(pool: &SqlitePool, id: StudyId) -> Result<String> {
    // Every write of an answer sets updated_at and every transcript change
    // rewrites the segment's turns (new row ids); counts and lengths catch
    // deletions and imports. Cheap: two aggregate scans over indexed rows.
    let r = sqlx::query(
        "SELECT count(*), COALESCE(max(updated_at), 0), COALESCE(max(id), 0), COALESCE(sum(length(text)), 0) \
         FROM responses WHERE study_id = $1",
    )
    .bind(id.0)
    .fetch_one(pool)
    .await?;
    let t = sqlx::query(
        "SELECT count(*), COALESCE(max(t.id), 0), COALESCE(sum(length(t.text)), 0), COALESCE(sum(t.id), 0) \
         FROM turns t JOIN segments s ON s.id = t.segment_id WHERE s.study_id = $1",
    )
    .bind(id.0)
    .fetch_one(pool)
    .await?;
    let lang: String = sqlx::query_scalar("SELECT language FROM studies WHERE id = $1")
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .unwrap_or_default();
    Ok(format!(
        "v1;{lang};r{}:{}:{}:{};t{}:{}:{}:{}",
        r.get::<i64, _>(0),
        r.get::<i64, _>(1),
        r.get::<i64, _>(2),
        r.get::<i64, _>(3),
        t.get::<i64, _>(0),
        t.get::<i64, _>(1),
        t.get::<i64, _>(2),
        t.get::<i64, _>(3),
    ))
}
