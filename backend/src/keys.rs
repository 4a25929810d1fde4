//! Portero's keys: the one that seals provider tokens at rest (rule 8), `session.secret_key`
//! plus `session.previous_keys` for reading what older keys sealed; and the one that signs
//! `X-Portero-Assertion`, `assertion.key` plus `assertion.previous_keys`. Without a configured
//! key (development) one is generated once into the data folder and reused, so development
//! sessions and assertions survive a restart like production ones.

use std::{io::Write, path::Path};

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use crate::{
    assertion::Signer,
    config::{Config, SessionConfig},
    crypto::TokenCipher,
    session::Store,
};

/// The assertion signer of `config`: its key, or the development key beside the data (one for
/// this process with the memory store).
pub fn assertion_signer(config: &Config) -> anyhow::Result<Signer> {
    let assertion = &config.assertion;
    let key = match &assertion.key {
        Some(key) => key.clone(),
        None => match Store::key_file(&config.session.store) {
            Some(path) => development_key(&path.with_file_name("assertion.key"))?,
            None => {
                tracing::info!(
                    "assertion.key is not set: assertions are signed with a key for this process \
                     only (fine with store = \"memory\"; apps fetch /.well-known/jwks.json again)"
                );
                return Ok(Signer::ephemeral());
            }
        },
    };
    Signer::new(&key, &assertion.previous_keys).context("assertion.key")
}

pub fn token_cipher(config: &SessionConfig) -> anyhow::Result<TokenCipher> {
    let current = match &config.secret_key {
        Some(key) => TokenCipher::new(key).context("session.secret_key")?,
        None => match Store::key_file(&config.store) {
            Some(path) => TokenCipher::new(&development_key(&path)?)
                .with_context(|| format!("session.secret_key: the key in {}", path.display()))?,
            None => {
                tracing::warn!(
                    "session.secret_key is not set: using a key for this process only \
                     (fine with store = \"memory\", whose sessions end with the process)"
                );
                TokenCipher::ephemeral()
            }
        },
    };
    current
        .with_previous(&config.previous_keys)
        .context("session.previous_keys")
}

/// Reads the key at `path`, or makes one there (mode 0600) when there is none yet.
pub fn development_key(path: &Path) -> anyhow::Result<SecretString> {
    match read_key(path) {
        Ok(key) => {
            tracing::warn!(
                path = %path.display(),
                "no key is configured: using the development key kept in this file (set \
                 session.secret_key and assertion.key in production)"
            );
            return Ok(key);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    let key = TokenCipher::generate_key();
    match create_private(path) {
        Ok(mut file) => {
            file.write_all(key.expose_secret().as_bytes())
                .and_then(|()| file.write_all(b"\n"))
                .with_context(|| format!("cannot write {}", path.display()))?;
            tracing::warn!(
                path = %path.display(),
                "no key is configured: generated a development key into this file (set \
                 session.secret_key and assertion.key in production; replicas must share them)"
            );
            Ok(key)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key(path).with_context(|| format!("cannot read {}", path.display()))
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

fn read_key(path: &Path) -> std::io::Result<SecretString> {
    let text = std::fs::read_to_string(path)?;
    let key = text.trim();
    if key.is_empty() {
        // Half written by a process that died: not a key.
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the key file is empty; delete it to make a new one",
        ));
    }
    Ok(SecretString::from(key.to_owned()))
}

/// A new file at `path` that only its owner can read; never an existing one.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_private_valid_and_reused() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/tmp")
            .join(format!("keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("data").join("secret.key");
        let first = development_key(&path).unwrap();
        TokenCipher::decode_key(first.expose_secret()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = development_key(&path).unwrap();
        assert_eq!(first.expose_secret(), again.expose_secret());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
