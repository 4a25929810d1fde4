//! `X-Portero-Assertion` (docs/design.md, "Your app behind Portero"): a JWT Portero signs for an app
//! behind it, so the app can check who is calling with `/.well-known/jwks.json` instead of
//! trusting the network. EdDSA (Ed25519, RFC 8037), `iss` = the public origin, `aud` = the
//! upstream's id, `sub` = `{provider}:{subject}`, and `exp` at most 60 s away.
//!
//! [`AssertionVerifier`] is the other side, for Rust apps (and Portero's own demo upstream).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use base64::{engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The claims of an assertion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionClaims {
    /// Portero's public origin.
    pub iss: String,
    /// The upstream's id (`[upstreams.{id}]`), or `auth` for `GET /api/auth`.
    pub aud: String,
    /// `{provider}:{subject}`: the person, unique across providers.
    pub sub: String,
    /// The provider id.
    pub provider: String,
    /// Seconds since the Unix epoch.
    pub iat: i64,
    /// Seconds since the Unix epoch; at most 60 s after `iat`.
    pub exp: i64,
    /// The person's login at the provider, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// Their email address, only when the provider says it is verified (rule 21).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `true` beside `email`, absent without one: the provider verified the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Their name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Why a key or an assertion was refused.
#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    /// A configured key is not 32 bytes of base64.
    #[error(
        "the key must be base64 for exactly 32 random bytes (head -c 32 /dev/urandom | base64)"
    )]
    BadKey,
    /// Not three base64url parts of JSON.
    #[error("the assertion is not a JWT")]
    Malformed,
    /// Another algorithm, or a `kid` the keys do not have (fetch the JWKS again: a rotation).
    #[error("the assertion is not EdDSA or names a key the JWKS does not have")]
    UnknownKey,
    /// Forged or changed.
    #[error("the assertion's signature does not verify")]
    BadSignature,
    /// Signed by this Portero for another app, or by another Portero.
    #[error("the assertion is for another issuer or audience")]
    WrongParty,
    /// Past its `exp` (with a few seconds of leeway).
    #[error("the assertion has expired")]
    Expired,
    /// Not what `/.well-known/jwks.json` answers.
    #[error("the JWKS is not a set of Ed25519 keys")]
    BadJwks,
}

/// Signs assertions with the current key; publishes it with the previous ones.
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
    kid: String,
    /// The JWT header, base64url: the same for every assertion of this key.
    header: String,
    /// Public keys (with their ids) of the earlier keys, for the JWKS.
    previous: Vec<(String, VerifyingKey)>,
    signed: Arc<Mutex<Signed>>,
}

/// The assertions signed in the current second. Ed25519 signatures are deterministic (RFC 8032
/// §5.1.6): the same claims signed again give the same JWT, byte for byte. The claims hold the
/// second they were made (`iat`), so one person's requests to one app within a second share one
/// signature instead of paying for one each (≈ a quarter of the gateway's CPU under load).
#[derive(Default)]
struct Signed {
    /// The `iat` of the claims held; older claims are neither looked up nor kept.
    second: i64,
    /// The JSON of the claims → their compact JWT.
    jwts: HashMap<Vec<u8>, String>,
}

/// At most this many people × apps within one second are remembered (≈ 1.5 MB); beyond, each
/// further assertion of that second is signed afresh.
const SIGNED_PER_SECOND: usize = 2048;

impl Signed {
    fn get(&mut self, iat: i64, payload: &[u8]) -> Option<String> {
        if iat > self.second {
            self.second = iat;
            self.jwts.clear();
        }
        (iat == self.second)
            .then(|| self.jwts.get(payload).cloned())
            .flatten()
    }

    fn keep(&mut self, iat: i64, payload: Vec<u8>, jwt: &str) {
        if iat == self.second && self.jwts.len() < SIGNED_PER_SECOND {
            self.jwts.insert(payload, jwt.to_owned());
        }
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A key's id: the start of the SHA-256 of its public half (RFC 7638's idea, shorter).
fn kid_of(key: &VerifyingKey) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(key.as_bytes())[..12])
}

