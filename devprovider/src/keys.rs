//! The provider's RSA signing key, its JWK and RS256 JWT signing.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub struct Key {
    signer: SigningKey<Sha256>,
    /// The RFC 7638 thumbprint, so the kid changes exactly when the key does.
    pub kid: String,
    n: String,
    e: String,
}

/// One key per process: generating RSA 2048 costs far more than a test that starts a provider.
pub fn signing_key() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| {
        let private = RsaPrivateKey::new(&mut OsRng, 2048).expect("RSA 2048 key generation");
        let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(private.e().to_bytes_be());
        // Members in lexicographic order without whitespace, as RFC 7638 §3 requires.
        let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        Key {
            signer: SigningKey::<Sha256>::new(private),
            kid,
            n,
            e,
        }
    })
}

impl Key {
    /// The public key as a JWK Set (RFC 7517 §5).
    pub fn jwks(&self) -> Value {
        json!({
            "keys": [{
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": self.kid,
                "n": self.n,
                "e": self.e,
            }]
        })
    }

    /// A compact JWS (RFC 7515) over `claims`, signed RS256; `typ` names the kind of token
    /// (RFC 8725 §3.11), `JWT` for id tokens.
    pub fn sign_jwt(&self, typ: &str, claims: &Value) -> String {
        let header = json!({ "alg": "RS256", "typ": typ, "kid": self.kid });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.signer.sign(signing_input.as_bytes()).to_bytes();
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// OIDC Core §3.1.3.6: the left half of SHA-256 of the access token, base64url.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}
