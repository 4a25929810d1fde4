//! Sessions people control (docs/design.md): `GET /api/sessions`, `DELETE /api/sessions/{id}`, and
//! the provider's `POST /api/backchannel-logout/{provider}` (OpenID Connect Back-Channel
//! Logout 1.0).

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Form, Json,
};
use serde::Deserialize;
use shared::SessionInfo;

use crate::{
    audit,
    error::AppError,
    providers::LOGOUT_TOKEN_MAX_AGE,
    session::{self, CurrentUser},
    state::AppState,
};

/// `GET /api/sessions`: the person's sessions, this browser's first.
pub async fn list(user: CurrentUser) -> Result<Json<Vec<SessionInfo>>, AppError> {
    Ok(Json(user.sessions().await?))
}

/// `DELETE /api/sessions/{id}`: ends one of the person's own sessions; 404 for any other id.
pub async fn end(user: CurrentUser, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    user.end_session(&id).await?;
    audit::session_ended(&user, &id);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct LogoutTokenForm {
    logout_token: String,
}

/// `POST /api/backchannel-logout/{provider}`: the provider says a session of its own ended;
/// every Portero session of it ends, on every replica. 200, or 400 `invalid_logout_token` (the
/// one `/api` route without `x-csrf`: the signed token is its proof). Never cached (§2.8).
pub async fn backchannel_logout(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    client: audit::Client,
    form: Result<Form<LogoutTokenForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    // Who the token named, once it verified.
    let mut subject = None;
    let result = async {
        let Form(form) = form.map_err(|e| AppError::InvalidLogoutToken(e.body_text()))?;
        let provider = state
            .providers
            .get(&provider)
            .ok_or_else(|| AppError::UnknownProvider(provider.chars().take(64).collect()))?;
        let token = provider
            .logout_token(&form.logout_token)
            .await
            .map_err(AppError::InvalidLogoutToken)?;
        subject.clone_from(&token.sub);
        // §2.6 step 9: a token is good once.
        let seen = session::seen_key(provider.id(), &token.jti);
        let remember_until = (token.iat + LOGOUT_TOKEN_MAX_AGE + 60) * 1000;
        if !state
            .store
            .first_sight(&seen, remember_until)
            .await?
        {
            return Err(AppError::InvalidLogoutToken(
                "its jti was used before".into(),
            ));
        }
        let ended = session::end_for_provider(
            &state,
            provider.id(),
            token.sid.as_deref(),
            token.sub.as_deref(),
        )
        .await?;
        tracing::info!(provider = %provider.id(), sessions = ended, "back-channel logout");
        Ok::<_, AppError>(ended)
    }
    .await;
    // Only a configured id is written as the provider: a request cannot put text of its
    // choosing in the trail.
    let label = state.providers.get(&provider).map_or("unknown", |p| p.id());
    let outcome = result.as_ref().map_or_else(AppError::code, |_| "ok");
    let ended = result.as_ref().map_or(0, |ended| *ended);
    audit::backchannel_logout(&client, label, subject.as_deref(), ended, outcome);
    let mut response = match result {
        Ok(_) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
