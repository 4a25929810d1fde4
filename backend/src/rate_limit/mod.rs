//! Every limit on how often, or how much at once, a client may ask; each refusal is a 429
//! `rate_limited` with `Retry-After`.
//!
//! - `routes.rs`: routes limited per key, as a layer (`tower_governor`): starting and finishing
//!   logins per client address (`POST /api/login/*`, `POST /api/session`), and back-channel
//!   logouts per client address and provider.
//! - `provider_calls.rs`: calls to the provider per session (rule 16).
//! - `pending_logins.rs`: logins under way, per client address and in all (rule 13).
//! - `client.rs`: who the client is (its address, read through trusted proxies): the key of the
//!   per-address limits.
//!
//! Each limiter keeps state per key, so its table grows with every new key. One task, started
//! by [`Sweeper::start`], forgets the quiet keys of every table. A limiter's constructor takes
//! the [`Sweeper`] and registers its table, so no limiter can be built without one; a new
//! limiter is a key and a constructor (a new route limit is only a [`RouteKey`]).

mod client;
mod pending_logins;
mod provider_calls;
mod routes;

use std::{
    hash::Hash,
    num::NonZeroU32,
    sync::{Arc, Weak},
    time::Duration,
};

use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};

pub use client::{ClientAddress, ClientIp};
pub use pending_logins::{Full, PendingLogins};
pub use provider_calls::ProviderCalls;
pub use routes::{BackchannelLogouts, LoginRequests};

/// How often the sweeper forgets the keys that have been quiet long enough.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// A limiter's table of keys, which grows with every new key until the sweeper trims it.
pub trait Forget: Send + Sync {
    /// Drops the keys whose state is as if they had never been seen, and the room they took.
    fn forget_quiet(&self);
}

impl<K: Hash + Eq + Clone + Send + Sync> Forget for DefaultKeyedRateLimiter<K> {
    fn forget_quiet(&self) {
        self.retain_recent();
        self.shrink_to_fit();
    }
}

/// The tables the one sweeping task trims, for as long as any of them lives.
#[derive(Default)]
pub struct Sweeper {
    tables: Vec<Weak<dyn Forget>>,
}

impl Sweeper {
    /// Adds `table` to those trimmed; the sweeper does not keep it alive.
    pub fn watch<T: Forget + 'static>(&mut self, table: &Arc<T>) {
        let table: Weak<T> = Arc::downgrade(table);
        self.tables.push(table);
    }

    /// Starts the task (on the current Tokio runtime; without one, nothing is trimmed). It ends
    /// when every table it watches has been dropped.
    pub fn start(self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.tables.is_empty() {
            return;
        }
        let mut tables = self.tables;
        runtime.spawn(async move {
            let mut every = tokio::time::interval(FORGET_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                tables.retain(|table| match table.upgrade() {
                    Some(table) => {
                        table.forget_quiet();
                        true
                    }
                    None => false,
                });
                if tables.is_empty() {
                    return;
                }
            }
        });
    }
}

/// A budget per key: `per_minute` a minute, with bursts of `burst`; 0 in either turns it off.
pub struct Budget<K: Hash + Eq + Clone> {
    limiter: Option<Arc<DefaultKeyedRateLimiter<K>>>,
}

impl<K: Hash + Eq + Clone + Send + Sync + 'static> Budget<K> {
    pub fn new(per_minute: u32, burst: u32, sweeper: &mut Sweeper) -> Self {
        let (Some(per_minute), Some(burst)) = (NonZeroU32::new(per_minute), NonZeroU32::new(burst))
        else {
            return Budget { limiter: None };
        };
        let limiter = Arc::new(RateLimiter::keyed(
            Quota::per_minute(per_minute).allow_burst(burst),
        ));
        sweeper.watch(&limiter);
        Budget {
            limiter: Some(limiter),
        }
    }

    /// One request for `key`, or how long until the next one is allowed.
    pub fn take(&self, key: &K) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counted(std::sync::atomic::AtomicUsize);

    impl Forget for Counted {
        fn forget_quiet(&self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_sweeper_trims_every_table_it_watches_until_they_are_dropped() {
        let (a, b) = (Arc::new(Counted(0.into())), Arc::new(Counted(0.into())));
        let mut sweeper = Sweeper::default();
        sweeper.watch(&a);
        sweeper.watch(&b);
        sweeper.start();
        tokio::time::sleep(FORGET_EVERY * 2 + Duration::from_secs(1)).await;
        let count = |t: &Counted| t.0.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!((count(&a), count(&b)), (2, 2));
        let weak_b = Arc::downgrade(&b);
        drop(b);
        tokio::time::sleep(FORGET_EVERY).await;
        assert_eq!(count(&a), 3, "the living table is still trimmed");
        assert!(
            weak_b.upgrade().is_none(),
            "the sweeper kept no table alive"
        );
    }

    #[test]
    fn a_budget_of_zero_is_no_limit_and_each_key_has_its_own() {
        let off = Budget::<u8>::new(0, 5, &mut Sweeper::default());
        assert!((0..100).all(|_| off.take(&1).is_ok()));
        let budget = Budget::<u8>::new(1, 2, &mut Sweeper::default());
        assert!(budget.take(&1).is_ok() && budget.take(&1).is_ok());
        let wait = budget.take(&1).expect_err("the burst is spent");
        assert!(wait > Duration::from_secs(50), "{wait:?}");
        assert!(budget.take(&2).is_ok(), "another key has its own budget");
    }
}
