//! `[providers.{id}]`: one table per provider. What a kind fills in when the file does not say
//! (endpoints, scopes, client authentication, which protocol it speaks) comes from the kind's own
//! file in `providers/`, never from here. How the client authenticates, and the stricter
//! protections (PAR, DPoP), are read by `client.rs`.

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;
use shared::ProviderKind;
use url::Url;

use super::{
    allow::{AllowRules, RawAllow},
    client::{AssertionAudience, ParMode, RawClient},
    ConfigError,
};
use crate::providers::{self, ClientKey, KindDefaults, Protocol};

/// One `[providers.{id}]`, with its kind's defaults filled in.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The table name: the provider's id in URLs (`/callback/{id}`).
    pub id: String,
    /// `kind`.
    pub kind: ProviderKind,
    /// The button label.
    pub name: String,
    /// The client id registered with the provider.
    pub client_id: String,
    /// The client secret (none with `private_key_jwt`); printing it prints nothing.
    pub client_secret: Option<SecretString>,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// Kept exactly as written: OpenID Connect compares issuers as strings, so a trailing slash
    /// matters. For OAuth 2.0 kinds, the `iss` the provider puts on its callback (RFC 9207).
    pub issuer: Option<String>,
    /// Explicit endpoints: required for `oauth2`, defaults for `github` and `intra42`, and
    /// overrides of discovery for OpenID Connect kinds.
    pub endpoints: Endpoints,
    /// How the client authenticates at the token, revocation and PAR endpoints (`client_auth`).
    pub token_auth: TokenAuth,
    /// `client_key_file`, read: what `private_key_jwt` signs with.
    pub client_key: Option<ClientKey>,
    /// `client_assertion_audience`: the `aud` of client assertions.
    pub assertion_audience: AssertionAudience,
    /// `par`: when authorization requests are pushed first (RFC 9126).
    pub par: ParMode,
    /// `dpop`: tokens bound to a key of each session's own (RFC 9449).
    pub dpop: bool,
    /// Where each fact about the person is in the userinfo JSON (dotted paths).
    pub fields: FieldMap,
    /// `[providers.{id}.allow]`: who may log in (everyone when absent).
    pub allow: Option<AllowRules>,
    /// OpenID Connect kinds: the keys are read again for an unknown `kid` at most this often.
    pub jwks_min_refetch: std::time::Duration,
}

/// The endpoints the configuration names (or the kind's defaults).
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// Where the browser is sent to log in.
    pub authorize_url: Option<String>,
    /// Where the code is exchanged.
    pub token_url: Option<String>,
    /// Where the person is read with the access token.
    pub userinfo_url: Option<String>,
    /// RFC 7009 revocation.
    pub revocation_url: Option<String>,
    /// OpenID Connect kinds: where the signing keys are, instead of discovery's `jwks_uri`.
    pub jwks_url: Option<String>,
    /// RFC 9126: where authorization requests are pushed, instead of discovery's
    /// `pushed_authorization_request_endpoint` (the only way to give one to an OAuth 2.0 kind).
    pub par_url: Option<String>,
}

/// How the client authenticates at the provider's token, revocation and PAR endpoints
/// (`client_auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenAuth {
    /// The secret in HTTP basic auth (RFC 6749 §2.3.1, `client_secret_basic`).
    ClientSecretBasic,
    /// The secret in the form body (`client_secret_post`).
    ClientSecretPost,
    /// A JWT signed with `client_key_file`, and no secret (RFC 7523 §2.2).
    PrivateKeyJwt,
}

