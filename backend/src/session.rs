//! What Portero keeps in a browser's server-side session (tower-sessions): the login attempts in
//! flight (DESIGN.md, step 2) and, once logged in, the user and the sealed provider tokens.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use shared::User;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::{crypto::TokenCipher, error::AppError};

const ATTEMPTS_KEY: &str = "attempts";
const AUTH_KEY: &str = "auth";

/// A few tabs may log in at once; beyond that the oldest attempt is dropped, which bounds the
/// record an anonymous visitor can make us store.
const MAX_ATTEMPTS: usize = 5;

/// One login in flight, bound to this browser's session; used once, then deleted.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct LoginAttempt {
    pub provider: String,
    pub state: String,
    pub pkce_verifier: String,
    pub nonce: Option<String>,
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

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub async fn remember_attempt(
    session: &Session,
    attempt: LoginAttempt,
    ttl: std::time::Duration,
) -> Result<(), AppError> {
    let mut attempts: Vec<LoginAttempt> = session.get(ATTEMPTS_KEY).await?.unwrap_or_default();
    let now = now();
    attempts.retain(|a| !a.is_expired(now, ttl));
    attempts.push(attempt);
    if attempts.len() > MAX_ATTEMPTS {
        attempts.drain(..attempts.len() - MAX_ATTEMPTS);
    }
    // Saved once, by tower-sessions after the handler; a store that fails then answers 503
    // `store_unavailable` (`store::failed_save_as_503`), never a login the browser could not
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
        if found.is_none() && bool::from(attempt.state.as_bytes().ct_eq(state.as_bytes())) {
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

/// The provider's tokens, as they come from the token endpoint. Only ever stored sealed
/// (written through `TokensOut`, since a `SecretString` refuses to serialise).
#[derive(Deserialize)]
pub struct ProviderTokens {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub id_token: Option<SecretString>,
    /// Seconds since the epoch, when the provider said.
    pub expires_at: Option<i64>,
}

impl std::fmt::Debug for ProviderTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderTokens")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct TokensOut<'a> {
    access_token: &'a str,
    refresh_token: Option<&'a str>,
    id_token: Option<&'a str>,
    expires_at: Option<i64>,
}

/// The logged-in state of a session.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct AuthRecord {
    pub user: User,
    /// `ProviderTokens` as JSON, sealed with the token key (rule 8).
    pub sealed_tokens: String,
    pub logged_in_at: i64,
}

impl AuthRecord {
    pub fn new(user: User, tokens: &ProviderTokens, cipher: &TokenCipher) -> Self {
        let plain = serde_json::to_vec(&TokensOut {
            access_token: tokens.access_token.expose_secret(),
            refresh_token: tokens.refresh_token.as_ref().map(|t| t.expose_secret()),
            id_token: tokens.id_token.as_ref().map(|t| t.expose_secret()),
            expires_at: tokens.expires_at,
        })
        .expect("serialising strings cannot fail");
        let sealed_tokens = cipher.seal(&plain, &associated_data(&user));
        AuthRecord {
            user,
            sealed_tokens,
            logged_in_at: now(),
        }
    }

    pub fn tokens(&self, cipher: &TokenCipher) -> Result<ProviderTokens, AppError> {
        let plain = cipher
            .open(&self.sealed_tokens, &associated_data(&self.user))
            .map_err(|e| AppError::Internal(e.into()))?;
        serde_json::from_slice(&plain).map_err(|e| AppError::Internal(e.into()))
    }
}

/// Sealed tokens open only in the record of the user they were issued for.
fn associated_data(user: &User) -> Vec<u8> {
    format!("{}\n{}", user.provider, user.subject).into_bytes()
}

/// Keeps the refreshed tokens (the rotated refresh token included) in the session.
pub async fn replace_tokens(
    session: &Session,
    record: &AuthRecord,
    tokens: &ProviderTokens,
    cipher: &TokenCipher,
) -> Result<(), AppError> {
    let updated = AuthRecord {
        logged_in_at: record.logged_in_at,
        ..AuthRecord::new(record.user.clone(), tokens, cipher)
    };
    session.insert(AUTH_KEY, updated).await?;
    Ok(())
}

pub async fn auth(session: &Session) -> Result<Option<AuthRecord>, AppError> {
    Ok(session.get(AUTH_KEY).await?)
}

/// Makes `session` the logged-in session of `record` under a fresh id (rule 7: no fixation).
pub async fn log_in(session: &Session, record: AuthRecord) -> Result<(), AppError> {
    session.remove_value(ATTEMPTS_KEY).await?;
    session.cycle_id().await?;
    // Created in the store by tower-sessions after the handler, before the answer leaves: a
    // store that fails turns the "logged in" answer into a 503 (`store::failed_save_as_503`).
    session.insert(AUTH_KEY, record).await?;
    Ok(())
}
