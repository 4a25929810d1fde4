//! One request through the gateway: who is calling, the request as the app receives it, the
//! answer as the browser receives it (rule 17).

use std::{net::SocketAddr, sync::Arc, time::Instant};

use axum::{
    extract::{ConnectInfo, OptionalFromRequestParts, Request, State},
    http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri},
    response::Response,
    Extension,
};
use http_body_util::{BodyExt, Limited};

use super::{identity, path, policy, sockets::Owner, websocket};
use crate::{
    config::{Login, UpstreamConfig},
    error::AppError,
    session::{self, CurrentUser},
    startup::ConnectionPermit,
    state::AppState,
};

/// RFC 9110 §7.6.1: these describe one hop, never the whole way; nor do the headers the
/// `Connection` header names.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// What a client may not tell an app behind Portero: who it is, its own credentials, where it
/// came from (Portero says all three), and the `Host` it used (the app's own goes instead).
const FROM_CLIENT_DROPPED: [HeaderName; 6] = [
    header::AUTHORIZATION,
    header::HOST,
    header::FORWARDED,
    X_FORWARDED_FOR,
    X_FORWARDED_PROTO,
    X_FORWARDED_HOST,
];

/// The work Portero does before it forwards (reading the session, its lock, a refresh, the
/// facts a policy reads) gets `server.request_timeout_secs`, as Portero's own routes do for
/// their whole answer: a session whose lock or refresh is stuck answers 408 `request_timeout`
/// instead of hanging. The app's own time is the upstream's `timeout_secs`, counted after.
pub async fn forward(
    State(state): State<AppState>,
    Extension(upstream): Extension<Arc<UpstreamConfig>>,
    request: Request,
) -> Result<Response, AppError> {
    // Rule 20, before anything else: a path that climbs is refused, whoever sends it.
    path::check_rest(rest_of_path(&upstream, request.uri()))?;
    let limit = state.config.server.request_timeout;
    let deadline = tokio::time::Instant::now() + limit;
    let too_long = |_| AppError::RequestTimeout(limit.as_secs());
    let (mut parts, body) = request.into_parts();
    let user = tokio::time::timeout_at(deadline, who(&state, &mut parts))
        .await
        .map_err(too_long)??;
    let mut request = Request::from_parts(parts, body);
    if user.is_none() && upstream.login == Login::Required {
        return Err(AppError::NotLoggedIn);
    }
    let policy = match &upstream.policy {
        Some(name) => Some(state.gateway.policy(name).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("upstream {} names no policy", upstream.id))
        })?),
        None => None,
    };
    if let Some(user) = &user {
        // Read again first when due (rule 22): someone their provider no longer admits is
        // logged out here, someone the policy no longer admits refused.
        let facts = tokio::time::timeout_at(deadline, user.facts())
            .await
            .map_err(too_long)??;
        if let Some(policy) = policy {
            policy::admit_request(policy, user, facts.as_ref())?;
        }
    }
    let websocket = websocket::is_upgrade(request.headers());
    if websocket
        && request.headers().get(header::ORIGIN).map(|o| o.as_bytes())
            != Some(state.origin.as_bytes())
    {
        // Rule 17: a WebSocket cannot carry `x-csrf`; the exact origin stands in for it.
        return Err(AppError::ForbiddenOrigin(
            "a WebSocket from another origin".into(),
        ));
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > upstream.max_body_bytes) {
        return Err(AppError::PayloadTooLarge(upstream.max_body_bytes));
    }
    let token = match (&user, upstream.access_token) {
        // Rule 17: the provider's token only where the configuration allows it, fresh.
        (Some(user), true) => Some(
            tokio::time::timeout_at(deadline, user.access_token())
                .await
                .map_err(too_long)??,
        ),
        _ => None,
    };
    let client_upgrade = websocket.then(|| hyper::upgrade::on(&mut request));
    // Rule 19: a socket belongs to the session that opened it, and keeps its connection's
    // place among `max_connections` while it is open.
    let owner = match (&user, websocket) {
        (Some(user), true) => Some(Owner {
            key: user.key()?,
            policy: policy.cloned(),
        }),
        _ => None,
    };
    let permit = request.extensions().get::<ConnectionPermit>().cloned();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());

    let (parts, body) = request.into_parts();
    let mut headers = parts.headers;
    strip_for_upstream(&mut headers, &state, websocket);
    forwarded_for(&mut headers, &state, peer);
    if let Some(user) = &user {
        // The client's `X-Portero-*` are gone (above): each name of the identity is Portero's
        // value alone.
        headers.extend(identity::identity_headers(
            user.user(),
            user.verified_email(),
            &state.gateway.signer,
            &state.origin,
            &upstream.id,
            state.config.assertion.ttl,
        ));
    }
    if let Some(token) = token {
        let bearer =
            HeaderValue::from_str(&format!("Bearer {}", token.secret())).map_err(|_| {
                AppError::Internal(anyhow::anyhow!("an access token that is no header"))
            })?;
        headers.insert(header::AUTHORIZATION, bearer);
    }
    let mut outgoing = http::Request::new(
        Limited::new(
            body,
            usize::try_from(upstream.max_body_bytes).unwrap_or(usize::MAX),
        )
        .map_err(axum::BoxError::from)
        .boxed_unsync(),
    );
    *outgoing.method_mut() = parts.method.clone();
    *outgoing.uri_mut() = upstream_uri(&upstream, &parts.uri)?;
    *outgoing.headers_mut() = headers;

    let started = Instant::now();
    let sent = tokio::time::timeout(upstream.timeout, state.gateway.client.request(outgoing)).await;
    let result = match sent {
        Err(_) => Err(AppError::UpstreamTimeout(upstream.id.clone())),
        Ok(Err(e)) => Err(refused(&upstream, &e)),
        Ok(Ok(response)) => Ok(response),
    };
    let status = result.as_ref().map_or_else(|e| e.status(), |r| r.status());
    state
        .metrics
        .upstream_answered(&upstream.id, status, started.elapsed());
    let mut response = result?;

    if let (Some(client), StatusCode::SWITCHING_PROTOCOLS) = (client_upgrade, response.status()) {
        let app = hyper::upgrade::on(&mut response);
        let sockets = &state.gateway.sockets;
        sockets.open_socket(
            state.clone(),
            upstream.id.clone(),
            owner,
            permit,
            (client, app),
        );
        let (parts, _) = response.into_parts();
        return Ok(Response::from_parts(parts, axum::body::Body::empty()));
    }
    let (mut parts, body) = response.into_parts();
    strip_for_browser(&mut parts.headers, &state);
    Ok(Response::from_parts(parts, axum::body::Body::new(body)))
}

