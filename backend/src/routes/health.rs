use axum::{extract::State, Json};
use serde_json::{json, Value};

use crate::{error::AppError, state::AppState};

/// Liveness: the process answers.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the session store answers (the memory store always does); otherwise 503
/// `store_unavailable`, so a load balancer sends no one here meanwhile.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    state
        .store
        .ping()
        .await?;
    Ok(Json(json!({ "status": "ready" })))
}
