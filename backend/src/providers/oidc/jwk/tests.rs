//! The RSA checks on ring against `CoreJsonWebKey`'s verdicts, and the whole id_token path.

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
    assert_bad_signature(ours.verify_signature(&Alg::RsaSsaPkcs1V15Sha256, MESSAGE, &signature));
}

#[test]
fn a_ps256_signature_verifies() {
    let key = rsa_private(2048);
    let (ours, _) = both(&rsa_jwk_json(key, json!({})));
    let signature = rsa_sign(key, &Alg::RsaSsaPssSha256, MESSAGE);
    ours.verify_signature(&Alg::RsaSsaPssSha256, MESSAGE, &signature)
        .expect("a good PS256 signature verifies");
    // Not a PKCS #1 v1.5 signature, though the key would take one.
    assert_bad_signature(ours.verify_signature(&Alg::RsaSsaPkcs1V15Sha256, MESSAGE, &signature));
}

fn assert_bad_signature(verdict: Result<(), SignatureVerificationError>) {
    assert!(
        matches!(verdict, Err(SignatureVerificationError::CryptoError(_))),
        "{verdict:?}"
    );
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
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("an EC key");
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
