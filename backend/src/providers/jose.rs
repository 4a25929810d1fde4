//! What Portero signs as a stricter client, and with which keys: client assertions
//! (`private_key_jwt`, RFC 7523 §2.2 and OpenID Connect Core §9) with the configured client key,
//! EC P-256 (ES256) or RSA (RS256); DPoP proofs (RFC 9449 §4.2) with each session's own P-256
//! key. jsonwebtoken signs and builds the public JWKs; p256 reads the EC keys jsonwebtoken does
//! not (SEC1, `BEGIN EC PRIVATE KEY`, what `openssl ecparam -genkey` writes).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{
    jwk::{Jwk, ThumbprintHash},
    Algorithm, EncodingKey, Header,
};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A client assertion lives this long: RFC 7523 §3 asks for a short `exp`, and it is sent at
/// once.
pub const ASSERTION_LIFETIME_SECS: i64 = 60;

/// RSA keys shorter than this are refused (NIST SP 800-131A; ring refuses them too).
const MIN_RSA_BITS: usize = 2048;

/// `client_assertion_type` of RFC 7523 §2.2.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A new P-256 private key, from the thread's CSPRNG (seeded by the operating system).
fn random_p256() -> p256::SecretKey {
    loop {
        // Almost every 32 random bytes are a valid P-256 scalar; the others are drawn again.
        if let Ok(key) = p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
            return key;
        }
    }
}

/// A fresh, unguessable `jti`.
fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>())
}

/// The private key of `client_key_file`, ready to sign client assertions. Its `Debug` shows the
/// algorithm and the key id, never the key.
#[derive(Clone)]
pub struct ClientKey {
    key: EncodingKey,
    alg: Algorithm,
    /// The public key, with `kid` (its RFC 7638 thumbprint), `use` and `alg`.
    public: Value,
    kid: String,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientKey({:?}, kid {})", self.alg, self.kid)
    }
}

impl ClientKey {
    /// Reads a PEM private key: EC P-256 (PKCS#8 or SEC1) or RSA of 2048 bits or more (PKCS#8
    /// or PKCS#1). The error says what the file holds instead.
    pub fn from_pem(text: &str) -> Result<ClientKey, String> {
        let label = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
            .ok_or("is not a PEM file (no \"-----BEGIN …-----\" line)")?;
        match label {
            "EC PRIVATE KEY" => {
                let key = p256::SecretKey::from_sec1_pem(text).map_err(|_| {
                    "is an EC key, but not one on P-256 (prime256v1), or it is damaged"
                })?;
                Self::p256(&key)
            }
            "PRIVATE KEY" => match p256::SecretKey::from_pkcs8_pem(text) {
                Ok(key) => Self::p256(&key),
                Err(_) => Self::rsa(text.as_bytes()).map_err(|_| {
                    "is neither an EC P-256 nor an RSA private key (or it is damaged)".to_owned()
                }),
            },
            "RSA PRIVATE KEY" => Self::rsa(text.as_bytes()),
            "ENCRYPTED PRIVATE KEY" => Err(
                "is encrypted: give the key unencrypted, in a file only Portero can read".into(),
            ),
            label if label.contains("PUBLIC KEY") || label == "CERTIFICATE" => Err(format!(
                "holds a {label}: give the private key (the provider gets the public one)"
            )),
            label => Err(format!(
                "holds a {label}, not an EC P-256 or RSA private key"
            )),
        }
    }

    /// A new P-256 key, and its PKCS#8 PEM for `client_key_file` (`portero --new-client-key`).
    pub fn generate() -> (String, ClientKey) {
        let secret = random_p256();
        let pem = secret
            .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
            .expect("a P-256 key encodes")
            .to_string();
        let key = Self::p256(&secret).expect("a new P-256 key signs");
        (pem, key)
    }

    /// A new P-256 key, written as PKCS#8 PEM to a new file at `path` that only its owner can
    /// read (never over an existing file): what `portero --new-client-key FILE` does.
    pub fn write_new(path: &std::path::Path) -> std::io::Result<ClientKey> {
        let (pem, key) = Self::generate();
        let mut file = crate::keys::create_private(path)?;
        std::io::Write::write_all(&mut file, pem.as_bytes())?;
        Ok(key)
    }

