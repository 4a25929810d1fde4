//! What the stricter features must remember between requests: the `jti` of every client
//! assertion and DPoP proof accepted (a second use is a replay), the server's DPoP nonces, and
//! the keys fetched from clients' `jwks_uri`.

use std::collections::HashMap;
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;

use super::{unix_now, AppState};
use crate::jose::{self, dpop::IAT_WINDOW_SECS};
use crate::oauth::random_token;

/// How long a DPoP nonce is the current one; the one before stays good as long again, so a
/// client that just fetched one is not refused because it rotated meanwhile.
const NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// A `jwks_uri` is fetched again, to find a key an assertion names, at most this often: a
/// client that rotated its key is heard at once, a flood of made-up key ids is not.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// Where a client's public keys are, as registered.
pub enum ClientKeys {
    /// A secret client: no keys.
    None,
    Inline(JwkSet),
    Remote(url::Url),
}

#[derive(Default)]
pub struct Proofs {
    /// (client id, jti) of accepted client assertions, until their `exp` (Unix seconds).
    assertions: HashMap<(String, String), u64>,
    /// The `jti` of accepted DPoP proofs, until their `iat` can no longer pass the window.
    dpop: HashMap<String, u64>,
    nonces: Option<Nonces>,
    /// Key sets fetched from `jwks_uri`, by client id.
    fetched: HashMap<String, Fetched>,
}

struct Fetched {
    keys: JwkSet,
    /// When the set was last fetched again to find a key it lacked.
    refetched_at: Option<Instant>,
}

struct Nonces {
    current: String,
    previous: Option<String>,
    since: Instant,
}

impl Nonces {
    fn fresh() -> Nonces {
        Nonces {
            current: random_token(),
            previous: None,
            since: Instant::now(),
        }
    }
}

impl AppState {
    /// Records an accepted assertion's `jti`; false when this client used it before.
    pub fn first_use_of_assertion(&self, client_id: &str, jti: &str, exp: u64) -> bool {
        let now = unix_now();
        let mut proofs = self.proofs();
        proofs.assertions.retain(|_, until| *until >= now);
        let key = (client_id.to_owned(), jti.to_owned());
        proofs.assertions.insert(key, exp).is_none()
    }

    /// Records an accepted DPoP proof's `jti`; false when it was seen before.
    pub fn first_use_of_proof(&self, jti: &str, iat: u64) -> bool {
        let now = unix_now();
        let mut proofs = self.proofs();
        proofs.dpop.retain(|_, until| *until >= now);
        let until = iat.saturating_add(IAT_WINDOW_SECS);
        proofs.dpop.insert(jti.to_owned(), until).is_none()
    }

    /// The nonce proofs must carry now (RFC 9449 §8), rotating it when it is old.
    pub fn dpop_nonce(&self) -> String {
        let mut proofs = self.proofs();
        let nonces = proofs.nonces.get_or_insert_with(Nonces::fresh);
        if nonces.since.elapsed() >= NONCE_LIFETIME {
            let previous = std::mem::replace(nonces, Nonces::fresh());
            nonces.previous = Some(previous.current);
        }
        nonces.current.clone()
    }

    /// Whether `nonce` is the current nonce or the one before it.
    pub fn is_dpop_nonce_valid(&self, nonce: &str) -> bool {
        let current = self.dpop_nonce();
        let proofs = self.proofs();
        let previous = proofs.nonces.as_ref().and_then(|n| n.previous.as_deref());
        nonce == current || Some(nonce) == previous
    }

    /// See `DevProvider::rotate_dpop_nonce`.
    pub fn rotate_dpop_nonce(&self) {
        self.proofs().nonces = Some(Nonces::fresh());
    }

    /// The public keys of `client_id`. Keys from a `jwks_uri` are fetched on first use and
    /// cached; `refetch` asks for them again, for an assertion that names a key the cached set
    /// lacks (at most every ten seconds).
    pub async fn client_keys(&self, client_id: &str, refetch: bool) -> Result<JwkSet, String> {
        let uri = match self.registered_keys(client_id) {
            Some(ClientKeys::Inline(keys)) => return Ok(keys.clone()),
            Some(ClientKeys::Remote(uri)) => uri.clone(),
            Some(ClientKeys::None) | None => {
                return Err(format!("client `{client_id}` registered no keys"))
            }
        };
        let refetched_at = match self.proofs().fetched.get(client_id) {
            Some(fetched) => {
                let recent = fetched
                    .refetched_at
                    .is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL);
                if !refetch || recent {
                    return Ok(fetched.keys.clone());
                }
                Some(Instant::now())
            }
            None => None,
        };
        let keys = self.fetch_jwks(&uri).await?;
        let fetched = Fetched {
            keys: keys.clone(),
            refetched_at,
        };
        self.proofs().fetched.insert(client_id.to_owned(), fetched);
        Ok(keys)
    }

    async fn fetch_jwks(&self, uri: &url::Url) -> Result<JwkSet, String> {
        let failed = |why: String| format!("cannot fetch the client's jwks_uri {uri}: {why}");
        let response = self
            .http
            .get(uri.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("HTTP {}", response.status())));
        }
        let body = response.bytes().await.map_err(|e| failed(e.to_string()))?;
        let value = serde_json::from_slice(&body).map_err(|e| failed(e.to_string()))?;
        jose::parse_jwks(&value).map_err(failed)
    }

    fn proofs(&self) -> MutexGuard<'_, Proofs> {
        self.proofs.lock().unwrap_or_else(|e| e.into_inner())
    }
}
