//! The `github` dialect's OAuth App endpoints, as docs.github.com describes them: "Authorizing
//! OAuth apps" and "Troubleshooting OAuth app access token request errors".

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::parse_scope;
use crate::authorize::{Challenge, Trusted, MALFORMED_S256};
use crate::html;
use crate::oauth::{accepts_json, check_client, client_credentials, no_store, Params};
use crate::state::{AppState, GrantError};
use crate::token_endpoint;

const TOKEN_ERRORS_DOC: &str = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/";
const AUTHORIZE_ERRORS_DOC: &str =
    "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/";

/// `GET /login/oauth/authorize`: validates the request, then shows the login page.
pub async fn authorize(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    let unknown_client = |client_id: Option<&str>| match client_id {
        None => html::error_page("The authorization request has no client_id."),
        // GitHub shows its 404 page for an unknown client_id.
        Some(id) => html::error_page_with(
            StatusCode::NOT_FOUND,
            &format!("There is no OAuth App with client_id `{id}`."),
        ),
    };
    // "Authorizing OAuth apps": without redirect_uri GitHub uses the app's callback URL.
    let redirect = |client_id: &str, uri: Option<&str>| match uri {
        None => state
            .default_redirect(client_id)
            .ok_or_else(|| "The OAuth App has no callback URL.".to_owned()),
        Some(uri) => match state.registered_redirect(client_id, uri) {
            Some(url) => Ok((uri.to_owned(), url)),
            None => Err(format!(
                "The redirect_uri MUST match the registered callback URL for this \
                 application: `{uri}` is not registered for client `{client_id}`."
            )),
        },
    };
    let request = match Trusted::check(&state, query, unknown_client, redirect) {
        Ok(request) => request,
        Err(page) => return *page,
    };
    if let Some(refused) = request.refuse_duplicate() {
        return refused;
    }
    // GitHub changelog 2025-07-14: PKCE is optional and only S256 is accepted.
    let pkce = match request.challenge() {
        Challenge::Absent => None,
        Challenge::S256(pkce) => Some(pkce),
        Challenge::MalformedS256 => return request.fail("invalid_request", MALFORMED_S256),
        Challenge::Plain(_) | Challenge::OtherMethod => {
            return request.fail(
                "invalid_request",
                "code_challenge_method must be S256, the only method GitHub accepts",
            )
        }
    };
    // No scope means public data only ("Scopes for OAuth apps"); response_type is not used.
    let scope = parse_scope(request.param("scope").unwrap_or(""));
    request.begin(scope, pkce, None)
}

/// The errors of GitHub's token endpoint. They come with HTTP 200.
#[derive(Debug, Clone, Copy)]
enum TokenError {
    IncorrectClientCredentials,
    BadVerificationCode,
    RedirectUriMismatch,
    BadRefreshToken,
    UnsupportedGrantType,
    UnreadableBody,
}

impl TokenError {
    fn fields(self) -> [(&'static str, String); 3] {
        let (error, description, uri) = match self {
            TokenError::IncorrectClientCredentials => (
                "incorrect_client_credentials",
                "The client_id and/or client_secret passed are incorrect.",
                format!("{TOKEN_ERRORS_DOC}#incorrect-client-credentials"),
            ),
            TokenError::BadVerificationCode => (
                "bad_verification_code",
                "The code passed is incorrect or expired.",
                format!("{TOKEN_ERRORS_DOC}#bad-verification-code"),
            ),
            TokenError::RedirectUriMismatch => (
                "redirect_uri_mismatch",
                "The redirect_uri MUST match the registered callback URL for this application.",
                format!("{AUTHORIZE_ERRORS_DOC}#redirect-uri-mismatch2"),
            ),
            // OAuth App tokens have no refresh token, so any refresh attempt fails this way
            // ("Refreshing user access tokens", which only GitHub Apps can do).
            TokenError::BadRefreshToken => (
                "bad_refresh_token",
                "The refresh token passed is incorrect or expired.",
                "https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens".to_owned(),
            ),
            TokenError::UnsupportedGrantType => (
                "unsupported_grant_type",
                "The grant type is not supported; OAuth Apps exchange an authorization code.",
                TOKEN_ERRORS_DOC.to_owned(),
            ),
            TokenError::UnreadableBody => (
                "invalid_request",
                "The request body is not a form or JSON object of strings, or repeats a parameter.",
                TOKEN_ERRORS_DOC.to_owned(),
            ),
        };
        [
            ("error", error.to_owned()),
            ("error_description", description.to_owned()),
            ("error_uri", uri),
        ]
    }
}

/// `POST /login/oauth/access_token`: form or JSON body (or, as GitHub's older examples do,
/// the query string); client_id and client_secret in the body or HTTP Basic.
pub async fn access_token(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json = accepts_json(&headers);
    token_endpoint::answer(&state, &headers, &body, async {
        match exchange(&state, query.as_deref(), &headers, &body) {
            Ok(fields) => token_reply(json, &fields),
            Err(error) => token_reply(json, &error.fields()),
        }
    })
    .await
}

fn exchange(
    state: &AppState,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<[(&'static str, String); 3], TokenError> {
    let mut params = Params::parse_body(headers, body).map_err(|_| TokenError::UnreadableBody)?;
    if params.is_empty() {
        params = Params::parse(query.unwrap_or_default().as_bytes())
            .map_err(|_| TokenError::UnreadableBody)?;
    }
    let (id, secret) =
        client_credentials(headers, &params).map_err(|_| TokenError::IncorrectClientCredentials)?;
    let client = check_client(state, &id, &secret).ok_or(TokenError::IncorrectClientCredentials)?;
    match params.get("grant_type") {
        None | Some("authorization_code") => {}
        Some("refresh_token") => return Err(TokenError::BadRefreshToken),
        Some(_) => return Err(TokenError::UnsupportedGrantType),
    }
    let code = params.get("code").ok_or(TokenError::BadVerificationCode)?;
    let issued = state
        .exchange_code(
            client,
            code,
            params.get("redirect_uri"),
            params.get("code_verifier"),
            // GitHub knows no DPoP: its tokens are never bound to a key.
            None,
        )
        .map_err(|error| match error {
            GrantError::RedirectMismatch => TokenError::RedirectUriMismatch,
            _ => TokenError::BadVerificationCode,
        })?;
    // The granted scopes, comma-separated, as GitHub reports them.
    Ok([
        ("access_token", issued.access_token),
        ("scope", issued.scope.join(",")),
        ("token_type", "bearer".to_owned()),
    ])
}

/// "The format of these responses is determined by the accept header you pass": form-encoded
/// unless the client accepts JSON. Always HTTP 200, errors included.
fn token_reply(json: bool, fields: &[(&'static str, String)]) -> Response {
    if json {
        let object: serde_json::Map<String, Value> = fields
            .iter()
            .map(|(name, value)| ((*name).to_owned(), Value::String(value.clone())))
            .collect();
        return (StatusCode::OK, no_store(), Json(object)).into_response();
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter().map(|(name, value)| (*name, value.as_str())))
        .finish();
    (
        StatusCode::OK,
        no_store(),
        [(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
