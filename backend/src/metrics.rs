//! `GET /metrics` in the Prometheus/OpenMetrics text format (prometheus-client): logins
//! started, succeeded and failed (by provider and reason), refreshes, and the latency of token
//! exchanges and provider calls; the sessions in the store, counted at each scrape. Labels carry
//! provider ids and error codes only.

use std::time::Duration;

use axum::{extract::State, http::header, response::IntoResponse};
use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabel {
    pub provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub provider: String,
    /// `ok`, or the API's error code (`invalid_state`, `provider_error`, …).
    pub outcome: String,
}

type Latency = Family<ProviderLabel, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabel {
    pub upstream: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamStatus {
    pub upstream: String,
    /// The HTTP status the browser got (502 and 504 when the app did not answer).
    pub status: u16,
}

fn latency_buckets() -> Histogram {
    // 5 ms … ~10 s: a loopback emulator to a slow provider at its timeout.
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

/// 0.5 ms … ~4 s: an app on this machine to one at its timeout.
fn upstream_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

pub struct Metrics {
    registry: Registry,
    logins_started: Family<ProviderLabel, Counter>,
    logins_finished: Family<OutcomeLabels, Counter>,
    refreshes: Family<OutcomeLabels, Counter>,
    token_exchange: Latency,
    provider_calls: Latency,
    upstream_requests: Family<UpstreamStatus, Counter>,
    upstream_latency: Family<UpstreamLabel, Histogram, fn() -> Histogram>,
    sessions_active: Gauge,
    attempts_pending: Gauge,
    store_up: Gauge,
    websockets_open: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("portero");
        let logins_started = Family::default();
        let logins_finished = Family::default();
        let refreshes = Family::default();
        let token_exchange: Latency = Family::new_with_constructor(latency_buckets);
        let provider_calls: Latency = Family::new_with_constructor(latency_buckets);
        registry.register(
            "logins_started",
            "Logins started (POST /api/login/{provider})",
            logins_started.clone(),
        );
        registry.register(
            "logins_finished",
            "Logins finished (POST /api/session), by outcome: ok or the error code",
            logins_finished.clone(),
        );
        registry.register(
            "token_refreshes",
            "Access token refreshes, by outcome",
            refreshes.clone(),
        );
        registry.register(
            "token_exchange_seconds",
            "Time to exchange a code and fetch the identity at the provider",
            token_exchange.clone(),
        );
        registry.register(
            "provider_call_seconds",
            "Time of live profile calls to the provider",
            provider_calls.clone(),
        );
        let upstream_requests = Family::default();
        let upstream_latency: Family<UpstreamLabel, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(upstream_buckets);
        registry.register(
            "upstream_requests",
            "Requests forwarded to each upstream, by the status the browser got",
            upstream_requests.clone(),
        );
        registry.register(
            "upstream_seconds",
            "Time until each upstream's response headers (or its failure)",
            upstream_latency.clone(),
        );
        let sessions_active = Gauge::default();
        let attempts_pending = Gauge::default();
        let store_up = Gauge::default();
        registry.register(
            "sessions_active",
            "Unexpired sessions in the session store (logged in, or a login under way), \
             counted at this scrape; the last count while the store is down",
            sessions_active.clone(),
        );
        registry.register(
            "login_attempts_pending",
            "Login attempts in the session store, not yet used and not expired, counted at this \
             scrape; the last count while the store is down",
            attempts_pending.clone(),
        );
        registry.register(
            "session_store_up",
            "1 when the session store answered this scrape's count, 0 when it did not",
            store_up.clone(),
        );
        let websockets_open = Gauge::default();
        registry.register(
            "websockets_open",
            "WebSockets open through the gateway in this process, counted at this scrape",
            websockets_open.clone(),
        );
        Metrics {
            registry,
            websockets_open,
            upstream_requests,
            upstream_latency,
            sessions_active,
            attempts_pending,
            store_up,
            logins_started,
            logins_finished,
            refreshes,
            token_exchange,
            provider_calls,
        }
    }
}

fn provider(id: &str) -> ProviderLabel {
    ProviderLabel {
        provider: id.to_owned(),
    }
}

fn outcome(id: &str, outcome: &str) -> OutcomeLabels {
    OutcomeLabels {
        provider: id.to_owned(),
        outcome: outcome.to_owned(),
    }
}

impl Metrics {
    pub fn login_started(&self, id: &str) {
        self.logins_started.get_or_create(&provider(id)).inc();
    }

    pub fn login_finished(&self, id: &str, result: &str) {
        self.logins_finished
            .get_or_create(&outcome(id, result))
            .inc();
    }

    pub fn refreshed(&self, id: &str, result: &str) {
        self.refreshes.get_or_create(&outcome(id, result)).inc();
    }

    pub fn token_exchange_took(&self, id: &str, took: Duration) {
        self.token_exchange
            .get_or_create(&provider(id))
            .observe(took.as_secs_f64());
    }

    pub fn provider_call_took(&self, id: &str, took: Duration) {
        self.provider_calls
            .get_or_create(&provider(id))
            .observe(took.as_secs_f64());
    }

    pub fn upstream_answered(
        &self,
        upstream: &str,
        status: axum::http::StatusCode,
        took: Duration,
    ) {
        let upstream = upstream.to_owned();
        self.upstream_requests
            .get_or_create(&UpstreamStatus {
                upstream: upstream.clone(),
                status: status.as_u16(),
            })
            .inc();
        self.upstream_latency
            .get_or_create(&UpstreamLabel { upstream })
            .observe(took.as_secs_f64());
    }

    pub fn render(&self) -> String {
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let sockets = i64::try_from(state.gateway.sockets.open()).unwrap_or(i64::MAX);
    state.metrics.websockets_open.set(sockets);
    match state.store.count().await {
        Ok(count) => {
            let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            state.metrics.sessions_active.set(gauge(count.sessions));
            state.metrics.attempts_pending.set(gauge(count.attempts));
            state.metrics.store_up.set(1);
        }
        Err(e) => {
            tracing::warn!(error = %e, "/metrics: cannot count the sessions");
            state.metrics.store_up.set(0);
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
