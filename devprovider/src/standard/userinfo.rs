//! The standard dialect's UserInfo endpoint (OIDC Core §5.3): bearer tokens per RFC 6750, and
//! DPoP-bound tokens per RFC 9449 §7 (`Authorization: DPoP`, with a proof that hashes the token).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::dpop::{self, Refusal};
use super::userinfo_claims;
use crate::oauth::{no_store, too_many_requests};
use crate::state::{AccessInfo, AccessProblem, AppState};

/// `GET` or `POST /userinfo` with `Authorization: Bearer TOKEN`, or `Authorization: DPoP TOKEN`
/// and a `DPoP` proof.
pub async fn userinfo(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    state.count(|s| s.userinfo_requests += 1);
    if let Some(retry_after) = state.take_throttle() {
        return too_many_requests(retry_after);
    }
    let Some((scheme, token)) = presented_token(&headers) else {
        // RFC 6750 §3.1: a request without credentials gets the challenge but no error code.
        return dpop::unauthorized(&state, "Bearer", None, None);
    };
    let info = state.access(token);
    if let Some(retry_after) = info
        .as_ref()
        .ok()
        .and_then(|info| state.rate_limit(&info.client_id))
    {
        return too_many_requests(retry_after);
    }
    let info = match info {
        Ok(info) => info,
        Err(problem) => {
            let description = match problem {
                AccessProblem::Unknown => "the access token is unknown or revoked",
                AccessProblem::Expired => "the access token has expired",
            };
            let error = Some(("invalid_token", description));
            return dpop::unauthorized(&state, scheme, error, None);
        }
    };
    if let Some(refused) = refuse_binding(&state, &headers, method.as_str(), scheme, token, &info) {
        return refused;
    }
    let claims = userinfo_claims(&state, &info.login, &info.scope);
    dpop::with_nonce(&state, (no_store(), Json(claims)).into_response())
}

/// A DPoP-bound token comes with the DPoP scheme and a proof by its key (RFC 9449 §7.1); a
/// Bearer token with the Bearer scheme. Either presented the other way is refused (§7.2): the
/// answer is the refusal, if any.
fn refuse_binding(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    scheme: &'static str,
    token: &str,
    info: &AccessInfo,
) -> Option<Response> {
    let refuse = |scheme, error: &str, description: &str, nonce| {
        dpop::unauthorized(state, scheme, Some((error, description)), nonce)
    };
    match (scheme, info.jkt.as_deref()) {
        ("Bearer", None) => None,
        ("Bearer", Some(_)) => Some(refuse(
            "DPoP",
            "invalid_token",
            "the access token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof",
            None,
        )),
        (_, None) => Some(refuse(
            "Bearer",
            "invalid_token",
            "the access token is not DPoP-bound: send it as Authorization: Bearer",
            None,
        )),
        (_, Some(jkt)) => {
            match dpop::bound_proof(state, headers, method, "/userinfo", token, jkt) {
                Ok(_) => None,
                Err(Refusal::Invalid(why)) => {
                    Some(refuse("DPoP", "invalid_dpop_proof", &why, None))
                }
                Err(Refusal::WrongKey(why)) => Some(refuse("DPoP", "invalid_token", &why, None)),
                Err(Refusal::UseNonce(nonce)) => Some(refuse(
                    "DPoP",
                    "use_dpop_nonce",
                    "DPoP proofs must carry this server's nonce: retry with DPoP-Nonce's",
                    Some(nonce),
                )),
            }
        }
    }
}

/// The scheme and token of the Authorization header: `Bearer` (RFC 6750 §2.1) or `DPoP` (RFC
/// 9449 §7.1), the scheme in any case.
fn presented_token(headers: &HeaderMap) -> Option<(&'static str, &str)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        "Bearer"
    } else if scheme.eq_ignore_ascii_case("dpop") {
        "DPoP"
    } else {
        return None;
    };
    (!token.is_empty()).then_some((scheme, token))
}
