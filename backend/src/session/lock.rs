//! The locks of sessions, and the order every write of a logged-in session's record follows.
//!
//! # Ordering rules
//! 1. A logged-in session's record is changed only under that session's lock: a refresh (new
//!    tokens), the idle extension (`touched_at`, saved by the session layer after the handler),
//!    and every end of a session (logout, "log out everywhere", ending one from the list,
//!    back-channel logout, a refused refresh). The lock is [`SessionLock`]: the session's lock in this
//!    process (an async mutex per session key), then, when replicas share the store (Redis),
//!    its lock there too (`SET NX PX` with a token of its own, released only by it).
//! 2. Under the lock the record is read again from the store before it is changed, and written
//!    back (or removed) before the lock is released. So a request that read the record earlier
//!    never writes its stale copy over tokens another request, or another replica, has just
//!    refreshed (a rotated refresh token would be lost), and a session that ended is never
//!    written back (the store updates only a record that is still there).
//! 3. The idle extension takes the lock without waiting: when another request holds it, that
//!    one is writing the session, and a later request moves the expiry. It keeps the lock in
//!    the request ([`RequestLock`]) until the session layer has saved the record after the
//!    handler. Whatever that request then does to its own session (a refresh, ending it) runs
//!    under the lock it holds: no request ever waits for a lock it holds itself.
//! 4. A request waits for a lock at most one lease (rule 6). When it cannot have it by then it
//!    does nothing and answers 503 `store_unavailable`; it never goes on without the lock. The
//!    bound also ends the one wait that could be a cycle: two sessions of one person ending
//!    each other while each holds its own lock from its idle extension.
//! 5. A request takes the locks of other sessions one at a time, before its own ("log out
//!    everywhere" ends the other sessions first, then this one).
//! 6. The replica lock lasts one lease: the provider calls a refresh may make (discovery, the
//!    token endpoint, the JWKS when the refreshed id_token names a new key), each up to
//!    `server.provider_timeout_secs`, plus the store's own calls. While held it is renewed
//!    every third of a lease, so longer work keeps it too (a request that extended the session
//!    holds it until an app behind the gateway has answered). A replica that dies holding it
//!    holds it one lease at most.
//! 7. A refresh runs in a task of its own that holds the lock (`fresh.rs`): a request that
//!    gives up — its time limit, its client gone — does not cancel a refresh whose rotated
//!    refresh token the provider has already issued. Under a lock a request keeps for its
//!    session layer's save (rule 3), the task writes the new tokens through that request's copy
//!    of the session (the record as it is under the lock), so that save, whenever it comes,
//!    writes them again rather than the old ones, and neither write undoes the other.
//!
//! Handlers get all of this by taking [`CurrentUser`](super::CurrentUser); none writes the
//! record itself.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use tokio::{sync::OwnedMutexGuard, task::AbortHandle, time::Instant};

use super::store::{Key, Store, STORE_TIMEOUT};
use crate::{error::AppError, state::AppState};

/// The provider calls a refresh may make: discovery (when its cache has expired), the token
/// endpoint, and the JWKS (a refreshed id_token signed with a key not seen yet).
const REFRESH_CALLS: u32 = 3;
/// The store calls under a lock: the record read, written, and the lock's own.
const STORE_CALLS: u32 = 3;
/// How soon a replica lock held by another is tried again.
const RETRY: Duration = Duration::from_millis(25);

/// The locks of this process's sessions, and how long a replica lock lasts.
#[derive(Clone)]
pub struct Locks {
    /// One async lock per session key (so that sessions known only by their key, another
    /// browser's, can be locked too), alive while someone holds or waits for it.
    local: Arc<Mutex<HashMap<Key, Weak<tokio::sync::Mutex<()>>>>>,
    lease: Duration,
}

impl Locks {
    pub fn new(provider_timeout: Duration) -> Self {
        Locks {
            local: Arc::default(),
            lease: provider_timeout * REFRESH_CALLS + STORE_TIMEOUT * STORE_CALLS,
        }
    }

    /// How long a replica lock lasts unless renewed, and how long a request waits for a lock
    /// (ordering rules 4, 6): a lock whose replica died lapses before anyone gives up on it.
    #[cfg(test)]
    pub fn lease(&self) -> Duration {
        self.lease
    }

    fn local(&self, key: Key) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.local.lock().unwrap_or_else(|e| e.into_inner());
        // Only sessions with a request in here have a live entry: the map stays small.
        locks.retain(|_, lock| lock.strong_count() > 0);
        if let Some(lock) = locks.get(&key).and_then(Weak::upgrade) {
            return lock;
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        locks.insert(key, Arc::downgrade(&lock));
        lock
    }
}

/// One session's lock, held; released when dropped.
pub struct SessionLock {
    key: Key,
    // Dropped first: the replica's lock is released (in a task of its own) before this
    // process's, so a waiter here finds it free sooner.
    _replica: Option<ReplicaHold>,
    _local: OwnedMutexGuard<()>,
}

impl SessionLock {
    /// The lock of the session under `key`, waited for up to one lease (ordering rule 4).
    pub async fn acquire(state: &AppState, key: Key) -> Result<SessionLock, AppError> {
        let locks = &state.session_locks;
        let deadline = Instant::now() + locks.lease;
        let busy = || {
            AppError::StoreUnavailable(format!(
                "the session's lock stayed taken for {} s",
                locks.lease.as_secs()
            ))
        };
        let local = tokio::time::timeout_at(deadline, locks.local(key).lock_owned())
            .await
            .map_err(|_| busy())?;
        let replica = if state.store.is_shared() {
            loop {
                if let Some(hold) = ReplicaHold::try_take(&state.store, key, locks.lease).await? {
                    break Some(hold);
                }
                if Instant::now() + RETRY >= deadline {
                    return Err(busy());
                }
                tokio::time::sleep(RETRY).await;
            }
        } else {
            None
        };
        Ok(SessionLock {
            key,
            _replica: replica,
            _local: local,
        })
    }

