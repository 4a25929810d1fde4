//! The backend through its real HTTP surface: one file per concern, tests named for what
//! must hold.

mod fake_oidc;
mod helpers;
mod logs;

mod csrf_and_errors;
mod id_token;
mod leakage;
mod login_flow;
mod security_rules;
