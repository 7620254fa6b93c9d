//! Export and import of whole databases (copy, backup, restore) in SQL
//! shared by both backends (compiled once per backend, like `study.rs`).
//! An export reads in one read transaction (one snapshot); an import
//! writes in one transaction.

use std::collections::HashMap;

use sqlx::Row;

use super::{begin_read, begin_write, Conn, Pool};
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
        out.studies.push(s);
    }
    Ok(out)
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
        let sid = super::study::insert_study(&mut tx, &s.study).await?;
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
        outcome.studies.push(sid);
    }
    tx.commit().await?;
    Ok(outcome)
}