    /// The lock of the session under `key` if no one holds it now, without waiting.
    pub async fn try_acquire(state: &AppState, key: Key) -> Result<Option<SessionLock>, AppError> {
        let Ok(local) = state.session_locks.local(key).try_lock_owned() else {
            return Ok(None);
        };
        let replica = if state.store.is_shared() {
            let lease = state.session_locks.lease;
            match ReplicaHold::try_take(&state.store, key, lease).await? {
                Some(hold) => Some(hold),
                None => return Ok(None),
            }
        } else {
            None
        };
        Ok(Some(SessionLock {
            key,
            _replica: replica,
            _local: local,
        }))
    }
}

/// A request's hold on its own session's lock once its idle extension took it (ordering rule 3):
/// kept until the request's answer has left the session layer, after that layer's save. Put in
/// every `/api` request's extensions by `routes::api_edges`, outside the session layer.
#[derive(Clone, Default)]
pub struct RequestLock(Arc<Mutex<Option<Arc<SessionLock>>>>);

/// A session's lock for some work: the one the request holds already, or one taken for it.
pub(crate) struct Held {
    pub lock: Arc<SessionLock>,
    /// Whether the request holds it until the session layer saves its copy of the session:
    /// then what the work writes must be in that copy too, or the layer's save undoes it.
    pub parked: bool,
}

impl RequestLock {
    pub(super) fn park(&self, lock: SessionLock) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(lock));
    }

    fn held(&self, key: &Key) -> Option<Arc<SessionLock>> {
        let held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        held.as_ref().filter(|lock| lock.key == *key).cloned()
    }

    /// The lock of the session `key` for a request (`request`, when it runs behind the session
    /// layer): the one it holds, else one taken now (ordering rule 3).
    pub(crate) async fn lock(
        request: Option<&RequestLock>,
        state: &AppState,
        key: Key,
    ) -> Result<Held, AppError> {
        if let Some(lock) = request.and_then(|r| r.held(&key)) {
            return Ok(Held { lock, parked: true });
        }
        Ok(Held {
            lock: Arc::new(SessionLock::acquire(state, key).await?),
            parked: false,
        })
    }
}

/// A session's lock in a store shared by replicas, renewed while held (ordering rule 6).
struct ReplicaHold {
    store: Store,
    key: Key,
    token: String,
    renewal: AbortHandle,
}

impl ReplicaHold {
    /// One try: `None` while another holds it.
    async fn try_take(store: &Store, key: Key, lease: Duration) -> Result<Option<Self>, AppError> {
        let token = crate::crypto::random_token();
        let taken = store
            .try_lock(&key, &token, lease)
            .await?;
        if !taken {
            return Ok(None);
        }
        let renewal = tokio::spawn(renew(store.clone(), key, token.clone(), lease));
        Ok(Some(ReplicaHold {
            store: store.clone(),
            key,
            token,
            renewal: renewal.abort_handle(),
        }))
    }
}

impl Drop for ReplicaHold {
    fn drop(&mut self) {
        self.renewal.abort();
        let (store, key, token) = (
            self.store.clone(),
            self.key,
            std::mem::take(&mut self.token),
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store.unlock(&key, &token).await {
                    // It lapses on its own within a lease.
                    tracing::warn!(error = %e, "cannot release a session's lock");
                }
            });
        }
    }
}

/// Keeps the lock `token` holds alive, a lease from each renewal, until aborted.
async fn renew(store: Store, key: Key, token: String, lease: Duration) {
    loop {
        tokio::time::sleep(lease / 3).await;
        match store.renew(&key, &token, lease).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(
                    "a session's lock across replicas lapsed while held (was this process \
                     paused for longer than a lease?)"
                );
                return;
            }
            // Redis unreachable for a moment: the lock lasts the rest of its lease.
            Err(e) => tracing::warn!(error = %e, "cannot renew a session's lock"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_per_session_and_sessions_do_not_wait_for_each_other() {
        let locks = Locks::new(Duration::from_secs(1));
        let (a, b) = (Key::of_seen("test", "a"), Key::of_seen("test", "b"));
        let held = locks.local(a).lock_owned().await;
        assert!(
            locks.local(a).try_lock_owned().is_err(),
            "a second holder of a's lock"
        );
        let other = locks.local(b).try_lock_owned();
        assert!(other.is_ok(), "b does not wait for a");
        drop(other);
        drop(held);
        let again = locks.local(a).try_lock_owned();
        assert!(again.is_ok(), "released with its guard");
        drop(again);
        // Entries go once nobody holds them.
        let _c = locks.local(Key::of_seen("test", "c")).lock_owned().await;
        assert_eq!(locks.local.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_lease_covers_every_provider_call_of_a_refresh_and_the_stores_own() {
        let lease = Locks::new(Duration::from_secs(10)).lease();
        assert_eq!(lease, Duration::from_secs(3 * 10 + 3 * 2));
        assert!(
            lease > Duration::from_secs(15),
            "longer than the old fixed 15 s"
        );
    }
}
