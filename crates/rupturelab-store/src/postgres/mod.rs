//! The PostgreSQL store, for a team on a shared server and several `serve`
//! processes on one database. It runs the same SQL as the SQLite store
//! (`src/sql/`, compiled here against the PostgreSQL types); only the hooks
//! below differ: row locks instead of SQLite's single writer, ids from
//! sequences, REPEATABLE READ snapshots for whole-study reads. Migrations
//! in `migrations/postgres/` mirror `migrations/sqlite/` version for version.

#[path = "../sql/audit.rs"]
mod audit;
#[path = "../sql/codebook.rs"]
mod codebook;
#[path = "../sql/coding.rs"]
mod coding;
#[path = "../sql/rate_limit.rs"]
mod rate_limit;
#[path = "../sql/report.rs"]
mod report;
#[path = "../sql/search_coding.rs"]
mod search_coding;
#[path = "../sql/sessions.rs"]
mod sessions;
#[path = "../sql/study.rs"]
mod study;
#[path = "../sql/suggest.rs"]
mod suggest;
#[path = "../sql/training.rs"]
mod training;
#[path = "../sql/transfer.rs"]
mod transfer;
#[path = "../sql/web.rs"]
mod web;

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use rupturelab_core::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::coding::*;
use crate::web::*;
use crate::{DbPool, Result, Store, StoreError, StudyId, StudyInfo};

/// A study database on a PostgreSQL server.
pub struct PgStore {
    pool: PgPool,
    /// Queues this process's coding writes (the hot path) before they ask
    /// the database for its write lock (SQLite's single writer, PostgreSQL's
    /// writers' advisory lock): a waiting writer then holds no pool
    /// connection, and on SQLite it is handed the lock as soon as the
    /// previous commit ends instead of sleeping in the busy handler (1, 2,
    /// 5… ms). Other processes still meet the database's own lock;
    /// durability is unchanged.
    coding_writes: tokio::sync::Mutex<()>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and
    /// brings the schema up to date (several processes may do this at once:
    /// the migrator takes an advisory lock).
    pub async fn open(url: &str) -> Result<Self> {
        let open_error = |source| StoreError::Open {
            path: redact(url),
            source,
        };
        let opts = PgConnectOptions::from_str(url).map_err(open_error)?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(open_error)?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore {
            pool,
            coding_writes: tokio::sync::Mutex::new(()),
        })
    }
}

/// The URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl PgStore {
    /// The pool of the coding API's adds: the one pool (a server's cache
    /// is shared by its connections).
    fn coding_pool(&self) -> &PgPool {
        &self.pool
    }

    /// Every PostgreSQL query goes over the network: no direct path.
    fn direct_add(
        &self,
        _study: &str,
        _new: &NewCoding,
        _span: SpanResolver<'_>,
        _actor: &str,
    ) -> Option<Result<AddedCoding>> {
        None
    }

    fn direct_session(
        &self,
        _id: &str,
        _now: i64,
    ) -> Option<Result<Option<crate::web::StoredSession>>> {
        None
    }

    async fn close_pools(&self) {
        self.pool.close().await;
    }
}

// ---- what the shared SQL (`src/sql/`) needs from this backend ----

pub(crate) use crate::codec::{invalid, key};

type Db = Postgres;
type Pool = PgPool;
type Conn = PgConnection;
type DbRow = PgRow;
type Tx<'a> = Transaction<'a, Postgres>;

/// Locks the row a write reads first (the participant's), so that writes
/// for one participant run one after the other, as under SQLite's lock.
const FOR_UPDATE: &str = " FOR UPDATE";

/// Locks the study row in a codebook write, so that one codebook change of a
/// study runs at a time (`NO KEY`: rows that merely refer to the study, such
/// as new responses and audit events, are not held up).
const LOCK_STUDY: &str = " FOR NO KEY UPDATE";

/// A prepared statement holds one command: no multi-statement queries.
const MULTI_STATEMENT: bool = false;

/// Starts a write transaction (READ COMMITTED; rows are locked as read).
async fn begin_write(pool: &Pool) -> Result<Tx<'static>> {
    let mut tx = pool.begin().await?;
    // Writers take one transaction-scoped advisory lock, so they run one at a
    // time as SQLite's `BEGIN IMMEDIATE` makes them: the shared SQL's
    // check-then-insert steps (a new coder, a duplicate coding, a version
    // check) cannot interleave at READ COMMITTED. Readers are not blocked.
    // `crates/rupturelab/tests/concurrency.rs` fails without it.
    sqlx::query("SELECT pg_advisory_xact_lock(7283101)")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Starts a write that touches one participant's rows only (autosave,
/// progress, consent, attributes). It does not take the writers' advisory
/// lock: such a write locks the participant's row first (`FOR UPDATE` in
/// `sql/web.rs`, or the row its `UPDATE` changes), so writes for one
/// participant still run one after the other, while different
/// participants' autosaves run side by side and their commits share the
/// WAL flush — under the global lock 200 autosaving participants queued
/// behind one another.
async fn begin_participant_write(pool: &Pool) -> Result<Tx<'static>> {
    Ok(pool.begin().await?)
}

/// Starts a read transaction on one snapshot (REPEATABLE READ, read only).
async fn begin_read(pool: &Pool) -> Result<Tx<'static>> {
    Ok(pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?)
}

/// `n` fresh row ids of `table` from its sequence (safe under concurrent
/// inserts; they need not be consecutive).
async fn reserve_ids(tx: &mut Tx<'_>, table: &str, n: usize) -> Result<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)",
    )
    .bind(table)
    .bind(n as i64)
    .fetch_all(&mut **tx)
    .await?)
}

fn db_pool(pool: &Pool) -> DbPool {
    DbPool::Postgres(pool.clone())
}

/// A REPEATABLE READ export of everything, written to a new SQLite file.
async fn backup_into(pool: &Pool, out: &Path) -> Result<()> {
    if out.exists() {
        return Err(invalid(format!(
            "`{}` exists already; choose a new file for the backup",
            out.display()
        )));
    }
    let data = transfer::export_database(pool, None).await?;
    let target = crate::sqlite::SqliteStore::open(out).await?;
    let result = target.import_database(&data).await;
    target.close().await;
    result.map(|_| ())
}

crate::store_impl::sql_store_impl!(PgStore);

#[cfg(test)]
mod tests {
    /// `version_name.sql` files of a migrations folder, sorted.
    fn migrations(backend: &str) -> Vec<String> {
        let dir = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn postgres_migrations_mirror_the_sqlite_ones_version_for_version() {
        let sqlite = migrations("sqlite");
        assert!(!sqlite.is_empty());
        assert_eq!(
            migrations("postgres"),
            sqlite,
            "every migrations/sqlite/NNNN_name.sql needs a migrations/postgres/NNNN_name.sql"
        );
    }

    #[test]
    fn passwords_are_left_out_of_shown_urls() {
        assert_eq!(
            super::redact("postgres://rl:secret@db:5432/study"),
            "postgres://rl:***@db:5432/study"
        );
        assert_eq!(
            super::redact("postgres://rl@db/study"),
            "postgres://rl@db/study"
        );
    }
}
