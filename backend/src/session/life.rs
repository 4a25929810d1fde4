//! How long a logged-in session lives: the absolute expiry (`session.absolute_timeout_secs`,
//! from the login) and the sliding idle expiry, both from the sealed record (`sealed.rs`).

use std::sync::Arc;

use tower_sessions::Session;

use super::{
    lock::{RequestLock, SessionLock},
    now, record, sealed,
    store::Key,
    LoginRecord,
};
use crate::{config::SessionConfig, error::AppError, state::AppState};

fn secs(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX / 4)
}

/// The session's logged-in record, or 401: `not_logged_in` without one (or with one that does
/// not open, `sealed.rs`), `session_expired` (and the session deleted) once `absolute_timeout`
/// has passed since the login, or when the record was sealed under a key no longer configured.
pub async fn logged_in(config: &SessionConfig, session: &Session) -> Result<LoginRecord, AppError> {
    if session.get::<bool>(sealed::KEY_LOST).await?.is_some() {
        session.flush().await?;
        return Err(AppError::SessionExpired("Portero".into()));
    }
    let record = record::read_record(session)
        .await?
        .ok_or(AppError::NotLoggedIn)?;
    if past_lifetime(config, &record, now()) {
        session.flush().await?;
        tracing::info!(provider = %record.user.provider, "session ended: absolute lifetime reached");
        return Err(AppError::SessionExpired(record.user.provider));
    }
    Ok(record)
}

/// A logged-in session's record as this process keeps it (`sealed/opened.rs`), when nothing is
/// to be done: within its lifetime, and its idle expiry not due to move. The session layer's
/// copy is not loaded, so the layer writes nothing back. `None` leaves the request to the full
/// path ([`logged_in`], then [`extend_idle`]): no session, an expired one, one sealed under a
/// lost key, or one whose idle expiry moves now.
pub async fn unchanged(
    state: &AppState,
    session: &Session,
) -> Result<Option<(Arc<LoginRecord>, i64)>, AppError> {
    let Some(id) = session.id() else {
        return Ok(None);
    };
    let key = Key::of_session(&id);
    let Some(copy) = state.sessions.opened(&key).await? else {
        return Ok(None);
    };
    let record = copy.record.clone();
    let config = &state.config.session;
    let now = now();
    if past_lifetime(config, &record, now) {
        return Ok(None);
    }
    let touched = copy.touched_at.unwrap_or(record.logged_in_at);
    if extension_due(config, now, touched) {
        return Ok(None);
    }
    let until = ends(config, &record, touched);
    Ok(Some((record, until)))
}

/// Whether `session.absolute_timeout_secs` has passed since the login.
fn past_lifetime(config: &SessionConfig, record: &LoginRecord, now: i64) -> bool {
    now.saturating_sub(record.logged_in_at) > secs(config.absolute_timeout)
}

/// When the session ends unless used again, its idle expiry last moved at `touched`.
fn ends(config: &SessionConfig, record: &LoginRecord, touched: i64) -> i64 {
    let absolute_end = record
        .logged_in_at
        .saturating_add(secs(config.absolute_timeout));
    touched
        .saturating_add(secs(config.idle_timeout))
        .min(absolute_end)
}

/// At most once a minute: often enough for "last seen" in the person's list of sessions,
/// rarely enough that `/api/me` stays a read.
fn extension_due(config: &SessionConfig, now: i64, touched: i64) -> bool {
    let idle = secs(config.idle_timeout);
    now.saturating_sub(touched) >= (idle / 20).min(LAST_SEEN_EVERY)
}

/// Where the session keeps when its expiry was last moved (seconds since the epoch): when the
/// person was last seen, to the minute.
pub(crate) const TOUCHED_KEY: &str = "touched_at";
const LAST_SEEN_EVERY: i64 = 60;

/// Sliding idle expiry without a store write on every request: the expiry moves (the record is
/// saved by the session layer, which sets its expiry to now + idle and sends the cookie again)
/// once a minute has passed since it last moved (or a twentieth of a shorter idle window).
/// tower-sessions does not show a loaded record's expiry date, so the session keeps the time it
/// last moved. Returns the record as it is now and when the session ends if unused.
pub async fn extend_idle(
    state: &AppState,
    request: Option<&RequestLock>,
    session: &Session,
    record: LoginRecord,
) -> Result<(LoginRecord, i64), AppError> {
    let config = &state.config.session;
    let now = now();
    let touched: i64 = session
        .get(TOUCHED_KEY)
        .await?
        .unwrap_or(record.logged_in_at);
    let until = ends(config, &record, touched);
    let (Some(id), Some(request)) = (session.id(), request) else {
        return Ok((record, until));
    };
    if !extension_due(config, now, touched) {
        return Ok((record, until));
    }
    // session/lock.rs, ordering rule 3: when another request holds the lock, it is writing this
    // session (a refresh, its own extension); the next request moves the expiry.
    let Some(lock) = SessionLock::try_acquire(state, Key::of_session(&id)).await? else {
        return Ok((record, until));
    };
    // The record as it is now (tokens another request may have refreshed since we read it).
    session.load().await?;
    let Some(current) = record::read_record(session).await? else {
        return Err(AppError::NotLoggedIn);
    };
    session.insert(TOUCHED_KEY, now).await?;
    // The layer saves this copy after the handler; the lock is held until then.
    request.park(lock);
    let until = ends(config, &current, now);
    Ok((current, until))
}
