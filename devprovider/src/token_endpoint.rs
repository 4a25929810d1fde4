//! The token endpoint's frame, the same in every dialect (each answers inside it).

use std::future::Future;

use axum::http::HeaderMap;
use axum::response::Response;

use crate::oauth::Params;
use crate::state::AppState;

/// What every dialect's token endpoint does around its own answer: the request is counted,
/// valid or not (which is why bodies are read raw), and the answer to a `refresh_token` grant
/// waits for the refresh delay (`DevProvider::set_refresh_delay`) after it was decided.
pub async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    answer: impl Future<Output = Response>,
) -> Response {
    state.count(|s| s.token_requests += 1);
    let response = answer.await;
    let is_refresh = Params::parse_body(headers, body)
        .is_ok_and(|params| params.get("grant_type") == Some("refresh_token"));
    let delay = state.refresh_delay();
    if is_refresh && !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    response
}
