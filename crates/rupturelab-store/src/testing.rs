//! Support for running one test suite on both backends (tests only; hidden
//! from the docs). [`db_test!`](crate::db_test) turns one test function into
//! two — `name::sqlite` and `name::postgres` — in the spirit of ripgrep's
//! `rgtest!`; the test body opens its database with [`TestDb::create`], which
//! makes a fresh SQLite file or a fresh, uniquely named PostgreSQL database
//! (dropped again when the `TestDb` is dropped, even after a panic).
//!
//! The PostgreSQL variant needs `RUPTURELAB_TEST_PG` (a server URL whose role
//! may create databases; `scripts/test` starts a throwaway cluster and sets
//! it). When the variable was not set at build time, the variant is marked
//! `#[ignore]` with that reason, so `cargo test` lists it as ignored rather
//! than passing it silently.
#![doc(hidden)]

use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

use crate::{Result, Store};

/// The environment variable naming the PostgreSQL server for tests.
pub const PG_ENV: &str = "RUPTURELAB_TEST_PG";

/// Which backend a test variant runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary folder.
    Sqlite,
    /// A fresh database on the `RUPTURELAB_TEST_PG` server.
    Postgres,
}

thread_local! {
    static BACKEND: Cell<Backend> = const { Cell::new(Backend::Sqlite) };
}

/// Sets the backend of the test running on this thread (done by `db_test!`).
pub fn set_backend(b: Backend) {
    BACKEND.with(|c| c.set(b));
}

/// The backend of the test running on this thread.
pub fn backend() -> Backend {
    BACKEND.with(|c| c.get())
}

/// A fresh test database; a PostgreSQL one is dropped on drop.
#[derive(Debug)]
pub struct TestDb {
    /// What `rupturelab_store::open` takes: a file path or a URL.
    pub location: String,
    /// The backend.
    pub backend: Backend,
    pg: Option<(String, String)>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDb {
    /// A fresh database of the current test's backend: SQLite at
    /// `sqlite_path`, or a new database on the PostgreSQL test server.
    pub async fn create(sqlite_path: &Path) -> TestDb {
        Self::create_for(backend(), sqlite_path).await
    }

    /// A fresh database of the given backend.
    pub async fn create_for(backend: Backend, sqlite_path: &Path) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb {
                location: sqlite_path.display().to_string(),
                backend,
                pg: None,
            },
            Backend::Postgres => {
                let admin = std::env::var(PG_ENV).unwrap_or_else(|_| {
                    panic!("{PG_ENV} is not set: run scripts/test, or set it to postgres://USER:PASSWORD@127.0.0.1:PORT/DB (a role that may CREATE DATABASE)")
                });
                let name = format!(
                    "rl_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.subsec_nanos())
                        .unwrap_or(0)
                );
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("cannot connect to {PG_ENV}: {e}"));
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
                let _ = conn.close().await;
                TestDb {
                    location: with_database(&admin, &name),
                    backend,
                    pg: Some((admin, name)),
                }
            }
        }
    }

    /// Opens the store.
    pub async fn open(&self) -> Result<Box<dyn Store>> {
        crate::open(&self.location).await
    }
}

/// `url` with its database name replaced by `name` (query kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg.take() else {
            return;
        };
        // Drop is synchronous and may run inside a runtime: use a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// Writes a test once and runs it on both backends: `db_test! { #[tokio::test]
/// async fn name() { … } }` (or a plain `#[test] fn`) becomes a module `name`
/// with the tests `sqlite` and `postgres`. The body opens its database with
/// `TestDb::create`. The PostgreSQL variant is `#[ignore]`d, with the reason,
/// unless `RUPTURELAB_TEST_PG` was set when the tests were built (the crate's
/// build script sets the `rupturelab_test_pg` cfg).
#[macro_export]
macro_rules! db_test {
    ($(#[$m:meta])* async fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(#[$m])*
            async fn sqlite() {
                $crate::testing::set_backend($crate::testing::Backend::Sqlite);
                $body
            }
            $(#[$m])*
            #[cfg_attr(not(rupturelab_test_pg), ignore = "RUPTURELAB_TEST_PG was not set when the tests were built; scripts/test sets it")]
            async fn postgres() {
                $crate::testing::set_backend($crate::testing::Backend::Postgres);
                $body
            }
        }
    };
    ($(#[$m:meta])* fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(#[$m])*
            fn sqlite() {
                $crate::testing::set_backend($crate::testing::Backend::Sqlite);
                $body
            }
            $(#[$m])*
            #[cfg_attr(not(rupturelab_test_pg), ignore = "RUPTURELAB_TEST_PG was not set when the tests were built; scripts/test sets it")]
            fn postgres() {
                $crate::testing::set_backend($crate::testing::Backend::Postgres);
                $body
            }
        }
    };
}

/// A study folder of the repository's `examples/` as a file map (tests only:
/// the path is that of the source checkout).
pub fn example_files(name: &str) -> rupturelab_core::folder::FolderFiles {
    let dir = format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut files = rupturelab_core::folder::FolderFiles::new();
    for sub in ["", "segments/"] {
        for e in std::fs::read_dir(format!("{dir}/{sub}")).expect("the examples folder") {
            let e = e.expect("an entry of the examples folder");
            let rel = format!("{sub}{}", e.file_name().to_string_lossy());
            if e.file_type().is_ok_and(|t| t.is_file())
                && rupturelab_core::folder::is_study_file(&rel)
            {
                files.insert(rel, std::fs::read(e.path()).expect("an example file"));
            }
        }
    }
    files
}

/// An example study of the repository's `examples/`, parsed (tests only).
pub fn example_study(name: &str) -> rupturelab_core::StudyData {
    rupturelab_core::folder::parse_folder(&example_files(name)).expect("the example study parses")
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_and_the_query_kept() {
        assert_eq!(
            with_database("postgres://u:p@127.0.0.1:5432/rupturelab", "x"),
            "postgres://u:p@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
    }
}
