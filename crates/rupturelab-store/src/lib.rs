//! RuptureLab persistence: the [`Store`] trait that every caller uses, and
//! its SQLite implementation. A PostgreSQL implementation slots in behind the
//! same trait; [`open`] picks the backend from the database URL or path.
#![forbid(unsafe_code)]

mod codec;
pub mod sqlite;

use std::path::Path;

use async_trait::async_trait;
use rupturelab_core::{AuditEvent, StudyData};

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