    fn p256(key: &p256::SecretKey) -> Result<ClientKey, String> {
        let der = key
            .to_pkcs8_der()
            .map_err(|e| format!("cannot be encoded again ({e})"))?;
        Self::new(EncodingKey::from_ec_der(der.as_bytes()), Algorithm::ES256)
    }

    fn rsa(pem: &[u8]) -> Result<ClientKey, String> {
        let key = EncodingKey::from_rsa_pem(pem)
            .map_err(|e| format!("is not a readable RSA private key ({e})"))?;
        let key = Self::new(key, Algorithm::RS256)?;
        let modulus = key.public["n"].as_str().unwrap_or_default();
        let bits = URL_SAFE_NO_PAD.decode(modulus).map_or(0, |n| {
            n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize)
        });
        if bits < MIN_RSA_BITS {
            return Err(format!(
                "is an RSA key of {bits} bits; use {MIN_RSA_BITS} bits or more"
            ));
        }
        Ok(key)
    }

    fn new(key: EncodingKey, alg: Algorithm) -> Result<ClientKey, String> {
        let jwk = Jwk::from_encoding_key(&key, alg)
            .map_err(|e| format!("is not a usable private key ({e})"))?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| format!("has no thumbprint ({e})"))?;
        let mut public = serde_json::to_value(&jwk).expect("a JWK serialises");
        public["kid"] = json!(kid);
        public["use"] = json!("sig");
        Ok(ClientKey {
            key,
            alg,
            public,
            kid,
        })
    }

    /// The public key as a JWK (`kid`, `use: sig`, `alg`): what the provider registers.
    pub fn public_jwk(&self) -> &Value {
        &self.public
    }

    /// A JWK Set of the public key alone: what a `jwks_uri` answers, or what is pasted.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.public] })
    }

    /// A client assertion (RFC 7523 §3): `iss` = `sub` = the client id, `aud` = `audience`, a
    /// fresh `jti`, and `exp` [`ASSERTION_LIFETIME_SECS`] away.
    pub(crate) fn assertion(&self, client_id: &str, audience: &str) -> String {
        let now = crate::session::now();
        let claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "jti": random_id(),
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let header = Header {
            typ: Some("JWT".into()),
            kid: Some(self.kid.clone()),
            ..Header::new(self.alg)
        };
        jsonwebtoken::encode(&header, &claims, &self.key).expect("a key that made its JWK signs")
    }
}

/// A session's DPoP key (RFC 9449): a P-256 private scalar, base64url, kept in the session's
/// record beside the tokens it binds (sealed with them, rule 22), like `IdToken` a plain string
/// whose `Debug` prints nothing.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DpopKey(String);

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DpopKey([redacted])")
    }
}

/// A DPoP key ready to sign: the private key and its public JWK.
struct DpopSigner {
    key: EncodingKey,
    jwk: Jwk,
}

impl DpopKey {
    /// A new key, for a new session.
    pub fn generate() -> DpopKey {
        DpopKey(URL_SAFE_NO_PAD.encode(random_p256().to_bytes()))
    }

