//! Typed configuration (DESIGN.md, "Configuration"): one TOML file, each key overridable by an
//! environment variable `PORTERO_SECTION__KEY` (`PORTERO_PROVIDERS__GITHUB__CLIENT_SECRET`).
//! Secrets are `SecretString`, so printing a config can never print a secret.

use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    time::Duration,
};

use ipnet::IpNet;
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
    /// `POST /api/login/*` and `POST /api/session` per client address (`rate_limit.rs`): the
    /// steady rate and the burst allowed on top of it. 0 in either turns the limit off.
    pub rate_limit_per_minute: u32,
    pub rate_limit_burst: u32,
    /// `trusted_proxies`: peers whose `X-Forwarded-For` names the client (`rate_limit.rs`).
    /// Empty by default: the header is then ignored, since any client can write it.
    pub trusted_proxies: Vec<IpNet>,
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

/// `[session] store` (DESIGN.md "Sessions"): where tower-sessions keeps the sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionStore {
    /// `memory`: this process only; every session ends with it.
    Memory,
    /// `sqlite://PATH` (the default, `sqlite://data/sessions.db`): a file, created with its
    /// folder on first start; a relative path is relative to the working directory.
    Sqlite(PathBuf),
    /// `redis://HOST:PORT` (fred's URL syntax: `redis://:password@host:port/db` too): shared by
    /// several replicas.
    Redis(String),
}

/// The store when the file names none.
pub const DEFAULT_SESSION_STORE: &str = "sqlite://data/sessions.db";

impl SessionStore {
    pub fn parse(raw: &str) -> Result<SessionStore, String> {
        let raw = raw.trim();
        if raw == "memory" {
            return Ok(SessionStore::Memory);
        }
        if let Some(path) = raw.strip_prefix("sqlite://") {
            // `sqlite:///abs/path.db` is absolute, `sqlite://data/x.db` relative.
            if path.is_empty() || path.ends_with('/') {
                return Err(format!(
                    "{raw:?} names no file (like \"sqlite://data/sessions.db\")"
                ));
            }
            return Ok(SessionStore::Sqlite(PathBuf::from(path)));
        }
        if raw.starts_with("redis://") {
            let url = Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL ({e})"))?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err(format!(
                    "{raw:?} names no host (like \"redis://127.0.0.1:6379\")"
                ));
            }
            return Ok(SessionStore::Redis(raw.to_owned()));
        }
        Err(format!(
            "{raw:?} is not a store this build knows; use \"sqlite://PATH\", \"memory\" or \
             \"redis://HOST:PORT\""
        ))
    }
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub store: SessionStore,
    /// The key that encrypts provider tokens at rest; `None` only in development.
    pub secret_key: Option<SecretString>,
    /// Earlier keys, accepted for reading only (key rotation without logging anyone out):
    /// `previous_keys = ["…"]`, or `PORTERO_SESSION__PREVIOUS_KEYS=k1,k2`.
    pub previous_keys: Vec<SecretString>,
    /// A session unused for this long ends.
    pub idle_timeout: Duration,
    /// A session this long after its login ends, however active (`absolute_timeout_secs`).
    pub absolute_timeout: Duration,
    /// How long a login attempt (state, PKCE verifier, nonce) stays usable (rule 1).
    pub login_timeout: Duration,
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
    /// matters. For OAuth 2.0 kinds, the `iss` the provider puts on its callback (RFC 9207).
    pub issuer: Option<String>,
    /// Explicit endpoints: required for `oauth2`, defaults for `github` and `intra42`, and
    /// overrides of discovery for OpenID Connect kinds.
    pub endpoints: Endpoints,
    pub token_auth: TokenAuth,
    /// Where the `oauth2` kind finds each field in the userinfo JSON (dotted paths).
    pub fields: FieldMap,
}

