//! RuptureLab persistence: the [`Store`] trait that every caller uses, and
//! its two implementations, SQLite (one file) and PostgreSQL (a server),
//! which run the same SQL (`src/sql/`); [`open`] picks the backend from the
//! database URL or path.
#![forbid(unsafe_code)]
// The shared SQL in `src/sql/` is compiled once per backend on purpose (see
// `sqlite/mod.rs` and `postgres/mod.rs`): each copy gets its backend's types.
#![allow(clippy::duplicate_mod)]

pub mod audit;
pub mod codebook;
mod codec;
pub mod coding;
pub mod postgres;
pub mod report;
pub mod search_coding;
pub mod sqlite;
mod store_impl;
pub mod suggest;
pub mod testing;
pub mod training;
pub mod transfer;
pub mod web;

use std::path::Path;

use async_trait::async_trait;
use std::collections::BTreeMap;

use rupturelab_core::{
    Answer, AttrValue, AttributeDef, AuditEvent, Code, CodePath, Key, Language, Participant,
    Question, Response, ResponseKey, Segment, Settings, StudyData, Timestamp,
};

pub use audit::{AuditFacets, AuditFilter};
pub use codebook::{
    CodeEdit, CodeId, CodeMove, CodebookVersion, ConsensusCoding, DeleteImpact, Deletion,
    MergeOutcome, NewCode, StoredCode,
};
pub use coding::{
    AddedCoding, Assignment, CoderStatus, CodingChange, CodingId, CodingSetup, CodingTarget,
    MemoOn, NewCoding, QueueFilter, QueueItem, ResponseId, SpanResolver, StoredCoding, StoredMemo,
    UndoOutcome,
};
pub use report::{QuoteRule, QuoteRuleKind};
pub use search_coding::{CodableResponse, HitCoding, HitCodingOutcome};
pub use suggest::{SuggestionSetting, SuggestionUse};
pub use web::{
    OrderAssignment, ParticipantId, ParticipantOverview, ParticipantRecord, Role, SessionRow,
    StoredSession, StudyDesign, StudyProgress, User, UserId,
};

/// The database driver behind [`StoreError::Db`], so callers can tell its
/// errors apart (the web layer answers 503 to an unreachable database)
/// without depending on it themselves.
pub use sqlx;

/// A study's row id in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StudyId(pub i64);

/// One line of a store's study list.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyInfo {
    /// Row id.
    pub id: StudyId,
    /// The study key.
    pub key: String,
    /// The title.
    pub title: String,
    /// Whether the data is synthetic.
    pub synthetic: bool,
}

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A study with this key exists already.
    #[error("a study with key `{0}` already exists in this database; import with --replace to overwrite it, or change `key` in study.toml")]
    StudyExists(String),
    /// No such study.
    #[error("no study `{0}` in this database")]
    NoSuchStudy(String),
    /// The data breaks a rule the database enforces.
    #[error("the data is inconsistent: {0}")]
    Invalid(String),
    /// The database file could not be opened.
    #[error("cannot open the database `{path}`: {source}")]
    Open {
        /// Path or URL.
        path: String,
        /// Cause.
        source: sqlx::Error,
    },
    /// A database error.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// A user with this name exists already.
    #[error("a user named `{0}` already exists")]
    UserExists(String),
    /// A participant with this code exists already in the study.
    #[error("a participant with code `{0}` already exists in this study")]
    ParticipantExists(String),
    /// The participant has submitted; their answers can no longer change.
    #[error("the answers were submitted and are locked")]
    Locked,
    /// The thing named does not exist (a coding, a response, a coder…).
    #[error("{0}")]
    NotFound(String),
    /// The change conflicts with what is stored: an edit based on a version
    /// that has changed since, or a coding that exists already.
    #[error("{0}")]
    Conflict(String),
    /// The caller may not make this change (e.g. a coder with a share
    /// assignment coding a response not assigned to them).
    #[error("{0}")]
    Forbidden(String),
    /// A migration failed.
    #[error("cannot upgrade the database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Result alias of the store.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Everything the program needs from a database. Implementations keep each
