//! Sessions people control (DESIGN.md, "Sessions people control"): a person's list of their
//! sessions, ending one of them, ending all of them, and the provider ending those of one of
//! its sessions (back-channel logout). The same on every store, and across replicas with Redis:
//! the store's index (person → sessions, provider session → sessions) finds them, and an ended
//! session never comes back (rule 14).

use shared::SessionInfo;

use super::{
    life::TOUCHED_KEY,
    record::AUTH_KEY,
    store::{Entry, Key, Store},
    AuthRecord, CurrentUser,
};
use crate::{crypto::TokenCipher, error::AppError, providers::Providers, state::AppState};

/// Where a logout token's `jti` is remembered.
pub fn seen_key(provider: &str, jti: &str) -> Key {
    Key::of_seen(provider, jti)
}

/// The session key of `id`, for callers outside this module.
pub fn key_of(id: &tower_sessions::session::Id) -> Key {
    Key::of_session(id)
}

fn unavailable(e: super::store::Unavailable) -> AppError {
    AppError::StoreUnavailable(e.to_string())
}

/// `provider\nsubject`: how the store's index names a person.
pub fn person_key(provider: &str, subject: &str) -> String {
    format!("{provider}\n{subject}")
}

fn record_of(entry: &Entry) -> Option<AuthRecord> {
    serde_json::from_value(entry.data.get(AUTH_KEY)?.clone()).ok()
}

impl CurrentUser {
    fn key(&self) -> Result<Key, AppError> {
        let id = self.session.id().ok_or(AppError::NotLoggedIn)?;
        Ok(Key::of_session(&id))
    }

    fn person(&self) -> String {
        person_key(&self.record.user.provider, &self.record.user.subject)
    }

    /// This session's key, and every unexpired session of this person.
    async fn own_sessions(&self) -> Result<(Key, Vec<(Key, Entry)>), AppError> {
        let own = self.key()?;
        let entries = self
            .state
            .store
            .sessions_of(&self.person())
            .await
            .map_err(unavailable)?;
        Ok((own, entries))
    }

    /// `GET /api/sessions`: every session of this person, this browser's first, then the most
    /// recently seen.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>, AppError> {
        let (own, entries) = self.own_sessions().await?;
        let mut sessions: Vec<SessionInfo> = entries
            .iter()
            .filter_map(|(key, entry)| {
                let record = record_of(entry)?;
                let last_seen_at = entry
                    .data
                    .get(TOUCHED_KEY)
                    .and_then(serde_json::Value::as_i64)
                    .unwrap_or(record.logged_in_at);
                Some(SessionInfo {
                    id: key.handle(),
                    provider: record.user.provider,
                    created_at: record.logged_in_at,
                    last_seen_at,
                    user_agent: record.user_agent,
                    current: *key == own,
                })
            })
            .collect();
        sessions.sort_by_key(|s| (!s.current, -s.last_seen_at));
        Ok(sessions)
    }

    /// `DELETE /api/sessions/{handle}`: ends one of this person's own sessions (its tokens
    /// revoked at the provider); 404 for any other handle. This browser's own is its logout.
    pub async fn end_session(&self, handle: &str) -> Result<(), AppError> {
        let (own, entries) = self.own_sessions().await?;
        let Some((key, entry)) = entries.into_iter().find(|(key, _)| key.handle() == handle) else {
            let shown: String = handle.chars().take(64).collect();
            return Err(AppError::NotFound(format!("no session {shown:?} of yours")));
        };
        if key == own {
            // This request may hold this session's lock already (the idle extension).
            if let Some(record) = record_of(&entry) {
                revoke(&self.state.providers, &self.state.cipher, &key, &record).await;
            }
            self.session.flush().await?;
            return Ok(());
        }
        end(&self.state, &key, &entry).await
    }
}

/// `POST /api/logout {"everywhere": true}`: every session of `person` but `except` (the
/// caller's own, which its logout ends), on every replica, their tokens revoked.
pub async fn end_everywhere(
    state: &AppState,
    person: &str,
    except: &Key,
) -> Result<usize, AppError> {
    let entries = state.store.sessions_of(person).await.map_err(unavailable)?;
    let others: Vec<_> = entries.iter().filter(|(key, _)| key != except).collect();
    for (key, entry) in &others {
        end(state, key, entry).await?;
    }
    tracing::info!(sessions = others.len() + 1, "logged out everywhere");
    Ok(others.len())
}

/// Revokes the tokens of the session under `key` and ends it, under its locks (this process's
/// and the replicas'), so a refresh in flight finishes first and its tokens are the ones
/// revoked.
async fn end(state: &AppState, key: &Key, entry: &Entry) -> Result<(), AppError> {
    let _guard = state.session_locks.lock_key(*key).await;
    let replica = state
        .store
        .lock(key, LOCK_TTL, LOCK_WAIT)
        .await
        .map_err(unavailable)?;
    let current = state.store.get(key).await.map_err(unavailable)?;
    if let Some(record) = current.as_ref().or(Some(entry)).and_then(record_of) {
        revoke(&state.providers, &state.cipher, key, &record).await;
    }
    let removed = state.store.remove(key).await.map_err(unavailable);
    if let Some(lock) = replica {
        lock.release().await;
    }
    removed
}

/// How long a session's lock across replicas lasts at most, and how long a caller waits for it:
/// longer than a provider call (a refresh) takes.
pub(super) const LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(15);
pub(super) const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(12);

async fn revoke(providers: &Providers, cipher: &TokenCipher, key: &Key, record: &AuthRecord) {
    match (
        providers.get(&record.user.provider),
        record.tokens_at(cipher, key),
    ) {
        (Some(provider), Ok(tokens)) => provider.revoke(&tokens).await,
        _ => tracing::warn!(provider = %record.user.provider, "session ended without revocation"),
    }
}

/// Back-channel logout (rule 14): ends the sessions of `provider`'s session `sid`, or when the
/// token names only a subject, every session of that person with that provider. Their tokens
/// are not revoked: the provider ended them itself. The number of sessions ended.
pub async fn end_for_provider(
    store: &Store,
    provider: &str,
    sid: Option<&str>,
    subject: Option<&str>,
) -> Result<usize, AppError> {
    let entries = match (sid, subject) {
        (Some(sid), _) => store.sessions_with_sid(&format!("{provider}\n{sid}")).await,
        (None, Some(subject)) => store.sessions_of(&person_key(provider, subject)).await,
        (None, None) => Ok(Vec::new()),
    }
    .map_err(unavailable)?;
    let mut ended = 0;
    for (key, entry) in entries {
        // With both, the session must be that person's too (Back-Channel Logout 1.0 §2.4).
        let same_person =
            subject.is_none_or(|s| record_of(&entry).is_some_and(|r| r.user.subject == s));
        if same_person {
            store.remove(&key).await.map_err(unavailable)?;
            ended += 1;
        }
    }
    Ok(ended)
}
