//! The single definition of every body that crosses Portero's HTTP API (docs/design.md, "HTTP
//! contract"). Both the backend and the SPA depend on this crate, so a field renamed here breaks
//! the build on both sides instead of breaking a login at run time. No I/O lives here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod return_to;

pub use return_to::ReturnTo;

/// Every `/api/*` request must carry this header with the value `1` (RFC 10017 §6.1.3.3): a
/// cross-site form or image cannot set a custom header, so its presence proves the SPA sent it.
pub const CSRF_HEADER: &str = "x-csrf";
pub const CSRF_VALUE: &str = "1";

/// The kinds of provider Portero knows (docs/design.md, "Configuration").
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Github,
    Intra42,
    Google,
    Gitlab,
    Oidc,
    Oauth2,
}

/// `GET /api/providers`: public facts only, never a secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ProviderInfo {
    pub id: String,
    pub name: String,
    pub kind: ProviderKind,
}

/// `POST /api/login/{provider}` body. A login asks the provider for nothing but what is here
/// (its values allow-listed by the backend); any other field is ignored, never passed on.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
    /// Ask the provider to show its account chooser (OpenID Connect `prompt=select_account`,
    /// or what the provider offers instead): the SPA's "Try another account" after a 403
    /// `access_denied`. Left out of the JSON when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub another_account: bool,
    /// OpenID Connect's `prompt` (§3.1.2.1): `login`, `consent`, `select_account` or `none`,
    /// space-separated (`none` alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Who is expected to log in (an email address or a login), to prefill the provider's form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// Seconds: the provider asks the person to log in again when their login there is older.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
}

/// `POST /api/login/{provider}` answer: the SPA builds the authorize URL from these itself.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LoginResponse {
    pub authorize_endpoint: String,
    /// `response_type, client_id, redirect_uri, scope, state, code_challenge,
    /// code_challenge_method` and, for OpenID Connect providers, `nonce`; a provider may need a
    /// few more (Google's `access_type`), so this is a map rather than a struct.
    pub params: BTreeMap<String, String>,
}

/// `POST /api/session` body: what the provider put on `/callback/{provider}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SessionRequest {
    pub provider: String,
    pub code: String,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

/// The logged-in person, normalised across providers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The provider id from the configuration (`github`, `corp`, …).
    pub provider: String,
    /// The provider's stable identifier for the person (`sub`, GitHub's numeric `id`, …).
    pub subject: String,
    pub login: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
}

impl User {
    /// The best name to greet the person with.
    pub fn display_name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.login.as_deref())
            .or(self.email.as_deref())
            .unwrap_or(&self.subject)
    }
}

/// `POST /api/session` answer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SessionResponse {
    pub user: User,
    /// Where the SPA goes next: always a same-origin path (see [`ReturnTo`]).
    pub return_to: String,
}

/// `GET /api/me` answer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MeResponse {
    pub user: User,
    /// When the session ends unless used again, in seconds since the Unix epoch.
    pub expires_at: i64,
}

/// `GET /api/profile` answer: the live profile, fetched from the provider just now.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ProfileResponse {
    pub user: User,
    pub details: ProfileDetails,
    /// The provider's own JSON, as it answered (GitHub's `/user`, 42's `/v2/me`, userinfo).
    pub raw: serde_json::Value,
}

/// The provider-specific facts the SPA shows, normalised; absent where a provider has none.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ProfileDetails {
    /// The person's page at the provider (GitHub's `html_url`, 42's intra profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_url: Option<String>,
    /// 42: the primary campus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campus: Option<String>,
    /// 42: the main cursus (`42cursus` when present) and the level reached in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<f64>,
    /// GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_repos: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<u64>,
}

/// `POST /api/logout` body (optional: no body is `{}`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct LogoutRequest {
    /// Every session of this person, on every replica, not only this browser's.
    #[serde(default)]
    pub everywhere: bool,
}

/// One of the logged-in person's sessions (`GET /api/sessions`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// An opaque handle for `DELETE /api/sessions/{id}`; never the cookie value.
    pub id: String,
    pub provider: String,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
    /// Seconds since the Unix epoch; updated at most once a minute.
    pub last_seen_at: i64,
    /// The `User-Agent` the browser sent at login, cut to a reasonable length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// This browser's own session.
    pub current: bool,
}

