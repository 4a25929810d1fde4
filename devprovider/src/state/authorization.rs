//! From a validated authorization request to the redirect back to the client: the pending
//! request the login and consent forms carry, then a code or a denial (RFC 6749 §4.1.2).

use std::collections::BTreeSet;
use std::time::Instant;

use url::Url;

use super::grants::Pkce;
use super::store::{CodeRecord, ProviderSession, PENDING_TTL};
use super::{unix_now, AppState};
use crate::oauth;
use crate::scope::Scope;
use crate::DemoUser;

/// A validated authorization request, waiting for the user to sign in and consent.
#[derive(Clone)]
pub struct PendingAuthorization {
    pub client_id: String,
    pub redirect_uri: String,
    redirect_url: Url,
    pub scope: Scope,
    pub state: Option<String>,
    pub pkce: Option<Pkce>,
    pub nonce: Option<String>,
    pub dpop_jkt: Option<String>,
    /// Set once the user picked an account on the login page: who, and the provider session
    /// that sign-in started.
    pub login: Option<(String, String)>,
    pub expires_at: Instant,
}

/// What an authorize endpoint accepted; see `AppState::registered_redirect`.
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_url: Url,
    pub redirect_uri: String,
    pub scope: Scope,
    pub state: Option<String>,
    pub pkce: Option<Pkce>,
    pub nonce: Option<String>,
    /// RFC 9449 §10: the thumbprint of the DPoP key that alone may redeem the code.
    pub dpop_jkt: Option<String>,
}

impl AppState {
    /// The registered redirect URI equal to `uri`, character for character (no normalisation).
    pub fn registered_redirect(&self, client_id: &str, uri: &str) -> Option<Url> {
        let client = self.clients.get(client_id)?;
        let index = client.client.redirect_uris.iter().position(|r| r == uri)?;
        client.redirect_urls.get(index).cloned()
    }

    /// The client's first registered redirect URI: GitHub's "callback URL", used when an
    /// authorization request leaves `redirect_uri` out.
    pub fn default_redirect(&self, client_id: &str) -> Option<(String, Url)> {
        let client = self.clients.get(client_id)?;
        Some((
            client.client.redirect_uris.first()?.clone(),
            client.redirect_urls.first()?.clone(),
        ))
    }

    /// Builds `redirect?params&state&iss` (RFC 6749 §4.1.2, RFC 9207), keeping any query the
    /// registered URI already has.
    pub fn authorization_response(
        &self,
        redirect: &Url,
        params: &[(&str, &str)],
        state: Option<&str>,
    ) -> Url {
        let mut url = redirect.clone();
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in params {
                query.append_pair(name, value);
            }
            if let Some(state) = state {
                query.append_pair("state", state);
            }
            if let Some(iss) = self.rules.authorization_iss(&self.issuer) {
                query.append_pair("iss", &iss);
            }
        }
        url
    }

    /// Remembers a validated request; returns the id the login and consent forms carry.
    pub fn begin_authorization(&self, request: AuthorizationRequest) -> String {
        let id = oauth::random_token();
        let now = Instant::now();
        let mut store = self.store();
        store.purge(now);
        store.pending.insert(
            id.clone(),
            PendingAuthorization {
                client_id: request.client_id,
                redirect_uri: request.redirect_uri,
                redirect_url: request.redirect_url,
                scope: request.scope,
                state: request.state,
                pkce: request.pkce,
                nonce: request.nonce,
                dpop_jkt: request.dpop_jkt,
                login: None,
                expires_at: now + PENDING_TTL,
            },
        );
        id
    }

    /// Records which demo user signed in for a pending request; the sign-in starts a provider
    /// session.
    pub fn select_user(
        &self,
        request_id: &str,
        login: &str,
    ) -> Result<(PendingAuthorization, DemoUser), &'static str> {
        let user = self
            .user(login)
            .ok_or("There is no demo user by that name.")?;
        let mut store = self.store();
        store.purge(Instant::now());
        let pending = store
            .pending
            .get_mut(request_id)
            .ok_or("This sign-in request is unknown or has expired. Start the login again.")?;
        let sid = oauth::random_token();
        pending.login = Some((user.login.clone(), sid.clone()));
        let pending = pending.clone();
        store.sessions.insert(
            sid,
            ProviderSession {
                login: user.login.clone(),
                clients: BTreeSet::new(),
            },
        );
        Ok((pending, user.clone()))
    }

    /// Consumes a pending request (single use) and answers with where to send the browser.
    pub fn finish_authorization(&self, request_id: &str, allow: bool) -> Result<Url, &'static str> {
        let now = Instant::now();
        let mut store = self.store();
        store.purge(now);
        let pending = store.pending.remove(request_id).ok_or(
            "This sign-in request is unknown, expired or already answered. Start the login again.",
        )?;
        let Some((login, sid)) = pending.login.clone() else {
            // Not answered yet: the user may still sign in and come back to consent.
            store.pending.insert(request_id.to_owned(), pending);
            return Err("Sign in as a demo user before answering the consent page.");
        };
        let state = pending.state.as_deref();
        if !allow {
            let denial = self.rules.denial();
            return Ok(self.authorization_response(&pending.redirect_url, denial, state));
        }
        let code = oauth::random_token();
        let url = self.authorization_response(&pending.redirect_url, &[("code", &code)], state);
        store.codes.insert(
            code,
            CodeRecord {
                client_id: pending.client_id,
                redirect_uri: pending.redirect_uri,
                scope: pending.scope,
                nonce: pending.nonce,
                pkce: pending.pkce,
                login,
                auth_time: unix_now(),
                sid,
                dpop_jkt: pending.dpop_jkt,
                expires_at: now + self.code_ttl,
                used: None,
            },
        );
        Ok(url)
    }
}
