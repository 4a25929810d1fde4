//! Provider calls with fresh tokens: refreshed first when they expire within the margin,
//! refreshed once and the call retried once when the provider refuses them, the session ended
//! when the refresh is refused (rule 11). One refresh per session however many requests, on
//! however many replicas, ask at the same time (single flight, under the session's lock,
//! session/lock.rs): the first refreshes, the others read its tokens back from the store.

use std::future::Future;

use oauth2::AccessToken;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use super::{
    lock::Held, now, recheck, record::AUTH_KEY, store::Key, Contents, CurrentUser, LoginRecord,
    ProviderTokens,
};
use crate::{
    audit,
    error::AppError,
    providers::{Provider, ProviderError, REFRESH_MARGIN_SECS},
    state::AppState,
};

pub fn needs_refresh(tokens: &ProviderTokens) -> bool {
    tokens
        .expires_at
        .is_some_and(|at| at <= now() + REFRESH_MARGIN_SECS)
}

impl CurrentUser {
    /// Runs `call` with the session's tokens, kept fresh as this module says (the access token,
    /// and the DPoP key that proves it when the provider binds its tokens). Every route that
    /// calls the provider as the person goes through here.
    pub async fn call_provider<T, F, Fut>(&self, call: F) -> Result<T, AppError>
    where
        F: Fn(ProviderTokens) -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let provider = self.provider()?;
        self.take_call(provider)?;
        let mut tokens = self.record.tokens.clone();
        if needs_refresh(&tokens) {
            tokens = self.refreshed(provider, &tokens).await?;
        }
        let timed = |tokens: ProviderTokens| {
            let started = std::time::Instant::now();
            let call = call(tokens);
            async move {
                let result = call.await;
                self.state
                    .metrics
                    .provider_call_took(provider.id(), started.elapsed());
                result
            }
        };
        match timed(tokens.clone()).await {
            // Revoked or expired early at the provider: one refresh, then one more try.
            Err(ProviderError::Unauthorized { .. }) => {
                tokens = self.refreshed(provider, &tokens).await?;
                match timed(tokens.clone()).await {
                    Err(ProviderError::Unauthorized { .. }) => Err(self.end(provider.id()).await),
                    other => other.map_err(AppError::from),
                }
            }
            other => other.map_err(AppError::from),
        }
    }

    /// An access token for the provider, refreshed first when it has expired (or is about to):
    /// for routes that hand the token on (an upstream with `access_token = true`). Refused for a
    /// token bound to the session's DPoP key (`dpop = true`), which is useless without that key
    /// and the key never leaves Portero: such a provider is called through `call_provider`.
    pub async fn access_token(&self) -> Result<AccessToken, AppError> {
        let provider = self.provider()?;
        let tokens = &self.record.tokens;
        if tokens.bound_to().is_some() {
            return Err(ProviderError::failed(
                provider.id(),
                "its access tokens are bound to a DPoP key that stays in Portero, so they cannot \
                 be handed on",
            )
            .into());
        }
        self.take_call(provider)?;
        if needs_refresh(tokens) {
            return Ok(self.refreshed(provider, tokens).await?.access_token);
        }
        Ok(tokens.access_token.clone())
    }

    /// Rule 16: one call from this session's budget.
    pub(super) fn take_call(&self, provider: &Provider) -> Result<(), AppError> {
        let id = self.session.id().ok_or(AppError::NotLoggedIn)?;
        self.state
            .provider_calls
            .take(&id)
            .map_err(|wait| AppError::SessionRateLimited {
                provider: provider.id().to_owned(),
                retry_after_secs: wait.as_secs() + 1,
            })
    }

    pub(super) fn provider(&self) -> Result<&Provider, AppError> {
        let id = &self.record.user.provider;
        self.state
            .providers
            .get(id)
            .ok_or_else(|| AppError::UnknownProvider(id.clone()))
    }

    /// Fresh tokens instead of `used` (expired, or refused by the provider): refreshed at the
    /// provider by the first request to get here, taken from the store by those that waited.
    async fn refreshed(
        &self,
        provider: &Provider,
        used: &ProviderTokens,
    ) -> Result<ProviderTokens, AppError> {
        let (state, provider_id, used, client) = (
            self.state.clone(),
            provider.id().to_owned(),
            used.access_token.clone(),
            self.client().clone(),
        );
        let record = self
            .under_lock(provider, move |key, request_copy| {
                refresh_under_lock(state, key, provider_id, used, request_copy, client)
            })
            .await?;
        Ok(record.tokens)
    }

    /// Runs `work` on this session's record under its lock, in a task of its own (session/
    /// lock.rs, ordering rule 7) holding the lock until it is done. When the lock is the one
    /// this request keeps until the session layer saves its copy of the session, `work` gets
    /// that copy (`request_copy`): what it changes must be written through it, or the layer's
    /// save would write the old record back, whenever it comes. `None` from `work` means the
    /// session ended: this request's copy (and its cookie) ends too, with 401
    /// `session_expired`.
    pub(super) async fn under_lock<F, Fut>(
        &self,
        provider: &Provider,
        work: F,
    ) -> Result<LoginRecord, AppError>
    where
        F: FnOnce(Key, Option<Session>) -> Fut,
        Fut: Future<Output = Result<Option<LoginRecord>, AppError>> + Send + 'static,
    {
        let key = self.key()?;
        let Held { lock, parked } = self.lock().await?;
        let work = work(key, parked.then(|| self.session.clone()));
        // The lock comes back with the outcome and is released here, as the request goes on
        // (or with the task's output, should the request have given up).
        let (outcome, lock) = tokio::spawn(async move { (work.await, lock) })
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("a session's task failed: {e}")))?;
        drop(lock);
        match outcome? {
            Some(record) => Ok(record),
            None => {
                // Gone from the store already; this ends the request's copy, and its cookie.
                self.session.flush().await?;
                Err(AppError::SessionExpired(provider.id().to_owned()))
            }
        }
    }

    /// Rule 11: the session ends when its tokens can no longer be refreshed. Under its lock, so
    /// that a refresh in flight finishes first and does not write it back.
    async fn end(&self, provider: &str) -> AppError {
        let ended = async {
            let _held = self.lock().await?;
            self.session.flush().await?;
            let key = self.key()?;
            audit::refresh_failed(
                self.client(),
                &self.record.user,
                &key,
                "access_token_refused",
            );
            Ok::<_, AppError>(())
        };
        match ended.await {
            Ok(()) => AppError::SessionExpired(provider.to_owned()),
            Err(e) => e,
        }
    }
}

