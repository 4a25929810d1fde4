//! `[upstreams.{id}]` (docs/design.md, "Your app behind Portero"): each forwards a path prefix under
//! `/api/` to an app, which learns who is calling from Portero's headers. And `[assertion]`:
//! the key that signs `X-Portero-Assertion`.

use std::{path::PathBuf, time::Duration};

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use super::ConfigError;

/// The audience of the assertions `GET /api/auth` hands out (docs/design.md, "Way 2").
pub const AUTH_AUDIENCE: &str = "auth";

/// Audiences Portero's own routes sign for: an upstream with such an id would accept, as its
/// own, assertions made for another use.
pub const RESERVED_AUDIENCES: [&str; 1] = [AUTH_AUDIENCE];

/// The paths of Portero's own routes: no upstream may take them (or a path below them).
pub const PORTERO_ROUTES: [&str; 9] = [
    "/api/providers",
    "/api/login",
    "/api/session",
    "/api/sessions",
    "/api/me",
    "/api/profile",
    "/api/logout",
    "/api/auth",
    "/api/backchannel-logout",
];

/// One app behind the gateway.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// The table name: the assertion's audience, and the label of its metrics.
    pub id: String,
    /// `/api/…`, without a trailing slash; it and every path below it are forwarded.
    pub prefix: String,
    /// Where they go: the rest of the path and the query are appended to its path.
    pub url: Url,
    /// Whether a request without a session is refused (401) or forwarded without identity.
    pub login: Login,
    /// Whether the provider's access token goes along (`Authorization: Bearer`, rule 17).
    pub access_token: bool,
    /// Until the upstream's response headers; a streamed body or a WebSocket may last longer.
    pub timeout: Duration,
    /// The largest request body forwarded (413 `payload_too_large` beyond).
    pub max_body_bytes: u64,
    /// The `[policies.{name}]` a person must pass (403 `access_denied` otherwise).
    pub policy: Option<String>,
}

/// `login = "required" | "optional"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Login {
    /// Without a session: 401 `not_logged_in`, and the upstream sees nothing.
    Required,
    /// Without a session: forwarded with no identity headers.
    Optional,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpstream {
    prefix: String,
    url: String,
    login: Option<Login>,
    access_token: Option<bool>,
    timeout_secs: Option<u64>,
    max_body_bytes: Option<u64>,
    policy: Option<String>,
}

/// A request body larger than this needs `max_body_bytes` set: 10 MiB fits forms and uploads of
/// avatars, not a flood.
const DEFAULT_MAX_BODY: u64 = 10 * 1024 * 1024;

pub(super) fn validate(id: &str, raw: RawUpstream) -> Result<UpstreamConfig, ConfigError> {
    let key = |field: &str| format!("upstreams.{id}.{field}");
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(ConfigError::new(format!(
            "upstreams.{id}: the id must use only a-z, 0-9, '-' and '_'"
        )));
    }
    if RESERVED_AUDIENCES.contains(&id) {
        return Err(ConfigError::new(format!(
            "upstreams.{id}: the id {id:?} is the audience of Portero's own assertions (GET \
             /api/auth); an app behind it would take those for its own: choose another id"
        )));
    }
    let prefix = raw.prefix.trim_end_matches('/').to_owned();
    let well_formed = prefix.starts_with("/api/")
        && prefix.len() > "/api/".len()
        && !prefix.contains("//")
        && !prefix.contains(['?', '#', '{', '}', '*', '\\'])
        && !prefix.split('/').any(|s| s == "." || s == "..");
    if !well_formed {
        return Err(ConfigError::new(format!(
            "{}: {:?} must be a path under /api/, like \"/api/notes\"",
            key("prefix"),
            raw.prefix
        )));
    }
    if let Some(route) = PORTERO_ROUTES.iter().find(|r| nested(&prefix, r)) {
        return Err(ConfigError::new(format!(
            "{}: {prefix:?} collides with Portero's own {route}",
            key("prefix")
        )));
    }
    let url = Url::parse(&raw.url).map_err(|e| {
        ConfigError::new(format!("{}: {:?} is not a URL ({e})", key("url"), raw.url))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::new(format!(
            "{}: {:?} must be an http:// or https:// URL",
            key("url"),
            raw.url
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new(format!(
            "{}: {:?} must have no query or fragment (the request's own are appended)",
            key("url"),
            raw.url
        )));
    }
    let access_token = raw.access_token.unwrap_or(false);
    if access_token {
        // Rule 17, as for the endpoints that receive a provider's token (rule 15).
        crate::providers::require_https_off_loopback(url.as_str()).map_err(|why| {
            ConfigError::new(format!(
                "{}: true sends the provider's access token, so {} {why}",
                key("access_token"),
                key("url")
            ))
        })?;
    }
    let login = raw.login.unwrap_or(Login::Required);
    if raw.policy.is_some() && login == Login::Optional {
        return Err(ConfigError::new(format!(
            "{}: a policy admits logged-in people only; it needs login = \"required\"",
            key("policy")
        )));
    }
    let timeout_secs = raw.timeout_secs.unwrap_or(30);
    if timeout_secs == 0 {
        return Err(ConfigError::new(format!(
            "{}: must be at least 1",
            key("timeout_secs")
        )));
    }
    Ok(UpstreamConfig {
        id: id.to_owned(),
        prefix,
        url,
        login,
        access_token,
        timeout: Duration::from_secs(timeout_secs),
        max_body_bytes: raw.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY),
        policy: raw.policy,
    })
}