/// call atomic: a failed call leaves the database as it was.
#[async_trait]
pub trait Store: Send + Sync {
    /// Lists the studies in the database.
    async fn list_studies(&self) -> Result<Vec<StudyInfo>>;
    /// Stores a whole new study in one transaction; fails if its key exists.
    async fn create_study(&self, study: &StudyData) -> Result<StudyId>;
    /// Replaces the study with the same key (or creates it), in one transaction.
    async fn replace_study(&self, study: &StudyData) -> Result<StudyId>;
    /// Loads a whole study.
    async fn load_study(&self, id: StudyId) -> Result<StudyData>;
    /// Deletes a study and everything in it.
    async fn delete_study(&self, id: StudyId) -> Result<()>;
    /// Appends an event to a study's audit trail.
    async fn record_audit(&self, id: StudyId, event: &AuditEvent) -> Result<()>;
    /// Closes the connections cleanly (checkpoints the WAL on SQLite).
    async fn close(&self);
    /// The connection pool, for components that keep their own tables in the
    /// same database (the web session store).
    fn pool(&self) -> DbPool;

    // ---- fine-grained calls of the web application (see `web`) ----

    /// Creates a user account; fails with `UserExists` if the name is taken.
    async fn create_user(&self, username: &str, role: Role, password_hash: &str) -> Result<UserId>;
    /// Finds a user by login name.
    async fn user_by_name(&self, username: &str) -> Result<Option<User>>;
    /// Finds a user by id.
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>>;
    /// Counts the users with a role.
    async fn count_users(&self, role: Role) -> Result<i64>;
    /// Replaces a user's password hash.
    async fn set_password(&self, id: UserId, password_hash: &str) -> Result<()>;
    /// Stores the hash of a new API token of a user.
    async fn add_api_token(&self, user: UserId, token_hash: &str, label: &str) -> Result<()>;
    /// Finds the user of an unrevoked API token by the token's hash.
    async fn user_by_api_token(&self, token_hash: &str) -> Result<Option<User>>;

    /// Loads a study's metadata, settings, attribute schema and questions.
    async fn study_design(&self, id: StudyId) -> Result<StudyDesign>;
    /// Changes a study's participant-page language and settings.
    async fn update_settings(
        &self,
        id: StudyId,
        language: Language,
        settings: &Settings,
    ) -> Result<()>;
    /// The study's segments in study order.
    async fn study_segments(&self, id: StudyId) -> Result<Vec<Segment>>;
    /// Creates or replaces a segment (by key); a new one goes last.
    async fn upsert_segment(&self, id: StudyId, segment: &Segment) -> Result<()>;
    /// Creates or replaces a question (by key); a new one goes last.
    async fn upsert_question(&self, id: StudyId, question: &Question) -> Result<()>;
    /// Creates or replaces a participant attribute (by name); a new one goes
    /// last. Its type cannot change while participants have values for it.
    async fn upsert_attribute(&self, id: StudyId, attribute: &AttributeDef) -> Result<()>;
    /// Puts the study's segments, questions or attributes in the given order
    /// (which must name each of them exactly once).
    async fn reorder(&self, id: StudyId, what: Ordered, keys: &[Key]) -> Result<()>;

