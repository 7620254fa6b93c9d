//! The SQLite store: one study database is one file (WAL mode, foreign keys
//! on, migrations embedded and applied on open).

#[path = "../sql/audit.rs"]
mod audit;
#[path = "../sql/codebook.rs"]
mod codebook;
#[path = "../sql/coding.rs"]
mod coding;
mod direct;
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
    /// The coding API's adds and the session reads, run on the calling
    /// thread (falling back to the pools above when they cannot).
    direct: direct::Direct,
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
            direct: direct::Direct::new(path),
        })
    }
}

impl SqliteStore {
    /// The pool of the coding API's adds.
    fn coding_pool(&self) -> &SqlitePool {
        &self.coding_pool
    }

    /// The coding API's add on the calling thread; `None`: use the pool.
    fn direct_add(
        &self,
        study: &str,
        new: &NewCoding,
        span: SpanResolver<'_>,
        actor: &str,
    ) -> Option<Result<AddedCoding>> {
        let done = self.direct.add_coding_by_key(study, new, span, actor);
        if self.direct.checkpoint_due() {
            // In the background, on a pool connection's own thread. If it
            // fails, the next one (or any pool write's own checkpoint) does
            // the work: nothing is lost, the log is only longer meanwhile.
            let pool = self.pool.clone();
            tokio::spawn(async move {
                let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await;
            });
        }
        done
    }

    /// A session read on the calling thread; `None`: use the pool.
    fn direct_session(
        &self,
        id: &str,
        now: i64,
    ) -> Option<Result<Option<crate::web::StoredSession>>> {
        self.direct.session_load(id, now)
    }

