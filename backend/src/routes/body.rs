//! The API's request bodies: small JSON, refused early when larger, and every refusal in the
//! API's error shape (axum's own rejections are plain text).

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::StatusCode,
};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// JSON bodies of this API are a few hundred bytes; refuse anything far larger early.
pub(crate) const MAX_API_BODY: usize = 16 * 1024;

/// A body axum refused: over [`MAX_API_BODY`] is a 413, anything else a 400 saying why.
pub(crate) fn refused(status: StatusCode, why: String) -> AppError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge(MAX_API_BODY as u64)
    } else {
        AppError::BadRequest(why)
    }
}

/// An optional JSON body: none at all, or only whitespace, is `T::default()` (`{}`). Read as
/// bytes, whatever its `Content-Type`, so a bare `fetch` with no headers works too.
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|e| refused(e.status(), e.body_text()))?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        let refused = |e: &dyn std::fmt::Display| {
            AppError::BadRequest(format!("the body is not valid JSON for this route: {e}"))
        };
        // The path names the field at fault (`max_age: invalid value …`), which serde alone
        // leaves out of a wrong value's message.
        let mut json = serde_json::Deserializer::from_slice(&body);
        let value = serde_path_to_error::deserialize(&mut json).map_err(|e| refused(&e))?;
        json.end().map_err(|e| refused(&e))?;
        Ok(OptionalJson(value))
    }
}
