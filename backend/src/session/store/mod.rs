//! The session store chosen by `[session] store` (docs/design.md, "Session stores"): `memory`,
//! `sqlite://PATH` (the default) or `redis://HOST:PORT`, one file each behind [`Backend`], and
//! [`Store`], what the rest of the session module sees. A store keeps values it cannot read:
//! each session record is sealed whole by `session/sealed.rs` before it gets here, and the
//! index facts beside it (person, provider session) are keyed hashes. Nothing here seals or
//! parses a record.
//!
//! What every backend guarantees (docs/SECURITY.md, rules 12–14):
//! - Records are keyed by [`Key`], a SHA-256 of the session id, never by the id itself: whoever
//!   reads the store or a backup of it learns no cookie value (rule 12).
//! - An update only replaces a record that is still there, and a record is inserted only under
//!   a new key: a session that ended (logout, expiry, a refused refresh) never comes back, even
//!   when a request that read it earlier saves afterwards (rule 14).
//! - A login attempt is its own record, living `login_timeout_secs`, and taking it is one
//!   atomic step (delete-and-return): of two requests with one state, one gets it (rules 13, 14).
//! - Expired records are never handed out; SQLite and memory delete them on a sweep, Redis
//!   expires them itself.
//! - A store shared by replicas (Redis) has a lock per session ([`Store::try_lock`]); how it is
//!   used is `session/lock.rs`'s.
//! - A session that ends, or whose facts change, is announced ([`Store::changes`]) to this
//!   process and, with Redis, to every replica (pub/sub): what watches a session (its
//!   WebSockets, rule 19) looks at it again. A notice is only a prompt to read the store, so a
//!   forged or lost one ends nothing that lives.

mod cache;
mod memory;
mod redis;
mod sqlite;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tower_sessions::{session::Id, session_store};

use crate::config::SessionStore as StoreConfig;

/// Any one store operation, and the readiness check: a store that takes longer is unavailable
/// (503), rather than a request that hangs.
pub(crate) const STORE_TIMEOUT: Duration = Duration::from_secs(2);
/// How many notices of changed sessions wait for a slow reader before it is told it missed
/// some ([`Changed::Any`]).
const CHANGES_BUFFER: usize = 1024;
/// Expired records are deleted at least this often (more often when login attempts live less).
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Where a record lives: SHA-256 of what identifies it. One-way, so the key in the store cannot
/// be turned back into the cookie value (the id carries 128 random bits: no dictionary to try).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key([u8; 32]);

impl Key {
    /// The key of a session.
    pub fn of_session(id: &Id) -> Key {
        Key(Sha256::new()
            .chain_update(b"portero session\0")
            .chain_update(id.0.to_le_bytes())
            .finalize()
            .into())
    }

    /// The key under which a `jti` (back-channel logout, rule 14) is remembered.
    pub fn of_seen(provider: &str, jti: &str) -> Key {
        Key(Sha256::new()
            .chain_update(b"portero seen\0")
            .chain_update(provider.as_bytes())
            .chain_update(b"\0")
            .chain_update(jti.as_bytes())
            .finalize()
            .into())
    }

    /// A handle shown to the person for one of their sessions (`GET /api/sessions`): the first
    /// half of the key, as hex. Not a cookie value, nor anything one can be made from.
    pub fn handle(&self) -> String {
        self.hex()[..32].to_owned()
    }

    /// The key of a login attempt: its browser's binding (kept in that browser's session) and
    /// its state.
    pub fn of_attempt(binding: &str, state: &str) -> Key {
        Key(Sha256::new()
            .chain_update(b"portero attempt\0")
            .chain_update(binding.as_bytes())
            .chain_update(b"\0")
            .chain_update(state.as_bytes())
            .finalize()
            .into())
    }

    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The key whose [`Key::hex`] `text` is.
    pub fn from_hex(text: &str) -> Option<Key> {
        if text.len() != 64 {
            return None;
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Key(key))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({}…)", &self.hex()[..8])
    }
}

