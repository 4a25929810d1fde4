//! Login attempts in flight (DESIGN.md, step 2): state, PKCE verifier and nonce, bound to this
//! browser's session, single use, `session.login_timeout_secs` long (rule 1).

use oauth2::{CsrfToken, PkceCodeVerifier};
use openidconnect::Nonce;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::error::AppError;

const ATTEMPTS_KEY: &str = "attempts";

/// A few tabs may log in at once; beyond that the oldest attempt is dropped, which bounds the
/// record an anonymous visitor can make us store.
const MAX_ATTEMPTS: usize = 5;

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
}

impl LoginAttempt {
    /// Rule 1: an attempt is good for `ttl` (`session.login_timeout_secs`, 10 minutes by
    /// default); one from the future (a clock set back) is no good either.
    pub fn is_expired(&self, now: i64, ttl: std::time::Duration) -> bool {
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        now.saturating_sub(self.created_at) > ttl || now < self.created_at
    }
}

pub async fn remember_attempt(
    session: &Session,
    attempt: LoginAttempt,
    ttl: std::time::Duration,
) -> Result<(), AppError> {
    let mut attempts: Vec<LoginAttempt> = session.get(ATTEMPTS_KEY).await?.unwrap_or_default();
    let now = super::now();
    attempts.retain(|a| !a.is_expired(now, ttl));
    attempts.push(attempt);
    if attempts.len() > MAX_ATTEMPTS {
        attempts.drain(..attempts.len() - MAX_ATTEMPTS);
    }
    // Saved once, by tower-sessions after the handler; a store that fails then answers 503
    // `store_unavailable` (`layer::failed_save_as_503`), never a login the browser could not
    // finish.
    session.insert(ATTEMPTS_KEY, attempts).await?;
    Ok(())
}

/// Removes and returns the attempt whose state equals `state` (compared in constant time, rule
/// 1). Removal happens before any check of the attempt, so a state is never usable twice.
pub async fn take_attempt(
    session: &Session,
    state: &str,
) -> Result<Option<LoginAttempt>, AppError> {
    let attempts: Vec<LoginAttempt> = session.get(ATTEMPTS_KEY).await?.unwrap_or_default();
    let mut found = None;
    let mut rest = Vec::with_capacity(attempts.len());
    for attempt in attempts {
        if found.is_none() && bool::from(attempt.state.secret().as_bytes().ct_eq(state.as_bytes()))
        {
            found = Some(attempt);
        } else {
            rest.push(attempt);
        }
    }
    if found.is_some() {
        session.insert(ATTEMPTS_KEY, rest).await?;
        session.save().await?;
    }
    Ok(found)
}

/// A login ends every attempt of the browser.
pub(super) async fn forget_attempts(session: &Session) -> Result<(), AppError> {
    session.remove_value(ATTEMPTS_KEY).await?;
    Ok(())
}
