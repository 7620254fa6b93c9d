//! The two statements every coding request runs — its session read and the
//! coding API's add — run straight on the calling thread through rusqlite,
//! instead of through sqlx's connection worker thread.
//!
//! Each sqlx query is a round trip to that thread (a command over a channel
//! and the rows back, plus a ping when the connection returns to its pool):
//! on a small machine those thread hand-offs cost more than the SQLite work
//! they carry (≈150 µs for a whole add). Here a statement is a plain
//! function call. Nothing waits for a lock on the calling (async) thread
//! (it does the statement's own file I/O, as the worker thread did, but
//! never a checkpoint of the log): these
//! connections have no busy timeout, so when another connection holds the
//! write lock, or anything at all goes wrong before the commit, the
//! transaction is rolled back and the caller takes the usual sqlx path,
//! which waits for the lock, makes the rare checks that need a query of
//! their own (a researcher coding outside a share assignment, a coder's
//! first coding) and reports errors as always. The SQL and the checks are
//! those of `sql/coding.rs` and `sql/sessions.rs`, shared with that path.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Statement, ToSql};

use super::coding::{by_key_read, ByKeyRow, ByKeyTarget, BY_KEY_WRITES};
use super::sessions::{session_of, SessionColumns, LOAD};
use crate::coding::{AddedCoding, NewCoding, SpanResolver};
use crate::web::StoredSession;
use crate::{Result, StoreError};

/// Idle connections kept for reuse (a server has a few worker threads).
const KEEP: usize = 4;

/// Commits between two checkpoints of the write-ahead log. These
/// connections never checkpoint themselves (that would write and sync the
/// database file on the calling thread); an add writes ≈10 pages, so this
/// keeps the log near SQLite's own threshold of 1,000 pages.
pub(super) const CHECKPOINT_EVERY: u32 = 100;

/// `$1`…`$15`: the statements' parameters are named, as sqlx writes them.
const NAMES: [&str; 15] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
];

/// Connections to the study file for the direct path.
pub(super) struct Direct {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Commits since the last checkpoint was asked for.
    commits: AtomicU32,
    /// The store was closed: no connection is opened or lent any more.
    closed: AtomicBool,
}

/// Why the direct path did not finish.
enum Miss {
    /// Not for this path (the lock was taken, a check needs a query of its
    /// own, SQLite failed): the usual path does it from the start.
    Fallback,
    /// Refused for the user's request (404, 422, 409): the same answer the
    /// usual path would give.
    Refused(StoreError),
}

impl From<rusqlite::Error> for Miss {
    fn from(_: rusqlite::Error) -> Self {
        Miss::Fallback
    }
}

impl Direct {
    pub(super) fn new(path: &Path) -> Self {
        Direct {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            commits: AtomicU32::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// Closes the idle connections; later calls take the usual path.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    fn take(&self) -> Option<Connection> {
        if self.closed.load(Ordering::SeqCst) {
            return None;
        }
        let idle = self.idle.lock().ok()?.pop();
        idle.or_else(|| self.open().ok())
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        // The file exists: sqlx opened it and ran the migrations.
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Never wait on the calling thread: a held lock means "fall back".
        c.busy_timeout(Duration::ZERO)?;
        c.pragma_update(None, "foreign_keys", true)?;
        c.pragma_update(None, "synchronous", "NORMAL")?;
        c.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(c)
    }

    /// Puts a connection back; one left inside a transaction is rolled
    /// back first, and dropped (closed, which rolls back) if that fails.
    fn give_back(&self, c: Connection) {
        if !c.is_autocommit() && c.execute_batch("ROLLBACK").is_err() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < KEEP && !self.closed.load(Ordering::SeqCst) {
                idle.push(c);
            }
        }
    }

    /// The session and its user; `None`: take the usual path.
    pub(super) fn session_load(&self, id: &str, now: i64) -> Option<Result<Option<StoredSession>>> {
        let c = self.take()?;
        let row: rusqlite::Result<Option<SessionColumns>> = first_row(&c, LOAD, &[&id, &now]);
        self.give_back(c);
        Some(row.ok()?.map(session_of).transpose())
    }