    async fn close_pools(&self) {
        self.direct.close();
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

    /// A store with the example study, zeynep's first coding made (so she
    /// has a coder row), and a codable code and an open response.
    async fn coded() -> (tempfile::TempDir, SqliteStore, StudyId, NewCoding) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.rupturelab"))
            .await
            .unwrap();
        let id = store
            .create_study(&crate::testing::example_study("rupture-study"))
            .await
            .unwrap();
        let zeynep = Key::parse("zeynep").unwrap();
        let item = store
            .coding_queue(id, &zeynep, &QueueFilter::default())
            .await
            .unwrap()
            .remove(0);
        let code = store
            .coding_codebook(id)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.codable)
            .unwrap()
            .path;
        let new = NewCoding {
            coder: zeynep,
            response: item.id,
            code,
            span: None,
            memo: None,
        };
        store.add_coding(id, &new, "zeynep").await.unwrap();
        (dir, store, id, new)
    }

    async fn codings(store: &SqliteStore) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM codings")
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    fn span(a: usize, b: usize) -> impl Fn(&str) -> std::result::Result<Option<Span>, String> {
        move |_: &str| Ok(Some(Span { start: a, end: b }))
    }

    #[tokio::test]
    async fn the_direct_add_writes_the_coding_its_undo_step_and_its_audit_event() {
        let (_d, store, id, new) = coded().await;
        let audit = store.load_study(id).await.unwrap().audit.len();
        let added = store
            .direct
            .add_coding_by_key("rupture-study", &new, &span(0, 3), "zeynep")
            .expect("taken by the direct path")
            .unwrap();
        assert_eq!(added.coding.span, Some(Span { start: 0, end: 3 }));
        assert_eq!(
            store.coding(id, added.coding.id).await.unwrap(),
            Some(added.coding.clone())
        );
        assert_eq!(store.load_study(id).await.unwrap().audit.len(), audit + 1);
        assert_eq!(store.undo_depth(id, &new.coder).await.unwrap(), (2, 0));
        // Undone like any add.
        store.undo_coding(id, &new.coder, "zeynep").await.unwrap();
        assert_eq!(store.coding(id, added.coding.id).await.unwrap(), None);
        // Refusals are answered directly, as the usual path answers them.
        let again = store
            .direct
            .add_coding_by_key("rupture-study", &new, &|_: &str| Ok(None), "zeynep")
            .expect("answered by the direct path");
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        let nowhere = store
            .direct
            .add_coding_by_key("no-such-study", &new, &|_: &str| Ok(None), "zeynep")
            .expect("answered by the direct path");
        assert!(
            matches!(nowhere, Err(StoreError::NoSuchStudy(_))),
            "{nowhere:?}"
        );
        // Nothing left a transaction open: the pool writes at once.
        let mut tx =
            tokio::time::timeout(std::time::Duration::from_secs(2), begin_write(&store.pool))
                .await
                .expect("the lock is free")
                .unwrap();
        sqlx::query("SELECT 1").execute(&mut *tx).await.unwrap();
        tx.rollback().await.unwrap();
    }

    #[tokio::test]
    async fn the_direct_add_gives_way_when_the_lock_is_held_or_a_query_is_needed() {
        let (_d, store, id, new) = coded().await;
        let before = codings(&store).await;
        // Another connection holds the write lock: no wait on this thread,
        // nothing written, the usual path is asked to do it.
        let mut holder = store.pool.acquire().await.unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *holder)
            .await
            .unwrap();
        assert!(store
            .direct
            .add_coding_by_key("rupture-study", &new, &span(1, 4), "zeynep")
            .is_none());
        // Through the store: it waits for the lock, then writes.
        let store = std::sync::Arc::new(store);
        let add = {
            let (store, new) = (store.clone(), new.clone());
            tokio::spawn(async move {
                store
                    .add_coding_by_key("rupture-study", &new, &span(1, 4), "zeynep")
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!add.is_finished(), "it waits for the lock");
        sqlx::query("COMMIT").execute(&mut *holder).await.unwrap();
        drop(holder);
        let added = add.await.unwrap().unwrap();
        assert_eq!(added.coding.span, Some(Span { start: 1, end: 4 }));
        assert_eq!(codings(&store).await, before + 1);
        // A coder with no row yet, and a coder outside their share
        // assignment: checks that need queries of their own, left to the
        // usual path (which adds the coder, and refuses the coder).
        let deniz = NewCoding {
            coder: Key::parse("deniz").unwrap(),
            ..new.clone()
        };
        assert!(store
            .direct
            .add_coding_by_key("rupture-study", &deniz, &span(0, 2), "deniz")
            .is_none());
        store
            .set_assignment(
                id,
                &deniz.coder,
                Assignment::Share {
                    percent: 1.0,
                    seed: 7,
                },
                "ayla",
            )
            .await
            .unwrap();
        let assigned: Vec<i64> = sqlx::query_scalar(
            "SELECT s.response_id FROM coding_assigned s JOIN coders d ON d.id = s.coder_id WHERE d.name = 'deniz'",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        let open = store
            .coding_queue(id, &new.coder, &QueueFilter::default())
            .await
            .unwrap();
        let outside = NewCoding {
            response: open
                .iter()
                .map(|i| i.id)
                .find(|r| !assigned.contains(&r.0))
                .unwrap(),
            ..deniz.clone()
        };
        assert!(store
            .direct
            .add_coding_by_key("rupture-study", &outside, &span(0, 2), "deniz")
            .is_none());
        let e = store
            .add_coding_by_key("rupture-study", &outside, &span(0, 2), "deniz")
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Forbidden(_)), "{e}");
        assert_eq!(codings(&store).await, before + 1, "nothing else written");
    }

    #[tokio::test]
    async fn the_direct_session_read_matches_the_pools() {
        let (_d, store, _id, _new) = coded().await;
        let uid = store
            .create_user("ayla", crate::web::Role::Researcher, "hash")
            .await
            .unwrap();
        for (sid, user) in [("s-user", Some(uid.0)), ("s-anon", None)] {
            assert!(store
                .session_create(&crate::web::SessionRow {
                    id: sid.into(),
                    data: "{\"csrf\":\"x\"}".into(),
                    expires_at: 2_000,
                    user_id: user,
                })
                .await
                .unwrap());
        }
        for (sid, now) in [
            ("s-user", 1_000),
            ("s-anon", 1_000),
            ("s-user", 2_000),
            ("none", 1),
        ] {
            let direct = store
                .direct
                .session_load(sid, now)
                .expect("read directly")
                .unwrap();
            let pooled = sessions::load(&store.pool, sid, now).await.unwrap();
            assert_eq!(direct, pooled, "{sid} at {now}");
        }
        let s = store
            .direct
            .session_load("s-user", 1_000)
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(s.user.map(|u| u.username), Some("ayla".to_string()));
        // A closed store reads nothing more, directly or not.
        store.close().await;
        assert!(store.direct.session_load("s-user", 1_000).is_none());
        assert!(store.session_load("s-user", 1_000).await.is_err());
    }

    #[tokio::test]
    async fn direct_adds_keep_the_write_ahead_log_short() {
        let (d, store, id, new) = coded().await;
        let wal = d.path().join("t.rupturelab-wal");
        let responses: Vec<ResponseId> = store
            .coding_queue(id, &new.coder, &QueueFilter::default())
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect();
        let adds = 4 * super::direct::CHECKPOINT_EVERY as usize;
        let mut largest = 0;
        for n in 0..adds {
            let one = NewCoding {
                response: responses[n % responses.len()],
                ..new.clone()
            };
            let at = 1 + n / responses.len();
            store
                .direct_add("rupture-study", &one, &span(at, at + 1), "zeynep")
                .expect("direct")
                .unwrap();
            // Let the background checkpoint run now and then.
            if n % 50 == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
        }
        // Without checkpoints the log would hold every add's pages (about
        // ten each); with them it is reused from the start.
        let pages = largest / 4096;
        assert!(
            pages < 3 * 10 * super::direct::CHECKPOINT_EVERY as u64,
            "the log grew to {pages} pages over {adds} adds"
        );
    }
}
