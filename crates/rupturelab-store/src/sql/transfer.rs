//! Export and import of whole databases (copy, backup, restore) in SQL
//! shared by both backends (compiled once per backend, like `study.rs`).
//! An export reads in one read transaction (one snapshot); an import
//! writes in one transaction.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::Row;

use super::{begin_read, begin_write, invalid, Conn, Pool, Tx};
use crate::transfer::*;
use crate::{Result, StoreError, StudyId};

pub(super) async fn export_database(pool: &Pool, only: Option<StudyId>) -> Result<DatabaseExport> {
    let mut tx = begin_read(pool).await?;
    let out = export_on(&mut tx, only).await?;
    tx.commit().await?;
    Ok(out)
}

/// The export, read on `conn` (the caller's snapshot).
pub(super) async fn export_on(conn: &mut Conn, only: Option<StudyId>) -> Result<DatabaseExport> {
    let mut out = DatabaseExport::default();
    for r in sqlx::query("SELECT username, password_hash, role, created_at FROM users ORDER BY id")
        .fetch_all(&mut *conn)
        .await?
    {
        out.users.push(UserExport {
            username: r.get(0),
            password_hash: r.get(1),
            role: r.get(2),
            created_at: r.get(3),
        });
    }
    for r in sqlx::query(
        "SELECT u.username, t.token_hash, t.label, t.created_at, t.revoked_at FROM api_tokens t \
         JOIN users u ON u.id = t.user_id ORDER BY t.id",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        out.api_tokens.push(ApiTokenExport {
            username: r.get(0),
            token_hash: r.get(1),
            label: r.get(2),
            created_at: r.get(3),
            revoked_at: r.get(4),
        });
    }
    // A one-study export carries only the accounts enrolled in that study's
    // modules: other studies' trainees stay where they are.
    let accounts = match only {
        None => {
            sqlx::query(
                "SELECT username, password_hash, created_at FROM trainee_accounts ORDER BY id",
            )
            .fetch_all(&mut *conn)
            .await?
        }
        Some(sid) => {
            sqlx::query(
                "SELECT a.username, a.password_hash, a.created_at FROM trainee_accounts a \
                 WHERE EXISTS (SELECT 1 FROM trainees t JOIN training_modules m ON m.id = t.module_id \
                               WHERE t.account_id = a.id AND m.study_id = $1) \
                 ORDER BY a.id",
            )
            .bind(sid.0)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    for r in accounts {
        out.trainee_accounts.push(TraineeAccountExport {
            username: r.get(0),
            password_hash: r.get(1),
            created_at: r.get(2),
        });
    }
    let ids: Vec<i64> = match only {
        Some(id) => vec![id.0],
        None => {
            sqlx::query_scalar("SELECT id FROM studies ORDER BY id")
                .fetch_all(&mut *conn)
                .await?
        }
    };
    for sid in ids {
        let study = super::study::load_on(&mut *conn, StudyId(sid)).await?;
        let mut s = StudyExport {
            study,
            invitations: Vec::new(),
            consents: Vec::new(),
            progress: Vec::new(),
            created_at: 0,
            coding_meta: Vec::new(),
            blind: None,
            assignments: Vec::new(),
            assigned: Vec::new(),
            undo: Vec::new(),
            codebook_versions: Vec::new(),
            codebook_deletions: Vec::new(),
            quote_rules: Vec::new(),
            training: Vec::new(),
            suggestions: None,
            suggestion_decisions: Vec::new(),
        };
        for r in sqlx::query(
            "SELECT p.code, i.token_hash, i.created_at, i.revoked_at FROM invitations i \
             JOIN participants p ON p.id = i.participant_id WHERE p.study_id = $1 ORDER BY i.id",
        )
        .bind(sid)
        .fetch_all(&mut *conn)
        .await?
        {
            s.invitations.push(InvitationExport {
                participant: r.get(0),
                token_hash: r.get(1),
                created_at: r.get(2),
                revoked_at: r.get(3),
            });
        }
        for r in sqlx::query(
            "SELECT p.code, c.accepted, c.consent_text, c.at FROM consents c \
             JOIN participants p ON p.id = c.participant_id WHERE p.study_id = $1 ORDER BY c.id",
        )
        .bind(sid)
        .fetch_all(&mut *conn)
        .await?
        {
            s.consents.push(ConsentExport {
                participant: r.get(0),
                accepted: r.get(1),
                consent_text: r.get(2),
                at: r.get(3),
            });
        }
        for r in sqlx::query(
            "SELECT p.code, pp.step, pp.order_mode, pp.order_row, pp.started_at, pp.submitted_at, pp.updated_at \
             FROM participant_progress pp JOIN participants p ON p.id = pp.participant_id \
             WHERE p.study_id = $1 ORDER BY p.position",
        )
        .bind(sid)
        .fetch_all(&mut *conn)
        .await?
        {
            s.progress.push(ProgressExport {
                participant: r.get(0),
                step: r.get(1),
                order_mode: r.get(2),
                order_row: r.get(3),
                started_at: r.get(4),
                submitted_at: r.get(5),
                updated_at: r.get(6),
            });
        }
        export_rest(&mut *conn, sid, &mut s).await?;
        out.studies.push(s);
    }
    Ok(out)
}

/// Row id → index in the study's list, and row ids that no longer exist
/// → -1, -2, … in order of first mention.
struct Refs {
    index: HashMap<i64, i64>,
    gone: HashMap<i64, i64>,
}

impl Refs {
    fn new(ids: impl IntoIterator<Item = (i64, i64)>) -> Self {
        Refs {
            index: ids.into_iter().collect(),
            gone: HashMap::new(),
        }
    }
    fn of(&mut self, id: i64) -> i64 {
        if let Some(&i) = self.index.get(&id) {
            return i;
        }
        let n = self.gone.len() as i64;
        *self.gone.entry(id).or_insert(-n - 1)
    }
}

/// The target's row id for an exported reference (negative ones stay: they
/// name rows that no longer exist).
fn from_ref(ids: &[i64], r: i64, what: &str) -> Result<i64> {
    if r < 0 {
        return Ok(r);
    }
    ids.get(r as usize).copied().ok_or_else(|| {
        invalid(format!(
            "the export names {what} number {r}, which its study does not have"
        ))
    })
}

/// Rewrites the integer at `v[field]` (if any) with `f`.
fn remap(v: &mut Value, field: &str, f: &mut dyn FnMut(i64) -> Result<i64>) -> Result<()> {
    if let Some(x) = v.get_mut(field) {
        if let Some(id) = x.as_i64() {
            *x = Value::from(f(id)?);
        }
    }
    Ok(())
}

fn parse_json(s: &str, what: &str) -> Result<Value> {
    serde_json::from_str(s).map_err(|e| invalid(format!("a stored {what} is not valid JSON: {e}")))
}

/// An undo snapshot: `response` and `code` are row ids.
fn remap_snapshot(
    s: &str,
    response: &mut dyn FnMut(i64) -> Result<i64>,
    code: &mut dyn FnMut(i64) -> Result<i64>,
) -> Result<String> {
    let mut v = parse_json(s, "undo step")?;
    if v.get("batch").is_some() {
        // The marker of a "code all hits" step (`{"batch":N}`), compared
        // as text: kept byte for byte.
        return Ok(s.to_string());
    }
    remap(&mut v, "response", response)?;
    remap(&mut v, "code", code)?;
    Ok(v.to_string())
}

/// A stored deletion: the root's `parent`, each code's `id` and `parent`,
/// each coding's `response`, `code` and `coder`, each memo's `code`.
fn remap_deletion(
    s: &str,
    response: &mut dyn FnMut(i64) -> Result<i64>,
    code: &mut dyn FnMut(i64) -> Result<i64>,
    coder: &mut dyn FnMut(i64) -> Result<i64>,
) -> Result<String> {
    let mut v = parse_json(s, "codebook deletion")?;
    remap(&mut v, "parent", code)?;
    if let Some(list) = v.get_mut("codes").and_then(Value::as_array_mut) {
        for c in list {
            remap(c, "id", code)?;
            remap(c, "parent", code)?;
        }
    }
    if let Some(list) = v.get_mut("codings").and_then(Value::as_array_mut) {
        for c in list {
            remap(c, "response", response)?;
            remap(c, "code", code)?;
            remap(c, "coder", coder)?;
        }
    }
    if let Some(list) = v.get_mut("memos").and_then(Value::as_array_mut) {
        for m in list {
            remap(m, "code", code)?;
        }
    }
    Ok(v.to_string())
}

/// Row ids of a study's responses and codings (in id order, as `load_on`
/// lists them), codes (by path) and coders (by name), in the order of the
/// study's lists.
async fn list_ids(
    conn: &mut Conn,
    sid: i64,
    s: &rupturelab_core::StudyData,
) -> Result<[Vec<i64>; 4]> {
    let responses: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM responses WHERE study_id = $1 ORDER BY id")
            .bind(sid)
            .fetch_all(&mut *conn)
            .await?;
    let codings: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM codings WHERE study_id = $1 ORDER BY id")
            .bind(sid)
            .fetch_all(&mut *conn)
            .await?;
    let by_path: HashMap<String, i64> =
        sqlx::query_as::<_, (i64, String)>("SELECT id, path FROM codes WHERE study_id = $1")
            .bind(sid)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(id, p)| (p, id))
            .collect();
    let by_name: HashMap<String, i64> =
        sqlx::query_as::<_, (i64, String)>("SELECT id, name FROM coders WHERE study_id = $1")
            .bind(sid)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(id, n)| (n, id))
            .collect();
    let codes = s
        .codes
        .iter()
        .map(|c| {
            by_path
                .get(c.path.as_str())
                .copied()
                .ok_or_else(|| invalid(format!("code `{}` has no row", c.path)))
        })
        .collect::<Result<Vec<_>>>()?;
    let coders = s
        .coders
        .iter()
        .map(|c| {
            by_name
                .get(c.name.as_str())
                .copied()
                .ok_or_else(|| invalid(format!("coder `{}` has no row", c.name)))
        })
        .collect::<Result<Vec<_>>>()?;
    if responses.len() != s.responses.len() || codings.len() != s.codings.len() {
        return Err(invalid(
            "the study's responses or codings changed while it was read",
        ));
    }
    Ok([responses, codings, codes, coders])
}