    /// The coding API's add (see `add_coding_by_key`); `None`: take the
    /// usual path, nothing was written.
    pub(super) fn add_coding_by_key(
        &self,
        study: &str,
        new: &NewCoding,
        span: SpanResolver<'_>,
        actor: &str,
    ) -> Option<Result<AddedCoding>> {
        let c = self.take()?;
        let out = add_in(&c, study, new, span, actor);
        // Rolls back whatever did not commit.
        self.give_back(c);
        match out {
            Ok(added) => {
                self.commits.fetch_add(1, Ordering::Relaxed);
                Some(Ok(added))
            }
            Err(Miss::Refused(e)) => Some(Err(e)),
            Err(Miss::Fallback) => None,
        }
    }

    /// Whether the write-ahead log is due a checkpoint (see
    /// [`CHECKPOINT_EVERY`]); the count starts again when it says so.
    pub(super) fn checkpoint_due(&self) -> bool {
        self.commits
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n >= CHECKPOINT_EVERY).then_some(0)
            })
            .is_ok()
    }
}

/// Runs a (cached) statement with `values`; its first row as a tuple, if any.
fn first_row<T>(c: &Connection, sql: &str, values: &[&dyn ToSql]) -> rusqlite::Result<Option<T>>
where
    T: for<'r> TryFrom<&'r rusqlite::Row<'r>, Error = rusqlite::Error>,
{
    let mut st = c.prepare_cached(sql)?;
    bind(&mut st, values)?;
    let mut rows = st.raw_query();
    rows.next()?.map(T::try_from).transpose()
}

/// Binds `values` to the statement's `$1`, `$2`… (those it has).
fn bind(st: &mut Statement<'_>, values: &[&dyn ToSql]) -> rusqlite::Result<()> {
    for (name, v) in NAMES.iter().zip(values) {
        if let Some(at) = st.parameter_index(name)? {
            st.raw_bind_parameter(at, v)?;
        }
    }
    Ok(())
}

fn add_in(
    c: &Connection,
    study: &str,
    new: &NewCoding,
    span: SpanResolver<'_>,
    actor: &str,
) -> std::result::Result<AddedCoding, Miss> {
    c.execute_batch("BEGIN IMMEDIATE")?;
    let row: Option<ByKeyRow> = first_row(
        c,
        by_key_read(true),
        &[
            &study,
            &new.response.0,
            &new.code.as_str(),
            &new.coder.as_str(),
        ],
    )?;
    let target = ByKeyTarget::new(row, study, new).map_err(Miss::Refused)?;
    if !target.plainly_assigned() || !target.coder_known {
        return Err(Miss::Fallback);
    }
    let plan = target.plan(new, span, actor).map_err(Miss::Refused)?;
    // Read under the write lock: exact.
    plan.check_listed_duplicate().map_err(Miss::Refused)?;
    let p = plan.write_params();
    let values: [&dyn ToSql; 15] = [
        &p.sid,
        &p.response,
        &p.code,
        &p.coder,
        &p.start,
        &p.end,
        &p.memo,
        &p.created,
        &p.after,
        &p.actor,
        &p.entity,
        &p.detail,
        &p.clear_redo,
        &p.trim,
        &p.depth,
    ];
    // The coding, its id returned; then the statements that follow it.
    let (insert, rest) = BY_KEY_WRITES.split_first().ok_or(Miss::Fallback)?;
    let cid: Option<(i64,)> = first_row(c, insert, &values)?;
    for sql in rest {
        let mut st = c.prepare_cached(sql)?;
        bind(&mut st, &values)?;
        st.raw_execute()?;
    }
    let (cid,) = cid.ok_or(Miss::Fallback)?;
    c.execute_batch("COMMIT")?;
    Ok(plan.added(cid))
}
