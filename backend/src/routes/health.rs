use axum::Json;
use serde_json::{json, Value};

/// Liveness: the process answers.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the session store answers. The memory store always does.
pub async fn readyz() -> Json<Value> {
    Json(json!({ "status": "ready" }))
}