/// What a store keeps of a session: a value it cannot read (the sealed record), when it expires
/// (for the store's own cleaning: the sealed record carries the expiry that counts), and the
/// index facts it is found by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub value: String,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
    /// A keyed hash of the logged-in person, for "this person's sessions".
    pub person: Option<String>,
    /// A keyed hash of the provider's session (the id_token's `sid`), for back-channel logout.
    pub sid: Option<String>,
}

fn millis(at: time::OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub fn now_millis() -> i64 {
    millis(time::OffsetDateTime::now_utc())
}

/// A notice that sessions changed: whoever watches one looks at it in the store again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Changed {
    /// The session under this key ended, or its facts changed.
    Session(Key),
    /// Notices may have been missed (Redis reconnected, a reader fell behind): every session.
    Any,
}

/// Why the store cannot be used right now (`/readyz`, 503 `store_unavailable`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

impl From<Unavailable> for session_store::Error {
    fn from(e: Unavailable) -> Self {
        session_store::Error::Backend(e.0)
    }
}

/// What counts at a `/metrics` scrape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Unexpired sessions: logged in, or a browser with a login under way.
    pub sessions: u64,
    /// Unexpired login attempts not yet used.
    pub attempts: u64,
}

/// One kind of store. Every method is one atomic step at the store.
#[async_trait]
trait Backend: Send + Sync + std::fmt::Debug {
    /// Stores `entry` under a key nothing holds; false when the key is taken.
    async fn insert(&self, key: &Key, entry: &Entry) -> Result<bool, Unavailable>;
    /// Replaces the entry under `key` if one is there and unexpired; false when none is.
    async fn update(&self, key: &Key, entry: &Entry) -> Result<bool, Unavailable>;
    /// The value under `key`, if there and unexpired.
    async fn get(&self, key: &Key) -> Result<Option<String>, Unavailable>;
    async fn remove(&self, key: &Key) -> Result<(), Unavailable>;
    async fn put_attempt(&self, key: &Key, sealed: &str, until: i64) -> Result<(), Unavailable>;
    /// Removes and returns the unexpired attempt under `key`, in one step.
    async fn take_attempt(&self, key: &Key) -> Result<Option<String>, Unavailable>;
    async fn count(&self) -> Result<Counts, Unavailable>;
    async fn ping(&self) -> Result<(), Unavailable>;
    /// The unexpired sessions indexed under `person`, with their values.
    async fn sessions_of(&self, person: &str) -> Result<Vec<(Key, String)>, Unavailable>;
    /// The unexpired sessions indexed under the provider session `sid`, with their values.
    async fn sessions_with_sid(&self, sid: &str) -> Result<Vec<(Key, String)>, Unavailable>;
    /// Notes `key` as seen until `expires_at`: false when it was seen already (a replay).
    async fn first_sight(&self, key: &Key, expires_at: i64) -> Result<bool, Unavailable>;
    /// Whether several processes share this store (and so need [`Backend::try_lock`]).
    fn shared(&self) -> bool {
        false
    }
    /// A lock on `key` held by `token` for `ttl_ms` at most, shared by every replica: false
    /// while another holds it. Stores used by one process only need none (true at once).
    async fn try_lock(&self, _key: &Key, _token: &str, _ttl_ms: i64) -> Result<bool, Unavailable> {
        Ok(true)
    }
    /// Makes the lock `token` holds last `ttl_ms` from now; false when it no longer holds it.
    async fn renew(&self, _key: &Key, _token: &str, _ttl_ms: i64) -> Result<bool, Unavailable> {
        Ok(true)
    }
    /// Releases the lock `token` holds (if it still does).
    async fn unlock(&self, _key: &Key, _token: &str) -> Result<(), Unavailable> {
        Ok(())
    }
    /// Deletes what has expired (a no-op where the store expires records itself).
    async fn sweep(&self) -> Result<(), Unavailable>;
    /// Tells the other processes sharing the store that the session `key` changed. Stores of
    /// one process have no one else to tell.
    async fn publish(&self, _key: &Key) -> Result<(), Unavailable> {
        Ok(())
    }
}

