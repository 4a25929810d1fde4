//! The logged-in state of a session: the person, and the provider tokens sealed (rule 8).

use oauth2::{AccessToken, RefreshToken};
use serde::{Deserialize, Serialize};
use shared::User;
use tower_sessions::Session;

use crate::{crypto::TokenCipher, error::AppError};

pub(super) const AUTH_KEY: &str = "auth";

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The provider's tokens, as they come from the token endpoint, in the oauth2 crate's newtypes
/// (whose `Debug` prints no secret) until they are sealed into an [`AuthRecord`].
#[derive(Serialize, Deserialize)]
pub struct ProviderTokens {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    pub id_token: Option<IdToken>,
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

/// An id_token (a JWT) as the provider sent it: a secret like the others, so its `Debug`
/// prints nothing of it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdToken(String);

impl IdToken {
    pub fn new(jwt: String) -> Self {
        IdToken(jwt)
    }

    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for IdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdToken([redacted])")
    }
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
        let plain = serde_json::to_vec(tokens).expect("serialising strings cannot fail");
        let sealed_tokens = cipher.seal(&plain, &associated_data(&user));
        AuthRecord {
            user,
            sealed_tokens,
            logged_in_at: now(),
        }
    }

    /// The same login with new tokens (a refresh, the rotated refresh token included).
    pub fn with_tokens(&self, tokens: &ProviderTokens, cipher: &TokenCipher) -> Self {
        AuthRecord {
            logged_in_at: self.logged_in_at,
            ..AuthRecord::new(self.user.clone(), tokens, cipher)
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

/// The session's logged-in record, if any.
pub async fn auth(session: &Session) -> Result<Option<AuthRecord>, AppError> {
    Ok(session.get(AUTH_KEY).await?)
}

/// Makes `session` the logged-in session of `record` under a fresh id (rule 7: no fixation).
pub async fn log_in(session: &Session, record: AuthRecord) -> Result<(), AppError> {
    super::attempt::forget_attempts(session).await?;
    session.cycle_id().await?;
    // Created in the store by tower-sessions after the handler, before the answer leaves: a
    // store that fails turns the "logged in" answer into a 503 (`layer::failed_save_as_503`).
    session.insert(AUTH_KEY, record).await?;
    Ok(())
}