    /// Adds a participant (attributes and order included); fails with
    /// `ParticipantExists` if the code is taken.
    async fn add_participant(
        &self,
        id: StudyId,
        participant: &Participant,
    ) -> Result<ParticipantId>;
    /// Finds a participant by code.
    async fn participant_id(&self, id: StudyId, code: &str) -> Result<Option<ParticipantId>>;
    /// The console's list of participants with their progress.
    async fn participant_overview(&self, id: StudyId) -> Result<Vec<ParticipantOverview>>;
    /// Progress counts of a study.
    async fn study_progress(&self, id: StudyId) -> Result<StudyProgress>;
    /// Revokes any active invitation of the participant and stores the hash
    /// of a new one.
    async fn issue_invitation(&self, participant: ParticipantId, token_hash: &str) -> Result<()>;
    /// Revokes the participant's active invitation.
    async fn revoke_invitation(&self, participant: ParticipantId) -> Result<()>;
    /// Records the participant's presentation order and how it was assigned.
    async fn assign_order(&self, participant: ParticipantId, order: &OrderAssignment)
        -> Result<()>;
    /// How many participants of the study have an assigned order (for the
    /// next Latin-square row).
    async fn count_assigned_orders(&self, id: StudyId) -> Result<i64>;
    /// Finds the participant of an active invitation by the token's hash.
    async fn participant_by_token(&self, token_hash: &str) -> Result<Option<ParticipantRecord>>;
    /// The segment keys in the participant's order (study order when none):
    /// cheaper than `participant_segments` when the turns are not needed.
    async fn participant_order(&self, participant: ParticipantId) -> Result<Vec<Key>>;
    /// One segment of a study, with its turns and markers.
    async fn segment(&self, id: StudyId, key: &Key) -> Result<Option<Segment>>;
    /// The participant's attribute values, by attribute name.
    async fn participant_attributes(
        &self,
        participant: ParticipantId,
    ) -> Result<BTreeMap<String, AttrValue>>;
    /// The participant's segments in their assigned order (study order when none).
    async fn participant_segments(&self, participant: ParticipantId) -> Result<Vec<Segment>>;
    /// The participant's saved answers.
    async fn participant_responses(&self, participant: ParticipantId) -> Result<Vec<Response>>;
    /// Records a consent decision with the text that was shown.
    async fn record_consent(
        &self,
        participant: ParticipantId,
        accepted: bool,
        text: &str,
    ) -> Result<()>;
    /// Sets some attribute values of a participant (by attribute name).
    async fn set_attributes(
        &self,
        participant: ParticipantId,
        values: &BTreeMap<String, AttrValue>,
    ) -> Result<()>;
    /// Records the page a participant is on; an invited participant becomes started.
    async fn set_step(&self, participant: ParticipantId, step: &str) -> Result<()>;
    /// Saves one answer (insert or update by participant × segment × question),
    /// unless the participant has submitted (`Locked`).
    async fn save_response(
        &self,
        participant: ParticipantId,
        segment: Option<&Key>,
        question: &Key,
        answer: &Answer,
        at: Timestamp,
    ) -> Result<()>;
    /// Saves several answers of one participant in one transaction (all or
    /// none), each as [`Store::save_response`] does: one autosave, one commit.
    async fn save_responses(
        &self,
        participant: ParticipantId,
        answers: &[(Option<Key>, Key, Answer)],
        at: Timestamp,
    ) -> Result<()>;
    /// Marks the participant completed; their answers are locked from now on.
    async fn submit(&self, participant: ParticipantId) -> Result<()>;

    // --- coding ---

