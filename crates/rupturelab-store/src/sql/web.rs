//! The web application's fine-grained calls in SQL shared by both backends:
//! accounts, invitations, consent, progress, single-answer autosave and
//! design edits. Compiled once inside `sqlite` and once inside `postgres`
//! (`#[path]` modules) against the backend's aliases and hooks; every
//! statement uses `$n` placeholders, which both dialects accept.

use std::collections::{BTreeMap, HashMap};

use rupturelab_core::*;
use sqlx::Row;

use super::{begin_participant_write, begin_write, invalid, key, Conn, DbRow, Pool, FOR_UPDATE};
use crate::web::*;
use crate::{codec, Result, StoreError, StudyId};

fn now() -> i64 {
    Timestamp::now().0
}

fn user_from_row(r: &DbRow) -> Result<User> {
    Ok(User {
        id: UserId(r.get(0)),
        username: r.get(1),
        role: Role::parse(r.get::<&str, _>(2)).map_err(invalid)?,
        password_hash: r.get(3),
    })
}

pub(super) async fn create_user(
    pool: &Pool,
    username: &str,
    role: Role,
    hash: &str,
) -> Result<UserId> {
    let mut tx = begin_write(pool).await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Err(StoreError::UserExists(username.to_string()));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, created_at) VALUES ($1,$2,$3,$4) RETURNING id",
    )
    .bind(username)
    .bind(hash)
    .bind(role.as_str())
    .bind(now())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| unique_or(e, || StoreError::UserExists(username.to_string())))?;
    tx.commit().await?;
    Ok(UserId(id))
}

pub(super) async fn user_by_name(pool: &Pool, username: &str) -> Result<Option<User>> {
    sqlx::query("SELECT id, username, role, password_hash FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(pool)
        .await?
        .map(|r| user_from_row(&r))
        .transpose()
}

pub(super) async fn user_by_id(pool: &Pool, id: UserId) -> Result<Option<User>> {
    sqlx::query("SELECT id, username, role, password_hash FROM users WHERE id = $1")
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .map(|r| user_from_row(&r))
        .transpose()
}

pub(super) async fn count_users(pool: &Pool, role: Role) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = $1")
            .bind(role.as_str())
            .fetch_one(pool)
            .await?,
    )
}

pub(super) async fn set_password(pool: &Pool, id: UserId, hash: &str) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id.0)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn add_api_token(
    pool: &Pool,
    user: UserId,
    hash: &str,
    label: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_tokens (user_id, token_hash, label, created_at) VALUES ($1,$2,$3,$4)",
    )
    .bind(user.0)
    .bind(hash)
    .bind(label)
    .bind(now())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn user_by_api_token(pool: &Pool, hash: &str) -> Result<Option<User>> {
    sqlx::query(
        "SELECT u.id, u.username, u.role, u.password_hash FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await?
    .map(|r| user_from_row(&r))
    .transpose()
}

pub(super) async fn attributes(conn: &mut Conn, sid: i64) -> Result<Vec<(i64, AttributeDef)>> {
    let mut out = Vec::new();
    for r in sqlx::query(
        "SELECT id, name, label, kind, spec, bands, required FROM attributes WHERE study_id = $1 ORDER BY position",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        out.push((
            r.get(0),
            AttributeDef {
                name: key(r.get(1))?,
                label: r.get(2),
                kind: codec::attribute_type(r.get(3), r.get(4)).map_err(invalid)?,
                bands: codec::parse_bands(r.get(5)),
                required: r.get(6),
            },
        ));
    }
    Ok(out)
}

pub(super) async fn questions(conn: &mut Conn, sid: i64) -> Result<Vec<(i64, Question)>> {
    let mut out = Vec::new();
    for r in sqlx::query(
        "SELECT id, key, kind, scope, prompt, spec FROM questions WHERE study_id = $1 ORDER BY position",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        out.push((
            r.get(0),
            Question {
                key: key(r.get(1))?,
                kind: codec::question_kind(r.get(2), r.get(5)).map_err(invalid)?,
                scope: if r.get::<&str, _>(3) == "once" {
                    QuestionScope::Once
                } else {
                    QuestionScope::Segment
                },
                prompt: r.get(4),
            },
        ));
    }
    Ok(out)
}

/// A study's metadata and settings row.
pub(super) async fn study_header(conn: &mut Conn, sid: i64) -> Result<(StudyMeta, Settings)> {
    let row = sqlx::query(
        "SELECT key, title, description, language, synthetic, presentation_order, agreement, agreement_threshold, \
         consent_text, welcome_text, thanks_text FROM studies WHERE id = $1",
    )
    .bind(sid)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NoSuchStudy(format!("#{sid}")))?;
    let meta = StudyMeta {
        key: key(row.get(0))?,
        title: row.get(1),
        description: row.get(2),
        language: Language::parse(row.get::<&str, _>(3)).map_err(invalid)?,
        synthetic: row.get(4),
    };
    let settings = Settings {
        presentation_order: OrderMode::parse(row.get::<&str, _>(5)).map_err(invalid)?,
        agreement: row.get(6),
        agreement_threshold: row.get(7),
        consent_text: row.get(8),
        welcome_text: row.get(9),
        thanks_text: row.get(10),
    };
    Ok((meta, settings))
}

