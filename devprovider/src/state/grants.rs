//! Codes into tokens and tokens into answers: the authorization_code and refresh_token grants
//! (RFC 6749 §4.1.3, §6) with PKCE (RFC 7636), bearer token checks, and revocation (RFC 7009).

use std::time::Instant;

use axum::http::StatusCode;

use super::store::{AccessRecord, Grant, RefreshRecord, Store};
use super::{unix_now, AppState};
use crate::oauth::{self, OAuthError};
use crate::scope::Scope;
use crate::Client;

/// A PKCE code challenge (RFC 7636 §4.2).
#[derive(Clone, Debug)]
pub struct Pkce {
    pub challenge: String,
    pub method: PkceMethod,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PkceMethod {
    S256,
    /// Only the `intra42` dialect accepts it: Doorkeeper implements both methods of RFC 7636.
    Plain,
}

impl Pkce {
    /// RFC 7636 §4.6, after checking the verifier's form (§4.1).
    fn verify(&self, verifier: &str) -> Result<(), GrantError> {
        if !oauth::is_valid_verifier(verifier) {
            return Err(GrantError::VerifierMalformed);
        }
        let matches = match self.method {
            PkceMethod::S256 => oauth::pkce_s256_matches(verifier, &self.challenge),
            PkceMethod::Plain => {
                oauth::constant_time_eq(verifier.as_bytes(), self.challenge.as_bytes())
            }
        };
        if matches {
            Ok(())
        } else {
            Err(GrantError::VerifierMismatch)
        }
    }
}

/// Why an authorization code was refused. Each dialect words it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantError {
    UnknownCode,
    OtherClient,
    Replayed,
    Expired,
    RedirectMismatch,
    VerifierMissing,
    VerifierMalformed,
    VerifierMismatch,
    /// RFC 9700 §2.1.1: a verifier for a code requested without a challenge is a downgrade.
    VerifierWithoutChallenge,
    /// RFC 9449 §10: the code is bound to a DPoP key (`dpop_jkt`), and no proof came.
    DpopProofMissing,
    /// RFC 9449 §10: the proof's key is not the one the code is bound to.
    DpopKeyMismatch,
}

impl GrantError {
    pub fn description(self) -> &'static str {
        match self {
            GrantError::UnknownCode => "unknown authorization code",
            GrantError::OtherClient => "the authorization code was issued to another client",
            GrantError::Replayed => {
                "the authorization code was already used; tokens issued for it are revoked"
            }
            GrantError::Expired => "the authorization code has expired",
            GrantError::RedirectMismatch => {
                "redirect_uri differs from the one in the authorization request"
            }
            GrantError::VerifierMissing => "code_verifier is required (PKCE)",
            GrantError::VerifierMalformed => {
                "code_verifier must be 43 to 128 unreserved characters"
            }
            GrantError::VerifierMismatch => "code_verifier does not match the code_challenge",
            GrantError::VerifierWithoutChallenge => {
                "code_verifier was sent but the authorization request had no code_challenge"
            }
            GrantError::DpopProofMissing => {
                "the code is bound to a DPoP key (dpop_jkt): send a DPoP proof by that key"
            }
            GrantError::DpopKeyMismatch => {
                "the DPoP proof's key is not the one the code is bound to (dpop_jkt)"
            }
        }
    }
}

impl From<GrantError> for OAuthError {
    fn from(error: GrantError) -> OAuthError {
        match error {
            GrantError::DpopProofMissing | GrantError::DpopKeyMismatch => {
                OAuthError::invalid_dpop_proof(error.description())
            }
            _ => OAuthError::invalid_grant(error.description()),
        }
    }
}

/// Tokens minted under the lock; the id token is signed after it is released.
pub struct Issued {
    pub access_token: String,
    /// None in the `github` dialect: OAuth App tokens come without one.
    pub refresh_token: Option<String>,
    pub scope: Scope,
    pub grant: Grant,
    pub nonce: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// None when the access token never expires.
    pub expires_in: Option<u64>,
    /// The thumbprint of the DPoP key the access token is bound to; None for Bearer.
    pub jkt: Option<String>,
}