    /// The study's coders (the consensus layer included), in order.
    async fn coders(&self, id: StudyId) -> Result<Vec<Key>>;
    /// Creates the coder if the study has none of this name (a web user
    /// codes as the coder named like their user name).
    async fn ensure_coder(&self, id: StudyId, name: &Key) -> Result<()>;
    /// An open answer with its question, for the coding screen (`None` when
    /// the study has no such open answer).
    async fn coding_target(
        &self,
        id: StudyId,
        response: ResponseId,
    ) -> Result<Option<CodingTarget>>;
    /// The open answers with text, in study order, with per-coder status,
    /// limited to `coder`'s assigned share when they have one.
    async fn coding_queue(
        &self,
        id: StudyId,
        coder: &Key,
        filter: &QueueFilter,
    ) -> Result<Vec<QueueItem>>;
    /// Every coding of a response (all coders), in creation order.
    async fn response_codings(
        &self,
        id: StudyId,
        response: ResponseId,
    ) -> Result<Vec<StoredCoding>>;
    /// One coding.
    async fn coding(&self, id: StudyId, coding: CodingId) -> Result<Option<StoredCoding>>;
    /// Adds a coding (creating its coder if new) with an audit event and an
    /// undo step; `Conflict` if the same coder applied the same code to the
    /// same span already, `Invalid` for an unknown code or a span outside the text,
    /// `Forbidden` if the coder has a share assignment that leaves the
    /// response out (unless `actor` is a researcher's account).
    async fn add_coding(&self, id: StudyId, new: &NewCoding, actor: &str) -> Result<StoredCoding>;
    /// [`Store::add_coding`] for a client that names the study by its key
    /// and gives its span against a text it has not read (`new.span` is
    /// ignored; `span` resolves it, its error is `Invalid`). The coding
    /// API's hot path: the study, the response, the code, the coder's state
    /// and the writes take one read and one write statement in one
    /// transaction on SQLite. `NoSuchStudy` if no study has the key.
    async fn add_coding_by_key(
        &self,
        study: &str,
        new: &NewCoding,
        span: SpanResolver<'_>,
        actor: &str,
    ) -> Result<AddedCoding>;
    /// Changes a coding if its version is still `seen_version` (else
    /// `Conflict`, nothing changed); records an audit event and an undo step.
    async fn update_coding(
        &self,
        id: StudyId,
        coding: CodingId,
        seen_version: i64,
        change: &CodingChange,
        actor: &str,
    ) -> Result<StoredCoding>;
    /// Removes a coding if its version is still `seen_version` (else
    /// `Conflict`); returns the removed row.
    async fn delete_coding(
        &self,
        id: StudyId,
        coding: CodingId,
        seen_version: i64,
        actor: &str,
    ) -> Result<StoredCoding>;
    /// Undoes the coder's last coding step (`None`: nothing to undo);
    /// `Conflict` if the coding changed since that step.
    async fn undo_coding(
        &self,
        id: StudyId,
        coder: &Key,
        actor: &str,
    ) -> Result<Option<UndoOutcome>>;
    /// Redoes the coder's last undone step (`None`: nothing to redo).
    async fn redo_coding(
        &self,
        id: StudyId,
        coder: &Key,
        actor: &str,
    ) -> Result<Option<UndoOutcome>>;
    /// How many steps the coder can undo and redo.
    async fn undo_depth(&self, id: StudyId, coder: &Key) -> Result<(i64, i64)>;
    /// Writes (or, with empty text, removes) `author`'s memo on a response or
    /// a code, with an audit event.
    async fn set_memo(&self, id: StudyId, on: &MemoOn, author: &str, text: &str) -> Result<()>;
    /// Every author's memo on a response or code.
    async fn memos_on(&self, id: StudyId, on: &MemoOn) -> Result<Vec<StoredMemo>>;
    /// Every memo on a code in the study.
    async fn code_memos(&self, id: StudyId) -> Result<Vec<StoredMemo>>;
    /// The study's codebook in order (parents before children), for the coding screen.
    async fn coding_codebook(&self, id: StudyId) -> Result<Vec<rupturelab_core::Code>>;
    /// Blind mode and the coders' assignments and progress.
    async fn coding_setup(&self, id: StudyId) -> Result<CodingSetup>;
    /// Whether the study is blind (cheaper than `coding_setup`).
    async fn coding_blind(&self, id: StudyId) -> Result<bool>;
    /// Turns blind mode on or off (audited).
    async fn set_blind(&self, id: StudyId, blind: bool, actor: &str) -> Result<()>;
    /// Sets a coder's assignment (creating the coder if new; audited);
    /// returns how many responses it assigns.
    async fn set_assignment(
        &self,
        id: StudyId,
        coder: &Key,
        assignment: Assignment,
        actor: &str,
    ) -> Result<i64>;

    // --- copy, backup and restore (pg) ---

    /// Reads every study (or one) with its web rows, and the user accounts,
    /// in one consistent snapshot (`rupturelab copy`, `backup`).
    async fn export_database(&self, study: Option<StudyId>) -> Result<transfer::DatabaseExport>;
    /// Writes an export in one transaction: new studies (fails with
    /// `StudyExists` if a key is taken), users not yet present, their tokens.
    async fn import_database(
        &self,
        data: &transfer::DatabaseExport,
    ) -> Result<transfer::ImportOutcome>;
    /// Writes a consistent copy of the whole database, while others keep
    /// writing, to a new SQLite file `out` (which must not exist): SQLite
    /// with `VACUUM INTO`, PostgreSQL through a REPEATABLE READ export.
    async fn backup_into(&self, out: &Path) -> Result<()>;