pub(super) async fn study_design(pool: &Pool, id: StudyId) -> Result<StudyDesign> {
    let mut conn = pool.acquire().await?;
    let (meta, settings) = study_header(&mut conn, id.0).await?;
    let attributes = attributes(&mut conn, id.0)
        .await?
        .into_iter()
        .map(|a| a.1)
        .collect();
    let questions = questions(&mut conn, id.0)
        .await?
        .into_iter()
        .map(|q| q.1)
        .collect();
    Ok(StudyDesign {
        id,
        meta,
        settings,
        attributes,
        questions,
    })
}

pub(super) async fn update_settings(
    pool: &Pool,
    id: StudyId,
    language: Language,
    st: &Settings,
) -> Result<()> {
    let n = sqlx::query(
        "UPDATE studies SET language = $1, presentation_order = $2, agreement = $3, agreement_threshold = $4, \
         consent_text = $5, welcome_text = $6, thanks_text = $7 WHERE id = $8",
    )
    .bind(language.as_str())
    .bind(st.presentation_order.as_str())
    .bind(st.agreement)
    .bind(st.agreement_threshold)
    .bind(&st.consent_text)
    .bind(&st.welcome_text)
    .bind(&st.thanks_text)
    .bind(id.0)
    .execute(pool)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::NoSuchStudy(format!("#{}", id.0)));
    }
    Ok(())
}

/// Segments of a study in study order, with turns and markers; also their row ids.
pub(super) async fn segments(conn: &mut Conn, sid: i64) -> Result<Vec<(i64, Segment)>> {
    let mut out: Vec<(i64, Segment)> = Vec::new();
    let mut index = HashMap::new();
    for r in sqlx::query(
        "SELECT g.id, g.key, g.label, p.key, g.session, g.rupture, g.media_ref, g.media_start_ms, g.media_end_ms, g.notes \
         FROM segments g JOIN patients p ON p.id = g.patient_id WHERE g.study_id = $1 ORDER BY g.position",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        let id: i64 = r.get(0);
        let media_ref: Option<String> = r.get(6);
        index.insert(id, out.len());
        out.push((
            id,
            Segment {
                key: key(r.get(1))?,
                label: r.get(2),
                patient: key(r.get(3))?,
                session: r.get::<Option<i64>, _>(4).map(|v| v as u32),
                rupture: RuptureType::parse(r.get::<&str, _>(5)).map_err(invalid)?,
                markers: Vec::new(),
                media: media_ref.map(|reference| Media {
                    reference,
                    start_ms: r.get(7),
                    end_ms: r.get(8),
                }),
                notes: r.get(9),
                turns: Vec::new(),
            },
        ));
    }
    for r in sqlx::query(
        "SELECT m.segment_id, m.name, m.salience FROM segment_markers m JOIN segments g ON g.id = m.segment_id \
         WHERE g.study_id = $1 ORDER BY m.segment_id, m.position",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        let salience = match r.get::<Option<i64>, _>(2) {
            Some(v) => Some(Salience::new(v).map_err(invalid)?),
            None => None,
        };
        out[index[&r.get::<i64, _>(0)]].1.markers.push(Marker {
            name: r.get(1),
            salience,
        });
    }
    for r in sqlx::query(
        "SELECT t.segment_id, t.speaker, t.text, t.start_ms, t.end_ms FROM turns t JOIN segments g ON g.id = t.segment_id \
         WHERE g.study_id = $1 ORDER BY t.segment_id, t.position",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        out[index[&r.get::<i64, _>(0)]].1.turns.push(Turn {
            speaker: r.get(1),
            text: r.get(2),
            start_ms: r.get(3),
            end_ms: r.get(4),
        });
    }
    Ok(out)
}

