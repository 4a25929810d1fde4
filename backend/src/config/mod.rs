//! Typed configuration (docs/design.md, "Configuration"): one TOML file, each key overridable by an
//! environment variable `PORTERO_SECTION__KEY` (`env.rs`), one file per section (`server.rs`,
//! `session.rs`, `providers.rs`). Secrets are `SecretString`, so printing a config can never
//! print a secret. Every refusal names the key and what is wrong with it.

mod allow;
mod client;
mod env;
mod policies;
mod providers;
mod server;
mod session;
mod upstreams;

use std::path::Path;

use serde::Deserialize;

pub use allow::AllowRules;
pub use client::{AssertionAudience, ParMode};
pub use policies::Policy;
pub use providers::{Endpoints, FieldMap, ProviderConfig, TokenAuth};
pub use server::ServerConfig;
pub use session::{RedisUrl, SessionConfig, SessionStore, DEFAULT_SESSION_STORE};
pub use upstreams::{
    AssertionConfig, Login, UpstreamConfig, AUTH_AUDIENCE, PORTERO_ROUTES, RESERVED_AUDIENCES,
};

/// Why a configuration was refused: always names the key (and the environment variable, when
/// one set it) and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {message}")]
pub struct ConfigError {
    message: String,
    from_env: bool,
}

impl ConfigError {
    fn new(message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
            from_env: false,
        }
    }

    fn from_env(message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
            from_env: true,
        }
    }

    /// False when an environment variable, not the file, holds what is wrong.
    pub fn blames_file(&self) -> bool {
        !self.from_env
    }
}

/// A whole, valid configuration (docs/design.md, "Configuration").
#[derive(Debug, Clone)]
pub struct Config {
    /// `[server]`.
    pub server: ServerConfig,
    /// `[session]`.
    pub session: SessionConfig,
    /// In the order of the file: `/api/providers` lists them that way.
    pub providers: Vec<ProviderConfig>,
    /// Who may use which app behind Portero, in the order of the file.
    pub policies: Vec<Policy>,
    /// The apps behind the gateway, in the order of the file.
    pub upstreams: Vec<UpstreamConfig>,
    /// The key that signs `X-Portero-Assertion`.
    pub assertion: AssertionConfig,
}

/// The file's top level. Each section is read by its own file; `providers` stays a table so
/// each provider is read (and its errors named) on its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    server: server::RawServer,
    #[serde(default)]
    session: session::RawSession,
    #[serde(default)]
    providers: toml::Table,
    #[serde(default)]
    policies: toml::Table,
    #[serde(default)]
    upstreams: toml::Table,
    #[serde(default)]
    assertion: upstreams::RawAssertion,
}

impl Config {
    /// Reads `path`, applies `PORTERO_*` overrides from the process environment, and validates.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(format!("cannot read {}: {e}", path.display())))?;
        Config::from_toml(&text, std::env::vars(), path.parent())
    }

    /// `base_dir` resolves relative `client_secret_file` paths (the config file's folder).
    pub fn from_toml(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        base_dir: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::new(syntax_error(&e, text)))?;
        let overrides = env::apply(&mut table, env)?;
        let raw: RawConfig = env::read(toml::Value::Table(table), "", &overrides)?;
        let base_dir = base_dir.unwrap_or(Path::new("."));
        let server = raw.server.validate()?;
        let session = raw.session.validate(&server, base_dir)?;
        let mut providers = Vec::new();
        for (id, value) in raw.providers {
            let raw = env::read(value, &format!("providers.{id}"), &overrides)?;
            providers.push(providers::validate(&id, raw, base_dir)?);
        }
        if providers.is_empty() {
            return Err(ConfigError::new(
                "providers: none configured; add a [providers.ID] table (see docs)",
            ));
        }
        let mut policies = Vec::new();
        for (name, value) in raw.policies {
            let raw = env::read(value, &format!("policies.{name}"), &overrides)?;
            let policy = policies::validate(&name, raw)?;
            policies::check_against(&policy, &providers)?;
            policies.push(policy);
        }
        if policies.iter().any(|p| p.rules.needs_org_membership()) {
            for provider in &mut providers {
                if providers::kind_checks_org_membership(provider) {
                    providers::ask_for_org_membership(&mut provider.scopes);
                }
            }
        }
        let mut upstreams: Vec<UpstreamConfig> = Vec::new();
        for (id, value) in raw.upstreams {
            let raw = env::read(value, &format!("upstreams.{id}"), &overrides)?;
            let upstream = upstreams::validate(&id, raw)?;
            if let Some(name) = &upstream.policy {
                if !policies.iter().any(|p| &p.name == name) {
                    return Err(ConfigError::new(format!(
                        "upstreams.{id}.policy: {name:?} names no [policies.{name}] table"
                    )));
                }
            }
            if let Some(other) = upstreams
                .iter()
                .find(|o| upstreams::nested(&o.prefix, &upstream.prefix))
            {
                return Err(ConfigError::new(format!(
                    "upstreams.{id}.prefix: {:?} collides with upstreams.{}.prefix {:?}",
                    upstream.prefix, other.id, other.prefix
                )));
            }
            upstreams.push(upstream);
        }
        refuse_bound_tokens_to_upstreams(&providers, &upstreams)?;
        let assertion = raw
            .assertion
            .validate(server.is_https() && !upstreams.is_empty(), base_dir)?;
        Ok(Config {
            server,
            session,
            providers,
            policies,
            upstreams,
            assertion,
        })
    }
}

/// A DPoP-bound access token (`dpop = true`) is useless without its key, which is the session's
/// and never leaves Portero (RFC 9449 §7): an upstream given one could not call the provider with
/// it, so the combination is refused rather than forwarding tokens that cannot work.
fn refuse_bound_tokens_to_upstreams(
    providers: &[ProviderConfig],
    upstreams: &[UpstreamConfig],
) -> Result<(), ConfigError> {
    let bound = providers.iter().find(|p| p.dpop);
    let forwarded = upstreams.iter().find(|u| u.access_token);
    match (bound, forwarded) {
        (Some(provider), Some(upstream)) => Err(ConfigError::new(format!(
            "upstreams.{}.access_token: providers.{} has dpop = true, and its access tokens are \
             bound to a key each session keeps inside Portero (RFC 9449), so the app could not \
             use one; set access_token = false here, or dpop = false there",
            upstream.id, provider.id
        ))),
        _ => Ok(()),
    }
}

/// A TOML syntax error with the line it is on.
fn syntax_error(e: &toml::de::Error, text: &str) -> String {
    match e.span() {
        Some(span) => {
            let line = text
                .get(..span.start)
                .map_or(0, |t| t.matches('\n').count())
                + 1;
            format!("line {line}: {}", e.message())
        }
        None => e.message().to_owned(),
    }
}

/// `Some(n)` must be at least 1 (`key` names it in the error); `None` is `default`.
fn at_least_one(
    value: Option<u64>,
    key: &str,
    default: std::time::Duration,
) -> Result<std::time::Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(0) => Err(ConfigError::new(format!("{key}: must be at least 1"))),
        Some(secs) => Ok(std::time::Duration::from_secs(secs)),
    }
}

#[cfg(test)]
mod tests;
