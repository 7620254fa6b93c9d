//! The SQLite side of "code all hits": the responses a coder may code, the
//! places they applied a code already, and many codings added as ONE step of
//! the coder's undo log (`coding_undo` row + its members in
//! `coding_undo_batch`, migration 0008). Portable SQL only (`$n`
//! placeholders, TRUE/FALSE, RETURNING, no SQLite-only syntax) so the
//! PostgreSQL backend can share it.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use rupturelab_core::*;
use sqlx::Row;

use super::coding::{
    audit, codable_code, coder_id, conflict, depth, duplicate, ensure_coder_conn, insert_row,
    load_coding, now, snapshot, span_text, target, Snapshot,
};
use super::{begin_write, key, Conn, Pool, Tx};
use crate::coding::{ResponseId, UndoOutcome};
use crate::search_coding::{CodableResponse, HitCoding, HitCodingOutcome, ADD_HITS};
use crate::{Result, StoreError, StudyId};

/// Whether a `coding_undo.after` value marks a "code all hits" step.
pub(super) fn is_batch(after: Option<&str>) -> bool {
    after.is_some_and(|a| a.starts_with("{\"batch\":"))
}

fn batch_marker(n: usize) -> String {
    format!("{{\"batch\":{n}}}")
}

/// After `apply_step` re-created coding `old` as `new`, the members of the
/// coder's batch steps that named `old` name `new`.
pub(super) async fn remap(conn: &mut Conn, coder: i64, old: i64, new: i64) -> Result<()> {
    sqlx::query(
        "UPDATE coding_undo_batch SET coding_id = $1 WHERE coding_id = $2 \
         AND undo_id IN (SELECT id FROM coding_undo WHERE coder_id = $3)",
    )
    .bind(new)
    .bind(old)
    .bind(coder)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn codable_responses(
    pool: &Pool,
    id: StudyId,
    coder: &Key,
) -> Result<Vec<CodableResponse>> {
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
    let base = "SELECT r.id, p.code, g.key, q.key FROM responses r \
         JOIN participants p ON p.id = r.participant_id JOIN questions q ON q.id = r.question_id \
         LEFT JOIN segments g ON g.id = r.segment_id \
         WHERE q.kind = 'open' AND r.text IS NOT NULL AND r.text <> '' AND r.study_id = $1";
    let rows = match (share, me) {
        (true, Some(c)) => {
            sqlx::query(&format!(
                "{base} AND r.id IN (SELECT response_id FROM coding_assigned WHERE coder_id = $2) ORDER BY r.id"
            ))
            .bind(sid)
            .bind(c)
            .fetch_all(&mut *conn)
            .await?
        }
        _ => {
            sqlx::query(&format!("{base} ORDER BY r.id"))
                .bind(sid)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    rows.iter()
        .map(|r| {
            Ok(CodableResponse {
                id: ResponseId(r.get(0)),
                key: ResponseKey {
                    participant: key(r.get(1))?,
                    segment: r.get::<Option<String>, _>(2).map(key).transpose()?,
                    question: key(r.get(3))?,
                },
            })
        })
        .collect()
}

fn span_of(a: Option<i64>, b: Option<i64>) -> Option<Span> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Span {
            start: a as usize,
            end: b as usize,
        }),
        _ => None,
    }
}

pub(super) async fn coder_code_places(
    pool: &Pool,
    id: StudyId,
    coder: &Key,
    code: &CodePath,
) -> Result<Vec<HitCoding>> {
    let rows = sqlx::query(
        "SELECT c.response_id, c.span_start, c.span_end FROM codings c \
         JOIN coders d ON d.id = c.coder_id JOIN codes k ON k.id = c.code_id \
         WHERE c.study_id = $1 AND d.name = $2 AND k.path = $3 ORDER BY c.response_id, c.id",
    )
    .bind(id.0)
    .bind(coder.as_str())
    .bind(code.as_str())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| HitCoding {
            response: ResponseId(r.get(0)),
            span: span_of(r.get(1), r.get(2)),
        })
        .collect())
}

