//! Pushed authorization requests (RFC 9126): the backend sends the authorization request's
//! parameters to the provider itself, authenticated as at the token endpoint, and the browser
//! carries only `client_id` and the `request_uri` the provider gave back (§4), so no parameter
//! of the login can be read or changed on its way through the browser.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{dpop, standard, Api, ApiEndpoints, AuthorizeRequest, ProviderError};
use crate::config::ParMode;

/// The PAR endpoint to push to under `mode`, or `None` when the request goes through the
/// browser as it is; an error when `par = "always"` and the provider has no PAR endpoint.
pub fn endpoint<'a>(
    mode: ParMode,
    endpoints: &'a ApiEndpoints,
    provider: &str,
) -> Result<Option<&'a str>, ProviderError> {
    let endpoint = endpoints.par.as_deref();
    match mode {
        ParMode::Never => Ok(None),
        ParMode::WhenRequired if !endpoints.par_required => Ok(None),
        ParMode::WhenRequired | ParMode::Auto => Ok(endpoint),
        ParMode::Always => endpoint.map(Some).ok_or_else(|| {
            ProviderError::failed(
                provider,
                "par = \"always\", but the provider names no pushed authorization request \
                 endpoint",
            )
        }),
    }
}

/// RFC 9126 §2.2: the provider's answer to a push.
#[derive(Deserialize)]
struct Pushed {
    request_uri: String,
}

/// RFC 9126 §2.3: the provider's refusal.
#[derive(Deserialize)]
struct Refusal {
    error: String,
    error_description: Option<String>,
}

/// Pushes `request`'s parameters to `endpoint` (RFC 9126 §2.1) and gives back the request the
/// browser makes instead: the same authorize endpoint with `client_id` and `request_uri` only.
/// The state, PKCE verifier and nonce stay what they were: the attempt keeps them as ever.
pub async fn push(
    api: &Api<'_>,
    endpoint: &str,
    mut request: AuthorizeRequest,
) -> Result<AuthorizeRequest, ProviderError> {
    let url = standard::secure_url(endpoint).map_err(|e| api.fail(e))?;
    let client_id = api.auth.client_id();
    let build = || {
        // `client_id` is one of the request's parameters (RFC 9126 §2.1), sent once: the
        // client's authentication adds it, but for basic auth.
        let mut form: Vec<(&str, String)> = request
            .params
            .iter()
            .filter(|(name, _)| name.as_str() != "client_id")
            .map(|(name, value)| (name.as_str(), value.clone()))
            .collect();
        let authorization = api
            .auth
            .authenticate(&mut form, api.token_url.unwrap_or(endpoint));
        if authorization.is_some() {
            form.push(("client_id", client_id.to_owned()));
        }
        standard::form_post(url.as_str(), &form, authorization)
    };
    let reply = dpop::send(api.http, &api.auth.nonces, None, build)
        .await
        .map_err(|e| {
            ProviderError::failed_at(
                api.id,
                format!("the pushed authorization request endpoint {e}"),
                format!("{endpoint} {}", e.detail()),
            )
        })?;
    let status = reply.status();
    if !status.is_success() {
        let why = match serde_json::from_slice::<Refusal>(reply.body()) {
            Ok(Refusal {
                error,
                error_description,
            }) => {
                let description: String = error_description
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect();
                format!("{error} ({description})")
            }
            Err(_) => status.to_string(),
        };
        return Err(api.fail(format!(
            "the pushed authorization request endpoint refused the login: {why}"
        )));
    }
    let pushed: Pushed = serde_json::from_slice(reply.body()).map_err(|e| {
        api.fail(format!(
            "the pushed authorization request endpoint sent a reply without a request_uri ({e})"
        ))
    })?;
    request.params = BTreeMap::from([
        ("client_id".to_owned(), client_id.to_owned()),
        ("request_uri".to_owned(), pushed.request_uri),
    ]);
    Ok(request)
}
