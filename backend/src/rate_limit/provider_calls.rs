//! Rule 16: calls to the provider on a person's behalf are limited per session, so one
//! logged-in loop cannot spend the application's quota at the provider (42 Intra limits per
//! application, about 2 requests a second). `server.provider_calls_per_minute` and
//! `server.provider_calls_burst`; 0 in either turns the limit off.

use std::time::Duration;

use tower_sessions::session::Id;

use super::{Budget, Sweeper};

pub struct ProviderCalls {
    budget: Budget<i128>,
}

impl ProviderCalls {
    pub fn new(per_minute: u32, burst: u32, sweeper: &mut Sweeper) -> Self {
        ProviderCalls {
            budget: Budget::new(per_minute, burst, sweeper),
        }
    }

    /// One call for the session `id`, or how long until the next one is allowed.
    pub fn take(&self, id: &Id) -> Result<(), Duration> {
        self.budget.take(&id.0)
    }
}