/// The session store of this process. Cheap to clone; the background work (the sweeper, the
/// Redis connection task) stops when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Arc<dyn Backend>,
    changes: tokio::sync::broadcast::Sender<Changed>,
    _tasks: Arc<BackgroundTasks>,
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

impl Store {
    /// A store in memory, without the configuration `open` reads: for tests and benchmarks.
    #[cfg(any(test, feature = "internals"))]
    pub fn memory() -> Self {
        Store::with(
            Arc::new(memory::Memory::default()),
            Vec::new(),
            SWEEP_INTERVAL,
            changes(),
        )
    }

    /// Opens (and for SQLite, creates) the configured store. Expired records are swept at
    /// least every `sweep_every`.
    pub async fn open(config: &StoreConfig, sweep_every: Duration) -> anyhow::Result<Self> {
        let sweep_every = sweep_every.clamp(Duration::from_secs(1), SWEEP_INTERVAL);
        let changes = changes();
        Ok(match config {
            StoreConfig::Memory => Store::with(
                Arc::new(memory::Memory::default()),
                Vec::new(),
                sweep_every,
                changes,
            ),
            StoreConfig::Sqlite(path) => Store::with(
                sqlite::shared(path).await?,
                Vec::new(),
                sweep_every,
                changes,
            ),
            StoreConfig::Redis(url) => {
                let (redis, tasks) = redis::Redis::open(url, changes.clone()).await?;
                Store::with(Arc::new(redis), tasks, sweep_every, changes)
            }
        })
    }

