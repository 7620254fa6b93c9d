//! Training mode's store calls (migration `0006_training.sql`), in SQL
//! shared by both backends (compiled once inside `sqlite` and once inside
//! `postgres`, like `web.rs`): modules, trainees and their links,
//! exercises. Lists and maps are stored as JSON text.

use std::collections::BTreeMap;

use rupturelab_core::training::{Focus, PromptKind};
use rupturelab_core::{Answer, AuditEvent, CodePath, Key, Timestamp};
use serde_json::{json, Value};
use sqlx::Row;

use super::study::insert_audit;
use super::{begin_write, invalid, key, Conn, DbRow, Pool, FOR_UPDATE};
use crate::training::*;
use crate::{Result, StoreError, StudyId};

fn now() -> i64 {
    Timestamp::now().0
}

fn audit(actor: &str, action: &str, entity: String, detail: String) -> AuditEvent {
    AuditEvent {
        at: Timestamp::now(),
        actor: actor.to_string(),
        action: action.to_string(),
        entity,
        detail,
    }
}

fn keys_json(keys: &[Key]) -> String {
    Value::from(keys.iter().map(|k| k.as_str()).collect::<Vec<_>>()).to_string()
}

fn keys_from(text: &str, what: &str) -> Result<Vec<Key>> {
    let v: Vec<String> =
        serde_json::from_str(text).map_err(|e| invalid(format!("stored {what}: {e}")))?;
    v.into_iter().map(key).collect()
}

fn feedback_json(f: &FeedbackOptions) -> String {
    json!({
        "model_codes": f.model_codes,
        "panel": f.panel,
        "by_orientation": f.by_orientation,
        "quotes": f.quotes,
        "prompt": f.prompt,
    })
    .to_string()
}

fn feedback_from(text: &str) -> Result<FeedbackOptions> {
    let v: BTreeMap<String, bool> =
        serde_json::from_str(text).map_err(|e| invalid(format!("stored feedback options: {e}")))?;
    let get = |k: &str| v.get(k).copied().unwrap_or(true);
    Ok(FeedbackOptions {
        model_codes: get("model_codes"),
        panel: get("panel"),
        by_orientation: get("by_orientation"),
        quotes: get("quotes"),
        prompt: get("prompt"),
    })
}

fn module_from_row(r: &DbRow) -> Result<TrainingModule> {
    let prompts: BTreeMap<String, String> = serde_json::from_str(r.get::<&str, _>(6))
        .map_err(|e| invalid(format!("stored prompts: {e}")))?;
    Ok(TrainingModule {
        id: ModuleId(r.get(0)),
        study_id: StudyId(r.get(1)),
        spec: NewModule {
            title: r.get(2),
            segments: keys_from(r.get(3), "module segments")?,
            questions: keys_from(r.get(4), "module questions")?,
            feedback: feedback_from(r.get(5))?,
            prompts: prompts
                .into_iter()
                .filter_map(|(k, v)| PromptKind::parse(&k).map(|p| (p, v)))
                .collect(),
        },
        created_at: Timestamp(r.get(7)),
    })
}

const MODULE_COLS: &str =
    "id, study_id, title, segments, questions, feedback, prompts, created_at FROM training_modules";