#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub revocation_url: Option<String>,
}

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenAuth {
    ClientSecretBasic,
    ClientSecretPost,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMap {
    pub subject: String,
    pub login: String,
    pub name: String,
    pub email: String,
    pub avatar: String,
}

impl Default for FieldMap {
    /// OpenID Connect's standard claim names (OIDC Core §5.1).
    fn default() -> Self {
        FieldMap {
            subject: "sub".into(),
            login: "preferred_username".into(),
            name: "name".into(),
            email: "email".into(),
            avatar: "picture".into(),
        }
    }
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
    #[serde(default = "default_rate_limit_per_minute")]
    rate_limit_per_minute: u32,
    #[serde(default = "default_rate_limit_burst")]
    rate_limit_burst: u32,
    /// A list, or one comma-separated string (what an environment variable gives).
    trusted_proxies: Option<toml::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSession {
    store: Option<String>,
    secret_key: Option<SecretString>,
    /// A list, or one comma-separated string (what an environment variable gives).
    previous_keys: Option<toml::Value>,
    idle_timeout_secs: Option<u64>,
    absolute_timeout_secs: Option<u64>,
    login_timeout_secs: Option<u64>,
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
    authorize_url: Option<String>,
    token_url: Option<String>,
    userinfo_url: Option<String>,
    revocation_url: Option<String>,
    token_endpoint_auth: Option<TokenAuth>,
    subject_field: Option<String>,
    login_field: Option<String>,
    name_field: Option<String>,
    email_field: Option<String>,
    avatar_field: Option<String>,
}

fn default_bind() -> String {
    "127.0.0.1:3000".into()
}

fn default_provider_timeout() -> u64 {
    10
}

fn default_rate_limit_per_minute() -> u32 {
    30
}

fn default_rate_limit_burst() -> u32 {
    10
}

/// DESIGN.md rule 1: a login attempt expires after 10 minutes.
const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);
const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 60 * 60);
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
            .map_err(|e: toml::de::Error| ConfigError::new(syntax_error(&e, text)))?;
        apply_env_overrides(&mut table, env)?;
        let raw: RawConfig = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::new(value_error(&e, "")))?;
        raw.validate(base_dir.unwrap_or(Path::new(".")))
    }
}

