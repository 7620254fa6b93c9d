//! Coding, in SQL shared by both backends (compiled once inside `sqlite` and
//! once inside `postgres`, like `web.rs`): codings as individual rows guarded
//! by a version, the coding queue, memos, blind mode and assignments, and
//! each coder's undo/redo log. Every change writes its audit event in the
//! same transaction. Statements use `$n` placeholders and TRUE/FALSE, which
//! both dialects accept.

use std::collections::{BTreeSet, HashMap};

use rupturelab_core::*;
use sqlx::Row;

use super::{begin_write, invalid, key, Conn, Db, DbRow, Pool, MULTI_STATEMENT};
use crate::coding::*;
use crate::{Result, StoreError, StudyId};

pub(super) fn now() -> i64 {
    Timestamp::now().0
}

pub(super) fn conflict(msg: impl Into<String>) -> StoreError {
    StoreError::Conflict(msg.into())
}

fn not_found(msg: impl Into<String>) -> StoreError {
    StoreError::NotFound(msg.into())
}

pub(super) fn span_text(span: Option<Span>) -> String {
    match span {
        Some(s) => format!("[{}, {})", s.start, s.end),
        None => "whole response".into(),
    }
}

pub(super) async fn audit(
    conn: &mut Conn,
    sid: i64,
    actor: &str,
    action: &str,
    entity: String,
    detail: String,
) -> Result<()> {
    let ev = AuditEvent {
        at: Timestamp(now()),
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

pub(super) async fn coder_id(conn: &mut Conn, sid: i64, name: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM coders WHERE study_id = $1 AND name = $2")
            .bind(sid)
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

pub(super) async fn ensure_coder_conn(conn: &mut Conn, sid: i64, name: &Key) -> Result<i64> {
    if let Some(id) = coder_id(conn, sid, name.as_str()).await? {
        return Ok(id);
    }
    let position: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(position) + 1, 0) FROM coders WHERE study_id = $1")
            .bind(sid)
            .fetch_one(&mut *conn)
            .await?;
    Ok(sqlx::query_scalar(
        "INSERT INTO coders (study_id, position, name) VALUES ($1,$2,$3) RETURNING id",
    )
    .bind(sid)
    .bind(position)
    .bind(name.as_str())
    .fetch_one(&mut *conn)
    .await?)
}

/// What adding a coding needs to know about its coder, read in one
/// statement inside the write transaction (the add-coding hot path).
struct CoderState {
    id: i64,
    /// A share assignment limits the coder to `coding_assigned`.
    share: bool,
    /// The response is among `coding_assigned` for this coder.
    assigned: bool,
    /// The coder applied this code to this span of the response already.
    duplicate: bool,
    /// The coder's log has undone steps (a redo stack to clear).
    redo: bool,
    /// Steps in the coder's log that are not undone.
    steps: i64,
}

async fn coder_state(conn: &mut Conn, sid: i64, name: &Key, s: &Snapshot) -> Result<CoderState> {
    let row: Option<(i64, Option<String>, bool, bool, bool, i64)> = sqlx::query_as(
        "SELECT d.id, a.mode, \
         EXISTS (SELECT 1 FROM coding_assigned s WHERE s.coder_id = d.id AND s.response_id = $3), \
         EXISTS (SELECT 1 FROM codings c WHERE c.coder_id = d.id AND c.response_id = $3 AND c.code_id = $4 \
           AND COALESCE(c.span_start, -1) = COALESCE($5, -1) AND COALESCE(c.span_end, -1) = COALESCE($6, -1)), \
         EXISTS (SELECT 1 FROM coding_undo u WHERE u.coder_id = d.id AND u.undone = TRUE), \
         (SELECT COUNT(*) FROM coding_undo u WHERE u.coder_id = d.id AND u.undone = FALSE) \
         FROM coders d LEFT JOIN coder_assignments a ON a.coder_id = d.id \
         WHERE d.study_id = $1 AND d.name = $2",
    )
    .bind(sid)
    .bind(name.as_str())
    .bind(s.response)
    .bind(s.code)
    .bind(s.span.map(|x| x.start as i64))
    .bind(s.span.map(|x| x.end as i64))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some((id, mode, assigned, duplicate, redo, steps)) => CoderState {
            id,
            share: mode.as_deref() == Some("share"),
            assigned,
            duplicate,
            redo,
            steps,
        },
        // A new coder: no assignment, no codings, an empty log.
        None => CoderState {
            id: ensure_coder_conn(conn, sid, name).await?,
            share: false,
            assigned: false,
            duplicate: false,
            redo: false,
            steps: 0,
        },
    })
}

/// The assignment rule: a coder with a share assignment may add codings
/// only to the responses assigned to them. Researchers (the `actor` is a
/// researcher's account) are not bound by it, and the consensus layer
/// never has an assignment. Checked inside the write transaction, so the
/// rule and the insert see the same assignment; the users table is read
/// only when the rule would refuse.
async fn check_assigned(
    conn: &mut Conn,
    c: &CoderState,
    name: &Key,
    response: i64,
    actor: &str,
) -> Result<()> {
    if !c.share || c.assigned {
        return Ok(());
    }
    let researcher: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE username = $1 AND role = 'researcher'")
            .bind(actor)
            .fetch_optional(&mut *conn)
            .await?;
    if researcher.is_some() {
        return Ok(());
    }
    Err(StoreError::Forbidden(format!(
        "response {response} is not among the responses assigned to {name}; ask the researcher to change the assignment"
    )))
}

/// The response (as [`target`]) and the code's row id and whether it is
/// codable (`None` if the codebook has no such code), in one statement.
async fn target_and_code(
    conn: &mut Conn,
    sid: i64,
    rid: i64,
    path: &CodePath,
) -> Result<Option<(CodingTarget, Option<(i64, bool)>)>> {
    let Some(r) = sqlx::query(
        "SELECT p.code, g.key, q.key, q.prompt, r.text, \
         (SELECT k.id FROM codes k WHERE k.study_id = $2 AND k.path = $3), \
         (SELECT k.codable FROM codes k WHERE k.study_id = $2 AND k.path = $3) \
         FROM responses r \
         JOIN participants p ON p.id = r.participant_id JOIN questions q ON q.id = r.question_id \
         LEFT JOIN segments g ON g.id = r.segment_id \
         WHERE r.id = $1 AND r.study_id = $2 AND q.kind = 'open'",
    )
    .bind(rid)
    .bind(sid)
    .bind(path.as_str())
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let t = CodingTarget {
        id: ResponseId(rid),
        key: ResponseKey {
            participant: key(r.get(0))?,
            segment: r.get::<Option<String>, _>(1).map(key).transpose()?,
            question: key(r.get(2))?,
        },
        prompt: r.get(3),
        text: r.get::<Option<String>, _>(4).unwrap_or_default(),
    };
    let code = match (r.get::<Option<i64>, _>(5), r.get::<Option<bool>, _>(6)) {
        (Some(id), Some(codable)) => Some((id, codable)),
        _ => None,
    };
    Ok(Some((t, code)))
}

/// The response's key and text, if it is an open answer of the study.
pub(super) async fn target(conn: &mut Conn, sid: i64, rid: i64) -> Result<Option<CodingTarget>> {
    let Some(r) = sqlx::query(
        "SELECT p.code, g.key, q.key, q.prompt, r.text FROM responses r \
         JOIN participants p ON p.id = r.participant_id JOIN questions q ON q.id = r.question_id \
         LEFT JOIN segments g ON g.id = r.segment_id \
         WHERE r.id = $1 AND r.study_id = $2 AND q.kind = 'open'",
    )
    .bind(rid)
    .bind(sid)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(CodingTarget {
        id: ResponseId(rid),
        key: ResponseKey {
            participant: key(r.get(0))?,
            segment: r.get::<Option<String>, _>(1).map(key).transpose()?,
            question: key(r.get(2))?,
        },
        prompt: r.get(3),
        text: r.get::<Option<String>, _>(4).unwrap_or_default(),
    }))
}

const CODING_COLUMNS: &str = "c.id, c.response_id, d.name, k.path, c.span_start, c.span_end, c.memo, c.version, c.created_at";
const CODING_FROM: &str =
    "FROM codings c JOIN coders d ON d.id = c.coder_id JOIN codes k ON k.id = c.code_id";

