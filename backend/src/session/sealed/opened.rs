//! The logged-in records this process opened lately, kept decoded: a session used again (each
//! request through the gateway, each `/api/me`) costs a comparison of its sealed value with the
//! one opened before, instead of a decryption and two parses. Each copy is kept under its store
//! key with the exact sealed value it came from: a record changed in the store (a refresh by
//! another replica, a write by someone who can write the store) has another value and is opened
//! afresh, and only values that opened under their key are kept, so the seal vouches for every
//! copy. A copy holds what a request reads (`life::unchanged`), not the whole record as the
//! session layer loads it, which opens it as before.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use super::{Contents, Key, LoginRecord};
use crate::session::life::TOUCHED_KEY;

/// A logged-in record as it opened: its sealed value, its expiry, when its idle expiry last
/// moved, and the logged-in part.
#[derive(Debug)]
pub struct Copy {
    sealed: String,
    /// Milliseconds since the epoch, as sealed.
    pub expires_at: i64,
    pub touched_at: Option<i64>,
    pub record: Arc<LoginRecord>,
}

/// Copies kept at most (≈ 4 KB each): the sessions in use at one time. Past it, one copy makes
/// room (whichever comes first: a miss costs one opening).
const CAPACITY: usize = 512;

#[derive(Debug, Default)]
pub(super) struct Opened(Mutex<HashMap<Key, Arc<Copy>>>);

impl Opened {
    fn kept(&self) -> MutexGuard<'_, HashMap<Key, Arc<Copy>>> {
        // Copies only: a map left half-changed by a panic is still a cache.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The record sealed as `value` under `key`, if it was opened before.
    pub(super) fn get(&self, key: &Key, value: &str) -> Option<Arc<Copy>> {
        let copy = self.kept().get(key).cloned()?;
        (copy.sealed == value).then_some(copy)
    }

    /// Keeps what a request reads of `contents`, which `value` (under `key`) opened to or was
    /// sealed from, when it is a logged-in record.
    pub(super) fn keep(&self, key: &Key, value: &str, contents: &Contents) -> Option<Arc<Copy>> {
        let Some(record) = contents.record() else {
            self.forget(key);
            return None;
        };
        let copy = Arc::new(Copy {
            sealed: value.to_owned(),
            expires_at: contents.expires_at,
            touched_at: contents.get_i64(TOUCHED_KEY),
            record: Arc::new(record),
        });
        let mut kept = self.kept();
        if kept.len() >= CAPACITY && !kept.contains_key(key) {
            if let Some(evicted) = kept.keys().next().copied() {
                kept.remove(&evicted);
            }
        }
        kept.insert(*key, copy.clone());
        Some(copy)
    }

    pub(super) fn forget(&self, key: &Key) {
        self.kept().remove(key);
    }
}
