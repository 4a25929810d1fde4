//! The records this process opened lately, kept decoded: a session used again (each request
//! through the gateway, each `/api/me`) costs a comparison of its sealed value with the one
//! opened before, instead of a decryption and a parse. Each copy is kept under its store key
//! with the exact sealed value it came from: a record changed in the store (a refresh by another
//! replica, a write by someone who can write the store) has another value and is opened afresh,
//! and only values that opened under their key are kept, so the seal vouches for every copy.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, OnceLock},
};

use super::{Contents, Key, LoginRecord};

/// One record as it opened: its sealed value, its contents, and its logged-in part, decoded
/// the first time it is asked for.
#[derive(Debug)]
pub struct Copy {
    sealed: String,
    pub contents: Contents,
    record: OnceLock<Option<Arc<LoginRecord>>>,
}

impl Copy {
    /// The logged-in record, if the session is logged in.
    pub fn record(&self) -> Option<Arc<LoginRecord>> {
        self.record
            .get_or_init(|| self.contents.record().map(Arc::new))
            .clone()
    }
}

/// Copies kept at most: the sessions in use at one time. Past it, one copy makes room
/// (whichever comes first: a miss costs one opening).
const CAPACITY: usize = 1024;

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

    /// Keeps `contents`, which `value` (under `key`) opened to or was sealed from.
    pub(super) fn keep(&self, key: &Key, value: &str, contents: Contents) -> Arc<Copy> {
        let copy = Arc::new(Copy {
            sealed: value.to_owned(),
            contents,
            record: OnceLock::new(),
        });
        let mut kept = self.kept();
        if kept.len() >= CAPACITY && !kept.contains_key(key) {
            if let Some(evicted) = kept.keys().next().copied() {
                kept.remove(&evicted);
            }
        }
        kept.insert(*key, copy.clone());
        copy
    }

    pub(super) fn forget(&self, key: &Key) {
        self.kept().remove(key);
    }
}
