//! Sessions people control (docs/design.md, "Sessions people control"): a person's list of their
//! sessions, ending one of them, ending all of them, and the provider ending those of one of
//! its sessions (back-channel logout). The same on every store, and across replicas with Redis:
//! the store's index (person → sessions, provider session → sessions, both keyed hashes) finds
//! them, each record is opened and checked (`sealed.rs`), each is ended under its lock
//! (`lock.rs`), and an ended session never comes back (rule 14).

use shared::{SessionInfo, User};

use super::{
    life::TOUCHED_KEY,
    lock::SessionLock,
    sealed::Found,
    store::Key,
    CurrentUser, LoginRecord,
};
use crate::{error::AppError, state::AppState};

/// Where a logout token's `jti` is remembered.
pub fn seen_key(provider: &str, jti: &str) -> Key {
    Key::of_seen(provider, jti)
}

/// The session key of `id`, for callers outside this module.
pub fn key_of(id: &tower_sessions::session::Id) -> Key {
    Key::of_session(id)
}

impl CurrentUser {
    /// This session's key, and every unexpired session of this person.
    async fn own_sessions(&self) -> Result<(Key, Vec<Found>), AppError> {
        let own = self.key()?;
        let user = &self.record.user;
        let sessions = self
            .state
            .sessions
            .of_person(&user.provider, &user.subject)
            .await
            ?;
        Ok((own, sessions))
    }

    /// `GET /api/sessions`: every session of this person, this browser's first, then the most
    /// recently seen.
    pub(crate) async fn sessions(&self) -> Result<Vec<SessionInfo>, AppError> {
        let (own, found) = self.own_sessions().await?;
        let mut sessions: Vec<SessionInfo> = found
            .into_iter()
            .map(|(key, contents, record)| SessionInfo {
                id: key.handle(),
                last_seen_at: contents.get_i64(TOUCHED_KEY).unwrap_or(record.logged_in_at),
                provider: record.user.provider,
                created_at: record.logged_in_at,
                user_agent: record.user_agent,
                current: key == own,
            })
            .collect();
        sessions.sort_by_key(|s| (!s.current, -s.last_seen_at));
        Ok(sessions)
    }

    /// `DELETE /api/sessions/{handle}`: ends one of this person's own sessions (its tokens
    /// revoked at the provider); 404 for any other handle. This browser's own is its logout.
    pub(crate) async fn end_session(&self, handle: &str) -> Result<(), AppError> {
        let (own, found) = self.own_sessions().await?;
        let Some((key, _, _)) = found.into_iter().find(|(key, _, _)| key.handle() == handle) else {
            let shown: String = handle.chars().take(64).collect();
            return Err(AppError::NotFound(format!("no session {shown:?} of yours")));
        };
        if key == own {
            // Under the lock this request may hold already (its idle extension).
            let _held = self.lock().await?;
            if let Some(record) = self.state.sessions.read(&key).await? {
                revoke(&self.state, record.record().as_ref()).await;
            }
            self.session.flush().await?;
            return Ok(());
        }
        end(&self.state, &key).await
    }
}

/// `POST /api/logout {"everywhere": true}`: every session of `user` but `except` (the caller's own,
/// which its logout ends after these: session/lock.rs, ordering rule 5), on every replica, their
/// tokens revoked. The number of sessions ended.
pub async fn end_everywhere(
    state: &AppState,
    user: &User,
    except: &Key,
) -> Result<usize, AppError> {
    let ended = end_others(state, user, except).await?;
    tracing::info!(sessions = ended + 1, "logged out everywhere");
    Ok(ended)
}

/// Every session of `user` but `except` ended, each under its own lock and its tokens
/// revoked: the number ended.
pub(super) async fn end_others(
    state: &AppState,
    user: &User,
    except: &Key,
) -> Result<usize, AppError> {
    let found = state
        .sessions
        .of_person(&user.provider, &user.subject)
        .await
        ?;
    let others: Vec<Key> = found
        .into_iter()
        .map(|(key, _, _)| key)
        .filter(|key| key != except)
        .collect();
    for key in &others {
        end(state, key).await?;
    }
    Ok(others.len())
}

/// Revokes the tokens of the session under `key` and ends it, under its lock: a refresh in
/// flight finishes first, and its tokens are the ones revoked.
async fn end(state: &AppState, key: &Key) -> Result<(), AppError> {
    let _lock = SessionLock::acquire(state, *key).await?;
    if let Some(record) = state.sessions.read(key).await? {
        revoke(state, record.record().as_ref()).await;
    }
    Ok(state.sessions.remove(key).await?)
}

pub(super) async fn revoke(state: &AppState, record: Option<&LoginRecord>) {
    let Some(record) = record else {
        return;
    };
    match state.providers.get(&record.user.provider) {
        Some(provider) => provider.revoke(&record.tokens).await,
        None => {
            tracing::warn!(provider = %record.user.provider, "session ended without revocation")
        }
    }
}

/// Back-channel logout (rule 14): ends the sessions of `provider`'s session `sid`, or when the
/// token names only a subject, every session of that person with that provider, each under its
/// lock. Their tokens are not revoked: the provider ended them itself. The number of sessions
/// ended.
pub async fn end_for_provider(
    state: &AppState,
    provider: &str,
    sid: Option<&str>,
    subject: Option<&str>,
) -> Result<usize, AppError> {
    let sessions = &state.sessions;
    let found = match (sid, subject) {
        (Some(sid), _) => sessions.of_provider_session(provider, sid).await,
        (None, Some(subject)) => sessions.of_person(provider, subject).await,
        (None, None) => Ok(Vec::new()),
    }
    ?;
    let mut ended = 0;
    for (key, _, record) in found {
        // With both, the session must be that person's too (Back-Channel Logout 1.0 §2.4).
        if subject.is_some_and(|s| record.user.subject != s) {
            continue;
        }
        let _lock = SessionLock::acquire(state, key).await?;
        sessions.remove(&key).await?;
        ended += 1;
    }
    Ok(ended)
}
