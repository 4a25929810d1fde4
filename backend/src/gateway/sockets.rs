//! Rule 19: a WebSocket through the gateway belongs to the session that opened it. Each open
//! socket is watched under its session's key; when the store announces that the session ended
//! or changed (`session::Changed`: this process's own ends, and with Redis every replica's), at
//! the moment the session would expire, and at least every minute, the socket looks at its
//! session again (`session::look_at`) and closes when it is gone — 4401 "session ended" to the
//! browser, a close frame to the app too — or when its upstream's policy no longer admits the
//! person (1008). It also closes after `server.websocket_idle_timeout_secs` without a frame
//! either way, and at shutdown (1001). While open it keeps its connection's place among
//! `server.max_connections`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use hyper::upgrade::OnUpgrade;
use tokio::{
    sync::{broadcast, watch, Notify},
    task::AbortHandle,
    time::{sleep_until, Instant},
};

use super::{policy, websocket::Relay};
use crate::{
    config::Policy,
    session::{self, Changed, Key, Seen},
    state::AppState,
};

/// The close codes (RFC 6455 §7.4): the session is gone (4401, in the private range: "log in
/// again", as 401 is for a request), the policy refuses (1008, policy violation), Portero stops
/// or the socket idled (1001, going away).
const SESSION_ENDED: (u16, &str) = (4401, "session ended");
const POLICY_REFUSES: (u16, &str) = (1008, "access denied");
const SHUTTING_DOWN: (u16, &str) = (1001, "server shutting down");
const IDLE: (u16, &str) = (1001, "idle for too long");

/// A socket looks again no sooner than this after its last look, whatever the session says.
const LOOK_NO_SOONER: Duration = Duration::from_millis(250);

/// Whom a socket belongs to: the session that opened it, and the policy of its upstream.
pub struct Owner {
    pub key: Key,
    pub policy: Option<Policy>,
}

/// The open sockets of this process, by session.
#[derive(Clone, Default)]
pub struct Sockets {
    inner: Arc<Inner>,
}

struct Inner {
    watched: Mutex<HashMap<Key, Vec<Weak<Notify>>>>,
    /// The task that hears the store's notices, started with the first socket.
    hearing: Mutex<Option<AbortHandle>>,
    /// True once Portero stops: every socket closes.
    stopping: watch::Sender<bool>,
    /// How many sockets are open.
    open: watch::Sender<usize>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            watched: Mutex::default(),
            hearing: Mutex::default(),
            stopping: watch::Sender::new(false),
            open: watch::Sender::new(0),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self.hearing.get_mut().ok().and_then(Option::take) {
            task.abort();
        }
    }
}

impl Inner {
    fn poke(&self, key: &Key) {
        let watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        for socket in watched.get(key).into_iter().flatten() {
            if let Some(socket) = socket.upgrade() {
                socket.notify_one();
            }
        }
    }

    fn poke_all(&self) {
        let watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        for socket in watched.values().flatten().filter_map(Weak::upgrade) {
            socket.notify_one();
        }
    }
}

impl Sockets {
    /// How many sockets are open now.
    pub fn open(&self) -> usize {
        *self.inner.open.borrow()
    }

    /// Closes every socket (1001) and waits until they have closed, or `within` has passed.
    pub async fn drain(&self, within: Duration) {
        self.inner.stopping.send_replace(true);
        let mut open = self.inner.open.subscribe();
        let _ = tokio::time::timeout(within, open.wait_for(|n| *n == 0)).await;
    }

