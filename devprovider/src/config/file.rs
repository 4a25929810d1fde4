//! The binary's TOML configuration:
//!
//! ```toml
//! bind = "127.0.0.1:3900"        # optional, this is the default
//! dialect = "standard"           # optional: "standard", "github" or "intra42"
//! access_token_ttl_secs = 3600   # optional; the default depends on the dialect
//! code_ttl_secs = 60             # optional; the default depends on the dialect
//! rate_limit_per_sec = 2         # optional: API calls per client per second, like 42
//! par = "on"                     # optional, standard dialect: "off", "on" or "required" (RFC 9126)
//! par_ttl_secs = 60              # optional: how long a request_uri stays valid
//! dpop = "on"                    # optional, standard dialect: "off", "on" or "nonce" (RFC 9449)
//!
//! [[clients]]
//! id = "portero"
//! secret = "dev-secret"
//! redirect_uris = ["http://127.0.0.1:8080/callback/dev"]
//! # optional, standard dialect only: OIDC Back-Channel Logout 1.0
//! backchannel_logout_uri = "http://127.0.0.1:3000/api/backchannel-logout/dev"
//! # optional, standard dialect only, RFC 7591 client metadata:
//! token_endpoint_auth_method = "private_key_jwt"  # or client_secret_basic / client_secret_post;
//! #                              absent: either secret method. private_key_jwt needs no secret.
//! jwks_uri = "http://127.0.0.1:3000/…"  # private_key_jwt: the client's public keys, or
//! jwks_file = "client.jwks.json"        # a JWK Set file (relative to this file), or
//! # jwks = { keys = [ { kty = "EC", crv = "P-256", x = "…", y = "…" } ] }
//! require_pushed_authorization_requests = true  # RFC 9126 §6
//! dpop_bound_access_tokens = true               # RFC 9449 §5.2
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;

use super::{AuthMethod, ClientMetadata, Dpop, Par};
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
    par: Option<String>,
    par_ttl_secs: Option<u64>,
    dpop: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    id: String,
    secret: Option<String>,
    redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
    token_endpoint_auth_method: Option<String>,
    jwks: Option<Value>,
    jwks_file: Option<String>,
    jwks_uri: Option<String>,
    #[serde(default)]
    require_pushed_authorization_requests: bool,
    #[serde(default)]
    dpop_bound_access_tokens: bool,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:3900";

/// Reads and checks the file; errors name the file and the offending key.
pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let folder = path.parent().unwrap_or(Path::new("."));
    parse_in(&text, folder).with_context(|| format!("invalid config file {}", path.display()))
}

/// Reads a file's text; a `jwks_file` is relative to the working directory.
pub fn parse(text: &str) -> anyhow::Result<FileConfig> {
    parse_in(text, Path::new("."))
}

/// Reads a file's text; a `jwks_file` is relative to `folder`, the file's own.
pub fn parse_in(text: &str, folder: &Path) -> anyhow::Result<FileConfig> {
    // toml's messages already quote the line and name a missing or mistyped key.
    let mut raw: RawConfig = toml::from_str(text)?;
    let raw_clients = std::mem::take(&mut raw.clients);
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
    let mut config = Config::for_dialect(dialect);
    for raw in raw_clients {
        let id = raw.id.clone();
        let (client, metadata) =
            client(raw, folder).with_context(|| format!("`clients`: client `{id}`"))?;
        if metadata != ClientMetadata::default() {
            config.client_metadata.insert(id, metadata);
        }
        config.clients.push(client);
    }
    if let Some(name) = raw.par.as_deref() {
        config.par = choice(
            name,
            &[
                ("off", Par::Off),
                ("on", Par::On),
                ("required", Par::Required),
            ],
        )
        .context("`par`")?;
    }
    if let Some(secs) = raw.par_ttl_secs {
        anyhow::ensure!(secs > 0, "`par_ttl_secs` must be at least 1");
        config.par_ttl = Duration::from_secs(secs);
    }
    if let Some(name) = raw.dpop.as_deref() {
        let choices = [
            ("off", Dpop::Off),
            ("on", Dpop::On),
            ("nonce", Dpop::RequireNonce),
        ];
        config.dpop = choice(name, &choices).context("`dpop`")?;
    }
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

/// A `[[clients]]` table: the client, and its metadata.
fn client(raw: RawClient, folder: &Path) -> anyhow::Result<(Client, ClientMetadata)> {
    let method = match raw.token_endpoint_auth_method.as_deref() {
        None => AuthMethod::ClientSecret,
        Some(name) => name
            .parse()
            .map_err(|why: String| anyhow::anyhow!("`token_endpoint_auth_method`: {why}"))?,
    };
    let secret = match (raw.secret, method) {
        (Some(secret), _) => secret,
        (None, AuthMethod::PrivateKeyJwt) => String::new(),
        (None, _) => {
            anyhow::bail!("missing field `secret` (only a private_key_jwt client goes without)")
        }
    };
    let jwks = match (raw.jwks, raw.jwks_file) {
        (Some(_), Some(_)) => anyhow::bail!("give `jwks` or `jwks_file`, not both"),
        (Some(jwks), None) => Some(jwks),
        (None, Some(file)) => {
            let path = folder.join(&file);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("`jwks_file`: cannot read {}", path.display()))?;
            let jwks = serde_json::from_str(&text)
                .with_context(|| format!("`jwks_file`: {} is not JSON", path.display()))?;
            Some(jwks)
        }
        (None, None) => None,
    };
    let client = Client {
        id: raw.id,
        secret,
        redirect_uris: raw.redirect_uris,
        backchannel_logout_uri: raw.backchannel_logout_uri,
    };
    let metadata = ClientMetadata {
        token_endpoint_auth_method: method,
        jwks,
        jwks_uri: raw.jwks_uri,
        require_pushed_authorization_requests: raw.require_pushed_authorization_requests,
        dpop_bound_access_tokens: raw.dpop_bound_access_tokens,
    };
    Ok((client, metadata))
}

