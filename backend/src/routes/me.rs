use axum::{extract::State, http::Extensions, Json};
use shared::MeResponse;
use tower_sessions::Session;

use crate::{error::AppError, session_life, startup::AppState};

/// `GET /api/me`: the session's user, from the session alone (no provider call).
pub async fn me(
    State(state): State<AppState>,
    session: Session,
) -> Result<(Option<Extensions>, Json<MeResponse>), AppError> {
    // 401 `session_expired` past `session.absolute_timeout_secs` since the login.
    let record = session_life::logged_in(&state, &session).await?;
    // Sliding idle expiry, written at most once per twentieth of the idle window.
    let extended = session_life::extend_idle(&state, &session, &record).await?;
    Ok((
        extended.held,
        Json(MeResponse {
            user: record.user,
            expires_at: extended.expires_at,
        }),
    ))
}
