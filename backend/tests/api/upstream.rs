//! An app behind the gateway, for the tests: it records every request it gets and answers in
//! the ways the tests need (echo, a stream in two chunks, too slow, slower than a lock's lease, a
//! WebSocket echo that notes how each socket ended, a page with security headers of its own).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::{ws::WebSocketUpgrade, Request, State},
    http::{HeaderMap, Method},
    response::{IntoResponse, Response},
    routing::{any, get},
    Router,
};
use tokio::sync::Notify;

/// What the app received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: Method,
    /// Path and query, as the app saw them.
    pub target: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Clone, Default)]
pub struct Recorder {
    pub received: Arc<Mutex<Vec<Received>>>,
    /// `/stream` sends its second chunk once this is notified.
    pub second_chunk: Arc<Notify>,
    /// How each WebSocket ended for the app: the code of the close frame it got, or `None`
    /// when its connection just went.
    pub socket_ends: Arc<Mutex<Vec<Option<u16>>>>,
}

pub struct Upstream {
    pub addr: SocketAddr,
    pub recorder: Recorder,
}

impl Upstream {
    pub async fn start() -> Upstream {
        let recorder = Recorder::default();
        let app = Router::new()
            .route("/app/stream", get(stream))
            .route("/app/slow", get(slow))
            .route("/app/twelve-seconds", get(twelve_seconds))
            .route("/app/ws", get(ws_echo))
            .route("/app/own-headers", get(own_headers))
            .fallback(any(echo))
            .with_state(recorder.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Upstream { addr, recorder }
    }

    /// The base URL an `[upstreams.*]` table points at.
    pub fn url(&self) -> String {
        format!("http://{}/app", self.addr)
    }

    /// The test config (no provider is ever called) with this app behind `/api/app`, open to
    /// anyone (`login = "optional"`).
    pub fn open_config(&self) -> String {
        format!(
            "{}\n        [upstreams.app]\n        prefix = \"/api/app\"\n        url = \"{}\"\n        \
             login = \"optional\"\n",
            crate::helpers::config_toml("http://127.0.0.1:1"),
            self.url()
        )
    }

    pub fn received(&self) -> Vec<Received> {
        self.recorder.received.lock().unwrap().clone()
    }

    /// How the app's WebSockets have ended so far.
    pub fn socket_ends(&self) -> Vec<Option<u16>> {
        self.recorder.socket_ends.lock().unwrap().clone()
    }
}

impl Received {
    /// The header `name`'s value, which must be there.
    pub fn header(&self, name: &str) -> String {
        self.headers[name].to_str().unwrap().to_owned()
    }
}

async fn record(recorder: &Recorder, request: Request) -> Received {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let received = Received {
        method: parts.method,
        target: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: parts.headers,
        body,
    };
    recorder.received.lock().unwrap().push(received.clone());
    received
}

/// The body back, with cookies of its own and two that try to be Portero's.
async fn echo(State(recorder): State<Recorder>, request: Request) -> Response {
    let received = record(&recorder, request).await;
    Response::builder()
        .header("x-app", "echo")
        .header("set-cookie", "app_pref=dark; Path=/")
        .header("set-cookie", "portero_session=planted; Path=/")
        .header("set-cookie", "portero_login=planted; Path=/")
        .header("keep-alive", "timeout=99")
        .body(Body::from(received.body))
        .unwrap()
}

/// A first chunk at once, the second only when the test says so.
async fn stream(State(recorder): State<Recorder>, request: Request) -> Response {
    record(&recorder, request).await;
    let notify = recorder.second_chunk.clone();
    let chunks = async_stream(notify);
    Body::from_stream(chunks).into_response()
}

fn async_stream(
    notify: Arc<Notify>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(0, move |step| {
        let notify = notify.clone();
        async move {
            match step {
                0 => Some((Ok(Bytes::from_static(b"first chunk;")), 1)),
                1 => {
                    notify.notified().await;
                    Some((Ok(Bytes::from_static(b"second chunk")), 2))
                }
                _ => None,
            }
        }
    })
}

/// A page with security headers of its own, weaker than Portero's.
async fn own_headers() -> Response {
    Response::builder()
        .header("content-security-policy", "default-src *")
        .header("x-frame-options", "SAMEORIGIN")
        .body(Body::from("the app's page"))
        .unwrap()
}

async fn slow(State(recorder): State<Recorder>, request: Request) -> &'static str {
    record(&recorder, request).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    "too late"
}

/// Longer than a session lock's lease with `provider_timeout_secs = 1` (9 s).
async fn twelve_seconds(State(recorder): State<Recorder>, request: Request) -> &'static str {
    record(&recorder, request).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    "at last"
}

async fn ws_echo(
    State(recorder): State<Recorder>,
    upgrade: WebSocketUpgrade,
    headers: HeaderMap,
) -> Response {
    recorder.received.lock().unwrap().push(Received {
        method: Method::GET,
        target: "/app/ws".into(),
        headers,
        body: Bytes::new(),
    });
    let ends = recorder.socket_ends.clone();
    upgrade.on_upgrade(|mut socket| async move {
        let end = loop {
            match socket.recv().await {
                Some(Ok(axum::extract::ws::Message::Close(frame))) => {
                    break frame.map(|f| f.code);
                }
                Some(Ok(message)) => {
                    if socket.send(message).await.is_err() {
                        break None;
                    }
                }
                _ => break None,
            }
        };
        ends.lock().unwrap().push(end);
    })
}
