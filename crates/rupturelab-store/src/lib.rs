//! RuptureLab persistence: the [`Store`] trait that every caller uses, and
//! its SQLite implementation. A PostgreSQL implementation slots in behind the
//! same trait; [`open`] picks the backend from the database URL or path.
#![forbid(unsafe_code)]

pub mod audit;
mod codec;
pub mod sqlite;
pub mod web;

use std::path::Path;

use async_trait::async_trait;
use std::collections::BTreeMap;

use rupturelab_core::{
    Answer, AttrValue, AttributeDef, AuditEvent, Key, Language, Participant, Question, Response,
    Segment, Settings, StudyData, Timestamp,
};

pub use audit::{AuditFacets, AuditFilter};
pub use web::{
    OrderAssignment, ParticipantId, ParticipantOverview, ParticipantRecord, Role, StudyDesign,
    StudyProgress, User, UserId,
};

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
    /// Marks the participant completed; their answers are locked from now on.
    async fn submit(&self, participant: ParticipantId) -> Result<()>;

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
}

/// Opens (creating if needed) the database at `location`: a file path for
/// SQLite (`study.rupturelab`, or a `sqlite://` URL).
pub async fn open(location: &str) -> Result<Box<dyn Store>> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        return Err(StoreError::Invalid(
            "PostgreSQL databases are not supported by this build yet; use a SQLite file path"
                .into(),
        ));
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