impl Signer {
    /// The 32-byte Ed25519 seed in a configured key.
    pub fn decode_seed(key: &SecretString) -> Result<[u8; 32], AssertionError> {
        let text = key.expose_secret().trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text))
            .map_err(|_| AssertionError::BadKey)?;
        bytes.try_into().map_err(|_| AssertionError::BadKey)
    }

    /// Signs with `key`; publishes `previous` too.
    pub fn new(key: &SecretString, previous: &[SecretString]) -> Result<Self, AssertionError> {
        let key = SigningKey::from_bytes(&Self::decode_seed(key)?);
        let previous = previous
            .iter()
            .map(|k| {
                let public = SigningKey::from_bytes(&Self::decode_seed(k)?).verifying_key();
                Ok((kid_of(&public), public))
            })
            .collect::<Result<_, AssertionError>>()?;
        Ok(Self::with_key(key, previous))
    }

    /// A key for this process only (the memory store's development setup).
    pub fn ephemeral() -> Self {
        Self::with_key(
            SigningKey::from_bytes(&rand::random::<[u8; 32]>()),
            Vec::new(),
        )
    }

    fn with_key(key: SigningKey, previous: Vec<(String, VerifyingKey)>) -> Self {
        let kid = kid_of(&key.verifying_key());
        let header = json!({ "alg": "EdDSA", "typ": "JWT", "kid": kid });
        Signer {
            header: URL_SAFE_NO_PAD.encode(header.to_string()),
            kid,
            key,
            previous,
            signed: Arc::default(),
        }
    }

    /// A fresh random key, base64 as `assertion.key` takes it.
    pub fn generate_key() -> SecretString {
        SecretString::from(STANDARD.encode(rand::random::<[u8; 32]>()))
    }

    /// The compact JWT of `claims`: the one already signed this second for the same claims, or
    /// a new one.
    pub fn sign(&self, claims: &AssertionClaims) -> String {
        let payload = serde_json::to_vec(claims).expect("claims serialise");
        let signed = || self.signed.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(jwt) = signed().get(claims.iat, &payload) {
            return jwt;
        }
        let mut jwt = String::with_capacity(
            self.header.len() + payload.len() * 4 / 3 + Signature::BYTE_SIZE * 4 / 3 + 8,
        );
        jwt.push_str(&self.header);
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut jwt);
        let signature = self.key.sign(jwt.as_bytes());
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut jwt);
        signed().keep(claims.iat, payload, &jwt);
        jwt
    }

    /// `/.well-known/jwks.json`: the current key first, then the earlier ones.
    pub fn jwks(&self) -> Value {
        let jwk = |kid: &str, key: &VerifyingKey| {
            json!({
                "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(key.as_bytes()),
            })
        };
        let keys: Vec<Value> = std::iter::once(jwk(&self.kid, &self.key.verifying_key()))
            .chain(self.previous.iter().map(|(kid, key)| jwk(kid, key)))
            .collect();
        json!({ "keys": keys })
    }
}

/// Checks assertions for one app: the keys of Portero's `/.well-known/jwks.json`, the issuer
/// (Portero's public origin) and the audience (the upstream's id).
///
/// ```
/// # use portero::assertion::AssertionVerifier;
/// # fn check(jwks: &serde_json::Value, header: &str) {
/// let verifier = AssertionVerifier::from_jwks(jwks, "https://app.example.com", "notes").unwrap();
/// match verifier.verify(header) {
///     Ok(claims) => println!("{} is calling", claims.sub),
///     Err(why) => println!("refused: {why}"),
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct AssertionVerifier {
    keys: Vec<(String, VerifyingKey)>,
    issuer: String,
    audience: String,
}

