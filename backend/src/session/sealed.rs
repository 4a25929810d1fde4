//! Session records sealed whole (docs/design.md, rule 22): what tower-sessions keeps of a session
//! — the person, the provider, the tokens, the login time, the facts of the login, when it was
//! last seen, when it expires — is one AEAD-sealed value under the session key (`crypto.rs`,
//! with its key rotation), whose associated data is the record's key in the store. The store
//! keeps that value, its expiry (for its own cleaning) and keyed hashes of the person and of the
//! provider's session (its index); it can read none of them.
//!
//! Every load opens the record, `/api/me` and `/api/auth` included. A record changed in place,
//! or copied under another key, does not open: it is refused as if absent (401 `not_logged_in`),
//! and the store goes on serving every other record. The sealed expiry is the one that counts:
//! a store writer who moves the store's own expiry (or the login time, or `touched_at`, all
//! inside the seal) does not make a session live longer.

use std::{collections::HashMap, sync::Arc};

use serde::{Deserialize, Serialize};
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};

use super::{
    record::AUTH_KEY,
    store::{now_millis, Entry, Key, Store, Unavailable},
    LoginRecord,
};
use crate::crypto::{CryptoError, TokenCipher};
pub use opened::Copy;
use opened::Opened;

/// Where a loaded session says its record was sealed under a key no longer configured (a key
/// rotated without `previous_keys`): the session ends with 401 `session_expired`
/// (`life::logged_in`) rather than looking as if it never was.
pub(crate) const KEY_LOST: &str = "sealed_under_a_lost_key";

/// What is sealed: everything tower-sessions keeps of a session but its id (which is never
/// stored, rule 12).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Contents {
    pub data: HashMap<String, serde_json::Value>,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
}

impl Contents {
    /// The logged-in record, if the session is logged in.
    pub fn record(&self) -> Option<LoginRecord> {
        serde_json::from_value(self.data.get(AUTH_KEY)?.clone()).ok()
    }

    pub fn set_record(&mut self, record: &LoginRecord) {
        let value = serde_json::to_value(record).expect("a record serialises");
        self.data.insert(AUTH_KEY.to_owned(), value);
    }

    pub fn get_i64(&self, name: &str) -> Option<i64> {
        self.data.get(name)?.as_i64()
    }
}

/// Why a stored value is not a record.
enum Unopened {
    KeyLost,
    Refused,
}

/// The session store as tower-sessions and the session module see it: [`Store`] with every
/// record sealed on its way in and opened on its way out.
#[derive(Clone, Debug)]
pub struct SealedStore {
    store: Store,
    cipher: TokenCipher,
    opened: Arc<Opened>,
}

impl SealedStore {
    pub fn new(store: Store, cipher: TokenCipher) -> Self {
        SealedStore {
            store,
            cipher,
            opened: Arc::default(),
        }
    }

    /// What the sealed value is bound to: its place in the store.
    fn associated(key: &Key) -> Vec<u8> {
        [b"portero session record\0".as_slice(), key.bytes()].concat()
    }

    fn person(provider: &str, subject: &str) -> String {
        format!("person\n{provider}\n{subject}")
    }

    fn provider_session(provider: &str, sid: &str) -> String {
        format!("sid\n{provider}\n{sid}")
    }

    /// What the store keeps of `contents` under `key`.
    pub fn seal(&self, key: &Key, contents: &Contents) -> Entry {
        let plain = serde_json::to_vec(contents).expect("a record serialises");
        let auth = contents.record();
        let index = |name: Option<String>| name.map(|name| self.cipher.index_hash(&name));
        Entry {
            value: self.cipher.seal(&plain, &Self::associated(key)),
            expires_at: contents.expires_at,
            person: index(
                auth.as_ref()
                    .map(|a| Self::person(&a.user.provider, &a.user.subject)),
            ),
            sid: index(auth.as_ref().and_then(|a| {
                a.sid
                    .as_ref()
                    .map(|sid| Self::provider_session(&a.user.provider, sid))
            })),
        }
    }

    /// The record sealed as `value` under `key`, decrypted and parsed, whatever its expiry.
    fn decrypt(&self, key: &Key, value: &str) -> Result<Contents, Unopened> {
        let plain = self
            .cipher
            .open(value, &Self::associated(key))
            .map_err(|e| match e {
                CryptoError::UnknownKey => Unopened::KeyLost,
                _ => Unopened::Refused,
            })?;
        serde_json::from_slice(&plain).map_err(|_| Unopened::Refused)
    }

    /// The record in `value`, stored under `key`: `None` once its sealed expiry has passed.
    fn open(&self, key: &Key, value: &str) -> Result<Option<Contents>, Unopened> {
        let contents = self.decrypt(key, value)?;
        self.opened.keep(key, value, &contents);
        Ok((contents.expires_at > now_millis()).then_some(contents))
    }

    /// The logged-in record of the session under `key` as this process keeps it
    /// (`sealed/opened.rs`), if it is there, opens, and has not expired; `None` for anything
    /// else, which the session layer's own load then meets (and logs).
    pub async fn opened(&self, key: &Key) -> Result<Option<Arc<Copy>>, Unavailable> {
        let Some(value) = self.store.get(key).await? else {
            return Ok(None);
        };
        let copy = match self.opened.get(key, &value) {
            Some(copy) => Some(copy),
            None => match self.decrypt(key, &value) {
                Ok(contents) => self.opened.keep(key, &value, &contents),
                Err(_) => None,
            },
        };
        Ok(copy.filter(|copy| copy.expires_at > now_millis()))
    }

