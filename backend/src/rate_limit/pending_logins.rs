//! Rule 13: login attempts under way are bounded, per client address and in all, so a flood of
//! `POST /api/login` cannot fill memory, the disk or Redis. The rate limit alone does not do
//! it: it counts per address, and one IPv6 /48 holds 65,536 of its /64 "addresses".
//!
//! Counted in this process: an attempt holds its place until it is used here or its
//! `login_timeout_secs` has passed (one used on another replica keeps its place here until
//! then: the count errs on the safe side). With N replicas the store holds at most N times the
//! total.

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use super::{Forget, Sweeper};

/// Why an attempt could not start: the cap that is full, and when a place frees up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Address { retry_after: Duration },
    Everyone { retry_after: Duration },
}

/// The places of the attempts under way.
#[derive(Debug)]
pub struct PendingLogins {
    per_address: usize,
    ttl: Duration,
    places: Arc<Mutex<Places>>,
}

#[derive(Debug, Default)]
struct Places {
    /// The cap on places in all.
    total: usize,
    /// Oldest first: (when the place frees up, its address, its id).
    queue: VecDeque<(Instant, IpAddr, u64)>,
    /// The ids still holding a place, with their address.
    live: HashMap<u64, IpAddr>,
    per_address: HashMap<IpAddr, usize>,
}

impl Places {
    fn free(&mut self, id: u64) {
        if let Some(address) = self.live.remove(&id) {
            if let Some(count) = self.per_address.get_mut(&address) {
                *count -= 1;
                if *count == 0 {
                    self.per_address.remove(&address);
                }
            }
        }
    }

    /// Frees the places whose time is up. Places freed early leave their slot in the queue
    /// until then; when such slots outnumber the cap, they go.
    fn expire(&mut self, now: Instant) {
        while let Some(&(until, _, id)) = self.queue.front() {
            if until > now {
                break;
            }
            self.queue.pop_front();
            self.free(id);
        }
        if self.queue.len() > 4 * self.total.max(16) {
            let live = &self.live;
            self.queue.retain(|(_, _, id)| live.contains_key(id));
        }
    }
}

/// After a flood, the places expire on the next login; this also gives back their memory.
impl Forget for Mutex<Places> {
    fn forget_quiet(&self) {
        let mut places = self.lock().unwrap_or_else(|e| e.into_inner());
        places.expire(Instant::now());
        places.queue.shrink_to_fit();
        places.live.shrink_to_fit();
        places.per_address.shrink_to_fit();
    }
}

impl PendingLogins {
    pub fn new(per_address: usize, total: usize, ttl: Duration, sweeper: &mut Sweeper) -> Self {
        let places = Arc::new(Mutex::new(Places {
            total,
            ..Places::default()
        }));
        sweeper.watch(&places);
        PendingLogins {
            per_address,
            ttl,
            places,
        }
    }

    fn places(&self) -> std::sync::MutexGuard<'_, Places> {
        self.places.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a place for an attempt from `address` (its rate-limit key: an IPv4 address or an
    /// IPv6 /64); the id frees it early with [`PendingLogins::release`].
    pub fn reserve(&self, address: IpAddr) -> Result<u64, Full> {
        let now = Instant::now();
        let mut places = self.places();
        places.expire(now);
        let oldest = |places: &Places, of: Option<IpAddr>| {
            places
                .queue
                .iter()
                .find(|(_, a, id)| places.live.contains_key(id) && of.is_none_or(|o| o == *a))
                .map_or(Duration::from_secs(1), |(until, _, _)| {
                    until
                        .saturating_duration_since(now)
                        .max(Duration::from_secs(1))
                })
        };
        if places.per_address.get(&address).copied().unwrap_or(0) >= self.per_address {
            return Err(Full::Address {
                retry_after: oldest(&places, Some(address)),
            });
        }
        if places.live.len() >= places.total {
            return Err(Full::Everyone {
                retry_after: oldest(&places, None),
            });
        }
        let id = rand::random::<u64>();
        places.queue.push_back((now + self.ttl, address, id));
        places.live.insert(id, address);
        *places.per_address.entry(address).or_default() += 1;
        Ok(id)
    }

    /// The attempt `id` was used: its place is free again.
    pub fn release(&self, id: u64) {
        let mut places = self.places();
        places.free(id);
        places.expire(Instant::now());
    }

    /// Attempts holding a place now.
    #[cfg(test)]
    pub fn count(&self) -> usize {
        let mut places = self.places();
        places.expire(Instant::now());
        places.live.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn each_address_and_everyone_have_a_cap_and_a_used_attempt_frees_its_place() {
        let pending = PendingLogins::new(2, 3, Duration::from_secs(60), &mut Sweeper::default());
        let a1 = pending.reserve(ip(1)).unwrap();
        pending.reserve(ip(1)).unwrap();
        assert!(matches!(pending.reserve(ip(1)), Err(Full::Address { .. })));
        pending.reserve(ip(2)).unwrap();
        assert!(matches!(pending.reserve(ip(3)), Err(Full::Everyone { .. })));
        pending.release(a1);
        assert_eq!(pending.count(), 2);
        pending.reserve(ip(1)).expect("a place came free");
    }

    #[test]
    fn places_free_up_when_attempts_expire() {
        let pending = PendingLogins::new(1, 1, Duration::from_millis(30), &mut Sweeper::default());
        pending.reserve(ip(1)).unwrap();
        let Err(Full::Address { retry_after }) = pending.reserve(ip(1)) else {
            panic!("the address is full")
        };
        assert!(retry_after >= Duration::from_secs(1), "at least a second");
        std::thread::sleep(Duration::from_millis(40));
        pending.reserve(ip(1)).expect("the first expired");
        assert_eq!(pending.count(), 1);
    }
}
