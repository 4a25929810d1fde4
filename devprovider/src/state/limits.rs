//! Test knobs and limits: `throttle_next` and the per-client sliding window of
//! `rate_limit_per_sec` (429s), and the refresh delay.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use super::AppState;

#[derive(Default)]
pub struct Limiter {
    throttled_calls: usize,
    throttle_retry_after: u64,
    recent: HashMap<String, VecDeque<Instant>>,
}

impl AppState {
    /// See `DevProvider::throttle_next`.
    pub fn throttle_next(&self, calls: usize, retry_after_secs: u64) {
        let mut limiter = self.limiter();
        limiter.throttled_calls = calls;
        limiter.throttle_retry_after = retry_after_secs;
    }

    /// Uses up one throttled call, if any are left: `Some(retry_after_secs)` means answer 429.
    pub fn take_throttle(&self) -> Option<u64> {
        let mut limiter = self.limiter();
        if limiter.throttled_calls == 0 {
            return None;
        }
        limiter.throttled_calls -= 1;
        Some(limiter.throttle_retry_after)
    }

    /// Counts an API call of `client_id` against `rate_limit_per_sec` (a one-second sliding
    /// window): `Some(1)` means over the limit, answer 429 with `Retry-After: 1`. Refused calls
    /// don't count, so a client that waits gets through.
    pub fn rate_limit(&self, client_id: &str) -> Option<u64> {
        let limit = usize::try_from(self.rate_limit_per_sec?).unwrap_or(usize::MAX);
        let now = Instant::now();
        let mut limiter = self.limiter();
        let recent = limiter.recent.entry(client_id.to_owned()).or_default();
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            recent.pop_front();
        }
        if recent.len() >= limit {
            return Some(1);
        }
        recent.push_back(now);
        None
    }

    /// See `DevProvider::set_refresh_delay`.
    pub fn set_refresh_delay(&self, delay: Duration) {
        let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
        self.refresh_delay.store(nanos, Ordering::Relaxed);
    }

    pub fn refresh_delay(&self) -> Duration {
        Duration::from_nanos(self.refresh_delay.load(Ordering::Relaxed))
    }

    fn limiter(&self) -> MutexGuard<'_, Limiter> {
        self.limiter.lock().unwrap_or_else(|e| e.into_inner())
    }
}