fn coding_from_row(r: &DbRow) -> Result<StoredCoding> {
    let span = match (r.get::<Option<i64>, _>(4), r.get::<Option<i64>, _>(5)) {
        (Some(a), Some(b)) => Some(Span {
            start: a as usize,
            end: b as usize,
        }),
        _ => None,
    };
    Ok(StoredCoding {
        id: CodingId(r.get(0)),
        response: ResponseId(r.get(1)),
        coder: key(r.get(2))?,
        code: CodePath::parse(r.get::<&str, _>(3)).map_err(invalid)?,
        span,
        memo: r.get(6),
        version: r.get(7),
        created_at: Timestamp(r.get(8)),
    })
}

pub(super) async fn load_coding(
    conn: &mut Conn,
    sid: i64,
    id: i64,
) -> Result<Option<StoredCoding>> {
    sqlx::query(&format!(
        "SELECT {CODING_COLUMNS} {CODING_FROM} WHERE c.id = $1 AND c.study_id = $2"
    ))
    .bind(id)
    .bind(sid)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| coding_from_row(&r))
    .transpose()
}

/// The content of a coding row, as the undo log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Snapshot {
    pub(super) response: i64,
    pub(super) code: i64,
    pub(super) span: Option<Span>,
    pub(super) memo: Option<String>,
}

impl Snapshot {
    pub(super) fn to_json(&self) -> String {
        serde_json::json!({
            "response": self.response,
            "code": self.code,
            "start": self.span.map(|s| s.start),
            "end": self.span.map(|s| s.end),
            "memo": self.memo,
        })
        .to_string()
    }
    pub(super) fn from_json(s: &str) -> Result<Self> {
        let v: serde_json::Value =
            serde_json::from_str(s).map_err(|e| invalid(format!("undo log entry: {e}")))?;
        let n = |f: &str| v.get(f).and_then(|x| x.as_i64());
        let span = match (n("start"), n("end")) {
            (Some(a), Some(b)) => Some(Span {
                start: a as usize,
                end: b as usize,
            }),
            _ => None,
        };
        Ok(Snapshot {
            response: n("response").ok_or_else(|| invalid("undo log entry without response"))?,
            code: n("code").ok_or_else(|| invalid("undo log entry without code"))?,
            span,
            memo: v.get("memo").and_then(|m| m.as_str()).map(str::to_string),
        })
    }
}

/// The coder and content of a coding row.
pub(super) async fn snapshot(
    conn: &mut Conn,
    sid: i64,
    id: i64,
) -> Result<Option<(i64, Snapshot, i64)>> {
    let Some(r) = sqlx::query(
        "SELECT coder_id, response_id, code_id, span_start, span_end, memo, version FROM codings \
         WHERE id = $1 AND study_id = $2",
    )
    .bind(id)
    .bind(sid)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let span = match (r.get::<Option<i64>, _>(3), r.get::<Option<i64>, _>(4)) {
        (Some(a), Some(b)) => Some(Span {
            start: a as usize,
            end: b as usize,
        }),
        _ => None,
    };
    Ok(Some((
        r.get(0),
        Snapshot {
            response: r.get(1),
            code: r.get(2),
            span,
            memo: r.get(5),
        },
        r.get(6),
    )))
}

/// The code's row id, if it exists and may be applied.
pub(super) async fn codable_code(conn: &mut Conn, sid: i64, path: &CodePath) -> Result<i64> {
    let row: Option<(i64, bool)> =
        sqlx::query_as("SELECT id, codable FROM codes WHERE study_id = $1 AND path = $2")
            .bind(sid)
            .bind(path.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    match row {
        None => Err(invalid(format!(
            "code: the codebook has no code `{path}`; choose one of the codebook's codes"
        ))),
        Some((_, false)) => Err(invalid(format!(
            "code: `{path}` is a category, not a code that can be applied; choose one of its codes"
        ))),
        Some((id, true)) => Ok(id),
    }
}

async fn code_path(conn: &mut Conn, code: i64) -> Result<String> {
    Ok(sqlx::query_scalar("SELECT path FROM codes WHERE id = $1")
        .bind(code)
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or_else(|| "(deleted code)".into()))
}

pub(super) fn check_span(span: Option<Span>, text: &str) -> Result<()> {
    if let Some(s) = span {
        let len = text::char_len(text);
        if s.start >= s.end {
            return Err(invalid(format!(
                "span: the start ({}) must be before the end ({}); select some text first",
                s.start, s.end
            )));
        }
        if s.end > len {
            return Err(invalid(format!(
                "span: the end ({}) is past the end of the response ({len} characters); reload the response",
                s.end
            )));
        }
    }
    Ok(())
}

async fn describe(conn: &mut Conn, s: &Snapshot) -> Result<String> {
    Ok(format!(
        "{} {}",
        code_path(conn, s.code).await?,
        span_text(s.span)
    ))
}

async fn entity(conn: &mut Conn, sid: i64, coding: i64, response: i64) -> Result<String> {
    let k = target(conn, sid, response)
        .await?
        .map(|t| t.key.to_string())
        .unwrap_or_else(|| format!("response {response}"));
    Ok(format!("coding {coding} on {k}"))
}

/// What is known of a coder's undo log before a step is appended.
struct Log {
    /// It has undone steps (a redo stack to clear).
    redo: bool,
    /// Steps not undone.
    steps: i64,
}

impl Log {
    /// Nothing known: clear the redo stack and trim, as if both were due.
    const UNKNOWN: Log = Log {
        redo: true,
        steps: UNDO_DEPTH,
    };
}

/// Appends a step to the coder's log: it clears the redo stack and keeps
/// the newest [`UNDO_DEPTH`] steps.
async fn push_undo(
    conn: &mut Conn,
    sid: i64,
    coder: i64,
    coding: i64,
    response: i64,
    before: Option<&Snapshot>,
    after: Option<&Snapshot>,
) -> Result<()> {
    push_undo_known(
        conn,
        sid,
        coder,
        coding,
        response,
        before,
        after,
        Log::UNKNOWN,
    )
    .await
}

/// [`push_undo`] with the log's state read beforehand in the same
/// transaction: the redo stack is cleared only if there is one, and the log
/// trimmed only once it would exceed [`UNDO_DEPTH`] steps.
#[allow(clippy::too_many_arguments)]
async fn push_undo_known(
    conn: &mut Conn,
    sid: i64,
    coder: i64,
    coding: i64,
    response: i64,
    before: Option<&Snapshot>,
    after: Option<&Snapshot>,
    log: Log,
) -> Result<()> {
    if log.redo {
        sqlx::query("DELETE FROM coding_undo WHERE coder_id = $1 AND undone = TRUE")
            .bind(coder)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(
        "INSERT INTO coding_undo (study_id, coder_id, coding_id, response_id, before, after, undone, at) \
         VALUES ($1,$2,$3,$4,$5,$6,FALSE,$7)",
    )
    .bind(sid)
    .bind(coder)
    .bind(coding)
    .bind(response)
    .bind(before.map(Snapshot::to_json))
    .bind(after.map(Snapshot::to_json))
    .bind(now())
    .execute(&mut *conn)
    .await?;
    if log.steps + 1 > UNDO_DEPTH {
        trim_undo(conn, coder).await?;
    }
    Ok(())
}

/// Keeps the newest [`UNDO_DEPTH`] steps of the coder's log (one index
/// probe for the cut-off instead of a scan of the whole log).
pub(super) async fn trim_undo(conn: &mut Conn, coder: i64) -> Result<()> {
    sqlx::query(
        "DELETE FROM coding_undo WHERE coder_id = $1 AND id <= \
         (SELECT id FROM coding_undo WHERE coder_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
    )
    .bind(coder)
    .bind(UNDO_DEPTH)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn insert_row(conn: &mut Conn, sid: i64, coder: i64, s: &Snapshot) -> Result<i64> {
    insert_row_at(conn, sid, coder, s, now()).await
}

/// Inserts a coding row created at `t` (epoch ms); returns its id.
async fn insert_row_at(conn: &mut Conn, sid: i64, coder: i64, s: &Snapshot, t: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO codings (study_id, response_id, code_id, coder_id, span_start, span_end, memo, version, created_at, updated_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,1,$8,$8) RETURNING id",
    )
    .bind(sid)
    .bind(s.response)
    .bind(s.code)
    .bind(coder)
    .bind(s.span.map(|x| x.start as i64))
    .bind(s.span.map(|x| x.end as i64))
    .bind(&s.memo)
    .bind(t)
    .fetch_one(&mut *conn)
    .await?)
}

pub(super) async fn duplicate(
    conn: &mut Conn,
    coder: i64,
    s: &Snapshot,
    except: i64,
) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM codings WHERE coder_id = $1 AND response_id = $2 AND code_id = $3 \
         AND COALESCE(span_start, -1) = COALESCE($4, -1) AND COALESCE(span_end, -1) = COALESCE($5, -1) AND id <> $6",
    )
    .bind(coder)
    .bind(s.response)
    .bind(s.code)
    .bind(s.span.map(|x| x.start as i64))
    .bind(s.span.map(|x| x.end as i64))
    .bind(except)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