/// Who is calling: the session's person, if logged in.
async fn who(state: &AppState, parts: &mut Parts) -> Result<Option<CurrentUser>, AppError> {
    <CurrentUser as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state).await
}

/// Why the app gave no answer: too large a body (413), or unreachable (502).
fn refused(upstream: &UpstreamConfig, e: &hyper_util::client::legacy::Error) -> AppError {
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        if inner.is::<http_body_util::LengthLimitError>() {
            return AppError::PayloadTooLarge(upstream.max_body_bytes);
        }
        source = inner.source();
    }
    tracing::warn!(upstream = %upstream.id, error = ?e, "upstream unreachable");
    AppError::UpstreamUnavailable(upstream.id.clone())
}

/// The path after the upstream's prefix, as the request wrote it.
fn rest_of_path<'a>(upstream: &UpstreamConfig, uri: &'a Uri) -> &'a str {
    // Under `/api` the router sees the path without it.
    let prefix = upstream
        .prefix
        .strip_prefix("/api")
        .unwrap_or(&upstream.prefix);
    uri.path().strip_prefix(prefix).unwrap_or("")
}

/// `{url}{rest of the path}?{query}`: `/api/notes/42?x=1` reaches `…/notes/42?x=1`.
fn upstream_uri(upstream: &UpstreamConfig, uri: &Uri) -> Result<Uri, AppError> {
    let rest = rest_of_path(upstream, uri);
    let base = upstream.url.as_str().trim_end_matches('/');
    let query = uri.query();
    let mut target =
        String::with_capacity(base.len() + rest.len() + query.map_or(0, |q| q.len() + 1));
    target.push_str(base);
    target.push_str(rest);
    if let Some(query) = query {
        target.push('?');
        target.push_str(query);
    }
    // From the `String` itself: no copy.
    Uri::try_from(target).map_err(|_| AppError::BadRequest("the path cannot be forwarded".into()))
}

fn strip_for_upstream(headers: &mut HeaderMap, state: &AppState, websocket: bool) {
    strip_hop_by_hop(headers, websocket);
    for name in FROM_CLIENT_DROPPED {
        headers.remove(name);
    }
    // Every `X-Portero-*` is Portero's to say (rule 17).
    let spoofed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("x-portero-"))
        .cloned()
        .collect();
    for name in spoofed {
        headers.remove(name);
    }
    // Portero's cookies (the session's, a login's binding) stay with Portero; the app's own pass.
    let portero = session::cookie_names(state.config.server.is_https());
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| {
            !pair.is_empty() && !pair.split('=').next().is_some_and(|n| portero.contains(&n))
        })
        .map(str::to_owned)
        .collect();
    headers.remove(header::COOKIE);
    if let Ok(value) = HeaderValue::from_str(&kept.join("; ")) {
        if !kept.is_empty() {
            headers.insert(header::COOKIE, value);
        }
    }
}

/// Hop-by-hop headers out; a WebSocket handshake keeps its `Upgrade` and `Connection: upgrade`.
fn strip_hop_by_hop(headers: &mut HeaderMap, websocket: bool) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.into_iter().chain(HOP_BY_HOP) {
        headers.remove(name);
    }
    if websocket {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    }
}

/// `X-Forwarded-For` (the client, after what trusted proxies said), `-Proto` and `-Host` (the
/// public origin's, the one the person used).
fn forwarded_for(headers: &mut HeaderMap, state: &AppState, peer: Option<std::net::IpAddr>) {
    let chain = peer.map(|peer| state.client_address.forwarded_chain(peer, headers));
    headers.remove(X_FORWARDED_FOR);
    if let Some(Ok(value)) = chain.map(HeaderValue::try_from) {
        headers.insert(X_FORWARDED_FOR, value);
    }
    let gateway = &state.gateway;
    headers.insert(X_FORWARDED_PROTO, gateway.forwarded_proto.clone());
    if let Some(host) = &gateway.forwarded_host {
        headers.insert(X_FORWARDED_HOST, host.clone());
    }
}

/// The app's answer as the browser gets it: no hop-by-hop headers, and no cookie of Portero's
/// names (an app cannot set or clear Portero's session, nor a login's binding).
fn strip_for_browser(headers: &mut HeaderMap, state: &AppState) {
    strip_hop_by_hop(headers, false);
    let portero = session::cookie_names(state.config.server.is_https());
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        let name = cookie
            .to_str()
            .ok()
            .and_then(|c| c.split('=').next())
            .map(str::trim);
        if !name.is_some_and(|n| portero.contains(&n)) {
            headers.append(header::SET_COOKIE, cookie);
        } else {
            tracing::warn!("an upstream tried to set one of Portero's cookies; dropped");
        }
    }
}
