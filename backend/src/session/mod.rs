//! A browser's server-side session (tower-sessions), everything about it in one place: the
//! login attempts in flight (`attempt.rs`), the logged-in record with its sealed provider tokens
//! (`record.rs`), how long it lives (`life.rs`), provider calls with fresh tokens (`fresh.rs`),
//! who is logged in as an extractor (`current_user.rs`), the layer and its cookie (`layer.rs`),
//! and the stores (`store/`).
//!
//! # Ordering rules
//! Writes of a logged-in session's record happen under an in-process lock per session id
//! ([`SessionLocks`]), each on a record read again from the store after taking the lock, and
//! saved before the lock is released — by the write itself (a refresh), or by the session layer
//! after the handler, with the lock parked in the request's [`LockSlot`] until then (the idle
//! extension). So a request that read the record earlier never writes its stale copy over tokens
//! another request has just refreshed (a rotated refresh token would be lost). Handlers get this
//! for free by taking [`CurrentUser`]; none writes the record itself. The lock is per process:
//! replicas on one Redis may still each refresh once.

mod attempt;
mod control;
mod current_user;
mod fresh;
mod layer;
mod life;
mod record;
pub(crate) mod store;

pub use attempt::{kept_for, remember_attempt, take_attempt, LoginAttempt};
pub use control::{end_everywhere, end_for_provider, key_of, person_key, seen_key};
pub use current_user::CurrentUser;
pub use fresh::needs_refresh;
pub use layer::{
    complete_cookie_attributes, failed_save_as_503, session_cookie_name, session_layer, LockSlot,
};
pub use life::SessionLocks;
pub use record::{auth, log_in, now, AuthRecord, IdToken, LoginFacts, ProviderTokens};
pub use store::{Counts, Store};
