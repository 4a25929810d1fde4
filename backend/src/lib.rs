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

#![warn(missing_docs)]

pub mod assertion;
/// The audit trail: one event per login, logout and ended session, on `portero::audit`.
pub mod audit;
pub mod config;
mod portero;
pub mod startup;

// The rest is the binary's and the tests' own; its items are not part of the library's API.
#[doc(hidden)]
pub mod crypto;
#[doc(hidden)]
pub mod error;
#[doc(hidden)]
pub mod gateway;
#[doc(hidden)]
pub mod http_client;
#[doc(hidden)]
pub mod keys;
#[doc(hidden)]
pub mod metrics;
#[doc(hidden)]
pub mod providers;
#[doc(hidden)]
pub mod rate_limit;
#[doc(hidden)]
pub mod routes;
#[doc(hidden)]
pub mod security_headers;
#[doc(hidden)]
pub mod session;
#[doc(hidden)]
pub mod state;
#[doc(hidden)]
pub mod static_files;
#[doc(hidden)]
pub mod telemetry;

pub use config::Config;
pub use error::AppError;
pub use portero::Portero;
pub use providers::ProviderError;
pub use session::CurrentUser;
pub use shared::User;
pub use state::AppState;
