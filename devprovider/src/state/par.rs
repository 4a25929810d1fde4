//! Pushed authorization requests (RFC 9126): a request validated at `POST /par`, kept under a
//! one-time `request_uri` until `/authorize` takes it or it expires.

use std::time::Instant;

use super::authorization::AuthorizationRequest;
use super::AppState;
use crate::config::Par;
use crate::oauth::random_token;

/// RFC 9126 §2.2: a `request_uri` is a URN of this form.
const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// A pushed request waiting for the browser.
pub struct Pushed {
    request: AuthorizationRequest,
    pub expires_at: Instant,
}

impl AppState {
    /// Whether `client_id` may only send pushed requests, by the server's rule or its own.
    pub fn requires_par(&self, client_id: &str) -> bool {
        self.par == Par::Required
            || self
                .metadata(client_id)
                .require_pushed_authorization_requests
    }

    /// Keeps a validated request for `par_ttl`; returns its `request_uri`.
    pub fn push(&self, request: AuthorizationRequest) -> String {
        let request_uri = format!("{REQUEST_URI_PREFIX}{}", random_token());
        let now = Instant::now();
        let mut store = self.store();
        store.purge(now);
        let expires_at = now + self.par_ttl;
        store.pushed.insert(
            request_uri.clone(),
            Pushed {
                request,
                expires_at,
            },
        );
        request_uri
    }

    /// The pushed request `request_uri` of `client_id`, once (RFC 9126 §4, "one-time use").
    pub fn take_pushed(
        &self,
        request_uri: &str,
        client_id: &str,
    ) -> Result<AuthorizationRequest, &'static str> {
        let mut store = self.store();
        store.purge(Instant::now());
        match store.pushed.remove(request_uri) {
            Some(pushed) if pushed.request.client_id == client_id => Ok(pushed.request),
            Some(pushed) => {
                // Kept: another client must not be able to burn someone else's request.
                store.pushed.insert(request_uri.to_owned(), pushed);
                Err("the request_uri was pushed by another client")
            }
            None => {
                Err("the request_uri is unknown, expired or already used; push the request again")
            }
        }
    }
}
