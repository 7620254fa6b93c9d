//! Moving whole databases between stores: `rupturelab copy` (SQLite ↔
//! PostgreSQL), `backup` and `restore`. An export holds, for every study
//! (or one), its `StudyData` plus every other row of the study — invitations
//! (token hashes), consent decisions, progress, coding settings, assignments,
//! the coders' undo logs, codings' versions and dates, codebook versions and
//! deletions, quote rules, training modules with their trainees, links and
//! exercises — and the user accounts with their API tokens, read in one
//! snapshot. An import writes it in one transaction.
//!
//! Rows refer to each other by names (participant codes, coder names, code
//! paths) or by position in the study's lists, never by row ids, so that an
//! export of the copy equals the export of the original. Row ids stored
//! inside JSON (undo snapshots, stored deletions) are rewritten the same way:
//! a live row becomes its index ([`StudyExport`] says which list), a row that
//! no longer exists (a deleted coding or code) becomes a negative number that
//! is the same for every mention of that row, and is stored as such in the
//! target, where it can never name a live row.
//!
//! Every table of every migration (0001–0008) is carried except `_sqlx_migrations`
//! (the target has its own) and the web session store's table, which lives
//! outside the migrations: login sessions are not copied on purpose, so a
//! restored or copied database asks everyone to log in again rather than
//! honouring cookies issued against another database.
//! `tests/transfer.rs` fails when a table exists that a copy leaves empty.

use rupturelab_core::StudyData;

use crate::{Result, Store, StoreError, StudyId};

/// Everything of a database (or of one study) that a copy moves.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DatabaseExport {
    /// User accounts, in creation order.
    pub users: Vec<UserExport>,
    /// API tokens (hashes), in creation order.
    pub api_tokens: Vec<ApiTokenExport>,
    /// Trainee accounts (training mode), in creation order.
    pub trainee_accounts: Vec<TraineeAccountExport>,
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

/// A trainee account (training mode).
#[derive(Debug, Clone, PartialEq)]
pub struct TraineeAccountExport {
    /// Login name.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
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
    /// When the study was created (epoch ms).
    pub created_at: i64,
    /// Per coding (same order as `study.codings`): its dates and version.
    pub coding_meta: Vec<CodingMeta>,
    /// Blind mode, when a researcher has set it (`coding_settings`).
    pub blind: Option<bool>,
    /// Coders' assignments (`coder_assignments`), in coder order.
    pub assignments: Vec<AssignmentExport>,
    /// Assigned responses (`coding_assigned`): coder name and index into
    /// `study.responses`, in coder then response order.
    pub assigned: Vec<(String, i64)>,
    /// The coders' undo/redo logs (`coding_undo`), oldest first.
    pub undo: Vec<UndoExport>,
    /// Codebook versions (`codebook_versions`), oldest first.
    pub codebook_versions: Vec<CodebookVersionExport>,
    /// Deleted codes kept for undo (`codebook_deletions`), oldest first.
    pub codebook_deletions: Vec<DeletionExport>,
    /// Quote pins and exclusions (`quote_rules`), in creation order.
    pub quote_rules: Vec<QuoteRuleExport>,
    /// Training modules with their trainees (`training_*`, `trainee_*`).
    pub training: Vec<ModuleExport>,
    /// The suggestion switch (`suggestion_settings`): `None` = no row,
    /// `Some(None)` = a row saying automatic.
    pub suggestions: Option<Option<bool>>,
    /// Coders' accepted and rejected suggestions (`suggestion_decisions`),
    /// sorted by coder, response and code.
    pub suggestion_decisions: Vec<SuggestionDecisionExport>,
}

/// What a coder did with a suggestion.
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestionDecisionExport {
    /// Coder name.
    pub coder: String,
    /// Index into `study.responses`.
    pub response: i64,
    /// Index into `study.codes` (negative: a deleted code).
    pub code: i64,
    /// `accepted` or `rejected`.
    pub decision: String,
    /// The model's probability then.
    pub confidence: f64,
    /// Epoch ms.
    pub at: i64,
}

/// One coding of a "code all hits" step (`coding_undo_batch`).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchMemberExport {
    /// Position in the batch.
    pub position: i64,
    /// Index into `study.codings`, or negative: a coding that no longer exists.
    pub coding: i64,
    /// Index into `study.responses`.
    pub response: i64,
    /// JSON snapshot of the coding as added (ids as in [`UndoExport`]).
    pub snapshot: String,
}

