//! The report's stored settings, in SQL shared by both backends (compiled
//! once inside `sqlite` and once inside `postgres`, like `web.rs`): quote
//! pins and exclusions (`quote_rules`, migration 0005). Every change records
//! an audit event in the same transaction.

use rupturelab_core::{AuditEvent, CodePath, Key, ResponseKey, Timestamp};
use sqlx::Row;

use super::{begin_write, Conn, Pool};

use crate::report::{QuoteRule, QuoteRuleKind};
use crate::{Result, StoreError, StudyId};

fn invalid(msg: impl Into<String>) -> StoreError {
    StoreError::Invalid(msg.into())
}

/// Reads a stored `P/S/Q` answer key.
fn response_key(s: &str) -> Result<ResponseKey> {
    let bad = || {
        invalid(format!(
            "stored quote rule names `{s}`, which is not an answer key"
        ))
    };
    let mut parts = s.split('/');
    let (Some(p), Some(seg), Some(q), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    Ok(ResponseKey {
        participant: Key::parse(p).map_err(|_| bad())?,
        segment: if seg.is_empty() {
            None
        } else {
            Some(Key::parse(seg).map_err(|_| bad())?)
        },
        question: Key::parse(q).map_err(|_| bad())?,
    })
}

/// Checks that the rule names an answer and a theme of the study.
async fn check(conn: &mut Conn, id: StudyId, rule: &QuoteRule) -> Result<()> {
    let r = &rule.response;
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT r.id FROM responses r JOIN participants p ON p.id = r.participant_id \
         JOIN questions q ON q.id = r.question_id LEFT JOIN segments s ON s.id = r.segment_id \
         WHERE r.study_id = $1 AND p.code = $2 AND q.key = $3 AND COALESCE(s.key, '') = $4",
    )
    .bind(id.0)
    .bind(r.participant.as_str())
    .bind(r.question.as_str())
    .bind(r.segment.as_ref().map(|s| s.as_str()).unwrap_or(""))
    .fetch_optional(&mut *conn)
    .await?;
    if found.is_none() {
        return Err(invalid(format!(
            "the study has no answer {r}; name one as PARTICIPANT/SEGMENT/QUESTION (e.g. P03/S2/Q1)"
        )));
    }
    match &rule.theme {
        None if rule.kind == QuoteRuleKind::Pin => {
            Err(invalid(format!("a pin names its theme: write THEME={r}")))
        }
        None => Ok(()),
        Some(t) => {
            let depth: Option<i64> =
                sqlx::query_scalar("SELECT id FROM codes WHERE study_id = $1 AND path = $2")
                    .bind(id.0)
                    .bind(t.as_str())
                    .fetch_optional(&mut *conn)
                    .await?;
            if depth.is_none() {
                return Err(invalid(format!("the codebook has no code `{t}`")));
            }
            if t.depth() != 2 {
                return Err(invalid(format!(
                    "`{t}` is not a theme; quotes are chosen per theme, a code at the second level (e.g. Cause/Patient)"
                )));
            }
            Ok(())
        }
    }
}

async fn audit(conn: &mut Conn, id: StudyId, event: AuditEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (study_id, at, actor, action, entity, detail) VALUES ($1,$2,$3,$4,$5,$6)",
    )
    .bind(id.0)
    .bind(event.at.0)
    .bind(&event.actor)
    .bind(&event.action)
    .bind(&event.entity)
    .bind(&event.detail)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn state(kind: QuoteRuleKind) -> &'static str {
    match kind {
        QuoteRuleKind::Pin => "pinned",
        QuoteRuleKind::Exclude => "excluded",
    }
}

