//! The authorization endpoint (RFC 6749 §4.1.1): the checks every dialect makes in the same
//! order. Each dialect's own endpoint (`standard/authorize.rs`, `github/oauth.rs`,
//! `intra42/routes.rs`) words the errors and decides what it accepts.

use axum::response::{IntoResponse, Redirect, Response};
use url::Url;

use crate::html;
use crate::oauth::Params;
use crate::scope::Scope;
use crate::state::{AppState, AuthorizationRequest, Pkce, PkceMethod};

pub const MALFORMED_S256: &str = "code_challenge must be a base64url SHA-256 (43 characters)";

/// An authorization request whose client and redirect URI are known good: from here on, errors
/// go back to the client's redirect URI.
pub struct Trusted<'a> {
    state: &'a AppState,
    params: Params,
    /// The first parameter sent more than once, if any.
    pub duplicate: Option<String>,
    client_id: String,
    redirect_uri: String,
    redirect_url: Url,
}

/// What the request says about PKCE (RFC 7636 §4.3), before a dialect decides what it accepts.
pub enum Challenge {
    Absent,
    S256(Pkce),
    /// `S256` named, but the challenge can't be a base64url SHA-256.
    MalformedS256,
    /// `plain` named, or no method (RFC 7636 §4.3 says that means `plain`).
    Plain(Pkce),
    OtherMethod,
}

impl<'a> Trusted<'a> {
    /// RFC 6749 §4.1.2.1: until client and redirect URI are known good, errors go to the user,
    /// never to a redirect target an attacker may have chosen. The dialect words those errors:
    /// `unknown_client` gets the client_id (None when absent); `redirect` finds the redirect URI
    /// for the client and the `redirect_uri` parameter, or says why there is none.
    pub fn check(
        state: &'a AppState,
        query: Option<String>,
        unknown_client: impl FnOnce(Option<&str>) -> Response,
        redirect: impl FnOnce(&str, Option<&str>) -> Result<(String, Url), String>,
    ) -> Result<Trusted<'a>, Box<Response>> {
        let (params, duplicate) = Params::parse_lenient(query.unwrap_or_default().as_bytes());
        if let Some(name) = duplicate
            .as_deref()
            .filter(|name| matches!(*name, "client_id" | "redirect_uri"))
        {
            return Err(Box::new(html::error_page(&format!(
                "The parameter `{name}` was sent more than once."
            ))));
        }
        let client_id = match params.get("client_id") {
            Some(id) if state.client(id).is_some() => id.to_owned(),
            other => return Err(Box::new(unknown_client(other))),
        };
        let (redirect_uri, redirect_url) = redirect(&client_id, params.get("redirect_uri"))
            .map_err(|message| Box::new(html::error_page(&message)))?;
        Ok(Trusted {
            state,
            params,
            duplicate,
            client_id,
            redirect_uri,
            redirect_url,
        })
    }

    /// A pushed request (RFC 9126 §2) whose client authenticated and whose redirect URI is
    /// registered: errors go back to the client, in the reply to its push.
    pub fn pushed(
        state: &'a AppState,
        params: Params,
        client_id: String,
        (redirect_uri, redirect_url): (String, Url),
    ) -> Trusted<'a> {
        Trusted {
            state,
            params,
            duplicate: None,
            client_id,
            redirect_uri,
            redirect_url,
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// RFC 6749 §3.1: a parameter sent twice is an invalid request.
    pub fn refuse_duplicate(&self) -> Option<Response> {
        let name = self.duplicate.as_deref()?;
        let description = format!("parameter `{name}` was sent more than once");
        Some(self.fail("invalid_request", &description))
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    /// Sends `error` back to the client with its `state` (RFC 6749 §4.1.2.1).
    pub fn fail(&self, error: &str, description: &str) -> Response {
        let url = self.state.authorization_response(
            &self.redirect_url,
            &[("error", error), ("error_description", description)],
            self.param("state"),
        );
        Redirect::to(url.as_str()).into_response()
    }

    pub fn challenge(&self) -> Challenge {
        let pkce = |challenge: &str, method| Pkce {
            challenge: challenge.to_owned(),
            method,
        };
        match (
            self.param("code_challenge"),
            self.param("code_challenge_method"),
        ) {
            (None, _) => Challenge::Absent,
            (Some(challenge), Some("S256")) if is_base64url_sha256(challenge) => {
                Challenge::S256(pkce(challenge, PkceMethod::S256))
            }
            (Some(_), Some("S256")) => Challenge::MalformedS256,
            (Some(challenge), None | Some("plain")) => {
                Challenge::Plain(pkce(challenge, PkceMethod::Plain))
            }
            (Some(_), Some(_)) => Challenge::OtherMethod,
        }
    }

    /// The request as accepted, for the login page ([`begin`]) or to keep for later (PAR).
    pub fn accept(
        self,
        scope: Scope,
        pkce: Option<Pkce>,
        nonce: Option<String>,
    ) -> AuthorizationRequest {
        AuthorizationRequest {
            state: self.params.get("state").map(str::to_owned),
            client_id: self.client_id,
            redirect_url: self.redirect_url,
            redirect_uri: self.redirect_uri,
            scope,
            pkce,
            nonce,
            dpop_jkt: None,
        }
    }

    /// Remembers the accepted request and shows the login page.
    pub fn begin(self, scope: Scope, pkce: Option<Pkce>, nonce: Option<String>) -> Response {
        let state = self.state;
        begin(state, self.accept(scope, pkce, nonce))
    }
}

/// Remembers an accepted request and shows the login page, whose forms carry its id.
pub fn begin(state: &AppState, request: AuthorizationRequest) -> Response {
    let client_id = request.client_id.clone();
    let request_id = state.begin_authorization(request);
    html::login_page(
        state.rules.page_note(),
        &client_id,
        &request_id,
        state.users(),
    )
}

/// A base64url SHA-256, as an S256 challenge and a JWK thumbprint are: 43 characters, no
/// padding.
pub fn is_base64url_sha256(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
