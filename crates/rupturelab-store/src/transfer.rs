//! Moving whole databases between stores: `rupturelab copy` (SQLite ↔
//! PostgreSQL), `backup` and `restore`. An export holds, for every study
//! (or one), its `StudyData` plus the web application's rows — invitations
//! (token hashes), consent decisions, progress — and the user accounts with
//! their API tokens, all keyed by names rather than row ids, read in one
//! snapshot. An import writes it in one transaction.

use rupturelab_core::StudyData;

use crate::{Result, Store, StoreError, StudyId};

/// Everything of a database (or of one study) that a copy moves.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DatabaseExport {
    /// User accounts, in creation order.
    pub users: Vec<UserExport>,
    /// API tokens (hashes), in creation order.
    pub api_tokens: Vec<ApiTokenExport>,
    /// The studies, in creation order.
    pub studies: Vec<StudyExport>,
}

/// A user account.
#[derive(Debug, Clone, PartialEq)]
pub struct UserExport {
    /// Login name.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// `researcher` or `coder`.
    pub role: String,
    /// Epoch ms.
    pub created_at: i64,
}

/// An API token (its hash only).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiTokenExport {
    /// The owner's login name.
    pub username: String,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// Label.
    pub label: String,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms, when revoked.
    pub revoked_at: Option<i64>,
}

/// One study with its web-application rows.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyExport {
    /// The study itself.
    pub study: StudyData,
    /// Every invitation ever issued, in order.
    pub invitations: Vec<InvitationExport>,
    /// Every consent decision, in order.
    pub consents: Vec<ConsentExport>,
    /// Participant progress rows, in participant order.
    pub progress: Vec<ProgressExport>,
}

/// An invitation link (its token's hash).
#[derive(Debug, Clone, PartialEq)]
pub struct InvitationExport {
    /// Participant code.
    pub participant: String,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms, when revoked.
    pub revoked_at: Option<i64>,
}

/// A consent decision.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentExport {
    /// Participant code.
    pub participant: String,
    /// Accepted or declined.
    pub accepted: bool,
    /// The text that was shown.
    pub consent_text: String,
    /// Epoch ms.
    pub at: i64,
}

/// Where a participant is in the study runner.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressExport {
    /// Participant code.
    pub participant: String,
    /// Last page.
    pub step: Option<String>,
    /// How the order was assigned.
    pub order_mode: Option<String>,
    /// Williams-square row.
    pub order_row: Option<i64>,
    /// Epoch ms.
    pub started_at: Option<i64>,
    /// Epoch ms.
    pub submitted_at: Option<i64>,
    /// Epoch ms.
    pub updated_at: i64,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportOutcome {
    /// The new studies' ids, in export order.
    pub studies: Vec<StudyId>,
    /// Users whose name existed already in the target: the target's account was kept.
    pub users_kept: Vec<String>,
}

/// What a verified copy moved.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CopyReport {
    /// Keys of the copied studies.
    pub studies: Vec<String>,
    /// Responses copied.
    pub responses: usize,
    /// Codings copied.
    pub codings: usize,
    /// Users copied (new in the target).
    pub users: usize,
    /// Users that existed already in the target (kept as they were).
    pub users_kept: Vec<String>,
}

/// Copies every study (or the one with key `study`) with its web rows and the
/// user accounts from `from` to `to`, then reads both back and checks that
/// the target holds exactly what the source held. Fails, leaving the target
/// as it was, if the target already has a study with the same key.
pub async fn copy(from: &dyn Store, to: &dyn Store, study: Option<&str>) -> Result<CopyReport> {
    let id = match study {
        Some(k) => Some(crate::find_study(from, Some(k)).await?.id),
        None => None,
    };
    let export = from.export_database(id).await?;
    let outcome = to.import_database(&export).await?;
    // Verify: read the target back and compare with what was read from the source.
    let mut report = CopyReport {
        users_kept: outcome.users_kept.clone(),
        ..CopyReport::default()
    };
    let back = to.export_database(None).await?;
    for s in &export.studies {
        let key = s.study.meta.key.as_str();
        let copied = back
            .studies
            .iter()
            .find(|b| b.study.meta.key.as_str() == key)
            .ok_or_else(|| {
                StoreError::Invalid(format!("study `{key}` is missing after the copy"))
            })?;
        if copied != s {
            return Err(StoreError::Invalid(format!(
                "study `{key}` differs after the copy; the target database is not a faithful copy"
            )));
        }
        report.studies.push(key.to_string());
        report.responses += s.study.responses.len();
        report.codings += s.study.codings.len();
    }
    for u in &export.users {
        if outcome.users_kept.contains(&u.username) {
            continue;
        }
        if !back.users.contains(u) {
            return Err(StoreError::Invalid(format!(
                "user `{}` differs after the copy",
                u.username
            )));
        }
        report.users += 1;
    }
    for t in &export.api_tokens {
        if !outcome.users_kept.contains(&t.username) && !back.api_tokens.contains(t) {
            return Err(StoreError::Invalid(format!(
                "an API token of `{}` differs after the copy",
                t.username
            )));
        }
    }
    Ok(report)
}
