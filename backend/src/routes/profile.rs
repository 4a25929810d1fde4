//! `GET /api/profile` (docs/design.md, "The flow", step 7): the live profile from the provider with the stored
//! access token, refreshed first when it has expired (or is about to).

use axum::{extract::State, Json};
use shared::ProfileResponse;

use crate::{
    error::AppError,
    providers::{ProviderError, Providers},
    session::CurrentUser,
};

pub async fn profile(
    State(providers): State<Providers>,
    user: CurrentUser,
) -> Result<Json<ProfileResponse>, AppError> {
    let provider = providers
        .get(&user.user().provider)
        .ok_or_else(|| AppError::UnknownProvider(user.user().provider.clone()))?;
    let profile = user
        .call_provider(|tokens| async move { provider.profile(&tokens).await })
        .await?;
    // Token substitution defense: the answer must be about the person of this session.
    if profile.user.subject != user.user().subject {
        return Err(ProviderError::failed(
            provider.id(),
            "the profile belongs to another person than this session's",
        )
        .into());
    }
    Ok(Json(ProfileResponse {
        user: profile.user,
        details: profile.details,
        raw: profile.raw,
    }))
}