/// Writes a segment's markers and turns (the caller removed any old ones).
pub(super) async fn write_segment_children(
    conn: &mut Conn,
    seg_id: i64,
    seg: &Segment,
) -> Result<()> {
    for (j, m) in seg.markers.iter().enumerate() {
        sqlx::query("INSERT INTO segment_markers (segment_id, position, name, salience) VALUES ($1,$2,$3,$4)")
            .bind(seg_id)
            .bind(j as i64)
            .bind(&m.name)
            .bind(m.salience.map(|s| i64::from(s.get())))
            .execute(&mut *conn)
            .await?;
    }
    for (j, t) in seg.turns.iter().enumerate() {
        sqlx::query("INSERT INTO turns (segment_id, position, speaker, text, start_ms, end_ms) VALUES ($1,$2,$3,$4,$5,$6)")
            .bind(seg_id)
            .bind(j as i64)
            .bind(&t.speaker)
            .bind(&t.text)
            .bind(t.start_ms)
            .bind(t.end_ms)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub(super) async fn study_segments(pool: &Pool, id: StudyId) -> Result<Vec<Segment>> {
    let mut conn = pool.acquire().await?;
    Ok(segments(&mut conn, id.0)
        .await?
        .into_iter()
        .map(|s| s.1)
        .collect())
}

pub(super) async fn upsert_segment(pool: &Pool, id: StudyId, seg: &Segment) -> Result<()> {
    let sid = id.0;
    let mut tx = begin_write(pool).await?;
    let patient: Option<i64> =
        sqlx::query_scalar("SELECT id FROM patients WHERE study_id = $1 AND key = $2")
            .bind(sid)
            .bind(seg.patient.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    let patient = match patient {
        Some(p) => p,
        None => {
            sqlx::query_scalar(
                "INSERT INTO patients (study_id, position, key, description) \
                 VALUES ($1, (SELECT COALESCE(MAX(position), -1) + 1 FROM patients WHERE study_id = $1), $2, '') RETURNING id",
            )
            .bind(sid)
            .bind(seg.patient.as_str())
            .fetch_one(&mut *tx)
            .await?
        }
    };
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM segments WHERE study_id = $1 AND key = $2")
            .bind(sid)
            .bind(seg.key.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    let media = seg.media.as_ref();
    let seg_id: i64 = match existing {
        Some(id) => {
            sqlx::query(
                "UPDATE segments SET label = $1, patient_id = $2, session = $3, rupture = $4, media_ref = $5, \
                 media_start_ms = $6, media_end_ms = $7, notes = $8 WHERE id = $9",
            )
            .bind(&seg.label)
            .bind(patient)
            .bind(seg.session.map(i64::from))
            .bind(seg.rupture.as_str())
            .bind(media.map(|m| m.reference.as_str()))
            .bind(media.and_then(|m| m.start_ms))
            .bind(media.and_then(|m| m.end_ms))
            .bind(&seg.notes)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM segment_markers WHERE segment_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM turns WHERE segment_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            id
        }
        None => {
            sqlx::query_scalar(
                "INSERT INTO segments (study_id, position, key, label, patient_id, session, rupture, media_ref, \
                 media_start_ms, media_end_ms, notes) VALUES ($1, (SELECT COALESCE(MAX(position), -1) + 1 FROM segments WHERE study_id = $1), \
                 $2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id",
            )
            .bind(sid)
            .bind(seg.key.as_str())
            .bind(&seg.label)
            .bind(patient)
            .bind(seg.session.map(i64::from))
            .bind(seg.rupture.as_str())
            .bind(media.map(|m| m.reference.as_str()))
            .bind(media.and_then(|m| m.start_ms))
            .bind(media.and_then(|m| m.end_ms))
            .bind(&seg.notes)
            .fetch_one(&mut *tx)
            .await?
        }
    };
    write_segment_children(&mut tx, seg_id, seg).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn upsert_question(pool: &Pool, id: StudyId, q: &Question) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let existing: Option<(i64, String)> =
        sqlx::query_as("SELECT id, kind FROM questions WHERE study_id = $1 AND key = $2")
            .bind(id.0)
            .bind(q.key.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    match existing {
        Some((qid, kind)) => {
            if kind != q.kind.name() {
                let answers: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM responses WHERE question_id = $1")
                        .bind(qid)
                        .fetch_one(&mut *tx)
                        .await?;
                if answers > 0 {
                    return Err(invalid(format!(
                        "question `{}` already has {answers} answers; its kind cannot change from {kind} to {}",
                        q.key,
                        q.kind.name()
                    )));
                }
            }
            sqlx::query(
                "UPDATE questions SET kind = $1, scope = $2, prompt = $3, spec = $4 WHERE id = $5",
            )
            .bind(q.kind.name())
            .bind(q.scope.as_str())
            .bind(&q.prompt)
            .bind(codec::question_spec(&q.kind))
            .bind(qid)
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query(
                "INSERT INTO questions (study_id, position, key, kind, scope, prompt, spec) VALUES \
                 ($1, (SELECT COALESCE(MAX(position), -1) + 1 FROM questions WHERE study_id = $1), $2,$3,$4,$5,$6)",
            )
            .bind(id.0)
            .bind(q.key.as_str())
            .bind(q.kind.name())
            .bind(q.scope.as_str())
            .bind(&q.prompt)
            .bind(codec::question_spec(&q.kind))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn upsert_attribute(pool: &Pool, id: StudyId, a: &AttributeDef) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let existing: Option<(i64, String)> =
        sqlx::query_as("SELECT id, kind FROM attributes WHERE study_id = $1 AND name = $2")
            .bind(id.0)
            .bind(a.name.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    match existing {
        Some((aid, kind)) => {
            if kind != a.kind.name() {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM participant_attributes WHERE attribute_id = $1",
                )
                .bind(aid)
                .fetch_one(&mut *tx)
                .await?;
                if n > 0 {
                    return Err(invalid(format!(
                        "attribute `{}` has values for {n} participants; its type cannot change from {kind} to {}",
                        a.name,
                        a.kind.name()
                    )));
                }
            }
            sqlx::query(
                "UPDATE attributes SET label = $1, kind = $2, spec = $3, bands = $4, required = $5 WHERE id = $6",
            )
            .bind(&a.label)
            .bind(a.kind.name())
            .bind(codec::attribute_spec(&a.kind))
            .bind(codec::bands(&a.bands))
            .bind(a.required)
            .bind(aid)
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query(
                "INSERT INTO attributes (study_id, position, name, label, kind, spec, bands, required) VALUES \
                 ($1, (SELECT COALESCE(MAX(position), -1) + 1 FROM attributes WHERE study_id = $1), $2,$3,$4,$5,$6,$7)",
            )
            .bind(id.0)
            .bind(a.name.as_str())
            .bind(&a.label)
            .bind(a.kind.name())
            .bind(codec::attribute_spec(&a.kind))
            .bind(codec::bands(&a.bands))
            .bind(a.required)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn reorder(
    pool: &Pool,
    id: StudyId,
    what: crate::Ordered,
    keys: &[Key],
) -> Result<()> {
    let (select, update) = match what {
        crate::Ordered::Segments => (
            "SELECT key FROM segments WHERE study_id = $1",
            "UPDATE segments SET position = $1 WHERE study_id = $2 AND key = $3",
        ),
        crate::Ordered::Questions => (
            "SELECT key FROM questions WHERE study_id = $1",
            "UPDATE questions SET position = $1 WHERE study_id = $2 AND key = $3",
        ),
        crate::Ordered::Attributes => (
            "SELECT name FROM attributes WHERE study_id = $1",
            "UPDATE attributes SET position = $1 WHERE study_id = $2 AND name = $3",
        ),
    };
    let mut tx = begin_write(pool).await?;
    let mut have: Vec<String> = sqlx::query_scalar(select)
        .bind(id.0)
        .fetch_all(&mut *tx)
        .await?;
    let mut given: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    have.sort();
    given.sort();
    if have != given {
        return Err(invalid(
            "the new order must name each item exactly once; reload the page and try again",
        ));
    }
    for (i, k) in keys.iter().enumerate() {
        sqlx::query(update)
            .bind(i as i64)
            .bind(id.0)
            .bind(k.as_str())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn write_attributes(
    conn: &mut Conn,
    sid: i64,
    pid: i64,
    values: &BTreeMap<String, AttrValue>,
) -> Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    let ids: HashMap<String, i64> = attributes(conn, sid)
        .await?
        .into_iter()
        .map(|(id, a)| (a.name.to_string(), id))
        .collect();
    for (name, v) in values {
        let attr = *ids
            .get(name)
            .ok_or_else(|| invalid(format!("unknown attribute `{name}`")))?;
        sqlx::query(
            "INSERT INTO participant_attributes (participant_id, attribute_id, value) VALUES ($1,$2,$3) \
             ON CONFLICT (participant_id, attribute_id) DO UPDATE SET value = excluded.value",
        )
        .bind(pid)
        .bind(attr)
        .bind(v.to_string())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn write_order(conn: &mut Conn, sid: i64, pid: i64, order: &[Key]) -> Result<()> {
    sqlx::query("DELETE FROM presentation_orders WHERE participant_id = $1")
        .bind(pid)
        .execute(&mut *conn)
        .await?;
    for (j, k) in order.iter().enumerate() {
        let seg: i64 =
            sqlx::query_scalar("SELECT id FROM segments WHERE study_id = $1 AND key = $2")
                .bind(sid)
                .bind(k.as_str())
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| invalid(format!("unknown segment `{k}` in the order")))?;
        sqlx::query(
            "INSERT INTO presentation_orders (participant_id, position, segment_id) VALUES ($1,$2,$3)",
        )
        .bind(pid)
        .bind(j as i64)
        .bind(seg)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn add_participant(
    pool: &Pool,
    id: StudyId,
    p: &Participant,
) -> Result<ParticipantId> {
    let mut tx = begin_write(pool).await?;
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM participants WHERE study_id = $1 AND code = $2")
            .bind(id.0)
            .bind(p.code.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_some() {
        return Err(StoreError::ParticipantExists(p.code.to_string()));
    }
    let pid: i64 = sqlx::query_scalar(
        "INSERT INTO participants (study_id, position, code, status) VALUES \
         ($1, (SELECT COALESCE(MAX(position), -1) + 1 FROM participants WHERE study_id = $1), $2, $3) RETURNING id",
    )
    .bind(id.0)
    .bind(p.code.as_str())
    .bind(p.status.as_str())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| unique_or(e, || StoreError::ParticipantExists(p.code.to_string())))?;
    write_attributes(&mut tx, id.0, pid, &p.attributes).await?;
    write_order(&mut tx, id.0, pid, &p.order).await?;
    tx.commit().await?;
    Ok(ParticipantId(pid))
}

pub(super) async fn participant_id(
    pool: &Pool,
    id: StudyId,
    code: &str,
) -> Result<Option<ParticipantId>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM participants WHERE study_id = $1 AND code = $2")
            .bind(id.0)
            .bind(code)
            .fetch_optional(pool)
            .await?
            .map(ParticipantId),
    )
}

pub(super) async fn participant_overview(
    pool: &Pool,
    id: StudyId,
) -> Result<Vec<ParticipantOverview>> {
    let mut conn = pool.acquire().await?;
    let mut out = Vec::new();
    let mut index = HashMap::new();
    for r in sqlx::query(
        "SELECT p.id, p.code, p.status, \
           (SELECT MAX(i.created_at) FROM invitations i WHERE i.participant_id = p.id AND i.revoked_at IS NULL), \
           (SELECT c.accepted FROM consents c WHERE c.participant_id = p.id ORDER BY c.id DESC LIMIT 1), \
           (SELECT COUNT(*) FROM responses r WHERE r.participant_id = p.id), \
           pp.step, pp.order_mode, pp.order_row, \
           (SELECT MAX(r.updated_at) FROM responses r WHERE r.participant_id = p.id), \
           (SELECT COUNT(*) FROM invitations i WHERE i.participant_id = p.id) \
         FROM participants p LEFT JOIN participant_progress pp ON pp.participant_id = p.id \
         WHERE p.study_id = $1 ORDER BY p.position",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?
    {
        index.insert(r.get::<i64, _>(0), out.len());
        out.push(ParticipantOverview {
            code: key(r.get(1))?,
            status: ParticipantStatus::parse(r.get::<&str, _>(2)).map_err(invalid)?,
            invited_at: r.get::<Option<i64>, _>(3).map(Timestamp),
            consent: r.get(4),
            answers: r.get(5),
            step: r.get(6),
            order_mode: r.get(7),
            order_row: r.get(8),
            order: Vec::new(),
            updated_at: r.get::<Option<i64>, _>(9).map(Timestamp),
            links_issued: r.get(10),
        });
    }
    for r in sqlx::query(
        "SELECT o.participant_id, g.key FROM presentation_orders o JOIN participants p ON p.id = o.participant_id \
         JOIN segments g ON g.id = o.segment_id WHERE p.study_id = $1 ORDER BY o.participant_id, o.position",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?
    {
        out[index[&r.get::<i64, _>(0)]].order.push(key(r.get(1))?);
    }
    Ok(out)
}

pub(super) async fn study_progress(pool: &Pool, id: StudyId) -> Result<StudyProgress> {
    let mut conn = pool.acquire().await?;
    let mut p = StudyProgress::default();
    for r in
        sqlx::query("SELECT status, COUNT(*) FROM participants WHERE study_id = $1 GROUP BY status")
            .bind(id.0)
            .fetch_all(&mut *conn)
            .await?
    {
        let n: i64 = r.get(1);
        match r.get::<&str, _>(0) {
            "invited" => p.invited = n,
            "started" => p.started = n,
            "completed" => p.completed = n,
            _ => {}
        }
    }
    for r in sqlx::query(
        "SELECT g.key, (SELECT COUNT(*) FROM responses r WHERE r.segment_id = g.id) FROM segments g \
         WHERE g.study_id = $1 ORDER BY g.position",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?
    {
        p.answers_per_segment.push((key(r.get(0))?, r.get(1)));
    }
    p.answers_once = sqlx::query_scalar(
        "SELECT COUNT(*) FROM responses WHERE study_id = $1 AND segment_id IS NULL",
    )
    .bind(id.0)
    .fetch_one(&mut *conn)
    .await?;
    Ok(p)
}

pub(super) async fn issue_invitation(
    pool: &Pool,
    participant: ParticipantId,
    hash: &str,
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let t = now();
    sqlx::query(
        "UPDATE invitations SET revoked_at = $1 WHERE participant_id = $2 AND revoked_at IS NULL",
    )
    .bind(t)
    .bind(participant.0)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO invitations (participant_id, token_hash, created_at) VALUES ($1,$2,$3)",
    )
    .bind(participant.0)
    .bind(hash)
    .bind(t)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn revoke_invitation(pool: &Pool, participant: ParticipantId) -> Result<()> {
    sqlx::query(
        "UPDATE invitations SET revoked_at = $1 WHERE participant_id = $2 AND revoked_at IS NULL",
    )
    .bind(now())
    .bind(participant.0)
    .execute(pool)
    .await?;
    Ok(())
}

async fn ensure_progress(conn: &mut Conn, pid: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO participant_progress (participant_id, updated_at) VALUES ($1, $2) \
         ON CONFLICT (participant_id) DO NOTHING",
    )
    .bind(pid)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn assign_order(
    pool: &Pool,
    participant: ParticipantId,
    o: &OrderAssignment,
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let sid: i64 = sqlx::query_scalar("SELECT study_id FROM participants WHERE id = $1")
        .bind(participant.0)
        .fetch_one(&mut *tx)
        .await?;
    write_order(&mut tx, sid, participant.0, &o.order).await?;
    ensure_progress(&mut tx, participant.0).await?;
    sqlx::query(
        "UPDATE participant_progress SET order_mode = $1, order_row = $2, updated_at = $3 WHERE participant_id = $4",
    )
    .bind(o.mode.as_str())
    .bind(o.row)
    .bind(now())
    .bind(participant.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn count_assigned_orders(pool: &Pool, id: StudyId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM participant_progress pp JOIN participants p ON p.id = pp.participant_id \
         WHERE p.study_id = $1 AND pp.order_mode IS NOT NULL",
    )
    .bind(id.0)
    .fetch_one(pool)
    .await?)
}

pub(super) async fn participant_by_token(
    pool: &Pool,
    hash: &str,
) -> Result<Option<ParticipantRecord>> {
    let Some(r) = sqlx::query(
        "SELECT p.id, p.study_id, p.code, p.status, \
           (SELECT c.accepted FROM consents c WHERE c.participant_id = p.id ORDER BY c.id DESC LIMIT 1), pp.step \
         FROM invitations i JOIN participants p ON p.id = i.participant_id \
         LEFT JOIN participant_progress pp ON pp.participant_id = p.id \
         WHERE i.token_hash = $1 AND i.revoked_at IS NULL",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(ParticipantRecord {
        id: ParticipantId(r.get(0)),
        study_id: StudyId(r.get(1)),
        code: key(r.get(2))?,
        status: ParticipantStatus::parse(r.get::<&str, _>(3)).map_err(invalid)?,
        consent: r.get(4),
        step: r.get(5),
    }))
}

pub(super) async fn participant_order(pool: &Pool, participant: ParticipantId) -> Result<Vec<Key>> {
    let mut conn = pool.acquire().await?;
    let mut keys: Vec<String> = sqlx::query_scalar(
        "SELECT g.key FROM presentation_orders o JOIN segments g ON g.id = o.segment_id \
         WHERE o.participant_id = $1 ORDER BY o.position",
    )
    .bind(participant.0)
    .fetch_all(&mut *conn)
    .await?;
    if keys.is_empty() {
        keys = sqlx::query_scalar(
            "SELECT g.key FROM segments g JOIN participants p ON p.study_id = g.study_id \
             WHERE p.id = $1 ORDER BY g.position",
        )
        .bind(participant.0)
        .fetch_all(&mut *conn)
        .await?;
    }
    keys.into_iter().map(key).collect()
}

pub(super) async fn segment(pool: &Pool, id: StudyId, k: &Key) -> Result<Option<Segment>> {
    let mut conn = pool.acquire().await?;
    let Some(r) = sqlx::query(
        "SELECT g.id, g.key, g.label, p.key, g.session, g.rupture, g.media_ref, g.media_start_ms, g.media_end_ms, g.notes \
         FROM segments g JOIN patients p ON p.id = g.patient_id WHERE g.study_id = $1 AND g.key = $2",
    )
    .bind(id.0)
    .bind(k.as_str())
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let seg_id: i64 = r.get(0);
    let media_ref: Option<String> = r.get(6);
    let mut seg = Segment {
        key: key(r.get(1))?,
        label: r.get(2),
        patient: key(r.get(3))?,
        session: r.get::<Option<i64>, _>(4).map(|v| v as u32),
        rupture: RuptureType::parse(r.get::<&str, _>(5)).map_err(invalid)?,
        markers: Vec::new(),
        media: media_ref.map(|reference| Media {
            reference,
            start_ms: r.get(7),
            end_ms: r.get(8),
        }),
        notes: r.get(9),
        turns: Vec::new(),
    };
    for m in sqlx::query(
        "SELECT name, salience FROM segment_markers WHERE segment_id = $1 ORDER BY position",
    )
    .bind(seg_id)
    .fetch_all(&mut *conn)
    .await?
    {
        let salience = match m.get::<Option<i64>, _>(1) {
            Some(v) => Some(Salience::new(v).map_err(invalid)?),
            None => None,
        };
        seg.markers.push(Marker {
            name: m.get(0),
            salience,
        });
    }
    for t in sqlx::query(
        "SELECT speaker, text, start_ms, end_ms FROM turns WHERE segment_id = $1 ORDER BY position",
    )
    .bind(seg_id)
    .fetch_all(&mut *conn)
    .await?
    {
        seg.turns.push(Turn {
            speaker: t.get(0),
            text: t.get(1),
            start_ms: t.get(2),
            end_ms: t.get(3),
        });
    }
    Ok(Some(seg))
}

pub(super) async fn participant_attributes(
    pool: &Pool,
    participant: ParticipantId,
) -> Result<BTreeMap<String, AttrValue>> {
    let mut conn = pool.acquire().await?;
    let sid: i64 = sqlx::query_scalar("SELECT study_id FROM participants WHERE id = $1")
        .bind(participant.0)
        .fetch_one(&mut *conn)
        .await?;
    let defs = attributes(&mut conn, sid).await?;
    let mut attrs = BTreeMap::new();
    for a in sqlx::query(
        "SELECT attribute_id, value FROM participant_attributes WHERE participant_id = $1",
    )
    .bind(participant.0)
    .fetch_all(&mut *conn)
    .await?
    {
        let aid: i64 = a.get(0);
        if let Some((_, def)) = defs.iter().find(|(id, _)| *id == aid) {
            let v = def.parse_value(a.get::<&str, _>(1)).map_err(invalid)?;
            attrs.insert(def.name.to_string(), v);
        }
    }
    Ok(attrs)
}

pub(super) async fn participant_segments(
    pool: &Pool,
    participant: ParticipantId,
) -> Result<Vec<Segment>> {
    let mut conn = pool.acquire().await?;
    let sid: i64 = sqlx::query_scalar("SELECT study_id FROM participants WHERE id = $1")
        .bind(participant.0)
        .fetch_one(&mut *conn)
        .await?;
    let all = segments(&mut conn, sid).await?;
    let order: Vec<i64> = sqlx::query_scalar(
        "SELECT segment_id FROM presentation_orders WHERE participant_id = $1 ORDER BY position",
    )
    .bind(participant.0)
    .fetch_all(&mut *conn)
    .await?;
    if order.is_empty() {
        return Ok(all.into_iter().map(|s| s.1).collect());
    }
    let mut by_id: HashMap<i64, Segment> = all.into_iter().collect();
    Ok(order.iter().filter_map(|id| by_id.remove(id)).collect())
}

pub(super) async fn participant_responses(
    pool: &Pool,
    participant: ParticipantId,
) -> Result<Vec<Response>> {
    let mut conn = pool.acquire().await?;
    let code: String = sqlx::query_scalar("SELECT code FROM participants WHERE id = $1")
        .bind(participant.0)
        .fetch_one(&mut *conn)
        .await?;
    let code = key(code)?;
    let mut out = Vec::new();
    for r in sqlx::query(
        "SELECT g.key, q.key, q.kind, r.text, r.value, r.created_at, r.updated_at FROM responses r \
         JOIN questions q ON q.id = r.question_id LEFT JOIN segments g ON g.id = r.segment_id \
         WHERE r.participant_id = $1 ORDER BY r.id",
    )
    .bind(participant.0)
    .fetch_all(&mut *conn)
    .await?
    {
        let k = ResponseKey {
            participant: code.clone(),
            segment: r.get::<Option<String>, _>(0).map(key).transpose()?,
            question: key(r.get(1))?,
        };
        let text: Option<String> = r.get(3);
        let value: Option<String> = r.get(4);
        let answer = match r.get::<&str, _>(2) {
            "open" => Answer::Text(text.unwrap_or_default()),
            "likert" => match value.as_deref().and_then(|v| v.parse().ok()) {
                Some(v) => Answer::Rating(v),
                None => continue,
            },
            _ => Answer::Choice(value.unwrap_or_default()),
        };
        out.push(Response {
            key: k,
            answer,
            created_at: r.get::<Option<i64>, _>(5).map(Timestamp),
            updated_at: r.get::<Option<i64>, _>(6).map(Timestamp),
        });
    }
    Ok(out)
}

pub(super) async fn record_consent(
    pool: &Pool,
    participant: ParticipantId,
    accepted: bool,
    text: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO consents (participant_id, accepted, consent_text, at) VALUES ($1,$2,$3,$4)",
    )
    .bind(participant.0)
    .bind(accepted)
    .bind(text)
    .bind(now())
    .execute(pool)
    .await?;
    Ok(())
}

/// The participant's study and status; on PostgreSQL it also locks the
/// participant's row, so concurrent writes for one participant (autosaves,
/// submit) run one after the other as SQLite's write lock makes them.
async fn status(conn: &mut Conn, pid: i64) -> Result<(i64, String)> {
    Ok(sqlx::query_as(&format!(
        "SELECT study_id, status FROM participants WHERE id = $1{FOR_UPDATE}"
    ))
    .bind(pid)
    .fetch_one(&mut *conn)
    .await?)
}

/// Maps a unique-key violation (a concurrent insert of the same name that
/// won the race after our check) to `taken`.
fn unique_or(e: sqlx::Error, taken: impl FnOnce() -> StoreError) -> StoreError {
    match e.as_database_error() {
        Some(d) if d.is_unique_violation() => taken(),
        _ => StoreError::Db(e),
    }
}

pub(super) async fn set_attributes(
    pool: &Pool,
    participant: ParticipantId,
    values: &BTreeMap<String, AttrValue>,
) -> Result<()> {
    let mut tx = begin_participant_write(pool).await?;
    let (sid, st) = status(&mut tx, participant.0).await?;
    if st == "completed" {
        return Err(StoreError::Locked);
    }
    write_attributes(&mut tx, sid, participant.0, values).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn set_step(pool: &Pool, participant: ParticipantId, step: &str) -> Result<()> {
    let mut tx = begin_participant_write(pool).await?;
    // The participant's row first, as every participant write locks it.
    status(&mut tx, participant.0).await?;
    ensure_progress(&mut tx, participant.0).await?;
    let t = now();
    sqlx::query(
        "UPDATE participant_progress SET step = $1, updated_at = $2, started_at = COALESCE(started_at, $2) \
         WHERE participant_id = $3",
    )
    .bind(step)
    .bind(t)
    .bind(participant.0)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE participants SET status = 'started' WHERE id = $1 AND status = 'invited'")
        .bind(participant.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn save_response(
    pool: &Pool,
    participant: ParticipantId,
    segment: Option<&Key>,
    question: &Key,
    answer: &Answer,
    at: Timestamp,
) -> Result<()> {
    let mut tx = begin_participant_write(pool).await?;
    let sid = writable(&mut tx, participant.0).await?;
    save_one(&mut tx, sid, participant.0, segment, question, answer, at).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn save_responses(
    pool: &Pool,
    participant: ParticipantId,
    answers: &[(Option<Key>, Key, Answer)],
    at: Timestamp,
) -> Result<()> {
    let mut tx = begin_participant_write(pool).await?;
    let sid = writable(&mut tx, participant.0).await?;
    for (segment, question, answer) in answers {
        save_one(
            &mut tx,
            sid,
            participant.0,
            segment.as_ref(),
            question,
            answer,
            at,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Locks the participant (see [`status`]) and returns their study, unless
/// they have submitted (`Locked`); an invited participant becomes started.
async fn writable(conn: &mut Conn, pid: i64) -> Result<i64> {
    let (sid, st) = status(&mut *conn, pid).await?;
    if st == "completed" {
        return Err(StoreError::Locked);
    }
    sqlx::query("UPDATE participants SET status = 'started' WHERE id = $1 AND status = 'invited'")
        .bind(pid)
        .execute(&mut *conn)
        .await?;
    Ok(sid)
}

/// Inserts or updates one answer (participant × segment × question).
async fn save_one(
    conn: &mut Conn,
    sid: i64,
    pid: i64,
    segment: Option<&Key>,
    question: &Key,
    answer: &Answer,
    at: Timestamp,
) -> Result<()> {
    let qid: i64 = sqlx::query_scalar("SELECT id FROM questions WHERE study_id = $1 AND key = $2")
        .bind(sid)
        .bind(question.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| invalid(format!("unknown question `{question}`")))?;
    let seg_id: Option<i64> = match segment {
        Some(k) => Some(
            sqlx::query_scalar("SELECT id FROM segments WHERE study_id = $1 AND key = $2")
                .bind(sid)
                .bind(k.as_str())
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| invalid(format!("unknown segment `{k}`")))?,
        ),
        None => None,
    };
    let updated = sqlx::query(
        "UPDATE responses SET text = $1, value = $2, updated_at = $3 \
         WHERE participant_id = $4 AND COALESCE(segment_id, 0) = COALESCE($5, 0) AND question_id = $6",
    )
    .bind(answer.text())
    .bind(answer.value_string())
    .bind(at.0)
    .bind(pid)
    .bind(seg_id)
    .bind(qid)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        sqlx::query(
            "INSERT INTO responses (study_id, participant_id, segment_id, question_id, text, value, created_at, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$7)",
        )
        .bind(sid)
        .bind(pid)
        .bind(seg_id)
        .bind(qid)
        .bind(answer.text())
        .bind(answer.value_string())
        .bind(at.0)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn submit(pool: &Pool, participant: ParticipantId) -> Result<()> {
    let mut tx = begin_participant_write(pool).await?;
    status(&mut tx, participant.0).await?;
    ensure_progress(&mut tx, participant.0).await?;
    let t = now();
    sqlx::query(
        "UPDATE participant_progress SET step = 'done', submitted_at = COALESCE(submitted_at, $1), updated_at = $1 \
         WHERE participant_id = $2",
    )
    .bind(t)
    .bind(participant.0)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE participants SET status = 'completed' WHERE id = $1")
        .bind(participant.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
