//! A browser's server-side session (tower-sessions), everything about it in one place: the
//! login attempts in flight (`attempt.rs`), the logged-in record (`record.rs`), sealed whole at
//! rest (`sealed.rs`), how long it lives (`life.rs`), its locks and the order of its writes
//! (`lock.rs`), provider calls with fresh tokens (`fresh.rs`), who is logged in as an extractor
//! (`current_user.rs`), the sessions people control (`control.rs`), the facts access rules read,
//! read again (`recheck.rs`), a session as a WebSocket watches it (`watch.rs`), the layer and
//! its cookie (`layer.rs`), and the stores, which keep what they cannot read (`store/`).

mod attempt;
mod control;
mod current_user;
mod fresh;
mod layer;
mod life;
mod lock;
mod recheck;
mod record;
mod sealed;
pub(crate) mod store;
mod watch;

/// The names of Portero's own cookies: the session's, and a login's binding.
pub(crate) fn cookie_names(https: bool) -> [&'static str; 2] {
    [
        session_cookie_name(https),
        attempt::binding_cookie_name(https),
    ]
}

pub use attempt::{forget_attempts, kept_for, remember_attempt, take_attempt, LoginAttempt};
pub use control::{end_everywhere, end_for_provider, key_of, seen_key};
pub use current_user::CurrentUser;
pub use layer::{
    complete_cookie_attributes, failed_save_as_503, session_cookie_name, session_layer,
};
pub use lock::{Locks, RequestLock, SessionLock};
pub use record::{
    log_in, now, read_record, IdToken, LoginFacts, LoginRecord, ProviderTokens, TokenType,
};
pub use sealed::{Contents, SealedStore};
pub use store::{Changed, Key, Store, Unavailable};
/// A record as a store keeps it: for the tests that write the store as its writers could.
#[cfg(feature = "internals")]
pub use store::Entry;
pub use watch::{look_at, Seen};
