//! Whole-study SQL shared by both backends: this file is compiled once inside
//! `sqlite` and once inside `postgres` (`#[path]` modules), against the
//! backend's `Db`/`Pool`/`Conn`/`Tx` aliases and its few dialect hooks
//! (`begin_write`, `begin_read`, `reserve_ids`). Statements use `$n`
//! placeholders, which both dialects accept.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use rupturelab_core::*;
use sqlx::Row;

use super::{begin_read, begin_write, invalid, key, Conn, Db, Pool, Tx};
use crate::codec::key_str;
use crate::{codec, Result, StoreError, StudyId, StudyInfo};

pub(super) async fn list_studies(pool: &Pool) -> Result<Vec<StudyInfo>> {
    let rows = sqlx::query("SELECT id, key, title, synthetic FROM studies ORDER BY id")
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| StudyInfo {
            id: StudyId(r.get(0)),
            key: r.get(1),
            title: r.get(2),
            synthetic: r.get(3),
        })
        .collect())
}

/// Whether a study with this key exists (inside a transaction).
pub(super) async fn study_exists(tx: &mut Tx<'_>, key: &str) -> Result<bool> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM studies WHERE key = $1")
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(exists.is_some())
}

pub(super) async fn create_study(pool: &Pool, study: &StudyData) -> Result<StudyId> {
    let mut tx = begin_write(pool).await?;
    if study_exists(&mut tx, study.meta.key.as_str()).await? {
        return Err(StoreError::StudyExists(study.meta.key.to_string()));
    }
    let id = insert_study(&mut tx, study).await?;
    tx.commit().await?;
    Ok(id)
}

pub(super) async fn replace_study(pool: &Pool, study: &StudyData) -> Result<StudyId> {
    let mut tx = begin_write(pool).await?;
    sqlx::query("DELETE FROM studies WHERE key = $1")
        .bind(study.meta.key.as_str())
        .execute(&mut *tx)
        .await?;
    let id = insert_study(&mut tx, study).await?;
    tx.commit().await?;
    Ok(id)
}

pub(super) async fn load(pool: &Pool, id: StudyId) -> Result<StudyData> {
    let mut tx = begin_read(pool).await?;
    let s = load_on(&mut tx, id).await?;
    tx.commit().await?;
    Ok(s)
}

