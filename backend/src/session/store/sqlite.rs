//! `sqlite://PATH` (the default, `sqlite://data/sessions.db`): a file, created with its folder on
//! first start; sessions survive a restart. tower-sessions-sqlx-store's table, in WAL mode.

use std::path::Path;

use anyhow::Context;
use async_trait::async_trait;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, ExpiredDeletion},
    SessionStore,
};
use tower_sessions_sqlx_store::{
    sqlx::{
        sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
        SqlitePool,
    },
    SqliteStore,
};

use super::{folder_of, Unavailable, STORE_TIMEOUT, SWEEP_INTERVAL};

#[derive(Clone, Debug)]
pub struct Sqlite {
    store: SqliteStore,
    pool: SqlitePool,
}

impl Sqlite {
    /// The store, and the task that deletes expired rows.
    pub async fn open(path: &Path) -> anyhow::Result<(Self, tokio::task::AbortHandle)> {
        let context = || format!("session.store: cannot open SQLite file {}", path.display());
        std::fs::create_dir_all(folder_of(path)).with_context(context)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            // Readers never wait for a writer; a writer waits a little for another.
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL cannot corrupt the file; a power cut may lose the last commits
            // (sessions of the last moments, who log in again). FULL fsyncs every commit.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(STORE_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .acquire_timeout(STORE_TIMEOUT)
            .connect_with(options)
            .await
            .with_context(context)?;
        restrict_to_owner(path);
        let store = SqliteStore::new(pool.clone());
        store.migrate().await.with_context(context)?;
        let sweeper = tokio::spawn(sweep_expired(store.clone()));
        tracing::info!(path = %path.display(), "sessions kept in SQLite");
        Ok((Sqlite { store, pool }, sweeper.abort_handle()))
    }

    pub async fn ping(&self) -> Result<(), Unavailable> {
        tower_sessions_sqlx_store::sqlx::query("select 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(|e| Unavailable(format!("SQLite: {e}")))
    }

    pub async fn count_active(&self) -> Result<u64, Unavailable> {
        tower_sessions_sqlx_store::sqlx::query_scalar::<_, i64>(
            "select count(*) from tower_sessions where expiry_date > ?",
        )
        .bind(time::OffsetDateTime::now_utc())
        .fetch_one(&self.pool)
        .await
        .map(|n| u64::try_from(n).unwrap_or(0))
        .map_err(|e| Unavailable(format!("SQLite: {e}")))
    }
}

#[async_trait]
impl SessionStore for Sqlite {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.store.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store.save(record).await
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        self.store.load(session_id).await
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.store.delete(session_id).await
    }
}

/// The sessions file names who is logged in: readable by the backend's user only.
fn restrict_to_owner(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(path = %path.display(), error = %e, "cannot make the sessions file private");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// tower-sessions-sqlx-store's `continuously_delete_expired` ends at its first error; this
/// loop logs it and goes on.
async fn sweep_expired(store: SqliteStore) {
    let mut every = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        every.tick().await;
        if let Err(e) = store.delete_expired().await {
            tracing::warn!(error = %e, "cannot delete expired sessions");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        config::SessionStore as StoreConfig,
        session::store::{
            tests::{record, temp_db},
            Backend, Store,
        },
    };

    #[tokio::test]
    async fn sqlite_creates_its_folder_and_file_and_keeps_records_across_opens() {
        let path = temp_db("reopen");
        let store = Store::open(&StoreConfig::Sqlite(path.clone()))
            .await
            .unwrap();
        assert!(path.exists());
        store.ping().await.unwrap();
        let mut kept = record(60);
        store.create(&mut kept).await.unwrap();
        drop(store);
        let again = Store::open(&StoreConfig::Sqlite(path)).await.unwrap();
        assert_eq!(again.load(&kept.id).await.unwrap(), Some(kept));
    }

    #[tokio::test]
    async fn sqlite_deletes_expired_rows_and_never_loads_them() {
        let path = temp_db("expiry");
        let store = Store::open(&StoreConfig::Sqlite(path)).await.unwrap();
        let Backend::Sqlite(sqlite) = &store.backend else {
            unreachable!()
        };
        let mut expired = record(-5);
        let mut live = record(60);
        store.create(&mut expired).await.unwrap();
        store.create(&mut live).await.unwrap();
        assert_eq!(store.load(&expired.id).await.unwrap(), None);
        sqlite.store.delete_expired().await.unwrap();
        let rows: Vec<(String,)> =
            tower_sessions_sqlx_store::sqlx::query_as("select id from tower_sessions")
                .fetch_all(&sqlite.pool)
                .await
                .unwrap();
        assert_eq!(rows, [(live.id.to_string(),)]);
    }
}
