//! Which provider the emulator answers like. Everything a provider does its own way lives in its
//! dialect's folder (`standard/`, `github/`, `intra42/`: personas, endpoints and quirks), behind
//! [`Rules`]. The trait's default methods do what RFC 6749 and OpenID Connect say, so a dialect
//! overrides only its provider's quirks. [`Dialect::rules`] is the one place a dialect is
//! matched: a new dialect is a new folder, its variant, and its line there and in
//! [`Dialect::ALL`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use crate::oauth::random_token;
use crate::scope::Scope;
use crate::state::AppState;
use crate::DemoUser;

/// Which provider the emulator answers like. One `DevProvider` serves one dialect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// OAuth 2.0 + OpenID Connect: `/authorize`, `/token`, `/userinfo`, `/revoke`, discovery,
    /// back-channel logout.
    #[default]
    Standard,
    /// GitHub OAuth Apps: `/login/oauth/authorize`, `/login/oauth/access_token`, `/user`,
    /// `/user/emails`, `/user/orgs`, `/user/teams`, `DELETE /applications/{client_id}/token`.
    Github,
    /// 42 Intra: `/oauth/authorize`, `/oauth/token`, `/oauth/token/info`, `/v2/me`.
    Intra42,
}

impl Dialect {
    /// Every dialect, in the order the binary's help names them.
    pub const ALL: [Dialect; 3] = [Dialect::Standard, Dialect::Github, Dialect::Intra42];

    pub(crate) fn rules(self) -> &'static dyn Rules {
        match self {
            Dialect::Standard => &crate::standard::Standard,
            Dialect::Github => &crate::github::Github,
            Dialect::Intra42 => &crate::intra42::Intra42,
        }
    }

    /// The name used in the binary's TOML (`dialect = "…"`).
    pub fn as_str(self) -> &'static str {
        self.rules().name()
    }

    /// Access token lifetime when the configuration does not say.
    pub fn default_access_token_ttl(self) -> Duration {
        self.rules().default_access_token_ttl()
    }

    /// Authorization code lifetime when the configuration does not say.
    pub fn default_code_ttl(self) -> Duration {
        self.rules().default_code_ttl()
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Dialect {
    type Err = String;

    fn from_str(s: &str) -> Result<Dialect, String> {
        if let Some(dialect) = Dialect::ALL.into_iter().find(|d| d.as_str() == s) {
            return Ok(dialect);
        }
        let names: Vec<String> = Dialect::ALL
            .iter()
            .map(|d| format!("\"{}\"", d.as_str()))
            .collect();
        let choices = match names.split_last() {
            Some((last, others)) if !others.is_empty() => {
                format!("{} or {last}", others.join(", "))
            }
            _ => names.concat(),
        };
        Err(format!("unknown dialect `{s}`; use {choices}"))
    }
}

/// New tokens for a grant, in the dialect's format.
pub struct Minted {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// None: the access token never expires.
    pub ttl: Option<Duration>,
}

/// What one dialect does its own way. Defaults follow the RFCs.
pub(crate) trait Rules: Sync {
    /// The name used in the binary's TOML.
    fn name(&self) -> &'static str;

    /// The dialect's endpoints. The login, consent and logout pages and the avatars are shared.
    fn routes(&self) -> Router<Arc<AppState>>;

    /// Reads a `scope` parameter: the names this provider grants, or the first one it refuses.
    fn parse_scope(&self, input: &str) -> Result<Scope, String>;

    /// The consent page's list after "sign you in as …", in the words of the dialect's scopes
    /// (HTML, escaped).
    fn consent_items(&self, state: &AppState, user: &DemoUser, scope: &Scope) -> Vec<String>;

    fn default_access_token_ttl(&self) -> Duration {
        Duration::from_secs(3600)
    }

    fn default_code_ttl(&self) -> Duration {
        // RFC 6749 §4.1.2 recommends at most 10 minutes; a minute is plenty for a redirect.
        Duration::from_secs(60)
    }

    /// A sentence (HTML) for the pages, naming the provider this dialect imitates.
    fn page_note(&self) -> &'static str {
        ""
    }

    /// The display name of an account other than a demo user that has an avatar here.
    fn avatar_owner(&self, _state: &AppState, _login: &str) -> Option<String> {
        None
    }

    /// RFC 9207: the `iss` of authorization responses, which is the issuer.
    fn authorization_iss(&self, base_url: &str) -> Option<String> {
        Some(base_url.to_owned())
    }

    /// RFC 6749 §4.1.2.1: the `error` parameters of the redirect after the user pressed Deny.
    fn denial(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("error", "access_denied"),
            ("error_description", "The user denied the request"),
        ]
    }

    /// RFC 6749 §4.1.3: the token request must repeat the authorization request's redirect_uri.
    fn token_request_may_omit_redirect_uri(&self) -> bool {
        false
    }

    /// OpenID Connect Back-Channel Logout 1.0: whether clients may register a
    /// `backchannel_logout_uri`. Only OpenID providers have it.
    fn backchannel_logout(&self) -> bool {
        false
    }

    /// RFC 6749 §1.4–1.5: an opaque access token that expires after `ttl`, and a refresh token.
    fn mint(&self, ttl: Duration) -> Minted {
        Minted {
            access_token: random_token(),
            refresh_token: Some(random_token()),
            ttl: Some(ttl),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dialect_is_read_back_from_its_name() {
        for dialect in Dialect::ALL {
            assert_eq!(dialect.as_str().parse(), Ok(dialect));
            assert_eq!(dialect.to_string(), dialect.as_str());
        }
        assert_eq!(
            "gitlab".parse::<Dialect>(),
            Err("unknown dialect `gitlab`; use \"standard\", \"github\" or \"intra42\"".to_owned())
        );
    }
}
