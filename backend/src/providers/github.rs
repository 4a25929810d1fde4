//! GitHub OAuth Apps (docs.github.com, "Authorizing OAuth apps", and the REST API's "Users" and
//! "OAuth authorizations" pages): plain OAuth 2.0 with GitHub's endpoints, its token endpoint's
//! errors answered with HTTP 200, the person from `/user` and `/user/emails`, and its own
//! revocation.

use async_trait::async_trait;
use oauth2::AccessToken;
use openidconnect::HttpResponse;
use serde_json::Value;
use shared::{ProfileDetails, User};

use super::{
    standard::{self, field, get_json},
    Api, Facts, Kind, KindDefaults, LoginResult, Profile, Protocol, ProviderError, Rule, Wanted,
};
use crate::{config::TokenAuth, session::ProviderTokens};

/// GitHub's REST API media type ("Getting started with the REST API").
const API_JSON: &str = "application/vnd.github+json";

pub struct Github;

#[async_trait]
impl Kind for Github {
    fn protocol(&self) -> Protocol {
        Protocol::OAuth2
    }

    /// "Authorizing OAuth apps": the endpoints, and the `iss` GitHub puts on its callback since
    /// 2026; credentials go in the body as its examples show.
    fn defaults(&self) -> KindDefaults {
        KindDefaults {
            name: Some("GitHub"),
            issuer: Some("https://github.com/login/oauth"),
            authorize_url: Some("https://github.com/login/oauth/authorize"),
            token_url: Some("https://github.com/login/oauth/access_token"),
            userinfo_url: Some("https://api.github.com/user"),
            scopes: &["read:user", "user:email"],
            token_auth: TokenAuth::ClientSecretPost,
            // "Authorizing OAuth apps" knows only `client_id` and `client_secret`.
            strict_clients: false,
            ..KindDefaults::NONE
        }
    }

    /// The token endpoint answers its errors (`bad_verification_code`,
    /// `incorrect_client_credentials`, `redirect_uri_mismatch`) with HTTP 200 ("Troubleshooting
    /// OAuth app access token request errors"). RFC 6749 §5.2 says 400, which is what the oauth2
    /// crate reads as an error reply, so such a 200 is handed on as the 400 it means. (The
    /// crate already sends `Accept: application/json`, without which GitHub answers
    /// form-encoded.)
    fn token_reply(&self, reply: &mut HttpResponse) {
        let is_error = reply.status() == http::StatusCode::OK
            && serde_json::from_slice::<Value>(reply.body())
                .is_ok_and(|body| body.get("error").is_some_and(Value::is_string));
        if is_error {
            *reply.status_mut() = http::StatusCode::BAD_REQUEST;
        }
    }

    /// `GET /user`, and when its `email` is null (the person keeps it private), the primary
    /// *verified* address from `GET /user/emails` (scope `user:email`).
    async fn profile(&self, api: &Api<'_>, token: &AccessToken) -> Result<Profile, ProviderError> {
        let raw = get_json(api, api.userinfo_url()?, token, API_JSON).await?;
        let subject = field(&raw, "id").ok_or_else(|| api.fail("/user has no id"))?;
        let email = match field(&raw, "email") {
            Some(email) => Some(email),
            None => primary_verified_email(api, token).await?,
        };
        let user = User {
            provider: api.id.to_owned(),
            subject,
            login: field(&raw, "login"),
            name: field(&raw, "name"),
            email,
            avatar_url: field(&raw, "avatar_url"),
        };
        let details = ProfileDetails {
            profile_url: field(&raw, "html_url"),
            public_repos: raw.get("public_repos").and_then(Value::as_u64),
            followers: raw.get("followers").and_then(Value::as_u64),
            ..ProfileDetails::default()
        };
        Ok(Profile { user, details, raw })
    }

    /// Rule 21: an address taken from `/user/emails` was picked verified; one `/user` shows
    /// (the person's public address) counts only when `/user/emails` says it is verified.
    async fn email_verified(
        &self,
        api: &Api<'_>,
        token: &AccessToken,
        login: &LoginResult,
    ) -> Result<bool, ProviderError> {
        let Some(email) = &login.user.email else {
            return Ok(false);
        };
        let public = login.raw.as_ref().and_then(|raw| field(raw, "email"));
        if public.as_ref() != Some(email) {
            return Ok(true);
        }
        Ok(emails(api, token).await?.iter().any(|e| {
            e.get("verified") == Some(&Value::Bool(true))
                && field(e, "email").is_some_and(|e| e.eq_ignore_ascii_case(email))
        }))
    }

    /// "Authorizing OAuth apps": `prompt=select_account` makes GitHub show its account
    /// picker even when one account is signed in.
    fn choose_account(&self) -> Option<(&'static str, &'static str)> {
        Some(("prompt", "select_account"))
    }

