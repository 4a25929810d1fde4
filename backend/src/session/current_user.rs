//! `CurrentUser`: who is logged in, as an extractor. A handler that takes it cannot forget the
//! check: without a session it answers 401 `not_logged_in`, past the absolute lifetime 401
//! `session_expired` (the session deleted), and the idle expiry slides as the session is used.

use axum::{
    extract::{FromRef, FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
};
use shared::User;
use tower_sessions::Session;

use super::{layer::LockSlot, life, AuthRecord};
use crate::{error::AppError, state::AppState};

/// The logged-in person of this request, with what calls the provider as them
/// ([`CurrentUser::call_provider`], [`CurrentUser::access_token`]).
pub struct CurrentUser {
    pub(super) state: AppState,
    pub(super) session: Session,
    pub(super) record: AuthRecord,
    expires_at: i64,
}

impl CurrentUser {
    pub fn user(&self) -> &User {
        &self.record.user
    }

    /// When the session ends unless used again (seconds since the Unix epoch).
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// When the person logged in (seconds since the Unix epoch).
    pub fn logged_in_at(&self) -> i64 {
        self.record.logged_in_at
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
        let config = &state.config.session;
        let record = life::logged_in(config, &session).await?;
        let slot = parts.extensions.get::<LockSlot>();
        let expires_at =
            life::extend_idle(config, &state.session_locks, slot, &session, &record).await?;
        Ok(CurrentUser {
            state,
            session,
            record,
            expires_at,
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
