//! One error type for every route, answered as docs/design.md's JSON error shape. Messages are
//! written for the person reading them in the SPA; none ever carries a token or a secret.

use axum::{
    extract::rejection::JsonRejection,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use shared::codes;

use crate::providers::ProviderError;

/// What a route answers when it cannot do what was asked: a status, and the JSON error shape
/// of docs/design.md (`{"error": code, "message": …}`). An app's own handlers return it too;
/// each variant's message is what the person reads.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A request that cannot be read or makes no sense (400 `bad_request`): the message says
    /// what is wrong with it.
    #[error("{0}")]
    BadRequest(String),
    /// Rule 20: the rest of a gateway path climbs out of its upstream's base (400).
    #[error("the path {0} leaves the app it is addressed to (a `.` or `..` segment, raw or percent-encoded)")]
    BadPath(String),
    /// `GET /api/auth?policy=NAME` with no `[policies.NAME]` configured (400).
    #[error("no policy {0:?} is configured")]
    UnknownPolicy(String),
    /// A callback whose `state` is not the login attempt's (400).
    #[error("{0}")]
    InvalidState(&'static str),
    /// A callback after the login attempt expired (400).
    #[error("the login took too long; please start again")]
    StateExpired,
    /// A callback's `iss` is not the provider's (400, RFC 9207).
    #[error("{0}")]
    IssuerMismatch(String),
    /// A provider id that is not configured (404).
    #[error("no provider {0:?} is configured")]
    UnknownProvider(String),
    /// No session, or an ended one (401): what [`CurrentUser`](crate::CurrentUser) answers.
    #[error("you are not logged in")]
    NotLoggedIn,
    /// The provider no longer accepts the session's tokens and they could not be refreshed.
    #[error("your session with {0} has ended; please log in again")]
    SessionExpired(String),
    /// The provider is rate limiting us for longer than is worth waiting.
    #[error("{provider} is rate limiting requests; try again in {retry_after_secs} s")]
    ProviderRateLimited {
        /// The provider's id.
        provider: String,
        /// Sent as `Retry-After`.
        retry_after_secs: u64,
    },
    /// Rule 16: this session called the provider more often than its budget allows.
    #[error("too many calls to {provider} from this session; try again in {retry_after_secs} s")]
    SessionRateLimited {
        /// The provider's id.
        provider: String,
        /// Sent as `Retry-After`.
        retry_after_secs: u64,
    },
    /// The app behind an upstream could not be reached (docs/design.md, "Errors": 502).
    #[error("the app behind {0} is not answering")]
    UpstreamUnavailable(String),
    /// The app behind an upstream did not answer within its `timeout_secs` (504).
    #[error("the app behind {0} did not answer in time")]
    UpstreamTimeout(String),
    /// A request body over the upstream's `max_body_bytes` (413).
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(u64),
    /// A back-channel logout token that does not verify (Back-Channel Logout 1.0 §2.8: 400).
    #[error("the logout token is refused: {0}")]
    InvalidLogoutToken(String),
    /// Rule 18: the person matches none of the provider's access rules (403).
    #[error("{0}")]
    AccessDenied(String),
    /// A policy's `max_age_secs`: the login is older (401); the body carries `max_age`, what
    /// the login asked for again should send (docs/design.md, "Policies per app").
    #[error(
        "this app wants a login from the last {max_age} s (policy {policy:?}); please log in again"
    )]
    ReauthenticationRequired {
        /// The policy that wants the newer login.
        policy: String,
        /// How recent, in seconds: what the new login asks the provider for (`max_age`).
        max_age: u64,
    },
    /// A step-up login came back as another person than the session it would replace (403);
    /// that session stays as it was.
    #[error("{0}")]
    AnotherPerson(String),
    /// Rule 16: the request did not finish (its body read, its answer begun) in time.
    #[error("the request took longer than {0} s")]
    RequestTimeout(u64),
    /// Rule 13: too many logins are under way, from this address or in all.
    #[error("{}", too_many_logins(.0))]
    TooManyLogins(crate::rate_limit::Full),
    /// A state-changing request without `x-csrf: 1` (403).
    #[error("this request must carry the header `x-csrf: 1`")]
    CsrfRequired,
    /// A state-changing request from another origin than `server.public_origin` (403).
    #[error("requests from origin {0:?} are not accepted")]
    ForbiddenOrigin(String),
    /// No such route (404).
    #[error("no such route: {0}")]
    NotFound(String),
    /// A route that does not take this method (405).
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The provider failed or answered something unusable (rule 9): a 502 naming the provider,
    /// and no internal address (rule 15); `detail` goes to the log only.
    #[error("{provider}: {message}")]
    Provider {
        /// The provider's id.
        provider: String,
        /// What the browser reads.
        message: String,
        /// What the log reads.
        detail: String,
    },
    /// The session store did not answer (503); the cause goes to the log only.
    #[error("the session store is unavailable")]
    StoreUnavailable(String),
    /// Anything else (500): logged, and answered as "internal error" alone.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// The machine code of docs/design.md's error shape.
    pub fn code(&self) -> &'static str {
        self.status_and_code().1
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, codes::BAD_REQUEST),
            AppError::BadPath(_) => (StatusCode::BAD_REQUEST, codes::BAD_PATH),
            AppError::UnknownPolicy(_) => (StatusCode::BAD_REQUEST, codes::UNKNOWN_POLICY),
            AppError::InvalidState(_) => (StatusCode::BAD_REQUEST, codes::INVALID_STATE),
            AppError::StateExpired => (StatusCode::BAD_REQUEST, codes::STATE_EXPIRED),
            AppError::IssuerMismatch(_) => (StatusCode::BAD_REQUEST, codes::ISSUER_MISMATCH),
            AppError::UnknownProvider(_) => (StatusCode::NOT_FOUND, codes::UNKNOWN_PROVIDER),
            AppError::NotLoggedIn => (StatusCode::UNAUTHORIZED, codes::NOT_LOGGED_IN),
            AppError::SessionExpired(_) => (StatusCode::UNAUTHORIZED, codes::SESSION_EXPIRED),
            AppError::ReauthenticationRequired { .. } => {
                (StatusCode::UNAUTHORIZED, codes::REAUTHENTICATION_REQUIRED)
            }
            AppError::AnotherPerson(_) => (StatusCode::FORBIDDEN, codes::ANOTHER_PERSON),
            AppError::ProviderRateLimited { .. }
            | AppError::SessionRateLimited { .. }
            | AppError::TooManyLogins(_) => (StatusCode::TOO_MANY_REQUESTS, codes::RATE_LIMITED),
            AppError::RequestTimeout(_) => (StatusCode::REQUEST_TIMEOUT, codes::REQUEST_TIMEOUT),
            AppError::UpstreamUnavailable(_) => {
                (StatusCode::BAD_GATEWAY, codes::UPSTREAM_UNAVAILABLE)
            }
            AppError::UpstreamTimeout(_) => (StatusCode::GATEWAY_TIMEOUT, codes::UPSTREAM_TIMEOUT),
            AppError::PayloadTooLarge(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, codes::PAYLOAD_TOO_LARGE)
            }
            AppError::AccessDenied(_) => (StatusCode::FORBIDDEN, codes::ACCESS_DENIED),
            AppError::InvalidLogoutToken(_) => {
                (StatusCode::BAD_REQUEST, codes::INVALID_LOGOUT_TOKEN)
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
            AppError::Provider {
                provider, detail, ..
            } => tracing::warn!(%provider, %detail, "provider call failed"),
            _ => tracing::debug!(code, message = %self, "request refused"),
        }
        let body = shared::ApiError {
            error: code.to_owned(),
            message: self.to_string(),
        };
        let mut response = match self {
            // The shape of every error, and one field more (a compatible addition): the
            // `max_age` the login asked for again should carry.
            AppError::ReauthenticationRequired { max_age, .. } => {
                let mut body = serde_json::to_value(&body).unwrap_or_default();
                body["max_age"] = max_age.into();
                (status, Json(body)).into_response()
            }
            _ => (status, Json(body)).into_response(),
        };
        let retry_after = match self {
            AppError::ProviderRateLimited {
                retry_after_secs, ..
            }
            | AppError::SessionRateLimited {
                retry_after_secs, ..
            } => Some(retry_after_secs),
            AppError::TooManyLogins(
                crate::rate_limit::Full::Address { retry_after }
                | crate::rate_limit::Full::Everyone { retry_after },
            ) => Some(retry_after.as_secs().max(1)),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        // axum's text names the field and what was wrong with it, and never echoes the body.
        crate::routes::body::refused(rejection.status(), rejection.body_text())
    }
}

/// The store did not answer (in time): 503 `store_unavailable`, as everywhere.
impl From<crate::session::Unavailable> for AppError {
    fn from(e: crate::session::Unavailable) -> Self {
        AppError::StoreUnavailable(e.to_string())
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        AppError::StoreUnavailable(e.to_string())
    }
}

fn too_many_logins(full: &crate::rate_limit::Full) -> String {
    match full {
        crate::rate_limit::Full::Address { retry_after } => format!(
            "too many logins are under way from your address; try again in {} s",
            retry_after.as_secs().max(1)
        ),
        crate::rate_limit::Full::Everyone { retry_after } => format!(
            "too many logins are under way right now; try again in {} s",
            retry_after.as_secs().max(1)
        ),
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
                detail: "refused the access token".into(),
            },
            ProviderError::Refused { provider, message } => AppError::Provider {
                provider,
                detail: message.clone(),
                message,
            },
            ProviderError::Failed {
                provider,
                message,
                detail,
            } => AppError::Provider {
                provider,
                message,
                detail,
            },
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