    fn signer(&self) -> Result<DpopSigner, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(&self.0)
            .map_err(|_| "the session's DPoP key is not base64url")?;
        let der = p256::SecretKey::from_slice(&bytes)
            .and_then(|k| k.to_pkcs8_der().map_err(|_| p256::elliptic_curve::Error))
            .map_err(|_| "the session's DPoP key is not a P-256 key")?;
        let key = EncodingKey::from_ec_der(der.as_bytes());
        let jwk = Jwk::from_encoding_key(&key, Algorithm::ES256)
            .map_err(|e| format!("the session's DPoP key has no public key ({e})"))?;
        Ok(DpopSigner { key, jwk })
    }

    /// The RFC 7638 thumbprint of the public key: what a bound token's `cnf.jkt` names.
    pub fn thumbprint(&self) -> Result<String, String> {
        self.signer()?
            .jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| e.to_string())
    }

    /// A proof (RFC 9449 §4.2) for a `method` request to `url` (its query and fragment left
    /// out, §4.2's `htu`), with `ath` when an access token goes along and the server's `nonce`
    /// when it gave one.
    pub fn proof(
        &self,
        method: &str,
        url: &url::Url,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String, String> {
        let DpopSigner { key, jwk } = self.signer()?;
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let mut claims = json!({
            "jti": random_id(),
            "htm": method,
            "htu": htu.as_str(),
            "iat": crate::session::now(),
        });
        if let Some(token) = access_token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let header = Header {
            typ: Some("dpop+jwt".into()),
            jwk: Some(jwk),
            ..Header::new(Algorithm::ES256)
        };
        jsonwebtoken::encode(&header, &claims, &key).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(jwt: &str, index: usize) -> Value {
        let bytes = URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(index).unwrap())
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn p256_pem() -> String {
        use p256::pkcs8::LineEnding;
        let key = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
    }

    #[test]
    fn an_assertion_names_the_client_twice_the_audience_once_and_lives_a_minute() {
        let key = ClientKey::from_pem(&p256_pem()).unwrap();
        let jwt = key.assertion("corp-client", "https://idp.example/token");
        let (header, claims) = (part(&jwt, 0), part(&jwt, 1));
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], key.public_jwk()["kid"]);
        assert_eq!(claims["iss"], "corp-client");
        assert_eq!(claims["sub"], "corp-client");
        assert_eq!(claims["aud"], "https://idp.example/token");
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert!(lifetime > 0 && lifetime <= 60, "{lifetime}");
        let again = key.assertion("corp-client", "https://idp.example/token");
        assert_ne!(
            part(&again, 1)["jti"],
            claims["jti"],
            "a fresh jti each time"
        );
    }

    #[test]
    fn the_public_jwk_has_no_private_member() {
        let key = ClientKey::from_pem(&p256_pem()).unwrap();
        let jwk = key.public_jwk();
        assert_eq!(
            (jwk["kty"].as_str(), jwk["crv"].as_str()),
            (Some("EC"), Some("P-256"))
        );
        assert!(jwk.get("d").is_none(), "{jwk}");
        assert!(!format!("{key:?}").contains(&jwk["x"].to_string()));
    }

    #[test]
    fn sec1_keys_read_like_pkcs8_ones() {
        let key = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let sec1 = key.to_sec1_pem(p256::pkcs8::LineEnding::LF).unwrap();
        let from_sec1 = ClientKey::from_pem(&sec1).unwrap();
        let from_pkcs8 = ClientKey::from_pem(&p256_pem()).unwrap();
        assert_eq!(from_sec1.public_jwk(), from_pkcs8.public_jwk());
    }

    #[test]
    fn what_is_not_a_private_key_is_named() {
        let cases = [
            ("hello", "not a PEM file"),
            (
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                "give the private key",
            ),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
                "encrypted",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "neither an EC P-256 nor an RSA",
            ),
        ];
        for (pem, why) in cases {
            let error = ClientKey::from_pem(pem).unwrap_err();
            assert!(error.contains(why), "{pem}: {error}");
        }
    }

    #[test]
    fn a_proof_names_the_request_without_its_query_and_hashes_the_token() {
        let key = DpopKey::generate();
        let url = url::Url::parse("https://idp.example/userinfo?x=1#f").unwrap();
        let proof = key.proof("GET", &url, Some("at-1"), Some("n-1")).unwrap();
        let (header, claims) = (part(&proof, 0), part(&proof, 1));
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert!(header["jwk"].get("d").is_none());
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], "https://idp.example/userinfo");
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(
            claims["ath"],
            URL_SAFE_NO_PAD.encode(Sha256::digest(b"at-1")).as_str()
        );
        let again = key.proof("GET", &url, None, None).unwrap();
        assert_ne!(part(&again, 1)["jti"], claims["jti"]);
        assert!(part(&again, 1).get("ath").is_none());
    }

    #[test]
    fn a_dpop_key_survives_the_record_and_prints_nothing() {
        let key = DpopKey::generate();
        let stored = serde_json::to_string(&key).unwrap();
        let read: DpopKey = serde_json::from_str(&stored).unwrap();
        assert_eq!(read.thumbprint().unwrap(), key.thumbprint().unwrap());
        assert_eq!(format!("{key:?}"), "DpopKey([redacted])");
        assert_ne!(DpopKey::generate().thumbprint(), key.thumbprint());
    }
}