fn indexed(ids: &[i64]) -> impl Iterator<Item = (i64, i64)> + '_ {
    ids.iter().enumerate().map(|(i, &id)| (id, i as i64))
}

/// Everything of a study that `StudyData` and the web rows above leave out.
async fn export_rest(conn: &mut Conn, sid: i64, s: &mut StudyExport) -> Result<()> {
    let [responses, codings, codes, coders] = list_ids(&mut *conn, sid, &s.study).await?;
    let coder_name: HashMap<i64, String> = coders
        .iter()
        .zip(&s.study.coders)
        .map(|(&id, c)| (id, c.name.to_string()))
        .collect();
    let name_of = |id: i64| {
        coder_name
            .get(&id)
            .cloned()
            .ok_or_else(|| invalid(format!("a row names unknown coder id {id}")))
    };
    let mut response_refs = Refs::new(indexed(&responses));
    let mut coding_refs = Refs::new(indexed(&codings));
    let mut code_refs = Refs::new(indexed(&codes));
    let mut coder_refs = Refs::new(indexed(&coders));

    s.created_at = sqlx::query_scalar("SELECT created_at FROM studies WHERE id = $1")
        .bind(sid)
        .fetch_one(&mut *conn)
        .await?;
    for r in sqlx::query(
        "SELECT created_at, updated_at, version FROM codings WHERE study_id = $1 ORDER BY id",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        s.coding_meta.push(CodingMeta {
            created_at: r.get(0),
            updated_at: r.get(1),
            version: r.get(2),
        });
    }
    s.blind = sqlx::query_scalar("SELECT blind FROM coding_settings WHERE study_id = $1")
        .bind(sid)
        .fetch_optional(&mut *conn)
        .await?;
    for r in sqlx::query(
        "SELECT a.coder_id, a.mode, a.percent, a.seed, a.at FROM coder_assignments a \
         JOIN coders d ON d.id = a.coder_id WHERE d.study_id = $1 ORDER BY d.position, d.id",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        s.assignments.push(AssignmentExport {
            coder: name_of(r.get(0))?,
            mode: r.get(1),
            percent: r.get(2),
            seed: r.get(3),
            at: r.get(4),
        });
    }
    for r in sqlx::query(
        "SELECT a.coder_id, a.response_id FROM coding_assigned a \
         JOIN coders d ON d.id = a.coder_id WHERE d.study_id = $1 ORDER BY d.position, d.id, a.response_id",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        let response = response_refs.of(r.get(1));
        s.assigned.push((name_of(r.get(0))?, response));
    }
    for r in sqlx::query(
        "SELECT coder_id, coding_id, response_id, before, after, undone, at, id FROM coding_undo \
         WHERE study_id = $1 ORDER BY id",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        let mut snap = |j: Option<String>| -> Result<Option<String>> {
            j.map(|j| {
                remap_snapshot(&j, &mut |id| Ok(response_refs.of(id)), &mut |id| {
                    Ok(code_refs.of(id))
                })
            })
            .transpose()
        };
        let before = snap(r.get(3))?;
        let after = snap(r.get(4))?;
        let coding = coding_refs.of(r.get(1));
        let response = response_refs.of(r.get(2));
        let mut batch = Vec::new();
        for m in sqlx::query(
            "SELECT position, coding_id, response_id, snapshot FROM coding_undo_batch \
             WHERE undo_id = $1 ORDER BY position",
        )
        .bind(r.get::<i64, _>(7))
        .fetch_all(&mut *conn)
        .await?
        {
            let snapshot = remap_snapshot(
                m.get::<&str, _>(3),
                &mut |id| Ok(response_refs.of(id)),
                &mut |id| Ok(code_refs.of(id)),
            )?;
            batch.push(BatchMemberExport {
                position: m.get(0),
                coding: coding_refs.of(m.get(1)),
                response: response_refs.of(m.get(2)),
                snapshot,
            });
        }
        s.undo.push(UndoExport {
            coder: name_of(r.get(0))?,
            coding,
            response,
            before,
            after,
            undone: r.get(5),
            at: r.get(6),
            batch,
        });
    }
    s.suggestions =
        sqlx::query_scalar("SELECT enabled FROM suggestion_settings WHERE study_id = $1")
            .bind(sid)
            .fetch_optional(&mut *conn)
            .await?;
    for r in sqlx::query(
        "SELECT coder_id, response_id, code_id, decision, confidence, at FROM suggestion_decisions \
         WHERE study_id = $1 ORDER BY coder_id, response_id, code_id",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        s.suggestion_decisions.push(SuggestionDecisionExport {
            coder: name_of(r.get(0))?,
            response: response_refs.of(r.get(1)),
            code: code_refs.of(r.get(2)),
            decision: r.get(3),
            confidence: r.get(4),
            at: r.get(5),
        });
    }
    // Sorted by what the rows name, not by row ids (which a copy renumbers).
    let coder_pos: HashMap<&str, usize> = s
        .study
        .coders
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    s.suggestion_decisions
        .sort_by_key(|d| (coder_pos.get(d.coder.as_str()).copied(), d.response, d.code));
    for r in sqlx::query(
        "SELECT at, actor, action, detail, codes FROM codebook_versions WHERE study_id = $1 ORDER BY id",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        s.codebook_versions.push(CodebookVersionExport {
            at: r.get(0),
            actor: r.get(1),
            action: r.get(2),
            detail: r.get(3),
            codes: r.get(4),
        });
    }
    for r in sqlx::query(
        "SELECT at, actor, path, data, restored_at FROM codebook_deletions WHERE study_id = $1 ORDER BY id",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        let data = remap_deletion(
            r.get::<&str, _>(3),
            &mut |id| Ok(response_refs.of(id)),
            &mut |id| Ok(code_refs.of(id)),
            &mut |id| Ok(coder_refs.of(id)),
        )?;
        s.codebook_deletions.push(DeletionExport {
            at: r.get(0),
            actor: r.get(1),
            path: r.get(2),
            data,
            restored_at: r.get(4),
        });
    }
    for r in sqlx::query(
        "SELECT kind, theme, response, created_at, created_by FROM quote_rules WHERE study_id = $1 ORDER BY id",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        s.quote_rules.push(QuoteRuleExport {
            kind: r.get(0),
            theme: r.get(1),
            response: r.get(2),
            created_at: r.get(3),
            created_by: r.get(4),
        });
    }
    for m in sqlx::query(
        "SELECT id, title, segments, questions, feedback, prompts, created_at FROM training_modules \
         WHERE study_id = $1 ORDER BY id",
    )
    .bind(sid)
    .fetch_all(&mut *conn)
    .await?
    {
        let mut module = ModuleExport {
            title: m.get(1),
            segments: m.get(2),
            questions: m.get(3),
            feedback: m.get(4),
            prompts: m.get(5),
            created_at: m.get(6),
            trainees: Vec::new(),
        };
        for t in sqlx::query(
            "SELECT t.id, t.code, t.created_at, a.username FROM trainees t \
             LEFT JOIN trainee_accounts a ON a.id = t.account_id \
             WHERE t.module_id = $1 ORDER BY t.id",
        )
            .bind(m.get::<i64, _>(0))
            .fetch_all(&mut *conn)
            .await?
        {
            let tid: i64 = t.get(0);
            let links = sqlx::query_as::<_, (String, i64, Option<i64>)>(
                "SELECT token_hash, created_at, revoked_at FROM trainee_links WHERE trainee_id = $1 ORDER BY id",
            )
            .bind(tid)
            .fetch_all(&mut *conn)
            .await?;
            let mut exercises = Vec::new();
            for e in sqlx::query(
                "SELECT segment, answers, marks, submitted_at FROM trainee_exercises WHERE trainee_id = $1 ORDER BY id",
            )
            .bind(tid)
            .fetch_all(&mut *conn)
            .await?
            {
                exercises.push(ExerciseExport {
                    segment: e.get(0),
                    answers: e.get(1),
                    marks: e.get(2),
                    submitted_at: e.get(3),
                });
            }
            module.trainees.push(TraineeExport {
                code: t.get(1),
                created_at: t.get(2),
                account: t.get(3),
                links,
                exercises,
            });
        }
        s.training.push(module);
    }
    Ok(())
}

