//! The session store chosen by `[session] store` (DESIGN.md "Sessions"), behind one type so the
//! router and the handlers never know which it is: `memory`, `sqlite://PATH` (the default) or
//! `redis://HOST:PORT`, each through tower-sessions' maintained stores.
//!
//! Expired sessions: tower-sessions never hands one out (each store checks the expiry date on
//! load). Removal: SQLite deletes them in the background every `SWEEP_INTERVAL`; Redis expires
//! the keys itself (`EXAT` on every write); the memory store (`MemoryRecords` below) drops them
//! on the same sweep.
//!
//! `/metrics` counts the unexpired sessions (`count_active`): a row count for SQLite, the keys of
//! the database for Redis (`DBSIZE`: give Portero a database of its own, `redis://host/N`).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use async_trait::async_trait;
use tower_sessions::{
    session::{Id, Record},
    session_store::{self, ExpiredDeletion},
    SessionStore,
};
use tower_sessions_redis_store::{
    fred::{
        clients::{Client, WithOptions},
        prelude::{
            Builder, ClientLike, Config as RedisConfig, Options, ReconnectPolicy, ServerInterface,
        },
    },
    RedisStore,
};
use tower_sessions_sqlx_store::{
    sqlx::{
        sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
        SqlitePool,
    },
    SqliteStore,
};

use crate::config::SessionStore as StoreConfig;

/// How often SQLite deletes the sessions that expired.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// Any one store operation, and the readiness check: a store that takes longer is unavailable
/// (503), rather than a request that hangs.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);
/// While Redis is unreachable, the client tries again this often (forever).
const REDIS_RECONNECT_DELAY_MS: u32 = 250;
/// At start-up, how long to wait for Redis before serving anyway (readiness answers 503 and
/// session routes 503 `store_unavailable` until it is reachable).
const REDIS_FIRST_CONNECT: Duration = Duration::from_secs(3);

/// The session store of this process. Cheap to clone; the background work (SQLite's sweeper,
/// the Redis connection task) stops when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    _tasks: Arc<BackgroundTasks>,
}

#[derive(Clone, Debug)]
enum Backend {
    Memory(MemoryRecords),
    Sqlite {
        store: SqliteStore,
        pool: SqlitePool,
    },
    Redis {
        store: RedisStore<WithOptions<Client>>,
        client: WithOptions<Client>,
    },
}

#[derive(Debug, Default)]
struct BackgroundTasks(Vec<tokio::task::AbortHandle>);

