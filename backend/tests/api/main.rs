//! The backend through its real HTTP surface: one file per concern, tests named for what
//! must hold.

mod fake_oidc;
mod helpers;
mod logs;
mod redis_server;
mod sessions_support;
mod sockets_support;
mod upstream;

mod access_rules;
mod attacks_callback;
mod attacks_discovery;
mod attacks_flood;
mod attacks_gateway;
mod attacks_headers;
mod attacks_identity;
mod attacks_logout_token;
mod attacks_provider;
mod attacks_race;
mod attacks_rate_limit;
mod attacks_return_to;
mod attacks_session;
mod attacks_slow_clients;
mod backchannel;
mod csrf_and_errors;
mod forward_auth;
mod gateway;
mod gateway_paths;
mod id_token;
mod leakage;
mod login_flow;
mod metrics;
mod policies;
mod providers;
mod security_rules;
mod sessions_control;
mod sessions_lifetime;
mod sessions_locks;
mod sessions_redis;
mod sessions_sealed;
mod sessions_sqlite;
mod sockets_end_with_sessions;
mod sockets_limits;
mod static_files;
mod verified_email;
