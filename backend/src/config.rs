//! Typed configuration (DESIGN.md, "Configuration"): one TOML file, each key overridable by an
//! environment variable `PORTERO_SECTION__KEY` (`PORTERO_PROVIDERS__GITHUB__CLIENT_SECRET`).
//! Secrets are `SecretString`, so printing a config can never print a secret.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use shared::ProviderKind;
use url::Url;

/// Why a configuration was refused: always names the key and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    fn new(message: impl Into<String>) -> Self {
        ConfigError(message.into())
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub session: SessionConfig,
    /// In the order of the file: `/api/providers` lists them that way.
    pub providers: Vec<ProviderConfig>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    /// Scheme, host and port only; redirect URIs are `{public_origin}/callback/{provider}`.
    pub public_origin: Url,
    pub static_dir: Option<PathBuf>,
    /// Upper bound for any one call to a provider (rule 9).
    pub provider_timeout: Duration,
}

impl ServerConfig {
    pub fn is_https(&self) -> bool {
        self.public_origin.scheme() == "https"
    }

    /// The origin as browsers write it in the `Origin` header (no trailing slash).
    pub fn origin(&self) -> String {
        self.public_origin.origin().ascii_serialization()
    }
}

#[derive(Debug, Clone)]
pub enum SessionStore {
    Memory,
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub store: SessionStore,
    /// The key that encrypts provider tokens at rest; `None` only in development.
    pub secret_key: Option<SecretString>,
    /// A session unused for this long ends.
    pub idle_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub id: String,
    pub kind: ProviderKind,
    pub name: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scopes: Vec<String>,
    /// Kept exactly as written: OpenID Connect compares issuers as strings, so a trailing slash
    /// matters.
    pub issuer: Option<String>,
}

// ---- the file's shape -------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    server: RawServer,
    #[serde(default)]
    session: RawSession,
    #[serde(default)]
    providers: toml::Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default = "default_bind")]
    bind: String,
    public_origin: String,
    static_dir: Option<PathBuf>,
    #[serde(default = "default_provider_timeout")]
    provider_timeout_secs: u64,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSession {
    store: Option<String>,
    secret_key: Option<SecretString>,
    idle_timeout_secs: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    kind: ProviderKind,
    name: Option<String>,
    client_id: String,
    client_secret: Option<SecretString>,
    client_secret_file: Option<PathBuf>,
    scopes: Option<Vec<String>>,
    issuer: Option<String>,
}

fn default_bind() -> String {
    "127.0.0.1:3000".into()
}

fn default_provider_timeout() -> u64 {
    10
}

const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);
const ENV_PREFIX: &str = "PORTERO_";

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
            .map_err(|e: toml::de::Error| ConfigError::new(e.message().to_owned()))?;
        apply_env_overrides(&mut table, env)?;
        let raw: RawConfig = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::new(e.message().to_owned()))?;
        raw.validate(base_dir.unwrap_or(Path::new(".")))
    }
}

