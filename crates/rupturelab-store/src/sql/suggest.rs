//! The coding screen's suggestions, in SQL shared by both backends (compiled
//! once inside `sqlite` and once inside `postgres`): the per-study
//! switch, the fingerprint of the model's training data, and each coder's
//! accepted and rejected suggestions. Every change writes its audit event
//! in the same transaction.
//!
//! The SQL here is portable on purpose (it is to run on PostgreSQL too):
//! `$n` placeholders, `RETURNING`, `ON CONFLICT (…) DO …`, booleans bound
//! from Rust or written TRUE/FALSE, `CASE` sums instead of integer booleans.

use rupturelab_core::{AuditEvent, CodePath, Key, Timestamp, CONSENSUS};
use sqlx::Row;

use super::coding::{add_coding_in, target};
use super::{begin_write, key, Conn, Pool};
use crate::coding::{NewCoding, ResponseId, StoredCoding};
use crate::suggest::{SuggestionSetting, SuggestionUse};
use crate::{Result, StoreError, StudyId};

async fn audit(
    conn: &mut Conn,
    sid: i64,
    actor: &str,
    action: &str,
    entity: String,
    detail: String,
) -> Result<()> {
    let ev = AuditEvent {
        at: Timestamp::now(),
        actor: actor.to_string(),
        action: action.to_string(),
        entity,
        detail,
    };
    sqlx::query("INSERT INTO audit_events (study_id, at, actor, action, entity, detail) VALUES ($1,$2,$3,$4,$5,$6)")
        .bind(sid)
        .bind(ev.at.0)
        .bind(&ev.actor)
        .bind(&ev.action)
        .bind(&ev.entity)
        .bind(&ev.detail)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn setting(conn: &mut Conn, sid: i64) -> Result<SuggestionSetting> {
    let blind =
        sqlx::query_scalar::<_, bool>("SELECT blind FROM coding_settings WHERE study_id = $1")
            .bind(sid)
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or(true);
    let explicit = sqlx::query_scalar::<_, Option<bool>>(
        "SELECT enabled FROM suggestion_settings WHERE study_id = $1",
    )
    .bind(sid)
    .fetch_optional(&mut *conn)
    .await?
    .flatten();
    Ok(SuggestionSetting { explicit, blind })
}

pub(super) async fn suggestion_setting(pool: &Pool, id: StudyId) -> Result<SuggestionSetting> {
    let mut conn = pool.acquire().await?;
    setting(&mut conn, id.0).await
}

fn describe(s: &SuggestionSetting) -> String {
    let state = if s.enabled() { "on" } else { "off" };
    match s.explicit {
        None => format!(
            "automatic ({state}: the study is {})",
            if s.blind { "blind" } else { "unblinded" }
        ),
        Some(_) => state.to_string(),
    }
}

pub(super) async fn set_suggestion_setting(
    pool: &Pool,
    id: StudyId,
    explicit: Option<bool>,
    actor: &str,
) -> Result<()> {
    let sid = id.0;
    let mut tx = begin_write(pool).await?;
    let before = setting(&mut tx, sid).await?;
    sqlx::query(
        "INSERT INTO suggestion_settings (study_id, enabled) VALUES ($1, $2) \
         ON CONFLICT (study_id) DO UPDATE SET enabled = excluded.enabled",
    )
    .bind(sid)
    .bind(explicit)
    .execute(&mut *tx)
    .await?;
    if before.explicit != explicit {
        let after = SuggestionSetting { explicit, ..before };
        audit(
            &mut tx,
            sid,
            actor,
            "settings.suggestions",
            "coding settings".into(),
            format!("suggestions {} → {}", describe(&before), describe(&after)),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// FNV-1a, 64 bits: a small, stable hash for the fingerprint.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn add(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
    }
    fn add_i64(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.add(&v.to_le_bytes()),
            None => self.add(b"-"),
        }
    }
}

pub(super) async fn consensus_fingerprint(pool: &Pool, id: StudyId) -> Result<String> {
    let sid = id.0;
    let mut conn = pool.acquire().await?;
    let mut h = Fnv::new();
    let language: Option<String> = sqlx::query_scalar("SELECT language FROM studies WHERE id = $1")
        .bind(sid)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(language) = language else {
        return Err(StoreError::NotFound(format!("study {sid} does not exist")));
    };
    h.add(language.as_bytes());
    let paths: Vec<String> =
        sqlx::query_scalar("SELECT path FROM codes WHERE study_id = $1 ORDER BY id")
            .bind(sid)
            .fetch_all(&mut *conn)
            .await?;
    for p in &paths {
        h.add(p.as_bytes());
    }
    let rows = sqlx::query(
        "SELECT c.response_id, k.path, c.span_start, c.span_end FROM codings c \
         JOIN coders d ON d.id = c.coder_id JOIN codes k ON k.id = c.code_id \
         WHERE c.study_id = $1 AND d.name = $2 ORDER BY c.id",
    )
    .bind(sid)
    .bind(CONSENSUS)
    .fetch_all(&mut *conn)
    .await?;
    let consensus = rows.len();
    for r in &rows {
        h.add_i64(Some(r.get(0)));
        h.add(r.get::<String, _>(1).as_bytes());
        h.add_i64(r.get(2));
        h.add_i64(r.get(3));
    }
    let (answers, last, length): (i64, Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MAX(r.id), SUM(LENGTH(r.text)) FROM responses r \
         JOIN questions q ON q.id = r.question_id \
         WHERE r.study_id = $1 AND q.kind = 'open' AND r.text IS NOT NULL",
    )
    .bind(sid)
    .fetch_one(&mut *conn)
    .await?;
    h.add_i64(Some(answers));
    h.add_i64(last);
    h.add_i64(length);
    Ok(format!("{consensus}-{:016x}", h.0))
}

pub(super) async fn assigned_to(
    pool: &Pool,
    id: StudyId,
    coder: &Key,
    response: ResponseId,
) -> Result<bool> {
    let mut conn = pool.acquire().await?;
    let row = sqlx::query(
        "SELECT d.id, a.mode FROM coders d JOIN coder_assignments a ON a.coder_id = d.id \
         WHERE d.study_id = $1 AND d.name = $2",
    )
    .bind(id.0)
    .bind(coder.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(true);
    };
    if row.get::<String, _>(1) != "share" {
        return Ok(true);
    }
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM coding_assigned WHERE coder_id = $1 AND response_id = $2",
    )
    .bind(row.get::<i64, _>(0))
    .bind(response.0)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

pub(super) async fn rejected_suggestions(
    pool: &Pool,
    id: StudyId,
    coder: &Key,
    response: ResponseId,
) -> Result<Vec<CodePath>> {
    let paths: Vec<String> = sqlx::query_scalar(
        "SELECT k.path FROM suggestion_decisions s JOIN coders d ON d.id = s.coder_id \
         JOIN codes k ON k.id = s.code_id \
         WHERE s.study_id = $1 AND d.name = $2 AND s.response_id = $3 AND s.decision = 'rejected' \
         ORDER BY k.path",
    )
    .bind(id.0)
    .bind(coder.as_str())
    .bind(response.0)
    .fetch_all(pool)
    .await?;
    paths
        .into_iter()
        .map(|p| {
            CodePath::parse(&p)
                .map_err(|e| StoreError::Invalid(format!("stored code path `{p}`: {e}")))
        })
        .collect()
}

/// Records a decision (the newest wins for coder × response × code).
async fn decide(
    conn: &mut Conn,
    sid: i64,
    coder: &Key,
    response: ResponseId,
    code: &CodePath,
    decision: &str,
    confidence: f64,
) -> Result<bool> {
    let coder_id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM coders WHERE study_id = $1 AND name = $2")
            .bind(sid)
            .bind(coder.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    let coder_id = match coder_id {
        Some(c) => c,
        None => {
            let position: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(position) + 1, 0) FROM coders WHERE study_id = $1",
            )
            .bind(sid)
            .fetch_one(&mut *conn)
            .await?;
            sqlx::query_scalar(
                "INSERT INTO coders (study_id, position, name) VALUES ($1,$2,$3) RETURNING id",
            )
            .bind(sid)
            .bind(position)
            .bind(coder.as_str())
            .fetch_one(&mut *conn)
            .await?
        }
    };
    let code_id: i64 = sqlx::query_scalar("SELECT id FROM codes WHERE study_id = $1 AND path = $2")
        .bind(sid)
        .bind(code.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "code: the codebook has no code `{code}`; reload the codebook"
            ))
        })?;
    let was: Option<String> = sqlx::query_scalar(
        "SELECT decision FROM suggestion_decisions WHERE coder_id = $1 AND response_id = $2 AND code_id = $3",
    )
    .bind(coder_id)
    .bind(response.0)
    .bind(code_id)
    .fetch_optional(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO suggestion_decisions (study_id, coder_id, response_id, code_id, decision, confidence, at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7) \
         ON CONFLICT (coder_id, response_id, code_id) DO UPDATE SET \
         decision = excluded.decision, confidence = excluded.confidence, at = excluded.at",
    )
    .bind(sid)
    .bind(coder_id)
    .bind(response.0)
    .bind(code_id)
    .bind(decision)
    .bind(confidence)
    .bind(Timestamp::now().0)
    .execute(&mut *conn)
    .await?;
    Ok(was.as_deref() != Some(decision))
}

