//! The logged-in state of a session: the person, and the provider tokens sealed (rule 8).

use oauth2::{AccessToken, RefreshToken};
use serde::{Deserialize, Serialize};
use shared::User;
use tower_sessions::{session::Id, Expiry, Session};

use crate::{config::SessionConfig, crypto::TokenCipher, error::AppError};

pub(crate) const AUTH_KEY: &str = "auth";
/// [`AuthRecord::tokens_to_seal`]'s name in the record's JSON.
const TOKENS_TO_SEAL: &str = "tokens_to_seal";

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
    /// The browser, as it named itself at login (for the person's list of sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The provider's session (the id_token's `sid`), for back-channel logout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The tokens of a login that happens now, until the store seals them to the new session's
    /// key as it writes the record ([`seal_pending_tokens`]): so a new session is written once,
    /// under its final id. Never in a store: a write with them unsealed fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_to_seal: Option<TokensToSeal>,
}

/// `ProviderTokens` as JSON, in memory for the length of one request (see
/// [`AuthRecord::tokens_to_seal`]); its `Debug` prints nothing of them.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokensToSeal(String);

impl std::fmt::Debug for TokensToSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokensToSeal([redacted])")
    }
}

/// Seals the tokens of a login that `data` (a session record's) holds unsealed to `key`, the
/// key the store writes the record under; the store calls it on every write. Nothing to do
/// for any other record; without a `cipher` such a record is refused, never written in clear.
pub fn seal_pending_tokens(
    data: &mut std::collections::HashMap<String, serde_json::Value>,
    cipher: Option<&TokenCipher>,
    key: &super::store::Key,
) -> Result<(), String> {
    let Some(value) = data.get(AUTH_KEY) else {
        return Ok(());
    };
    if value.get(TOKENS_TO_SEAL).is_none() {
        return Ok(());
    }
    let cipher = cipher.ok_or("a login's tokens would be written unsealed: no token key")?;
    let mut auth: AuthRecord = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    if let Some(plain) = auth.tokens_to_seal.take() {
        auth.sealed_tokens = cipher.seal(plain.0.as_bytes(), &auth.associated_data_at(key));
    }
    let sealed = serde_json::to_value(&auth).map_err(|e| e.to_string())?;
    data.insert(AUTH_KEY.to_owned(), sealed);
    Ok(())
}

/// What a login knows beside the person and the tokens.
#[derive(Clone, Debug, Default)]
pub struct LoginFacts {
    pub user_agent: Option<String>,
    pub sid: Option<String>,
}

impl AuthRecord {
    /// The record of a login that happens now, in a session whose id is not drawn yet: its
    /// tokens are sealed by the store as it writes it ([`seal_pending_tokens`]).
    pub fn new(user: User, tokens: &ProviderTokens, facts: LoginFacts) -> Self {
        let plain = serde_json::to_string(tokens).expect("serialising strings cannot fail");
        AuthRecord {
            user,
            sealed_tokens: String::new(),
            logged_in_at: now(),
            user_agent: facts.user_agent,
            sid: facts.sid,
            tokens_to_seal: Some(TokensToSeal(plain)),
        }
    }

    /// The same login with new tokens (a refresh, the rotated refresh token included).
    pub fn with_tokens(&self, tokens: &ProviderTokens, cipher: &TokenCipher, id: &Id) -> Self {
        let plain = serde_json::to_vec(tokens).expect("serialising strings cannot fail");
        AuthRecord {
            sealed_tokens: cipher.seal(&plain, &self.associated_data(id)),
            tokens_to_seal: None,
            ..self.clone()
        }
    }

    pub fn tokens(&self, cipher: &TokenCipher, id: &Id) -> Result<ProviderTokens, AppError> {
        self.tokens_at(cipher, &super::store::Key::of_session(id))
    }

    /// Sealed tokens open only in the record they were sealed for: this person, this session
    /// (its key in the store, a hash of its id), this login time. Whoever can write the store
    /// cannot move them to a session of their own, nor extend the session's life by moving its
    /// login time (rules 8, 12). The key rather than the id itself, so that the person's other
    /// sessions, known by their keys, can have their tokens revoked when they end.
    fn associated_data(&self, id: &Id) -> Vec<u8> {
        self.associated_data_at(&super::store::Key::of_session(id))
    }

    fn associated_data_at(&self, key: &super::store::Key) -> Vec<u8> {
        format!(
            "{}\n{}\n{}\n{}",
            self.user.provider,
            self.user.subject,
            key.hex(),
            self.logged_in_at
        )
        .into_bytes()
    }

    /// The tokens of this record kept under `key` (a session other than this request's).
    pub fn tokens_at(
        &self,
        cipher: &TokenCipher,
        key: &super::store::Key,
    ) -> Result<ProviderTokens, AppError> {
        let plain = cipher
            .open(&self.sealed_tokens, &self.associated_data_at(key))
            .map_err(|e| AppError::Internal(e.into()))?;
        serde_json::from_slice(&plain).map_err(|e| AppError::Internal(e.into()))
    }
}

/// The session's logged-in record, if any.
pub async fn auth(session: &Session) -> Result<Option<AuthRecord>, AppError> {
    Ok(session.get(AUTH_KEY).await?)
}

/// Makes `session` the logged-in session of `user` under a fresh id (rule 7: no fixation).
pub async fn log_in(
    session: &Session,
    config: &SessionConfig,
    user: User,
    tokens: &ProviderTokens,
    facts: LoginFacts,
) -> Result<(), AppError> {
    super::attempt::forget_attempts(session).await?;
    session.cycle_id().await?;
    session.set_expiry(Some(Expiry::OnInactivity(
        time::Duration::try_from(config.idle_timeout).unwrap_or(time::Duration::DAY),
    )));
    // Written once, by the session layer after the handler and before the answer leaves (a
    // store that fails then turns "logged in" into a 503, `layer::failed_save_as_503`); the
    // store seals the tokens to the key it writes the new session under.
    session
        .insert(AUTH_KEY, AuthRecord::new(user, tokens, facts))
        .await?;
    Ok(())
}
