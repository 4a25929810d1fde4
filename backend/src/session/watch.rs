//! A session as something outside a request watches it: a WebSocket through the gateway, which
//! belongs to the session that opened it (docs/design.md, rule 19). The socket looks at its
//! session when the store announces a change to it (`store::Changed`), when the session would
//! expire (idle or absolute), when its facts are due to be read again (rule 22), and at least
//! every minute. The record is read through the sealed store, as a request reads it.

use shared::User;

use super::{lock::SessionLock, now, recheck::recheck_under_lock, store::Key};
use crate::{audit, providers::Facts, state::AppState};

/// A socket looks at its session at least this often, whatever else it is told (seconds): a
/// notice lost on the way costs at most this long.
const LOOK_AT_LEAST_EVERY: i64 = 60;
/// After a store or provider that did not answer, it looks again this soon (seconds).
const RETRY_AFTER: i64 = 5;

/// What a look at a session finds.
#[derive(Debug)]
pub enum Seen {
    /// Logged in.
    Live(Box<Live>),
    /// Ended: logged out, expired (idle or absolute), refused a refresh, no longer admitted by
    /// its provider's access rules.
    Ended,
    /// The store or the provider did not answer: nothing is known to have ended; look again
    /// at `look_again_at`.
    Unsure { look_again_at: i64 },
}

/// A logged-in session as a look finds it.
#[derive(Debug)]
pub struct Live {
    pub user: User,
    /// Their facts, read again first when they were due.
    pub facts: Option<Facts>,
    /// When to look again at the latest (seconds since the epoch).
    pub look_again_at: i64,
}

/// Looks at the session under `key` now, reading its facts again first when they are due
/// (under its lock, as a request would, without a request's budget: a socket asks at most once
/// per `session.recheck_secs`, and its session's other sockets find them fresh).
pub async fn look_at(state: &AppState, key: Key) -> Seen {
    let now = now();
    let unsure = Seen::Unsure {
        look_again_at: now + RETRY_AFTER,
    };
    let contents = match state.sessions.read(&key).await {
        Ok(Some(contents)) => contents,
        Ok(None) => return Seen::Ended,
        Err(e) => {
            tracing::warn!(error = %e, "a WebSocket's session could not be read");
            return unsure;
        }
    };
    let Some(mut record) = contents.record() else {
        return Seen::Ended;
    };
    let config = &state.config.session;
    let absolute = secs(config.absolute_timeout);
    let absolute_end = record.logged_in_at.saturating_add(absolute);
    if absolute_end <= now {
        return Seen::Ended;
    }
    let reads_facts = state
        .providers
        .get(&record.user.provider)
        .is_some_and(|p| p.reads_facts());
    if reads_facts && record.facts_due(config.recheck) {
        let lock = match SessionLock::acquire(state, key).await {
            Ok(lock) => lock,
            Err(_) => return unsure,
        };
        let read = recheck_under_lock(state.clone(), key, None, audit::Client::default()).await;
        drop(lock);
        record = match read {
            Ok(Some(record)) => record,
            Ok(None) => return Seen::Ended,
            Err(e) => {
                tracing::info!(error = %e, "a WebSocket's session facts could not be read again");
                return unsure;
            }
        };
    }
    // The sealed expiry, moved by the requests that use the session (on any replica).
    let idle_end = contents.expires_at.saturating_add(999) / 1000;
    let mut look_again_at = idle_end.min(absolute_end).min(now + LOOK_AT_LEAST_EVERY);
    if reads_facts {
        look_again_at = look_again_at.min(record.facts_read_at + secs(config.recheck));
    }
    Seen::Live(Box::new(Live {
        user: record.user,
        facts: record.facts,
        look_again_at,
    }))
}

fn secs(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX / 4)
}
