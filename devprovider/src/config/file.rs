//! The binary's TOML configuration:
//!
//! ```toml
//! bind = "127.0.0.1:3900"        # optional, this is the default
//! dialect = "standard"           # optional: "standard", "github" or "intra42"
//! access_token_ttl_secs = 3600   # optional; the default depends on the dialect
//! code_ttl_secs = 60             # optional; the default depends on the dialect
//! rate_limit_per_sec = 2         # optional: API calls per client per second, like 42
//!
//! [[clients]]
//! id = "portero"
//! secret = "dev-secret"
//! redirect_uris = ["http://127.0.0.1:8080/callback/dev"]
//! # optional, standard dialect only: OIDC Back-Channel Logout 1.0
//! backchannel_logout_uri = "http://127.0.0.1:3000/api/backchannel-logout/dev"
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::{Client, Config, Dialect};

/// Where to listen and what to serve.
#[derive(Debug)]
pub struct FileConfig {
    pub bind: SocketAddr,
    pub config: Config,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    bind: Option<String>,
    dialect: Option<String>,
    #[serde(default)]
    clients: Vec<RawClient>,
    access_token_ttl_secs: Option<u64>,
    code_ttl_secs: Option<u64>,
    rate_limit_per_sec: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    id: String,
    secret: String,
    redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:3900";

/// Reads and checks the file; errors name the file and the offending key.
pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    parse(&text).with_context(|| format!("invalid config file {}", path.display()))
}

pub fn parse(text: &str) -> anyhow::Result<FileConfig> {
    // toml's messages already quote the line and name a missing or mistyped key.
    let raw: RawConfig = toml::from_str(text)?;
    let bind_text = raw.bind.as_deref().unwrap_or(DEFAULT_BIND);
    let bind = bind_text
        .parse()
        .with_context(|| format!("`bind`: `{bind_text}` is not an address like {DEFAULT_BIND}"))?;
    let dialect: Dialect = match raw.dialect.as_deref() {
        None => Dialect::default(),
        Some(name) => name
            .parse()
            .map_err(|why: String| anyhow::anyhow!("`dialect`: {why}"))?,
    };
    let mut config = Config {
        clients: raw
            .clients
            .into_iter()
            .map(|c| Client {
                id: c.id,
                secret: c.secret,
                redirect_uris: c.redirect_uris,
                backchannel_logout_uri: c.backchannel_logout_uri,
            })
            .collect(),
        ..Config::for_dialect(dialect)
    };
    if let Some(secs) = raw.access_token_ttl_secs {
        anyhow::ensure!(secs > 0, "`access_token_ttl_secs` must be at least 1");
        config.access_token_ttl = Duration::from_secs(secs);
    }
    if let Some(secs) = raw.code_ttl_secs {
        anyhow::ensure!(secs > 0, "`code_ttl_secs` must be at least 1");
        config.code_ttl = Duration::from_secs(secs);
    }
    if let Some(limit) = raw.rate_limit_per_sec {
        anyhow::ensure!(
            limit > 0,
            "`rate_limit_per_sec` must be at least 1 (leave it out for no limit)"
        );
        config.rate_limit_per_sec = Some(limit);
    }
    config.validate().context("`clients`")?;
    Ok(FileConfig { bind, config })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        format!("{:#}", parse(text).unwrap_err())
    }

    #[test]
    fn a_complete_file_is_read() {
        let file = parse(
            r#"
            bind = "127.0.0.1:4000"
            access_token_ttl_secs = 120
            [[clients]]
            id = "portero"
            secret = "s"
            redirect_uris = ["http://127.0.0.1:8080/callback/dev"]
            "#,
        )
        .unwrap();
        assert_eq!(file.bind, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(file.config.access_token_ttl, Duration::from_secs(120));
        assert_eq!(file.config.clients[0].id, "portero");
        assert_eq!(file.config.users, crate::demo_users());
    }

    #[test]
    fn the_dialect_sets_the_default_lifetimes_and_the_file_can_override_them() {
        let standard = parse("").unwrap().config;
        assert_eq!(standard.dialect, Dialect::Standard);
        assert_eq!(standard.access_token_ttl, Duration::from_secs(3600));
        assert_eq!(standard.rate_limit_per_sec, None);

        let intra = parse("dialect = \"intra42\"\nrate_limit_per_sec = 2\n")
            .unwrap()
            .config;
        assert_eq!(intra.dialect, Dialect::Intra42);
        assert_eq!(intra.access_token_ttl, Duration::from_secs(7200));
        assert_eq!(intra.code_ttl, Duration::from_secs(600));
        assert_eq!(intra.rate_limit_per_sec, Some(2));

        let github = parse("dialect = \"github\"\naccess_token_ttl_secs = 5\n")
            .unwrap()
            .config;
        assert_eq!(github.dialect, Dialect::Github);
        assert_eq!(github.access_token_ttl, Duration::from_secs(5));
    }

    #[test]
    fn an_unknown_dialect_or_a_zero_rate_limit_is_named() {
        let error = error_of("dialect = \"gitlab\"\n");
        assert!(
            error.contains("`dialect`") && error.contains("gitlab"),
            "{error}"
        );
        let error = error_of("rate_limit_per_sec = 0\n");
        assert!(error.contains("rate_limit_per_sec"), "{error}");
    }

    #[test]
    fn bind_defaults_to_port_3900() {
        assert_eq!(parse("").unwrap().bind, DEFAULT_BIND.parse().unwrap());
    }

    #[test]
    fn a_missing_secret_is_named() {
        let error = error_of("[[clients]]\nid = \"x\"\nredirect_uris = []\n");
        assert!(error.contains("secret"), "{error}");
    }

    #[test]
    fn a_bad_bind_address_is_named() {
        let error = error_of("bind = \"localhost\"\n");
        assert!(error.contains("`bind`"), "{error}");
    }

    #[test]
    fn an_unknown_key_is_named() {
        let error = error_of("bnid = \"127.0.0.1:1\"\n");
        assert!(error.contains("bnid"), "{error}");
    }

    #[test]
    fn a_relative_redirect_uri_is_refused() {
        let error =
            error_of("[[clients]]\nid = \"x\"\nsecret = \"s\"\nredirect_uris = [\"/cb\"]\n");
        assert!(error.contains("redirect URI `/cb`"), "{error}");
    }

    #[test]
    fn a_client_may_name_its_backchannel_logout_uri_in_the_standard_dialect_only() {
        let client = "[[clients]]\nid = \"x\"\nsecret = \"s\"\nredirect_uris = [\"http://127.0.0.1:9/cb\"]\n\
            backchannel_logout_uri = \"http://127.0.0.1:9/logout\"\n";
        let file = parse(client).unwrap();
        assert_eq!(
            file.config.clients[0].backchannel_logout_uri.as_deref(),
            Some("http://127.0.0.1:9/logout")
        );
        let error = error_of(&format!("dialect = \"github\"\n{client}"));
        assert!(error.contains("backchannel_logout_uri"), "{error}");
        let error = error_of(&client.replace("http://127.0.0.1:9/logout", "https://x/logout"));
        assert!(error.contains("must be http://"), "{error}");
    }

    #[test]
    fn a_zero_token_lifetime_is_refused() {
        let error = error_of("access_token_ttl_secs = 0\n");
        assert!(error.contains("access_token_ttl_secs"), "{error}");
    }
}
