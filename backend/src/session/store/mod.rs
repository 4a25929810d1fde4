//! The session store chosen by `[session] store` (DESIGN.md "Sessions"), behind one type so the
//! router and the handlers never know which it is: `memory`, `sqlite://PATH` (the default) or
//! `redis://HOST:PORT`, one file each.
//!
//! Expired sessions: no store hands one out (each checks the expiry date on load). Removal:
//! SQLite and the memory store delete them every `SWEEP_INTERVAL`; Redis expires the keys
//! itself (`EXAT` on every write).
//!
//! `/metrics` counts the unexpired sessions (`count_active`): logged in, or a login under way.

mod memory;
mod redis;
mod sqlite;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};

use crate::config::SessionStore as StoreConfig;

/// How often expired sessions are deleted (SQLite, memory).
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// Any one store operation, and the readiness check: a store that takes longer is unavailable
/// (503), rather than a request that hangs.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// The session store of this process. Cheap to clone; the background work (the sweepers, the
/// Redis connection task) stops when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    _tasks: Arc<BackgroundTasks>,
}

#[derive(Clone, Debug)]
enum Backend {
    Memory(memory::MemoryStore),
    Sqlite(sqlite::Sqlite),
    Redis(redis::Redis),
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
        let (store, task) = memory::MemoryStore::new();
        Store {
            backend: Backend::Memory(store),
            _tasks: Arc::new(BackgroundTasks(task.into_iter().collect())),
        }
    }

    /// Opens (and for SQLite, creates) the configured store.
    pub async fn open(config: &StoreConfig) -> anyhow::Result<Self> {
        let (backend, task) = match config {
            StoreConfig::Memory => return Ok(Store::memory()),
            StoreConfig::Sqlite(path) => {
                let (store, task) = sqlite::Sqlite::open(path).await?;
                (Backend::Sqlite(store), task)
            }
            StoreConfig::Redis(url) => {
                let (store, task) = redis::Redis::open(url).await?;
                (Backend::Redis(store), task)
            }
        };
        Ok(Store {
            backend,
            _tasks: Arc::new(BackgroundTasks(vec![task])),
        })
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

    /// Readiness: does the store answer now?
    pub async fn ping(&self) -> Result<(), Unavailable> {
        let check = async {
            match &self.backend {
                Backend::Memory(_) => Ok(()),
                Backend::Sqlite(store) => store.ping().await,
                Backend::Redis(store) => store.ping().await,
            }
        };
        within_timeout(check).await
    }

    /// The sessions that have not expired (`/metrics`): logged in, or a login under way.
    pub async fn count_active(&self) -> Result<u64, Unavailable> {
        let count = async {
            match &self.backend {
                Backend::Memory(store) => Ok(store.count_active()),
                Backend::Sqlite(store) => store.count_active().await,
                Backend::Redis(store) => store.count_active().await,
            }
        };
        within_timeout(count).await
    }

    fn inner(&self) -> &dyn SessionStore {
        match &self.backend {
            Backend::Memory(store) => store,
            Backend::Sqlite(store) => store,
            Backend::Redis(store) => store,
        }
    }
}

async fn within_timeout<T>(
    work: impl std::future::Future<Output = Result<T, Unavailable>>,
) -> Result<T, Unavailable> {
    tokio::time::timeout(STORE_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| Err(Unavailable("the store did not answer in time".into())))
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

/// `data/sessions.db` → `data`; `sessions.db` → `.`.
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn record(seconds_left: i64) -> Record {
        Record {
            id: Id::default(),
            data: [("k".to_owned(), serde_json::json!("v"))].into(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds_left),
        }
    }

    pub fn temp_db(name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/tmp")
            .join(format!("store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("nested").join("sessions.db")
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
}