impl AssertionVerifier {
    /// From the JSON of `/.well-known/jwks.json`.
    pub fn from_jwks(jwks: &Value, issuer: &str, audience: &str) -> Result<Self, AssertionError> {
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(AssertionError::BadJwks)?
            .iter()
            .filter(|k| {
                k.get("kty") == Some(&json!("OKP")) && k.get("crv") == Some(&json!("Ed25519"))
            })
            .map(|k| {
                let kid = k
                    .get("kid")
                    .and_then(Value::as_str)
                    .ok_or(AssertionError::BadJwks)?;
                let x = k
                    .get("x")
                    .and_then(Value::as_str)
                    .ok_or(AssertionError::BadJwks)?;
                let bytes: [u8; 32] = URL_SAFE_NO_PAD
                    .decode(x)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or(AssertionError::BadJwks)?;
                let key = VerifyingKey::from_bytes(&bytes).map_err(|_| AssertionError::BadJwks)?;
                Ok((kid.to_owned(), key))
            })
            .collect::<Result<Vec<_>, AssertionError>>()?;
        Ok(AssertionVerifier {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// The claims of `token` when its signature, issuer, audience and expiry all hold.
    pub fn verify(&self, token: &str) -> Result<AssertionClaims, AssertionError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AssertionError::Malformed);
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| AssertionError::Malformed)
        };
        let header: Value =
            serde_json::from_slice(&decode(header)?).map_err(|_| AssertionError::Malformed)?;
        if header.get("alg") != Some(&json!("EdDSA")) {
            return Err(AssertionError::UnknownKey);
        }
        let kid = header.get("kid").and_then(Value::as_str);
        let key = self
            .keys
            .iter()
            .find(|(id, _)| Some(id.as_str()) == kid)
            .map(|(_, key)| key)
            .ok_or(AssertionError::UnknownKey)?;
        let signature =
            Signature::from_slice(&decode(signature)?).map_err(|_| AssertionError::Malformed)?;
        let signed = &token[..token.rfind('.').expect("three parts")];
        key.verify_strict(signed.as_bytes(), &signature)
            .map_err(|_| AssertionError::BadSignature)?;
        let claims: AssertionClaims =
            serde_json::from_slice(&decode(payload)?).map_err(|_| AssertionError::Malformed)?;
        if claims.iss != self.issuer || claims.aud != self.audience {
            return Err(AssertionError::WrongParty);
        }
        // A few seconds of leeway for clocks that differ between machines.
        if claims.exp + 5 < crate::session::now() {
            return Err(AssertionError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_in: i64) -> AssertionClaims {
        let now = crate::session::now();
        AssertionClaims {
            iss: "https://app.example".into(),
            aud: "notes".into(),
            sub: "github:1".into(),
            provider: "github".into(),
            iat: now,
            exp: now + exp_in,
            login: Some("ada".into()),
            email: None,
            email_verified: None,
            name: Some("Ada Lovelace".into()),
        }
    }

    #[test]
    fn what_the_signer_signs_the_verifier_accepts_and_nothing_else() {
        let signer = Signer::new(&Signer::generate_key(), &[]).unwrap();
        let verifier =
            AssertionVerifier::from_jwks(&signer.jwks(), "https://app.example", "notes").unwrap();
        let token = signer.sign(&claims(60));
        assert_eq!(verifier.verify(&token).unwrap(), claims(60));
        let other =
            AssertionVerifier::from_jwks(&signer.jwks(), "https://app.example", "wiki").unwrap();
        assert!(matches!(
            other.verify(&token),
            Err(AssertionError::WrongParty)
        ));
        assert!(matches!(
            verifier.verify(&signer.sign(&claims(-60))),
            Err(AssertionError::Expired)
        ));
        let mut tampered = token.clone();
        let at = tampered.find('.').unwrap() + 3;
        tampered.replace_range(
            at..at + 1,
            if &token[at..at + 1] == "A" { "B" } else { "A" },
        );
        assert!(verifier.verify(&tampered).is_err());
        let stranger = Signer::new(&Signer::generate_key(), &[]).unwrap();
        assert!(matches!(
            verifier.verify(&stranger.sign(&claims(60))),
            Err(AssertionError::UnknownKey)
        ));
    }

    #[test]
    fn after_a_rotation_the_jwks_still_verifies_what_the_old_key_signed() {
        let old = Signer::generate_key();
        let before = Signer::new(&old, &[]).unwrap().sign(&claims(60));
        let rotated = Signer::new(&Signer::generate_key(), &[old]).unwrap();
        let verifier =
            AssertionVerifier::from_jwks(&rotated.jwks(), "https://app.example", "notes").unwrap();
        assert!(verifier.verify(&before).is_ok());
        assert!(verifier.verify(&rotated.sign(&claims(60))).is_ok());
    }

    #[test]
    fn claims_signed_again_within_their_second_get_the_very_jwt_a_fresh_signer_makes() {
        let key = Signer::generate_key();
        let signer = Signer::new(&key, &[]).unwrap();
        let claims = claims(60);
        let first = signer.sign(&claims);
        assert_eq!(signer.sign(&claims), first, "remembered");
        let fresh = Signer::new(&key, &[]).unwrap();
        assert_eq!(fresh.sign(&claims), first, "Ed25519 is deterministic");
        let mut other = claims.clone();
        other.name = Some("Grace Hopper".into());
        let verifier =
            AssertionVerifier::from_jwks(&signer.jwks(), "https://app.example", "notes").unwrap();
        assert_eq!(verifier.verify(&signer.sign(&other)).unwrap(), other);
        let mut later = claims.clone();
        later.iat += 1;
        later.exp += 1;
        assert_eq!(verifier.verify(&signer.sign(&later)).unwrap(), later);
        assert_eq!(
            verifier.verify(&signer.sign(&claims)).unwrap(),
            claims,
            "an earlier second is signed afresh"
        );
    }
}
