//! Rule 16: calls to the provider on a person's behalf are limited per session, so one
//! logged-in loop cannot spend the application's quota at the provider (42 Intra limits per
//! application, about 2 requests a second). `server.provider_calls_per_minute` and
//! `server.provider_calls_burst`; 0 in either turns the limit off.

use std::{
    num::NonZeroU32,
    sync::{Arc, Weak},
    time::Duration,
};

use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower_sessions::session::Id;

/// How often sessions whose budget is full again are forgotten.
const FORGET_EVERY: Duration = Duration::from_secs(60);

pub struct ProviderCalls {
    limiter: Option<Arc<DefaultKeyedRateLimiter<i128>>>,
}

impl ProviderCalls {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let (Some(per_minute), Some(burst)) = (NonZeroU32::new(per_minute), NonZeroU32::new(burst))
        else {
            return ProviderCalls { limiter: None };
        };
        let limiter = Arc::new(RateLimiter::keyed(
            Quota::per_minute(per_minute).allow_burst(burst),
        ));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(forget_quiet(Arc::downgrade(&limiter)));
        }
        ProviderCalls {
            limiter: Some(limiter),
        }
    }

    /// One call for the session `id`, or how long until the next one is allowed.
    pub fn take(&self, id: &Id) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter
            .check_key(&id.0)
            .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }
}

async fn forget_quiet(limiter: Weak<DefaultKeyedRateLimiter<i128>>) {
    let mut every = tokio::time::interval(FORGET_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        let Some(limiter) = limiter.upgrade() else {
            return;
        };
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
}
