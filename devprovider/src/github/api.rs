//! The api.github.com calls a login needs, on the emulator's one base URL. Each quirk follows
//! docs.github.com: the REST pages "Users", "Emails", "Organizations", "Teams" and "OAuth
//! authorizations", and "Getting started with the REST API" (User-Agent rule).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::orgs::{self, OrgMembership};
use super::personas;
use crate::html;
use crate::oauth::{bearer_token, check_client, parse_basic};
use crate::state::{AccessInfo, AppState};
use crate::DemoUser;

/// The scopes that read organization memberships: "this API requires at least `user` or
/// `read:org` scope for OAuth app tokens" (REST, "List organizations for the authenticated
/// user"); wider org scopes include `read:org` ("Scopes for OAuth apps").
const READ_ORG: [&str; 4] = ["admin:org", "read:org", "user", "write:org"];

/// `GET /user`: the authenticated user's public profile.
pub async fn user(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let (info, user) = match api_user(&state, &headers) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let body = personas::github_user(user, &state.issuer);
    with_scopes(&info, "", Json(body).into_response())
}

/// `GET /user/emails`: needs the `user:email` (or `user`) scope; GitHub hides what a token
/// may not see behind a 404.
pub async fn emails(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let refusal = (
        StatusCode::NOT_FOUND,
        "Not Found",
        "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user",
    );
    let accepted = ["user", "user:email"];
    scoped_call(&state, &headers, &accepted, refusal, |user| {
        personas::github_emails(user)
    })
}

/// `GET /user/orgs`: "this API requires at least `user` or `read:org` scope for OAuth app
/// tokens … Requests with insufficient scope will receive a `403 Forbidden` response" (REST,
/// "List organizations for the authenticated user"); the message is the one GitHub sends.
/// Wider org scopes include `read:org` ("Scopes for OAuth apps": admin:org > write:org >
/// read:org).
pub async fn orgs(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let refusal = (
        StatusCode::FORBIDDEN,
        "You need at least read:org scope or user scope to list your organizations.",
        "https://docs.github.com/rest/orgs/orgs#list-organizations-for-the-authenticated-user",
    );
    scoped_call(&state, &headers, &READ_ORG, refusal, |user| {
        orgs::orgs_json(&github_memberships(&state, &user.login), &state.issuer)
    })
}

/// `GET /user/teams`: OAuth app tokens "need the `user`, `repo`, or `read:org` scope" (REST,
/// "List teams for the authenticated user"). GitHub doesn't document the refusal's wording;
/// it is modelled on `/user/orgs`'.
pub async fn teams(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let refusal = (
        StatusCode::FORBIDDEN,
        "You need at least read:org, repo or user scope to list your teams.",
        "https://docs.github.com/rest/teams/teams#list-teams-for-the-authenticated-user",
    );
    let accepted = ["admin:org", "read:org", "repo", "user", "write:org"];
    scoped_call(&state, &headers, &accepted, refusal, |user| {
        orgs::teams_json(&github_memberships(&state, &user.login), &state.issuer)
    })
}

/// `GET /orgs/{org}/members/{username}`, "Check organization membership for a user": 204 when
/// `username` is a member, 404 when not, asked by a member whose token may read private
/// memberships (the `/user/orgs` scopes). Anyone else is sent (302) to the public membership
/// check; every membership here is private, GitHub's default, and this emulator serves no such
/// route, so that answers 404 as GitHub does for a private member. An unknown organization is
/// a 404.
pub async fn org_member(
    State(state): State<Arc<AppState>>,
    Path((org, username)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    const DOC: &str =
        "https://docs.github.com/rest/orgs/members#check-organization-membership-for-a-user";
    let (info, requester) = match api_user(&state, &headers) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let member = |login: &str| {
        github_memberships(&state, login)
            .iter()
            .any(|m| m.org.login.eq_ignore_ascii_case(&org))
    };
    let exists = orgs::is_known(&org) || state.users().iter().any(|u| member(&u.login));
    let response = if !exists {
        api_error(StatusCode::NOT_FOUND, "Not Found", DOC)
    } else if !(member(&requester.login) && info.scope.contains_any(&READ_ORG)) {
        let public = format!("{}/orgs/{org}/public_members/{username}", state.issuer);
        (StatusCode::FOUND, [(header::LOCATION, public)]).into_response()
    } else if state.user(&username).is_some() && member(&username) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        api_error(StatusCode::NOT_FOUND, "Not Found", DOC)
    };
    with_scopes(&info, "", response)
}

/// An API call about the user that needs one of the `accepted` scopes: `body` as JSON when the
/// token has one, else the `refusal` (status, message, documentation URL). Both name the
/// scopes, as every API reply does.
fn scoped_call(
    state: &AppState,
    headers: &HeaderMap,
    accepted: &[&str],
    refusal: (StatusCode, &str, &str),
    body: impl FnOnce(&DemoUser) -> Value,
) -> Response {
    let (info, user) = match api_user(state, headers) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let response = if info.scope.contains_any(accepted) {
        Json(body(user)).into_response()
    } else {
        let (status, message, documentation_url) = refusal;
        api_error(status, message, documentation_url)
    };
    with_scopes(&info, &accepted.join(", "), response)
}

