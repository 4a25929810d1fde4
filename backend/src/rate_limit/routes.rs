//! Routes limited per key, with `tower_governor`, as a layer on the route: the request is
//! refused before its handler runs.
//!
//! - [`LoginRequests`]: `POST /api/login/*` and `POST /api/session` per client address, one
//!   budget for both (RFC 9700 §4.x leaves brute force to the deployment, and each login costs a
//!   provider round trip). `server.rate_limit_per_minute` and `server.rate_limit_burst`.
//! - [`BackchannelLogouts`]: `POST /api/backchannel-logout/{provider}` per client address and
//!   provider. The route takes no CSRF header and no session, and a token signed by a key the
//!   provider's last keys lack makes Portero read its discovery and keys again: without a limit,
//!   anyone could make Portero call a provider without end. `server.backchannel_logouts_*`.

use std::{net::IpAddr, sync::Arc, time::Duration};

use axum::{
    http::{header, Request, StatusCode},
    response::{IntoResponse, Response},
    routing::MethodRouter,
    Json,
};
use tower_governor::{
    governor::GovernorConfigBuilder, key_extractor::KeyExtractor, GovernorError, GovernorLayer,
};

use super::{ClientAddress, Sweeper};
use crate::config::{Config, ServerConfig};

type Middleware = governor::middleware::NoOpMiddleware;

/// What a route limit counts by: the key of a request, and what a refusal calls the requests.
pub trait RouteKey: KeyExtractor + Send + Sync + 'static
where
    Self::Key: Send + Sync + 'static,
{
    /// Completes "too many …; try again in N s".
    const REQUESTS: &'static str;
}

/// A route limit: `per_minute` requests a minute per key, with bursts of `burst`; 0 in either
/// turns it off.
#[derive(Clone)]
pub struct RouteLimit<K: RouteKey>
where
    K::Key: Send + Sync + 'static,
{
    layer: Option<GovernorLayer<K, Middleware, axum::body::Body>>,
}

impl<K: RouteKey> RouteLimit<K>
where
    K::Key: Send + Sync + 'static,
{
    pub fn new(key: K, per_minute: u32, burst: u32, sweeper: &mut Sweeper) -> Self {
        if per_minute == 0 || burst == 0 {
            return RouteLimit { layer: None };
        }
        let config = GovernorConfigBuilder::default()
            .key_extractor(key)
            // One request back every 60/per_minute seconds.
            .period(Duration::from_secs(60) / per_minute)
            .burst_size(burst)
            .finish()
            .expect("period and burst are not zero");
        sweeper.watch(config.limiter());
        let layer = GovernorLayer::new(Arc::new(config))
            .error_handler(|error| too_many_requests(error, K::REQUESTS));
        RouteLimit { layer: Some(layer) }
    }

    /// `route`, counted against the caller's budget when the limit is on.
    pub fn limit<S: Clone + Send + Sync + 'static>(
        &self,
        route: MethodRouter<S>,
    ) -> MethodRouter<S> {
        match &self.layer {
            Some(layer) => route.route_layer(layer.clone()),
            None => route,
        }
    }
}

impl RouteKey for ClientAddress {
    const REQUESTS: &'static str = "login requests from your address";
}

/// Starting and finishing logins, per client address: one budget across both routes.
pub type LoginRequests = RouteLimit<ClientAddress>;

impl LoginRequests {
    /// `server.rate_limit_per_minute`, bursts of `server.rate_limit_burst`.
    pub fn from_config(
        server: &ServerConfig,
        client: &ClientAddress,
        sweeper: &mut Sweeper,
    ) -> Self {
        RouteLimit::new(
            client.clone(),
            server.rate_limit_per_minute,
            server.rate_limit_burst,
            sweeper,
        )
    }
}

/// The key of a back-channel logout: the client's address, and the provider named in the path
/// as its index among the configured ones (any other name shares one budget per address, so
/// made-up names add no keys; the route answers them 404).
#[derive(Clone)]
pub struct ClientAndProvider {
    client: ClientAddress,
    providers: Arc<[String]>,
}

impl KeyExtractor for ClientAndProvider {
    type Key = (IpAddr, usize);

    fn extract<T>(&self, request: &Request<T>) -> Result<Self::Key, GovernorError> {
        let client = self.client.extract(request)?;
        let named = request.uri().path().rsplit('/').next().unwrap_or_default();
        let provider = self.providers.iter().position(|id| id == named);
        Ok((client, provider.unwrap_or(self.providers.len())))
    }
}

impl RouteKey for ClientAndProvider {
    const REQUESTS: &'static str = "back-channel logouts for this provider from your address";
}

/// Back-channel logouts, per client address and provider.
pub type BackchannelLogouts = RouteLimit<ClientAndProvider>;

impl BackchannelLogouts {
    /// `server.backchannel_logouts_per_minute`, bursts of `server.backchannel_logouts_burst`.
    pub fn from_config(config: &Config, client: &ClientAddress, sweeper: &mut Sweeper) -> Self {
        let key = ClientAndProvider {
            client: client.clone(),
            providers: config.providers.iter().map(|p| p.id.clone()).collect(),
        };
        let server = &config.server;
        RouteLimit::new(
            key,
            server.backchannel_logouts_per_minute,
            server.backchannel_logouts_burst,
            sweeper,
        )
    }
}

/// The API's error shape, 429, and `Retry-After` in whole seconds (rounded up).
fn too_many_requests(error: GovernorError, requests: &str) -> Response {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            let seconds = wait_time + 1;
            tracing::info!(
                retry_after = seconds,
                limit = requests,
                "rate limit reached"
            );
            let body = shared::ApiError {
                error: shared::codes::RATE_LIMITED.to_owned(),
                message: format!("too many {requests}; try again in {seconds} s"),
            };
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, seconds.to_string())],
                Json(body),
            )
                .into_response()
        }
        other => crate::error::AppError::Internal(anyhow::anyhow!("rate limiter: {other}"))
            .into_response(),
    }
}
