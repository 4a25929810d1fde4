//! What every handler reads, behind one `Arc`: axum clones the state for each extractor and
//! layer that takes it, so a clone must be a reference count, not a dozen fields. Handlers that
//! need one part take just that part (`State<Providers>`, `State<Store>`), through `FromRef`.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::{
    assertion::Signer,
    config::Config,
    crypto::TokenCipher,
    gateway::Gateway,
    metrics::Metrics,
    providers::Providers,
    rate_limit::{
        BackchannelLogouts, ClientAddress, LoginRequests, PendingLogins, ProviderCalls, Sweeper,
    },
    session::{Locks, SealedStore, Store},
};

/// The state Portero's routes and extractors share: what [`CurrentUser`](crate::CurrentUser)
/// reads. An app's routes given to [`Portero::router_with`](crate::Portero::router_with) are a
/// `Router<AppState>`; an app with a state of its own implements `FromRef` for it with
/// [`Portero::state`](crate::Portero::state).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub(crate) config: Arc<Config>,
    pub(crate) providers: Providers,
    pub(crate) cipher: TokenCipher,
    /// `server.public_origin` as browsers send it in `Origin`.
    pub(crate) origin: Arc<str>,
    pub(crate) metrics: Arc<Metrics>,
    /// The session store of `session.store`: readiness, login attempts, seen logout tokens.
    pub(crate) store: Store,
    /// The same store's session records, sealed whole (session/sealed.rs).
    pub(crate) sessions: SealedStore,
    /// The sessions' locks (session/lock.rs).
    pub(crate) session_locks: Locks,
    /// The logins under way, capped per client and in all (rule 13).
    pub(crate) pending_logins: PendingLogins,
    /// Who the client of a request is (`server.trusted_proxies`).
    pub(crate) client_address: ClientAddress,
    /// Calls to the provider per session (rule 16).
    pub(crate) provider_calls: ProviderCalls,
    /// Starting and finishing logins, per client address.
    pub(crate) login_requests: LoginRequests,
    /// Back-channel logouts, per client address and provider.
    pub(crate) backchannel_logouts: BackchannelLogouts,
    /// The apps behind Portero, and the key that signs what they receive.
    pub(crate) gateway: Gateway,
}

impl AppState {
    pub(crate) fn new(
        config: Config,
        providers: Providers,
        cipher: TokenCipher,
        store: Store,
        signer: Signer,
    ) -> Self {
        let (session, server) = (&config.session, &config.server);
        // Every limiter registers its table here; one task trims them all (rate_limit/).
        let mut sweeper = Sweeper::default();
        let client_address = ClientAddress::new(&server.trusted_proxies);
        let shared = Shared {
            pending_logins: PendingLogins::new(
                session.max_pending_logins_per_address,
                session.max_pending_logins,
                crate::session::kept_for(session.login_timeout),
                &mut sweeper,
            ),
            login_requests: LoginRequests::from_config(server, &client_address, &mut sweeper),
            backchannel_logouts: BackchannelLogouts::from_config(
                &config,
                &client_address,
                &mut sweeper,
            ),
            provider_calls: ProviderCalls::new(
                server.provider_calls_per_minute,
                server.provider_calls_burst,
                &mut sweeper,
            ),
            client_address,
            gateway: Gateway::new(
                &config.upstreams,
                &config.policies,
                &server.public_origin,
                signer,
            ),
            origin: config.server.origin().into(),
            providers,
            sessions: SealedStore::new(store.clone(), cipher.clone()),
            store,
            cipher,
            session_locks: Locks::new(config.server.provider_timeout),
            config: Arc::new(config),
            metrics: Arc::default(),
        };
        sweeper.start();
        AppState(Arc::new(shared))
    }
}

/// The tests read and write the store as one who can write it would.
#[cfg(feature = "internals")]
impl AppState {
    /// The session store of `session.store`.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The same store's session records, opened with the keys.
    pub fn sessions(&self) -> &SealedStore {
        &self.sessions
    }
}

impl FromRef<AppState> for Providers {
    fn from_ref(state: &AppState) -> Self {
        state.providers.clone()
    }
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}