/// The keys whose values are not strings, for overrides of keys the file leaves out.
fn shape_of(key: &str) -> Option<toml::Value> {
    match key {
        "provider_timeout_secs"
        | "rate_limit_per_minute"
        | "rate_limit_burst"
        | "idle_timeout_secs"
        | "absolute_timeout_secs"
        | "login_timeout_secs" => Some(toml::Value::Integer(0)),
        "scopes" => Some(toml::Value::Array(Vec::new())),
        _ => None,
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

/// A value the file's shape refuses, as `key: what is wrong`. toml names the key on a last line
/// of its own ("…\nin `server.bind`"), relative to the table `prefix` was read from.
fn value_error(e: &toml::de::Error, prefix: &str) -> String {
    let text = e.to_string();
    let key = text
        .trim_end()
        .rsplit_once("\nin `")
        .map(|(_, key)| key.trim_end_matches('`'))
        .filter(|key| !key.is_empty());
    match (prefix, key) {
        ("", Some(key)) => format!("{key}: {}", e.message()),
        (prefix, Some(key)) => format!("{prefix}.{key}: {}", e.message()),
        ("", None) => e.message().to_owned(),
        (prefix, None) => format!("{prefix}: {}", e.message()),
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
        // A key the file leaves out is still read with its type (numbers, lists).
        let shape = node.get(last).cloned().or_else(|| shape_of(last));
        let parsed = match shape {
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
            rate_limit_per_minute: self.server.rate_limit_per_minute,
            rate_limit_burst: self.server.rate_limit_burst,
            trusted_proxies: parse_trusted_proxies(self.server.trusted_proxies)?,
        };

        let store = SessionStore::parse(
            self.session
                .store
                .as_deref()
                .unwrap_or(DEFAULT_SESSION_STORE),
        )
        .map_err(|e| ConfigError::new(format!("session.store: {e}")))?;
        let previous_keys = parse_previous_keys(self.session.previous_keys)?;
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
            previous_keys,
            idle_timeout: self
                .session
                .idle_timeout_secs
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_IDLE_TIMEOUT),
            absolute_timeout: match self.session.absolute_timeout_secs {
                None => DEFAULT_ABSOLUTE_TIMEOUT,
                Some(0) => {
                    return Err(ConfigError::new(
                        "session.absolute_timeout_secs: must be at least 1",
                    ))
                }
                Some(secs) => Duration::from_secs(secs),
            },
            login_timeout: match self.session.login_timeout_secs {
                None => DEFAULT_LOGIN_TIMEOUT,
                Some(0) => {
                    return Err(ConfigError::new(
                        "session.login_timeout_secs: must be at least 1",
                    ))
                }
                Some(secs) => Duration::from_secs(secs),
            },
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

/// A list of strings, or one comma-separated string (what an environment variable gives):
/// the entries trimmed, empty ones dropped. `entry` says what one entry is, for the errors.
fn string_list(
    value: Option<toml::Value>,
    key: &str,
    entry: &str,
) -> Result<Vec<String>, ConfigError> {
    let bad = |why: String| ConfigError::new(format!("{key}: {why}"));
    let texts: Vec<String> = match value {
        None => Vec::new(),
        Some(toml::Value::String(list)) => list.split(',').map(str::to_owned).collect(),
        Some(toml::Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                toml::Value::String(text) => Ok(text),
                _ => Err(bad(format!("every entry must be a string ({entry})"))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(bad(format!(
                "expected a list of strings ({entry}), or one comma-separated string"
            )))
        }
    };
    Ok(texts
        .into_iter()
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .collect())
}

/// `server.trusted_proxies`: addresses (`10.0.0.7`, `::1`) or networks (`10.0.0.0/8`).
fn parse_trusted_proxies(value: Option<toml::Value>) -> Result<Vec<IpNet>, ConfigError> {
    const KEY: &str = "server.trusted_proxies";
    string_list(value, KEY, "an address or network like \"10.0.0.0/8\"")?
        .into_iter()
        .map(|text| {
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    ConfigError::new(format!(
                        "{KEY}: {text:?} is not an IP address or network (like 10.0.0.0/8)"
                    ))
                })
        })
        .collect()
}

/// `session.previous_keys`: each must be a valid key (base64, 32+ bytes).
fn parse_previous_keys(value: Option<toml::Value>) -> Result<Vec<SecretString>, ConfigError> {
    const KEY: &str = "session.previous_keys";
    string_list(value, KEY, "a base64 key")?
        .into_iter()
        .enumerate()
        .map(|(index, text)| {
            crate::crypto::TokenCipher::decode_key(&text)
                .map_err(|e| ConfigError::new(format!("{KEY}: entry {}: {e}", index + 1)))?;
            Ok(SecretString::from(text))
        })
        .collect()
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
        ConfigError::new(value_error(&e, &format!("providers.{id}")))
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

    let defaults = kind_defaults(raw.kind);
    let defaults_fields = FieldMap::default();
    let endpoint = |field: &str, given: Option<String>, default: Option<&str>| {
        let value = given.or(default.map(str::to_owned));
        if let Some(url) = &value {
            Url::parse(url).map_err(|e| {
                ConfigError::new(format!("{}: {url:?} is not a URL ({e})", key(field)))
            })?;
        }
        Ok::<_, ConfigError>(value)
    };
    let endpoints = Endpoints {
        authorize_url: endpoint("authorize_url", raw.authorize_url, defaults.authorize_url)?,
        token_url: endpoint("token_url", raw.token_url, defaults.token_url)?,
        userinfo_url: endpoint("userinfo_url", raw.userinfo_url, defaults.userinfo_url)?,
        revocation_url: endpoint("revocation_url", raw.revocation_url, None)?,
    };
    let issuer = endpoint("issuer", raw.issuer, defaults.issuer)?;
    let openid_connect = matches!(
        raw.kind,
        ProviderKind::Oidc | ProviderKind::Google | ProviderKind::Gitlab
    );
    if openid_connect && issuer.is_none() {
        return Err(ConfigError::new(format!(
            "{}: required for kind \"oidc\" (discovery reads {{issuer}}/.well-known/openid-configuration)",
            key("issuer")
        )));
    }
    if !openid_connect {
        for (field, value) in [
            ("authorize_url", &endpoints.authorize_url),
            ("token_url", &endpoints.token_url),
            ("userinfo_url", &endpoints.userinfo_url),
        ] {
            if value.is_none() {
                return Err(ConfigError::new(format!(
                    "{}: required for kind \"oauth2\" (it has no discovery)",
                    key(field)
                )));
            }
        }
    }
    let scopes = raw
        .scopes
        .unwrap_or_else(|| defaults.scopes.iter().map(|s| s.to_string()).collect());
    let name = raw
        .name
        .or(defaults.name.map(str::to_owned))
        .unwrap_or_else(|| id.to_owned());
    Ok(ProviderConfig {
        id: id.to_owned(),
        kind: raw.kind,
        name,
        client_id: raw.client_id,
        client_secret,
        scopes,
        issuer,
        endpoints,
        token_auth: raw.token_endpoint_auth.unwrap_or(defaults.token_auth),
        fields: FieldMap {
            subject: raw.subject_field.unwrap_or(defaults_fields.subject),
            login: raw.login_field.unwrap_or(defaults_fields.login),
            name: raw.name_field.unwrap_or(defaults_fields.name),
            email: raw.email_field.unwrap_or(defaults_fields.email),
            avatar: raw.avatar_field.unwrap_or(defaults_fields.avatar),
        },
    })
}

/// What each kind fills in when the file does not say.
struct KindDefaults {
    name: Option<&'static str>,
    issuer: Option<&'static str>,
    authorize_url: Option<&'static str>,
    token_url: Option<&'static str>,
    userinfo_url: Option<&'static str>,
    scopes: &'static [&'static str],
    token_auth: TokenAuth,
}

fn kind_defaults(kind: ProviderKind) -> KindDefaults {
    let none = KindDefaults {
        name: None,
        issuer: None,
        authorize_url: None,
        token_url: None,
        userinfo_url: None,
        scopes: &["openid", "profile", "email"],
        token_auth: TokenAuth::ClientSecretBasic,
    };
    match kind {
        ProviderKind::Oidc => none,
        ProviderKind::Google => KindDefaults {
            name: Some("Google"),
            issuer: Some("https://accounts.google.com"),
            ..none
        },
        ProviderKind::Gitlab => KindDefaults {
            name: Some("GitLab"),
            issuer: Some("https://gitlab.com"),
            ..none
        },
        // docs.github.com, "Authorizing OAuth apps": the endpoints, and the `iss` GitHub puts
        // on its callback since 2026; credentials go in the body as its examples show.
        ProviderKind::Github => KindDefaults {
            name: Some("GitHub"),
            issuer: Some("https://github.com/login/oauth"),
            authorize_url: Some("https://github.com/login/oauth/authorize"),
            token_url: Some("https://github.com/login/oauth/access_token"),
            userinfo_url: Some("https://api.github.com/user"),
            scopes: &["read:user", "user:email"],
            token_auth: TokenAuth::ClientSecretPost,
        },
        // api.intra.42.fr/apidoc/guides/web_application_flow.
        ProviderKind::Intra42 => KindDefaults {
            name: Some("42 Intra"),
            issuer: None,
            authorize_url: Some("https://api.intra.42.fr/oauth/authorize"),
            token_url: Some("https://api.intra.42.fr/oauth/token"),
            userinfo_url: Some("https://api.intra.42.fr/v2/me"),
            scopes: &["public"],
            token_auth: TokenAuth::ClientSecretPost,
        },
        ProviderKind::Oauth2 => KindDefaults {
            scopes: &[],
            ..none
        },
    }
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
    fn stores_parse_with_sqlite_as_the_default() {
        let config = load(BASE, &[]).unwrap();
        assert_eq!(
            config.session.store,
            SessionStore::Sqlite(PathBuf::from("data/sessions.db"))
        );
        let store = |value: &str| {
            load(&format!("{BASE}\n[session]\nstore = \"{value}\""), &[]).map(|c| c.session.store)
        };
        assert_eq!(store("memory").unwrap(), SessionStore::Memory);
        assert_eq!(
            store("sqlite:///var/lib/portero/s.db").unwrap(),
            SessionStore::Sqlite(PathBuf::from("/var/lib/portero/s.db"))
        );
        assert_eq!(
            store("redis://127.0.0.1:6379").unwrap(),
            SessionStore::Redis("redis://127.0.0.1:6379".into())
        );
        for bad in ["sqlite://", "redis://", "mysql://x", ""] {
            let err = store(bad).unwrap_err().to_string();
            assert!(err.contains("session.store"), "{bad:?}: {err}");
        }
        assert_eq!(config.session.absolute_timeout.as_secs(), 7 * 24 * 3600);
    }

    #[test]
    fn previous_keys_come_as_a_list_or_a_comma_separated_variable() {
        let k1 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let k2 = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
        let listed = load(
            &format!("{BASE}\n[session]\nprevious_keys = [\"{k1}\", \"{k2}\"]"),
            &[],
        )
        .unwrap();
        let from_env = load(
            BASE,
            &[("PORTERO_SESSION__PREVIOUS_KEYS", &format!("{k1}, {k2}"))],
        )
        .unwrap();
        for config in [listed, from_env] {
            let keys: Vec<_> = config
                .session
                .previous_keys
                .iter()
                .map(|k| k.expose_secret().to_owned())
                .collect();
            assert_eq!(keys, [k1, k2]);
        }
        for bad in ["[\"short\"]", "[1]", "5"] {
            let err = load(&format!("{BASE}\n[session]\nprevious_keys = {bad}"), &[])
                .unwrap_err()
                .to_string();
            assert!(err.contains("session.previous_keys"), "{bad}: {err}");
            assert!(!err.contains(k1));
        }
        let err = load(
            &format!("{BASE}\n[session]\nabsolute_timeout_secs = 0"),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("session.absolute_timeout_secs"), "{err}");
    }

    #[test]
    fn trusted_proxies_come_as_a_list_or_a_comma_separated_variable() {
        let origin = "public_origin = \"http://127.0.0.1:8080\"";
        let with =
            |value: &str| BASE.replace(origin, &format!("{origin}\ntrusted_proxies = {value}"));
        assert!(load(BASE, &[]).unwrap().server.trusted_proxies.is_empty());
        let listed = load(&with("[\"10.0.0.0/8\", \"::1\"]"), &[]).unwrap();
        let from_env = load(
            BASE,
            &[("PORTERO_SERVER__TRUSTED_PROXIES", "10.0.0.0/8, ::1")],
        )
        .unwrap();
        for config in [listed, from_env] {
            let nets: Vec<String> = config
                .server
                .trusted_proxies
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(nets, ["10.0.0.0/8", "::1/128"]);
        }
        for bad in ["[\"10.0.0.0/33\"]", "[\"proxy.local\"]", "[1]", "5"] {
            let err = load(&with(bad), &[]).unwrap_err().to_string();
            assert!(err.contains("server.trusted_proxies"), "{bad}: {err}");
        }
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let config = load(BASE, &[]).unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("zs"), "{printed}");
    }
}
