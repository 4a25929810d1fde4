//! Logging, set up once. Log lines name providers, subjects and routes; never a token, a code,
//! a secret or a query string (a callback URL carries a code).

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_env("PORTERO_LOG")
        .unwrap_or_else(|_| EnvFilter::new("portero=info,tower_http=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