    // --- codebook ---

    /// The codebook in tree order (parents before children, siblings in
    /// order), each code with its number of codings.
    async fn codebook(&self, id: StudyId) -> Result<Vec<StoredCode>>;
    /// Adds a code as the last child of its parent (audited, versioned).
    async fn add_code(&self, id: StudyId, new: &NewCode, actor: &str) -> Result<StoredCode>;
    /// Edits a code's fields; a new key renames it and every path below it
    /// (audited, versioned).
    async fn edit_code(
        &self,
        id: StudyId,
        code: CodeId,
        edit: &CodeEdit,
        actor: &str,
    ) -> Result<StoredCode>;
    /// Moves a code with everything below it; paths follow (audited, versioned).
    async fn move_code(&self, id: StudyId, code: CodeId, to: CodeMove, actor: &str) -> Result<()>;
    /// Merges `from` into `into`: codings, memos and sub-codes of `from` move
    /// to `into` (a coding `into` already has from the same coder on the same
    /// span collapses), then `from` is removed (audited, versioned).
    async fn merge_codes(
        &self,
        id: StudyId,
        from: CodeId,
        into: CodeId,
        actor: &str,
    ) -> Result<MergeOutcome>;
    /// What deleting a code would remove.
    async fn delete_impact(&self, id: StudyId, code: CodeId) -> Result<DeleteImpact>;
    /// Deletes a code, the codes below it and their codings and memos,
    /// keeping them so that [`Store::undo_delete_code`] can restore them
    /// (audited, versioned).
    async fn delete_code(&self, id: StudyId, code: CodeId, actor: &str) -> Result<Deletion>;
    /// Restores a deletion: the codes (at their old place) and their codings
    /// and memos (audited, versioned); returns the restored code's path.
    async fn undo_delete_code(&self, id: StudyId, deletion: i64, actor: &str) -> Result<CodePath>;
    /// Replaces the whole codebook (a template, an imported `.qdc`), keeping
    /// the codes whose paths stay; fails, changing nothing, if a coding or a
    /// memo uses a code the new codebook lacks or makes not codable.
    /// `source` says where the codes came from (audit detail).
    async fn replace_codebook(
        &self,
        id: StudyId,
        codes: &[Code],
        source: &str,
        actor: &str,
    ) -> Result<()>;
    /// The codebook's versions, oldest first.
    async fn codebook_versions(&self, id: StudyId) -> Result<Vec<CodebookVersion>>;
    /// The codebook as it was at `at` (`None`: the study did not exist yet).
    async fn codebook_as_of(&self, id: StudyId, at: Timestamp) -> Result<Option<Vec<Code>>>;
    /// Replaces the consensus codings of one response and its discussion note
    /// (the consensus layer's memo on the response; empty removes it), in
    /// one transaction with an audit event.
    async fn save_consensus(
        &self,
        id: StudyId,
        response: &ResponseKey,
        codings: &[ConsensusCoding],
        note: &str,
        actor: &str,
    ) -> Result<()>;
    // --- training ---
    // Training mode (supervision exercises), in `sql/training.rs`.

