//! Login attempts in flight (docs/design.md, "The flow", step 2): state, PKCE verifier and nonce, bound to this
//! browser, single use, `session.login_timeout_secs` long (rules 1, 13, 14).
//!
//! Each attempt is a record of its own in the store, sealed, under a key made of the state and
//! a random binding that only this browser's session holds: the state is never compared (no
//! timing tells how much of a guessed state was right), and taking the attempt is one atomic
//! delete-and-return at the store, so of two requests with one state exactly one gets it. A
//! browser that is not logged in holds nothing but this binding: its session record lives no
//! longer than its attempts.
//!
//! An attempt is usable for `login_timeout`; its record stays a little longer ([`kept_for`]),
//! only so that an answer that came too late is told "the login took too long" rather than "this
//! login was never started here". After that nothing of it is left in the store.

use oauth2::{CsrfToken, PkceCodeVerifier};
use openidconnect::Nonce;
use serde::{Deserialize, Serialize};
use tower_sessions::{Expiry, Session};

use super::{
    record,
    store::{now_millis, Key, Store},
};
use crate::{config::SessionConfig, crypto::TokenCipher, error::AppError};

const BINDING_KEY: &str = "login_binding";

/// One login in flight; used once, then deleted. Its secrets stay in the oauth2 crate's
/// newtypes, so `Debug` shows none of them.
#[derive(Serialize, Deserialize, Debug)]
pub struct LoginAttempt {
    pub provider: String,
    pub state: CsrfToken,
    pub pkce_verifier: PkceCodeVerifier,
    pub nonce: Option<Nonce>,
    pub return_to: String,
    pub created_at: i64,
    /// The `max_age` this login asked for: a step-up, which must come back as the session's
    /// own person, with an `auth_time` no older (docs/design.md, "Policies per app").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// Its place among the logins under way in the process that started it (`pending.rs`).
    #[serde(default)]
    pub reservation: Option<u64>,
}

impl LoginAttempt {
    /// Rule 1: an attempt is good for `ttl` (`session.login_timeout_secs`, 10 minutes by
    /// default); one from the future (a clock set back) is no good either.
    pub fn is_expired(&self, now: i64, ttl: std::time::Duration) -> bool {
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        now.saturating_sub(self.created_at) > ttl || now < self.created_at
    }
}

/// How long an attempt's record is kept: its `login_timeout`, and as much again (at least 4 s,
/// at most a minute) to recognise a late answer as late. The 4 s cover a short timeout's
/// answer arriving a few seconds late through a slow browser (the e2e test of it).
pub fn kept_for(login_timeout: std::time::Duration) -> std::time::Duration {
    use std::time::Duration;
    login_timeout + login_timeout.clamp(Duration::from_secs(4), Duration::from_secs(60))
}

/// Keeps `attempt` for this browser until it is used or `login_timeout` has passed.
pub async fn remember_attempt(
    session: &Session,
    store: &Store,
    cipher: &TokenCipher,
    config: &SessionConfig,
    attempt: &LoginAttempt,
) -> Result<(), AppError> {
    let binding = match session.get::<String>(BINDING_KEY).await? {
        Some(binding) => binding,
        None => {
            let binding = crate::crypto::random_token();
            session.insert(BINDING_KEY, &binding).await?;
            binding
        }
    };
    let ttl =
        time::Duration::try_from(kept_for(config.login_timeout)).unwrap_or(time::Duration::MINUTE);
    if record::read_record(session).await?.is_none() {
        // Rule 13: a browser with only logins under way is forgotten with them.
        session.set_expiry(Some(Expiry::AtDateTime(
            time::OffsetDateTime::now_utc() + ttl,
        )));
    }
    let key = Key::of_attempt(&binding, attempt.state.secret());
    let plain = serde_json::to_vec(attempt).expect("an attempt serialises");
    let expires_at = now_millis() + i64::try_from(ttl.whole_milliseconds()).unwrap_or(i64::MAX / 2);
    store
        .put_attempt(&key, &cipher.seal(&plain, key.bytes()), expires_at)
        .await
        .map_err(|e| AppError::StoreUnavailable(e.to_string()))
}

/// Removes and returns this browser's attempt with `state`, or `None` (not started here, used
/// already, expired). Removal happens before any check of the attempt, so a state is never
/// usable twice (rule 1), and it is atomic at the store (rule 14).
pub async fn take_attempt(
    session: &Session,
    store: &Store,
    cipher: &TokenCipher,
    state: &str,
) -> Result<Option<LoginAttempt>, AppError> {
    let Some(binding) = session.get::<String>(BINDING_KEY).await? else {
        return Ok(None);
    };
    let key = Key::of_attempt(&binding, state);
    let Some(sealed) = store
        .take_attempt(&key)
        .await
        .map_err(|e| AppError::StoreUnavailable(e.to_string()))?
    else {
        return Ok(None);
    };
    // Sealed under a key this process no longer has: as good as no attempt.
    let Ok(plain) = cipher.open(&sealed, key.bytes()) else {
        return Ok(None);
    };
    Ok(serde_json::from_slice(&plain).ok())
}

/// A login ends every attempt of the browser: its binding goes, so none can be found again.
pub(super) async fn forget_attempts(session: &Session) -> Result<(), AppError> {
    session.remove_value(BINDING_KEY).await?;
    Ok(())
}
