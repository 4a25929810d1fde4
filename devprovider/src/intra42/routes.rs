//! The `intra42` dialect: answers like api.intra.42.fr, which runs Doorkeeper. Quirks follow
//! api.intra.42.fr/apidoc (guides "Getting started", "Web Application Flow", "Specification",
//! "Rate limiting") and Doorkeeper's own error wording, which 42 passes through.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::{personas, secret_valid_until};
use crate::authorize::{Challenge, Trusted};
use crate::html;
use crate::oauth::{
    bearer_token, check_client, client_credentials, no_store, too_many_requests, Params,
};
use crate::state::{AccessInfo, AccessProblem, AppState, Issued};
use crate::token_endpoint;

const INVALID_CLIENT: &str = "Client authentication failed due to unknown client, no client \
    authentication included, or unsupported authentication method.";
const INVALID_GRANT: &str = "The provided authorization grant is invalid, expired, revoked, does \
    not match the redirection URI used in the authorization request, or was issued to another \
    client.";
const INVALID_REDIRECT: &str =
    "The requested redirect uri is malformed or doesn't match client redirect URI.";
const INVALID_SCOPE: &str = "The requested scope is invalid, unknown, or malformed.";
const INVALID_REQUEST: &str = "The request is missing a required parameter, includes an \
    unsupported parameter value, or is otherwise malformed.";

/// `GET /oauth/authorize`: validates the request, then shows the login page.
pub async fn authorize(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    let unknown_client = |_: Option<&str>| html::error_page(INVALID_CLIENT);
    // "Web Application Flow": redirect_uri is required and must be one the app registered.
    let redirect = |client_id: &str, uri: Option<&str>| {
        let uri = uri.ok_or_else(|| format!("{INVALID_REDIRECT} (redirect_uri is missing)"))?;
        match state.registered_redirect(client_id, uri) {
            Some(url) => Ok((uri.to_owned(), url)),
            None => Err(format!(
                "{INVALID_REDIRECT} (`{uri}` is not registered for this application)"
            )),
        }
    };
    let request = match Trusted::check(&state, query, unknown_client, redirect) {
        Ok(request) => request,
        Err(page) => return *page,
    };
    if request.duplicate.is_some() {
        return request.fail("invalid_request", INVALID_REQUEST);
    }
    match request.param("response_type") {
        None => {
            return request.fail(
                "invalid_request",
                "Missing required parameter: response_type.",
            )
        }
        Some("code") => {}
        Some(_) => {
            return request.fail(
                "unsupported_response_type",
                "The authorization server does not support this response type.",
            )
        }
    }
    // "Specification": `public` unless the application asks for more.
    let Ok(scope) = state
        .rules
        .parse_scope(request.param("scope").unwrap_or("public"))
    else {
        return request.fail("invalid_scope", INVALID_SCOPE);
    };
    // 42 does not document PKCE; Doorkeeper verifies it when sent, with either RFC 7636 method
    // and `plain` when none is named (§4.3).
    let pkce = match request.challenge() {
        Challenge::Absent => None,
        Challenge::S256(pkce) | Challenge::Plain(pkce) => Some(pkce),
        Challenge::MalformedS256 | Challenge::OtherMethod => {
            return request.fail("invalid_request", INVALID_REQUEST)
        }
    };
    request.begin(scope, pkce, None)
}

/// `POST /oauth/token`: `authorization_code` and `refresh_token` (which rotates).
pub async fn token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token_endpoint::answer(&state, &headers, &body, async {
        match grant(&state, &headers, &body) {
            Ok(issued) => {
                let body = json!({
                    "access_token": issued.access_token,
                    "token_type": "bearer",
                    "expires_in": issued.expires_in,
                    "refresh_token": issued.refresh_token,
                    "scope": issued.scope.join(" "),
                    "created_at": issued.created_at,
                    "secret_valid_until": secret_valid_until(state.started_at),
                });
                (no_store(), Json(body)).into_response()
            }
            Err(response) => *response,
        }
    })
    .await
}

