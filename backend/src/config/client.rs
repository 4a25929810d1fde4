//! How Portero proves to a provider that it is the client, and the stricter protections a
//! provider may ask for (docs/design.md, "Stricter providers"): `client_auth` (with the secret,
//! or with `client_key_file` for `private_key_jwt`), `par` and `dpop`.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{providers::key, ConfigError, TokenAuth};
use crate::providers::{ClientKey, KindDefaults, Protocol};

/// What a client assertion's `aud` names (RFC 7523 §3): the token endpoint, as RFC 7523 and
/// OpenID Connect Core §9 say, or the issuer, as FAPI 2.0 and servers that follow it want.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AssertionAudience {
    /// `"token_endpoint"` (the default).
    #[default]
    TokenEndpoint,
    /// `"issuer"`.
    Issuer,
}

/// `par`: when the authorization request is pushed first (RFC 9126).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ParMode {
    /// Unset: only when the provider requires it (discovery's
    /// `require_pushed_authorization_requests`), so that the parameters the SPA receives stay
    /// those of the route table unless asked.
    #[default]
    WhenRequired,
    /// Whenever the provider has a PAR endpoint.
    Auto,
    /// Always: a provider without a PAR endpoint stops start-up.
    Always,
    /// Never.
    Never,
}

/// The keys of `[providers.{id}]` this file reads.
pub(super) struct RawClient {
    pub client_auth: Option<TokenAuth>,
    /// The old name of `client_auth`, still read.
    pub token_endpoint_auth: Option<TokenAuth>,
    pub client_secret: Option<SecretString>,
    pub client_secret_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
    pub client_assertion_audience: Option<AssertionAudience>,
    pub par: Option<ParMode>,
    pub dpop: Option<bool>,
}

/// How the client authenticates and what else it does, validated.
pub(super) struct Client {
    pub token_auth: TokenAuth,
    pub client_secret: Option<SecretString>,
    pub client_key: Option<ClientKey>,
    pub assertion_audience: AssertionAudience,
    pub par: ParMode,
    pub dpop: bool,
}

/// The kind's name in messages: "GitHub does not offer it".
fn kind_name(defaults: &KindDefaults, id: &str) -> String {
    defaults.name.unwrap_or(id).to_owned()
}

impl RawClient {
    pub fn validate(
        self,
        id: &str,
        defaults: &KindDefaults,
        protocol: Protocol,
        issuer: Option<&str>,
        par_url: Option<&str>,
        base_dir: &Path,
    ) -> Result<Client, ConfigError> {
        let error =
            |field: &str, why: String| ConfigError::new(format!("{}: {why}", key(id, field)));
        let token_auth = match (self.client_auth, self.token_endpoint_auth) {
            (Some(_), Some(_)) => {
                return Err(error(
                    "token_endpoint_auth",
                    "is the old name of client_auth; set only client_auth".into(),
                ))
            }
            (given, old) => given.or(old).unwrap_or(defaults.token_auth),
        };
        let par = self.par.unwrap_or_default();
        let dpop = self.dpop.unwrap_or(false);
        if !defaults.strict_clients {
            let name = kind_name(defaults, id);
            let asked = [
                ("client_auth", token_auth == TokenAuth::PrivateKeyJwt),
                ("par", matches!(par, ParMode::Auto | ParMode::Always)),
                ("par_url", par_url.is_some()),
                ("dpop", dpop),
            ];
            if let Some((field, _)) = asked.into_iter().find(|(_, asked)| *asked) {
                return Err(error(
                    field,
                    format!("{name} does not offer it (it knows only client secrets)"),
                ));
            }
        }
        if par == ParMode::Always && protocol == Protocol::OAuth2 && par_url.is_none() {
            return Err(error(
                "par",
                "\"always\" needs par_url here (this kind has no discovery to learn it from)"
                    .into(),
            ));
        }
        let client_secret = secret(id, self.client_secret, self.client_secret_file, base_dir)?;
        let (client_secret, client_key) = match (token_auth, client_secret) {
            (TokenAuth::PrivateKeyJwt, Some(_)) => {
                return Err(error(
                    "client_secret",
                    "not used with client_auth = \"private_key_jwt\" (Portero signs with \
                     client_key_file instead); remove it"
                        .into(),
                ))
            }
            (TokenAuth::PrivateKeyJwt, None) => {
                let file = self.client_key_file.as_ref().ok_or_else(|| {
                    error(
                        "client_key_file",
                        "required with client_auth = \"private_key_jwt\" (an EC P-256 or RSA \
                         private key, PEM)"
                            .into(),
                    )
                })?;
                (None, Some(client_key(id, &base_dir.join(file))?))
            }
            (_, None) => {
                return Err(error(
                    "client_secret",
                    format!(
                        "missing (set it, or client_secret_file, or \
                         PORTERO_PROVIDERS__{}__CLIENT_SECRET; or client_auth = \
                         \"private_key_jwt\" with client_key_file)",
                        id.to_ascii_uppercase()
                    ),
                ))
            }
            (_, Some(secret)) => (Some(secret), None),
        };
        let only_with_jwt = [
            ("client_key_file", self.client_key_file.is_some()),
            (
                "client_assertion_audience",
                self.client_assertion_audience.is_some(),
            ),
        ];
        if token_auth != TokenAuth::PrivateKeyJwt {
            if let Some((field, _)) = only_with_jwt.into_iter().find(|(_, given)| *given) {
                return Err(error(
                    field,
                    "only with client_auth = \"private_key_jwt\"".into(),
                ));
            }
        }
        let audience = self.client_assertion_audience.unwrap_or_default();
        if audience == AssertionAudience::Issuer && issuer.is_none() {
            return Err(error(
                "client_assertion_audience",
                "\"issuer\" needs the provider's issuer (set issuer)".into(),
            ));
        }
        Ok(Client {
            token_auth,
            client_secret,
            client_key,
            assertion_audience: audience,
            par,
            dpop,
        })
    }
}

/// `client_secret`, or the contents of `client_secret_file` (relative to the config's folder);
/// `None` when neither is given.
fn secret(
    id: &str,
    given: Option<SecretString>,
    file: Option<PathBuf>,
    base_dir: &Path,
) -> Result<Option<SecretString>, ConfigError> {
    let secret = match (given, file) {
        (Some(secret), None) => secret,
        (None, Some(file)) => {
            let path = base_dir.join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::new(format!(
                    "{}: cannot read {}: {e}",
                    key(id, "client_secret_file"),
                    path.display()
                ))
            })?;
            SecretString::from(text.trim().to_owned())
        }
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(format!(
                "{}: give client_secret or client_secret_file, not both",
                key(id, "client_secret")
            )))
        }
        (None, None) => return Ok(None),
    };
    if secret.expose_secret().is_empty() {
        return Err(ConfigError::new(format!(
            "{}: must not be empty",
            key(id, "client_secret")
        )));
    }
    Ok(Some(secret))
}

/// The private key at `path`: missing, unreadable or not a key stops start-up, naming the key.
fn client_key(id: &str, path: &Path) -> Result<ClientKey, ConfigError> {
    let name = key(id, "client_key_file");
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(format!("{name}: cannot read {}: {e}", path.display())))?;
    ClientKey::from_pem(&text)
        .map_err(|why| ConfigError::new(format!("{name}: {} {why}", path.display())))
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