/// The study's rules: pins first, then exclusions, each in the order they were added.
pub(super) async fn quote_rules(pool: &Pool, id: StudyId) -> Result<Vec<QuoteRule>> {
    let rows = sqlx::query(
        "SELECT kind, theme, response FROM quote_rules WHERE study_id = $1 \
         ORDER BY CASE kind WHEN 'pin' THEN 0 ELSE 1 END, id",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let theme: &str = r.get(1);
            Ok(QuoteRule {
                kind: QuoteRuleKind::parse(r.get(0)).map_err(invalid)?,
                theme: if theme.is_empty() {
                    None
                } else {
                    Some(CodePath::parse(theme).map_err(invalid)?)
                },
                response: response_key(r.get(2))?,
            })
        })
        .collect()
}

/// Adds a rule (false when the study has it already); a pin replaces an
/// exclusion of the same answer and theme, and the other way round.
pub(super) async fn add_quote_rule(
    pool: &Pool,
    id: StudyId,
    rule: &QuoteRule,
    actor: &str,
) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    check(&mut tx, id, rule).await?;
    let theme = rule.theme.as_ref().map(|t| t.as_str()).unwrap_or("");
    let response = rule.response.to_string();
    let other = match rule.kind {
        QuoteRuleKind::Pin => QuoteRuleKind::Exclude,
        QuoteRuleKind::Exclude => QuoteRuleKind::Pin,
    };
    let replaced = sqlx::query(
        "DELETE FROM quote_rules WHERE study_id = $1 AND kind = $2 AND theme = $3 AND response = $4",
    )
    .bind(id.0)
    .bind(other.as_str())
    .bind(theme)
    .bind(&response)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let now = Timestamp::now();
    let added = sqlx::query(
        "INSERT INTO quote_rules (study_id, kind, theme, response, created_at, created_by) \
         VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (study_id, kind, theme, response) DO NOTHING",
    )
    .bind(id.0)
    .bind(rule.kind.as_str())
    .bind(theme)
    .bind(&response)
    .bind(now.0)
    .bind(actor)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if added == 0 {
        return Ok(false);
    }
    let before = if replaced > 0 { state(other) } else { "—" };
    audit(
        &mut tx,
        id,
        AuditEvent {
            at: now,
            actor: actor.to_string(),
            action: format!("quote.{}", rule.kind.as_str()),
            entity: format!("quote {rule}"),
            detail: format!("{before} → {}", state(rule.kind)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Removes one rule (false when the study has no such rule).
pub(super) async fn remove_quote_rule(
    pool: &Pool,
    id: StudyId,
    rule: &QuoteRule,
    actor: &str,
) -> Result<bool> {
    let mut tx = begin_write(pool).await?;
    let n = sqlx::query(
        "DELETE FROM quote_rules WHERE study_id = $1 AND kind = $2 AND theme = $3 AND response = $4",
    )
    .bind(id.0)
    .bind(rule.kind.as_str())
    .bind(rule.theme.as_ref().map(|t| t.as_str()).unwrap_or(""))
    .bind(rule.response.to_string())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    audit(
        &mut tx,
        id,
        AuditEvent {
            at: Timestamp::now(),
            actor: actor.to_string(),
            action: format!("quote.un{}", rule.kind.as_str()),
            entity: format!("quote {rule}"),
            detail: format!("{} → —", state(rule.kind)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Removes every rule of the study; returns how many there were.
pub(super) async fn clear_quote_rules(pool: &Pool, id: StudyId, actor: &str) -> Result<u64> {
    let mut tx = begin_write(pool).await?;
    // One statement, so the counts are of exactly the rows removed.
    let kinds: Vec<String> =
        sqlx::query_scalar("DELETE FROM quote_rules WHERE study_id = $1 RETURNING kind")
            .bind(id.0)
            .fetch_all(&mut *tx)
            .await?;
    let n = kinds.len() as u64;
    let pins = kinds.iter().filter(|k| k.as_str() == "pin").count() as i64;
    if n == 0 {
        return Ok(0);
    }
    audit(
        &mut tx,
        id,
        AuditEvent {
            at: Timestamp::now(),
            actor: actor.to_string(),
            action: "quote.clear".into(),
            entity: "quote rules".into(),
            detail: format!("{pins} pinned, {} excluded → none", n as i64 - pins),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}
