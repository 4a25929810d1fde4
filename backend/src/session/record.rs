//! The logged-in state of a session: the person, their provider tokens, when they logged in, and
//! what the login knew. The whole session record, this included, is sealed at rest by
//! `sealed.rs` (rules 8, 22); here it is plain data, for the length of one request.

use oauth2::{AccessToken, RefreshToken};
use serde::{Deserialize, Serialize};
use shared::User;
use tower_sessions::{Expiry, Session};

use crate::{
    config::SessionConfig,
    error::AppError,
    providers::{DpopKey, Facts},
};

pub(crate) const AUTH_KEY: &str = "auth";

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The provider's tokens, as they come from the token endpoint, in the oauth2 crate's newtypes
/// (whose `Debug` prints no secret).
#[derive(Clone, Serialize, Deserialize)]
pub struct ProviderTokens {
    /// What calls the provider's API as the person.
    pub access_token: AccessToken,
    /// When the provider gave one: what refreshes the access token.
    pub refresh_token: Option<RefreshToken>,
    /// From an OpenID Connect provider: the id_token of the login or of the last refresh.
    pub id_token: Option<IdToken>,
    /// Seconds since the epoch, when the provider said.
    pub expires_at: Option<i64>,
    /// `DPoP` when the provider bound the access token to `dpop_key` (RFC 9449 §5).
    #[serde(default, skip_serializing_if = "TokenType::is_bearer")]
    pub token_type: TokenType,
    /// With `dpop = true`: this session's own DPoP key, which proves every call with these
    /// tokens. Sealed with them in the record, and never sent anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_key: Option<DpopKey>,
}

/// How the access token is presented (RFC 6750, RFC 9449 §7.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenType {
    /// `Authorization: Bearer …`.
    #[default]
    Bearer,
    /// `Authorization: DPoP …`, with a proof by the session's key.
    #[serde(rename = "DPoP")]
    Dpop,
}

impl TokenType {
    fn is_bearer(&self) -> bool {
        *self == TokenType::Bearer
    }
}

impl ProviderTokens {
    /// The key that must prove each use of the access token: the session's DPoP key, when the
    /// provider bound the token to it.
    pub fn bound_to(&self) -> Option<&DpopKey> {
        match self.token_type {
            TokenType::Dpop => self.dpop_key.as_ref(),
            TokenType::Bearer => None,
        }
    }
}

impl std::fmt::Debug for ProviderTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderTokens")
            .field("expires_at", &self.expires_at)
            .field("token_type", &self.token_type)
            .finish_non_exhaustive()
    }
}

/// An id_token (a JWT) as the provider sent it: a secret like the others, so its `Debug`
/// prints nothing of it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdToken(String);

impl IdToken {
    /// The JWT `jwt`, as the provider sent it.
    pub fn new(jwt: String) -> Self {
        IdToken(jwt)
    }

    /// The JWT itself.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for IdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdToken([redacted])")
    }
}

/// The logged-in state of a session. Its `Debug` prints no token ([`ProviderTokens`]'s).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct LoginRecord {
    pub user: User,
    pub tokens: ProviderTokens,
    pub logged_in_at: i64,
    /// When the person authenticated at the provider (the id_token's `auth_time`), which a
    /// policy's `max_age_secs` reads through [`LoginRecord::authenticated_at`]. `None` when the
    /// provider sent none (and in records written before it was kept): the login's own time,
    /// `logged_in_at`, counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The browser, as it named itself at login (for the person's list of sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The provider's session (the id_token's `sid`), for back-channel logout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// What the provider vouched for that access rules and policies read (rule 22): `None`
    /// when no rule reads anything of this provider's people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<Facts>,
    /// When `facts` were read (seconds since the epoch); read again `session.recheck_secs`
    /// later, and at each refresh.
    #[serde(default)]
    pub facts_read_at: i64,
    /// Rule 21: the provider says `user.email` is verified (false in records of before).
    #[serde(default)]
    pub email_verified: bool,
}

/// What a login knows beside the person and the tokens.
#[derive(Clone, Debug, Default)]
pub struct LoginFacts {
    pub user_agent: Option<String>,
    pub sid: Option<String>,
    /// What the access rules read, as the provider vouched for it at this login.
    pub facts: Option<Facts>,
    pub email_verified: bool,
    /// The id_token's `auth_time`, when the provider sent one (checked at login: not in the
    /// future); `None` otherwise, and the login's own time counts.
    pub auth_time: Option<i64>,
}

impl LoginRecord {
    /// The record of a login that happens now.
    pub fn new(user: User, tokens: &ProviderTokens, facts: LoginFacts) -> Self {
        let now = now();
        LoginRecord {
            user,
            tokens: tokens.clone(),
            logged_in_at: now,
            // Without the provider's, the login's own time stands for it (authenticated_at).
            auth_time: facts.auth_time,
            user_agent: facts.user_agent,
            sid: facts.sid,
            facts: facts.facts,
            facts_read_at: now,
            email_verified: facts.email_verified,
        }
    }

    /// The same login with new tokens (a refresh, the rotated refresh token included).
    pub fn with_tokens(&self, tokens: &ProviderTokens) -> Self {
        LoginRecord {
            tokens: tokens.clone(),
            ..self.clone()
        }
    }

    /// The same login with the facts as read again now.
    pub fn with_facts(&self, facts: Facts) -> Self {
        LoginRecord {
            facts: Some(facts),
            facts_read_at: now(),
            ..self.clone()
        }
    }

    /// When the person last proved who they are at the provider: `auth_time`, or the login.
    pub fn authenticated_at(&self) -> i64 {
        self.auth_time.unwrap_or(self.logged_in_at)
    }

    /// Whether the facts are older than `recheck` (rule 22).
    pub fn facts_due(&self, recheck: std::time::Duration) -> bool {
        let recheck = i64::try_from(recheck.as_secs()).unwrap_or(i64::MAX / 4);
        self.facts_read_at.saturating_add(recheck) <= now()
    }
}

/// The session's logged-in record, if any.
pub async fn read_record(session: &Session) -> Result<Option<LoginRecord>, AppError> {
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
    session.remove_value(super::sealed::KEY_LOST).await?;
    session.cycle_id().await?;
    session.set_expiry(Some(Expiry::OnInactivity(
        time::Duration::try_from(config.idle_timeout).unwrap_or(time::Duration::DAY),
    )));
    // Written once, by the session layer after the handler and before the answer leaves (a
    // store that fails then turns "logged in" into a 503, `layer::failed_save_as_503`), sealed
    // whole to the key the new session is written under (`sealed.rs`).
    session
        .insert(AUTH_KEY, LoginRecord::new(user, tokens, facts))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_written_before_auth_time_was_kept_loads_and_counts_from_its_login() {
        let old = serde_json::json!({
            "user": {"provider": "dev", "subject": "1", "login": null, "name": null,
                     "email": null, "avatar_url": null},
            "tokens": {"access_token": "at", "refresh_token": null, "id_token": null,
                       "expires_at": null},
            "logged_in_at": 1_700_000_000,
        });
        let record: LoginRecord = serde_json::from_value(old).unwrap();
        assert_eq!(record.auth_time, None);
        assert_eq!(record.authenticated_at(), 1_700_000_000);
        let written = serde_json::to_value(LoginRecord {
            auth_time: Some(1_699_999_000),
            ..record
        })
        .unwrap();
        let again: LoginRecord = serde_json::from_value(written).unwrap();
        assert_eq!(again.authenticated_at(), 1_699_999_000);
    }
}
