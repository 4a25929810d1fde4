//! `GET /api/profile` (DESIGN.md step 7): the live profile from the provider with the stored
//! access token, refreshed first when it has expired (or is about to).

use axum::{extract::State, Json};
use shared::ProfileResponse;
use tower_sessions::Session;

use crate::{
    error::AppError,
    providers::{CallError, Provider, REFRESH_MARGIN_SECS},
    session::{self, AuthRecord, ProviderTokens},
    startup::AppState,
};

pub async fn profile(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<ProfileResponse>, AppError> {
    let record = session::auth(&session)
        .await?
        .ok_or(AppError::NotLoggedIn)?;
    let provider = state.providers.get(&record.user.provider)?;
    let mut tokens = record.tokens(&state.cipher)?;
    if tokens
        .expires_at
        .is_some_and(|at| at <= session::now() + REFRESH_MARGIN_SECS)
    {
        tokens = refresh(&state, &session, provider, &record, &tokens).await?;
    }
    let profile = match provider.profile(&tokens).await {
        Ok(profile) => profile,
        // Revoked or expired early at the provider: one refresh, then one more try.
        Err(CallError::Unauthorized) => {
            tokens = refresh(&state, &session, provider, &record, &tokens).await?;
            match provider.profile(&tokens).await {
                Ok(profile) => profile,
                Err(CallError::Unauthorized) => return Err(end(&session, provider).await),
                Err(CallError::Failed(e)) => return Err(e),
            }
        }
        Err(CallError::Failed(e)) => return Err(e),
    };
    // Token substitution defense: the answer must be about the person of this session.
    if profile.user.subject != record.user.subject {
        return Err(AppError::provider(
            provider.id(),
            "the profile belongs to another person than this session's",
        ));
    }
    Ok(Json(ProfileResponse {
        user: profile.user,
        details: profile.details,
        raw: profile.raw,
    }))
}

async fn refresh(
    state: &AppState,
    session: &Session,
    provider: &Provider,
    record: &AuthRecord,
    tokens: &ProviderTokens,
) -> Result<ProviderTokens, AppError> {
    match provider.refresh(tokens).await {
        Ok(fresh) => {
            session::replace_tokens(session, record, &fresh, &state.cipher).await?;
            tracing::info!(provider = %provider.id(), "tokens refreshed");
            Ok(fresh)
        }
        Err(AppError::SessionExpired(_)) => Err(end(session, provider).await),
        Err(e) => Err(e),
    }
}

/// Rule 11: the session ends when its tokens can no longer be refreshed.
async fn end(session: &Session, provider: &Provider) -> AppError {
    if let Err(e) = session.flush().await {
        return e.into();
    }
    AppError::SessionExpired(provider.id().to_owned())
}