pub(super) async fn coders(pool: &Pool, id: StudyId) -> Result<Vec<Key>> {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM coders WHERE study_id = $1 ORDER BY position, id")
            .bind(id.0)
            .fetch_all(pool)
            .await?;
    names.into_iter().map(key).collect()
}

pub(super) async fn ensure_coder(pool: &Pool, id: StudyId, name: &Key) -> Result<()> {
    let mut conn = pool.acquire().await?;
    if coder_id(&mut conn, id.0, name.as_str()).await?.is_some() {
        return Ok(());
    }
    drop(conn);
    let mut tx = begin_write(pool).await?;
    ensure_coder_conn(&mut tx, id.0, name).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn coding_target(
    pool: &Pool,
    id: StudyId,
    response: ResponseId,
) -> Result<Option<CodingTarget>> {
    let mut conn = pool.acquire().await?;
    target(&mut conn, id.0, response.0).await
}

pub(super) async fn coding_queue(
    pool: &Pool,
    id: StudyId,
    coder: &Key,
    filter: &QueueFilter,
) -> Result<Vec<QueueItem>> {
    let sid = id.0;
    let mut conn = pool.acquire().await?;
    let me = coder_id(&mut conn, sid, coder.as_str()).await?;
    let share = match me {
        Some(c) => sqlx::query_scalar::<_, String>(
            "SELECT mode FROM coder_assignments WHERE coder_id = $1",
        )
        .bind(c)
        .fetch_optional(&mut *conn)
        .await?
        .is_some_and(|m| m == "share"),
        None => false,
    };
    let mut qb = sqlx::QueryBuilder::<Db>::new(
        "SELECT r.id, p.code, g.key, q.key FROM responses r \
         JOIN participants p ON p.id = r.participant_id JOIN questions q ON q.id = r.question_id \
         LEFT JOIN segments g ON g.id = r.segment_id \
         WHERE q.kind = 'open' AND r.text IS NOT NULL AND r.text <> '' AND r.study_id = ",
    );
    qb.push_bind(sid);
    match &filter.segment {
        Some(Some(k)) => {
            qb.push(" AND g.key = ").push_bind(k.as_str().to_string());
        }
        Some(None) => {
            qb.push(" AND r.segment_id IS NULL");
        }
        None => {}
    }
    if let Some(q) = &filter.question {
        qb.push(" AND q.key = ").push_bind(q.as_str().to_string());
    }
    if let Some((name, value)) = &filter.attribute {
        qb.push(
            " AND EXISTS (SELECT 1 FROM participant_attributes pa JOIN attributes a ON a.id = pa.attribute_id \
             WHERE pa.participant_id = p.id AND a.name = ",
        )
        .push_bind(name.clone())
        .push(" AND pa.value = ")
        .push_bind(value.clone())
        .push(")");
    }
    if let (true, Some(c)) = (share, me) {
        qb.push(" AND r.id IN (SELECT response_id FROM coding_assigned WHERE coder_id = ")
            .push_bind(c)
            .push(")");
    }
    qb.push(" ORDER BY g.position IS NULL, g.position, q.position, p.position, r.id");
    let rows = qb.build().fetch_all(&mut *conn).await?;

    // response → coder → codes applied
    let mut applied: HashMap<i64, HashMap<String, BTreeSet<i64>>> = HashMap::new();
    for r in sqlx::query(
        "SELECT c.response_id, d.name, c.code_id FROM codings c JOIN coders d ON d.id = c.coder_id \
         WHERE c.study_id = $1",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        applied
            .entry(r.get(0))
            .or_default()
            .entry(r.get(1))
            .or_default()
            .insert(r.get(2));
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let rid: i64 = r.get(0);
        let by = applied.remove(&rid).unwrap_or_default();
        let has_consensus = by.contains_key(CONSENSUS);
        let mut coders: Vec<&String> = by.keys().filter(|n| n.as_str() != CONSENSUS).collect();
        coders.sort();
        let sets: BTreeSet<&BTreeSet<i64>> = by
            .iter()
            .filter(|(n, _)| n.as_str() != CONSENSUS)
            .map(|(_, s)| s)
            .collect();
        out.push(QueueItem {
            id: ResponseId(rid),
            key: ResponseKey {
                participant: key(r.get(1))?,
                segment: r.get::<Option<String>, _>(2).map(key).transpose()?,
                question: key(r.get(3))?,
            },
            coded_by_me: by.contains_key(coder.as_str()),
            disputed: coders.len() >= 2 && sets.len() >= 2 && !has_consensus,
            coders: coders
                .into_iter()
                .map(|c| key(c.clone()))
                .collect::<Result<_>>()?,
            has_consensus,
        });
    }
    Ok(out)
}

pub(super) async fn response_codings(
    pool: &Pool,
    id: StudyId,
    response: ResponseId,
) -> Result<Vec<StoredCoding>> {
    sqlx::query(&format!(
        "SELECT {CODING_COLUMNS} {CODING_FROM} WHERE c.response_id = $1 AND c.study_id = $2 ORDER BY c.id"
    ))
    .bind(response.0)
    .bind(id.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(coding_from_row)
    .collect()
}

pub(super) async fn coding(
    pool: &Pool,
    id: StudyId,
    coding: CodingId,
) -> Result<Option<StoredCoding>> {
    let mut conn = pool.acquire().await?;
    load_coding(&mut conn, id.0, coding.0).await
}

pub(super) async fn add_coding(
    pool: &Pool,
    id: StudyId,
    new: &NewCoding,
    actor: &str,
) -> Result<StoredCoding> {
    let mut tx = begin_write(pool).await?;
    let row = add_coding_in(&mut tx, id.0, new, actor, "").await?;
    tx.commit().await?;
    Ok(row)
}

pub(super) async fn add_coding_by_key(
    pool: &Pool,
    study: &str,
    new: &NewCoding,
    span: SpanResolver<'_>,
    actor: &str,
) -> Result<AddedCoding> {
    if MULTI_STATEMENT {
        // BEGIN travels with the read and COMMIT with the writes: two
        // hand-offs to the connection's worker thread for the whole write.
        let mut tx = InlineTx {
            conn: pool.acquire().await?,
            open: true,
        };
        match add_by_key_in(&mut tx.conn, true, study, new, span, actor).await {
            Ok(added) => {
                tx.open = false;
                Ok(added)
            }
            Err(e) => {
                tx.rollback().await;
                Err(e)
            }
        }
    } else {
        let mut tx = begin_write(pool).await?;
        let added = add_by_key_in(&mut tx, false, study, new, span, actor).await?;
        tx.commit().await?;
        Ok(added)
    }
}

/// A write transaction begun and committed inside multi-statement queries
/// (`BEGIN IMMEDIATE; …` and `…; COMMIT`), outside sqlx's `Transaction`. If
/// it is dropped while open (the request was cancelled between its two
/// queries), its connection is closed instead of going back to the pool,
/// which rolls the transaction back: no one else ever runs inside it.
pub(super) struct InlineTx {
    pub(super) conn: sqlx::pool::PoolConnection<Db>,
    pub(super) open: bool,
}

impl InlineTx {
    async fn rollback(&mut self) {
        // "No transaction is active" (BEGIN itself failed) is fine too.
        if sqlx::query("ROLLBACK")
            .execute(&mut *self.conn)
            .await
            .is_ok()
        {
            self.open = false;
        }
    }
}

impl Drop for InlineTx {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}

/// What [`add_by_key_in`] reads in its one statement ([`by_key_read`]).
pub(super) type ByKeyRow = (
    i64,            // study id
    Option<String>, // question kind ('open' for a codable response)
    Option<String>, // participant code
    Option<String>, // segment key
    Option<String>, // question key
    Option<String>, // text
    Option<i64>,    // code id
    Option<bool>,   // code codable
    Option<i64>,    // coder id
    Option<String>, // assignment mode
    bool,           // response assigned to the coder
    bool,           // coder has undone steps
    i64,            // coder's steps not undone
    Option<String>, // with spans only: the coder's spans with this code here
);

/// The by-key add's one read: the study by key ($1), the response ($2),
/// the code by path ($3), the coder by name ($4) and the coder's state.
/// With `spans`, it also lists the coder's spans with this code on this
/// response (`start:end`, -1 for the whole response) for the duplicate
/// check, which is then exact only under the write lock.
///
/// Built once per variant: it is on every coding write's path.
pub(super) fn by_key_read(spans: bool) -> &'static str {
    static WITH_SPANS: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| by_key_read_sql(true));
    static WITHOUT: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| by_key_read_sql(false));
    if spans {
        &WITH_SPANS
    } else {
        &WITHOUT
    }
}

