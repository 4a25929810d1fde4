//! Provider tokens at rest are sealed with an AEAD (DESIGN.md, rule 8): whoever reads the session
//! store, a backup or a memory dump of it, gets no usable token without the key.

use base64::{engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chacha20poly1305::{
    aead::{Aead, Generate, Key, KeyInit},
    XChaCha20Poly1305, XNonce,
};
use secrecy::{ExposeSecret, SecretString};

/// 256 random bits, URL-safe base64: bindings and handles that must not be guessed.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// Format tag of sealed values, so a future format can be told apart.
const VERSION: &str = "v1";
const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error(
        "the secret key must be base64 for exactly 32 random bytes (make one with \
         `head -c 32 /dev/urandom | base64`)"
    )]
    BadKey,
    #[error("a stored value could not be decrypted with the configured key")]
    Unreadable,
}

/// Seals and opens values with XChaCha20-Poly1305 (random 192-bit nonces, so no counter to
/// keep across replicas). Sealing always uses the current key; opening also tries the previous
/// keys (`session.previous_keys`), so the key rotates without logging anyone out.
#[derive(Clone)]
pub struct TokenCipher {
    aead: XChaCha20Poly1305,
    previous: Vec<XChaCha20Poly1305>,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher(..)")
    }
}

impl TokenCipher {
    pub fn new(key: &SecretString) -> Result<Self, CryptoError> {
        Ok(TokenCipher {
            aead: Self::aead(key)?,
            previous: Vec::new(),
        })
    }

    fn aead(key: &SecretString) -> Result<XChaCha20Poly1305, CryptoError> {
        let bytes = Self::decode_key(key.expose_secret())?;
        XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| CryptoError::BadKey)
    }

    /// Also opens what `keys` sealed (tried in order after the current key).
    pub fn with_previous(mut self, keys: &[SecretString]) -> Result<Self, CryptoError> {
        for key in keys {
            self.previous.push(Self::aead(key)?);
        }
        Ok(self)
    }

    /// A key for this process only: what was sealed with it cannot be read after a restart.
    pub fn ephemeral() -> Self {
        TokenCipher {
            aead: XChaCha20Poly1305::new(&Key::<XChaCha20Poly1305>::generate()),
            previous: Vec::new(),
        }
    }

    /// A fresh random key, base64 as `session.secret_key` takes it.
    pub fn generate_key() -> SecretString {
        SecretString::from(STANDARD.encode(Key::<XChaCha20Poly1305>::generate()))
    }

    pub fn decode_key(encoded: &str) -> Result<Vec<u8>, CryptoError> {
        let bytes = STANDARD
            .decode(encoded.trim())
            .or_else(|_| URL_SAFE_NO_PAD.decode(encoded.trim()))
            .map_err(|_| CryptoError::BadKey)?;
        // Exactly: a longer value would be cut without a word, and most passphrases typed as
        // "base64" decode to some other length.
        if bytes.len() != KEY_LEN {
            return Err(CryptoError::BadKey);
        }
        Ok(bytes)
    }

    /// `associated` binds the sealed value to its context (the session's user), so a sealed
    /// blob copied into another record does not open there.
    pub fn seal(&self, plaintext: &[u8], associated: &[u8]) -> String {
        let nonce = XNonce::generate();
        let sealed = self
            .aead
            .encrypt(
                &nonce,
                chacha20poly1305::aead::Payload {
                    msg: plaintext,
                    aad: associated,
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        format!(
            "{VERSION}.{}.{}",
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(sealed)
        )
    }

    pub fn open(&self, sealed: &str, associated: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut parts = sealed.split('.');
        let (Some(VERSION), Some(nonce), Some(body), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Unreadable);
        };
        let nonce = URL_SAFE_NO_PAD
            .decode(nonce)
            .map_err(|_| CryptoError::Unreadable)?;
        let body = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| CryptoError::Unreadable)?;
        let nonce = XNonce::try_from(nonce.as_slice()).map_err(|_| CryptoError::Unreadable)?;
        std::iter::once(&self.aead)
            .chain(&self.previous)
            .find_map(|aead| {
                aead.decrypt(
                    &nonce,
                    chacha20poly1305::aead::Payload {
                        msg: &body,
                        aad: associated,
                    },
                )
                .ok()
            })
            .ok_or(CryptoError::Unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretString {
        SecretString::from(STANDARD.encode([byte; 32]))
    }

    #[test]
    fn sealed_values_open_with_the_same_key_and_context_only() {
        let cipher = TokenCipher::new(&key(1)).unwrap();
        let sealed = cipher.seal(b"gho_secret_token", b"alice");
        assert!(!sealed.contains("gho_secret_token"));
        assert_eq!(cipher.open(&sealed, b"alice").unwrap(), b"gho_secret_token");
        assert!(cipher.open(&sealed, b"mallory").is_err());
        let other = TokenCipher::new(&key(2)).unwrap();
        assert!(other.open(&sealed, b"alice").is_err());
    }

    #[test]
    fn previous_keys_open_old_values_and_new_values_use_the_current_key() {
        let old = TokenCipher::new(&key(1)).unwrap();
        let sealed_before = old.seal(b"token", b"alice");
        let rotated = TokenCipher::new(&key(2))
            .unwrap()
            .with_previous(&[key(1)])
            .unwrap();
        assert_eq!(rotated.open(&sealed_before, b"alice").unwrap(), b"token");
        let sealed_after = rotated.seal(b"token", b"alice");
        assert!(
            old.open(&sealed_after, b"alice").is_err(),
            "sealed with the new key"
        );
        let new_only = TokenCipher::new(&key(2)).unwrap();
        assert!(new_only.open(&sealed_before, b"alice").is_err());
        assert_eq!(new_only.open(&sealed_after, b"alice").unwrap(), b"token");
    }

    #[test]
    fn tampered_or_malformed_values_are_refused() {
        let cipher = TokenCipher::new(&key(1)).unwrap();
        let sealed = cipher.seal(b"x", b"");
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        for bad in [tampered.as_str(), "", "v1.", "v2.aaaa.bbbb", "v1.a.b.c"] {
            assert!(cipher.open(bad, b"").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn short_long_or_non_base64_keys_are_refused() {
        assert!(TokenCipher::decode_key(&STANDARD.encode([0u8; 16])).is_err());
        assert!(TokenCipher::decode_key(&STANDARD.encode([0u8; 33])).is_err());
        // A passphrase that happens to be base64 decodes to another length.
        assert!(TokenCipher::decode_key("correcthorsebatterystaplecorrecthorsebattery").is_err());
        assert!(TokenCipher::decode_key("not base64 !!").is_err());
    }
}
