//! The session store: sessions live in the study database (SQLite or
//! PostgreSQL, through tower-sessions-sqlx-store), so a restart keeps them and
//! several `serve` processes on one PostgreSQL database share them.

use async_trait::async_trait;
use rupturelab_store::DbPool;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// The backend's session store.
#[derive(Debug, Clone)]
pub enum Sessions {
    /// In the SQLite file (table `tower_sessions`).
    Sqlite(SqliteStore),
    /// In the PostgreSQL database (schema `tower_sessions`).
    Postgres(PostgresStore),
}

impl Sessions {
    /// The session store on the store's own pool.
    pub fn new(pool: DbPool) -> Self {
        match pool {
            DbPool::Sqlite(p) => Sessions::Sqlite(SqliteStore::new(p)),
            DbPool::Postgres(p) => Sessions::Postgres(PostgresStore::new(p)),
        }
    }

    /// Creates the session table if it is missing.
    pub async fn migrate(&self) -> std::io::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.migrate().await,
            Sessions::Postgres(s) => s.migrate().await,
        }
        .map_err(std::io::Error::other)
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.create(record).await,
            Sessions::Postgres(s) => s.create(record).await,
        }
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.save(record).await,
            Sessions::Postgres(s) => s.save(record).await,
        }
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Sessions::Sqlite(s) => s.load(id).await,
            Sessions::Postgres(s) => s.load(id).await,
        }
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.delete(id).await,
            Sessions::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.delete_expired().await,
            Sessions::Postgres(s) => s.delete_expired().await,
        }
    }
}
