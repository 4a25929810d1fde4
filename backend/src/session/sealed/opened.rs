//! The records this process opened lately, kept decoded: a session used again (each request
//! through the gateway, each `/api/me`) costs a comparison of its sealed value with the one
//! opened before, instead of a decryption and a parse. Each copy is kept under its store key
//! with the exact sealed value it came from: a record changed in the store (a refresh by another
//! replica, a write by someone who can write the store) has another value and is opened afresh,
//! and only values that opened under their key are kept, so the seal vouches for every copy.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use super::{Contents, Key};

/// Copies kept at most: the sessions in use at one time. Past it, one copy makes room
/// (whichever comes first: a miss costs one opening).
const CAPACITY: usize = 1024;

#[derive(Debug, Default)]
pub(super) struct Opened(Mutex<HashMap<Key, Arc<(String, Contents)>>>);

impl Opened {
    fn kept(&self) -> MutexGuard<'_, HashMap<Key, Arc<(String, Contents)>>> {
        // Copies only: a map left half-changed by a panic is still a cache.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The record sealed as `value` under `key`, if it was opened before.
    pub(super) fn get(&self, key: &Key, value: &str) -> Option<Contents> {
        let kept = self.kept().get(key).cloned()?;
        let (sealed, contents) = kept.as_ref();
        (sealed == value).then(|| contents.clone())
    }

    /// Keeps `contents`, which `value` (under `key`) opened to or was sealed from.
    pub(super) fn keep(&self, key: &Key, value: &str, contents: &Contents) {
        let copy = Arc::new((value.to_owned(), contents.clone()));
        let mut kept = self.kept();
        if kept.len() >= CAPACITY && !kept.contains_key(key) {
            if let Some(evicted) = kept.keys().next().copied() {
                kept.remove(&evicted);
            }
        }
        kept.insert(*key, copy);
    }

    pub(super) fn forget(&self, key: &Key) {
        self.kept().remove(key);
    }
}