fn by_key_read_sql(spans: bool) -> String {
    let spans = if spans {
        "(SELECT group_concat(COALESCE(c.span_start, -1) || ':' || COALESCE(c.span_end, -1), ',') \
         FROM codings c WHERE c.coder_id = d.id AND c.response_id = r.id AND c.code_id = k.id)"
    } else {
        "CAST(NULL AS TEXT)"
    };
    format!(
        "SELECT st.id, q.kind, p.code, g.key, q.key, r.text, k.id, k.codable, d.id, a.mode, \
         EXISTS (SELECT 1 FROM coding_assigned s WHERE s.coder_id = d.id AND s.response_id = r.id), \
         EXISTS (SELECT 1 FROM coding_undo u WHERE u.coder_id = d.id AND u.undone = TRUE), \
         (SELECT COUNT(*) FROM coding_undo u WHERE u.coder_id = d.id AND u.undone = FALSE), \
         {spans} \
         FROM studies st \
         LEFT JOIN responses r ON r.id = $2 AND r.study_id = st.id \
         LEFT JOIN questions q ON q.id = r.question_id \
         LEFT JOIN participants p ON p.id = r.participant_id \
         LEFT JOIN segments g ON g.id = r.segment_id \
         LEFT JOIN codes k ON k.study_id = st.id AND k.path = $3 \
         LEFT JOIN coders d ON d.study_id = st.id AND d.name = $4 \
         LEFT JOIN coder_assignments a ON a.coder_id = d.id \
         WHERE st.key = $1"
    )
}

/// The by-key add's writes when the statements see each other's
/// `last_insert_rowid()` (SQLite): the coding (its id returned), its undo
/// step, its audit event, the redo stack and the log's oldest steps when
/// due. Parameters as [`ByKeyPlan::write_params`].
pub(super) const BY_KEY_WRITES: [&str; 5] = [
    "INSERT INTO codings (study_id, response_id, code_id, coder_id, span_start, span_end, memo, version, created_at, updated_at) \
     VALUES ($1,$2,$3,$4,$5,$6,$7,1,$8,$8) RETURNING id",
    "INSERT INTO coding_undo (study_id, coder_id, coding_id, response_id, before, after, undone, at) \
     VALUES ($1,$4,last_insert_rowid(),$2,NULL,$9,FALSE,$8)",
    "INSERT INTO audit_events (study_id, at, actor, action, entity, detail) \
     SELECT $1,$8,$10,'coding.add','coding ' || CAST(u.coding_id AS TEXT) || $11,$12 \
     FROM coding_undo u WHERE u.id = last_insert_rowid()",
    "DELETE FROM coding_undo WHERE $13 AND coder_id = $4 AND undone = TRUE",
    "DELETE FROM coding_undo WHERE $14 AND coder_id = $4 AND id <= \
     (SELECT id FROM coding_undo WHERE coder_id = $4 ORDER BY id DESC LIMIT 1 OFFSET $15)",
];

/// What the by-key add's read found, checked as far as no query is needed:
/// the study (404) and the response (404). The assignment rule (403)
/// comes next, then [`ByKeyTarget::plan`].
pub(super) struct ByKeyTarget {
    sid: i64,
    rkey: ResponseKey,
    text: String,
    code_id: Option<i64>,
    codable: Option<bool>,
    c: CoderState,
    /// The coder has a row (else one is added before the writes).
    pub(super) coder_known: bool,
    /// The coder's spans with this code on this response (see [`by_key_read`]).
    existing: Option<String>,
}

impl ByKeyTarget {
    pub(super) fn new(row: Option<ByKeyRow>, study: &str, new: &NewCoding) -> Result<Self> {
        let Some((
            sid,
            kind,
            pcode,
            segment,
            question,
            text,
            code_id,
            codable,
            coder,
            mode,
            assigned,
            redo,
            steps,
            existing,
        )) = row
        else {
            return Err(StoreError::NoSuchStudy(study.to_string()));
        };
        let (Some("open"), Some(pcode), Some(question)) = (kind.as_deref(), pcode, question) else {
            return Err(not_found(format!(
                "response: the study has no open answer with id {}",
                new.response.0
            )));
        };
        Ok(ByKeyTarget {
            sid,
            rkey: ResponseKey {
                participant: key(pcode)?,
                segment: segment.map(key).transpose()?,
                question: key(question)?,
            },
            text: text.unwrap_or_default(),
            code_id,
            codable,
            c: CoderState {
                id: coder.unwrap_or(-1),
                share: mode.as_deref() == Some("share"),
                assigned,
                duplicate: false,
                redo,
                steps,
            },
            coder_known: coder.is_some(),
            existing,
        })
    }

    /// Whether the assignment rule lets the coder add here without asking
    /// who the actor is (a researcher may code any response).
    pub(super) fn plainly_assigned(&self) -> bool {
        !self.c.share || self.c.assigned
    }

    /// The span (resolved against the text) and the code (422s), then the
    /// coding to write.
    pub(super) fn plan(
        self,
        new: &NewCoding,
        resolve: SpanResolver<'_>,
        actor: &str,
    ) -> Result<ByKeyPlan> {
        let span = resolve(&self.text).map_err(invalid)?;
        check_span(span, &self.text)?;
        let code = match (self.code_id, self.codable) {
            (Some(id), Some(true)) => id,
            (Some(_), _) => {
                return Err(invalid(format!(
                "code: `{}` is a category, not a code that can be applied; choose one of its codes",
                new.code
            )))
            }
            (None, _) => {
                return Err(invalid(format!(
                    "code: the codebook has no code `{}`; choose one of the codebook's codes",
                    new.code
                )))
            }
        };
        let snap = Snapshot {
            response: new.response.0,
            code,
            span,
            memo: new.memo.clone().filter(|m| !m.trim().is_empty()),
        };
        Ok(ByKeyPlan {
            entity: format!(" on {}", self.rkey),
            detail: format!(
                "(none) → {} {} by {}",
                new.code,
                span_text(snap.span),
                new.coder
            ),
            after: snap.to_json(),
            created: now(),
            snap,
            t: self,
            actor: actor.to_string(),
            new: new.clone(),
        })
    }
}

/// A checked by-key add, ready to write.
pub(super) struct ByKeyPlan {
    t: ByKeyTarget,
    snap: Snapshot,
    created: i64,
    entity: String,
    detail: String,
    after: String,
    actor: String,
    new: NewCoding,
}

impl ByKeyPlan {
    /// The 409 of a coding the coder has already made.
    fn duplicate(&self) -> StoreError {
        conflict(format!(
            "{} has already applied `{}` to this {} of {}; nothing was added",
            self.new.coder,
            self.new.code,
            if self.snap.span.is_some() {
                "span"
            } else {
                "response"
            },
            self.t.rkey
        ))
    }

    /// The duplicate check against the spans the read listed (exact only
    /// if they were read under the write lock).
    pub(super) fn check_listed_duplicate(&self) -> Result<()> {
        let mine = format!(
            "{}:{}",
            self.snap.span.map_or(-1, |x| x.start as i64),
            self.snap.span.map_or(-1, |x| x.end as i64)
        );
        if self
            .t
            .existing
            .as_deref()
            .is_some_and(|l| l.split(',').any(|x| x == mine))
        {
            return Err(self.duplicate());
        }
        Ok(())
    }

