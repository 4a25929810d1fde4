//! `[session]`: the store, the key that seals provider tokens, and how long sessions and login
//! attempts live.

use std::{path::PathBuf, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::{at_least_one, ConfigError, ServerConfig};

#[derive(Debug, Clone)]
/// `[session]`.
pub struct SessionConfig {
    /// Where sessions are kept.
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
    /// Logins under way at once from one client address, and in all (rule 13).
    pub max_pending_logins_per_address: usize,
    /// Logins under way at once in all (per process).
    pub max_pending_logins: usize,
    /// Rule 22: the facts access rules read (verified emails, GitHub organizations and teams,
    /// 42 campuses, groups) are read again from the provider at least this often, besides at
    /// every refresh.
    pub recheck: Duration,
}

/// `[session] store` (docs/design.md, "Session stores"): where the sessions are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionStore {
    /// `memory`: this process only; every session ends with it.
    Memory,
    /// `sqlite://PATH` (the default, `sqlite://data/sessions.db`): a file, created with its
    /// folder on first start; a relative path is relative to the working directory.
    Sqlite(PathBuf),
    /// `redis://HOST:PORT` (fred's URL syntax: `redis://:password@host:port/db` too): shared by
    /// several replicas.
    Redis(RedisUrl),
}

/// A Redis URL, whose password is a secret: `Debug`, `Display` and every message that shows it
/// print `***` in its place (`redis://:***@host:6379`).
#[derive(Clone)]
pub struct RedisUrl(SecretString);

impl RedisUrl {
    /// The URL itself, password included: for the Redis client only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<&str> for RedisUrl {
    fn from(url: &str) -> Self {
        RedisUrl(SecretString::from(url))
    }
}

impl From<String> for RedisUrl {
    fn from(url: String) -> Self {
        RedisUrl(SecretString::from(url))
    }
}

impl PartialEq for RedisUrl {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for RedisUrl {}

impl std::fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&masked(self.expose()))
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisUrl({:?})", masked(self.expose()))
    }
}

/// `raw` with the password of its `user:password@` part, if any, as `***`: for messages. Text
/// that is not a URL keeps only what follows its last `@`.
fn masked(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.into()
        }
        Ok(_) => raw.to_owned(),
        Err(_) => match raw.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => raw.to_owned(),
        },
    }
}

/// The store when the file names none.
pub const DEFAULT_SESSION_STORE: &str = "sqlite://data/sessions.db";

impl SessionStore {
    /// `memory`, `sqlite://PATH` or `redis://HOST:PORT`; the reason otherwise.
    pub fn parse(raw: &str) -> Result<SessionStore, String> {
        let raw = raw.trim();
        // What a message may show of it: never a password.
        let shown = masked(raw);
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
            let url = Url::parse(raw).map_err(|e| format!("{shown:?} is not a URL ({e})"))?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err(format!(
                    "{shown:?} names no host (like \"redis://127.0.0.1:6379\")"
                ));
            }
            return Ok(SessionStore::Redis(raw.into()));
        }
        Err(format!(
            "{shown:?} is not a store this build knows; use \"sqlite://PATH\", \"memory\" or \
             \"redis://HOST:PORT\""
        ))
    }
}

/// docs/design.md, rule 1: a login attempt expires after 10 minutes.
const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);
const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// Someone removed from a GitHub organization keeps access for an hour at most, not the
/// session's week.
const DEFAULT_RECHECK: Duration = Duration::from_secs(60 * 60);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSession {
    store: Option<String>,
    secret_key: Option<SecretString>,
    secret_key_file: Option<PathBuf>,
    /// A list, or one comma-separated string (what an environment variable gives).
    #[serde(default)]
    previous_keys: Vec<String>,
    idle_timeout_secs: Option<u64>,
    absolute_timeout_secs: Option<u64>,
    login_timeout_secs: Option<u64>,
    max_pending_logins_per_address: Option<u64>,
    max_pending_logins: Option<u64>,
    recheck_secs: Option<u64>,
}

