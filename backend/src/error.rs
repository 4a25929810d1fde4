//! One error type for every route, answered as DESIGN.md's JSON error shape. Messages are
//! written for the person reading them in the SPA; none ever carries a token or a secret.

use axum::{
    extract::rejection::JsonRejection,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use shared::codes;

use crate::providers::ProviderError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    InvalidState(&'static str),
    #[error("the login took too long; please start again")]
    StateExpired,
    #[error("{0}")]
    IssuerMismatch(String),
    #[error("no provider {0:?} is configured")]
    UnknownProvider(String),
    #[error("you are not logged in")]
    NotLoggedIn,
    /// The provider no longer accepts the session's tokens and they could not be refreshed.
    #[error("your session with {0} has ended; please log in again")]
    SessionExpired(String),
    /// The provider is rate limiting us for longer than is worth waiting.
    #[error("{provider} is rate limiting requests; try again in {retry_after_secs} s")]
    ProviderRateLimited {
        provider: String,
        retry_after_secs: u64,
    },
    #[error("this request must carry the header `x-csrf: 1`")]
    CsrfRequired,
    #[error("requests from origin {0:?} are not accepted")]
    ForbiddenOrigin(String),
    #[error("no such route: {0}")]
    NotFound(String),
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The provider failed or answered something unusable (rule 9): a 502 naming the provider.
    #[error("{provider}: {message}")]
    Provider { provider: String, message: String },
    #[error("the session store is unavailable")]
    StoreUnavailable(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// The machine code of DESIGN.md's error shape.
    pub fn code(&self) -> &'static str {
        self.status_and_code().1
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, codes::BAD_REQUEST),
            AppError::InvalidState(_) => (StatusCode::BAD_REQUEST, codes::INVALID_STATE),
            AppError::StateExpired => (StatusCode::BAD_REQUEST, codes::STATE_EXPIRED),
            AppError::IssuerMismatch(_) => (StatusCode::BAD_REQUEST, codes::ISSUER_MISMATCH),
            AppError::UnknownProvider(_) => (StatusCode::NOT_FOUND, codes::UNKNOWN_PROVIDER),
            AppError::NotLoggedIn => (StatusCode::UNAUTHORIZED, codes::NOT_LOGGED_IN),
            AppError::SessionExpired(_) => (StatusCode::UNAUTHORIZED, codes::SESSION_EXPIRED),
            AppError::ProviderRateLimited { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, codes::RATE_LIMITED)
            }
            AppError::CsrfRequired => (StatusCode::FORBIDDEN, codes::CSRF),
            AppError::ForbiddenOrigin(_) => (StatusCode::FORBIDDEN, codes::FORBIDDEN_ORIGIN),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, codes::NOT_FOUND),
            AppError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, codes::METHOD_NOT_ALLOWED)
            }
            AppError::Provider { .. } => (StatusCode::BAD_GATEWAY, codes::PROVIDER_ERROR),
            AppError::StoreUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, codes::STORE_UNAVAILABLE)
            }
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            AppError::Internal(e) => tracing::error!(error = %e, "internal error"),
            AppError::StoreUnavailable(e) => tracing::error!(error = %e, "session store failed"),
            AppError::Provider { provider, message } => {
                tracing::warn!(%provider, %message, "provider call failed")
            }
            _ => tracing::debug!(code, message = %self, "request refused"),
        }
        let body = shared::ApiError {
            error: code.to_owned(),
            message: self.to_string(),
        };
        let mut response = (status, Json(body)).into_response();
        if let AppError::ProviderRateLimited {
            retry_after_secs, ..
        } = self
        {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, retry_after_secs.into());
        }
        response
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        // axum's text names the field and what was wrong with it, and never echoes the body.
        AppError::BadRequest(rejection.body_text())
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        AppError::StoreUnavailable(e.to_string())
    }
}

/// What a provider's failure means for the browser: an OAuth refusal or a failure is a 502
/// naming the provider (rule 9), a long rate limit our own 429, a foreign `iss` a 400.
impl From<ProviderError> for AppError {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::RateLimited {
                provider,
                retry_after_secs,
            } => AppError::ProviderRateLimited {
                provider,
                retry_after_secs,
            },
            ProviderError::IssuerMismatch { message, .. } => AppError::IssuerMismatch(message),
            ProviderError::Unauthorized { provider } => AppError::Provider {
                provider,
                message: "refused the access token".into(),
            },
            ProviderError::Refused { provider, message }
            | ProviderError::Failed { provider, message } => {
                AppError::Provider { provider, message }
            }
        }
    }
}

/// A JSON body extractor whose rejections use the API's error shape.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}