fn grant(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Issued, Box<Response>> {
    let params = Params::parse_body(headers, body)
        .map_err(|_| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", INVALID_REQUEST))?;
    let client = client_credentials(headers, &params)
        .ok()
        .and_then(|(id, secret)| check_client(state, &id, &secret))
        .ok_or_else(|| oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", INVALID_CLIENT))?;
    let required = |name: &str| {
        params.get(name).ok_or_else(|| {
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("Missing required parameter: {name}."),
            )
        })
    };
    match required("grant_type")? {
        "authorization_code" => {
            let code = required("code")?;
            let redirect_uri = required("redirect_uri")?;
            state
                .exchange_code(
                    client,
                    code,
                    Some(redirect_uri),
                    params.get("code_verifier"),
                    // 42 knows no DPoP: its tokens are never bound to a key.
                    None,
                )
                .map_err(|_| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", INVALID_GRANT))
        }
        "refresh_token" => {
            let refresh_token = required("refresh_token")?;
            state
                .refresh(client, refresh_token, params.get("scope"), None)
                .map_err(|error| match error.code() {
                    "invalid_scope" => {
                        oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", INVALID_SCOPE)
                    }
                    _ => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", INVALID_GRANT),
                })
        }
        _ => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        )),
    }
}

/// `GET /oauth/token/info`: describes the bearer token ("Getting started", token info).
pub async fn token_info(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let info = match authenticate_api_call(&state, &headers) {
        Ok(info) => info,
        Err(response) => return *response,
    };
    let owner = state.user(&info.login).map(personas::intra42_user_id);
    let scopes: Vec<&str> = info.scope.iter().collect();
    let body = json!({
        "resource_owner_id": owner,
        "scopes": scopes,
        "expires_in_seconds": info.expires_in,
        "application": { "uid": info.client_id },
        "created_at": info.created_at,
    });
    (no_store(), Json(body)).into_response()
}

/// `GET /v2/me`: the student behind the token.
pub async fn me(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    state.count(|s| s.userinfo_requests += 1);
    let info = match authenticate_api_call(&state, &headers) {
        Ok(info) => info,
        Err(response) => return *response,
    };
    let Some(user) = state.user(&info.login) else {
        return invalid_token("The access token is invalid");
    };
    // Every /v2 read needs the `public` scope ("Specification").
    if !info.scope.contains("public") {
        let description =
            "The request requires higher privileges than provided by the access token.";
        let mut response = (
            StatusCode::FORBIDDEN,
            Json(json!({ "error": "insufficient_scope", "error_description": description })),
        )
            .into_response();
        let challenge = format!(
            r#"Bearer realm="Doorkeeper", error="insufficient_scope", error_description="{description}", scope="public""#
        );
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        return response;
    }
    let campuses = state
        .membership(&user.login)
        .map(|m| m.campuses)
        .unwrap_or_default();
    Json(personas::intra42_me(user, &campuses, &state.issuer)).into_response()
}

/// Throttle knob, token, then the application's rate limit ("Rate limiting": per application).
fn authenticate_api_call(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<AccessInfo, Box<Response>> {
    if let Some(retry_after) = state.take_throttle() {
        return Err(Box::new(too_many_requests(retry_after)));
    }
    let token = bearer_token(headers, false)
        .ok_or_else(|| Box::new(invalid_token("The access token is invalid")))?;
    let info = state.access(token).map_err(|problem| {
        Box::new(invalid_token(match problem {
            AccessProblem::Unknown => "The access token is invalid",
            AccessProblem::Expired => "The access token expired",
        }))
    })?;
    if let Some(retry_after) = state.rate_limit(&info.client_id) {
        return Err(Box::new(too_many_requests(retry_after)));
    }
    Ok(info)
}

/// Doorkeeper's 401 for a bad bearer token: the reason in the challenge and in the body.
fn invalid_token(description: &str) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "error": "invalid_token", "error_description": description })),
    )
        .into_response();
    let challenge = format!(
        r#"Bearer realm="Doorkeeper", error="invalid_token", error_description="{description}""#
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// A token endpoint error (RFC 6749 §5.2) in Doorkeeper's words; its 401 names the realm.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Box<Response> {
    let mut response = (
        status,
        no_store(),
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        let challenge = format!(
            r#"Bearer realm="Doorkeeper", error="{error}", error_description="{description}""#
        );
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    Box::new(response)
}