/// A live access token, as resource endpoints see it.
pub struct AccessInfo {
    pub login: String,
    pub client_id: String,
    pub scope: Scope,
    pub created_at: u64,
    /// Seconds left; None when the token never expires.
    pub expires_in: Option<u64>,
    /// The thumbprint of the DPoP key the token is bound to; None for Bearer.
    pub jkt: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessProblem {
    /// Never issued, revoked, or expired long ago.
    Unknown,
    Expired,
}

impl AppState {
    /// The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6). The redirect URI must
    /// match the authorization request's, unless the dialect lets the client leave it out.
    pub fn exchange_code(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        jkt: Option<&str>,
    ) -> Result<Issued, GrantError> {
        let now = Instant::now();
        let issued = {
            let mut guard = self.store();
            let store = &mut *guard;
            store.purge(now);
            let grant_id = store.next_grant;
            store.next_grant += 1;
            let record = store.codes.get_mut(code).ok_or(GrantError::UnknownCode)?;
            if record.client_id != client.id {
                // Not consumed: another client must not be able to burn someone else's code.
                return Err(GrantError::OtherClient);
            }
            if let Some(grant) = record.used {
                // RFC 6749 §4.1.2: a replayed code revokes what it produced.
                if let Some(grant) = grant {
                    store.revoke_grant(grant);
                }
                tracing::warn!(client = %client.id, "authorization code replayed; grant revoked");
                return Err(GrantError::Replayed);
            }
            // Checked before the code is used up, so a proof by the wrong key (an attacker who
            // intercepted the code) can't burn it for its owner.
            match (record.dpop_jkt.as_deref(), jkt) {
                (Some(_), None) => return Err(GrantError::DpopProofMissing),
                (Some(bound), Some(jkt)) if bound != jkt => {
                    return Err(GrantError::DpopKeyMismatch)
                }
                _ => {}
            }
            // Any presentation by its client uses the code up, so failed attempts can't be retried.
            record.used = Some(None);
            if record.expires_at <= now {
                return Err(GrantError::Expired);
            }
            let redirect_optional =
                self.rules.token_request_may_omit_redirect_uri() && redirect_uri.is_none();
            if !redirect_optional && redirect_uri != Some(record.redirect_uri.as_str()) {
                return Err(GrantError::RedirectMismatch);
            }
            match (&record.pkce, verifier) {
                (Some(pkce), Some(verifier)) => pkce.verify(verifier)?,
                (Some(_), None) => return Err(GrantError::VerifierMissing),
                (None, Some(_)) => return Err(GrantError::VerifierWithoutChallenge),
                (None, None) => {}
            }
            let (scope, nonce) = (record.scope.clone(), record.nonce.clone());
            let grant = Grant {
                id: grant_id,
                client_id: client.id.clone(),
                login: record.login.clone(),
                auth_time: record.auth_time,
                sid: record.sid.clone(),
                jkt: jkt.map(str::to_owned),
            };
            record.used = Some(Some(grant.id));
            // The client now holds tokens from this session: logging out of it tells the client.
            if let Some(session) = store.sessions.get_mut(&grant.sid) {
                session.clients.insert(client.id.clone());
            }
            let jkt = grant.jkt.clone();
            self.issue(store, now, grant, (scope.clone(), scope), nonce, jkt)
        };
        self.count(|s| s.authorization_code_grants += 1);
        Ok(issued)
    }

    /// The refresh_token grant (RFC 6749 §6) with rotation: the old refresh token dies, and
    /// presenting it again revokes the whole grant.
    pub fn refresh(
        &self,
        client: &Client,
        refresh_token: &str,
        requested_scope: Option<&str>,
        jkt: Option<&str>,
    ) -> Result<Issued, OAuthError> {
        let now = Instant::now();
        let issued = {
            let mut store = self.store();
            store.purge(now);
            if let Some(grant) = store.retired_refresh.get(refresh_token).copied() {
                store.revoke_grant(grant);
                tracing::warn!(client = %client.id, "rotated refresh token replayed; grant revoked");
                return Err(OAuthError::invalid_grant(
                    "the refresh token was already used; the grant is revoked",
                ));
            }
            let record = store
                .refresh
                .remove(refresh_token)
                .ok_or_else(|| OAuthError::invalid_grant("unknown or revoked refresh token"))?;
            let checked = self
                .refresh_scope(client, &record, requested_scope)
                .and_then(|scope| refresh_key(&record, jkt).map(|()| scope));
            let access_scope = match checked {
                Ok(scope) => scope,
                Err(error) => {
                    // A refused request leaves the refresh token as it was.
                    store.refresh.insert(refresh_token.to_owned(), record);
                    return Err(error);
                }
            };
            store
                .retired_refresh
                .insert(refresh_token.to_owned(), record.grant.id);
            self.issue(
                &mut store,
                now,
                record.grant,
                (access_scope, record.scope),
                None,
                jkt.map(str::to_owned),
            )
        };
        self.count(|s| s.refresh_grants += 1);
        Ok(issued)
    }

    /// The scope of a refreshed access token: the grant's, or a part of it (RFC 6749 §6: a
    /// refresh may narrow the scope but never widen it).
    fn refresh_scope(
        &self,
        client: &Client,
        record: &RefreshRecord,
        requested: Option<&str>,
    ) -> Result<Scope, OAuthError> {
        if record.grant.client_id != client.id {
            return Err(OAuthError::invalid_grant(
                "the refresh token was issued to another client",
            ));
        }
        let Some(requested) = requested else {
            return Ok(record.scope.clone());
        };
        self.rules
            .parse_scope(requested)
            .ok()
            .filter(|s| s.is_subset_of(&record.scope))
            .ok_or_else(|| {
                OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "the requested scope exceeds the scope originally granted",
                )
            })
    }

