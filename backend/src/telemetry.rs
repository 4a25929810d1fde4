//! Logging, set up once, and the per-request span. Log lines name providers, subjects, routes
//! and request ids; never a token, a code, a secret or a query string (a callback URL carries a
//! code, so only the path is logged).

use std::{io::IsTerminal, time::Duration};

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
    Router,
};
use tower_http::{
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    trace::TraceLayer,
};
use tracing::Span;
use tracing_subscriber::EnvFilter;

/// Human-readable lines by default; one JSON object per line for log collectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event, coloured on a terminal.
    Human,
    /// One JSON object per line, with each event's target (`portero::audit` apart).
    Json,
}

/// Installs Portero's log subscriber, as the `portero` binary does: `PORTERO_LOG` filters (a
/// `tracing` filter; `portero=info,tower_http=warn` by default). Does nothing when the process
/// already has a subscriber.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("PORTERO_LOG")
        .unwrap_or_else(|_| EnvFilter::new("portero=info,tower_http=warn"));
    // Colours only on a terminal: in a file or a collector they are noise, and they cost a
    // formatting pass per line.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .with_target(false);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        // With its target, so a collector can route `portero::audit` apart (audit.rs).
        LogFormat::Json => builder
            .json()
            .with_target(true)
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The `x-request-id` a client sent: logged beside ours (`client_request_id`), never taken as
/// ours, since anyone can write it (a forged one could make two requests' logs one).
#[derive(Clone)]
struct ClientRequestId(String);

async fn set_aside_client_request_id(mut request: Request) -> Request {
    if let Some(value) = request.headers_mut().remove(REQUEST_ID) {
        let text = value.to_str().unwrap_or("");
        // Printable ASCII, short: it is only copied into log lines.
        if !text.is_empty() && text.len() <= 128 && text.bytes().all(|b| b.is_ascii_graphic()) {
            let id = ClientRequestId(text.to_owned());
            request.extensions_mut().insert(id);
        }
    }
    request
}

/// A random id per request, echoed in `x-request-id` and carried by every log line of the
/// request.
#[derive(Clone, Copy)]
struct RandomId;

impl MakeRequestId for RandomId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = format!("{:032x}", rand::random::<u128>());
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

pub(crate) fn layer<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let client_id = request
                        .extensions()
                        .get::<ClientRequestId>()
                        .map_or("", |c| c.0.as_str());
                    // The path only: a query string may hold a code or a state.
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %id,
                        client_request_id = %client_id,
                    )
                })
                .on_request(())
                .on_response(
                    |response: &axum::response::Response, took: Duration, _: &Span| {
                        tracing::info!(
                            status = response.status().as_u16(),
                            ms = took.as_millis() as u64,
                            "answered"
                        );
                    },
                ),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, RandomId))
        .layer(axum::middleware::map_request(set_aside_client_request_id))
}