/// What an app behind Portero's gateway received and verified for this person (the demo
/// upstream's `GET /api/demo/whoami`, and the Django view of the e2e test): the identity headers
/// `X-Portero-*` and the claims of the verified `X-Portero-Assertion`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AppSees {
    /// Which app answered (`demo`, `django`, …).
    pub app: String,
    /// The assertion's signature, issuer, audience and expiry checked out against
    /// `/.well-known/jwks.json`.
    pub verified: bool,
    /// `sub` of the assertion: `{provider}:{subject}`.
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `POST /api/logout` answer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct LogoutResponse {
    /// For OpenID Connect providers with RP-initiated logout: where the SPA may send the person
    /// to end their session at the provider too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_url: Option<String>,
}

/// Every error the API answers: `{"error": "<machine_code>", "message": "<human sentence>"}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub error: String,
    pub message: String,
}

/// The machine codes of [`ApiError::error`], so both sides spell them the same way.
pub mod codes {
    pub const CSRF: &str = "csrf_required";
    pub const FORBIDDEN_ORIGIN: &str = "forbidden_origin";
    pub const BAD_REQUEST: &str = "bad_request";
    pub const INVALID_STATE: &str = "invalid_state";
    pub const STATE_EXPIRED: &str = "state_expired";
    pub const ISSUER_MISMATCH: &str = "issuer_mismatch";
    pub const UNKNOWN_PROVIDER: &str = "unknown_provider";
    pub const NOT_LOGGED_IN: &str = "not_logged_in";
    pub const SESSION_EXPIRED: &str = "session_expired";
    pub const NOT_FOUND: &str = "not_found";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const REQUEST_TIMEOUT: &str = "request_timeout";
    pub const PROVIDER_ERROR: &str = "provider_error";
    pub const STORE_UNAVAILABLE: &str = "store_unavailable";
    pub const ACCESS_DENIED: &str = "access_denied";
    pub const UPSTREAM_UNAVAILABLE: &str = "upstream_unavailable";
    pub const UPSTREAM_TIMEOUT: &str = "upstream_timeout";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const INVALID_LOGOUT_TOKEN: &str = "invalid_logout_token";
    /// A gateway path whose rest climbs out of its upstream's base (rule 20).
    pub const BAD_PATH: &str = "bad_path";
    /// `GET /api/auth?policy=NAME` naming no configured policy.
    pub const UNKNOWN_POLICY: &str = "unknown_policy";
    /// A policy's `max_age_secs`: the login is older; the body's `max_age` is what to ask for.
    pub const REAUTHENTICATION_REQUIRED: &str = "reauthentication_required";
    /// A step-up login that came back as someone else than the session it would replace.
    pub const ANOTHER_PERSON: &str = "another_person";
    pub const INTERNAL: &str = "internal";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_kinds_use_the_configuration_spelling() {
        let kinds = [
            (ProviderKind::Github, "\"github\""),
            (ProviderKind::Intra42, "\"intra42\""),
            (ProviderKind::Oauth2, "\"oauth2\""),
            (ProviderKind::Oidc, "\"oidc\""),
        ];
        for (kind, json) in kinds {
            assert_eq!(serde_json::to_string(&kind).unwrap(), json);
        }
    }

    #[test]
    fn optional_fields_are_left_out_rather_than_null() {
        let body = serde_json::to_string(&LogoutResponse::default()).unwrap();
        assert_eq!(body, "{}");
        let req: SessionRequest =
            serde_json::from_str(r#"{"provider":"p","code":"c","state":"s"}"#).unwrap();
        assert_eq!(req.iss, None);
    }

    #[test]
    fn display_name_falls_back_from_name_to_login_to_email_to_subject() {
        let mut user = User {
            provider: "p".into(),
            subject: "42".into(),
            login: Some("ada".into()),
            name: None,
            email: Some("ada@example.test".into()),
            avatar_url: None,
        };
        assert_eq!(user.display_name(), "ada");
        user.login = None;
        assert_eq!(user.display_name(), "ada@example.test");
        user.email = None;
        assert_eq!(user.display_name(), "42");
    }
}
