//! `CurrentUser`: who is logged in, as an extractor. A handler that takes it cannot forget the
//! check: without a session it answers 401 `not_logged_in`, past the absolute lifetime 401
//! `session_expired` (the session deleted), and the idle expiry slides as the session is used.

use std::sync::Arc;

use axum::{
    extract::{FromRef, FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
};
use shared::User;
use tower_sessions::Session;

use super::{
    life,
    lock::{Held, RequestLock},
    store::Key,
    LoginRecord,
};
use crate::{audit, error::AppError, state::AppState};

/// The logged-in person of this request, with what calls the provider as them
/// ([`CurrentUser::call_provider`], [`CurrentUser::access_token`]).
pub struct CurrentUser {
    pub(super) state: AppState,
    pub(super) session: Session,
    pub(super) record: Arc<LoginRecord>,
    expires_at: i64,
    /// The request's hold on this session's lock (session/lock.rs, ordering rule 3).
    request_lock: Option<RequestLock>,
    /// Who sent the request, for the audit trail.
    client: audit::Client,
}

impl CurrentUser {
    /// The person, as their provider named them at login.
    pub fn user(&self) -> &User {
        &self.record.user
    }

    /// The person's address when the provider says it is verified (rule 21): what an app may
    /// take as theirs. `user().email` is the address as the provider gave it, verified or not,
    /// for showing to the person.
    pub fn verified_email(&self) -> Option<&str> {
        let email = self.record.user.email.as_deref();
        email.filter(|_| self.record.email_verified)
    }

    /// When the session ends unless used again (seconds since the Unix epoch).
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// When the person logged in (seconds since the Unix epoch).
    pub fn logged_in_at(&self) -> i64 {
        self.record.logged_in_at
    }

    /// When the person last authenticated at their provider (the id_token's `auth_time`, else
    /// the login's time): what a policy's `max_age_secs` measures.
    pub fn authenticated_at(&self) -> i64 {
        self.record.authenticated_at()
    }

    /// Who sent this request (address and user agent), for the audit trail.
    pub(crate) fn client(&self) -> &audit::Client {
        &self.client
    }

    /// This session's key in the store.
    pub(crate) fn key(&self) -> Result<Key, AppError> {
        let id = self.session.id().ok_or(AppError::NotLoggedIn)?;
        Ok(Key::of_session(&id))
    }

    /// This session's lock: the one this request holds already, or taken now.
    pub(super) async fn lock(&self) -> Result<Held, AppError> {
        RequestLock::lock(self.request_lock.as_ref(), &self.state, self.key()?).await
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let state = AppState::from_ref(state);
        let session = Session::from_request_parts(parts, &state)
            .await
            .map_err(|(_, why)| AppError::Internal(anyhow::anyhow!("no session layer: {why}")))?;
        let request_lock = parts.extensions.get::<RequestLock>().cloned();
        let (record, expires_at) = match life::unchanged(&state, &session).await? {
            Some(found) => found,
            None => {
                let record = life::logged_in(&state.config.session, &session).await?;
                let lock = request_lock.as_ref();
                let (record, ends) = life::extend_idle(&state, lock, &session, record).await?;
                (Arc::new(record), ends)
            }
        };
        Ok(CurrentUser {
            client: audit::Client::of(parts, &state),
            state,
            session,
            record,
            expires_at,
            request_lock,
        })
    }
}

/// `Option<CurrentUser>`: `None` without a session (or past its lifetime), for routes where
/// logging in is optional; a store that fails is still an error.
impl<S> OptionalFromRequestParts<S> for CurrentUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, AppError> {
        match <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(user) => Ok(Some(user)),
            Err(AppError::NotLoggedIn | AppError::SessionExpired(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