/// The value named `name` among `choices`, or an error listing them.
fn choice<T: Copy>(name: &str, choices: &[(&str, T)]) -> anyhow::Result<T> {
    choices
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<String> = choices.iter().map(|(n, _)| format!("\"{n}\"")).collect();
            anyhow::anyhow!("unknown value `{name}`; use {}", names.join(", "))
        })
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

    const STRICT_CLIENT: &str = "[[clients]]\nid = \"strict\"\n\
        redirect_uris = [\"http://127.0.0.1:9/cb\"]\n\
        token_endpoint_auth_method = \"private_key_jwt\"\n";

    #[test]
    fn par_dpop_and_client_metadata_are_read() {
        let jwks = "jwks = { keys = [ { kty = \"EC\", crv = \"P-256\", \
            x = \"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\", \
            y = \"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\" } ] }\n";
        let text = format!(
            "par = \"required\"\npar_ttl_secs = 30\ndpop = \"nonce\"\n{STRICT_CLIENT}{jwks}\
             require_pushed_authorization_requests = true\ndpop_bound_access_tokens = true\n"
        );
        let config = parse(&text).unwrap().config;
        assert_eq!(
            (config.par, config.dpop),
            (Par::Required, Dpop::RequireNonce)
        );
        assert_eq!(config.par_ttl, Duration::from_secs(30));
        assert_eq!(config.clients[0].secret, "");
        let metadata = &config.client_metadata["strict"];
        assert_eq!(
            metadata.token_endpoint_auth_method,
            AuthMethod::PrivateKeyJwt
        );
        assert_eq!(metadata.jwks.as_ref().unwrap()["keys"][0]["crv"], "P-256");
        assert!(metadata.require_pushed_authorization_requests);
        assert!(metadata.dpop_bound_access_tokens);
        // A client with none of these keys has no metadata entry.
        let plain = parse("[[clients]]\nid = \"x\"\nsecret = \"s\"\nredirect_uris = [\"http://127.0.0.1:9/cb\"]\n");
        assert!(plain.unwrap().config.client_metadata.is_empty());
    }

    #[test]
    fn a_bad_choice_or_an_unusable_client_registration_is_named() {
        for (text, named) in [
            ("par = \"sometimes\"\n".to_owned(), "`par`"),
            ("dpop = \"yes\"\n".to_owned(), "`dpop`"),
            ("par_ttl_secs = 0\n".to_owned(), "par_ttl_secs"),
            (STRICT_CLIENT.to_owned(), "jwks or jwks_uri"),
            (format!("{STRICT_CLIENT}jwks_uri = \"https://x/jwks\"\n"), "must be http://"),
            (format!("{STRICT_CLIENT}jwks_file = \"no-such-file.json\"\n"), "no-such-file.json"),
            (
                STRICT_CLIENT.replace("private_key_jwt", "client_secret_jwt"),
                "`token_endpoint_auth_method`",
            ),
            (
                STRICT_CLIENT.replace("private_key_jwt", "client_secret_post"),
                "missing field `secret`",
            ),
            (
                format!("par = \"off\"\n{STRICT_CLIENT}jwks_uri = \"http://x/jwks\"\nrequire_pushed_authorization_requests = true\n"),
                "require_pushed_authorization_requests",
            ),
            (
                format!("dialect = \"github\"\n{STRICT_CLIENT}jwks_uri = \"http://x/jwks\"\n"),
                "standard dialect",
            ),
        ] {
            let error = error_of(&text);
            assert!(error.contains(named), "{named}: {error}");
        }
    }
}
