use axum::Json;
use shared::MeResponse;

use crate::session::CurrentUser;

/// `GET /api/me`: the session's user, from the session alone (no provider call). 401
/// `session_expired` past `session.absolute_timeout_secs` since the login; each call slides the
/// idle expiry (written at most once per twentieth of the idle window).
pub async fn me(user: CurrentUser) -> Json<MeResponse> {
    Json(MeResponse {
        expires_at: user.expires_at(),
        user: user.user().clone(),
    })
}
