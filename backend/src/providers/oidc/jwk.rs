//! The providers' signing keys (JWKS), with RSA signatures checked by `ring` (issue 16, point 2).
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
    let e_value = e.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b));
    let n_odd = n.last().is_some_and(|b| b & 1 == 1);
    // e < n: n has more than 64 bits whenever it is not refused below.
    let e_below_n = n.len() > 8 || e_value < n.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b));
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
mod tests {
    use std::sync::OnceLock;

    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use openidconnect::core::CoreIdToken;
    use openidconnect::{ClientId, IssuerUrl, Nonce};
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use rsa::{
        signature::{RandomizedSigner, SignatureEncoding, Signer},
        traits::PublicKeyParts,
        RsaPrivateKey,
    };
    use serde_json::{json, Value};
    use sha2::{Sha256, Sha384, Sha512};

    use super::{super::PUBLIC_KEY_ALGORITHMS, *};
    use CoreJwsSigningAlgorithm as Alg;

    const MESSAGE: &[u8] = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ";

    fn rsa_private(bits: usize) -> &'static RsaPrivateKey {
        static KEY_2048: OnceLock<RsaPrivateKey> = OnceLock::new();
        static KEY_1024: OnceLock<RsaPrivateKey> = OnceLock::new();
        let slot = if bits == 2048 { &KEY_2048 } else { &KEY_1024 };
        slot.get_or_init(|| RsaPrivateKey::new(&mut rand::thread_rng(), bits).expect("RSA key"))
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn rsa_jwk_json(key: &RsaPrivateKey, extra: Value) -> Value {
        let public = key.to_public_key();
        let mut jwk = json!({
            "kty": "RSA", "kid": "k1",
            "n": b64(&public.n().to_bytes_be()),
            "e": b64(&public.e().to_bytes_be()),
        });
        for (name, value) in extra.as_object().expect("an object") {
            jwk[name] = value.clone();
        }
        jwk
    }

    /// Ours and openidconnect's, from the same JSON.
    fn both(jwk: &Value) -> (Jwk, CoreJsonWebKey) {
        (
            serde_json::from_value(jwk.clone()).expect("our JWK"),
            serde_json::from_value(jwk.clone()).expect("openidconnect's JWK"),
        )
    }

    fn rsa_sign(key: &RsaPrivateKey, alg: &Alg, message: &[u8]) -> Vec<u8> {
        use rsa::{pkcs1v15::SigningKey as V15, pss::BlindedSigningKey as Pss};
        let (key, rng) = (key.clone(), &mut rand::thread_rng());
        match alg {
            Alg::RsaSsaPkcs1V15Sha256 => V15::<Sha256>::new(key).sign(message).to_vec(),
            Alg::RsaSsaPkcs1V15Sha384 => V15::<Sha384>::new(key).sign(message).to_vec(),
            Alg::RsaSsaPkcs1V15Sha512 => V15::<Sha512>::new(key).sign(message).to_vec(),
            Alg::RsaSsaPssSha256 => Pss::<Sha256>::new(key).sign_with_rng(rng, message).to_vec(),
            Alg::RsaSsaPssSha384 => Pss::<Sha384>::new(key).sign_with_rng(rng, message).to_vec(),
            Alg::RsaSsaPssSha512 => Pss::<Sha512>::new(key).sign_with_rng(rng, message).to_vec(),
            other => panic!("not an RSA algorithm: {other:?}"),
        }
    }

    #[test]
    fn an_rs256_signature_of_a_real_key_verifies_and_a_flipped_byte_does_not() {
        let key = rsa_private(2048);
        let (ours, _) = both(&rsa_jwk_json(key, json!({ "use": "sig", "alg": "RS256" })));
        let mut signature = rsa_sign(key, &Alg::RsaSsaPkcs1V15Sha256, MESSAGE);
        ours.verify_signature(&Alg::RsaSsaPkcs1V15Sha256, MESSAGE, &signature)
            .expect("a good signature verifies");
        signature[100] ^= 0x01;
        let refused = ours.verify_signature(&Alg::RsaSsaPkcs1V15Sha256, MESSAGE, &signature);
        assert!(matches!(
            refused,
            Err(SignatureVerificationError::CryptoError(_))
        ));
    }