/// The session under `key` with fresh tokens instead of those whose access token is `used`, once
/// its lock is held: `None` when the session has ended (while we waited, or because the
/// provider refused the refresh, which ends it here). Under a lock a request keeps for its
/// session layer's save, the new tokens are written through that request's copy,
/// `request_copy`. A refresh that fails is an event of the audit trail, `client`'s.
pub(super) async fn refresh_under_lock(
    state: AppState,
    key: Key,
    provider: String,
    used: AccessToken,
    request_copy: Option<Session>,
    client: audit::Client,
) -> Result<Option<LoginRecord>, AppError> {
    let provider = state
        .providers
        .get(&provider)
        .ok_or_else(|| AppError::UnknownProvider(provider.clone()))?;
    // The record as it is in the store now, not as this request read it.
    let Some(stored) = state.sessions.read(&key).await? else {
        // Ended while we waited: the refresh before ours was refused, or a logout.
        return Ok(None);
    };
    let Some(current) = stored.record() else {
        return Ok(None);
    };
    let same_access_token: bool = current
        .tokens
        .access_token
        .secret()
        .as_bytes()
        .ct_eq(used.secret().as_bytes())
        .into();
    // Refreshed while we waited: those tokens, unless they have expired already (not merely
    // within the margin, or with a short-lived provider every waiter would refresh again).
    if !same_access_token && current.tokens.expires_at.is_none_or(|at| at > now()) {
        tracing::debug!(provider = %provider.id(), "tokens refreshed by a concurrent request");
        return Ok(Some(current));
    }
    match provider
        .refresh(&current.tokens, &current.user.subject)
        .await
    {
        Ok(fresh) => {
            state.metrics.refreshed(provider.id(), "ok");
            // The rotated refresh token too; saved before the waiters get the lock. The facts
            // the rules read are read again with the new tokens (rule 22).
            let updated = current.with_tokens(&fresh);
            let Some(updated) = recheck::after_refresh(&state, &key, provider, updated).await?
            else {
                return Ok(None);
            };
            if !write_record(&state, &key, stored, &updated, request_copy.as_ref()).await? {
                // Ended while the provider answered.
                return Ok(None);
            }
            tracing::info!(provider = %provider.id(), "tokens refreshed");
            if updated.facts != current.facts {
                state.store.announce(&key).await;
            }
            Ok(Some(updated))
        }
        Err(ProviderError::Refused { message, .. }) => {
            state.metrics.refreshed(provider.id(), "refused");
            tracing::info!(provider = %provider.id(), error = %message, "refresh refused");
            state.sessions.remove(&key).await?;
            audit::refresh_failed(&client, &current.user, &key, "refused");
            Ok(None)
        }
        Err(e) => {
            state.metrics.refreshed(provider.id(), "failed");
            audit::refresh_failed(&client, &current.user, &key, "provider_error");
            Err(e.into())
        }
    }
}

/// Writes `updated` as the logged-in record of the session under `key` (whose contents were
/// read under its lock as `stored`), or through the request's own copy of it when the lock is
/// that request's (`request_copy`: the record as it is now, saved whole as that layer saves
/// it again). False when the session has ended meanwhile.
pub(super) async fn write_record(
    state: &AppState,
    key: &Key,
    mut stored: Contents,
    updated: &LoginRecord,
    request_copy: Option<&Session>,
) -> Result<bool, AppError> {
    match request_copy {
        Some(session) => {
            session.insert(AUTH_KEY, updated).await?;
            session.save().await?;
            Ok(true)
        }
        None => {
            stored.set_record(updated);
            Ok(state.sessions.write(key, &stored).await?)
        }
    }
}