    fn with(
        backend: Arc<dyn Backend>,
        mut tasks: Vec<tokio::task::AbortHandle>,
        sweep_every: Duration,
        changes: tokio::sync::broadcast::Sender<Changed>,
    ) -> Self {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&backend);
            tasks.push(runtime.spawn(sweep(weak, sweep_every)).abort_handle());
        }
        Store {
            backend,
            changes,
            _tasks: Arc::new(BackgroundTasks(tasks)),
        }
    }

    /// The notices of sessions that ended or changed, from this process and (Redis) every
    /// replica, from now on.
    pub fn changes(&self) -> tokio::sync::broadcast::Receiver<Changed> {
        self.changes.subscribe()
    }

    /// Tells this process and every replica that the session `key` ended or changed. A notice
    /// the other replicas miss (Redis unreachable for a moment) is made up for by their own
    /// checks of the sessions they watch.
    pub async fn announce(&self, key: &Key) {
        // No receiver yet (no open WebSocket) is no error.
        let _ = self.changes.send(Changed::Session(*key));
        if let Err(e) = within_timeout(self.backend.publish(key)).await {
            tracing::warn!(error = %e, "cannot tell the other replicas that a session changed");
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

    /// Readiness: does the store answer now?
    pub async fn ping(&self) -> Result<(), Unavailable> {
        within_timeout(self.backend.ping()).await
    }

    /// What the store holds now that has not expired (`/metrics`).
    pub async fn count(&self) -> Result<Counts, Unavailable> {
        within_timeout(self.backend.count()).await
    }

    pub async fn put_attempt(
        &self,
        key: &Key,
        sealed: &str,
        until: i64,
    ) -> Result<(), Unavailable> {
        within_timeout(self.backend.put_attempt(key, sealed, until)).await
    }

    pub async fn take_attempt(&self, key: &Key) -> Result<Option<String>, Unavailable> {
        within_timeout(self.backend.take_attempt(key)).await
    }

    /// Deletes what has expired now (the sweeper does it on its own schedule).
    #[cfg(test)]
    pub async fn sweep(&self) -> Result<(), Unavailable> {
        within_timeout(self.backend.sweep()).await
    }

    /// The unexpired sessions indexed under `person`, with their keys and values.
    pub async fn sessions_of(&self, person: &str) -> Result<Vec<(Key, String)>, Unavailable> {
        within_timeout(self.backend.sessions_of(person)).await
    }

    /// The unexpired sessions indexed under the provider session `sid`.
    pub async fn sessions_with_sid(&self, sid: &str) -> Result<Vec<(Key, String)>, Unavailable> {
        within_timeout(self.backend.sessions_with_sid(sid)).await
    }

    /// Stores `entry` under `key` if nothing (unexpired) is there; false when the key is taken.
    pub async fn insert(&self, key: &Key, entry: &Entry) -> Result<bool, Unavailable> {
        within_timeout(self.backend.insert(key, entry)).await
    }

    /// Replaces the session under `key` if it is still there; false when it is not (it ended,
    /// and stays ended).
    pub async fn update(&self, key: &Key, entry: &Entry) -> Result<bool, Unavailable> {
        within_timeout(self.backend.update(key, entry)).await
    }

    /// Ends the session under `key`, and says so ([`Store::announce`]).
    pub async fn remove(&self, key: &Key) -> Result<(), Unavailable> {
        within_timeout(self.backend.remove(key)).await?;
        self.announce(key).await;
        Ok(())
    }

    /// The value of the session under `key`, if it is there and unexpired.
    pub async fn get(&self, key: &Key) -> Result<Option<String>, Unavailable> {
        within_timeout(self.backend.get(key)).await
    }

    /// Notes `key` as seen until `expires_at`: false when it was seen already (a replay).
    pub async fn first_sight(&self, key: &Key, expires_at: i64) -> Result<bool, Unavailable> {
        within_timeout(self.backend.first_sight(key, expires_at)).await
    }

    /// Whether replicas share this store, so that a session's lock must be taken in it too.
    pub fn is_shared(&self) -> bool {
        self.backend.shared()
    }

    /// The lock of the session `key` across replicas, for `token`, lasting `ttl`: false while
    /// another holds it.
    pub async fn try_lock(
        &self,
        key: &Key,
        token: &str,
        ttl: Duration,
    ) -> Result<bool, Unavailable> {
        within_timeout(self.backend.try_lock(key, token, millis_of(ttl))).await
    }

    /// The lock `token` holds on `key` made to last `ttl` from now; false when it is not held
    /// by `token` any more.
    pub async fn renew(&self, key: &Key, token: &str, ttl: Duration) -> Result<bool, Unavailable> {
        within_timeout(self.backend.renew(key, token, millis_of(ttl))).await
    }

    /// Releases the lock `token` holds on `key`, if it still does.
    pub async fn unlock(&self, key: &Key, token: &str) -> Result<(), Unavailable> {
        within_timeout(self.backend.unlock(key, token)).await
    }
}

fn changes() -> tokio::sync::broadcast::Sender<Changed> {
    tokio::sync::broadcast::channel(CHANGES_BUFFER).0
}

fn millis_of(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

async fn within_timeout<T>(
    work: impl std::future::Future<Output = Result<T, Unavailable>>,
) -> Result<T, Unavailable> {
    tokio::time::timeout(STORE_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| Err(Unavailable("the store did not answer in time".into())))
}

/// Deletes expired records every `every`, for as long as the store lives.
async fn sweep(backend: std::sync::Weak<dyn Backend>, every: Duration) {
    let mut interval = tokio::time::interval(every);
    loop {
        interval.tick().await;
        let Some(backend) = backend.upgrade() else {
            return;
        };
        if let Err(e) = backend.sweep().await {
            tracing::warn!(error = %e, "cannot delete expired sessions");
        }
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
pub(crate) mod tests;