    /// Creates a training module of a study (audited as `training.module.add` by `actor`).
    async fn create_training_module(
        &self,
        study: StudyId,
        module: &training::NewModule,
        actor: &str,
    ) -> Result<training::ModuleId>;
    /// The modules of a study, oldest first.
    async fn training_modules(&self, study: StudyId) -> Result<Vec<training::TrainingModule>>;
    /// One module.
    async fn training_module(
        &self,
        id: training::ModuleId,
    ) -> Result<Option<training::TrainingModule>>;
    /// Adds a trainee with the hash of their first link (audited as
    /// `training.trainee.add`); `Invalid` if the code is taken in the module.
    async fn add_trainee(
        &self,
        module: training::ModuleId,
        code: &str,
        token_hash: &str,
        actor: &str,
    ) -> Result<training::TraineeId>;
    /// Finds a trainee of a module by code.
    async fn trainee_id(
        &self,
        module: training::ModuleId,
        code: &str,
    ) -> Result<Option<training::TraineeId>>;
    /// Revokes the trainee's active link and stores the hash of a new one
    /// (`None`: only revoke). Audited as `training.link.issue` / `training.link.revoke`.
    async fn set_trainee_link(
        &self,
        trainee: training::TraineeId,
        token_hash: Option<&str>,
        actor: &str,
    ) -> Result<()>;
    /// Finds the trainee of an active link by the token's hash.
    async fn trainee_by_token(&self, token_hash: &str) -> Result<Option<training::TraineeRecord>>;
    /// The supervisor's list of a module's trainees, by code.
    async fn trainee_overview(
        &self,
        module: training::ModuleId,
    ) -> Result<Vec<training::TraineeOverview>>;
    /// Stores a submitted exercise; `Locked` if the trainee already did this segment.
    async fn save_exercise(
        &self,
        trainee: training::TraineeId,
        exercise: &training::Exercise,
    ) -> Result<()>;
    /// A trainee's exercises in the order submitted.
    async fn trainee_exercises(
        &self,
        trainee: training::TraineeId,
    ) -> Result<Vec<training::Exercise>>;
    /// Every exercise of a module as (trainee code, exercise), by trainee
    /// code then in the order submitted.
    async fn module_exercises(
        &self,
        module: training::ModuleId,
    ) -> Result<Vec<(String, training::Exercise)>>;

    // --- trainee accounts ---
    // Trainees who sign in (training mode), in `sql/training.rs`.

    /// Enrols the trainee account `username` in a module, creating the
    /// account with `new_password_hash` if no account has that name (audited
    /// as `training.trainee.enrol`). `Invalid` if the module has a trainee
    /// with that code already.
    async fn enrol_trainee_account(
        &self,
        module: training::ModuleId,
        username: &str,
        new_password_hash: &str,
        actor: &str,
    ) -> Result<training::Enrolment>;
    /// A trainee account by user name.
    async fn trainee_account_by_name(
        &self,
        username: &str,
    ) -> Result<Option<training::TraineeAccount>>;
    /// A trainee account by id.
    async fn trainee_account(
        &self,
        id: training::TraineeAccountId,
    ) -> Result<Option<training::TraineeAccount>>;
    /// Replaces a trainee account's password hash (`NotFound` if there is no
    /// such account).
    async fn set_trainee_password(
        &self,
        id: training::TraineeAccountId,
        password_hash: &str,
    ) -> Result<()>;
    /// The enrolments of an account, oldest first.
    async fn trainee_enrolments(
        &self,
        account: training::TraineeAccountId,
    ) -> Result<Vec<training::TraineeRecord>>;
    /// A trainee by row id.
    async fn trainee(&self, id: training::TraineeId) -> Result<Option<training::TraineeRecord>>;

    // --- web sessions ---
    // The web server's session store, in `sql/sessions.rs`, so that several
    // server processes share the sessions.

    /// The session `id` if it has not expired at `now` (epoch seconds),
    /// with its signed-in user, in one statement.
    async fn session_load(&self, id: &str, now: i64) -> Result<Option<StoredSession>>;
    /// Stores a new session; false (nothing stored) if the id is taken.
    async fn session_create(&self, session: &SessionRow) -> Result<bool>;
    /// Updates the session of this id; a session that no longer exists
    /// (deleted by a sign-out meanwhile) is not stored again.
    async fn session_save(&self, session: &SessionRow) -> Result<()>;
    /// Removes a session.
    async fn session_delete(&self, id: &str) -> Result<()>;
    /// Removes the sessions expired at `now`; returns how many.
    async fn session_delete_expired(&self, now: i64) -> Result<u64>;