    /// The record in `value` if it opens under `key` and has not expired.
    pub fn open_value(&self, key: &Key, value: &str) -> Option<Contents> {
        self.open(key, value).unwrap_or(None)
    }

    /// The record under `key` as [`SealedStore::open`] finds it, the refusals logged.
    async fn load_key(&self, key: &Key) -> Result<Result<Option<Contents>, Unopened>, Unavailable> {
        let Some(value) = self.store.get(key).await? else {
            return Ok(Ok(None));
        };
        let opened = self.open(key, &value);
        match &opened {
            Err(Unopened::Refused) => tracing::warn!(
                "a session record was refused: it does not open under its key (changed or moved \
                 by someone who can write the store)"
            ),
            Err(Unopened::KeyLost) => tracing::warn!(
                "a session record was sealed with a key that is no longer configured \
                 (session.previous_keys): its session ends"
            ),
            Ok(_) => {}
        }
        Ok(opened)
    }

    /// The record of the session under `key`, if it is there, opens, and has not expired.
    pub async fn read(&self, key: &Key) -> Result<Option<Contents>, Unavailable> {
        Ok(self.load_key(key).await?.unwrap_or(None))
    }

    /// Replaces the record under `key` if that session is still there; false when it ended.
    pub async fn write(&self, key: &Key, contents: &Contents) -> Result<bool, Unavailable> {
        let entry = self.seal(key, contents);
        let written = self.store.update(key, &entry).await?;
        if written {
            self.opened.keep(key, &entry.value, contents);
        }
        Ok(written)
    }

    /// Ends the session under `key`.
    pub async fn remove(&self, key: &Key) -> Result<(), Unavailable> {
        self.opened.forget(key);
        self.store.remove(key).await
    }

    /// Every unexpired, logged-in session of `provider`'s person `subject`.
    pub async fn of_person(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Vec<Found>, Unavailable> {
        let name = Self::person(provider, subject);
        let wanted = |a: &LoginRecord| a.user.provider == provider && a.user.subject == subject;
        self.indexed(Index::Person, &name, wanted).await
    }

    /// Every unexpired, logged-in session of `provider`'s session `sid`.
    pub async fn of_provider_session(
        &self,
        provider: &str,
        sid: &str,
    ) -> Result<Vec<Found>, Unavailable> {
        let name = Self::provider_session(provider, sid);
        let wanted = |a: &LoginRecord| a.user.provider == provider && a.sid.as_deref() == Some(sid);
        self.indexed(Index::ProviderSession, &name, wanted).await
    }

    /// The sessions `index` holds under `name`'s hashes (one per configured key) whose record
    /// opens and is what `wanted` says: the index is not trusted, a store writer could have put
    /// any key under any name.
    async fn indexed(
        &self,
        index: Index,
        name: &str,
        wanted: impl Fn(&LoginRecord) -> bool,
    ) -> Result<Vec<Found>, Unavailable> {
        let mut found: Vec<Found> = Vec::new();
        for hash in self.cipher.index_hashes(name) {
            let listed = match index {
                Index::Person => self.store.sessions_of(&hash).await?,
                Index::ProviderSession => self.store.sessions_with_sid(&hash).await?,
            };
            for (key, value) in listed {
                if found.iter().any(|(k, _, _)| *k == key) {
                    continue;
                }
                let Some(contents) = self.open_value(&key, &value) else {
                    continue;
                };
                if let Some(auth) = contents.record().filter(|a| wanted(a)) {
                    found.push((key, contents, auth));
                }
            }
        }
        Ok(found)
    }
}

/// A session found through the index: its key, its record, and the logged-in part of it.
pub type Found = (Key, Contents, LoginRecord);

/// The store's two indexes.
enum Index {
    Person,
    ProviderSession,
}

fn millis(at: time::OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn date(millis: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

fn contents_of(record: &Record) -> Contents {
    Contents {
        data: record.data.clone(),
        expires_at: millis(record.expiry_date),
    }
}

#[async_trait::async_trait]
impl SessionStore for SealedStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let contents = contents_of(record);
        // A taken key means an id collision (or a guess): draw another id, and seal to it.
        loop {
            let key = Key::of_session(&record.id);
            let entry = self.seal(&key, &contents);
            if self.store.insert(&key, &entry).await? {
                self.opened.keep(&key, &entry.value, &contents);
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        if !self
            .write(&Key::of_session(&record.id), &contents_of(record))
            .await?
        {
            tracing::debug!("a session that ended was not saved again");
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let opened = self.load_key(&Key::of_session(id)).await?;
        Ok(match opened {
            Ok(Some(contents)) => Some(Record {
                id: *id,
                data: contents.data,
                expiry_date: date(contents.expires_at),
            }),
            Ok(None) | Err(Unopened::Refused) => None,
            Err(Unopened::KeyLost) => Some(Record {
                id: *id,
                data: [(KEY_LOST.to_owned(), serde_json::Value::Bool(true))].into(),
                expiry_date: date(now_millis() + 60_000),
            }),
        })
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        Ok(self.remove(&Key::of_session(id)).await?)
    }
}

mod opened;
#[cfg(test)]
mod tests;
