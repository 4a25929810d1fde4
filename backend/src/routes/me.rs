use axum::{extract::State, Json};
use shared::MeResponse;
use tower_sessions::{Expiry, Session};

use crate::{error::AppError, session, startup::AppState};

/// `GET /api/me`: the session's user, from the session alone (no provider call).
pub async fn me(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<MeResponse>, AppError> {
    let record = session::auth(&session)
        .await?
        .ok_or(AppError::NotLoggedIn)?;
    // Sliding expiry without a store write on every request: extend once a twentieth of the
    // idle window has passed.
    let idle =
        time::Duration::try_from(state.config.session.idle_timeout).unwrap_or(time::Duration::DAY);
    let remaining = session.expiry_date() - time::OffsetDateTime::now_utc();
    if remaining < idle - idle / 20 {
        session.set_expiry(Some(Expiry::OnInactivity(idle)));
    }
    Ok(Json(MeResponse {
        user: record.user,
        expires_at: session.expiry_date().unix_timestamp(),
    }))
}