pub(super) async fn add_hit_codings(
    pool: &Pool,
    id: StudyId,
    coder_name: &Key,
    code: &CodePath,
    places: &[HitCoding],
    why: &str,
    actor: &str,
) -> Result<HitCodingOutcome> {
    let sid = id.0;
    if coder_name.as_str() == CONSENSUS {
        return Err(StoreError::Invalid(
            "coder: the consensus layer is written on the reconciliation page, not by coding search hits"
                .into(),
        ));
    }
    let mut tx = begin_write(pool).await?;
    let code_id = codable_code(&mut tx, sid, code).await?;
    // Every response must be an open answer of the study, every span inside it.
    let mut keys: HashMap<i64, String> = HashMap::new();
    for p in places {
        if let Entry::Vacant(slot) = keys.entry(p.response.0) {
            let t = target(&mut tx, sid, p.response.0).await?.ok_or_else(|| {
                StoreError::NotFound(format!(
                    "response: the study has no open answer with id {}",
                    p.response.0
                ))
            })?;
            slot.insert(t.key.to_string());
            for q in places.iter().filter(|q| q.response == p.response) {
                super::coding::check_span(q.span, &t.text)?;
            }
        }
    }
    let coder = ensure_coder_conn(&mut tx, sid, coder_name).await?;
    let mut seen: HashSet<HitCoding> = HashSet::new();
    let mut added: Vec<(i64, Snapshot)> = Vec::new();
    let mut skipped = Vec::new();
    for p in places {
        let snap = Snapshot {
            response: p.response.0,
            code: code_id,
            span: p.span,
            memo: None,
        };
        if !seen.insert(*p) || duplicate(&mut tx, coder, &snap, -1).await? {
            skipped.push(*p);
            continue;
        }
        let cid = insert_row(&mut tx, sid, coder, &snap).await?;
        audit(
            &mut tx,
            sid,
            actor,
            "coding.add",
            format!("coding {cid} on {}", keys[&p.response.0]),
            format!(
                "(none) → {code} {} by {coder_name} (code all hits)",
                span_text(p.span)
            ),
        )
        .await?;
        added.push((cid, snap));
    }
    if let Some((first, first_snap)) = added.first() {
        // One step of the coder's log for the whole batch; like a single
        // step, it clears the redo stack and the log keeps UNDO_DEPTH steps.
        sqlx::query("DELETE FROM coding_undo WHERE coder_id = $1 AND undone = TRUE")
            .bind(coder)
            .execute(&mut *tx)
            .await?;
        let step: i64 = sqlx::query_scalar(
            "INSERT INTO coding_undo (study_id, coder_id, coding_id, response_id, before, after, undone, at) \
             VALUES ($1,$2,$3,$4,NULL,$5,FALSE,$6) RETURNING id",
        )
        .bind(sid)
        .bind(coder)
        .bind(*first)
        .bind(first_snap.response)
        .bind(batch_marker(added.len()))
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        for (i, (cid, snap)) in added.iter().enumerate() {
            sqlx::query(
                "INSERT INTO coding_undo_batch (undo_id, position, coding_id, response_id, snapshot) \
                 VALUES ($1,$2,$3,$4,$5)",
            )
            .bind(step)
            .bind(i as i64)
            .bind(*cid)
            .bind(snap.response)
            .bind(snap.to_json())
            .execute(&mut *tx)
            .await?;
        }
        super::coding::trim_undo(&mut tx, coder).await?;
        let responses: HashSet<i64> = added.iter().map(|(_, s)| s.response).collect();
        audit(
            &mut tx,
            sid,
            actor,
            ADD_HITS,
            format!("search hits “{why}”"),
            format!(
                "(none) → {} coding(s) of {code} by {coder_name} on {} response(s); {} skipped (already coded)",
                added.len(),
                responses.len(),
                skipped.len()
            ),
        )
        .await?;
    }
    let mut rows = Vec::with_capacity(added.len());
    for (cid, _) in &added {
        rows.push(
            load_coding(&mut tx, sid, *cid)
                .await?
                .ok_or_else(|| StoreError::Invalid("a new coding vanished".into()))?,
        );
    }
    let (undo_left, redo_left) = depth(&mut tx, coder).await?;
    tx.commit().await?;
    Ok(HitCodingOutcome {
        added: rows,
        skipped,
        undo_left,
        redo_left,
    })
}

