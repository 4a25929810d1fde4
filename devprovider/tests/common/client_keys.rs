//! A stricter client's own keys, as the tests hold them: P-256 (ES256) or RSA (RS256) private
//! keys made afresh, their public JWK, and the JWTs signed with them: client assertions (RFC
//! 7523) and DPoP proofs (RFC 9449). Included with `#[path]` by the crates that need them.

#![allow(dead_code)] // Each test crate uses its own subset.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub struct ClientKey {
    key: EncodingKey,
    pub alg: Algorithm,
    jwk: Jwk,
}

impl ClientKey {
    /// A new P-256 key, for ES256.
    pub fn es256() -> ClientKey {
        use p256::pkcs8::EncodePrivateKey;
        let secret = loop {
            let mut bytes = [0u8; 32];
            OsRng.fill_bytes(&mut bytes);
            // Almost every 32 bytes are a valid scalar; the rest are drawn again.
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                break secret;
            }
        };
        let der = secret.to_pkcs8_der().expect("PKCS#8 encoding");
        ClientKey::new(EncodingKey::from_ec_der(der.as_bytes()), Algorithm::ES256)
    }

    /// A new RSA 2048 key, for RS256.
    pub fn rs256() -> ClientKey {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let private = rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("RSA key generation");
        let der = private.to_pkcs1_der().expect("PKCS#1 encoding");
        ClientKey::new(EncodingKey::from_rsa_der(der.as_bytes()), Algorithm::RS256)
    }

    fn new(key: EncodingKey, alg: Algorithm) -> ClientKey {
        let mut jwk = Jwk::from_encoding_key(&key, alg).expect("a public JWK");
        jwk.common.key_id = Some(jose_random());
        ClientKey { key, alg, jwk }
    }

    /// The public key as a JWK, with its `kid`.
    pub fn public_jwk(&self) -> Value {
        serde_json::to_value(&self.jwk).unwrap()
    }

    pub fn kid(&self) -> String {
        self.jwk.common.key_id.clone().unwrap()
    }

    /// A JWK Set of this key alone, as a client registers it.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.public_jwk()] })
    }

    /// RFC 7638: what `cnf.jkt` and `dpop_jkt` name.
    pub fn thumbprint(&self) -> String {
        self.jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
    }

    fn alg_name(&self) -> &'static str {
        match self.alg {
            Algorithm::ES256 => "ES256",
            _ => "RS256",
        }
    }

    /// A compact JWS of exactly this header and these claims.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &self.key, self.alg).expect("signing");
        format!("{message}.{signature}")
    }

    /// A client assertion for `client_id` with these claims changed (a null removes one).
    pub fn assertion_with(&self, client_id: &str, aud: &str, changes: Value) -> String {
        let now = unix_now();
        let mut claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": aud,
            "iat": now,
            "exp": now + 60,
            "jti": jose_random(),
        });
        apply(&mut claims, changes);
        let header = json!({ "alg": self.alg_name(), "typ": "JWT", "kid": self.kid() });
        self.sign(&header, &claims)
    }

    /// The assertion a client sends to `aud` (the token endpoint's URL, or the issuer).
    pub fn assertion(&self, client_id: &str, aud: &str) -> String {
        self.assertion_with(client_id, aud, json!({}))
    }

    /// A DPoP proof for `method` `url`, hashing `access_token` when given, with `nonce`.
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> String {
        let mut changes = json!({});
        if let Some(token) = access_token {
            changes["ath"] = json!(ath(token));
        }
        if let Some(nonce) = nonce {
            changes["nonce"] = json!(nonce);
        }
        self.proof_with(method, url, json!({}), changes)
    }

    /// A DPoP proof with header members and claims changed (a null removes one).
    pub fn proof_with(
        &self,
        method: &str,
        url: &str,
        header_changes: Value,
        changes: Value,
    ) -> String {
        let mut header = json!({
            "typ": "dpop+jwt",
            "alg": self.alg_name(),
            "jwk": public_only(self.public_jwk()),
        });
        apply(&mut header, header_changes);
        let mut claims = json!({
            "jti": jose_random(),
            "htm": method,
            "htu": url,
            "iat": unix_now(),
        });
        apply(&mut claims, changes);
        self.sign(&header, &claims)
    }
}

/// A proof's `jwk` carries the key alone, without `kid` or `alg`.
fn public_only(mut jwk: Value) -> Value {
    for member in ["kid", "alg"] {
        jwk.as_object_mut().unwrap().remove(member);
    }
    jwk
}

/// Sets each member of `changes` in `target`; a null removes it.
fn apply(target: &mut Value, changes: Value) {
    let target = target.as_object_mut().unwrap();
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            target.remove(name);
        } else {
            target.insert(name.clone(), value.clone());
        }
    }
}

/// `ath`: base64url SHA-256 of the access token.
pub fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// 128 random bits, base64url: a `jti` or `kid`.
pub fn jose_random() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
