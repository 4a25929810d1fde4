//! `GET /api/profile` (DESIGN.md step 7): the live profile from the provider with the stored
//! access token, refreshed first when it has expired (or is about to).

use axum::{extract::State, Json};
use shared::ProfileResponse;
use tower_sessions::Session;

use crate::{
    error::AppError,
    providers::CallError,
    session_life::{self, end, refreshed_tokens},
    startup::AppState,
};

pub async fn profile(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<ProfileResponse>, AppError> {
    let record = session_life::logged_in(&state, &session).await?;
    let provider = state.providers.get(&record.user.provider)?;
    let mut tokens = session_life::open_tokens(&state, &session, &record).await?;
    // Single flight (session_life.rs): one refresh per session, however many requests wait.
    if session_life::needs_refresh(&tokens) {
        tokens = refreshed_tokens(&state, &session, provider, &tokens).await?;
    }
    let started = std::time::Instant::now();
    let first = provider.profile(&tokens).await;
    state
        .metrics
        .provider_call_took(provider.id(), started.elapsed());
    let profile = match first {
        Ok(profile) => profile,
        // Revoked or expired early at the provider: one refresh, then one more try.
        Err(CallError::Unauthorized) => {
            tokens = refreshed_tokens(&state, &session, provider, &tokens).await?;
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