pub(super) async fn delete_study(pool: &Pool, id: StudyId) -> Result<()> {
    sqlx::query("DELETE FROM studies WHERE id = $1")
        .bind(id.0)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn record_audit(pool: &Pool, id: StudyId, event: &AuditEvent) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    insert_audit(&mut tx, id.0, event).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn insert_study(tx: &mut Tx<'_>, s: &StudyData) -> Result<StudyId> {
    insert_study_with(tx, s, None, None).await
}

/// [`insert_study`] keeping the study's creation date and, per coding (in
/// order), its dates and version, as a copy or restore must.
pub(super) async fn insert_study_with(
    tx: &mut Tx<'_>,
    s: &StudyData,
    created_at: Option<i64>,
    coding_meta: Option<&[crate::transfer::CodingMeta]>,
) -> Result<StudyId> {
    let now = Timestamp::now().0;
    if let Some(m) = coding_meta {
        if m.len() != s.codings.len() {
            return Err(invalid(format!(
                "the export has dates for {} codings but the study has {}",
                m.len(),
                s.codings.len()
            )));
        }
    }
    let st = &s.settings;
    let study_id: i64 = sqlx::query_scalar(
        "INSERT INTO studies (key, title, description, language, synthetic, presentation_order, agreement, \
         agreement_threshold, consent_text, welcome_text, thanks_text, created_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id",
    )
    .bind(s.meta.key.as_str())
    .bind(&s.meta.title)
    .bind(&s.meta.description)
    .bind(s.meta.language.as_str())
    .bind(s.meta.synthetic)
    .bind(st.presentation_order.as_str())
    .bind(st.agreement)
    .bind(st.agreement_threshold)
    .bind(&st.consent_text)
    .bind(&st.welcome_text)
    .bind(&st.thanks_text)
    .bind(created_at.unwrap_or(now))
    .fetch_one(&mut **tx)
    .await?;

    let mut attr_ids = HashMap::new();
    for (i, a) in s.attributes.iter().enumerate() {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO attributes (study_id, position, name, label, kind, spec, bands, required) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id",
        )
        .bind(study_id)
        .bind(i as i64)
        .bind(a.name.as_str())
        .bind(&a.label)
        .bind(a.kind.name())
        .bind(codec::attribute_spec(&a.kind))
        .bind(codec::bands(&a.bands))
        .bind(a.required)
        .fetch_one(&mut **tx)
        .await?;
        attr_ids.insert(a.name.as_str(), id);
    }

    let mut question_ids = HashMap::new();
    for (i, q) in s.questions.iter().enumerate() {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO questions (study_id, position, key, kind, scope, prompt, spec) \
             VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
        )
        .bind(study_id)
        .bind(i as i64)
        .bind(q.key.as_str())
        .bind(q.kind.name())
        .bind(q.scope.as_str())
        .bind(&q.prompt)
        .bind(codec::question_spec(&q.kind))
        .fetch_one(&mut **tx)
        .await?;
        question_ids.insert(q.key.as_str(), id);
    }

    let mut patient_ids = HashMap::new();
    for (i, p) in s.patients.iter().enumerate() {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO patients (study_id, position, key, description) VALUES ($1,$2,$3,$4) RETURNING id",
        )
        .bind(study_id)
        .bind(i as i64)
        .bind(p.key.as_str())
        .bind(&p.description)
        .fetch_one(&mut **tx)
        .await?;
        patient_ids.insert(p.key.as_str(), id);
    }

    let mut segment_ids = HashMap::new();
    for (i, seg) in s.segments.iter().enumerate() {
        let patient = *patient_ids.get(seg.patient.as_str()).ok_or_else(|| {
            invalid(format!(
                "segment `{}` names unknown patient `{}`",
                seg.key, seg.patient
            ))
        })?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO segments (study_id, position, key, label, patient_id, session, rupture, media_ref, \
             media_start_ms, media_end_ms, notes) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id",
        )
        .bind(study_id)
        .bind(i as i64)
        .bind(seg.key.as_str())
        .bind(&seg.label)
        .bind(patient)
        .bind(seg.session.map(i64::from))
        .bind(seg.rupture.as_str())
        .bind(seg.media.as_ref().map(|m| m.reference.as_str()))
        .bind(seg.media.as_ref().and_then(|m| m.start_ms))
        .bind(seg.media.as_ref().and_then(|m| m.end_ms))
        .bind(&seg.notes)
        .fetch_one(&mut **tx)
        .await?;
        segment_ids.insert(seg.key.as_str(), id);
        super::web::write_segment_children(tx, id, seg).await?;
    }

    // Participants, their attributes and orders, and responses are written in
    // multi-row statements with ids assigned here: a 100,000-answer study is a
    // few hundred statements instead of a few hundred thousand.
    let reserved = super::reserve_ids(tx, "participants", s.participants.len()).await?;
    let mut participant_ids = HashMap::new();
    let mut participant_rows = Vec::with_capacity(s.participants.len());
    let mut attribute_rows = Vec::new();
    let mut order_rows = Vec::new();
    for (i, p) in s.participants.iter().enumerate() {
        let id = reserved[i];
        participant_ids.insert(p.code.as_str(), id);
        participant_rows.push((id, i as i64, p.code.as_str(), p.status.as_str()));
        for (name, v) in &p.attributes {
            let attr = *attr_ids.get(name.as_str()).ok_or_else(|| {
                invalid(format!(
                    "participant `{}` has a value for unknown attribute `{name}`",
                    p.code
                ))
            })?;
            attribute_rows.push((id, attr, v.to_string()));
        }
        for (j, seg) in p.order.iter().enumerate() {
            let seg_id = *segment_ids.get(seg.as_str()).ok_or_else(|| {
                invalid(format!(
                    "participant `{}` has unknown segment `{seg}` in their order",
                    p.code
                ))
            })?;
            order_rows.push((id, j as i64, seg_id));
        }
    }
    insert_rows(
        tx,
        "INSERT INTO participants (id, study_id, position, code, status) ",
        &participant_rows,
        4,
        |b, r| {
            b.push_bind(r.0)
                .push_bind(study_id)
                .push_bind(r.1)
                .push_bind(r.2.to_string())
                .push_bind(r.3.to_string());
        },
    )
    .await?;
    insert_rows(
        tx,
        "INSERT INTO participant_attributes (participant_id, attribute_id, value) ",
        &attribute_rows,
        3,
        |b, r| {
            b.push_bind(r.0).push_bind(r.1).push_bind(r.2.clone());
        },
    )
    .await?;
    insert_rows(
        tx,
        "INSERT INTO presentation_orders (participant_id, position, segment_id) ",
        &order_rows,
        3,
        |b, r| {
            b.push_bind(r.0).push_bind(r.1).push_bind(r.2);
        },
    )
    .await?;

    let reserved = super::reserve_ids(tx, "responses", s.responses.len()).await?;
    let mut response_ids = HashMap::new();
    let mut response_rows = Vec::with_capacity(s.responses.len());
    for (i, r) in s.responses.iter().enumerate() {
        let k = &r.key;
        let participant = *participant_ids
            .get(k.participant.as_str())
            .ok_or_else(|| invalid(format!("response {k} names an unknown participant")))?;
        let segment = match &k.segment {
            Some(seg) => Some(
                *segment_ids
                    .get(seg.as_str())
                    .ok_or_else(|| invalid(format!("response {k} names an unknown segment")))?,
            ),
            None => None,
        };
        let question = *question_ids
            .get(k.question.as_str())
            .ok_or_else(|| invalid(format!("response {k} names an unknown question")))?;
        let id = reserved[i];
        response_ids.insert(k, id);
        response_rows.push((id, participant, segment, question, r));
    }
    insert_rows(
        tx,
        "INSERT INTO responses (id, study_id, participant_id, segment_id, question_id, text, value, created_at, updated_at) ",
        &response_rows,
        9,
        |b, (id, participant, segment, question, r)| {
            b.push_bind(*id)
                .push_bind(study_id)
                .push_bind(*participant)
                .push_bind(*segment)
                .push_bind(*question)
                .push_bind(r.answer.text().map(str::to_string))
                .push_bind(r.answer.value_string())
                .push_bind(r.created_at.map(|t| t.0))
                .push_bind(r.updated_at.map(|t| t.0));
        },
    )
    .await?;

    let mut code_ids: HashMap<&str, i64> = HashMap::new();
    for (i, c) in s.codes.iter().enumerate() {
        let parent =
            match c.path.parent() {
                Some(p) => Some(*code_ids.get(p.as_str()).ok_or_else(|| {
                    invalid(format!("code `{}` comes before its parent", c.path))
                })?),
                None => None,
            };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO codes (study_id, parent_id, position, path, name, codable, definition, inclusion, exclusion, example, colour) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id",
        )
        .bind(study_id)
        .bind(parent)
        .bind(i as i64)
        .bind(c.path.as_str())
        .bind(&c.name)
        .bind(c.codable)
        .bind(&c.definition)
        .bind(&c.inclusion)
        .bind(&c.exclusion)
        .bind(&c.example)
        .bind(&c.colour)
        .fetch_one(&mut **tx)
        .await?;
        code_ids.insert(c.path.as_str(), id);
    }

    let mut coder_ids: HashMap<&str, i64> = HashMap::new();
    let coder_names = s
        .coders
        .iter()
        .map(|c| c.name.as_str())
        .chain(s.codings.iter().map(|c| c.coder.as_str()));
    for name in coder_names {
        if coder_ids.contains_key(name) {
            continue;
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO coders (study_id, position, name) VALUES ($1,$2,$3) RETURNING id",
        )
        .bind(study_id)
        .bind(coder_ids.len() as i64)
        .bind(name)
        .fetch_one(&mut **tx)
        .await?;
        coder_ids.insert(name, id);
    }

    let mut coding_rows = Vec::with_capacity(s.codings.len());
    for (i, c) in s.codings.iter().enumerate() {
        let response = *response_ids
            .get(&c.response)
            .ok_or_else(|| invalid(format!("a coding names unknown response {}", c.response)))?;
        let code = *code_ids
            .get(c.code.as_str())
            .ok_or_else(|| invalid(format!("a coding names unknown code `{}`", c.code)))?;
        let meta = coding_meta.map(|m| &m[i]);
        coding_rows.push((response, code, coder_ids[c.coder.as_str()], c, meta));
    }
    insert_rows(
        tx,
        "INSERT INTO codings (study_id, response_id, code_id, coder_id, span_start, span_end, memo, created_at, updated_at, version) ",
        &coding_rows,
        10,
        |b, (response, code, coder, c, meta)| {
            b.push_bind(study_id)
                .push_bind(*response)
                .push_bind(*code)
                .push_bind(*coder)
                .push_bind(c.span.map(|s| s.start as i64))
                .push_bind(c.span.map(|s| s.end as i64))
                .push_bind(c.memo.clone())
                .push_bind(meta.map_or(now, |m| m.created_at))
                .push_bind(meta.and_then(|m| m.updated_at))
                .push_bind(meta.map_or(1, |m| m.version));
        },
    )
    .await?;

    for m in &s.memos {
        let (kind, response, code) = match &m.target {
            MemoTarget::Study => ("study", None, None),
            MemoTarget::Response(k) => (
                "response",
                Some(
                    *response_ids
                        .get(k)
                        .ok_or_else(|| invalid(format!("a memo names unknown response {k}")))?,
                ),
                None,
            ),
            MemoTarget::Code(p) => (
                "code",
                None,
                Some(
                    *code_ids
                        .get(p.as_str())
                        .ok_or_else(|| invalid(format!("a memo names unknown code `{p}`")))?,
                ),
            ),
        };
        sqlx::query(
            "INSERT INTO memos (study_id, author, target_kind, response_id, code_id, text, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(study_id)
        .bind(&m.author)
        .bind(kind)
        .bind(response)
        .bind(code)
        .bind(&m.text)
        .bind(m.created_at.map(|t| t.0))
        .execute(&mut **tx)
        .await?;
    }

    for a in &s.audit {
        insert_audit(tx, study_id, a).await?;
    }
    Ok(StudyId(study_id))
}