impl RawSession {
    pub(super) fn validate(
        self,
        server: &ServerConfig,
        base_dir: &std::path::Path,
    ) -> Result<SessionConfig, ConfigError> {
        let store = SessionStore::parse(self.store.as_deref().unwrap_or(DEFAULT_SESSION_STORE))
            .map_err(|e| ConfigError::new(format!("session.store: {e}")))?;
        let secret_key = secret_from(
            self.secret_key,
            self.secret_key_file.clone(),
            base_dir,
            "session.secret_key",
        )?;
        let key_name = if self.secret_key_file.is_some() {
            "session.secret_key_file"
        } else {
            "session.secret_key"
        };
        if let Some(key) = &secret_key {
            crate::crypto::TokenCipher::decode_key(key.expose_secret())
                .map_err(|e| ConfigError::new(format!("{key_name}: {e}")))?;
        } else if server.is_https() {
            return Err(ConfigError::new(
                "session.secret_key: required when server.public_origin is HTTPS (32 random bytes, \
                 base64; generate one with `head -c 32 /dev/urandom | base64`)",
            ));
        }
        Ok(SessionConfig {
            store,
            secret_key,
            previous_keys: parse_previous_keys(self.previous_keys)?,
            idle_timeout: at_least_one(
                self.idle_timeout_secs,
                "session.idle_timeout_secs",
                DEFAULT_IDLE_TIMEOUT,
            )?,
            absolute_timeout: at_least_one(
                self.absolute_timeout_secs,
                "session.absolute_timeout_secs",
                DEFAULT_ABSOLUTE_TIMEOUT,
            )?,
            login_timeout: at_least_one(
                self.login_timeout_secs,
                "session.login_timeout_secs",
                DEFAULT_LOGIN_TIMEOUT,
            )?,
            max_pending_logins_per_address: count(
                self.max_pending_logins_per_address,
                "session.max_pending_logins_per_address",
                64,
            )?,
            max_pending_logins: count(
                self.max_pending_logins,
                "session.max_pending_logins",
                10_000,
            )?,
            recheck: at_least_one(self.recheck_secs, "session.recheck_secs", DEFAULT_RECHECK)?,
        })
    }
}

/// A secret given as `NAME` or read from `NAME_file` (relative to the config's folder), not both.
pub(super) fn secret_from(
    value: Option<SecretString>,
    file: Option<PathBuf>,
    base_dir: &std::path::Path,
    name: &str,
) -> Result<Option<SecretString>, ConfigError> {
    match (value, file) {
        (Some(_), Some(_)) => Err(ConfigError::new(format!(
            "{name}: give {leaf} or {leaf}_file, not both",
            leaf = name.rsplit('.').next().unwrap_or(name)
        ))),
        (value, None) => Ok(value),
        (None, Some(file)) => {
            let path = base_dir.join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::new(format!("{name}_file: cannot read {}: {e}", path.display()))
            })?;
            Ok(Some(SecretString::from(text.trim().to_owned())))
        }
    }
}

/// A count of at least 1 (`key` names it in the error), or `default`.
fn count(value: Option<u64>, key: &str, default: usize) -> Result<usize, ConfigError> {
    match value {
        None => Ok(default),
        Some(0) => Err(ConfigError::new(format!("{key}: must be at least 1"))),
        Some(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
    }
}

/// `session.previous_keys`: each must be a valid key (base64, 32+ bytes).
fn parse_previous_keys(entries: Vec<String>) -> Result<Vec<SecretString>, ConfigError> {
    const KEY: &str = "session.previous_keys";
    entries
        .into_iter()
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .enumerate()
        .map(|(index, text)| {
            crate::crypto::TokenCipher::decode_key(&text)
                .map_err(|e| ConfigError::new(format!("{KEY}: entry {}: {e}", index + 1)))?;
            Ok(SecretString::from(text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redis_password_is_masked_in_debug_display_and_every_refusal() {
        let store = SessionStore::parse("redis://:hunter2-secret@10.0.0.5:6379/2").unwrap();
        let SessionStore::Redis(url) = &store else {
            panic!("a Redis store: {store:?}")
        };
        assert_eq!(url.expose(), "redis://:hunter2-secret@10.0.0.5:6379/2");
        assert_eq!(url.to_string(), "redis://:***@10.0.0.5:6379/2");
        assert!(!format!("{store:?}").contains("hunter2"), "{store:?}");
        for bad in [
            "redis://:hunter2-secret@",
            "redis://user:hunter2-secret@[::1",
            "rediss://:hunter2-secret@10.0.0.5:6379",
            "redis//:hunter2-secret@10.0.0.5",
        ] {
            let refused = SessionStore::parse(bad).unwrap_err();
            assert!(!refused.contains("hunter2"), "{bad}: {refused}");
        }
    }
}