    /// The values of [`BY_KEY_WRITES`]' `$1`…`$15`.
    pub(super) fn write_params(&self) -> WriteParams<'_> {
        WriteParams {
            sid: self.t.sid,
            response: self.snap.response,
            code: self.snap.code,
            coder: self.t.c.id,
            start: self.snap.span.map(|x| x.start as i64),
            end: self.snap.span.map(|x| x.end as i64),
            memo: self.snap.memo.as_deref(),
            created: self.created,
            after: &self.after,
            actor: &self.actor,
            entity: &self.entity,
            detail: &self.detail,
            clear_redo: self.t.c.redo,
            trim: self.t.c.steps + 1 > UNDO_DEPTH,
            depth: UNDO_DEPTH,
        }
    }

    /// The added coding, once written with the id `cid`.
    pub(super) fn added(self, cid: i64) -> AddedCoding {
        AddedCoding {
            study: StudyId(self.t.sid),
            coding: StoredCoding {
                id: CodingId(cid),
                response: self.new.response,
                coder: self.new.coder,
                code: self.new.code,
                span: self.snap.span,
                memo: self.snap.memo,
                version: 1,
                created_at: Timestamp(self.created),
            },
            text: self.t.text,
        }
    }
}

/// [`BY_KEY_WRITES`]' parameters, `$1`…`$15` in order.
pub(super) struct WriteParams<'a> {
    pub(super) sid: i64,
    pub(super) response: i64,
    pub(super) code: i64,
    pub(super) coder: i64,
    pub(super) start: Option<i64>,
    pub(super) end: Option<i64>,
    pub(super) memo: Option<&'a str>,
    pub(super) created: i64,
    pub(super) after: &'a str,
    pub(super) actor: &'a str,
    pub(super) entity: &'a str,
    pub(super) detail: &'a str,
    pub(super) clear_redo: bool,
    pub(super) trim: bool,
    pub(super) depth: i64,
}

/// The coding API's add: one read (the study by key, the response, the
/// code, the coder's state), then the writes — on SQLite in one
/// multi-statement query whose first insert refuses a duplicate itself.
/// Checks as [`add_coding_in`]: study and response (404), assignment
/// (403), span and code (422), duplicate (409).
async fn add_by_key_in(
    tx: &mut Conn,
    inline: bool,
    study: &str,
    new: &NewCoding,
    resolve: SpanResolver<'_>,
    actor: &str,
) -> Result<AddedCoding> {
    // Inline (SQLite): the transaction begins with the read, and the read
    // lists the coder's spans for the duplicate check.
    let begin = if inline { "BEGIN IMMEDIATE; " } else { "" };
    let row: Option<ByKeyRow> = sqlx::query_as(&format!("{begin}{}", by_key_read(inline)))
        .bind(study)
        .bind(new.response.0)
        .bind(new.code.as_str())
        .bind(new.coder.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let target = ByKeyTarget::new(row, study, new)?;
    if !target.plainly_assigned() {
        check_assigned(&mut *tx, &target.c, &new.coder, new.response.0, actor).await?;
    }
    let mut plan = target.plan(new, resolve, actor)?;
    // A coder's first coding adds the coder, once the request is valid.
    if !plan.t.coder_known {
        plan.t.c.id = ensure_coder_conn(&mut *tx, plan.t.sid, &new.coder).await?;
    }
    let cid = if inline {
        // The coder's spans were read under the write lock: no one else
        // can add a coding before the batch below.
        plan.check_listed_duplicate()?;
        // One query: the writes and the commit.
        let p = plan.write_params();
        let ids: Vec<i64> = sqlx::query_scalar(&format!("{}; COMMIT", BY_KEY_WRITES.join("; ")))
            .bind(p.sid)
            .bind(p.response)
            .bind(p.code)
            .bind(p.coder)
            .bind(p.start)
            .bind(p.end)
            .bind(p.memo)
            .bind(p.created)
            .bind(p.after)
            .bind(p.actor)
            .bind(p.entity)
            .bind(p.detail)
            .bind(p.clear_redo)
            .bind(p.trim)
            .bind(p.depth)
            .fetch_all(&mut *tx)
            .await?;
        *ids.first()
            .ok_or_else(|| StoreError::Invalid("the coding was not stored".into()))?
    } else {
        let (t, snap) = (&plan.t, &plan.snap);
        if duplicate_of_new(&mut *tx, t.c.id, snap).await? {
            return Err(plan.duplicate());
        }
        let cid = insert_row_at(&mut *tx, t.sid, t.c.id, snap, plan.created).await?;
        push_undo_known(
            &mut *tx,
            t.sid,
            t.c.id,
            cid,
            snap.response,
            None,
            Some(snap),
            Log {
                redo: t.c.redo,
                steps: t.c.steps,
            },
        )
        .await?;
        audit(
            &mut *tx,
            t.sid,
            actor,
            "coding.add",
            format!("coding {cid}{}", plan.entity),
            plan.detail.clone(),
        )
        .await?;
        cid
    };
    Ok(plan.added(cid))
}

/// Whether the coder applied the snapshot's code to its span already.
async fn duplicate_of_new(conn: &mut Conn, coder: i64, s: &Snapshot) -> Result<bool> {
    duplicate(conn, coder, s, -1).await
}

/// Adds a coding inside the caller's write transaction (its undo step and
/// `coding.add` audit event too); `note` is appended to the audit detail
/// (e.g. ` (from suggestion, confidence 0.83)`).
pub(super) async fn add_coding_in(
    tx: &mut Conn,
    sid: i64,
    new: &NewCoding,
    actor: &str,
    note: &str,
) -> Result<StoredCoding> {
    // Two reads, then the writes: this is the hot path of coding. Checks in
    // order: the response (404), the assignment rule (403), the span and
    // the code (422), a duplicate (409).
    let (t, code) = target_and_code(&mut *tx, sid, new.response.0, &new.code)
        .await?
        .ok_or_else(|| {
            not_found(format!(
                "response: the study has no open answer with id {}",
                new.response.0
            ))
        })?;
    let snap = Snapshot {
        response: new.response.0,
        // No such code: no coding matches the id -1.
        code: code.map_or(-1, |(id, _)| id),
        span: new.span,
        memo: new.memo.clone().filter(|m| !m.trim().is_empty()),
    };
    let c = coder_state(&mut *tx, sid, &new.coder, &snap).await?;
    check_assigned(&mut *tx, &c, &new.coder, new.response.0, actor).await?;
    check_span(new.span, &t.text)?;
    match code {
        None => {
            return Err(invalid(format!(
                "code: the codebook has no code `{}`; choose one of the codebook's codes",
                new.code
            )))
        }
        Some((_, false)) => {
            return Err(invalid(format!(
                "code: `{}` is a category, not a code that can be applied; choose one of its codes",
                new.code
            )))
        }
        Some((_, true)) => {}
    }
    let coder = c.id;
    if c.duplicate {
        return Err(conflict(format!(
            "{} has already applied `{}` to this {} of {}; nothing was added",
            new.coder,
            new.code,
            if new.span.is_some() {
                "span"
            } else {
                "response"
            },
            t.key
        )));
    }
    let created = now();
    let cid = insert_row_at(&mut *tx, sid, coder, &snap, created).await?;
    push_undo_known(
        &mut *tx,
        sid,
        coder,
        cid,
        snap.response,
        None,
        Some(&snap),
        Log {
            redo: c.redo,
            steps: c.steps,
        },
    )
    .await?;
    // The code's path and the row are known: no need to read them back.
    let detail = format!(
        "(none) → {} {} by {}{note}",
        new.code,
        span_text(snap.span),
        new.coder
    );
    audit(
        &mut *tx,
        sid,
        actor,
        "coding.add",
        format!("coding {cid} on {}", t.key),
        detail,
    )
    .await?;
    Ok(StoredCoding {
        id: CodingId(cid),
        response: new.response,
        coder: new.coder.clone(),
        code: new.code.clone(),
        span: snap.span,
        memo: snap.memo,
        version: 1,
        created_at: Timestamp(created),
    })
}

/// Why an edit found no row at `seen`: stale (`Conflict`) or gone (`NotFound`).
async fn stale_or_gone(conn: &mut Conn, sid: i64, id: i64, seen: i64) -> StoreError {
    match snapshot(conn, sid, id).await {
        Ok(Some((_, _, version))) => conflict(format!(
            "coding {id} was changed by someone else (or in another tab) since you loaded it: \
             it is at version {version}, your edit was based on version {seen}; nothing was changed, reload to see the current codings"
        )),
        Ok(None) => not_found(format!(
            "coding {id} does not exist (it was removed, perhaps in another tab); reload to see the current codings"
        )),
        Err(e) => e,
    }
}

pub(super) async fn update_coding(
    pool: &Pool,
    id: StudyId,
    coding: CodingId,
    seen: i64,
    change: &CodingChange,
    actor: &str,
) -> Result<StoredCoding> {
    let sid = id.0;
    let mut tx = begin_write(pool).await?;
    let Some((coder, before, version)) = snapshot(&mut tx, sid, coding.0).await? else {
        return Err(stale_or_gone(&mut tx, sid, coding.0, seen).await);
    };
    if version != seen {
        return Err(stale_or_gone(&mut tx, sid, coding.0, seen).await);
    }
    let mut after = before.clone();
    if let Some(c) = &change.code {
        after.code = codable_code(&mut tx, sid, c).await?;
    }
    if let Some(span) = change.span {
        let t = target(&mut tx, sid, before.response)
            .await?
            .ok_or_else(|| not_found("response: the coding's response no longer exists"))?;
        check_span(span, &t.text)?;
        after.span = span;
    }
    if let Some(m) = &change.memo {
        after.memo = m.clone().filter(|m| !m.trim().is_empty());
    }
    if after == before {
        // Nothing to change: no version bump, no audit event, no undo step.
        let row = load_coding(&mut tx, sid, coding.0)
            .await?
            .ok_or_else(|| not_found("coding vanished"))?;
        tx.commit().await?;
        return Ok(row);
    }
    if duplicate(&mut tx, coder, &after, coding.0).await? {
        return Err(conflict(
            "the same coder has already applied this code to this span; nothing was changed",
        ));
    }
    let n = sqlx::query(
        "UPDATE codings SET code_id = $1, span_start = $2, span_end = $3, memo = $4, version = version + 1, updated_at = $5 \
         WHERE id = $6 AND study_id = $7 AND version = $8",
    )
    .bind(after.code)
    .bind(after.span.map(|x| x.start as i64))
    .bind(after.span.map(|x| x.end as i64))
    .bind(&after.memo)
    .bind(now())
    .bind(coding.0)
    .bind(sid)
    .bind(seen)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(stale_or_gone(&mut tx, sid, coding.0, seen).await);
    }
    push_undo(
        &mut tx,
        sid,
        coder,
        coding.0,
        before.response,
        Some(&before),
        Some(&after),
    )
    .await?;
    let detail = format!(
        "{} → {}{}",
        describe(&mut tx, &before).await?,
        describe(&mut tx, &after).await?,
        if before.memo != after.memo {
            " (memo changed)"
        } else {
            ""
        }
    );
    let ent = entity(&mut tx, sid, coding.0, before.response).await?;
    audit(&mut tx, sid, actor, "coding.update", ent, detail).await?;
    let row = load_coding(&mut tx, sid, coding.0)
        .await?
        .ok_or_else(|| not_found("coding vanished"))?;
    tx.commit().await?;
    Ok(row)
}