    // --- rate limits ---
    // The web server's failed-attempt counters, in `sql/rate_limit.rs`, so
    // that several server processes share them.

    /// Records a failed attempt of `client` in `scope` at `now_ms` and
    /// returns its failures in the current window (`window_ms` long, from
    /// the first failure after the previous window passed).
    async fn rate_limit_fail(
        &self,
        scope: &str,
        client: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<i64>;
    /// The failures of `client` in `scope` in a window still open at `now_ms`.
    async fn rate_limit_failures(
        &self,
        scope: &str,
        client: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<i64>;
    /// Forgets the failures of `client` in `scope` (after a success).
    async fn rate_limit_clear(&self, scope: &str, client: &str) -> Result<()>;
    /// Takes one attempt of `client` in `scope` back off its count (an
    /// attempt counted before it was known to fail, which then succeeded).
    async fn rate_limit_forgive(&self, scope: &str, client: &str) -> Result<()>;

    // --- report ---

    /// The study's quote pins and exclusions: pins first, each kind in the order added.
    async fn quote_rules(&self, id: StudyId) -> Result<Vec<QuoteRule>>;
    /// Stores a pin or exclusion (false if the study has it already) and
    /// audits it. It must name an answer of the study and a theme of its
    /// codebook (a pin always names one). A pin replaces an exclusion of the
    /// same answer and theme, and the other way round.
    async fn add_quote_rule(&self, id: StudyId, rule: &QuoteRule, actor: &str) -> Result<bool>;
    /// Removes a pin or exclusion (false if there was none) and audits it.
    async fn remove_quote_rule(&self, id: StudyId, rule: &QuoteRule, actor: &str) -> Result<bool>;
    /// Removes every pin and exclusion of the study (audited); returns how many there were.
    async fn clear_quote_rules(&self, id: StudyId, actor: &str) -> Result<u64>;

    // --- audit (the audit-trail page) and search freshness ---

    /// A page of the study's audit trail matching the filter, newest first,
    /// and how many events match in all.
    async fn audit_page(
        &self,
        id: StudyId,
        filter: &AuditFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<AuditEvent>, i64)>;
    /// The actors and actions that occur in the study's audit trail.
    async fn audit_facets(&self, id: StudyId) -> Result<AuditFacets>;
    /// A cheap value that changes whenever the study's answers or transcripts
    /// change (the search index rebuilds a study when it differs).
    async fn search_fingerprint(&self, id: StudyId) -> Result<String>;

    // --- suggestions ---
    // Suggestions in the coding screen (see `suggest`); SQL in `sql/suggest.rs`.

    /// The study's suggestion switch and blind mode.
    async fn suggestion_setting(&self, id: StudyId) -> Result<SuggestionSetting>;
    /// Sets the researcher's choice (`None` = automatic: on unless blind);
    /// audited as `settings.suggestions` when it changes.
    async fn set_suggestion_setting(
        &self,
        id: StudyId,
        explicit: Option<bool>,
        actor: &str,
    ) -> Result<()>;
    /// A fingerprint of what the study's suggestion model learns from: the
    /// consensus codings, the codebook's paths and the open answers' ids. It
    /// changes whenever a retrained model could differ.
    async fn consensus_fingerprint(&self, id: StudyId) -> Result<String>;
    /// Whether `coder` is assigned the response: every open answer, unless
    /// the coder has a share assignment that leaves it out.
    async fn assigned_to(&self, id: StudyId, coder: &Key, response: ResponseId) -> Result<bool>;
    /// The codes `coder` rejected as suggestions for the response.
    async fn rejected_suggestions(
        &self,
        id: StudyId,
        coder: &Key,
        response: ResponseId,
    ) -> Result<Vec<CodePath>>;
    /// Accepts a suggestion: adds the coding exactly as [`Store::add_coding`]
    /// does (undo step, `coding.add` audit event whose detail ends with
    /// `(from suggestion, confidence 0.83)`) and records the decision, in
    /// one transaction.
    async fn accept_suggestion(
        &self,
        id: StudyId,
        new: &NewCoding,
        confidence: f64,
        actor: &str,
    ) -> Result<StoredCoding>;
    /// Remembers that `coder` rejected `code` for the response (audited as
    /// `suggestion.reject`); rejecting again changes nothing.
    async fn reject_suggestion(
        &self,
        id: StudyId,
        coder: &Key,
        response: ResponseId,
        code: &CodePath,
        confidence: f64,
        actor: &str,
    ) -> Result<()>;
    /// Every coder of the study (consensus excluded), in study order, with
    /// how many suggestions they accepted and rejected.
    async fn suggestions_used(&self, id: StudyId) -> Result<Vec<SuggestionUse>>;

    // --- search coding ---

    /// The open answers with text that `coder` may code: their assigned
    /// share, or every one when they have none (researchers included).
    async fn codable_responses(&self, id: StudyId, coder: &Key) -> Result<Vec<CodableResponse>>;
    /// Where `coder` has applied `code` already (response and span; `None` =
    /// the whole response): what "code all hits" skips.
    async fn coder_code_places(
        &self,
        id: StudyId,
        coder: &Key,
        code: &CodePath,
    ) -> Result<Vec<HitCoding>>;
    /// Adds `code` by `coder` at every place in one transaction — one
    /// `coding.add` audit event per coding plus one `coding.add_hits`
    /// summary naming `why` (the query) — as ONE step of the coder's undo
    /// log (`undo_coding` removes them all, `redo_coding` restores them).
    /// Places the coder has coded with this code already are skipped.
    /// `NotFound` for a response that is not an open answer of the study,
    /// `Invalid` for an unknown or uncodable code or a span outside the text.
    async fn add_hit_codings(
        &self,
        id: StudyId,
        coder: &Key,
        code: &CodePath,
        places: &[HitCoding],
        why: &str,
        actor: &str,
    ) -> Result<HitCodingOutcome>;
}

/// What [`Store::reorder`] reorders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordered {
    /// Segments (the study order).
    Segments,
    /// Questions.
    Questions,
    /// Participant attributes.
    Attributes,
}

/// A backend's connection pool.
#[derive(Debug, Clone)]
pub enum DbPool {
    /// SQLite.
    Sqlite(sqlx::SqlitePool),
    /// PostgreSQL.
    Postgres(sqlx::PgPool),
}

/// Whether `location` names a PostgreSQL database (`postgres://…` or
/// `postgresql://…`) rather than a SQLite file.
pub fn is_postgres(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// `location` without a password, for messages and logs.
pub fn display_location(location: &str) -> String {
    if is_postgres(location) {
        postgres::redact(location)
    } else {
        location.to_string()
    }
}

/// Opens (creating if needed) the database at `location`: a file path for
/// SQLite (`study.rupturelab`, or a `sqlite://` URL), or a PostgreSQL URL
/// (`postgres://user:password@host:port/database`; the database must exist,
/// its tables are created on first use).
pub async fn open(location: &str) -> Result<Box<dyn Store>> {
    if is_postgres(location) {
        return Ok(Box::new(postgres::PgStore::open(location).await?));
    }
    let path = location.strip_prefix("sqlite://").unwrap_or(location);
    Ok(Box::new(sqlite::SqliteStore::open(Path::new(path)).await?))
}

/// Finds a study by key, or the only study when `key` is `None`.
pub async fn find_study(store: &dyn Store, key: Option<&str>) -> Result<StudyInfo> {
    let studies = store.list_studies().await?;
    match key {
        Some(k) => studies
            .into_iter()
            .find(|s| s.key == k)
            .ok_or_else(|| StoreError::NoSuchStudy(k.to_string())),
        None => match studies.len() {
            0 => Err(StoreError::NoSuchStudy(
                "(the database is empty; run `rupturelab import FOLDER` or `rupturelab demo`)"
                    .into(),
            )),
            1 => Ok(studies.into_iter().next().unwrap()),
            _ => Err(StoreError::NoSuchStudy(format!(
                "(the database holds several studies: {}; choose one with --study KEY)",
                studies
                    .iter()
                    .map(|s| s.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        },
    }
}
