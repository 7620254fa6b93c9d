//! The SQLite store: one study database is one file (WAL mode, foreign keys
//! on, migrations embedded and applied on open).

mod audit;
mod codebook;
mod coding;
mod report;
mod search_coding;
mod training;
mod web;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::str::FromStr;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use rupturelab_core::*;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use crate::coding::*;
use crate::web::*;
use crate::{codec, DbPool, Result, Store, StoreError, StudyId, StudyInfo};

/// A study database in one SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens or creates the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self> {
        let opts = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                source: e,
            })?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                source: e,
            })?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

fn invalid(msg: impl Into<String>) -> StoreError {
    StoreError::Invalid(msg.into())
}

type Tx<'a> = Transaction<'a, Sqlite>;

async fn insert_study(tx: &mut Tx<'_>, s: &StudyData) -> Result<StudyId> {
    let now = Timestamp::now().0;
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
    .bind(now)
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
        web::write_segment_children(tx, id, seg).await?;
    }

    // Participants, their attributes and orders, and responses are written in
    // multi-row statements with ids assigned here: a 100,000-answer study is a
    // few hundred statements instead of a few hundred thousand.
    let mut next_participant = next_id(tx, "participants").await?;
    let mut participant_ids = HashMap::new();
    let mut participant_rows = Vec::with_capacity(s.participants.len());
    let mut attribute_rows = Vec::new();
    let mut order_rows = Vec::new();
    for (i, p) in s.participants.iter().enumerate() {
        let id = next_participant;
        next_participant += 1;
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

    let mut next_response = next_id(tx, "responses").await?;
    let mut response_ids = HashMap::new();
    let mut response_rows = Vec::with_capacity(s.responses.len());
    for r in &s.responses {
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
        let id = next_response;
        next_response += 1;
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
    for c in &s.codings {
        let response = *response_ids
            .get(&c.response)
            .ok_or_else(|| invalid(format!("a coding names unknown response {}", c.response)))?;
        let code = *code_ids
            .get(c.code.as_str())
            .ok_or_else(|| invalid(format!("a coding names unknown code `{}`", c.code)))?;
        coding_rows.push((response, code, coder_ids[c.coder.as_str()], c));
    }
    insert_rows(
        tx,
        "INSERT INTO codings (study_id, response_id, code_id, coder_id, span_start, span_end, memo, created_at) ",
        &coding_rows,
        8,
        |b, (response, code, coder, c)| {
            b.push_bind(study_id)
                .push_bind(*response)
                .push_bind(*code)
                .push_bind(*coder)
                .push_bind(c.span.map(|s| s.start as i64))
                .push_bind(c.span.map(|s| s.end as i64))
                .push_bind(c.memo.clone())
                .push_bind(now);
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

/// The next free row id of a table (ids assigned before multi-row inserts).
async fn next_id(tx: &mut Tx<'_>, table: &str) -> Result<i64> {
    let max: i64 = sqlx::query_scalar(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}"))
        .fetch_one(&mut **tx)
        .await?;
    Ok(max + 1)
}

/// Inserts `rows` with multi-row `VALUES` statements of at most 999 parameters each
/// (SQLite's historical per-statement limit, which every build accepts).
async fn insert_rows<T>(
    tx: &mut Tx<'_>,
    head: &str,
    rows: &[T],
    columns: usize,
    mut bind: impl FnMut(&mut sqlx::query_builder::Separated<'_, '_, Sqlite, &'static str>, &T),
) -> Result<()> {
    let per_statement = (999 / columns.max(1)).max(1);
    for chunk in rows.chunks(per_statement) {
        let mut qb = sqlx::QueryBuilder::<Sqlite>::new(head);
        qb.push_values(chunk, |mut b, row| bind(&mut b, row));
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

async fn insert_audit(tx: &mut Tx<'_>, study_id: i64, a: &AuditEvent) -> Result<()> {
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

fn key(s: String) -> Result<Key> {
    key_str(&s)
}

fn key_str(s: &str) -> Result<Key> {
    Key::parse(s).map_err(|e| invalid(format!("stored key {e}")))
}

async fn load(pool: &SqlitePool, id: StudyId) -> Result<StudyData> {
    let sid = id.0;
    let mut conn = pool.acquire().await?;
    // The design rows are decoded by the same functions the web uses.
    let (meta, settings) = web::study_header(&mut conn, sid).await?;
    let mut s = StudyData::new(meta.key.clone(), &meta.title);
    s.meta = meta;
    s.settings = settings;
    let mut attr_names = HashMap::new();
    for (i, (row_id, a)) in web::attributes(&mut conn, sid)
        .await?
        .into_iter()
        .enumerate()
    {
        attr_names.insert(row_id, i);
        s.attributes.push(a);
    }
    // Question row id → key and kind (how its answers are decoded).
    let mut questions: HashMap<i64, (Key, QuestionKind)> = HashMap::new();
    for (row_id, q) in web::questions(&mut conn, sid).await? {
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
    for (row_id, seg) in web::segments(&mut conn, sid).await? {
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

#[async_trait]
impl Store for SqliteStore {
    async fn list_studies(&self) -> Result<Vec<StudyInfo>> {
        let rows = sqlx::query("SELECT id, key, title, synthetic FROM studies ORDER BY id")
            .fetch_all(&self.pool)
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

    async fn create_study(&self, study: &StudyData) -> Result<StudyId> {
        let mut tx = self.pool.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM studies WHERE key = $1")
            .bind(study.meta.key.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::StudyExists(study.meta.key.to_string()));
        }
        let id = insert_study(&mut tx, study).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn replace_study(&self, study: &StudyData) -> Result<StudyId> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM studies WHERE key = $1")
            .bind(study.meta.key.as_str())
            .execute(&mut *tx)
            .await?;
        let id = insert_study(&mut tx, study).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn load_study(&self, id: StudyId) -> Result<StudyData> {
        load(&self.pool, id).await
    }

    async fn delete_study(&self, id: StudyId) -> Result<()> {
        sqlx::query("DELETE FROM studies WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_audit(&self, id: StudyId, event: &AuditEvent) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_audit(&mut tx, id.0, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    fn pool(&self) -> DbPool {
        DbPool::Sqlite(self.pool.clone())
    }

    async fn create_user(&self, username: &str, role: Role, password_hash: &str) -> Result<UserId> {
        web::create_user(&self.pool, username, role, password_hash).await
    }
    async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        web::user_by_name(&self.pool, username).await
    }
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
        web::user_by_id(&self.pool, id).await
    }
    async fn count_users(&self, role: Role) -> Result<i64> {
        web::count_users(&self.pool, role).await
    }
    async fn set_password(&self, id: UserId, password_hash: &str) -> Result<()> {
        web::set_password(&self.pool, id, password_hash).await
    }
    async fn add_api_token(&self, user: UserId, token_hash: &str, label: &str) -> Result<()> {
        web::add_api_token(&self.pool, user, token_hash, label).await
    }
    async fn user_by_api_token(&self, token_hash: &str) -> Result<Option<User>> {
        web::user_by_api_token(&self.pool, token_hash).await
    }
    async fn study_design(&self, id: StudyId) -> Result<StudyDesign> {
        web::study_design(&self.pool, id).await
    }
    async fn update_settings(
        &self,
        id: StudyId,
        language: Language,
        settings: &Settings,
    ) -> Result<()> {
        web::update_settings(&self.pool, id, language, settings).await
    }
    async fn study_segments(&self, id: StudyId) -> Result<Vec<Segment>> {
        web::study_segments(&self.pool, id).await
    }
    async fn upsert_segment(&self, id: StudyId, segment: &Segment) -> Result<()> {
        web::upsert_segment(&self.pool, id, segment).await
    }
    async fn upsert_question(&self, id: StudyId, question: &Question) -> Result<()> {
        web::upsert_question(&self.pool, id, question).await
    }
    async fn upsert_attribute(&self, id: StudyId, attribute: &AttributeDef) -> Result<()> {
        web::upsert_attribute(&self.pool, id, attribute).await
    }
    async fn reorder(&self, id: StudyId, what: crate::Ordered, keys: &[Key]) -> Result<()> {
        web::reorder(&self.pool, id, what, keys).await
    }
    async fn add_participant(
        &self,
        id: StudyId,
        participant: &Participant,
    ) -> Result<ParticipantId> {
        web::add_participant(&self.pool, id, participant).await
    }
    async fn participant_id(&self, id: StudyId, code: &str) -> Result<Option<ParticipantId>> {
        web::participant_id(&self.pool, id, code).await
    }
    async fn participant_overview(&self, id: StudyId) -> Result<Vec<ParticipantOverview>> {
        web::participant_overview(&self.pool, id).await
    }
    async fn study_progress(&self, id: StudyId) -> Result<StudyProgress> {
        web::study_progress(&self.pool, id).await
    }
    async fn issue_invitation(&self, participant: ParticipantId, token_hash: &str) -> Result<()> {
        web::issue_invitation(&self.pool, participant, token_hash).await
    }
    async fn revoke_invitation(&self, participant: ParticipantId) -> Result<()> {
        web::revoke_invitation(&self.pool, participant).await
    }
    async fn assign_order(
        &self,
        participant: ParticipantId,
        order: &OrderAssignment,
    ) -> Result<()> {
        web::assign_order(&self.pool, participant, order).await
    }
    async fn count_assigned_orders(&self, id: StudyId) -> Result<i64> {
        web::count_assigned_orders(&self.pool, id).await
    }
    async fn participant_by_token(&self, token_hash: &str) -> Result<Option<ParticipantRecord>> {
        web::participant_by_token(&self.pool, token_hash).await
    }
    async fn participant_order(&self, participant: ParticipantId) -> Result<Vec<Key>> {
        web::participant_order(&self.pool, participant).await
    }
    async fn segment(&self, id: StudyId, key: &Key) -> Result<Option<Segment>> {
        web::segment(&self.pool, id, key).await
    }
    async fn participant_attributes(
        &self,
        participant: ParticipantId,
    ) -> Result<BTreeMap<String, AttrValue>> {
        web::participant_attributes(&self.pool, participant).await
    }
    async fn participant_segments(&self, participant: ParticipantId) -> Result<Vec<Segment>> {
        web::participant_segments(&self.pool, participant).await
    }
    async fn participant_responses(&self, participant: ParticipantId) -> Result<Vec<Response>> {
        web::participant_responses(&self.pool, participant).await
    }
    async fn record_consent(
        &self,
        participant: ParticipantId,
        accepted: bool,
        text: &str,
    ) -> Result<()> {
        web::record_consent(&self.pool, participant, accepted, text).await
    }
    async fn set_attributes(
        &self,
        participant: ParticipantId,
        values: &BTreeMap<String, AttrValue>,
    ) -> Result<()> {
        web::set_attributes(&self.pool, participant, values).await
    }
    async fn set_step(&self, participant: ParticipantId, step: &str) -> Result<()> {
        web::set_step(&self.pool, participant, step).await
    }
    async fn save_response(
        &self,
        participant: ParticipantId,
        segment: Option<&Key>,
        question: &Key,
        answer: &Answer,
        at: Timestamp,
    ) -> Result<()> {
        web::save_response(&self.pool, participant, segment, question, answer, at).await
    }
    async fn submit(&self, participant: ParticipantId) -> Result<()> {
        web::submit(&self.pool, participant).await
    }

    // --- coding ---

    async fn coders(&self, id: StudyId) -> Result<Vec<Key>> {
        coding::coders(&self.pool, id).await
    }
    async fn ensure_coder(&self, id: StudyId, name: &Key) -> Result<()> {
        coding::ensure_coder(&self.pool, id, name).await
    }
    async fn coding_target(
        &self,
        id: StudyId,
        response: ResponseId,
    ) -> Result<Option<CodingTarget>> {
        coding::coding_target(&self.pool, id, response).await
    }
    async fn coding_queue(
        &self,
        id: StudyId,
        coder: &Key,
        filter: &QueueFilter,
    ) -> Result<Vec<QueueItem>> {
        coding::coding_queue(&self.pool, id, coder, filter).await
    }
    async fn response_codings(
        &self,
        id: StudyId,
        response: ResponseId,
    ) -> Result<Vec<StoredCoding>> {
        coding::response_codings(&self.pool, id, response).await
    }
    async fn coding(&self, id: StudyId, c: CodingId) -> Result<Option<StoredCoding>> {
        coding::coding(&self.pool, id, c).await
    }
    async fn add_coding(&self, id: StudyId, new: &NewCoding, actor: &str) -> Result<StoredCoding> {
        coding::add_coding(&self.pool, id, new, actor).await
    }
    async fn update_coding(
        &self,
        id: StudyId,
        c: CodingId,
        seen_version: i64,
        change: &CodingChange,
        actor: &str,
    ) -> Result<StoredCoding> {
        coding::update_coding(&self.pool, id, c, seen_version, change, actor).await
    }
    async fn delete_coding(
        &self,
        id: StudyId,
        c: CodingId,
        seen_version: i64,
        actor: &str,
    ) -> Result<StoredCoding> {
        coding::delete_coding(&self.pool, id, c, seen_version, actor).await
    }
    async fn undo_coding(
        &self,
        id: StudyId,
        coder: &Key,
        actor: &str,
    ) -> Result<Option<UndoOutcome>> {
        coding::undo_coding(&self.pool, id, coder, actor).await
    }
    async fn redo_coding(
        &self,
        id: StudyId,
        coder: &Key,
        actor: &str,
    ) -> Result<Option<UndoOutcome>> {
        coding::redo_coding(&self.pool, id, coder, actor).await
    }
    async fn undo_depth(&self, id: StudyId, coder: &Key) -> Result<(i64, i64)> {
        coding::undo_depth(&self.pool, id, coder).await
    }
    async fn set_memo(&self, id: StudyId, on: &MemoOn, author: &str, text: &str) -> Result<()> {
        coding::set_memo(&self.pool, id, on, author, text).await
    }
    async fn memos_on(&self, id: StudyId, on: &MemoOn) -> Result<Vec<StoredMemo>> {
        coding::memos_on(&self.pool, id, on).await
    }
    async fn code_memos(&self, id: StudyId) -> Result<Vec<StoredMemo>> {
        coding::code_memos(&self.pool, id).await
    }
    async fn coding_codebook(&self, id: StudyId) -> Result<Vec<Code>> {
        coding::coding_codebook(&self.pool, id).await
    }
    async fn coding_setup(&self, id: StudyId) -> Result<CodingSetup> {
        coding::coding_setup(&self.pool, id).await
    }
    async fn coding_blind(&self, id: StudyId) -> Result<bool> {
        coding::coding_blind(&self.pool, id).await
    }
    async fn set_blind(&self, id: StudyId, blind: bool, actor: &str) -> Result<()> {
        coding::set_blind(&self.pool, id, blind, actor).await
    }
    async fn set_assignment(
        &self,
        id: StudyId,
        coder: &Key,
        assignment: Assignment,
        actor: &str,
    ) -> Result<i64> {
        coding::set_assignment(&self.pool, id, coder, assignment, actor).await
    }

    // --- codebook ---

    async fn codebook(&self, id: StudyId) -> Result<Vec<crate::StoredCode>> {
        codebook::codebook(&self.pool, id).await
    }
    async fn add_code(
        &self,
        id: StudyId,
        new: &crate::NewCode,
        actor: &str,
    ) -> Result<crate::StoredCode> {
        codebook::add_code(&self.pool, id, new, actor).await
    }
    async fn edit_code(
        &self,
        id: StudyId,
        code: crate::CodeId,
        edit: &crate::CodeEdit,
        actor: &str,
    ) -> Result<crate::StoredCode> {
        codebook::edit_code(&self.pool, id, code, edit, actor).await
    }
    async fn move_code(
        &self,
        id: StudyId,
        code: crate::CodeId,
        to: crate::CodeMove,
        actor: &str,
    ) -> Result<()> {
        codebook::move_code(&self.pool, id, code, to, actor).await
    }
    async fn merge_codes(
        &self,
        id: StudyId,
        from: crate::CodeId,
        into: crate::CodeId,
        actor: &str,
    ) -> Result<crate::MergeOutcome> {
        codebook::merge_codes(&self.pool, id, from, into, actor).await
    }
    async fn delete_impact(&self, id: StudyId, code: crate::CodeId) -> Result<crate::DeleteImpact> {
        codebook::delete_impact(&self.pool, id, code).await
    }
    async fn delete_code(
        &self,
        id: StudyId,
        code: crate::CodeId,
        actor: &str,
    ) -> Result<crate::Deletion> {
        codebook::delete_code(&self.pool, id, code, actor).await
    }
    async fn undo_delete_code(&self, id: StudyId, deletion: i64, actor: &str) -> Result<CodePath> {
        codebook::undo_delete_code(&self.pool, id, deletion, actor).await
    }
    async fn replace_codebook(
        &self,
        id: StudyId,
        codes: &[Code],
        source: &str,
        actor: &str,
    ) -> Result<()> {
        codebook::replace_codebook(&self.pool, id, codes, source, actor).await
    }
    async fn codebook_versions(&self, id: StudyId) -> Result<Vec<crate::CodebookVersion>> {
        codebook::codebook_versions(&self.pool, id).await
    }
    async fn codebook_as_of(&self, id: StudyId, at: Timestamp) -> Result<Option<Vec<Code>>> {
        codebook::codebook_as_of(&self.pool, id, at).await
    }
    async fn save_consensus(
        &self,
        id: StudyId,
        response: &ResponseKey,
        codings: &[crate::ConsensusCoding],
        note: &str,
        actor: &str,
    ) -> Result<()> {
        codebook::save_consensus(&self.pool, id, response, codings, note, actor).await
    }

    // --- training ---
    async fn create_training_module(
        &self,
        study: StudyId,
        module: &crate::training::NewModule,
        actor: &str,
    ) -> Result<crate::training::ModuleId> {
        training::create_module(&self.pool, study, module, actor).await
    }
    async fn training_modules(
        &self,
        study: StudyId,
    ) -> Result<Vec<crate::training::TrainingModule>> {
        training::modules(&self.pool, study).await
    }
    async fn training_module(
        &self,
        id: crate::training::ModuleId,
    ) -> Result<Option<crate::training::TrainingModule>> {
        training::module(&self.pool, id).await
    }
    async fn add_trainee(
        &self,
        module: crate::training::ModuleId,
        code: &str,
        token_hash: &str,
        actor: &str,
    ) -> Result<crate::training::TraineeId> {
        training::add_trainee(&self.pool, module, code, token_hash, actor).await
    }
    async fn trainee_id(
        &self,
        module: crate::training::ModuleId,
        code: &str,
    ) -> Result<Option<crate::training::TraineeId>> {
        training::trainee_id(&self.pool, module, code).await
    }
    async fn set_trainee_link(
        &self,
        trainee: crate::training::TraineeId,
        token_hash: Option<&str>,
        actor: &str,
    ) -> Result<()> {
        training::set_link(&self.pool, trainee, token_hash, actor).await
    }
    async fn trainee_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<crate::training::TraineeRecord>> {
        training::trainee_by_token(&self.pool, token_hash).await
    }
    async fn trainee_overview(
        &self,
        module: crate::training::ModuleId,
    ) -> Result<Vec<crate::training::TraineeOverview>> {
        training::overview(&self.pool, module).await
    }
    async fn save_exercise(
        &self,
        trainee: crate::training::TraineeId,
        exercise: &crate::training::Exercise,
    ) -> Result<()> {
        training::save_exercise(&self.pool, trainee, exercise).await
    }
    async fn trainee_exercises(
        &self,
        trainee: crate::training::TraineeId,
    ) -> Result<Vec<crate::training::Exercise>> {
        training::exercises(&self.pool, trainee).await
    }
    async fn module_exercises(
        &self,
        module: crate::training::ModuleId,
    ) -> Result<Vec<(String, crate::training::Exercise)>> {
        training::module_exercises(&self.pool, module).await
    }

    // --- report ---
    async fn quote_rules(&self, id: StudyId) -> Result<Vec<crate::QuoteRule>> {
        report::quote_rules(&self.pool, id).await
    }
    async fn add_quote_rule(
        &self,
        id: StudyId,
        rule: &crate::QuoteRule,
        actor: &str,
    ) -> Result<bool> {
        report::add_quote_rule(&self.pool, id, rule, actor).await
    }
    async fn remove_quote_rule(
        &self,
        id: StudyId,
        rule: &crate::QuoteRule,
        actor: &str,
    ) -> Result<bool> {
        report::remove_quote_rule(&self.pool, id, rule, actor).await
    }
    async fn clear_quote_rules(&self, id: StudyId, actor: &str) -> Result<u64> {
        report::clear_quote_rules(&self.pool, id, actor).await
    }

    // --- audit (the audit-trail page) and search freshness ---

    async fn audit_page(
        &self,
        id: StudyId,
        filter: &crate::AuditFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<AuditEvent>, i64)> {
        audit::audit_page(&self.pool, id, filter, offset, limit).await
    }
    async fn audit_facets(&self, id: StudyId) -> Result<crate::AuditFacets> {
        audit::audit_facets(&self.pool, id).await
    }
    async fn search_fingerprint(&self, id: StudyId) -> Result<String> {
        audit::search_fingerprint(&self.pool, id).await
    }

    // --- search coding ---

    async fn codable_responses(
        &self,
        id: StudyId,
        coder: &Key,
    ) -> Result<Vec<crate::CodableResponse>> {
        search_coding::codable_responses(&self.pool, id, coder).await
    }
    async fn coder_code_places(
        &self,
        id: StudyId,
        coder: &Key,
        code: &CodePath,
    ) -> Result<Vec<crate::HitCoding>> {
        search_coding::coder_code_places(&self.pool, id, coder, code).await
    }
    async fn add_hit_codings(
        &self,
        id: StudyId,
        coder: &Key,
        code: &CodePath,
        places: &[crate::HitCoding],
        why: &str,
        actor: &str,
    ) -> Result<crate::HitCodingOutcome> {
        search_coding::add_hit_codings(&self.pool, id, coder, code, places, why, actor).await
    }
}