/// `PORTERO_A__B__C=value` sets key `a.b.c`. `PORTERO_CONFIG` names the file itself.
fn apply_env_overrides(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (name, value) in env {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if path == "CONFIG" || path.is_empty() {
            continue;
        }
        let keys: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
        let (last, parents) = keys.split_last().expect("split yields at least one item");
        let mut node = &mut *table;
        for key in parents {
            let entry = node
                .entry(key.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            node = entry.as_table_mut().ok_or_else(|| {
                ConfigError::new(format!("{name}: `{key}` is not a table in the config file"))
            })?;
        }
        let parsed = match node.get(last) {
            // Lists (scopes) come as comma-separated values.
            Some(toml::Value::Array(_)) => toml::Value::Array(
                value
                    .split(',')
                    .map(|s| toml::Value::String(s.trim().to_owned()))
                    .collect(),
            ),
            Some(toml::Value::Integer(_)) => toml::Value::Integer(value.parse().map_err(|_| {
                ConfigError::new(format!("{name}: expected a whole number, got {value:?}"))
            })?),
            _ => toml::Value::String(value),
        };
        node.insert(last.clone(), parsed);
    }
    Ok(())
}

impl RawConfig {
    fn validate(self, base_dir: &Path) -> Result<Config, ConfigError> {
        let bind = self.server.bind.parse().map_err(|_| {
            ConfigError::new(format!(
                "server.bind: {:?} is not an address like 127.0.0.1:3000",
                self.server.bind
            ))
        })?;
        let public_origin = parse_origin(&self.server.public_origin)?;
        if self.server.provider_timeout_secs == 0 {
            return Err(ConfigError::new(
                "server.provider_timeout_secs: must be at least 1",
            ));
        }
        let server = ServerConfig {
            bind,
            public_origin,
            static_dir: self.server.static_dir,
            provider_timeout: Duration::from_secs(self.server.provider_timeout_secs),
        };

        let store = match self.session.store.as_deref() {
            None | Some("memory") => SessionStore::Memory,
            Some(other) => {
                return Err(ConfigError::new(format!(
                    "session.store: {other:?} is not supported by this build; use \"memory\""
                )))
            }
        };
        if let Some(key) = &self.session.secret_key {
            crate::crypto::TokenCipher::decode_key(key.expose_secret())
                .map_err(|e| ConfigError::new(format!("session.secret_key: {e}")))?;
        } else if server.is_https() {
            return Err(ConfigError::new(
                "session.secret_key: required when server.public_origin is HTTPS (32 random bytes, \
                 base64; generate one with `head -c 32 /dev/urandom | base64`)",
            ));
        }
        let session = SessionConfig {
            store,
            secret_key: self.session.secret_key,
            idle_timeout: self
                .session
                .idle_timeout_secs
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_IDLE_TIMEOUT),
        };

        let mut providers = Vec::new();
        for (id, value) in self.providers {
            providers.push(validate_provider(&id, value, base_dir)?);
        }
        if providers.is_empty() {
            return Err(ConfigError::new(
                "providers: none configured; add a [providers.ID] table (see docs)",
            ));
        }
        Ok(Config {
            server,
            session,
            providers,
        })
    }
}

fn parse_origin(raw: &str) -> Result<Url, ConfigError> {
    let bad = |why: &str| ConfigError::new(format!("server.public_origin: {raw:?} {why}"));
    let url = Url::parse(raw).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must start with http:// or https://"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "must be an origin only, like https://app.example.com (no path)",
        ));
    }
    Ok(url)
}

fn validate_provider(
    id: &str,
    value: toml::Value,
    base_dir: &Path,
) -> Result<ProviderConfig, ConfigError> {
    let key = |field: &str| format!("providers.{id}.{field}");
    // Provider ids appear in URLs (`/callback/{id}`): keep them to a URL-safe alphabet.
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(ConfigError::new(format!(
            "providers.{id}: the id must use only a-z, 0-9, '-' and '_'"
        )));
    }
    let raw: RawProvider = value.try_into().map_err(|e: toml::de::Error| {
        ConfigError::new(format!("providers.{id}: {}", e.message()))
    })?;
    if raw.client_id.trim().is_empty() {
        return Err(ConfigError::new(format!(
            "{}: must not be empty",
            key("client_id")
        )));
    }
    let client_secret = match (raw.client_secret, raw.client_secret_file) {
        (Some(secret), None) => secret,
        (None, Some(file)) => {
            let path = base_dir.join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::new(format!(
                    "{}: cannot read {}: {e}",
                    key("client_secret_file"),
                    path.display()
                ))
            })?;
            SecretString::from(text.trim().to_owned())
        }
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(format!(
                "{}: give client_secret or client_secret_file, not both",
                key("client_secret")
            )))
        }
        (None, None) => {
            return Err(ConfigError::new(format!(
            "{}: missing (set it, or client_secret_file, or PORTERO_PROVIDERS__{}__CLIENT_SECRET)",
            key("client_secret"),
            id.to_ascii_uppercase()
        )))
        }
    };
    if client_secret.expose_secret().is_empty() {
        return Err(ConfigError::new(format!(
            "{}: must not be empty",
            key("client_secret")
        )));
    }

    let preset = match raw.kind {
        ProviderKind::Google => Some(("https://accounts.google.com", "Google")),
        ProviderKind::Gitlab => Some(("https://gitlab.com", "GitLab")),
        ProviderKind::Oidc => None,
        other => {
            return Err(ConfigError::new(format!(
                "{}: kind {:?} is not supported by this build yet; use \"oidc\", \"google\" or \"gitlab\"",
                key("kind"),
                serde_kind(other)
            )))
        }
    };
    let issuer_raw = raw
        .issuer
        .or_else(|| preset.map(|(issuer, _)| issuer.to_owned()))
        .ok_or_else(|| {
            ConfigError::new(format!(
                "{}: required for kind \"oidc\" (discovery reads {{issuer}}/.well-known/openid-configuration)",
                key("issuer")
            ))
        })?;
    Url::parse(&issuer_raw).map_err(|e| {
        ConfigError::new(format!(
            "{}: {issuer_raw:?} is not a URL ({e})",
            key("issuer")
        ))
    })?;
    let scopes = raw
        .scopes
        .unwrap_or_else(|| ["openid", "profile", "email"].map(String::from).to_vec());
    let name = raw
        .name
        .or_else(|| preset.map(|(_, name)| name.to_owned()))
        .unwrap_or_else(|| id.to_owned());
    Ok(ProviderConfig {
        id: id.to_owned(),
        kind: raw.kind,
        name,
        client_id: raw.client_id,
        client_secret,
        scopes,
        issuer: Some(issuer_raw),
    })
}