pub(super) async fn create_module(
    pool: &Pool,
    study: StudyId,
    m: &NewModule,
    actor: &str,
) -> Result<ModuleId> {
    let mut tx = begin_write(pool).await?;
    let prompts: BTreeMap<&str, &str> = m
        .prompts
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO training_modules (study_id, title, segments, questions, feedback, prompts, created_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
    )
    .bind(study.0)
    .bind(&m.title)
    .bind(keys_json(&m.segments))
    .bind(keys_json(&m.questions))
    .bind(feedback_json(&m.feedback))
    .bind(serde_json::to_string(&prompts).map_err(|e| invalid(e.to_string()))?)
    .bind(now())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
            StoreError::NoSuchStudy(study.0.to_string())
        }
        e => e.into(),
    })?;
    insert_audit(
        &mut tx,
        study.0,
        &audit(
            actor,
            "training.module.add",
            format!("training module {id}"),
            format!(
                "∅ → \"{}\" (segments {}; questions {})",
                m.title,
                m.segments
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                m.questions
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(ModuleId(id))
}

pub(super) async fn modules(pool: &Pool, study: StudyId) -> Result<Vec<TrainingModule>> {
    sqlx::query(&format!(
        "SELECT {MODULE_COLS} WHERE study_id = $1 ORDER BY id"
    ))
    .bind(study.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(module_from_row)
    .collect()
}

pub(super) async fn module(pool: &Pool, id: ModuleId) -> Result<Option<TrainingModule>> {
    sqlx::query(&format!("SELECT {MODULE_COLS} WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(module_from_row)
        .transpose()
}

async fn study_of_module(conn: &mut Conn, module: i64) -> Result<i64> {
    sqlx::query_scalar("SELECT study_id FROM training_modules WHERE id = $1")
        .bind(module)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| invalid(format!("no training module {module}")))
}

pub(super) async fn add_trainee(
    pool: &Pool,
    module: ModuleId,
    code: &str,
    hash: &str,
    actor: &str,
) -> Result<TraineeId> {
    let mut tx = begin_write(pool).await?;
    let study = study_of_module(&mut tx, module.0).await?;
    let t = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO trainees (module_id, code, created_at) VALUES ($1,$2,$3) RETURNING id",
    )
    .bind(module.0)
    .bind(code)
    .bind(t)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => invalid(format!(
            "a trainee with code `{code}` already exists in this module; choose another code"
        )),
        e => e.into(),
    })?;
    sqlx::query("INSERT INTO trainee_links (trainee_id, token_hash, created_at) VALUES ($1,$2,$3)")
        .bind(id)
        .bind(hash)
        .bind(t)
        .execute(&mut *tx)
        .await?;
    insert_audit(
        &mut tx,
        study,
        &audit(
            actor,
            "training.trainee.add",
            format!("training module {} trainee {code}", module.0),
            format!("∅ → {code} (link issued)"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(TraineeId(id))
}

pub(super) async fn trainee_id(
    pool: &Pool,
    module: ModuleId,
    code: &str,
) -> Result<Option<TraineeId>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM trainees WHERE module_id = $1 AND code = $2")
            .bind(module.0)
            .bind(code)
            .fetch_optional(pool)
            .await?
            .map(TraineeId),
    )
}

pub(super) async fn set_link(
    pool: &Pool,
    trainee: TraineeId,
    hash: Option<&str>,
    actor: &str,
) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    // Locks the trainee, so two link changes for one trainee run one after
    // the other and never leave two active links.
    let row = sqlx::query(&format!(
        "SELECT t.code, t.module_id, m.study_id FROM trainees t \
         JOIN training_modules m ON m.id = t.module_id WHERE t.id = $1{FOR_UPDATE}"
    ))
    .bind(trainee.0)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| invalid(format!("no trainee {}", trainee.0)))?;
    let (code, module, study): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
    let t = now();
    let revoked = sqlx::query(
        "UPDATE trainee_links SET revoked_at = $1 WHERE trainee_id = $2 AND revoked_at IS NULL",
    )
    .bind(t)
    .bind(trainee.0)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if let Some(h) = hash {
        sqlx::query(
            "INSERT INTO trainee_links (trainee_id, token_hash, created_at) VALUES ($1,$2,$3)",
        )
        .bind(trainee.0)
        .bind(h)
        .bind(t)
        .execute(&mut *tx)
        .await?;
    }
    let before = if revoked > 0 {
        "active link"
    } else {
        "no link"
    };
    let (action, after) = match hash {
        Some(_) => ("training.link.issue", "new link"),
        None => ("training.link.revoke", "no link"),
    };
    insert_audit(
        &mut tx,
        study,
        &audit(
            actor,
            action,
            format!("training module {module} trainee {code}"),
            format!("{before} → {after}"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The columns of a [`TraineeRecord`], from `trainees t` joined to
/// `training_modules m`.
const TRAINEE_COLS: &str = "t.id, t.module_id, m.study_id, t.code, t.account_id";

fn trainee_from_row(r: &DbRow) -> TraineeRecord {
    TraineeRecord {
        id: TraineeId(r.get(0)),
        module_id: ModuleId(r.get(1)),
        study_id: StudyId(r.get(2)),
        code: r.get(3),
        account: r.get::<Option<i64>, _>(4).map(TraineeAccountId),
    }
}

pub(super) async fn trainee_by_token(pool: &Pool, hash: &str) -> Result<Option<TraineeRecord>> {
    Ok(sqlx::query(&format!(
        "SELECT {TRAINEE_COLS} FROM trainee_links l \
         JOIN trainees t ON t.id = l.trainee_id JOIN training_modules m ON m.id = t.module_id \
         WHERE l.token_hash = $1 AND l.revoked_at IS NULL"
    ))
    .bind(hash)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(trainee_from_row))
}

pub(super) async fn trainee(pool: &Pool, id: TraineeId) -> Result<Option<TraineeRecord>> {
    Ok(sqlx::query(&format!(
        "SELECT {TRAINEE_COLS} FROM trainees t \
         JOIN training_modules m ON m.id = t.module_id WHERE t.id = $1"
    ))
    .bind(id.0)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(trainee_from_row))
}

pub(super) async fn enrolments(
    pool: &Pool,
    account: TraineeAccountId,
) -> Result<Vec<TraineeRecord>> {
    Ok(sqlx::query(&format!(
        "SELECT {TRAINEE_COLS} FROM trainees t \
         JOIN training_modules m ON m.id = t.module_id WHERE t.account_id = $1 ORDER BY t.id"
    ))
    .bind(account.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(trainee_from_row)
    .collect())
}

fn account_from_row(r: &DbRow) -> TraineeAccount {
    TraineeAccount {
        id: TraineeAccountId(r.get(0)),
        username: r.get(1),
        password_hash: r.get(2),
    }
}

pub(super) async fn account_by_name(pool: &Pool, username: &str) -> Result<Option<TraineeAccount>> {
    Ok(
        sqlx::query("SELECT id, username, password_hash FROM trainee_accounts WHERE username = $1")
            .bind(username)
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(account_from_row),
    )
}

pub(super) async fn account(pool: &Pool, id: TraineeAccountId) -> Result<Option<TraineeAccount>> {
    Ok(
        sqlx::query("SELECT id, username, password_hash FROM trainee_accounts WHERE id = $1")
            .bind(id.0)
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(account_from_row),
    )
}

pub(super) async fn set_password(pool: &Pool, id: TraineeAccountId, hash: &str) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let n = sqlx::query("UPDATE trainee_accounts SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(StoreError::NotFound(format!("trainee account {}", id.0)));
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn enrol_account(
    pool: &Pool,
    module: ModuleId,
    username: &str,
    new_hash: &str,
    actor: &str,
) -> Result<Enrolment> {
    let mut tx = begin_write(pool).await?;
    let study = study_of_module(&mut tx, module.0).await?;
    let t = now();
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM trainee_accounts WHERE username = $1")
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?;
    let (account, created) = match existing {
        Some(id) => (id, false),
        None => (
            sqlx::query_scalar(
                "INSERT INTO trainee_accounts (username, password_hash, created_at) \
                 VALUES ($1,$2,$3) RETURNING id",
            )
            .bind(username)
            .bind(new_hash)
            .bind(t)
            .fetch_one(&mut *tx)
            .await?,
            true,
        ),
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO trainees (module_id, code, created_at, account_id) \
         VALUES ($1,$2,$3,$4) RETURNING id",
    )
    .bind(module.0)
    .bind(username)
    .bind(t)
    .bind(account)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => invalid(format!(
            "a trainee with code `{username}` already exists in this module; \
             choose another account name"
        )),
        e => e.into(),
    })?;
    let how = if created {
        "account created"
    } else {
        "existing account"
    };
    insert_audit(
        &mut tx,
        study,
        &audit(
            actor,
            "training.trainee.enrol",
            format!("training module {} trainee {username}", module.0),
            format!("∅ → {username} ({how})"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Enrolment {
        trainee: TraineeId(id),
        account: TraineeAccountId(account),
        created,
    })
}

pub(super) async fn overview(pool: &Pool, module: ModuleId) -> Result<Vec<TraineeOverview>> {
    Ok(sqlx::query(
        "SELECT t.id, t.code, \
           EXISTS (SELECT 1 FROM trainee_links l WHERE l.trainee_id = t.id AND l.revoked_at IS NULL), \
           (SELECT COUNT(*) FROM trainee_links l WHERE l.trainee_id = t.id), \
           (SELECT COUNT(*) FROM trainee_exercises e WHERE e.trainee_id = t.id), \
           t.account_id IS NOT NULL \
         FROM trainees t WHERE t.module_id = $1 ORDER BY t.code",
    )
    .bind(module.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| TraineeOverview {
        id: TraineeId(r.get(0)),
        code: r.get(1),
        active_link: r.get(2),
        links_issued: r.get(3),
        exercises: r.get(4),
        account: r.get(5),
    })
    .collect())
}

fn answers_json(answers: &[ExerciseAnswer]) -> String {
    Value::from(
        answers
            .iter()
            .map(|a| {
                let (kind, value) = match &a.answer {
                    Answer::Text(t) => ("text", json!(t)),
                    Answer::Rating(r) => ("rating", json!(r)),
                    Answer::Choice(c) => ("choice", json!(c)),
                };
                json!({
                    "question": a.question.as_str(),
                    "kind": kind,
                    "value": value,
                    "auto": a.auto_codes.iter().map(|c| json!({
                        "code": c.code.as_str(),
                        "confidence": c.confidence,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect::<Vec<_>>(),
    )
    .to_string()
}

fn answers_from(text: &str) -> Result<Vec<ExerciseAnswer>> {
    let bad = |what: &str| invalid(format!("stored exercise answers: {what}"));
    let v: Vec<Value> = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    v.iter()
        .map(|a| {
            let question = key(a["question"]
                .as_str()
                .ok_or_else(|| bad("question"))?
                .into())?;
            let answer = match (a["kind"].as_str(), &a["value"]) {
                (Some("text"), Value::String(t)) => Answer::Text(t.clone()),
                (Some("rating"), Value::Number(n)) => {
                    Answer::Rating(n.as_i64().ok_or_else(|| bad("rating"))?)
                }
                (Some("choice"), Value::String(c)) => Answer::Choice(c.clone()),
                _ => return Err(bad("answer kind")),
            };
            let auto_codes = a["auto"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .map(|c| {
                            Ok(AutoCode {
                                code: CodePath::parse(c["code"].as_str().unwrap_or_default())
                                    .map_err(|e| bad(&e))?,
                                confidence: c["confidence"].as_f64().unwrap_or(0.0),
                            })
                        })
                        .collect::<Result<Vec<_>>>()
                })
                .transpose()?
                .unwrap_or_default();
            Ok(ExerciseAnswer {
                question,
                answer,
                auto_codes,
            })
        })
        .collect()
}

fn marks_json(marks: &[Focus]) -> String {
    Value::from(marks.iter().map(|f| f.as_str()).collect::<Vec<_>>()).to_string()
}

fn marks_from(text: &str) -> Result<Vec<Focus>> {
    let v: Vec<String> =
        serde_json::from_str(text).map_err(|e| invalid(format!("stored marks: {e}")))?;
    Ok(v.iter().filter_map(|m| Focus::parse(m)).collect())
}

pub(super) async fn save_exercise(pool: &Pool, trainee: TraineeId, e: &Exercise) -> Result<()> {
    sqlx::query(
        "INSERT INTO trainee_exercises (trainee_id, segment, answers, marks, submitted_at) \
         VALUES ($1,$2,$3,$4,$5)",
    )
    .bind(trainee.0)
    .bind(e.segment.as_str())
    .bind(answers_json(&e.answers))
    .bind(marks_json(&e.marks))
    .bind(e.submitted_at.0)
    .execute(pool)
    .await
    .map_err(|err| match err {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Locked,
        err => err.into(),
    })?;
    Ok(())
}

fn exercise_from_row(r: &DbRow, at: usize) -> Result<Exercise> {
    Ok(Exercise {
        segment: key(r.get(at))?,
        answers: answers_from(r.get(at + 1))?,
        marks: marks_from(r.get(at + 2))?,
        submitted_at: Timestamp(r.get(at + 3)),
    })
}

pub(super) async fn exercises(pool: &Pool, trainee: TraineeId) -> Result<Vec<Exercise>> {
    sqlx::query(
        "SELECT segment, answers, marks, submitted_at FROM trainee_exercises \
         WHERE trainee_id = $1 ORDER BY submitted_at, id",
    )
    .bind(trainee.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| exercise_from_row(r, 0))
    .collect()
}

pub(super) async fn module_exercises(
    pool: &Pool,
    module: ModuleId,
) -> Result<Vec<(String, Exercise)>> {
    sqlx::query(
        "SELECT t.code, e.segment, e.answers, e.marks, e.submitted_at FROM trainee_exercises e \
         JOIN trainees t ON t.id = e.trainee_id WHERE t.module_id = $1 \
         ORDER BY t.code, e.submitted_at, e.id",
    )
    .bind(module.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| Ok((r.get::<String, _>(0), exercise_from_row(r, 1)?)))
    .collect()
}