impl Drop for BackgroundTasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Why the store cannot be used right now (`/readyz`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(String);

impl Store {
    pub fn memory() -> Self {
        let records = MemoryRecords::default();
        let sweeper = tokio::runtime::Handle::try_current()
            .ok()
            .map(|runtime| runtime.spawn(sweep_memory(Arc::downgrade(&records.0))));
        Store {
            backend: Backend::Memory(records),
            _tasks: Arc::new(BackgroundTasks(
                sweeper.iter().map(|task| task.abort_handle()).collect(),
            )),
        }
    }

    /// Opens (and for SQLite, creates) the configured store.
    pub async fn open(config: &StoreConfig) -> anyhow::Result<Self> {
        match config {
            StoreConfig::Memory => Ok(Store::memory()),
            StoreConfig::Sqlite(path) => Self::sqlite(path).await,
            StoreConfig::Redis(url) => Self::redis(url).await,
        }
    }

    /// Where the development key goes when none is configured (`keys.rs`): next to the SQLite
    /// file, or `data/` for Redis. `None` for memory, whose sessions end with the process.
    pub fn key_file(config: &StoreConfig) -> Option<PathBuf> {
        match config {
            StoreConfig::Memory => None,
            StoreConfig::Sqlite(path) => Some(folder_of(path).join("secret.key")),
            StoreConfig::Redis(_) => Some(PathBuf::from("data/secret.key")),
        }
    }

    async fn sqlite(path: &Path) -> anyhow::Result<Self> {
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
        Ok(Store {
            backend: Backend::Sqlite { store, pool },
            _tasks: Arc::new(BackgroundTasks(vec![sweeper.abort_handle()])),
        })
    }

    async fn redis(url: &str) -> anyhow::Result<Self> {
        let mut config = RedisConfig::from_url(url)
            .map_err(|e| anyhow::anyhow!("session.store: {url:?} is not a Redis URL ({e})"))?;
        // Redis down at start-up is an outage like any other: keep trying in the background.
        config.fail_fast = false;
        let client = Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = STORE_TIMEOUT;
                c.internal_command_timeout = STORE_TIMEOUT;
            })
            .with_performance_config(|p| p.default_command_timeout = STORE_TIMEOUT)
            .set_policy(ReconnectPolicy::new_constant(0, REDIS_RECONNECT_DELAY_MS))
            .build()
            .map_err(|e| anyhow::anyhow!("session.store: cannot use {url:?} ({e})"))?;
        let connection = client.connect();
        let started = tokio::time::Instant::now();
        while !client.is_connected() && started.elapsed() < REDIS_FIRST_CONNECT {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if client.is_connected() {
            tracing::info!("sessions kept in Redis");
        } else {
            tracing::warn!(
                "session.store: Redis is not reachable yet; /readyz answers 503 and session \
                 routes 503 store_unavailable until it is"
            );
        }
        // While disconnected a command fails at once (503) instead of waiting in a queue.
        let client = client.with_options(&Options {
            fail_fast: true,
            timeout: Some(STORE_TIMEOUT),
            ..Options::default()
        });
        Ok(Store {
            backend: Backend::Redis {
                store: RedisStore::new(client.clone()),
                client,
            },
            _tasks: Arc::new(BackgroundTasks(vec![connection.abort_handle()])),
        })
    }

    /// Readiness: does the store answer now?
    pub async fn ping(&self) -> Result<(), Unavailable> {
        let check = async {
            match &self.backend {
                Backend::Memory(_) => Ok(()),
                Backend::Sqlite { pool, .. } => tower_sessions_sqlx_store::sqlx::query("select 1")
                    .execute(pool)
                    .await
                    .map(drop)
                    .map_err(|e| Unavailable(format!("SQLite: {e}"))),
                Backend::Redis { client, .. } => client
                    .ping::<String>(None)
                    .await
                    .map(drop)
                    .map_err(|e| Unavailable(format!("Redis: {e}"))),
            }
        };
        tokio::time::timeout(STORE_TIMEOUT, check)
            .await
            .unwrap_or_else(|_| Err(Unavailable("the store did not answer in time".into())))
    }

    /// The sessions that have not expired (`/metrics`): logged in, or a login under way.
    pub async fn count_active(&self) -> Result<u64, Unavailable> {
        let count = async {
            match &self.backend {
                Backend::Memory(records) => Ok(records.count_active()),
                Backend::Sqlite { pool, .. } => {
                    tower_sessions_sqlx_store::sqlx::query_scalar::<_, i64>(
                        "select count(*) from tower_sessions where expiry_date > ?",
                    )
                    .bind(time::OffsetDateTime::now_utc())
                    .fetch_one(pool)
                    .await
                    .map(|n| u64::try_from(n).unwrap_or(0))
                    .map_err(|e| Unavailable(format!("SQLite: {e}")))
                }
                // Keys expire with their sessions (`EXAT`), so every key is a live session.
                Backend::Redis { client, .. } => client
                    .dbsize::<u64>()
                    .await
                    .map_err(|e| Unavailable(format!("Redis: {e}"))),
            }
        };
        tokio::time::timeout(STORE_TIMEOUT, count)
            .await
            .unwrap_or_else(|_| Err(Unavailable("the store did not answer in time".into())))
    }

    fn inner(&self) -> &dyn SessionStore {
        match &self.backend {
            Backend::Memory(store) => store,
            Backend::Sqlite { store, .. } => store,
            Backend::Redis { store, .. } => store,
        }
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.inner().create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.inner().save(record).await
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        self.inner().load(session_id).await
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.inner().delete(session_id).await
    }
}

/// The `memory` store: tower-sessions-memory-store's map, which this crate can also count and
/// sweep (that crate keeps expired records until the process ends and cannot count them).
#[derive(Clone, Debug, Default)]
struct MemoryRecords(Arc<std::sync::Mutex<HashMap<Id, Record>>>);

impl MemoryRecords {
    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<Id, Record>> {
        // A panic while holding the lock cannot leave a half-written map: every change is
        // one insert or remove.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn drop_expired(&self) {
        let now = time::OffsetDateTime::now_utc();
        self.records().retain(|_, r| r.expiry_date > now);
    }

    fn count_active(&self) -> u64 {
        let now = time::OffsetDateTime::now_utc();
        let live = self
            .records()
            .values()
            .filter(|r| r.expiry_date > now)
            .count();
        u64::try_from(live).unwrap_or(u64::MAX)
    }
}