/// Writes what [`export_rest`] read into the new study `sid`.
async fn import_rest(tx: &mut Tx<'_>, sid: i64, s: &StudyExport) -> Result<()> {
    let [responses, codings, codes, coders] = list_ids(&mut *tx, sid, &s.study).await?;
    let coder_id: HashMap<&str, i64> = s
        .study
        .coders
        .iter()
        .zip(&coders)
        .map(|(c, &id)| (c.name.as_str(), id))
        .collect();
    let coder_of = |name: &str| {
        coder_id
            .get(name)
            .copied()
            .ok_or_else(|| invalid(format!("the export names unknown coder `{name}`")))
    };
    if let Some(blind) = s.blind {
        sqlx::query("INSERT INTO coding_settings (study_id, blind) VALUES ($1, $2)")
            .bind(sid)
            .bind(blind)
            .execute(&mut **tx)
            .await?;
    }
    for a in &s.assignments {
        sqlx::query(
            "INSERT INTO coder_assignments (coder_id, mode, percent, seed, at) VALUES ($1,$2,$3,$4,$5)",
        )
        .bind(coder_of(&a.coder)?)
        .bind(&a.mode)
        .bind(a.percent)
        .bind(a.seed)
        .bind(a.at)
        .execute(&mut **tx)
        .await?;
    }
    let assigned = s
        .assigned
        .iter()
        .map(|(c, r)| Ok((coder_of(c)?, from_ref(&responses, *r, "response")?)))
        .collect::<Result<Vec<_>>>()?;
    super::study::insert_rows(
        tx,
        "INSERT INTO coding_assigned (coder_id, response_id) ",
        &assigned,
        2,
        |b, r| {
            b.push_bind(r.0).push_bind(r.1);
        },
    )
    .await?;
    if let Some(enabled) = s.suggestions {
        sqlx::query("INSERT INTO suggestion_settings (study_id, enabled) VALUES ($1, $2)")
            .bind(sid)
            .bind(enabled)
            .execute(&mut **tx)
            .await?;
    }
    for d in &s.suggestion_decisions {
        sqlx::query(
            "INSERT INTO suggestion_decisions (study_id, coder_id, response_id, code_id, decision, confidence, at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(sid)
        .bind(coder_of(&d.coder)?)
        .bind(from_ref(&responses, d.response, "response")?)
        .bind(from_ref(&codes, d.code, "code")?)
        .bind(&d.decision)
        .bind(d.confidence)
        .bind(d.at)
        .execute(&mut **tx)
        .await?;
    }
    for u in &s.undo {
        let snap = |j: &Option<String>| -> Result<Option<String>> {
            j.as_deref()
                .map(|j| {
                    remap_snapshot(j, &mut |r| from_ref(&responses, r, "response"), &mut |r| {
                        from_ref(&codes, r, "code")
                    })
                })
                .transpose()
        };
        let step: i64 = sqlx::query_scalar(
            "INSERT INTO coding_undo (study_id, coder_id, coding_id, response_id, before, after, undone, at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id",
        )
        .bind(sid)
        .bind(coder_of(&u.coder)?)
        .bind(from_ref(&codings, u.coding, "coding")?)
        .bind(from_ref(&responses, u.response, "response")?)
        .bind(snap(&u.before)?)
        .bind(snap(&u.after)?)
        .bind(u.undone)
        .bind(u.at)
        .fetch_one(&mut **tx)
        .await?;
        for m in &u.batch {
            sqlx::query(
                "INSERT INTO coding_undo_batch (undo_id, position, coding_id, response_id, snapshot) \
                 VALUES ($1,$2,$3,$4,$5)",
            )
            .bind(step)
            .bind(m.position)
            .bind(from_ref(&codings, m.coding, "coding")?)
            .bind(from_ref(&responses, m.response, "response")?)
            .bind(snap(&Some(m.snapshot.clone()))?)
            .execute(&mut **tx)
            .await?;
        }
    }
    for v in &s.codebook_versions {
        sqlx::query(
            "INSERT INTO codebook_versions (study_id, at, actor, action, detail, codes) VALUES ($1,$2,$3,$4,$5,$6)",
        )
        .bind(sid)
        .bind(v.at)
        .bind(&v.actor)
        .bind(&v.action)
        .bind(&v.detail)
        .bind(&v.codes)
        .execute(&mut **tx)
        .await?;
    }
    for d in &s.codebook_deletions {
        let data = remap_deletion(
            &d.data,
            &mut |r| from_ref(&responses, r, "response"),
            &mut |r| from_ref(&codes, r, "code"),
            &mut |r| from_ref(&coders, r, "coder"),
        )?;
        sqlx::query(
            "INSERT INTO codebook_deletions (study_id, at, actor, path, data, restored_at) VALUES ($1,$2,$3,$4,$5,$6)",
        )
        .bind(sid)
        .bind(d.at)
        .bind(&d.actor)
        .bind(&d.path)
        .bind(data)
        .bind(d.restored_at)
        .execute(&mut **tx)
        .await?;
    }
    for q in &s.quote_rules {
        sqlx::query(
            "INSERT INTO quote_rules (study_id, kind, theme, response, created_at, created_by) VALUES ($1,$2,$3,$4,$5,$6)",
        )
        .bind(sid)
        .bind(&q.kind)
        .bind(&q.theme)
        .bind(&q.response)
        .bind(q.created_at)
        .bind(&q.created_by)
        .execute(&mut **tx)
        .await?;
    }
    for m in &s.training {
        let mid: i64 = sqlx::query_scalar(
            "INSERT INTO training_modules (study_id, title, segments, questions, feedback, prompts, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
        )
        .bind(sid)
        .bind(&m.title)
        .bind(&m.segments)
        .bind(&m.questions)
        .bind(&m.feedback)
        .bind(&m.prompts)
        .bind(m.created_at)
        .fetch_one(&mut **tx)
        .await?;
        for t in &m.trainees {
            let tid: i64 = sqlx::query_scalar(
                "INSERT INTO trainees (module_id, code, created_at, account_id) \
                 VALUES ($1,$2,$3,(SELECT id FROM trainee_accounts WHERE username = $4)) RETURNING id",
            )
            .bind(mid)
            .bind(&t.code)
            .bind(t.created_at)
            .bind(&t.account)
            .fetch_one(&mut **tx)
            .await?;
            for (hash, created, revoked) in &t.links {
                sqlx::query(
                    "INSERT INTO trainee_links (trainee_id, token_hash, created_at, revoked_at) VALUES ($1,$2,$3,$4)",
                )
                .bind(tid)
                .bind(hash)
                .bind(created)
                .bind(revoked)
                .execute(&mut **tx)
                .await?;
            }
            for e in &t.exercises {
                sqlx::query(
                    "INSERT INTO trainee_exercises (trainee_id, segment, answers, marks, submitted_at) VALUES ($1,$2,$3,$4,$5)",
                )
                .bind(tid)
                .bind(&e.segment)
                .bind(&e.answers)
                .bind(&e.marks)
                .bind(e.submitted_at)
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    Ok(())
}

pub(super) async fn import_database(pool: &Pool, data: &DatabaseExport) -> Result<ImportOutcome> {
    let mut tx = begin_write(pool).await?;
    let mut outcome = ImportOutcome::default();
    for u in &data.users {
        let n = sqlx::query(
            "INSERT INTO users (username, password_hash, role, created_at) VALUES ($1,$2,$3,$4) \
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(&u.username)
        .bind(&u.password_hash)
        .bind(&u.role)
        .bind(u.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            outcome.users_kept.push(u.username.clone());
        }
    }
    for a in &data.trainee_accounts {
        let n = sqlx::query(
            "INSERT INTO trainee_accounts (username, password_hash, created_at) VALUES ($1,$2,$3) \
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(&a.username)
        .bind(&a.password_hash)
        .bind(a.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            // The same account (a study copied earlier from the same
            // source) is kept; another person's account of that name must
            // not receive this one's enrolments and exercises.
            let hash: String = sqlx::query_scalar(
                "SELECT password_hash FROM trainee_accounts WHERE username = $1",
            )
            .bind(&a.username)
            .fetch_one(&mut *tx)
            .await?;
            if hash != a.password_hash {
                return Err(StoreError::Conflict(format!(
                    "the target already has a different trainee account named `{}`; \
                     rename one of them (or remove it from the target) and copy again",
                    a.username
                )));
            }
            outcome.trainee_accounts_kept.push(a.username.clone());
        }
    }
    for t in &data.api_tokens {
        if outcome.users_kept.contains(&t.username) {
            continue;
        }
        sqlx::query(
            "INSERT INTO api_tokens (user_id, token_hash, label, created_at, revoked_at) \
             SELECT id, $2, $3, $4, $5 FROM users WHERE username = $1",
        )
        .bind(&t.username)
        .bind(&t.token_hash)
        .bind(&t.label)
        .bind(t.created_at)
        .bind(t.revoked_at)
        .execute(&mut *tx)
        .await?;
    }
    for s in &data.studies {
        let key = s.study.meta.key.as_str();
        if super::study::study_exists(&mut tx, key).await? {
            return Err(StoreError::StudyExists(key.to_string()));
        }
        let sid = super::study::insert_study_with(
            &mut tx,
            &s.study,
            Some(s.created_at),
            Some(&s.coding_meta),
        )
        .await?;
        let participants: HashMap<String, i64> = sqlx::query_as::<_, (i64, String)>(
            "SELECT id, code FROM participants WHERE study_id = $1",
        )
        .bind(sid.0)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|(id, code)| (code, id))
        .collect();
        let pid = |code: &str| {
            participants.get(code).copied().ok_or_else(|| {
                StoreError::Invalid(format!("a web row names unknown participant `{code}`"))
            })
        };
        for i in &s.invitations {
            sqlx::query(
                "INSERT INTO invitations (participant_id, token_hash, created_at, revoked_at) VALUES ($1,$2,$3,$4)",
            )
            .bind(pid(&i.participant)?)
            .bind(&i.token_hash)
            .bind(i.created_at)
            .bind(i.revoked_at)
            .execute(&mut *tx)
            .await?;
        }
        for c in &s.consents {
            sqlx::query(
                "INSERT INTO consents (participant_id, accepted, consent_text, at) VALUES ($1,$2,$3,$4)",
            )
            .bind(pid(&c.participant)?)
            .bind(c.accepted)
            .bind(&c.consent_text)
            .bind(c.at)
            .execute(&mut *tx)
            .await?;
        }
        for p in &s.progress {
            sqlx::query(
                "INSERT INTO participant_progress (participant_id, step, order_mode, order_row, started_at, submitted_at, updated_at) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7)",
            )
            .bind(pid(&p.participant)?)
            .bind(&p.step)
            .bind(&p.order_mode)
            .bind(p.order_row)
            .bind(p.started_at)
            .bind(p.submitted_at)
            .bind(p.updated_at)
            .execute(&mut *tx)
            .await?;
        }
        import_rest(&mut tx, sid.0, s).await?;
        outcome.studies.push(sid);
    }
    tx.commit().await?;
    Ok(outcome)
}