/// A coding's dates and version (the columns `StudyData` leaves out).
#[derive(Debug, Clone, PartialEq)]
pub struct CodingMeta {
    /// Epoch ms.
    pub created_at: i64,
    /// Epoch ms of the last edit.
    pub updated_at: Option<i64>,
    /// Incremented by every edit (stale edits are refused by version).
    pub version: i64,
}

/// How a coder's responses are chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignmentExport {
    /// Coder name.
    pub coder: String,
    /// `all` or `share`.
    pub mode: String,
    /// Share in percent.
    pub percent: Option<f64>,
    /// Shuffle seed.
    pub seed: Option<i64>,
    /// Epoch ms.
    pub at: i64,
}

/// One step of a coder's undo log.
#[derive(Debug, Clone, PartialEq)]
pub struct UndoExport {
    /// Coder name.
    pub coder: String,
    /// Index into `study.codings`, or negative: a coding that no longer exists.
    pub coding: i64,
    /// Index into `study.responses`.
    pub response: i64,
    /// JSON snapshot before the step, with `response` and `code` as
    /// indexes into `study.responses` and `study.codes` (negative: deleted code).
    pub before: Option<String>,
    /// JSON snapshot after the step, likewise.
    pub after: Option<String>,
    /// On the redo stack.
    pub undone: bool,
    /// Epoch ms.
    pub at: i64,
    /// The codings of a "code all hits" step (empty for a single step).
    pub batch: Vec<BatchMemberExport>,
}

/// One stored version of the codebook.
#[derive(Debug, Clone, PartialEq)]
pub struct CodebookVersionExport {
    /// Epoch ms.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// Audit action.
    pub action: String,
    /// Audit detail.
    pub detail: String,
    /// JSON array of the codes (by path, no row ids).
    pub codes: String,
}

/// A deleted code with its codings and memos, kept so the deletion can be undone.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletionExport {
    /// Epoch ms.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// The deleted code's path.
    pub path: String,
    /// JSON with row ids rewritten as indexes (codes, responses, coders).
    pub data: String,
    /// Epoch ms, when undone.
    pub restored_at: Option<i64>,
}

/// A quote pin or exclusion.
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteRuleExport {
    /// `pin` or `exclude`.
    pub kind: String,
    /// Code path, or '' for every theme.
    pub theme: String,
    /// Response key text.
    pub response: String,
    /// Epoch ms.
    pub created_at: i64,
    /// Who.
    pub created_by: String,
}

/// A training module.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleExport {
    /// Title.
    pub title: String,
    /// JSON array of segment keys.
    pub segments: String,
    /// JSON array of question keys.
    pub questions: String,
    /// JSON feedback options.
    pub feedback: String,
    /// JSON prompts.
    pub prompts: String,
    /// Epoch ms.
    pub created_at: i64,
    /// Its trainees, in creation order.
    pub trainees: Vec<TraineeExport>,
}

/// A trainee of a module.
#[derive(Debug, Clone, PartialEq)]
pub struct TraineeExport {
    /// Trainee code.
    pub code: String,
    /// The user name of the trainee's account, when they sign in.
    pub account: Option<String>,
    /// Epoch ms.
    pub created_at: i64,
    /// Every link issued: token hash, created, revoked (epoch ms).
    pub links: Vec<(String, i64, Option<i64>)>,
    /// Submitted exercises.
    pub exercises: Vec<ExerciseExport>,
}

/// A submitted training exercise.
#[derive(Debug, Clone, PartialEq)]
pub struct ExerciseExport {
    /// Segment key.
    pub segment: String,
    /// JSON answers.
    pub answers: String,
    /// JSON marks.
    pub marks: String,
    /// Epoch ms.
    pub submitted_at: i64,
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
    /// Trainee accounts whose name existed already in the target (kept as they were).
    pub trainee_accounts_kept: Vec<String>,
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
    /// Trainee accounts copied (new in the target).
    pub trainee_accounts: usize,
    /// Trainee accounts that existed already in the target (kept as they were).
    pub trainee_accounts_kept: Vec<String>,
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
        trainee_accounts_kept: outcome.trainee_accounts_kept.clone(),
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
    for a in &export.trainee_accounts {
        if outcome.trainee_accounts_kept.contains(&a.username) {
            continue;
        }
        if !back.trainee_accounts.contains(a) {
            return Err(StoreError::Invalid(format!(
                "trainee account `{}` differs after the copy",
                a.username
            )));
        }
        report.trainee_accounts += 1;
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