fn check_confidence(confidence: f64) -> Result<()> {
    if confidence.is_finite() && (0.0..=1.0).contains(&confidence) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "confidence: {confidence} is not a probability between 0 and 1"
        )))
    }
}

pub(super) async fn accept_suggestion(
    pool: &Pool,
    id: StudyId,
    new: &NewCoding,
    confidence: f64,
    actor: &str,
) -> Result<StoredCoding> {
    check_confidence(confidence)?;
    let mut tx = begin_write(pool).await?;
    let note = format!(" (from suggestion, confidence {confidence:.2})");
    let row = add_coding_in(&mut tx, id.0, new, actor, &note).await?;
    decide(
        &mut tx,
        id.0,
        &new.coder,
        new.response,
        &new.code,
        "accepted",
        confidence,
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub(super) async fn reject_suggestion(
    pool: &Pool,
    id: StudyId,
    coder: &Key,
    response: ResponseId,
    code: &CodePath,
    confidence: f64,
    actor: &str,
) -> Result<()> {
    check_confidence(confidence)?;
    let sid = id.0;
    let mut tx = begin_write(pool).await?;
    let t = target(&mut tx, sid, response.0).await?.ok_or_else(|| {
        StoreError::NotFound(format!(
            "response: the study has no open answer with id {}",
            response.0
        ))
    })?;
    if decide(&mut tx, sid, coder, response, code, "rejected", confidence).await? {
        audit(
            &mut tx,
            sid,
            actor,
            "suggestion.reject",
            format!("suggestion on {}", t.key),
            format!("{code} rejected by {coder} (confidence {confidence:.2})"),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn suggestions_used(pool: &Pool, id: StudyId) -> Result<Vec<SuggestionUse>> {
    let rows = sqlx::query(
        "SELECT d.name, \
         COALESCE(SUM(CASE WHEN s.decision = 'accepted' THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN s.decision = 'rejected' THEN 1 ELSE 0 END), 0) \
         FROM coders d LEFT JOIN suggestion_decisions s ON s.coder_id = d.id \
         WHERE d.study_id = $1 AND d.name <> $2 \
         GROUP BY d.id, d.name, d.position ORDER BY d.position, d.id",
    )
    .bind(id.0)
    .bind(CONSENSUS)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SuggestionUse {
                coder: key(r.get(0))?,
                accepted: r.get(1),
                rejected: r.get(2),
            })
        })
        .collect()
}
