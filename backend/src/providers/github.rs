//! GitHub's differences from plain OAuth 2.0 (docs.github.com, "Authorizing OAuth apps" and
//! the REST API's "Users" and "OAuth authorizations" pages).

use std::{future::Future, pin::Pin};

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use shared::{ProfileDetails, User};

use super::{basic_auth, field, get_json, oauth2::OAuth2, secure_url, CallError, Profile};
use crate::http_client::{ProviderHttp, ProviderHttpError};

/// GitHub's REST API media type ("Getting started with the REST API").
const API_JSON: &str = "application/vnd.github+json";

/// The token endpoint answers its errors (`bad_verification_code`, `incorrect_client_credentials`,
/// `redirect_uri_mismatch`) with HTTP 200 ("Troubleshooting OAuth app access token request
/// errors"). RFC 6749 §5.2 says 400, which is what the oauth2 crate reads as an error reply, so
/// such a 200 is handed on as the 400 it means. (The crate already sends `Accept:
/// application/json`, without which GitHub answers form-encoded.)
pub struct TokenEndpoint<'a>(pub &'a ProviderHttp);

impl<'c> AsyncHttpClient<'c> for TokenEndpoint<'_> {
    type Error = ProviderHttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut reply = self.0.send(request).await?;
            let is_error = reply.status() == http::StatusCode::OK
                && serde_json::from_slice::<Value>(reply.body())
                    .is_ok_and(|body| body.get("error").is_some_and(Value::is_string));
            if is_error {
                *reply.status_mut() = http::StatusCode::BAD_REQUEST;
            }
            Ok(reply)
        })
    }
}

/// `GET /user`, and when its `email` is null (the person keeps it private), the primary
/// *verified* address from `GET /user/emails` (scope `user:email`).
pub async fn profile(provider: &OAuth2, access_token: &SecretString) -> Result<Profile, CallError> {
    let raw = get_json(
        &provider.http,
        &provider.id,
        &provider.userinfo_url,
        access_token,
        API_JSON,
    )
    .await?;
    let subject = field(&raw, "id").ok_or_else(|| provider.fail("/user has no id"))?;
    let email = match field(&raw, "email") {
        Some(email) => Some(email),
        None => primary_verified_email(provider, access_token).await?,
    };
    let user = User {
        provider: provider.id.clone(),
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

async fn primary_verified_email(
    provider: &OAuth2,
    access_token: &SecretString,
) -> Result<Option<String>, CallError> {
    let url = format!("{}/emails", provider.userinfo_url.trim_end_matches('/'));
    match get_json(&provider.http, &provider.id, &url, access_token, API_JSON).await {
        Ok(Value::Array(emails)) => Ok(emails
            .iter()
            .find(|e| {
                e.get("primary") == Some(&Value::Bool(true))
                    && e.get("verified") == Some(&Value::Bool(true))
            })
            .and_then(|e| field(e, "email"))),
        Ok(_) => Ok(None),
        Err(CallError::Unauthorized) => Err(CallError::Unauthorized),
        // Without the user:email scope GitHub answers 404: the person simply has no email here.
        Err(CallError::Failed(e)) => {
            tracing::info!(provider = %provider.id, error = %e, "no email from /user/emails");
            Ok(None)
        }
    }
}

/// OAuth App tokens are revoked with `DELETE /applications/{client_id}/token`, basic auth
/// with the app's credentials and the token in a JSON body; GitHub has no RFC 7009 endpoint.
pub async fn revoke(provider: &OAuth2, access_token: &SecretString) -> Result<(), String> {
    let api = provider
        .userinfo_url
        .trim_end_matches('/')
        .trim_end_matches("/user");
    let url = secure_url(&format!("{api}/applications/{}/token", provider.client_id))?;
    let body = serde_json::json!({ "access_token": access_token.expose_secret() }).to_string();
    let request = http::Request::delete(url.as_str())
        .header(
            http::header::AUTHORIZATION,
            basic_auth(&provider.client_id, &provider.client_secret),
        )
        .header(http::header::ACCEPT, API_JSON)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.into_bytes())
        .map_err(|e| format!("cannot build the revocation request ({e})"))?;
    let reply = provider
        .http
        .send(request)
        .await
        .map_err(|e| format!("the revocation endpoint {e}"))?;
    match reply.status() {
        s if s.is_success() => Ok(()),
        s => Err(format!("the revocation endpoint answered {s}")),
    }
}