pub(super) async fn delete_coding(
    pool: &Pool,
    id: StudyId,
    coding: CodingId,
    seen: i64,
    actor: &str,
) -> Result<StoredCoding> {
    let sid = id.0;
    let mut tx = begin_write(pool).await?;
    let Some(row) = load_coding(&mut tx, sid, coding.0).await? else {
        return Err(stale_or_gone(&mut tx, sid, coding.0, seen).await);
    };
    let Some((coder, before, _)) = snapshot(&mut tx, sid, coding.0).await? else {
        return Err(stale_or_gone(&mut tx, sid, coding.0, seen).await);
    };
    let n = sqlx::query("DELETE FROM codings WHERE id = $1 AND study_id = $2 AND version = $3")
        .bind(coding.0)
        .bind(sid)
        .bind(seen)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(stale_or_gone(&mut tx, sid, coding.0, seen).await);
    }
    push_undo(
        &mut tx,
        sid,
        coder,
        coding.0,
        before.response,
        Some(&before),
        None,
    )
    .await?;
    let detail = format!(
        "{} by {} → (none)",
        describe(&mut tx, &before).await?,
        row.coder
    );
    let ent = entity(&mut tx, sid, coding.0, before.response).await?;
    audit(&mut tx, sid, actor, "coding.delete", ent, detail).await?;
    tx.commit().await?;
    Ok(row)
}

pub(super) async fn depth(conn: &mut Conn, coder: i64) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN undone THEN 0 ELSE 1 END), 0), COALESCE(SUM(CASE WHEN undone THEN 1 ELSE 0 END), 0) \
         FROM coding_undo WHERE coder_id = $1",
    )
    .bind(coder)
    .fetch_one(&mut *conn)
    .await?)
}

pub(super) async fn undo_depth(pool: &Pool, id: StudyId, coder: &Key) -> Result<(i64, i64)> {
    let mut conn = pool.acquire().await?;
    match coder_id(&mut conn, id.0, coder.as_str()).await? {
        Some(c) => depth(&mut conn, c).await,
        None => Ok((0, 0)),
    }
}

/// Moves the coding from state `from` to state `to` (either may be absent),
/// checking that the row is still as `from` says. Returns the row id it now has.
async fn apply_step(
    conn: &mut Conn,
    sid: i64,
    coder: i64,
    coding: i64,
    from: Option<&Snapshot>,
    to: Option<&Snapshot>,
) -> Result<Option<i64>> {
    let changed = || {
        conflict(format!(
            "coding {coding} was changed since this step (by someone else or in another tab), \
             so it cannot be undone or redone; nothing was changed, reload to see the current codings"
        ))
    };
    let current = snapshot(conn, sid, coding).await?;
    match (from, current) {
        (Some(f), Some((c, cur, _))) if c == coder && &cur == f => {}
        (None, None) => {}
        _ => return Err(changed()),
    }
    match to {
        None => {
            sqlx::query("DELETE FROM codings WHERE id = $1")
                .bind(coding)
                .execute(&mut *conn)
                .await?;
            Ok(None)
        }
        Some(t) if from.is_some() => {
            if duplicate(conn, coder, t, coding).await? {
                return Err(changed());
            }
            sqlx::query(
                "UPDATE codings SET code_id = $1, span_start = $2, span_end = $3, memo = $4, version = version + 1, updated_at = $5 WHERE id = $6",
            )
            .bind(t.code)
            .bind(t.span.map(|x| x.start as i64))
            .bind(t.span.map(|x| x.end as i64))
            .bind(&t.memo)
            .bind(now())
            .bind(coding)
            .execute(&mut *conn)
            .await?;
            Ok(Some(coding))
        }
        Some(t) => {
            if duplicate(conn, coder, t, -1).await? {
                return Err(changed());
            }
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM codes WHERE id = $1")
                .bind(t.code)
                .fetch_optional(&mut *conn)
                .await?;
            if exists.is_none() {
                return Err(conflict(
                    "the code of this coding has been removed from the codebook, so it cannot be restored",
                ));
            }
            let new_id = insert_row(conn, sid, coder, t).await?;
            // The log's other steps about this coding now refer to the new row.
            sqlx::query(
                "UPDATE coding_undo SET coding_id = $1 WHERE coder_id = $2 AND coding_id = $3",
            )
            .bind(new_id)
            .bind(coder)
            .bind(coding)
            .execute(&mut *conn)
            .await?;
            super::search_coding::remap(conn, coder, coding, new_id).await?;
            Ok(Some(new_id))
        }
    }
}

fn step_action(before: &Option<Snapshot>, after: &Option<Snapshot>) -> &'static str {
    match (before, after) {
        (None, _) => "coding.add",
        (Some(_), Some(_)) => "coding.update",
        (Some(_), None) => "coding.delete",
    }
}