fn serde_kind(kind: ProviderKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
        [server]
        public_origin = "http://127.0.0.1:8080"

        [providers.zeta]
        kind = "oidc"
        issuer = "http://127.0.0.1:3900"
        client_id = "z"
        client_secret = "zs"

        [providers.alpha]
        kind = "google"
        client_id = "a"
        client_secret = "as"
    "#;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Config::from_toml(text, env, None)
    }

    #[test]
    fn providers_keep_the_order_of_the_file_and_presets_fill_in_the_issuer() {
        let config = load(BASE, &[]).unwrap();
        let ids: Vec<_> = config.providers.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["zeta", "alpha"]);
        assert_eq!(
            config.providers[1].issuer.as_deref(),
            Some("https://accounts.google.com")
        );
        assert_eq!(config.providers[1].name, "Google");
        assert_eq!(config.server.bind.to_string(), "127.0.0.1:3000");
    }

    #[test]
    fn environment_variables_override_nested_keys() {
        let config = load(
            BASE,
            &[
                ("PORTERO_PROVIDERS__ZETA__CLIENT_SECRET", "from-env"),
                ("PORTERO_SERVER__BIND", "127.0.0.1:4000"),
                ("PORTERO_CONFIG", "ignored.toml"),
                ("HOME", "/root"),
            ],
        )
        .unwrap();
        assert_eq!(
            config.providers[0].client_secret.expose_secret(),
            "from-env"
        );
        assert_eq!(config.server.bind.port(), 4000);
    }

    #[test]
    fn errors_name_the_key_and_the_problem() {
        let cases = [
            (
                BASE.replace("http://127.0.0.1:8080", "http://x/app"),
                "server.public_origin",
            ),
            (
                BASE.replace("client_secret = \"zs\"", ""),
                "providers.zeta.client_secret",
            ),
            (
                BASE.replace("kind = \"oidc\"", "kind = \"nope\""),
                "providers.zeta",
            ),
            (
                BASE.replace("issuer = \"http://127.0.0.1:3900\"", ""),
                "providers.zeta.issuer",
            ),
            (
                format!("{BASE}\n[session]\nsecret_key = \"short\""),
                "session.secret_key",
            ),
            (
                BASE.replace("http://127.0.0.1:8080", "https://app.example"),
                "session.secret_key",
            ),
            (
                format!("{BASE}\n[session]\nstore = \"postgres://x\""),
                "session.store",
            ),
        ];
        for (text, key) in cases {
            let err = load(&text, &[]).unwrap_err().to_string();
            assert!(err.contains(key), "{err:?} should name {key}");
        }
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let config = load(BASE, &[]).unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("zs"), "{printed}");
    }
}