/// Where the person's facts are in a userinfo JSON reply (dotted paths, `image.link`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMap {
    /// The stable identifier (`subject_field`).
    pub subject: String,
    /// `login_field`.
    pub login: String,
    /// `name_field`.
    pub name: String,
    /// `email_field`.
    pub email: String,
    /// `avatar_field`.
    pub avatar: String,
    /// The person's page at the provider, for kinds that have one in userinfo.
    pub profile: Option<String>,
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
            profile: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProvider {
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
    jwks_url: Option<String>,
    par_url: Option<String>,
    client_auth: Option<TokenAuth>,
    token_endpoint_auth: Option<TokenAuth>,
    client_key_file: Option<PathBuf>,
    client_assertion_audience: Option<AssertionAudience>,
    par: Option<ParMode>,
    dpop: Option<bool>,
    subject_field: Option<String>,
    login_field: Option<String>,
    name_field: Option<String>,
    email_field: Option<String>,
    avatar_field: Option<String>,
    allow: Option<RawAllow>,
    jwks_min_refetch_secs: Option<u64>,
}

pub(super) fn validate(
    id: &str,
    raw: RawProvider,
    base_dir: &Path,
) -> Result<ProviderConfig, ConfigError> {
    check_id(id)?;
    if raw.client_id.trim().is_empty() {
        return Err(ConfigError::new(format!(
            "{}: must not be empty",
            key(id, "client_id")
        )));
    }
    let kind = providers::kind(raw.kind);
    let defaults = kind.defaults();
    let endpoints = endpoints(
        id,
        &defaults,
        Endpoints {
            authorize_url: raw.authorize_url,
            token_url: raw.token_url,
            userinfo_url: raw.userinfo_url,
            revocation_url: raw.revocation_url,
            jwks_url: raw.jwks_url,
            par_url: raw.par_url,
        },
    )?;
    let issuer = url_or_default(id, "issuer", raw.issuer, defaults.issuer)?;
    let client = RawClient {
        client_auth: raw.client_auth,
        token_endpoint_auth: raw.token_endpoint_auth,
        client_secret: raw.client_secret,
        client_secret_file: raw.client_secret_file,
        client_key_file: raw.client_key_file,
        client_assertion_audience: raw.client_assertion_audience,
        par: raw.par,
        dpop: raw.dpop,
    }
    .validate(
        id,
        &defaults,
        kind.protocol(),
        issuer.as_deref(),
        endpoints.par_url.as_deref(),
        base_dir,
    )?;
    check_protocol(id, kind.protocol(), issuer.as_deref(), &endpoints)?;
    let allow = raw
        .allow
        .map(|allow| allow.validate(&key(id, "allow"), kind.rules()))
        .transpose()?;
    let scopes = scopes(raw.scopes, &defaults, allow.as_ref());
    let name = raw
        .name
        .or(defaults.name.map(str::to_owned))
        .unwrap_or_else(|| id.to_owned());
    let default_fields = kind.fields();
    Ok(ProviderConfig {
        id: id.to_owned(),
        kind: raw.kind,
        name,
        client_id: raw.client_id,
        client_secret: client.client_secret,
        scopes,
        issuer,
        endpoints,
        token_auth: client.token_auth,
        client_key: client.client_key,
        assertion_audience: client.assertion_audience,
        par: client.par,
        dpop: client.dpop,
        fields: FieldMap {
            subject: raw.subject_field.unwrap_or(default_fields.subject),
            login: raw.login_field.unwrap_or(default_fields.login),
            name: raw.name_field.unwrap_or(default_fields.name),
            email: raw.email_field.unwrap_or(default_fields.email),
            avatar: raw.avatar_field.unwrap_or(default_fields.avatar),
            profile: default_fields.profile,
        },
        allow,
        jwks_min_refetch: super::at_least_one(
            raw.jwks_min_refetch_secs,
            &key(id, "jwks_min_refetch_secs"),
            std::time::Duration::from_secs(300),
        )?,
    })
}

/// `providers.{id}.{field}`, as errors name it.
pub(super) fn key(id: &str, field: &str) -> String {
    format!("providers.{id}.{field}")
}

/// Provider ids appear in URLs (`/callback/{id}`): keep them to a URL-safe alphabet.
fn check_id(id: &str) -> Result<(), ConfigError> {
    let url_safe = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if id.is_empty() || !id.chars().all(url_safe) {
        return Err(ConfigError::new(format!(
            "providers.{id}: the id must use only a-z, 0-9, '-' and '_'"
        )));
    }
    Ok(())
}