    /// Starts relaying an upgraded WebSocket, in a task of its own that holds `permit` (the
    /// connection's place, rule 16) until the socket closes. `owner`: the session it belongs to,
    /// `None` for an anonymous one (an upstream with `login = "optional"`).
    pub fn open_socket<P: Send + 'static>(
        &self,
        state: AppState,
        upstream: String,
        owner: Option<Owner>,
        permit: P,
        upgrades: (OnUpgrade, OnUpgrade),
    ) {
        let watcher = owner.as_ref().map(|owner| self.watch(&state, owner.key));
        let sockets = self.clone();
        tokio::spawn(async move {
            let (client, app) = match tokio::try_join!(upgrades.0, upgrades.1) {
                Ok(both) => both,
                Err(e) => {
                    tracing::info!(%upstream, error = %e, "WebSocket upgrade did not complete");
                    return;
                }
            };
            let counted = Counted::new(&sockets);
            let relay = Relay::start(client, app);
            let ended = run(&state, &sockets, relay, owner.zip(watcher)).await;
            if let Some((code, reason)) = ended {
                tracing::info!(%upstream, code, reason, "WebSocket closed by Portero");
            }
            drop(counted);
            drop(permit);
        });
    }

    /// A socket watching the session `key`: poked whenever the store announces it changed.
    fn watch(&self, state: &AppState, key: Key) -> Watcher {
        self.hear(state);
        let notify = Arc::new(Notify::new());
        let mut watched = self.inner.watched.lock().unwrap_or_else(|e| e.into_inner());
        watched
            .entry(key)
            .or_default()
            .push(Arc::downgrade(&notify));
        Watcher {
            notify,
            key,
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// Starts hearing the store's notices, once.
    fn hear(&self, state: &AppState) {
        let mut hearing = self.inner.hearing.lock().unwrap_or_else(|e| e.into_inner());
        if hearing.is_none() {
            let task = tokio::spawn(hear(Arc::downgrade(&self.inner), state.store.changes()));
            *hearing = Some(task.abort_handle());
        }
    }
}

async fn hear(inner: Weak<Inner>, mut changes: broadcast::Receiver<Changed>) {
    loop {
        let change = changes.recv().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        match change {
            Ok(Changed::Session(key)) => inner.poke(&key),
            Ok(Changed::Any) | Err(broadcast::error::RecvError::Lagged(_)) => inner.poke_all(),
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// One open socket in the count a stop waits on, whatever ends its task.
struct Counted(Arc<Inner>);

impl Counted {
    fn new(sockets: &Sockets) -> Counted {
        sockets.inner.open.send_modify(|n| *n += 1);
        Counted(sockets.inner.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.open.send_modify(|n| *n -= 1);
    }
}

/// One socket's place among the watched; gone with it.
struct Watcher {
    notify: Arc<Notify>,
    key: Key,
    inner: Weak<Inner>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let mut watched = inner.watched.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sockets) = watched.get_mut(&self.key) {
            sockets.retain(|s| s.strong_count() > 0 && !std::ptr::eq(s.as_ptr(), &*self.notify));
            if sockets.is_empty() {
                watched.remove(&self.key);
            }
        }
    }
}

/// Relays until the socket closes: on its own (`None`), or by Portero (the code and reason
/// sent).
async fn run(
    state: &AppState,
    sockets: &Sockets,
    mut relay: Relay,
    owner: Option<(Owner, Watcher)>,
) -> Option<(u16, &'static str)> {
    let idle = state.config.server.websocket_idle_timeout;
    let clock = relay.clock();
    let mut stopping = sockets.inner.stopping.subscribe();
    // The first look at once: the session may have ended while the handshake was under way.
    let mut next_look = Instant::now();
    let ending = loop {
        let poked = async {
            match &owner {
                Some((_, watcher)) => watcher.notify.notified().await,
                None => std::future::pending().await,
            }
        };
        // The guard `wait_for` returns is dropped here, before any other await.
        let stop = async {
            let _ = stopping.wait_for(|stop| *stop).await;
        };
        tokio::select! {
            () = relay.finished() => return None,
            () = stop => break SHUTTING_DOWN,
            () = sleep_until(clock.last_seen() + idle) => {
                if clock.last_seen() + idle <= Instant::now() {
                    break IDLE;
                }
            }
            () = poked => next_look = Instant::now(),
            () = sleep_until(next_look), if owner.is_some() => {
                let Some((owner, _)) = &owner else { continue };
                match look(state, owner).await {
                    Ok(at) => next_look = at.max(Instant::now() + LOOK_NO_SOONER),
                    Err(ending) => break ending,
                }
            }
        }
    };
    relay.close(ending.0, ending.1).await;
    Some(ending)
}

/// The socket's session looked at now: when to look again, or why to close.
async fn look(state: &AppState, owner: &Owner) -> Result<Instant, (u16, &'static str)> {
    let at = |when: i64| {
        let after = u64::try_from(when.saturating_sub(session::now())).unwrap_or(0);
        Instant::now() + Duration::from_secs(after)
    };
    match session::look_at(state, owner.key).await {
        Seen::Ended => Err(SESSION_ENDED),
        Seen::Unsure { look_again_at } => Ok(at(look_again_at)),
        Seen::Live(live) => {
            if let Some(policy) = &owner.policy {
                let refused = policy::admit(policy, &live.user, live.facts.as_ref());
                refused.map_err(|_| POLICY_REFUSES)?;
            }
            Ok(at(live.look_again_at))
        }
    }
}