/// `DELETE /applications/{client_id}/token` with HTTP Basic (client id and secret) and a JSON
/// body `{"access_token": …}`: "Delete an app token".
pub async fn delete_token(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const DOC: &str = "https://docs.github.com/rest/apps/oauth-applications#delete-an-app-token";
    if let Some(response) = require_user_agent(&headers) {
        return response;
    }
    let Some((id, secret)) = headers.get(header::AUTHORIZATION).and_then(parse_basic) else {
        return api_error(StatusCode::UNAUTHORIZED, "Requires authentication", DOC);
    };
    // Wrong credentials, or another app's path: GitHub answers 404 rather than confirm the app.
    let client = match check_client(&state, &id, &secret) {
        Some(client) if client.id == client_id => client,
        _ => return api_error(StatusCode::NOT_FOUND, "Not Found", DOC),
    };
    state.count(|s| s.revocations += 1);
    let token = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("access_token")?.as_str().map(str::to_owned))
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request.\n\n\"access_token\" wasn't supplied.",
            DOC,
        );
    };
    if state.revoke_access_token(client, &token) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        api_error(StatusCode::NOT_FOUND, "Not Found", DOC)
    }
}

/// `GET /{login}`: where `html_url` points, like github.com/LOGIN.
pub async fn profile(State(state): State<Arc<AppState>>, Path(login): Path<String>) -> Response {
    match state.user(&login) {
        Some(user) => {
            let profile = personas::github_user(user, &state.issuer);
            html::profile_page(user, profile["bio"].as_str())
        }
        None => html::error_page_with(StatusCode::NOT_FOUND, "There is no such user."),
    }
}

/// Counts an API call about the user, checks it, and finds the user behind its token.
fn api_user<'s>(
    state: &'s AppState,
    headers: &HeaderMap,
) -> Result<(AccessInfo, &'s DemoUser), Box<Response>> {
    state.count(|s| s.userinfo_requests += 1);
    let info = authenticate_api_call(state, headers)?;
    let user = state
        .user(&info.login)
        .ok_or_else(|| Box::new(bad_credentials()))?;
    Ok((info, user))
}

/// The checks every API call passes, in GitHub's order: User-Agent, rate limits, token.
fn authenticate_api_call(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<AccessInfo, Box<Response>> {
    if let Some(response) = require_user_agent(headers) {
        return Err(Box::new(response));
    }
    if let Some(retry_after) = state.take_throttle() {
        return Err(Box::new(rate_limited(retry_after)));
    }
    let Some(token) = bearer_token(headers, true) else {
        return Err(Box::new(api_error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
            "https://docs.github.com/rest/users/users#get-the-authenticated-user",
        )));
    };
    let info = state
        .access(token)
        .map_err(|_| Box::new(bad_credentials()))?;
    if let Some(retry_after) = state.rate_limit(&info.client_id) {
        return Err(Box::new(rate_limited(retry_after)));
    }
    Ok(info)
}

/// "Getting started with the REST API": requests without a User-Agent are rejected.
fn require_user_agent(headers: &HeaderMap) -> Option<Response> {
    let present = headers
        .get(header::USER_AGENT)
        .is_some_and(|v| !v.as_bytes().trim_ascii().is_empty());
    (!present).then(|| {
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Request forbidden by administrative rules. Please make sure your request has a \
             User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). \
             Check https://developer.github.com for other possible causes.\n",
        )
            .into_response()
    })
}

fn bad_credentials() -> Response {
    api_error(
        StatusCode::UNAUTHORIZED,
        "Bad credentials",
        "https://docs.github.com/rest",
    )
}

/// GitHub's REST error body: message, documentation_url, and the status as a string.
fn api_error(status: StatusCode, message: &str, documentation_url: &str) -> Response {
    let body = json!({
        "message": message,
        "documentation_url": documentation_url,
        "status": status.as_u16().to_string(),
    });
    (status, Json(body)).into_response()
}

/// "Rate limits for the REST API": 429 with `retry-after` and an exhausted
/// `x-ratelimit-remaining`, as for a secondary rate limit.
fn rate_limited(retry_after_secs: u64) -> Response {
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + retry_after_secs;
    let mut response = api_error(
        StatusCode::TOO_MANY_REQUESTS,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
    );
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    headers.insert(
        HeaderName::from_static("x-ratelimit-remaining"),
        HeaderValue::from_static("0"),
    );
    headers.insert(
        HeaderName::from_static("x-ratelimit-reset"),
        HeaderValue::from(reset),
    );
    response
}

/// "Scopes for OAuth apps": every API reply names the token's scopes and those the call
/// accepts.
fn with_scopes(info: &AccessInfo, accepted: &str, mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-oauth-scopes", info.scope.join(", ")),
        ("x-accepted-oauth-scopes", accepted.to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}

/// The organizations and teams `login` belongs to now.
fn github_memberships(state: &AppState, login: &str) -> Vec<OrgMembership> {
    state
        .membership(login)
        .map(|m| m.github)
        .unwrap_or_default()
}
