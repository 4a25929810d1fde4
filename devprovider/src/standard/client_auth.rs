//! Client authentication at the standard dialect's token, revocation, introspection and PAR
//! endpoints, by the method each client registered (`token_endpoint_auth_method`):
//! `client_secret_basic` and `client_secret_post` (RFC 6749 §2.3.1), or `private_key_jwt`
//! (RFC 7523 §2.2, OpenID Connect Core §9).

use axum::http::{header, HeaderMap};

use crate::config::AuthMethod;
use crate::jose::assertion::{self, Refusal, JWT_BEARER};
use crate::oauth::{check_client, client_credentials, OAuthError, Params};
use crate::state::{unix_now, AppState};
use crate::Client;

/// The client the request at `endpoint` (a path, like `/token`) authenticates as.
pub async fn authenticate<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    params: &Params,
    endpoint: &str,
) -> Result<&'a Client, OAuthError> {
    if params.get("client_assertion").is_some() || params.get("client_assertion_type").is_some() {
        return private_key_jwt(state, headers, params, endpoint).await;
    }
    let (id, secret) = client_credentials(headers, params)?;
    let basic = headers.contains_key(header::AUTHORIZATION);
    // The registered method first: a private_key_jwt client has no secret to get wrong.
    match state.metadata(&id).token_endpoint_auth_method {
        AuthMethod::ClientSecret => {}
        AuthMethod::ClientSecretBasic if basic => {}
        AuthMethod::ClientSecretPost if !basic => {}
        registered => return Err(registered_other(&id, registered)),
    }
    check_client(state, &id, &secret)
        .ok_or_else(|| OAuthError::invalid_client("unknown client or wrong client secret"))
}

async fn private_key_jwt<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    params: &Params,
    endpoint: &str,
) -> Result<&'a Client, OAuthError> {
    match params.get("client_assertion_type") {
        Some(JWT_BEARER) => {}
        Some(other) => {
            return Err(OAuthError::invalid_client(format!(
                "client_assertion_type `{other}` is not supported; use {JWT_BEARER}"
            )))
        }
        None => {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type is required with client_assertion ({JWT_BEARER})"
            )))
        }
    }
    let jwt = params
        .get("client_assertion")
        .ok_or_else(|| OAuthError::invalid_request("client_assertion is required"))?;
    // RFC 6749 §2.3: one authentication method per request.
    if headers.contains_key(header::AUTHORIZATION) || params.get("client_secret").is_some() {
        return Err(OAuthError::invalid_request(
            "use either a client assertion or a client secret, not both",
        ));
    }
    let id = asserted_client(jwt)?;
    if let Some(body_id) = params.get("client_id").filter(|body_id| *body_id != id) {
        return Err(OAuthError::invalid_request(format!(
            "client_id `{body_id}` differs from the assertion's sub `{id}`"
        )));
    }
    let client = state
        .client(&id)
        .ok_or_else(|| OAuthError::invalid_client(format!("unknown client `{id}`")))?;
    let registered = state.metadata(&id).token_endpoint_auth_method;
    if registered != AuthMethod::PrivateKeyJwt {
        return Err(registered_other(&id, registered));
    }
    // RFC 7523 §3 and RFC 9126 §2: the issuer, the token endpoint and the endpoint called all
    // name this provider.
    let audiences = [
        state.issuer.clone(),
        format!("{}/token", state.issuer),
        format!("{}{endpoint}", state.issuer),
    ];
    let now = unix_now();
    let keys = state
        .client_keys(&id, false)
        .await
        .map_err(OAuthError::invalid_client)?;
    let verified = match assertion::verify(jwt, &id, &audiences, &keys, now) {
        // The client may have rotated its keys since they were fetched.
        Err(Refusal::NoKey(_)) => {
            let keys = state
                .client_keys(&id, true)
                .await
                .map_err(OAuthError::invalid_client)?;
            assertion::verify(jwt, &id, &audiences, &keys, now)
        }
        other => other,
    };
    let assertion = verified.map_err(|refusal| match refusal {
        Refusal::NoKey(why) | Refusal::Invalid(why) => OAuthError::invalid_client(why),
    })?;
    if !state.first_use_of_assertion(&id, &assertion.jti, assertion.exp) {
        return Err(OAuthError::invalid_client(
            "the client assertion's jti was already used: sign a new assertion for each request",
        ));
    }
    Ok(client)
}

/// The client an assertion claims to come from (`sub`, RFC 7523 §3), to find its keys; the
/// signature and every claim are checked after.
fn asserted_client(jwt: &str) -> Result<String, OAuthError> {
    let claims: serde_json::Value = jsonwebtoken::dangerous::insecure_decode_claims(jwt)
        .map_err(|_| OAuthError::invalid_client("the client assertion is not a readable JWT"))?;
    claims["sub"]
        .as_str()
        .filter(|sub| !sub.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| OAuthError::invalid_client("the client assertion has no sub"))
}

fn registered_other(id: &str, registered: AuthMethod) -> OAuthError {
    let name = AuthMethod::ALL
        .iter()
        .find(|(method, _)| *method == registered)
        .map_or("client_secret_basic or client_secret_post", |(_, name)| {
            name
        });
    OAuthError::invalid_client(format!(
        "client `{id}` is registered to authenticate with {name}"
    ))
}
