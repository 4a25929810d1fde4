//! How long a logged-in session lives and how its tokens stay fresh: the absolute expiry
//! (`session.absolute_timeout_secs`, from the login), the sliding idle expiry, and the refresh
//! of expired provider tokens once per session however many requests ask at the same time
//! (single flight).
//!
//! Writes of a logged-in session's record happen under an in-process lock per session id, each
//! on a record read again from the store after taking the lock, and saved explicitly before the
//! lock is released: a request that read the record earlier never writes its stale copy over
//! tokens another request has just refreshed (a rotated refresh token would be lost). The lock
//! is per process: replicas on one Redis may still each refresh once.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
};

use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;
use tokio::sync::OwnedMutexGuard;
use tower_sessions::{session::Id, Session};

use crate::{
    error::AppError,
    providers::{Provider, REFRESH_MARGIN_SECS},
    session::{self, AuthRecord, ProviderTokens},
    startup::AppState,
};

/// One async lock per session id, alive while someone holds or waits for it.
#[derive(Clone, Default)]
pub struct SessionLocks {
    locks: Arc<Mutex<HashMap<Id, Weak<tokio::sync::Mutex<()>>>>>,
}

impl SessionLocks {
    pub async fn lock(&self, id: Id) -> OwnedMutexGuard<()> {
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

/// Kept in a response's extensions: the session lock is released only once the response
/// leaves the session layer, i.e. after tower-sessions' own save of the record.
#[derive(Clone)]
struct HeldUntilSaved(#[allow(dead_code)] Arc<OwnedMutexGuard<()>>);

/// The session's logged-in record, or 401: `not_logged_in` without one, `session_expired` (and
/// the session deleted) once `absolute_timeout` has passed since the login.
pub async fn logged_in(state: &AppState, session: &Session) -> Result<AuthRecord, AppError> {
    let record = session::auth(session).await?.ok_or(AppError::NotLoggedIn)?;
    let lifetime =
        i64::try_from(state.config.session.absolute_timeout.as_secs()).unwrap_or(i64::MAX);
    if session::now().saturating_sub(record.logged_in_at) > lifetime {
        session.flush().await?;
        tracing::info!(provider = %record.user.provider, "session ended: absolute lifetime reached");
        return Err(AppError::SessionExpired(record.user.provider));
    }
    Ok(record)
}

/// Where the session keeps when its expiry was last moved (seconds since the epoch).
const TOUCHED_KEY: &str = "touched_at";

/// What `/api/me` reports and holds: when the session ends if unused, and the lock to keep
/// until the session layer has saved.
pub struct Extended {
    pub expires_at: i64,
    pub held: Option<axum::http::Extensions>,
}

/// Sliding idle expiry without a store write on every request: the expiry moves (the record is
/// saved, which sets its expiry to now + idle, and the cookie is sent again) once a twentieth of
/// the idle window has passed since it last moved. tower-sessions does not show a loaded
/// record's expiry date, so the session keeps the time it last moved.
pub async fn extend_idle(
    state: &AppState,
    session: &Session,
    record: &AuthRecord,
) -> Result<Extended, AppError> {
    let idle = i64::try_from(state.config.session.idle_timeout.as_secs()).unwrap_or(i64::MAX / 4);
    let absolute =
        i64::try_from(state.config.session.absolute_timeout.as_secs()).unwrap_or(i64::MAX / 4);
    let ends = |touched: i64| {
        touched
            .saturating_add(idle)
            .min(record.logged_in_at.saturating_add(absolute))
    };
    let now = session::now();
    let touched: i64 = session
        .get(TOUCHED_KEY)
        .await?
        .unwrap_or(record.logged_in_at);
    let Some(id) = session
        .id()
        .filter(|_| now.saturating_sub(touched) >= idle / 20)
    else {
        return Ok(Extended {
            expires_at: ends(touched),
            held: None,
        });
    };
    let guard = state.session_locks.lock(id).await;
    // The record as it is now (tokens another request may have refreshed since we read it).
    session.load().await?;
    if session::auth(session).await?.is_none() {
        return Err(AppError::NotLoggedIn);
    }
    session.insert(TOUCHED_KEY, now).await?;
    session.save().await?;
    let mut held = axum::http::Extensions::new();
    held.insert(HeldUntilSaved(Arc::new(guard)));
    Ok(Extended {
        expires_at: ends(now),
        held: Some(held),
    })
}

pub fn needs_refresh(tokens: &ProviderTokens) -> bool {
    tokens
        .expires_at
        .is_some_and(|at| at <= session::now() + REFRESH_MARGIN_SECS)
}

/// Fresh tokens instead of `used` (expired, or refused by the provider): refreshed at the
/// provider by the first request to get here, taken from the store by those that waited.
/// A refresh the provider refuses ends the session (rule 11): 401 `session_expired`.
pub async fn refreshed_tokens(
    state: &AppState,
    session: &Session,
    provider: &Provider,
    used: &ProviderTokens,
) -> Result<ProviderTokens, AppError> {
    let id = session.id().ok_or(AppError::NotLoggedIn)?;
    let _guard = state.session_locks.lock(id).await;
    let current_session = Session::new(Some(id), Arc::new(state.store.clone()), session.expiry());
    let Some(current) = session::auth(&current_session).await? else {
        // Ended while we waited: the refresh before ours was refused, or a logout.
        session.flush().await?;
        return Err(AppError::SessionExpired(provider.id().to_owned()));
    };
    let tokens = open_tokens(state, session, &current).await?;
    let same_access_token: bool = tokens
        .access_token
        .expose_secret()
        .as_bytes()
        .ct_eq(used.access_token.expose_secret().as_bytes())
        .into();
    // Refreshed while we waited: those tokens, unless they have expired already (not merely
    // within the margin, or with a short-lived provider every waiter would refresh again).
    if !same_access_token && tokens.expires_at.is_none_or(|at| at > session::now()) {
        tracing::debug!(provider = %provider.id(), "tokens refreshed by a concurrent request");
        return Ok(tokens);
    }
    match provider.refresh(&tokens).await {
        Ok(fresh) => {
            state.metrics.refreshed(provider.id(), "ok");
            // The rotated refresh token too; saved before the waiters get the lock.
            session::replace_tokens(&current_session, &current, &fresh, &state.cipher).await?;
            current_session.save().await?;
            tracing::info!(provider = %provider.id(), "tokens refreshed");
            Ok(fresh)
        }
        Err(AppError::SessionExpired(_)) => {
            state.metrics.refreshed(provider.id(), "refused");
            Err(end(session, provider).await)
        }
        Err(e) => {
            state.metrics.refreshed(provider.id(), "failed");
            Err(e)
        }
    }
}

/// The record's provider tokens. Sealed under a key this process no longer has (rotated
/// without `previous_keys`), they are lost: the session ends, 401 `session_expired`.
pub async fn open_tokens(
    state: &AppState,
    session: &Session,
    record: &AuthRecord,
) -> Result<ProviderTokens, AppError> {
    match record.tokens(&state.cipher) {
        Ok(tokens) => Ok(tokens),
        Err(e) => {
            tracing::warn!(
                provider = %record.user.provider,
                error = ?e,
                "session ended: its tokens do not open with the configured keys"
            );
            session.flush().await?;
            Err(AppError::SessionExpired(record.user.provider.clone()))
        }
    }
}

/// Rule 11: the session ends when its tokens can no longer be refreshed.
pub async fn end(session: &Session, provider: &Provider) -> AppError {
    if let Err(e) = session.flush().await {
        return e.into();
    }
    AppError::SessionExpired(provider.id().to_owned())
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