    #[test]
    fn a_ps256_signature_verifies() {
        let key = rsa_private(2048);
        let (ours, _) = both(&rsa_jwk_json(key, json!({})));
        let signature = rsa_sign(key, &Alg::RsaSsaPssSha256, MESSAGE);
        ours.verify_signature(&Alg::RsaSsaPssSha256, MESSAGE, &signature)
            .expect("a good PS256 signature verifies");
        // Not a PKCS #1 v1.5 signature, though the key would take one.
        let refused = ours.verify_signature(&Alg::RsaSsaPkcs1V15Sha256, MESSAGE, &signature);
        assert!(matches!(
            refused,
            Err(SignatureVerificationError::CryptoError(_))
        ));
    }

    /// Every RSA algorithm, good and bad signatures, with and without a leading zero byte in
    /// `n`: ring's verdict is `CoreJsonWebKey`'s.
    #[test]
    fn every_rsa_algorithm_gets_the_verdict_of_core_json_web_key() {
        let key = rsa_private(2048);
        let mut padded_n = vec![0u8];
        padded_n.extend(key.to_public_key().n().to_bytes_be());
        let jwks = [
            rsa_jwk_json(key, json!({})),
            rsa_jwk_json(key, json!({ "n": b64(&padded_n) })),
        ];
        for jwk in &jwks {
            let (ours, core) = both(jwk);
            let rsa_algs = PUBLIC_KEY_ALGORITHMS
                .iter()
                .filter(|a| ring_parameters(a).is_some());
            for alg in rsa_algs {
                let good = rsa_sign(key, alg, MESSAGE);
                let mut bad = good.clone();
                bad[7] ^= 0x80;
                let short = &good[..good.len() - 1];
                for (signature, valid) in [(&good[..], true), (&bad[..], false), (short, false)] {
                    let (a, b) = (
                        ours.verify_signature(alg, MESSAGE, signature),
                        core.verify_signature(alg, MESSAGE, signature),
                    );
                    assert_eq!(a.is_ok(), valid, "{alg:?}: ours {a:?}");
                    assert_eq!(b.is_ok(), valid, "{alg:?}: openidconnect's {b:?}");
                    assert_eq!(format!("{a:?}"), format!("{b:?}"), "{alg:?}");
                }
            }
        }
    }

