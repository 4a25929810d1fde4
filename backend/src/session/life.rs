//! How long a logged-in session lives: the absolute expiry (`session.absolute_timeout_secs`,
//! from the login) and the sliding idle expiry, and the per-session lock every write of a
//! logged-in record takes (the ordering rules in `session/mod.rs`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
};

use tokio::sync::OwnedMutexGuard;
use tower_sessions::{session::Id, Session};

use super::{layer::LockSlot, now, record, store::Key, AuthRecord};
use crate::{config::SessionConfig, error::AppError};

/// One async lock per session (by its key in the store, so that sessions known only by their
/// key — another browser's — can be locked too), alive while someone holds or waits for it.
#[derive(Clone, Default)]
pub struct SessionLocks {
    locks: Arc<Mutex<HashMap<Key, Weak<tokio::sync::Mutex<()>>>>>,
}

impl SessionLocks {
    /// The lock of the session `id`.
    pub async fn lock(&self, id: Id) -> OwnedMutexGuard<()> {
        self.lock_key(Key::of_session(&id)).await
    }

    /// The lock of the session under `key`.
    pub async fn lock_key(&self, id: Key) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            // Only sessions with a request in here have a live entry: the map stays small.
            locks.retain(|_, lock| lock.strong_count() > 0);
            match locks.get(&id).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    locks.insert(id, Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }
}

fn secs(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX / 4)
}

/// The session's logged-in record, or 401: `not_logged_in` without one, `session_expired` (and
/// the session deleted) once `absolute_timeout` has passed since the login.
pub async fn logged_in(config: &SessionConfig, session: &Session) -> Result<AuthRecord, AppError> {
    let record = record::auth(session).await?.ok_or(AppError::NotLoggedIn)?;
    if now().saturating_sub(record.logged_in_at) > secs(config.absolute_timeout) {
        session.flush().await?;
        tracing::info!(provider = %record.user.provider, "session ended: absolute lifetime reached");
        return Err(AppError::SessionExpired(record.user.provider));
    }
    Ok(record)
}

/// Where the session keeps when its expiry was last moved (seconds since the epoch): when the
/// person was last seen, to the minute.
pub(super) const TOUCHED_KEY: &str = "touched_at";
const LAST_SEEN_EVERY: i64 = 60;

/// Sliding idle expiry without a store write on every request: the expiry moves (the record is
/// saved by the session layer, which sets its expiry to now + idle and sends the cookie again)
/// once a minute has passed since it last moved (or a twentieth of a shorter idle window). tower-sessions does not
/// show a loaded record's expiry date, so the session keeps the time it last moved. Returns when
/// the session ends if unused.
pub async fn extend_idle(
    config: &SessionConfig,
    locks: &SessionLocks,
    slot: Option<&LockSlot>,
    session: &Session,
    record: &AuthRecord,
) -> Result<i64, AppError> {
    let idle = secs(config.idle_timeout);
    let ends = |touched: i64| {
        touched.saturating_add(idle).min(
            record
                .logged_in_at
                .saturating_add(secs(config.absolute_timeout)),
        )
    };
    let now = now();
    let touched: i64 = session
        .get(TOUCHED_KEY)
        .await?
        .unwrap_or(record.logged_in_at);
    let (Some(id), Some(slot)) = (session.id(), slot) else {
        return Ok(ends(touched));
    };
    // At most once a minute: often enough for "last seen" in the person's list of sessions,
    // rarely enough that `/api/me` stays a read.
    if now.saturating_sub(touched) < (idle / 20).min(LAST_SEEN_EVERY) {
        return Ok(ends(touched));
    }
    let guard = locks.lock(id).await;
    // The record as it is now (tokens another request may have refreshed since we read it).
    session.load().await?;
    if record::auth(session).await?.is_none() {
        return Err(AppError::NotLoggedIn);
    }
    session.insert(TOUCHED_KEY, now).await?;
    // The layer saves this copy after the handler; the lock is held until then.
    slot.hold(guard);
    Ok(ends(now))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn one_holder_per_session_and_sessions_do_not_wait_for_each_other() {
        let locks = SessionLocks::default();
        let (a, b) = (Id::default(), Id::default());
        let held = locks.lock(a).await;
        let same = tokio::time::timeout(Duration::from_millis(50), locks.lock(a)).await;
        assert!(
            same.is_err(),
            "a second holder of a's lock while it is held"
        );
        let other = tokio::time::timeout(Duration::from_millis(50), locks.lock(b)).await;
        assert!(other.is_ok(), "b does not wait for a");
        drop(other);
        drop(held);
        let again = tokio::time::timeout(Duration::from_millis(50), locks.lock(a)).await;
        assert!(again.is_ok(), "released with its guard");
        drop(again);
        // Entries go once nobody holds them.
        let _c = locks.lock(Id::default()).await;
        assert_eq!(locks.locks.lock().unwrap().len(), 1);
    }
}
