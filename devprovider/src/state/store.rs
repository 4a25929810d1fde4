//! The provider's memory: pending authorization requests, codes and tokens, and how long each is
//! kept. Only the `state` module touches it, under one lock.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::authorization::PendingAuthorization;
use super::grants::Pkce;
use super::par::Pushed;
use crate::scope::Scope;

/// How long a user has to get from the login page through consent.
pub const PENDING_TTL: Duration = Duration::from_secs(600);
/// Used codes are remembered this long past their expiry, so a replay still revokes the grant.
const USED_CODE_RETENTION: Duration = Duration::from_secs(600);
/// Expired access tokens are remembered this long, so a client hears "expired", not "invalid".
const EXPIRED_TOKEN_RETENTION: Duration = Duration::from_secs(600);

/// Who granted what to which client: shared by every token descended from one code.
#[derive(Clone)]
pub struct Grant {
    pub id: u64,
    pub client_id: String,
    pub login: String,
    /// Unix seconds at which the user signed in (OIDC `auth_time`).
    pub auth_time: u64,
    /// The provider session the user signed in with (OIDC `sid`).
    pub sid: String,
    /// The thumbprint of the DPoP key the first tokens were bound to: refreshing needs a proof
    /// by the same key.
    pub jkt: Option<String>,
}

/// One completed login form: the user is signed in at the provider until logging out.
pub struct ProviderSession {
    pub login: String,
    /// The clients that got tokens in this session, which back-channel logout tells.
    pub clients: BTreeSet<String>,
}

pub struct CodeRecord {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Scope,
    pub nonce: Option<String>,
    pub pkce: Option<Pkce>,
    pub login: String,
    pub auth_time: u64,
    pub sid: String,
    /// RFC 9449 §10: the thumbprint of the only DPoP key that may redeem the code.
    pub dpop_jkt: Option<String>,
    pub expires_at: Instant,
    /// None until first presented; then whether it produced a grant (so a replay can revoke it).
    pub used: Option<Option<u64>>,
}

pub struct AccessRecord {
    pub grant: Grant,
    pub scope: Scope,
    /// Unix seconds (42's `created_at`).
    pub created_at: u64,
    /// None: never expires (GitHub OAuth App tokens).
    pub expires_at: Option<Instant>,
    /// The thumbprint of the DPoP key the token is bound to (`cnf.jkt`); None for Bearer.
    pub jkt: Option<String>,
}

impl AccessRecord {
    pub fn is_live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

pub struct RefreshRecord {
    pub grant: Grant,
    pub scope: Scope,
}

#[derive(Default)]
pub struct Store {
    pub pending: HashMap<String, PendingAuthorization>,
    /// Pushed authorization requests by `request_uri` (RFC 9126).
    pub pushed: HashMap<String, Pushed>,
    pub codes: HashMap<String, CodeRecord>,
    pub access: HashMap<String, AccessRecord>,
    pub refresh: HashMap<String, RefreshRecord>,
    /// Refresh tokens replaced by rotation, mapped to their grant: a replay means theft
    /// (RFC 9700 §4.14.2), so the whole grant is revoked.
    pub retired_refresh: HashMap<String, u64>,
    pub next_grant: u64,
    /// Live provider sessions by `sid`; they end only when their user logs out.
    pub sessions: HashMap<String, ProviderSession>,
}

impl Store {
    pub fn purge(&mut self, now: Instant) {
        self.pending.retain(|_, p| p.expires_at > now);
        self.pushed.retain(|_, p| p.expires_at > now);
        self.codes
            .retain(|_, c| c.expires_at + USED_CODE_RETENTION > now);
        self.access.retain(|_, a| {
            a.expires_at
                .is_none_or(|at| at + EXPIRED_TOKEN_RETENTION > now)
        });
    }

    pub fn revoke_grant(&mut self, grant: u64) {
        self.access.retain(|_, a| a.grant.id != grant);
        self.refresh.retain(|_, r| r.grant.id != grant);
        self.retired_refresh.retain(|_, g| *g != grant);
    }
}
