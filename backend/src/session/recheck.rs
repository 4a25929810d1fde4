//! Rule 22's re-check: the facts access rules and policies read (verified emails, GitHub
//! organizations and teams, 42 campuses, groups), kept sealed in the record since the login,
//! are read again from the provider — at each refresh, with the new tokens, and once they are
//! older than `session.recheck_secs` (GitHub's tokens are never refreshed) — through the same
//! provider client and, for a request, its session's budget of provider calls (rule 16). A
//! person their provider's `allow` no longer admits loses every session, and with them their
//! WebSockets (rule 19); one a policy no longer admits is refused there
//! (`gateway/policy.rs`).
//!
//! Under the session's lock, as every write of a record (session/lock.rs, ordering rules 1, 2):
//! the record read again, then written (or removed) before the lock goes.

use tower_sessions::Session;

use super::{
    control,
    fresh::{needs_refresh, refresh_under_lock, write_record},
    store::Key,
    CurrentUser, LoginRecord,
};
use crate::{
    audit,
    error::AppError,
    providers::{Facts, Provider, ProviderError},
    state::AppState,
};

impl CurrentUser {
    /// What the person's provider vouches for, as the access rules and policies read it: as
    /// kept in the session, or read again first when older than `session.recheck_secs`.
    /// `None` when no rule reads anything of this provider's people. A person no longer
    /// admitted by their provider's `allow` is logged out everywhere: 401 `session_expired`.
    pub(crate) async fn facts(&self) -> Result<Option<Facts>, AppError> {
        let provider = self.provider()?;
        if !provider.reads_facts() {
            return Ok(None);
        }
        if !self.record.facts_due(self.state.config.session.recheck) {
            return Ok(self.record.facts.clone());
        }
        self.take_call(provider)?;
        let (state, client) = (self.state.clone(), self.client().clone());
        let record = self
            .under_lock(provider, move |key, request_copy| {
                recheck_under_lock(state, key, request_copy, client)
            })
            .await?;
        Ok(record.facts)
    }
}

/// The facts of the session under `key` read again if they are due, its lock held by the
/// caller (through `request_copy` when it is a request's, `fresh.rs`): the record as it is
/// then, or `None` when the session has ended — before, or because of what was read. A
/// provider that fails (down, rate limiting) is an error and the session stays.
pub(super) async fn recheck_under_lock(
    state: AppState,
    key: Key,
    request_copy: Option<Session>,
    client: audit::Client,
) -> Result<Option<LoginRecord>, AppError> {
    let Some(stored) = state.sessions.read(&key).await? else {
        return Ok(None);
    };
    let Some(current) = stored.record() else {
        return Ok(None);
    };
    let Some(provider) = state.providers.get(&current.user.provider) else {
        return Ok(Some(current));
    };
    // Read again by another request (or replica) while this one waited for the lock.
    if !provider.reads_facts() || !current.facts_due(state.config.session.recheck) {
        return Ok(Some(current));
    }
    let provider_id = provider.id().to_owned();
    let refreshable = current.tokens.refresh_token.is_some();
    // The refresh reads the facts again with its new tokens. An id_token is a snapshot of the
    // claims when it was issued (a `groups` claim may be in it only): with one, the facts are
    // read again through a refresh, whose new id_token is the provider's word as of now.
    if refreshable && (needs_refresh(&current.tokens) || current.tokens.id_token.is_some()) {
        let used = current.tokens.access_token.clone();
        return refresh_under_lock(state, key, provider_id, used, request_copy, client).await;
    }
    match provider.facts_again(&current.tokens, &current.user).await {
        Ok(facts) => {
            let changed = current.facts.as_ref() != Some(&facts);
            let Some(updated) = admitted(&state, &key, provider, current, facts).await? else {
                return Ok(None);
            };
            if !write_record(&state, &key, stored, &updated, request_copy.as_ref()).await? {
                return Ok(None);
            }
            if changed {
                // The WebSockets of this session check their policies on the new facts.
                state.store.announce(&key).await;
            }
            Ok(Some(updated))
        }
        Err(ProviderError::Unauthorized { .. }) if refreshable => {
            let used = current.tokens.access_token.clone();
            refresh_under_lock(state, key, provider_id, used, request_copy, client).await
        }
        // Rule 11: tokens the provider refuses and that cannot be renewed end the session; so
        // does an answer about someone else.
        Err(e @ (ProviderError::Unauthorized { .. } | ProviderError::Refused { .. })) => {
            tracing::info!(provider = %provider_id, error = %e, "session ended: its facts cannot be read again");
            state.sessions.remove(&key).await?;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// After a refresh (`fresh.rs`): `updated`'s facts read again with its new tokens; `None` when
/// the person no longer passes (their sessions end). A provider that does not answer the read
/// leaves the facts as they were (the refresh stands), to be read at the next check.
pub(super) async fn after_refresh(
    state: &AppState,
    key: &Key,
    provider: &Provider,
    updated: LoginRecord,
) -> Result<Option<LoginRecord>, AppError> {
    if !provider.reads_facts() {
        return Ok(Some(updated));
    }
    match provider.facts_again(&updated.tokens, &updated.user).await {
        Ok(facts) => admitted(state, key, provider, updated, facts).await,
        Err(e) => {
            tracing::warn!(provider = %provider.id(), error = %e, "facts not read again after a refresh");
            Ok(Some(updated))
        }
    }
}

/// The one place where a person's provider `allow` is decided again (rule 22): the record with
/// the new `facts` when they still pass. Otherwise every session of theirs ends — this one at
/// once (its lock is the caller's), the others each under its own lock in a task of its own
/// (session/lock.rs, ordering rule 5: never waiting for one while holding another) — their
/// tokens revoked, and `None`.
async fn admitted(
    state: &AppState,
    key: &Key,
    provider: &Provider,
    record: LoginRecord,
    facts: Facts,
) -> Result<Option<LoginRecord>, AppError> {
    if provider.check_access(Some(&facts), &record.user).is_ok() {
        return Ok(Some(record.with_facts(facts)));
    }
    tracing::info!(
        provider = %provider.id(),
        subject = %record.user.subject,
        "the access rules no longer admit this person: every session of theirs ends"
    );
    control::revoke(state, Some(&record)).await;
    state
        .sessions
        .remove(key)
        .await?;
    let (state, user, key) = (state.clone(), record.user, *key);
    tokio::spawn(async move {
        if let Err(e) = control::end_others(&state, &user, &key).await {
            tracing::warn!(error = %e, "a refused person's other sessions could not all be ended now");
        }
    });
    Ok(None)
}