/// Inserts `rows` with multi-row `VALUES` statements of at most 999 parameters each
/// (SQLite's historical per-statement limit, which every build accepts;
/// PostgreSQL allows 65,535).
pub(super) async fn insert_rows<T>(
    tx: &mut Tx<'_>,
    head: &str,
    rows: &[T],
    columns: usize,
    mut bind: impl FnMut(&mut sqlx::query_builder::Separated<'_, '_, Db, &'static str>, &T),
) -> Result<()> {
    let per_statement = (999 / columns.max(1)).max(1);
    for chunk in rows.chunks(per_statement) {
        let mut qb = sqlx::QueryBuilder::<Db>::new(head);
        qb.push_values(chunk, |mut b, row| bind(&mut b, row));
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

pub(super) async fn insert_audit(tx: &mut Tx<'_>, study_id: i64, a: &AuditEvent) -> Result<()> {
    sqlx::query("INSERT INTO audit_events (study_id, at, actor, action, entity, detail) VALUES ($1,$2,$3,$4,$5,$6)")
        .bind(study_id)
        .bind(a.at.0)
        .bind(&a.actor)
        .bind(&a.action)
        .bind(&a.entity)
        .bind(&a.detail)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Reads a whole study on `conn` (inside the caller's read transaction, so
/// that every table comes from the same snapshot).
pub(super) async fn load_on(conn: &mut Conn, id: StudyId) -> Result<StudyData> {
    let sid = id.0;
    // The design rows are decoded by the same functions the web uses.
    let (meta, settings) = super::web::study_header(&mut *conn, sid).await?;
    let mut s = StudyData::new(meta.key.clone(), &meta.title);
    s.meta = meta;
    s.settings = settings;
    let mut attr_names = HashMap::new();
    for (i, (row_id, a)) in super::web::attributes(&mut *conn, sid)
        .await?
        .into_iter()
        .enumerate()
    {
        attr_names.insert(row_id, i);
        s.attributes.push(a);
    }
    // Question row id → key and kind (how its answers are decoded).
    let mut questions: HashMap<i64, (Key, QuestionKind)> = HashMap::new();
    for (row_id, q) in super::web::questions(&mut *conn, sid).await? {
        questions.insert(row_id, (q.key.clone(), q.kind.clone()));
        s.questions.push(q);
    }
    for r in
        sqlx::query("SELECT key, description FROM patients WHERE study_id = $1 ORDER BY position")
            .bind(sid)
            .fetch_all(&mut *conn)
            .await?
    {
        s.patients.push(Patient {
            key: key(r.get(0))?,
            description: r.get(1),
        });
    }
    let mut segment_keys = HashMap::new();
    for (row_id, seg) in super::web::segments(&mut *conn, sid).await? {
        segment_keys.insert(row_id, seg.key.clone());
        s.segments.push(seg);
    }

    // The large tables are read as streams (a row is decoded and dropped, not
    // collected first), and rows refer to earlier ones by index: keys are
    // shared (`Arc<str>`), so naming a participant, segment, question, coder
    // or code in 500,000 codings costs reference counts, not allocations.
    let mut participant_index: HashMap<i64, usize> = HashMap::new();
    {
        let mut rows = sqlx::query(
            "SELECT id, code, status FROM participants WHERE study_id = $1 ORDER BY position",
        )
        .bind(sid)
        .fetch(&mut *conn);
        while let Some(r) = rows.try_next().await? {
            participant_index.insert(r.get(0), s.participants.len());
            s.participants.push(Participant {
                code: key_str(r.get(1))?,
                status: ParticipantStatus::parse(r.get::<&str, _>(2)).map_err(invalid)?,
                order: Vec::new(),
                attributes: Default::default(),
            });
        }
    }
    let participant_at = |id: i64| {
        participant_index
            .get(&id)
            .copied()
            .ok_or_else(|| invalid(format!("a row names unknown participant id {id}")))
    };
    {
        let mut rows = sqlx::query(
            "SELECT pa.participant_id, pa.attribute_id, pa.value FROM participant_attributes pa \
             JOIN participants p ON p.id = pa.participant_id WHERE p.study_id = $1",
        )
        .bind(sid)
        .fetch(&mut *conn);
        while let Some(r) = rows.try_next().await? {
            let def = &s.attributes[attr_names[&r.get::<i64, _>(1)]];
            let value = def.parse_value(r.get::<&str, _>(2)).map_err(invalid)?;
            let name = def.name.to_string();
            s.participants[participant_at(r.get(0))?]
                .attributes
                .insert(name, value);
        }
    }
    {
        let mut rows = sqlx::query(
            "SELECT o.participant_id, o.segment_id FROM presentation_orders o JOIN participants p ON p.id = o.participant_id \
             WHERE p.study_id = $1 ORDER BY o.participant_id, o.position",
        )
        .bind(sid)
        .fetch(&mut *conn);
        while let Some(r) = rows.try_next().await? {
            let seg = segment_keys[&r.get::<i64, _>(1)].clone();
            s.participants[participant_at(r.get(0))?].order.push(seg);
        }
    }

    let n_responses: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM responses WHERE study_id = $1")
        .bind(sid)
        .fetch_one(&mut *conn)
        .await?;
    s.responses.reserve(n_responses.max(0) as usize);
    let mut response_index: HashMap<i64, usize> =
        HashMap::with_capacity(n_responses.max(0) as usize);
    {
        let mut rows = sqlx::query(
            "SELECT id, participant_id, segment_id, question_id, text, value, created_at, updated_at FROM responses \
             WHERE study_id = $1 ORDER BY id",
        )
        .bind(sid)
        .fetch(&mut *conn);
        while let Some(r) = rows.try_next().await? {
            let (question, kind) = &questions[&r.get::<i64, _>(3)];
            let k = ResponseKey {
                participant: s.participants[participant_at(r.get(1))?].code.clone(),
                segment: r
                    .get::<Option<i64>, _>(2)
                    .map(|id| segment_keys[&id].clone()),
                question: question.clone(),
            };
            let answer = match kind {
                QuestionKind::Open => {
                    Answer::Text(r.get::<Option<String>, _>(4).unwrap_or_default())
                }
                QuestionKind::Likert { .. } => Answer::Rating(
                    r.get::<Option<&str>, _>(5)
                        .and_then(|v| v.parse().ok())
                        .ok_or_else(|| invalid(format!("response {k} has no rating")))?,
                ),
                QuestionKind::Choice { .. } => {
                    Answer::Choice(r.get::<Option<String>, _>(5).unwrap_or_default())
                }
            };
            response_index.insert(r.get(0), s.responses.len());
            s.responses.push(Response {
                key: k,
                answer,
                created_at: r.get::<Option<i64>, _>(6).map(Timestamp),
                updated_at: r.get::<Option<i64>, _>(7).map(Timestamp),
            });
        }
    }
    let response_at = |id: i64| {
        response_index
            .get(&id)
            .copied()
            .ok_or_else(|| invalid(format!("a row names unknown response id {id}")))
    };

    let mut code_paths = HashMap::new();
    for r in sqlx::query(
        "SELECT id, path, name, codable, definition, inclusion, exclusion, example, colour FROM codes \
         WHERE study_id = $1 ORDER BY position",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        let path = CodePath::parse(r.get::<&str, _>(1)).map_err(invalid)?;
        code_paths.insert(r.get::<i64, _>(0), path.clone());
        s.codes.push(Code {
            path,
            name: r.get(2),
            codable: r.get(3),
            definition: r.get(4),
            inclusion: r.get(5),
            exclusion: r.get(6),
            example: r.get(7),
            colour: r.get(8),
        });
    }

    let mut coder_names = HashMap::new();
    for r in sqlx::query("SELECT id, name FROM coders WHERE study_id = $1 ORDER BY position")
        .bind(sid)
        .fetch_all(&mut *conn)
        .await?
    {
        let k = key(r.get(1))?;
        coder_names.insert(r.get::<i64, _>(0), k.clone());
        s.coders.push(Coder { name: k });
    }

    let n_codings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM codings WHERE study_id = $1")
        .bind(sid)
        .fetch_one(&mut *conn)
        .await?;
    s.codings.reserve(n_codings.max(0) as usize);
    {
        let mut rows = sqlx::query(
            "SELECT response_id, code_id, coder_id, span_start, span_end, memo FROM codings WHERE study_id = $1 ORDER BY id",
        )
        .bind(sid)
        .fetch(&mut *conn);
        while let Some(r) = rows.try_next().await? {
            let span = match (r.get::<Option<i64>, _>(3), r.get::<Option<i64>, _>(4)) {
                (Some(a), Some(b)) => Some(Span {
                    start: a as usize,
                    end: b as usize,
                }),
                _ => None,
            };
            s.codings.push(Coding {
                coder: coder_names[&r.get::<i64, _>(2)].clone(),
                response: s.responses[response_at(r.get(0))?].key.clone(),
                code: code_paths[&r.get::<i64, _>(1)].clone(),
                span,
                memo: r.get(5),
            });
        }
    }

    for r in sqlx::query(
        "SELECT author, target_kind, response_id, code_id, text, created_at FROM memos WHERE study_id = $1 ORDER BY id",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        let target = match r.get::<&str, _>(1) {
            "response" => MemoTarget::Response(s.responses[response_at(r.get(2))?].key.clone()),
            "code" => MemoTarget::Code(code_paths[&r.get::<i64, _>(3)].clone()),
            _ => MemoTarget::Study,
        };
        s.memos.push(Memo { author: r.get(0), target, text: r.get(4), created_at: r.get::<Option<i64>, _>(5).map(Timestamp) });
    }

    for r in sqlx::query("SELECT at, actor, action, entity, detail FROM audit_events WHERE study_id = $1 ORDER BY id")
        .bind(sid)
        .fetch_all(&mut *conn)
        .await?
    {
        s.audit.push(AuditEvent { at: Timestamp(r.get(0)), actor: r.get(1), action: r.get(2), entity: r.get(3), detail: r.get(4) });
    }
    Ok(s)
}
