//! The providers' signing keys (JWKS), with RSA signatures checked by `ring`.
//!
//! openidconnect's `CoreJsonWebKey` checks RS256 and PS256 with the `rsa` crate, whose
//! arbitrary-precision arithmetic (num-bigint-dig) made the id_token's signature the costliest
//! step of a login's CPU: `ring`, already here for TLS, does the same check with Montgomery
//! assembly several times faster. So [`Jwk`] is a `CoreJsonWebKey` with the RSA key's `n` and
//! `e` read beside it: RS256/384/512 and PS256/384/512 go to `ring::signature`, and everything
//! else (EC and Ed25519 keys, HMAC, key ids, `use`, `alg`, the at_hash's `hash_bytes`,
//! (de)serialization) stays `CoreJsonWebKey`'s. It signs with `CoreJwsSigningAlgorithm`, so
//! `CoreIdToken` and `CoreTokenResponse` take it as they are.
//!
//! The verdicts are `CoreJsonWebKey`'s but for one: an RSA key under 2048 bits, which the `rsa`
//! crate accepted, is refused (ring's minimum, and NIST SP 800-131A's since 2013; devprovider's,
//! the tests' and npm oidc-provider's development keys are 2048 bits). Keys over 4096 bits stay
//! refused, as the `rsa` crate refused them, though ring would take up to 8192.

use std::fmt;

use openidconnect::{
    core::{CoreJsonWebKey, CoreJsonWebKeyType, CoreJsonWebKeyUse, CoreJwsSigningAlgorithm},
    IdTokenVerifier, JsonWebKey, JsonWebKeyAlgorithm, JsonWebKeyId, JsonWebKeySet, JsonWebKeyUse,
    JwsSigningAlgorithm, SignatureVerificationError,
};
use ring::signature::{self as ring_sig, RsaParameters, RsaPublicKeyComponents};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A provider's key set, as discovery fetches it.
pub(crate) type Jwks = JsonWebKeySet<Jwk>;

/// The id_token verifier over [`Jwks`].
pub(crate) type Verifier<'a> = IdTokenVerifier<'a, Jwk>;

/// Smallest and largest RSA modulus accepted, in bits (see the module's documentation).
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 4096;
/// The `rsa` crate's bounds on the public exponent, kept.
const RSA_MIN_EXPONENT: u64 = 2;
const RSA_MAX_EXPONENT: u64 = (1 << 33) - 1;

/// One JSON Web Key: `CoreJsonWebKey`'s, and for an RSA key its public numbers ready for ring.
#[derive(Clone, PartialEq, Eq)]
pub struct Jwk {
    core: CoreJsonWebKey,
    /// The RSA key, or why it cannot verify (`CoreJsonWebKey`'s words where it has them).
    rsa: Result<RsaKey, String>,
}

/// An RSA public key without leading zero bytes in `n` and `e` (ring refuses them; RFC 7518
/// §6.3.1.1 asks senders to omit them, and some do not).
#[derive(Clone, PartialEq, Eq)]
struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl Jwk {
    fn new(core: CoreJsonWebKey) -> Self {
        let rsa = rsa_key(&core);
        Jwk { core, rsa }
    }
}

/// `n` and `e` of `core` when it is an RSA key, checked as the `rsa` crate's
/// `RsaPublicKey::new` checks them (same messages), and held to [`RSA_MIN_BITS`].
fn rsa_key(core: &CoreJsonWebKey) -> Result<RsaKey, String> {
    if *core.key_type() != CoreJsonWebKeyType::RSA {
        return Err("RSA key required".into());
    }
    // `n` and `e` are private to openidconnect: read them from the key's own serialization,
    // so they are exactly what it parsed (a value it could not read is absent there too).
    let json = serde_json::to_value(core).map_err(|e| e.to_string())?;
    let number = |name: &str| -> Option<Vec<u8>> {
        use base64::Engine;
        let text = json.get(name)?.as_str()?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let zeros = bytes.iter().take_while(|b| **b == 0).count();
        Some(bytes[zeros..].to_vec())
    };
    let n = number("n").ok_or("RSA modulus `n` is missing")?;
    let e = number("e").ok_or("RSA exponent `e` is missing")?;
    let n_bits = match n.first() {
        Some(first) => n.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    };
    if n_bits > RSA_MAX_BITS {
        return Err("modulus too large".into());
    }
    if e.len() > 8 {
        return Err("public exponent too large".into());
    }
    // Big-endian bytes as a number; only called on at most 8 bytes.
    let value = |bytes: &[u8]| bytes.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b));
    let e_value = value(&e);
    let n_odd = n.last().is_some_and(|b| b & 1 == 1);
    // e < n: n has more than 64 bits whenever it is not refused below.
    let e_below_n = n.len() > 8 || e_value < value(&n);
    if !e_below_n || !n_odd {
        return Err("invalid modulus".into());
    }
    if e_value & 1 == 0 {
        return Err("invalid exponent".into());
    }
    if e_value < RSA_MIN_EXPONENT {
        return Err("public exponent too small".into());
    }
    if e_value > RSA_MAX_EXPONENT {
        return Err("public exponent too large".into());
    }
    // ring's own rule: the modulus's length in bytes, rounded up.
    if n.len() * 8 < RSA_MIN_BITS {
        return Err(format!(
            "the RSA key has {n_bits} bits; keys under {RSA_MIN_BITS} bits are refused"
        ));
    }
    Ok(RsaKey { n, e })
}