/// Undoes (removes every coding of) or redoes (adds them all back) a "code
/// all hits" step, all or nothing: if any of its codings changed since,
/// `Conflict` and nothing changes.
pub(super) async fn undo_redo_batch(
    mut tx: Tx<'static>,
    sid: i64,
    coder: i64,
    coder_name: &Key,
    step: i64,
    redo: bool,
    actor: &str,
) -> Result<UndoOutcome> {
    let members = sqlx::query(
        "SELECT position, coding_id, response_id, snapshot FROM coding_undo_batch \
         WHERE undo_id = $1 ORDER BY position",
    )
    .bind(step)
    .fetch_all(&mut *tx)
    .await?;
    let mut first_response: Option<i64> = None;
    let mut keys: HashMap<i64, String> = HashMap::new();
    let mut paths: HashMap<i64, String> = HashMap::new();
    let n = members.len();
    for m in &members {
        let position: i64 = m.get(0);
        let coding: i64 = m.get(1);
        let response: i64 = m.get(2);
        let snap = Snapshot::from_json(m.get::<&str, _>(3))?;
        first_response.get_or_insert(response);
        if let Entry::Vacant(slot) = keys.entry(response) {
            let k = target(&mut tx, sid, response)
                .await?
                .map(|t| t.key.to_string())
                .unwrap_or_else(|| format!("response {response}"));
            slot.insert(k);
        }
        if let Entry::Vacant(slot) = paths.entry(snap.code) {
            let p: Option<String> = sqlx::query_scalar("SELECT path FROM codes WHERE id = $1")
                .bind(snap.code)
                .fetch_optional(&mut *tx)
                .await?;
            match p {
                Some(p) => {
                    slot.insert(p);
                }
                None if redo => {
                    return Err(conflict(
                        "the code of these codings has been removed from the codebook, so they cannot be restored; nothing was changed",
                    ))
                }
                None => {
                    slot.insert("(deleted code)".into());
                }
            }
        }
        let what = format!("{} {}", paths[&snap.code], span_text(snap.span));
        let now_id = if redo {
            if duplicate(&mut tx, coder, &snap, -1).await? {
                return Err(conflict(format!(
                    "{coder_name} has applied {what} on {} again since this step was undone, so the {n} codings of \
                     “code all hits” cannot be redone; nothing was changed",
                    keys[&response]
                )));
            }
            let new_id = insert_row(&mut tx, sid, coder, &snap).await?;
            sqlx::query(
                "UPDATE coding_undo_batch SET coding_id = $1 WHERE undo_id = $2 AND position = $3",
            )
            .bind(new_id)
            .bind(step)
            .bind(position)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE coding_undo SET coding_id = $1 WHERE coder_id = $2 AND coding_id = $3",
            )
            .bind(new_id)
            .bind(coder)
            .bind(coding)
            .execute(&mut *tx)
            .await?;
            remap(&mut tx, coder, coding, new_id).await?;
            new_id
        } else {
            match snapshot(&mut tx, sid, coding).await? {
                Some((c, cur, _)) if c == coder && cur == snap => {}
                _ => {
                    return Err(conflict(format!(
                        "coding {coding} ({what} on {}) was changed or removed since it was added by “code all hits”, \
                         so the {n} codings of that step cannot be undone together; nothing was changed, reload to see the current codings",
                        keys[&response]
                    )))
                }
            }
            sqlx::query("DELETE FROM codings WHERE id = $1")
                .bind(coding)
                .execute(&mut *tx)
                .await?;
            coding
        };
        let (a, b) = if redo {
            ("(none)".to_string(), what)
        } else {
            (what, "(none)".to_string())
        };
        audit(
            &mut tx,
            sid,
            actor,
            if redo { "coding.redo" } else { "coding.undo" },
            format!("coding {now_id} on {}", keys[&response]),
            format!(
                "{a} → {b} ({} of {ADD_HITS} by {coder_name})",
                if redo { "redo" } else { "undo" }
            ),
        )
        .await?;
    }
    sqlx::query("UPDATE coding_undo SET undone = $1 WHERE id = $2")
        .bind(!redo)
        .bind(step)
        .execute(&mut *tx)
        .await?;
    let response = match first_response {
        Some(r) => r,
        None => {
            sqlx::query_scalar("SELECT response_id FROM coding_undo WHERE id = $1")
                .bind(step)
                .fetch_one(&mut *tx)
                .await?
        }
    };
    let (undo_left, redo_left) = depth(&mut tx, coder).await?;
    tx.commit().await?;
    Ok(UndoOutcome {
        response: ResponseId(response),
        action: ADD_HITS.to_string(),
        coding: None,
        undo_left,
        redo_left,
    })
}