/// One path is the other, or lies below it (`/api/a` and `/api/a/b`; not `/api/ab`).
pub(super) fn nested(a: &str, b: &str) -> bool {
    let below = |long: &str, short: &str| {
        long == short
            || long
                .strip_prefix(short)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    below(a, b) || below(b, a)
}

/// `[assertion]`: the Ed25519 key that signs `X-Portero-Assertion`.
#[derive(Debug, Clone, Default)]
pub struct AssertionConfig {
    /// 32 random bytes, base64; `None`: a development key kept beside the data (or one for this
    /// process with the memory store).
    pub key: Option<SecretString>,
    /// Earlier keys: their public halves stay in `/.well-known/jwks.json`, so what they signed
    /// still verifies while it lives.
    pub previous_keys: Vec<SecretString>,
    /// How long an assertion is good for (at most 60 s).
    pub ttl: Duration,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAssertion {
    key: Option<SecretString>,
    key_file: Option<PathBuf>,
    #[serde(default)]
    previous_keys: Vec<SecretString>,
    ttl_secs: Option<u64>,
}

impl RawAssertion {
    /// `required`: upstreams are configured on an HTTPS origin, where every replica must sign
    /// with one key that survives restarts.
    pub(super) fn validate(
        self,
        required: bool,
        base_dir: &std::path::Path,
    ) -> Result<AssertionConfig, ConfigError> {
        let key = super::session::secret_from(self.key, self.key_file, base_dir, "assertion.key")?;
        let check = |key: &SecretString, name: &str| {
            crate::assertion::Signer::decode_seed(key)
                .map(drop)
                .map_err(|e| ConfigError::new(format!("{name}: {e}")))
        };
        match &key {
            Some(key) => check(key, "assertion.key")?,
            None if required => {
                return Err(ConfigError::new(
                    "assertion.key: required with upstreams on an HTTPS public origin (32 \
                     random bytes, base64; generate one with `head -c 32 /dev/urandom | base64`)",
                ))
            }
            None => {}
        }
        for (index, previous) in self.previous_keys.iter().enumerate() {
            check(
                previous,
                &format!("assertion.previous_keys: entry {}", index + 1),
            )?;
        }
        let ttl = match self.ttl_secs {
            None => 60,
            Some(secs @ 1..=60) => secs,
            Some(_) => {
                return Err(ConfigError::new(
                    "assertion.ttl_secs: must be 1 to 60 (an assertion is a short-lived proof)",
                ))
            }
        };
        Ok(AssertionConfig {
            key,
            previous_keys: self.previous_keys,
            ttl: Duration::from_secs(ttl),
        })
    }
}
