//! Portero's backend: a backend-for-frontend (RFC 10017 §6.1) that keeps the client secret and
//! the provider tokens and hands the browser an HttpOnly session cookie — the `portero` binary,
//! and a library for Rust apps that want the same login in process ([`Portero`]).
//!
//! For a reader of the code: start at `startup.rs`, then `routes/`; `session/` keeps the
//! sessions, `providers/` talks to the providers, `gateway/` forwards to the apps behind Portero.
//!
//! The library, in short: build a [`Portero`] from a [`Config`], add your routes with
//! [`Portero::router_with`], take [`CurrentUser`] (or `Option<CurrentUser>`) in your handlers,
//! and call the provider as the person with [`CurrentUser::call_provider`] or
//! [`CurrentUser::access_token`]. An app in another process checks Portero's
//! `X-Portero-Assertion` with [`assertion::AssertionVerifier`].
//!
//! That is the whole API, with what it hands out: [`AppError`] (what a handler returns),
//! [`ProviderTokens`] (what `call_provider` gives, with [`IdToken`], [`TokenType`] and
//! [`DpopKey`]), [`ProviderError`] (what its call returns), [`User`], [`AppState`] (the routes'
//! state), the [`config`] types, [`ClientKey`] (`client_key_file`), [`startup::Application`]
//! (Portero alone, as the `portero` binary runs it), [`telemetry::init`] (its logs) and
//! [`audit::TARGET`]. The other modules are the crate's own: the `internals` feature makes them
//! public for its integration tests and benchmarks, and keeps nothing in them stable.

#![warn(missing_docs)]

/// Declares the modules the library does not offer: crate-private, or public with the
/// `internals` feature, which the crate's own integration tests and benchmarks turn on to reach
/// inside (the store's keys, the session record, the pieces they time). `missing_docs` asks
/// for the API's documentation, which these are not.
macro_rules! internal {
    ($($module:ident),* $(,)?) => {$(
        #[cfg(feature = "internals")]
        #[allow(missing_docs)]
        pub mod $module;
        #[cfg(not(feature = "internals"))]
        pub(crate) mod $module;
    )*};
}

pub mod assertion;
/// The audit trail: one event per login, logout and ended session, on `portero::audit`.
pub mod audit;
pub mod config;
mod portero;
pub mod startup;
pub mod telemetry;

internal!(
    crypto,
    error,
    gateway,
    http_client,
    keys,
    metrics,
    providers,
    rate_limit,
    routes,
    security_headers,
    session,
    state,
    static_files,
);

pub use config::Config;
pub use error::AppError;
pub use portero::Portero;
pub use providers::{ClientKey, DpopKey, ProviderError};
pub use session::{CurrentUser, IdToken, ProviderTokens, TokenType};
pub use shared::User;
pub use state::AppState;
