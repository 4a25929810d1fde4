//! The WebSocket section's load: sockets opened as a browser opens them (the `Origin`, the
//! session cookie), each sending a paddle update and waiting for its echo before the next (a
//! closed loop, as the HTTP generator's connections do), every echo checked against what was
//! sent; and a clean close (a close frame, answered).

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest, http::HeaderValue, Error as WsError, Message},
    WebSocketStream,
};

use crate::bench::load::Load;

pub type Socket = WebSocketStream<TcpStream>;

/// An echo, a handshake's answer and a close frame's answer must each come within this.
const WAIT: Duration = Duration::from_secs(5);

/// One way of reaching the app: where, and what the browser sends with the handshake.
#[derive(Clone)]
pub struct Way {
    pub name: &'static str,
    pub addr: SocketAddr,
    pub path: String,
    /// The `Origin` header, for Portero (its stand-in for `x-csrf`, docs/design.md, rule 17).
    pub origin: Option<String>,
    /// Session cookies (`portero_session=…`), socket `i` sending the `i % len`-th.
    pub cookies: Vec<String>,
}

impl Way {
    /// Socket `i`, once the handshake is answered 101.
    pub async fn open(&self, i: usize) -> Result<Socket> {
        let mut request = format!("ws://{}{}", self.addr, self.path).into_client_request()?;
        let headers = request.headers_mut();
        if let Some(origin) = &self.origin {
            headers.insert("origin", HeaderValue::from_str(origin)?);
        }
        if !self.cookies.is_empty() {
            let cookie = &self.cookies[i % self.cookies.len()];
            headers.insert("cookie", HeaderValue::from_str(cookie)?);
        }
        let handshake = async {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            match tokio_tungstenite::client_async(request, stream).await {
                Ok((socket, _)) => Ok(socket),
                Err(WsError::Http(response)) => bail!(
                    "the handshake was answered {}: {}",
                    response.status(),
                    String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                ),
                Err(e) => Err(e).context("the handshake failed"),
            }
        };
        tokio::time::timeout(WAIT, handshake)
            .await
            .context("no answer to the handshake within 5 s")?
    }
}

/// Update `seq` of paddle `socket`: 32 bytes, as a Pong game's, each different from the others.
pub fn paddle(socket: usize, seq: u64) -> String {
    format!("paddle {socket:05} {seq:019}")
}

/// Sends `payload` and waits for it to come back, the same.
pub async fn echo(socket: &mut Socket, payload: &str) -> Result<()> {
    socket.send(Message::text(payload)).await?;
    let answer = tokio::time::timeout(WAIT, socket.next())
        .await
        .with_context(|| format!("no echo of {payload:?} within 5 s"))?;
    match answer {
        Some(Ok(Message::Text(text))) if text.as_str() == payload => Ok(()),
        Some(Ok(other)) => bail!("{payload:?} came back as {other:?}"),
        Some(Err(e)) => Err(e).with_context(|| format!("waiting for the echo of {payload:?}")),
        None => bail!("the socket ended before the echo of {payload:?}"),
    }
}

/// Closes `socket` cleanly: a close frame, the other end's close frame back, then the end of
/// the connection.
pub async fn close(mut socket: Socket) -> Result<()> {
    socket.close(None).await.context("sending a close frame")?;
    let mut answered = false;
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(_))) => answered = true,
                Some(Ok(other)) => bail!("{other:?} came instead of a close frame"),
                None | Some(Err(WsError::ConnectionClosed)) => return Ok(()),
                Some(Err(e)) => return Err(e).context("waiting for the close frame's answer"),
            }
        }
    })
    .await;
    ended.context("the close frame was not answered within 5 s")??;
    if !answered {
        bail!("the connection ended without a close frame");
    }
    Ok(())
}

/// `sockets` sockets through `way`, opened first, then each sending paddle updates in a closed
/// loop for `duration`, then closed: the messages, their round trips, and what went wrong.
pub async fn converse(
    way: &Way,
    sockets: usize,
    duration: Duration,
) -> Result<(Load, Vec<String>)> {
    let mut errors = Vec::new();
    let mut opened = Vec::with_capacity(sockets);
    for i in 0..sockets {
        match way.open(i).await {
            Ok(socket) => opened.push((i, socket)),
            Err(e) => errors.push(format!("opening a socket: {e:#}")),
        }
    }
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = opened
        .into_iter()
        .map(|(i, mut socket)| {
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(64 * 1024);
                let mut failed = None;
                let mut seq = 0;
                while Instant::now() < deadline {
                    let began = Instant::now();
                    if let Err(e) = echo(&mut socket, &paddle(i, seq)).await {
                        failed = Some(e);
                        break;
                    }
                    latencies.push(u32::try_from(began.elapsed().as_micros()).unwrap_or(u32::MAX));
                    seq += 1;
                }
                let ended = Instant::now();
                let closed = match failed {
                    None => close(socket).await,
                    Some(e) => Err(e),
                };
                (latencies, ended, closed.err())
            })
        })
        .collect();
    let (mut all, mut ended_at) = (Vec::new(), started);
    for task in tasks {
        let (latencies, ended, error) = task.await?;
        all.extend(latencies);
        ended_at = ended_at.max(ended);
        if let Some(e) = error {
            errors.push(format!("{e:#}"));
        }
    }
    let load = Load::measured(all.len(), errors.len(), ended_at - started, all);
    Ok((load, errors))
}