#[async_trait]
impl SessionStore for MemoryRecords {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut records = self.records();
        while records.contains_key(&record.id) {
            record.id = Id::default();
        }
        records.insert(record.id, record.clone());
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.records().insert(record.id, record.clone());
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let now = time::OffsetDateTime::now_utc();
        Ok(self
            .records()
            .get(session_id)
            .filter(|r| r.expiry_date > now)
            .cloned())
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.records().remove(session_id);
        Ok(())
    }
}

/// Drops the memory store's expired records every `SWEEP_INTERVAL`, for as long as it lives.
async fn sweep_memory(records: std::sync::Weak<std::sync::Mutex<HashMap<Id, Record>>>) {
    let mut every = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        every.tick().await;
        let Some(records) = records.upgrade() else {
            return;
        };
        MemoryRecords(records).drop_expired();
    }
}

/// The session layer's own save (after the handler, when the session changed) answers a bare
/// `500` with an empty body when the store fails; every other 500 of this API is JSON. Turned
/// into DESIGN.md's 503 `store_unavailable`. Handlers that change a session save it themselves
/// first (their failure is already a 503), so this is only the store failing in between.
pub fn failed_save_as_503(response: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse;
    let bare = response.status() == axum::http::StatusCode::INTERNAL_SERVER_ERROR
        && !response
            .headers()
            .contains_key(axum::http::header::CONTENT_TYPE);
    if bare {
        return crate::error::AppError::StoreUnavailable(
            "saving the session after the request failed".into(),
        )
        .into_response();
    }
    response
}

/// `data/sessions.db` → `data`; `sessions.db` → `.`.
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
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

    fn record(seconds_left: i64) -> Record {
        Record {
            id: Id::default(),
            data: [("k".to_owned(), serde_json::json!("v"))].into(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds_left),
        }
    }

    fn temp_db(name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/tmp")
            .join(format!("store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("nested").join("sessions.db")
    }

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
        let Backend::Sqlite {
            store: sqlite,
            pool,
        } = &store.backend
        else {
            unreachable!()
        };
        let mut expired = record(-5);
        let mut live = record(60);
        store.create(&mut expired).await.unwrap();
        store.create(&mut live).await.unwrap();
        assert_eq!(store.load(&expired.id).await.unwrap(), None);
        sqlite.delete_expired().await.unwrap();
        let rows: Vec<(String,)> =
            tower_sessions_sqlx_store::sqlx::query_as("select id from tower_sessions")
                .fetch_all(pool)
                .await
                .unwrap();
        assert_eq!(rows, [(live.id.to_string(),)]);
    }

    #[tokio::test]
    async fn memory_and_sqlite_count_only_unexpired_sessions() {
        let sqlite = Store::open(&StoreConfig::Sqlite(temp_db("count")))
            .await
            .unwrap();
        for store in [Store::memory(), sqlite] {
            assert_eq!(store.count_active().await.unwrap(), 0);
            let (mut expired, mut live) = (record(-5), record(60));
            store.create(&mut expired).await.unwrap();
            store.create(&mut live).await.unwrap();
            assert_eq!(store.count_active().await.unwrap(), 1, "{store:?}");
            store.delete(&live.id).await.unwrap();
            assert_eq!(store.count_active().await.unwrap(), 0);
        }
    }

    #[tokio::test]
    async fn the_memory_sweep_drops_expired_records_and_keeps_live_ones() {
        let records = MemoryRecords::default();
        let (mut expired, mut live) = (record(-5), record(60));
        records.create(&mut expired).await.unwrap();
        records.create(&mut live).await.unwrap();
        assert_eq!(records.records().len(), 2, "kept until the sweep");
        records.drop_expired();
        assert_eq!(records.records().keys().collect::<Vec<_>>(), [&live.id]);
    }

    #[tokio::test]
    async fn only_the_session_layers_bare_500_becomes_a_json_503() {
        use axum::{http::StatusCode, response::IntoResponse};
        let mut bare = axum::response::Response::default();
        *bare.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        let answered = failed_save_as_503(bare);
        assert_eq!(answered.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(answered.into_body(), 4096)
            .await
            .unwrap();
        let error: shared::ApiError = serde_json::from_slice(&body).unwrap();
        assert_eq!(error.error, "store_unavailable");

        let json_500 = crate::error::AppError::Internal(anyhow::anyhow!("x")).into_response();
        let kept = failed_save_as_503(json_500);
        assert_eq!(kept.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let fine = failed_save_as_503(axum::response::Response::default());
        assert_eq!(fine.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_unavailable_not_a_hang() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store = Store::open(&StoreConfig::Redis(format!("redis://127.0.0.1:{port}")))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        assert!(store.ping().await.is_err());
        assert!(store.load(&Id::default()).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