/// `given`, or else the kind's `default`; a URL either way.
fn url_or_default(
    id: &str,
    field: &str,
    given: Option<String>,
    default: Option<&str>,
) -> Result<Option<String>, ConfigError> {
    let value = given.or(default.map(str::to_owned));
    if let Some(url) = &value {
        Url::parse(url).map_err(|e| {
            ConfigError::new(format!("{}: {url:?} is not a URL ({e})", key(id, field)))
        })?;
    }
    Ok(value)
}

/// The endpoints the file names, the kind's defaults for the others.
fn endpoints(
    id: &str,
    defaults: &KindDefaults,
    given: Endpoints,
) -> Result<Endpoints, ConfigError> {
    let endpoint = |field, given, default| url_or_default(id, field, given, default);
    let endpoints = Endpoints {
        authorize_url: endpoint("authorize_url", given.authorize_url, defaults.authorize_url)?,
        token_url: endpoint("token_url", given.token_url, defaults.token_url)?,
        userinfo_url: endpoint("userinfo_url", given.userinfo_url, defaults.userinfo_url)?,
        revocation_url: endpoint(
            "revocation_url",
            given.revocation_url,
            defaults.revocation_url,
        )?,
        jwks_url: endpoint("jwks_url", given.jwks_url, defaults.jwks_url)?,
        par_url: endpoint("par_url", given.par_url, None)?,
    };
    // These receive the client secret or a token: https, unless on this machine.
    for (field, value) in [
        ("token_url", &endpoints.token_url),
        ("userinfo_url", &endpoints.userinfo_url),
        ("revocation_url", &endpoints.revocation_url),
        ("jwks_url", &endpoints.jwks_url),
        ("par_url", &endpoints.par_url),
    ] {
        if let Some(url) = value {
            providers::require_https_off_loopback(url)
                .map_err(|why| ConfigError::new(format!("{}: {url:?} {why}", key(id, field))))?;
        }
    }
    Ok(endpoints)
}

/// What the kind's protocol cannot do without: an issuer to discover, or the three endpoints.
fn check_protocol(
    id: &str,
    protocol: Protocol,
    issuer: Option<&str>,
    endpoints: &Endpoints,
) -> Result<(), ConfigError> {
    match protocol {
        Protocol::OpenIdConnect if issuer.is_none() => Err(ConfigError::new(format!(
            "{}: required for kind \"oidc\" (discovery reads {{issuer}}/.well-known/openid-configuration)",
            key(id, "issuer")
        ))),
        Protocol::OpenIdConnect => Ok(()),
        Protocol::OAuth2 => {
            for (field, value) in [
                ("authorize_url", &endpoints.authorize_url),
                ("token_url", &endpoints.token_url),
                ("userinfo_url", &endpoints.userinfo_url),
            ] {
                if value.is_none() {
                    return Err(ConfigError::new(format!(
                        "{}: required for kind \"oauth2\" (it has no discovery)",
                        key(id, field)
                    )));
                }
            }
            Ok(())
        }
    }
}

/// The scopes asked for: the file's, or the kind's.
fn scopes(
    given: Option<Vec<String>>,
    defaults: &KindDefaults,
    allow: Option<&AllowRules>,
) -> Vec<String> {
    let mut scopes =
        given.unwrap_or_else(|| defaults.scopes.iter().map(|s| s.to_string()).collect());
    if allow.is_some_and(AllowRules::needs_org_membership) {
        ask_for_org_membership(&mut scopes);
    }
    scopes
}

/// Whether `provider`'s kind reads organization memberships (GitHub).
pub(super) fn kind_checks_org_membership(provider: &ProviderConfig) -> bool {
    providers::kind(provider.kind)
        .rules()
        .contains(&providers::Rule::GithubOrgs)
}

/// GitHub shows an app a person's organizations only with `read:org` (or `user`).
pub(super) fn ask_for_org_membership(scopes: &mut Vec<String>) {
    if !scopes.iter().any(|s| s == "read:org" || s == "user") {
        scopes.push("read:org".into());
    }
}
