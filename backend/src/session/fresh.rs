//! Provider calls with fresh tokens: refreshed first when they expire within the margin,
//! refreshed once and the call retried once when the provider refuses them, the session ended
//! when the refresh is refused (rule 11). One refresh per session however many requests ask at
//! the same time (single flight, under the session's lock): the first refreshes, the others
//! read its tokens back from the store.

use std::{future::Future, sync::Arc};

use oauth2::AccessToken;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use super::{now, record, AuthRecord, CurrentUser, ProviderTokens};
use crate::{
    error::AppError,
    providers::{Provider, ProviderError, REFRESH_MARGIN_SECS},
};

pub fn needs_refresh(tokens: &ProviderTokens) -> bool {
    tokens
        .expires_at
        .is_some_and(|at| at <= now() + REFRESH_MARGIN_SECS)
}

impl CurrentUser {
    /// Runs `call` with the session's access token, kept fresh as this module says. Every route
    /// that calls the provider as the person goes through here.
    pub async fn call_provider<T, F, Fut>(&self, call: F) -> Result<T, AppError>
    where
        F: Fn(AccessToken) -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let provider = self.provider()?;
        self.take_call(provider)?;
        let mut tokens = self.tokens().await?;
        if needs_refresh(&tokens) {
            tokens = self.refreshed(provider, &tokens).await?;
        }
        let timed = |token: AccessToken| {
            let started = std::time::Instant::now();
            let call = call(token);
            async move {
                let result = call.await;
                self.state
                    .metrics
                    .provider_call_took(provider.id(), started.elapsed());
                result
            }
        };
        match timed(tokens.access_token.clone()).await {
            // Revoked or expired early at the provider: one refresh, then one more try.
            Err(ProviderError::Unauthorized { .. }) => {
                tokens = self.refreshed(provider, &tokens).await?;
                match timed(tokens.access_token.clone()).await {
                    Err(ProviderError::Unauthorized { .. }) => Err(self.end(provider).await),
                    other => other.map_err(AppError::from),
                }
            }
            other => other.map_err(AppError::from),
        }
    }

    /// An access token for the provider, refreshed first when it has expired (or is about to):
    /// for routes that hand the token on (an upstream with `access_token = true`).
    pub async fn access_token(&self) -> Result<AccessToken, AppError> {
        let provider = self.provider()?;
        self.take_call(provider)?;
        let tokens = self.tokens().await?;
        if needs_refresh(&tokens) {
            return Ok(self.refreshed(provider, &tokens).await?.access_token);
        }
        Ok(tokens.access_token)
    }

    /// Rule 16: one call from this session's budget.
    fn take_call(&self, provider: &Provider) -> Result<(), AppError> {
        let id = self.session.id().ok_or(AppError::NotLoggedIn)?;
        self.state
            .provider_calls
            .take(&id)
            .map_err(|wait| AppError::SessionRateLimited {
                provider: provider.id().to_owned(),
                retry_after_secs: wait.as_secs() + 1,
            })
    }

    fn provider(&self) -> Result<&Provider, AppError> {
        let id = &self.record.user.provider;
        self.state
            .providers
            .get(id)
            .ok_or_else(|| AppError::UnknownProvider(id.clone()))
    }

    /// The record's provider tokens. Sealed under a key this process no longer has (rotated
    /// without `previous_keys`), they are lost: the session ends, 401 `session_expired`.
    async fn tokens(&self) -> Result<ProviderTokens, AppError> {
        open_tokens(&self.state.cipher, &self.session, &self.record).await
    }

    /// Fresh tokens instead of `used` (expired, or refused by the provider): refreshed at the
    /// provider by the first request to get here, taken from the store by those that waited.
    async fn refreshed(
        &self,
        provider: &Provider,
        used: &ProviderTokens,
    ) -> Result<ProviderTokens, AppError> {
        let id = self.session.id().ok_or(AppError::NotLoggedIn)?;
        let _guard = self.state.session_locks.lock(id).await;
        // Across replicas too (Redis): one refresh spends the rotating refresh token, and the
        // others read its result (a no-op on a store of one process).
        let key = super::store::Key::of_session(&id);
        let replica = self
            .state
            .store
            .lock(&key, super::control::LOCK_TTL, super::control::LOCK_WAIT)
            .await
            .map_err(|e| AppError::StoreUnavailable(e.to_string()))?
            .ok_or_else(|| {
                AppError::StoreUnavailable(
                    "another replica held the session's lock too long".into(),
                )
            })?;
        let result = self.refreshed_under_lock(provider, used).await;
        replica.release().await;
        result
    }

    /// `refreshed`, once this session's locks are held.
    async fn refreshed_under_lock(
        &self,
        provider: &Provider,
        used: &ProviderTokens,
    ) -> Result<ProviderTokens, AppError> {
        let state = &self.state;
        let id = self.session.id().ok_or(AppError::NotLoggedIn)?;
        // The record as it is in the store now, not as this request read it.
        let current_session = Session::new(
            Some(id),
            Arc::new(state.store.clone()),
            self.session.expiry(),
        );
        let Some(current) = record::auth(&current_session).await? else {
            // Ended while we waited: the refresh before ours was refused, or a logout.
            self.session.flush().await?;
            return Err(AppError::SessionExpired(provider.id().to_owned()));
        };
        let tokens = open_tokens(&state.cipher, &self.session, &current).await?;
        let same_access_token: bool = tokens
            .access_token
            .secret()
            .as_bytes()
            .ct_eq(used.access_token.secret().as_bytes())
            .into();
        // Refreshed while we waited: those tokens, unless they have expired already (not merely
        // within the margin, or with a short-lived provider every waiter would refresh again).
        if !same_access_token && tokens.expires_at.is_none_or(|at| at > now()) {
            tracing::debug!(provider = %provider.id(), "tokens refreshed by a concurrent request");
            return Ok(tokens);
        }
        match provider.refresh(&tokens, &current.user.subject).await {
            Ok(fresh) => {
                state.metrics.refreshed(provider.id(), "ok");
                // The rotated refresh token too; saved before the waiters get the lock.
                let updated = current.with_tokens(&fresh, &state.cipher, &id);
                current_session.insert(record::AUTH_KEY, updated).await?;
                current_session.save().await?;
                tracing::info!(provider = %provider.id(), "tokens refreshed");
                Ok(fresh)
            }
            Err(ProviderError::Refused { message, .. }) => {
                state.metrics.refreshed(provider.id(), "refused");
                tracing::info!(provider = %provider.id(), error = %message, "refresh refused");
                Err(self.end(provider).await)
            }
            Err(e) => {
                state.metrics.refreshed(provider.id(), "failed");
                Err(e.into())
            }
        }
    }

    /// Rule 11: the session ends when its tokens can no longer be refreshed.
    async fn end(&self, provider: &Provider) -> AppError {
        if let Err(e) = self.session.flush().await {
            return e.into();
        }
        AppError::SessionExpired(provider.id().to_owned())
    }
}

async fn open_tokens(
    cipher: &crate::crypto::TokenCipher,
    session: &Session,
    record: &AuthRecord,
) -> Result<ProviderTokens, AppError> {
    let id = session.id().ok_or(AppError::NotLoggedIn)?;
    match record.tokens(cipher, &id) {
        Ok(tokens) => Ok(tokens),
        Err(e) => {
            tracing::warn!(
                provider = %record.user.provider,
                error = ?e,
                "session ended: its tokens do not open with the configured keys"
            );
            session.flush().await?;
            Err(AppError::SessionExpired(record.user.provider.clone()))
        }
    }
}
