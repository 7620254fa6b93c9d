//! The SQLite store: one study database is one file (WAL mode, foreign keys
//! on, migrations embedded and applied on open).

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

use async_trait::async_trait;
use rupturelab_core::*;
use sqlx::sqlite::SqliteRow;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::coding::*;
use crate::web::*;
use crate::{DbPool, Result, Store, StoreError, StudyId, StudyInfo};

/// A study database in one SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
    /// Queues this process's coding writes (the hot path) before they ask
    /// the database for its write lock (SQLite's single writer, PostgreSQL's
    /// writers' advisory lock): a waiting writer then holds no pool
    /// connection, and on SQLite it is handed the lock as soon as the
    /// previous commit ends instead of sleeping in the busy handler (1, 2,
    /// 5… ms). Other processes still meet the database's own lock;
    /// durability is unchanged.
    coding_writes: tokio::sync::Mutex<()>,
    /// One connection for the coding API's adds (the hot path). Only it
    /// writes them, so its page cache stays valid from one add to the next
    /// (SQLite empties a connection's cache when another one has written),
    /// instead of re-reading the pages of four tables and their indexes
    /// each time.
    coding_pool: SqlitePool,
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
        // No ping before each use: an in-process connection cannot have gone
        // away, and the ping is one more hand-off to the connection's worker
        // thread on every query (a tenth of a coding write's time).
        let connect = |n: u32| {
            SqlitePoolOptions::new()
                .max_connections(n)
                .test_before_acquire(false)
                .connect_with(opts.clone())
        };
        let open_error = |e| StoreError::Open {
            path: path.display().to_string(),
            source: e,
        };
        let pool = connect(4).await.map_err(open_error)?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let coding_pool = connect(1).await.map_err(open_error)?;
        Ok(SqliteStore {
            pool,
            coding_writes: tokio::sync::Mutex::new(()),
            coding_pool,
        })
    }
}

impl SqliteStore {
    /// The pool of the coding API's adds.
    fn coding_pool(&self) -> &SqlitePool {
        &self.coding_pool
    }

    async fn close_pools(&self) {
        self.coding_pool.close().await;
        self.pool.close().await;
    }
}

// ---- what the shared SQL (`src/sql/`) needs from this backend ----

pub(crate) use crate::codec::{invalid, key};

type Db = Sqlite;
type Pool = SqlitePool;
type Conn = SqliteConnection;
type DbRow = SqliteRow;
type Tx<'a> = Transaction<'a, Sqlite>;

/// Locks the row a write reads first; SQLite's write transaction
/// (`BEGIN IMMEDIATE`) already excludes every other writer.
const FOR_UPDATE: &str = "";

/// Locks the study row in a codebook write; the write lock already does.
const LOCK_STUDY: &str = "";

/// Several statements may go in one query (sent to the connection's worker
/// thread at once, each hand-off to it costing more than the statement).
const MULTI_STATEMENT: bool = true;

/// Starts a write transaction that takes the write lock at once
/// (`BEGIN IMMEDIATE`): a deferred one that reads first can fail with
/// SQLITE_BUSY_SNAPSHOT when another writer commits in between, which the
/// busy timeout does not retry. Concurrent autosaves hit exactly that.
async fn begin_write(pool: &Pool) -> Result<Tx<'static>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// A write that touches one participant's rows only (autosave, progress,
/// consent, attributes): on SQLite the same single writer lock.
async fn begin_participant_write(pool: &Pool) -> Result<Tx<'static>> {
    begin_write(pool).await
}

/// Starts a read transaction: in WAL mode it reads one snapshot throughout.
async fn begin_read(pool: &Pool) -> Result<Tx<'static>> {
    Ok(pool.begin().await?)
}

/// `n` fresh row ids of `table` for multi-row inserts (the caller holds the
/// write lock, so nobody else takes them meanwhile).
async fn reserve_ids(tx: &mut Tx<'_>, table: &str, n: usize) -> Result<Vec<i64>> {
    let max: i64 = sqlx::query_scalar(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}"))
        .fetch_one(&mut **tx)
        .await?;
    Ok((1..=n as i64).map(|i| max + i).collect())
}

fn db_pool(pool: &Pool) -> DbPool {
    DbPool::Sqlite(pool.clone())
}

/// `VACUUM INTO`: a consistent copy made inside one read transaction, while
/// other connections keep writing.
async fn backup_into(pool: &Pool, out: &Path) -> Result<()> {
    if out.exists() {
        return Err(invalid(format!(
            "`{}` exists already; choose a new file for the backup",
            out.display()
        )));
    }
    sqlx::query("VACUUM INTO $1")
        .bind(out.display().to_string())
        .execute(pool)
        .await?;
    Ok(())
}

crate::store_impl::sql_store_impl!(SqliteStore);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_inline_transaction_dropped_open_never_goes_back_to_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.rupturelab"))
            .await
            .unwrap();
        {
            let mut tx = coding::InlineTx {
                conn: store.pool.acquire().await.unwrap(),
                open: true,
            };
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut *tx.conn)
                .await
                .unwrap();
            // Dropped here, as a cancelled request drops it.
        }
        // Its connection was closed, which rolled the transaction back: the
        // next writer gets the lock at once (not after the 10 s busy
        // timeout), and no pooled connection is inside a transaction.
        let write = async {
            for _ in 0..8 {
                let mut tx = begin_write(&store.pool).await.unwrap();
                sqlx::query("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(3), write)
            .await
            .expect("the lock was free");
        let mut conns = Vec::new();
        for _ in 0..4 {
            let mut c = store.pool.acquire().await.unwrap();
            // A connection inside a transaction refuses a nested BEGIN.
            sqlx::query("BEGIN").execute(&mut *c).await.unwrap();
            sqlx::query("ROLLBACK").execute(&mut *c).await.unwrap();
            conns.push(c);
        }
    }
}