async fn undo_redo(
    pool: &Pool,
    id: StudyId,
    coder_name: &Key,
    actor: &str,
    redo: bool,
) -> Result<Option<UndoOutcome>> {
    let sid = id.0;
    let mut tx = begin_write(pool).await?;
    let Some(coder) = coder_id(&mut tx, sid, coder_name.as_str()).await? else {
        return Ok(None);
    };
    let sql = if redo {
        "SELECT id, coding_id, response_id, before, after FROM coding_undo WHERE coder_id = $1 AND undone = TRUE ORDER BY id ASC LIMIT 1"
    } else {
        "SELECT id, coding_id, response_id, before, after FROM coding_undo WHERE coder_id = $1 AND undone = FALSE ORDER BY id DESC LIMIT 1"
    };
    let Some(r) = sqlx::query(sql)
        .bind(coder)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(None);
    };
    let step: i64 = r.get(0);
    if super::search_coding::is_batch(r.get::<Option<&str>, _>(4)) {
        // A "code all hits" step: all its codings at once.
        return super::search_coding::undo_redo_batch(
            tx, sid, coder, coder_name, step, redo, actor,
        )
        .await
        .map(Some);
    }
    let coding: i64 = r.get(1);
    let response: i64 = r.get(2);
    let before = r
        .get::<Option<String>, _>(3)
        .map(|s| Snapshot::from_json(&s))
        .transpose()?;
    let after = r
        .get::<Option<String>, _>(4)
        .map(|s| Snapshot::from_json(&s))
        .transpose()?;
    let (from, to) = if redo {
        (before.as_ref(), after.as_ref())
    } else {
        (after.as_ref(), before.as_ref())
    };
    let now_id = apply_step(&mut tx, sid, coder, coding, from, to).await?;
    sqlx::query("UPDATE coding_undo SET undone = $1 WHERE id = $2")
        .bind(!redo)
        .bind(step)
        .execute(&mut *tx)
        .await?;
    let action = step_action(&before, &after);
    let show = |s: Option<&Snapshot>| s.cloned();
    let detail = {
        let a = match show(from) {
            Some(s) => describe(&mut tx, &s).await?,
            None => "(none)".into(),
        };
        let b = match show(to) {
            Some(s) => describe(&mut tx, &s).await?,
            None => "(none)".into(),
        };
        format!(
            "{a} → {b} ({} of {action} by {coder_name})",
            if redo { "redo" } else { "undo" }
        )
    };
    let ent = entity(&mut tx, sid, now_id.unwrap_or(coding), response).await?;
    audit(
        &mut tx,
        sid,
        actor,
        if redo { "coding.redo" } else { "coding.undo" },
        ent,
        detail,
    )
    .await?;
    let row = match now_id {
        Some(i) => load_coding(&mut tx, sid, i).await?,
        None => None,
    };
    let (undo_left, redo_left) = depth(&mut tx, coder).await?;
    tx.commit().await?;
    Ok(Some(UndoOutcome {
        response: ResponseId(response),
        action: action.to_string(),
        coding: row,
        undo_left,
        redo_left,
    }))
}

pub(super) async fn undo_coding(
    pool: &Pool,
    id: StudyId,
    coder: &Key,
    actor: &str,
) -> Result<Option<UndoOutcome>> {
    undo_redo(pool, id, coder, actor, false).await
}

pub(super) async fn redo_coding(
    pool: &Pool,
    id: StudyId,
    coder: &Key,
    actor: &str,
) -> Result<Option<UndoOutcome>> {
    undo_redo(pool, id, coder, actor, true).await
}

/// The memo target's columns and its name in the audit trail.
async fn memo_target(
    conn: &mut Conn,
    sid: i64,
    on: &MemoOn,
) -> Result<(&'static str, Option<i64>, Option<i64>, String)> {
    match on {
        MemoOn::Response(r) => {
            let t = target(conn, sid, r.0).await?.ok_or_else(|| {
                not_found(format!(
                    "response: the study has no open answer with id {}",
                    r.0
                ))
            })?;
            Ok(("response", Some(r.0), None, format!("memo on {}", t.key)))
        }
        MemoOn::Code(p) => {
            let id: Option<i64> =
                sqlx::query_scalar("SELECT id FROM codes WHERE study_id = $1 AND path = $2")
                    .bind(sid)
                    .bind(p.as_str())
                    .fetch_optional(&mut *conn)
                    .await?;
            let id = id.ok_or_else(|| invalid(format!("code: the codebook has no code `{p}`")))?;
            Ok(("code", None, Some(id), format!("memo on code {p}")))
        }
    }
}

pub(super) async fn set_memo(
    pool: &Pool,
    id: StudyId,
    on: &MemoOn,
    author: &str,
    text: &str,
) -> Result<()> {
    let sid = id.0;
    let mut tx = begin_write(pool).await?;
    let (kind, rid, cid, name) = memo_target(&mut tx, sid, on).await?;
    let before: Option<String> = sqlx::query_scalar(
        "SELECT text FROM memos WHERE study_id = $1 AND author = $2 AND target_kind = $3 \
         AND COALESCE(response_id, 0) = COALESCE($4, 0) AND COALESCE(code_id, 0) = COALESCE($5, 0) ORDER BY id DESC LIMIT 1",
    )
    .bind(sid)
    .bind(author)
    .bind(kind)
    .bind(rid)
    .bind(cid)
    .fetch_optional(&mut *tx)
    .await?;
    let text = text::normalize(text.trim());
    if before.as_deref().unwrap_or("") == text {
        return Ok(());
    }
    sqlx::query(
        "DELETE FROM memos WHERE study_id = $1 AND author = $2 AND target_kind = $3 \
         AND COALESCE(response_id, 0) = COALESCE($4, 0) AND COALESCE(code_id, 0) = COALESCE($5, 0)",
    )
    .bind(sid)
    .bind(author)
    .bind(kind)
    .bind(rid)
    .bind(cid)
    .execute(&mut *tx)
    .await?;
    if !text.is_empty() {
        sqlx::query(
            "INSERT INTO memos (study_id, author, target_kind, response_id, code_id, text, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(sid)
        .bind(author)
        .bind(kind)
        .bind(rid)
        .bind(cid)
        .bind(&text)
        .bind(now())
        .execute(&mut *tx)
        .await?;
    }
    let show = |s: &str| {
        if s.is_empty() {
            "(none)".to_string()
        } else {
            format!("“{s}”")
        }
    };
    let detail = format!(
        "{} → {}",
        show(before.as_deref().unwrap_or("")),
        show(&text)
    );
    audit(&mut tx, sid, author, "memo.set", name, detail).await?;
    tx.commit().await?;
    Ok(())
}

fn memo_from_row(r: &DbRow) -> Result<StoredMemo> {
    let on = match r.get::<&str, _>(1) {
        "response" => MemoOn::Response(ResponseId(r.get(2))),
        _ => MemoOn::Code(CodePath::parse(r.get::<&str, _>(3)).map_err(invalid)?),
    };
    Ok(StoredMemo {
        author: r.get(0),
        on,
        text: r.get(4),
        at: Timestamp(r.get::<Option<i64>, _>(5).unwrap_or(0)),
    })
}

const MEMO_SELECT: &str =
    "SELECT m.author, m.target_kind, m.response_id, k.path, m.text, m.created_at \
     FROM memos m LEFT JOIN codes k ON k.id = m.code_id";

pub(super) async fn memos_on(pool: &Pool, id: StudyId, on: &MemoOn) -> Result<Vec<StoredMemo>> {
    let rows = match on {
        MemoOn::Response(r) => {
            sqlx::query(&format!(
                "{MEMO_SELECT} WHERE m.study_id = $1 AND m.target_kind = 'response' AND m.response_id = $2 ORDER BY m.id"
            ))
            .bind(id.0)
            .bind(r.0)
            .fetch_all(pool)
            .await?
        }
        MemoOn::Code(p) => {
            sqlx::query(&format!(
                "{MEMO_SELECT} WHERE m.study_id = $1 AND m.target_kind = 'code' AND k.path = $2 ORDER BY m.id"
            ))
            .bind(id.0)
            .bind(p.as_str())
            .fetch_all(pool)
            .await?
        }
    };
    rows.iter().map(memo_from_row).collect()
}

pub(super) async fn code_memos(pool: &Pool, id: StudyId) -> Result<Vec<StoredMemo>> {
    sqlx::query(&format!(
        "{MEMO_SELECT} WHERE m.study_id = $1 AND m.target_kind = 'code' ORDER BY k.position, m.id"
    ))
    .bind(id.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(memo_from_row)
    .collect()
}

pub(super) async fn coding_codebook(pool: &Pool, id: StudyId) -> Result<Vec<Code>> {
    sqlx::query(
        "SELECT path, name, codable, definition, inclusion, exclusion, example, colour FROM codes \
         WHERE study_id = $1 ORDER BY position",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(Code {
            path: CodePath::parse(r.get::<&str, _>(0)).map_err(invalid)?,
            name: r.get(1),
            codable: r.get(2),
            definition: r.get(3),
            inclusion: r.get(4),
            exclusion: r.get(5),
            example: r.get(6),
            colour: r.get(7),
        })
    })
    .collect()
}

async fn blind(conn: &mut Conn, sid: i64) -> Result<bool> {
    Ok(
        sqlx::query_scalar::<_, bool>("SELECT blind FROM coding_settings WHERE study_id = $1")
            .bind(sid)
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or(true),
    )
}

pub(super) async fn coding_blind(pool: &Pool, id: StudyId) -> Result<bool> {
    let mut conn = pool.acquire().await?;
    blind(&mut conn, id.0).await
}

pub(super) async fn coding_setup(pool: &Pool, id: StudyId) -> Result<CodingSetup> {
    let sid = id.0;
    let mut conn = pool.acquire().await?;
    let blind = blind(&mut conn, sid).await?;
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM responses r JOIN questions q ON q.id = r.question_id \
         WHERE r.study_id = $1 AND q.kind = 'open' AND r.text IS NOT NULL AND r.text <> ''",
    )
    .bind(sid)
    .fetch_one(&mut *conn)
    .await?;
    let mut coders = Vec::new();
    for r in sqlx::query(
        "SELECT d.id, d.name, a.mode, a.percent, a.seed FROM coders d LEFT JOIN coder_assignments a ON a.coder_id = d.id \
         WHERE d.study_id = $1 AND d.name <> $2 ORDER BY d.position, d.id",
    )
    .bind(sid)
    .bind(CONSENSUS)
    .fetch_all(&mut *conn)
    .await?
    {
        let cid: i64 = r.get(0);
        let share = r.get::<Option<String>, _>(2).is_some_and(|m| m == "share");
        let assignment = if share {
            Assignment::Share {
                percent: r.get::<Option<f64>, _>(3).unwrap_or(100.0),
                seed: r.get::<Option<i64>, _>(4).unwrap_or(0) as u64,
            }
        } else {
            Assignment::All
        };
        let (assigned, coded): (i64, i64) = if share {
            sqlx::query_as(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM codings c WHERE c.coder_id = $1 AND c.response_id = s.response_id) THEN 1 ELSE 0 END), 0) \
                 FROM coding_assigned s WHERE s.coder_id = $1",
            )
            .bind(cid)
            .fetch_one(&mut *conn)
            .await?
        } else {
            let coded: i64 = sqlx::query_scalar(
                "SELECT COUNT(DISTINCT response_id) FROM codings WHERE coder_id = $1",
            )
            .bind(cid)
            .fetch_one(&mut *conn)
            .await?;
            (open, coded)
        };
        coders.push(CoderStatus {
            name: key(r.get(1))?,
            assignment,
            assigned,
            coded,
        });
    }
    Ok(CodingSetup { blind, coders })
}