/// ring's parameters for the RSA algorithms; `None` for the others.
fn ring_parameters(alg: &CoreJwsSigningAlgorithm) -> Option<&'static RsaParameters> {
    use CoreJwsSigningAlgorithm as Alg;
    Some(match alg {
        Alg::RsaSsaPkcs1V15Sha256 => &ring_sig::RSA_PKCS1_2048_8192_SHA256,
        Alg::RsaSsaPkcs1V15Sha384 => &ring_sig::RSA_PKCS1_2048_8192_SHA384,
        Alg::RsaSsaPkcs1V15Sha512 => &ring_sig::RSA_PKCS1_2048_8192_SHA512,
        // RFC 7518 §3.5: the salt is as long as the hash, which ring's PSS requires.
        Alg::RsaSsaPssSha256 => &ring_sig::RSA_PSS_2048_8192_SHA256,
        Alg::RsaSsaPssSha384 => &ring_sig::RSA_PSS_2048_8192_SHA384,
        Alg::RsaSsaPssSha512 => &ring_sig::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// openidconnect's `check_key_compatibility` (crate-private there), word for word: a key for
/// signatures, of the algorithm's type, and of its `alg` when the key names one.
fn check_key_compatibility(key: &Jwk, alg: &CoreJwsSigningAlgorithm) -> Result<(), &'static str> {
    if key.key_use().is_some_and(|use_| !use_.allows_signature()) {
        return Err("key usage not permitted for digital signatures");
    }
    if alg.key_type().as_ref() != Some(key.key_type()) {
        return Err("key type does not match signature algorithm");
    }
    match key.signing_alg() {
        JsonWebKeyAlgorithm::Unspecified => Ok(()),
        JsonWebKeyAlgorithm::Unsupported => Err("key algorithm is not a signing algorithm"),
        JsonWebKeyAlgorithm::Algorithm(key_alg) if key_alg == alg => Ok(()),
        JsonWebKeyAlgorithm::Algorithm(_) => Err("incompatible key algorithm"),
    }
}

impl JsonWebKey for Jwk {
    type KeyUse = CoreJsonWebKeyUse;
    type SigningAlgorithm = CoreJwsSigningAlgorithm;

    fn key_id(&self) -> Option<&JsonWebKeyId> {
        self.core.key_id()
    }

    fn key_type(&self) -> &CoreJsonWebKeyType {
        self.core.key_type()
    }

    fn key_use(&self) -> Option<&CoreJsonWebKeyUse> {
        self.core.key_use()
    }

    fn signing_alg(&self) -> JsonWebKeyAlgorithm<&CoreJwsSigningAlgorithm> {
        self.core.signing_alg()
    }

    fn new_symmetric(key: Vec<u8>) -> Self {
        Jwk::new(CoreJsonWebKey::new_symmetric(key))
    }

    /// RSA through ring, the rest through `CoreJsonWebKey`; the same errors either way.
    fn verify_signature(
        &self,
        signature_alg: &CoreJwsSigningAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureVerificationError> {
        let Some(parameters) = ring_parameters(signature_alg) else {
            return self
                .core
                .verify_signature(signature_alg, message, signature);
        };
        check_key_compatibility(self, signature_alg)
            .map_err(|e| SignatureVerificationError::InvalidKey(e.to_owned()))?;
        let key = self
            .rsa
            .as_ref()
            .map_err(|e| SignatureVerificationError::InvalidKey(e.clone()))?;
        RsaPublicKeyComponents {
            n: &key.n,
            e: &key.e,
        }
        .verify(parameters, message, signature)
        .map_err(|_| SignatureVerificationError::CryptoError("bad signature".to_owned()))
    }

    fn hash_bytes(&self, bytes: &[u8], alg: &CoreJwsSigningAlgorithm) -> Result<Vec<u8>, String> {
        self.core.hash_bytes(bytes, alg)
    }
}

impl<'de> Deserialize<'de> for Jwk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        CoreJsonWebKey::deserialize(deserializer).map(Jwk::new)
    }
}

impl Serialize for Jwk {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.core.serialize(serializer)
    }
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.fmt(f)
    }
}

#[cfg(test)]
mod tests;
