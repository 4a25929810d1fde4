//! Portero's backend: a backend-for-frontend (RFC 10017 §6.1) that keeps the client secret and
//! the provider tokens and hands the browser an HttpOnly session cookie. Start at `startup.rs`,
//! then `routes/`; `session/` keeps the sessions, `providers/` talks to the providers.

pub mod assertion;
pub mod config;
pub mod crypto;
pub mod error;
pub mod gateway;
pub mod http_client;
pub mod keys;
pub mod metrics;
pub mod providers;
pub mod rate_limit;
pub mod routes;
pub mod security_headers;
pub mod session;
pub mod startup;
pub mod state;
pub mod static_files;
pub mod telemetry;