    #[test]
    fn an_ec_key_still_goes_to_core_json_web_key() {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("an EC key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("an EC key");
        let point = pair.public_key().as_ref(); // 0x04 ‖ x ‖ y
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "kid": "ec",
            "x": b64(&point[1..33]), "y": b64(&point[33..]),
        });
        let (ours, core) = both(&jwk);
        assert!(ours.rsa.is_err());
        let signature = pair.sign(&rng, MESSAGE).expect("signed").as_ref().to_vec();
        ours.verify_signature(&Alg::EcdsaP256Sha256, MESSAGE, &signature)
            .expect("a good ES256 signature verifies");
        let mut bad = signature.clone();
        bad[0] ^= 0x01;
        for alg in [Alg::EcdsaP256Sha256, Alg::EcdsaP384Sha384, Alg::EdDsa] {
            assert_eq!(
                format!("{:?}", ours.verify_signature(&alg, MESSAGE, &bad)),
                format!("{:?}", core.verify_signature(&alg, MESSAGE, &bad)),
            );
        }
        // An RSA algorithm with this EC key: the wrong key type, refused.
        let refused = ours.verify_signature(&Alg::RsaSsaPkcs1V15Sha256, MESSAGE, &signature);
        assert!(matches!(
            refused,
            Err(SignatureVerificationError::InvalidKey(ref e)) if e.contains("key type")
        ));
        assert_eq!(
            ours.hash_bytes(b"token", &Alg::EcdsaP256Sha256),
            core.hash_bytes(b"token", &Alg::EcdsaP256Sha256)
        );
        assert_eq!(
            serde_json::to_value(&ours).expect("JSON"),
            serde_json::to_value(&core).expect("JSON")
        );
    }

    #[test]
    fn a_key_for_encryption_or_of_another_alg_is_refused() {
        let key = rsa_private(2048);
        let signature = rsa_sign(key, &Alg::RsaSsaPkcs1V15Sha256, MESSAGE);
        for extra in [
            json!({ "use": "enc" }),
            json!({ "alg": "RS512" }),
            json!({ "alg": "A128GCM" }),
        ] {
            let (ours, core) = both(&rsa_jwk_json(key, extra.clone()));
            let (a, b) = (
                ours.verify_signature(&Alg::RsaSsaPkcs1V15Sha256, MESSAGE, &signature),
                core.verify_signature(&Alg::RsaSsaPkcs1V15Sha256, MESSAGE, &signature),
            );
            assert!(
                matches!(a, Err(SignatureVerificationError::InvalidKey(_))),
                "{extra}"
            );
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{extra}");
        }
        // Without `n`: openidconnect's words.
        let mut jwk = rsa_jwk_json(key, json!({}));
        jwk.as_object_mut().expect("an object").remove("n");
        let (ours, core) = both(&jwk);
        assert_eq!(
            format!(
                "{:?}",
                ours.verify_signature(&Alg::RsaSsaPkcs1V15Sha256, MESSAGE, &signature)
            ),
            format!(
                "{:?}",
                core.verify_signature(&Alg::RsaSsaPkcs1V15Sha256, MESSAGE, &signature)
            ),
        );
    }

    /// The one change of verdict: a 1024-bit key, which the `rsa` crate accepted.
    #[test]
    fn an_rsa_key_under_2048_bits_is_refused() {
        let key = rsa_private(1024);
        let (ours, core) = both(&rsa_jwk_json(key, json!({})));
        let signature = rsa_sign(key, &Alg::RsaSsaPkcs1V15Sha256, MESSAGE);
        assert!(core
            .verify_signature(&Alg::RsaSsaPkcs1V15Sha256, MESSAGE, &signature)
            .is_ok());
        let refused = ours.verify_signature(&Alg::RsaSsaPkcs1V15Sha256, MESSAGE, &signature);
        assert!(matches!(
            refused,
            Err(SignatureVerificationError::InvalidKey(ref e)) if e.contains("under 2048 bits")
        ));
    }

    /// The whole id_token path (openidconnect's verifier, its key selection by `kid` and `alg`,
    /// then our key): a signed token's claims come out; the same signature over other claims
    /// does not.
    #[test]
    fn an_id_token_verifies_through_the_verifier() {
        let key = rsa_private(2048);
        let jwks: Jwks = serde_json::from_value(json!({ "keys": [
            rsa_jwk_json(key, json!({ "use": "sig", "alg": "RS256" })),
            { "kty": "RSA", "kid": "unreadable", "n": 42 },
            { "kty": "weird", "kid": "skipped" },
        ]}))
        .expect("a JWKS");
        assert_eq!(
            jwks.keys().len(),
            2,
            "a key of unknown type is skipped, one with an unreadable `n` kept, as before"
        );
        let now = crate::session::now();
        let token = |sub: &str| {
            let claims = json!({
                "iss": "https://issuer.test", "sub": sub, "aud": "client", "iat": now,
                "exp": now + 600, "nonce": "n",
            });
            format!(
                "{}.{}",
                b64(json!({ "alg": "RS256", "kid": "k1" })
                    .to_string()
                    .as_bytes()),
                b64(claims.to_string().as_bytes())
            )
        };
        let signature = b64(&rsa_sign(
            key,
            &Alg::RsaSsaPkcs1V15Sha256,
            token("ada").as_bytes(),
        ));
        let verifier: Verifier<'_> = Verifier::new_public_client(
            ClientId::new("client".into()),
            IssuerUrl::new("https://issuer.test".into()).expect("issuer"),
            jwks,
        );
        let nonce = Nonce::new("n".into());
        let good: CoreIdToken = format!("{}.{signature}", token("ada"))
            .parse()
            .expect("a JWT");
        let claims = good.claims(&verifier, &nonce).expect("verifies");
        assert_eq!(claims.subject().as_str(), "ada");
        let forged: CoreIdToken = format!("{}.{signature}", token("eve"))
            .parse()
            .expect("a JWT");
        assert!(forged.claims(&verifier, &nonce).is_err());
    }
}
