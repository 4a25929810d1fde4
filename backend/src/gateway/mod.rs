//! The gateway (docs/design.md, "Your app behind Portero"; rule 17): each `[upstreams.{id}]` prefix
//! is forwarded to its app with Portero's identity headers, the app's answer streamed back.
//!
//! Written on hyper-util's client rather than a reverse-proxy crate: what a proxy crate does
//! (copy a request, stream the bodies) is a few lines here, and what this gateway is for — the
//! identity it adds, the headers and cookies it must strip, the token it adds only where allowed,
//! the WebSocket `Origin` check, sockets that end with their session — is in none of them.
//! `identity.rs` writes the headers (also for `GET /api/auth`), `path.rs` refuses paths that
//! climb (rule 20), `policy.rs` decides policies (also for `GET /api/auth?policy=`),
//! `proxy.rs` forwards, `websocket.rs` relays upgraded connections and `sockets.rs` closes them
//! when their session ends (rule 19).

mod identity;
mod path;
mod policy;
mod proxy;
mod sockets;
mod websocket;

use std::sync::Arc;

use axum::{http::HeaderValue, routing::any, Router};
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::TokioExecutor,
};

pub use identity::identity_headers;
pub use policy::admit_request;
pub use sockets::Sockets;
pub use websocket::is_upgrade as is_websocket_upgrade;

use url::Url;

use crate::{
    assertion::Signer,
    config::{Policy, UpstreamConfig},
    state::AppState,
};

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
type Body = http_body_util::combinators::UnsyncBoxBody<axum::body::Bytes, axum::BoxError>;

/// The upstreams and the client that calls them (one connection pool for all).
#[derive(Clone)]
pub struct Gateway {
    upstreams: Arc<[Arc<UpstreamConfig>]>,
    client: Client<Connector, Body>,
    pub signer: Arc<Signer>,
    /// `X-Forwarded-Proto` and `-Host` of every forwarded request: the public origin's, the
    /// one the person used.
    forwarded_proto: HeaderValue,
    forwarded_host: Option<HeaderValue>,
    /// `[policies.*]`, for upstreams and `GET /api/auth?policy=`.
    policies: Arc<[Policy]>,
    /// The WebSockets open through the gateway (rule 19).
    pub sockets: Sockets,
}

impl Gateway {
    pub fn new(
        upstreams: &[UpstreamConfig],
        policies: &[Policy],
        public_origin: &Url,
        signer: Signer,
    ) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        // As nginx's `tcp_nodelay on`: a body sent in several writes leaves at once, not after
        // the app's delayed ACK of the headers (Nagle's algorithm, up to 40 ms on Linux).
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            // Apps behind a gateway are few and busy: keep their connections.
            .pool_max_idle_per_host(256)
            .build(connector);
        Gateway {
            upstreams: upstreams.iter().cloned().map(Arc::new).collect(),
            client,
            signer: Arc::new(signer),
            forwarded_proto: HeaderValue::from_static(if public_origin.scheme() == "https" {
                "https"
            } else {
                "http"
            }),
            forwarded_host: HeaderValue::from_str(
                &public_origin[url::Position::BeforeHost..url::Position::AfterPort],
            )
            .ok(),
            policies: policies.into(),
            sockets: Sockets::default(),
        }
    }

    /// The policy called `name`, if one is configured.
    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.name == name)
    }

    /// The upstream whose prefix `path` lies under, if any.
    pub fn upstream_of(&self, path: &str) -> Option<&UpstreamConfig> {
        self.upstreams
            .iter()
            .find(|u| {
                path == u.prefix
                    || path
                        .strip_prefix(u.prefix.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .map(|u| u.as_ref())
    }

    /// The routes of every upstream: its prefix, and everything below it. They sit under
    /// `/api`, behind the session layer and the CSRF rule, as every `/api` route.
    pub fn routes(&self) -> Router<AppState> {
        let mut router = Router::new();
        for upstream in self.upstreams.iter() {
            let below = format!("{}/{{*rest}}", upstream.prefix);
            let prefix = upstream
                .prefix
                .strip_prefix("/api")
                .unwrap_or(&upstream.prefix);
            let below = below.strip_prefix("/api").unwrap_or(&below).to_owned();
            let forward = any(proxy::forward).layer(axum::Extension(upstream.clone()));
            router = router.route(prefix, forward.clone()).route(&below, forward);
        }
        router
    }
}