    fn rules(&self) -> &'static [Rule] {
        &[
            Rule::Emails,
            Rule::EmailDomains,
            Rule::GithubOrgs,
            Rule::GithubTeams,
        ]
    }

    /// Every *verified* address of `GET /user/emails`; the organizations of `GET /user/orgs`
    /// and the teams of `GET /user/teams` (REST API, "Organizations" and "Teams"; both need
    /// `read:org`, which the configuration adds), each only when a rule needs it. An organization with OAuth App access
    /// restrictions that has not approved this app is not listed: as far as this app may know,
    /// the person is not a member — and so they are not, here.
    async fn facts(
        &self,
        api: &Api<'_>,
        token: &AccessToken,
        _login: &LoginResult,
        wanted: &Wanted,
    ) -> Result<Facts, ProviderError> {
        let base = api_base(api)?;
        // One page of 100, GitHub's largest: the default page of 30 would hide the 31st org.
        let list = |path: &'static str| {
            let url = format!("{base}{path}");
            async move {
                match get_json(api, &url, token, API_JSON).await {
                    Ok(Value::Array(items)) => Ok(items),
                    Ok(_) => Ok(Vec::new()),
                    Err(
                        e
                        @ (ProviderError::Unauthorized { .. } | ProviderError::RateLimited { .. }),
                    ) => Err(e),
                    // A 403 (a scope short of read:org) or 404: no memberships to show.
                    Err(e) => {
                        tracing::warn!(provider = %api.id, error = %e, %path, "GitHub did not list it");
                        Ok(Vec::new())
                    }
                }
            }
        };
        let lower = |v: Option<String>| v.map(|s| s.to_lowercase());
        let mut facts = Facts::default();
        if wanted.emails {
            facts.verified_emails = list("/user/emails?per_page=100")
                .await?
                .iter()
                .filter(|e| e.get("verified") == Some(&Value::Bool(true)))
                .filter_map(|e| lower(field(e, "email")))
                .collect();
        }
        if wanted.orgs {
            facts.orgs = list("/user/orgs?per_page=100")
                .await?
                .iter()
                .filter_map(|o| lower(field(o, "login")))
                .collect();
        }
        if wanted.teams {
            facts.teams = list("/user/teams?per_page=100")
                .await?
                .iter()
                .filter_map(|t| {
                    let org = lower(field(t, "organization.login"))?;
                    Some(format!("{org}/{}", lower(field(t, "slug"))?))
                })
                .collect();
        }
        Ok(facts)
    }

    /// OAuth App tokens are revoked with `DELETE /applications/{client_id}/token`, basic auth
    /// with the app's credentials and the token in a JSON body; GitHub has no RFC 7009 endpoint.
    async fn revoke(&self, api: &Api<'_>, tokens: &ProviderTokens) -> Result<(), ProviderError> {
        let base = api_base(api)?;
        let client_id = api.auth.client_id();
        let url = standard::secure_url(&format!("{base}/applications/{client_id}/token"))
            .map_err(|e| api.fail(e))?;
        // GitHub knows only client secrets (its kind refuses `private_key_jwt`).
        let secret = api
            .auth
            .secret()
            .ok_or_else(|| api.fail("no client secret"))?;
        let body = serde_json::json!({ "access_token": tokens.access_token.secret() }).to_string();
        let request = http::Request::delete(url.as_str())
            .header(
                http::header::AUTHORIZATION,
                standard::basic_auth(client_id, secret),
            )
            .header(http::header::ACCEPT, API_JSON)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.into_bytes())
            .map_err(|e| api.fail(format!("cannot build the revocation request ({e})")))?;
        standard::send_expecting_success(api, request, "the revocation endpoint").await
    }
}

/// The REST API's base, from `userinfo_url` (`https://api.github.com/user`).
fn api_base<'a>(api: &'a Api<'_>) -> Result<&'a str, ProviderError> {
    Ok(api
        .userinfo_url()?
        .trim_end_matches('/')
        .trim_end_matches("/user"))
}

async fn primary_verified_email(
    api: &Api<'_>,
    token: &AccessToken,
) -> Result<Option<String>, ProviderError> {
    Ok(emails(api, token)
        .await?
        .iter()
        .find(|e| {
            e.get("primary") == Some(&Value::Bool(true))
                && e.get("verified") == Some(&Value::Bool(true))
        })
        .and_then(|e| field(e, "email")))
}

/// `GET /user/emails`: the person's addresses, each with `primary` and `verified`.
async fn emails(api: &Api<'_>, token: &AccessToken) -> Result<Vec<Value>, ProviderError> {
    let url = format!("{}/user/emails", api_base(api)?);
    match get_json(api, &url, token, API_JSON).await {
        Ok(Value::Array(emails)) => Ok(emails),
        Ok(_) => Ok(Vec::new()),
        Err(e @ ProviderError::Unauthorized { .. }) => Err(e),
        // Without the user:email scope GitHub answers 404: the person simply has no email here.
        Err(e) => {
            tracing::info!(provider = %api.id, error = %e, "no email from /user/emails");
            Ok(Vec::new())
        }
    }
}