    /// New tokens for `grant`: the access token with the first scope, bound to the DPoP key
    /// `jkt` if any; the refresh token with the second.
    fn issue(
        &self,
        store: &mut Store,
        now: Instant,
        grant: Grant,
        (access_scope, refresh_scope): (Scope, Scope),
        nonce: Option<String>,
        jkt: Option<String>,
    ) -> Issued {
        let created_at = unix_now();
        let minted = self.rules.mint(self.access_token_ttl);
        store.access.insert(
            minted.access_token.clone(),
            AccessRecord {
                grant: grant.clone(),
                scope: access_scope.clone(),
                created_at,
                expires_at: minted.ttl.map(|ttl| now + ttl),
                jkt: jkt.clone(),
            },
        );
        if let Some(refresh_token) = &minted.refresh_token {
            store.refresh.insert(
                refresh_token.clone(),
                RefreshRecord {
                    grant: grant.clone(),
                    scope: refresh_scope,
                },
            );
        }
        Issued {
            access_token: minted.access_token,
            refresh_token: minted.refresh_token,
            scope: access_scope,
            grant,
            nonce,
            created_at,
            expires_in: minted.ttl.map(|ttl| ttl.as_secs()),
            jkt,
        }
    }

    /// What a resource endpoint needs to know about a bearer token.
    pub fn access(&self, access_token: &str) -> Result<AccessInfo, AccessProblem> {
        let now = Instant::now();
        let store = self.store();
        let record = store
            .access
            .get(access_token)
            .ok_or(AccessProblem::Unknown)?;
        if !record.is_live(now) {
            return Err(AccessProblem::Expired);
        }
        Ok(AccessInfo {
            login: record.grant.login.clone(),
            client_id: record.grant.client_id.clone(),
            scope: record.scope.clone(),
            created_at: record.created_at,
            expires_in: record
                .expires_at
                .map(|at| at.saturating_duration_since(now).as_secs()),
            jkt: record.jkt.clone(),
        })
    }

    /// RFC 7662: a live access token of `client`, as introspection describes it. Refresh
    /// tokens, and other clients' tokens, are not described (`active: false`).
    pub fn introspect(&self, client: &Client, token: &str) -> Option<AccessInfo> {
        self.access(token)
            .ok()
            .filter(|info| info.client_id == client.id)
    }

    /// The DPoP key a token of `client` is bound to: an access token's own, or a refresh
    /// token's grant's. None for a Bearer token, or one that is unknown or another client's.
    pub fn token_binding(&self, client: &Client, token: &str) -> Option<String> {
        let store = self.store();
        if let Some(access) = store.access.get(token) {
            return access
                .jkt
                .clone()
                .filter(|_| access.grant.client_id == client.id);
        }
        let refresh = store.refresh.get(token)?;
        refresh
            .grant
            .jkt
            .clone()
            .filter(|_| refresh.grant.client_id == client.id)
    }

    pub fn is_access_token_active(&self, token: &str) -> bool {
        self.store()
            .access
            .get(token)
            .is_some_and(|a| a.is_live(Instant::now()))
    }

    /// GitHub's "Delete an app token": ends one access token of this client. False when the
    /// token is unknown or belongs to another client.
    pub fn revoke_access_token(&self, client: &Client, token: &str) -> bool {
        let mut store = self.store();
        let owned = store
            .access
            .get(token)
            .is_some_and(|a| a.grant.client_id == client.id);
        if owned {
            store.access.remove(token);
        }
        owned
    }

    /// RFC 7009 §2.1: revokes a token of this client; others' and unknown tokens are ignored.
    pub fn revoke(&self, client: &Client, token: &str) {
        let mut store = self.store();
        let refresh_grant = store
            .refresh
            .get(token)
            .filter(|r| r.grant.client_id == client.id)
            .map(|r| r.grant.id);
        let access_owned = store
            .access
            .get(token)
            .is_some_and(|a| a.grant.client_id == client.id);
        if let Some(grant) = refresh_grant {
            // Revoking a refresh token ends the whole grant, access tokens included.
            store.revoke_grant(grant);
        } else if access_owned {
            store.access.remove(token);
        }
    }
}

/// A grant whose first tokens were DPoP-bound is refreshed only with a proof by the same key,
/// as Keycloak does: RFC 9449 §5 requires it for public clients and lets confidential ones go
/// unbound, but a client that lost or swapped its key mid-session is a bug worth seeing.
fn refresh_key(record: &RefreshRecord, jkt: Option<&str>) -> Result<(), OAuthError> {
    match (record.grant.jkt.as_deref(), jkt) {
        (Some(_), None) => Err(OAuthError::invalid_dpop_proof(
            "the refresh token is bound to a DPoP key: send a DPoP proof by that key",
        )),
        (Some(bound), Some(jkt)) if bound != jkt => Err(OAuthError::invalid_dpop_proof(
            "the DPoP proof's key is not the one the refresh token is bound to",
        )),
        _ => Ok(()),
    }
}
