//! What Portero keeps at rest is sealed with an AEAD (docs/design.md, rules 8 and 22): whoever reads the
//! session store, a backup or a memory dump of it, gets no usable token without the key, and
//! whoever writes it cannot change or move a sealed value without the seal breaking. The same key
//! also makes the keyed hashes the store's index is written in, so the index names no one.

use base64::{engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chacha20poly1305::{
    aead::{Aead, Generate, Key, KeyInit},
    XChaCha20Poly1305, XNonce,
};
use ring::hmac;
use secrecy::{ExposeSecret, SecretString};

/// 256 random bits, URL-safe base64: bindings and handles that must not be guessed.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// Format tag of sealed values, so a future format can be told apart. `v2` names the key that
/// sealed (`v2.{key id}.{nonce}.{sealed}`); `v1` values, which did not, are no longer read.
const VERSION: &str = "v2";
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
    /// Sealed under a key that is neither `secret_key` nor one of `previous_keys`.
    #[error("a stored value was sealed with a key that is no longer configured")]
    UnknownKey,
}

/// One key, and what is derived from it: its id (in every value it seals, so that opening tries
/// one key, and a value of a key no longer configured is told apart from a forged one) and its
/// index key (the keyed hashes of `index_hashes`).
#[derive(Clone)]
struct SealingKey {
    id: String,
    aead: XChaCha20Poly1305,
    index: hmac::Key,
}

impl SealingKey {
    fn new(bytes: &[u8]) -> Result<Self, CryptoError> {
        let derive = |label: &[u8]| hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, bytes), label);
        Ok(SealingKey {
            id: URL_SAFE_NO_PAD.encode(&derive(b"portero key id").as_ref()[..6]),
            aead: XChaCha20Poly1305::new_from_slice(bytes).map_err(|_| CryptoError::BadKey)?,
            index: hmac::Key::new(hmac::HMAC_SHA256, derive(b"portero index key").as_ref()),
        })
    }
}

/// Seals and opens values with XChaCha20-Poly1305 (random 192-bit nonces, so no counter to
/// keep across replicas). Sealing always uses the current key; opening also uses the previous
/// keys (`session.previous_keys`), so the key rotates without logging anyone out.
#[derive(Clone)]
pub struct TokenCipher {
    current: SealingKey,
    previous: Vec<SealingKey>,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher(..)")
    }
}

impl TokenCipher {
    pub fn new(key: &SecretString) -> Result<Self, CryptoError> {
        Ok(TokenCipher {
            current: Self::key(key)?,
            previous: Vec::new(),
        })
    }

    fn key(key: &SecretString) -> Result<SealingKey, CryptoError> {
        SealingKey::new(&Self::decode_key(key.expose_secret())?)
    }

    /// Also opens what `keys` sealed, and finds what the index holds under their hashes.
    pub fn with_previous(mut self, keys: &[SecretString]) -> Result<Self, CryptoError> {
        for key in keys {
            self.previous.push(Self::key(key)?);
        }
        Ok(self)
    }

    /// A key for this process only: what was sealed with it cannot be read after a restart.
    pub fn ephemeral() -> Self {
        let key = Key::<XChaCha20Poly1305>::generate();
        TokenCipher {
            current: SealingKey::new(&key).expect("a generated key has the right length"),
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

    /// `associated` binds the sealed value to its context (the record's key in the store), so a
    /// sealed value copied under another key does not open there.
    pub fn seal(&self, plaintext: &[u8], associated: &[u8]) -> String {
        let nonce = XNonce::generate();
        let sealed = self
            .current
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
            "{VERSION}.{}.{}.{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(sealed)
        )
    }

    /// The plaintext of `sealed`, if it was sealed with `associated` by one of the configured
    /// keys; [`CryptoError::UnknownKey`] when it names none of them.
    pub fn open(&self, sealed: &str, associated: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut parts = sealed.split('.');
        let (Some(VERSION), Some(id), Some(nonce), Some(body), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(CryptoError::Unreadable);
        };
        let key = self
            .keys()
            .find(|key| key.id == id)
            .ok_or(CryptoError::UnknownKey)?;
        let nonce = URL_SAFE_NO_PAD
            .decode(nonce)
            .map_err(|_| CryptoError::Unreadable)?;
        let body = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| CryptoError::Unreadable)?;
        let nonce = XNonce::try_from(nonce.as_slice()).map_err(|_| CryptoError::Unreadable)?;
        key.aead
            .decrypt(
                &nonce,
                chacha20poly1305::aead::Payload {
                    msg: &body,
                    aad: associated,
                },
            )
            .map_err(|_| CryptoError::Unreadable)
    }

    /// `value`'s keyed hash (HMAC-SHA-256, 128 bits in hex) under each configured key, the
    /// current key's first: what the store's index holds instead of `value`, so that a reader
    /// of the store learns no name from it, while a record written before a rotation is still
    /// found under the previous key's hash.
    pub fn index_hashes(&self, value: &str) -> Vec<String> {
        self.keys()
            .map(|key| {
                hmac::sign(&key.index, value.as_bytes()).as_ref()[..16]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            })
            .collect()
    }

    /// `value`'s keyed hash under the current key: what a record is indexed by when written.
    pub fn index_hash(&self, value: &str) -> String {
        self.index_hashes(value).swap_remove(0)
    }

    fn keys(&self) -> impl Iterator<Item = &SealingKey> {
        std::iter::once(&self.current).chain(&self.previous)
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
        assert!(matches!(
            new_only.open(&sealed_before, b"alice"),
            Err(CryptoError::UnknownKey)
        ));
        assert_eq!(new_only.open(&sealed_after, b"alice").unwrap(), b"token");
    }

    #[test]
    fn index_hashes_name_no_one_and_are_found_under_the_previous_key_after_a_rotation() {
        let old = TokenCipher::new(&key(1)).unwrap();
        let rotated = TokenCipher::new(&key(2))
            .unwrap()
            .with_previous(&[key(1)])
            .unwrap();
        let hash = old.index_hash("github\n42");
        assert_eq!(hash.len(), 32);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()) && !hash.contains("github"));
        assert_eq!(
            hash,
            old.index_hash("github\n42"),
            "the same value, the same hash"
        );
        assert_ne!(hash, old.index_hash("github\n43"));
        let both = rotated.index_hashes("github\n42");
        assert_eq!(both.len(), 2);
        assert_ne!(both[0], hash, "another key, another hash");
        assert_eq!(both[1], hash, "the previous key's hash is still looked up");
    }

    #[test]
    fn tampered_or_malformed_values_are_refused() {
        let cipher = TokenCipher::new(&key(1)).unwrap();
        let sealed = cipher.seal(b"x", b"");
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        let old_format = sealed.replacen(&format!("v2.{}.", cipher.current.id), "v1.", 1);
        for bad in [
            tampered.as_str(),
            "",
            "v1.",
            "v3.aaaa.bbbb.cccc",
            "v2.a.b.c.d",
            old_format.as_str(),
        ] {
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