pub(super) async fn set_blind(pool: &Pool, id: StudyId, on: bool, actor: &str) -> Result<()> {
    let sid = id.0;
    let mut tx = begin_write(pool).await?;
    let was = blind(&mut tx, sid).await?;
    sqlx::query(
        "INSERT INTO coding_settings (study_id, blind) VALUES ($1, $2) \
         ON CONFLICT (study_id) DO UPDATE SET blind = excluded.blind",
    )
    .bind(sid)
    .bind(on)
    .execute(&mut *tx)
    .await?;
    if was != on {
        let show = |b: bool| if b { "blind" } else { "unblinded" };
        audit(
            &mut tx,
            sid,
            actor,
            "settings.blind",
            "coding settings".into(),
            format!("{} → {}", show(was), show(on)),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// SplitMix64: a small, well-mixed, seedable generator (the draw must be
/// reproducible from the seed alone, across versions).
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The first `ceil(percent% · n)` of `ids` after a seeded Fisher–Yates shuffle.
pub(crate) fn seeded_share(ids: &[i64], percent: f64, seed: u64) -> Vec<i64> {
    let mut v = ids.to_vec();
    let mut state = seed;
    for i in (1..v.len()).rev() {
        let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    let k = ((percent / 100.0) * ids.len() as f64).ceil() as usize;
    v.truncate(k.min(ids.len()));
    v.sort_unstable();
    v
}

pub(super) async fn set_assignment(
    pool: &Pool,
    id: StudyId,
    coder: &Key,
    assignment: Assignment,
    actor: &str,
) -> Result<i64> {
    let sid = id.0;
    if coder.as_str() == CONSENSUS {
        return Err(invalid(
            "coder: the consensus layer is not a coder and takes no assignment",
        ));
    }
    if let Assignment::Share { percent, .. } = assignment {
        if !(percent > 0.0 && percent <= 100.0) {
            return Err(invalid(format!(
                "percent: {percent} is not a share; give a number above 0 and at most 100"
            )));
        }
    }
    let mut tx = begin_write(pool).await?;
    let cid = ensure_coder_conn(&mut tx, sid, coder).await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT r.id FROM responses r JOIN questions q ON q.id = r.question_id \
         WHERE r.study_id = $1 AND q.kind = 'open' AND r.text IS NOT NULL AND r.text <> '' ORDER BY r.id",
    )
    .bind(sid)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM coding_assigned WHERE coder_id = $1")
        .bind(cid)
        .execute(&mut *tx)
        .await?;
    let before: Option<(String, Option<f64>, Option<i64>)> =
        sqlx::query_as("SELECT mode, percent, seed FROM coder_assignments WHERE coder_id = $1")
            .bind(cid)
            .fetch_optional(&mut *tx)
            .await?;
    let show = |m: &str, p: Option<f64>, s: Option<i64>| match m {
        "share" => format!("{}% (seed {})", p.unwrap_or(0.0), s.unwrap_or(0)),
        _ => "all responses".to_string(),
    };
    let before_text = before
        .map(|(m, p, s)| show(&m, p, s))
        .unwrap_or_else(|| "all responses".into());
    let (mode, percent, seed, n) = match assignment {
        Assignment::All => ("all", None, None, ids.len() as i64),
        Assignment::Share { percent, seed } => {
            let chosen = seeded_share(&ids, percent, seed);
            for chunk in chosen.chunks(400) {
                let mut qb = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO coding_assigned (coder_id, response_id) ",
                );
                qb.push_values(chunk, |mut b, r| {
                    b.push_bind(cid).push_bind(*r);
                });
                qb.build().execute(&mut *tx).await?;
            }
            (
                "share",
                Some(percent),
                Some(seed as i64),
                chosen.len() as i64,
            )
        }
    };
    sqlx::query(
        "INSERT INTO coder_assignments (coder_id, mode, percent, seed, at) VALUES ($1,$2,$3,$4,$5) \
         ON CONFLICT (coder_id) DO UPDATE SET mode = excluded.mode, percent = excluded.percent, seed = excluded.seed, at = excluded.at",
    )
    .bind(cid)
    .bind(mode)
    .bind(percent)
    .bind(seed)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        sid,
        actor,
        "settings.assignment",
        format!("assignment of coder {coder}"),
        format!(
            "{before_text} → {} ({n} responses)",
            show(mode, percent, seed)
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_share_is_reproducible_nested_and_rounds_up() {
        let ids: Vec<i64> = (1..=50).collect();
        let a = seeded_share(&ids, 20.0, 7);
        assert_eq!(a.len(), 10);
        assert_eq!(a, seeded_share(&ids, 20.0, 7));
        assert_ne!(a, seeded_share(&ids, 20.0, 8));
        let b = seeded_share(&ids, 40.0, 7);
        assert!(a.iter().all(|x| b.contains(x)), "{a:?} ⊄ {b:?}");
        assert_eq!(seeded_share(&ids, 1.0, 3).len(), 1);
        assert_eq!(seeded_share(&ids, 100.0, 3), ids);
    }
}
