//! WebSockets through the gateway (rule 17): the handshake goes to the app like any request
//! (the `Origin` checked instead of `x-csrf`, which a browser's WebSocket cannot send); once the
//! app answers 101, the two upgraded connections are relayed frame by frame, untouched — masks,
//! fragments and extensions (permessage-deflate) pass as they are — while the frame boundaries
//! are followed, so that Portero can end the socket cleanly: a close frame to the browser
//! between two frames of the app's, and one to the app between two of the browser's
//! (`sockets.rs` decides when, rule 19). The frame headers are read with tungstenite's parser.

use std::{
    io::Cursor,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::http::{header, HeaderMap};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf},
    sync::watch,
    task::JoinHandle,
    time::Instant,
};
use tungstenite::protocol::{
    frame::{
        coding::{CloseCode, Control, OpCode},
        Frame, FrameHeader,
    },
    CloseFrame,
};

/// A WebSocket opening handshake (RFC 6455 §4.1): `Upgrade: websocket` with `Connection` naming
/// `upgrade`.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    let upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let connection = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    upgrade && connection
}

/// How long an end waits for a frame under way to finish, and then for the browser's answer
/// to its close frame, before it drops the connections anyway.
const FINISH: Duration = Duration::from_secs(1);

type Io = TokioIo<Upgraded>;

/// Where a stream of frames is: in a frame's header (its bytes so far), or in its payload.
#[derive(Default)]
struct Framing {
    header: Vec<u8>,
    /// Payload bytes of the current frame still to come.
    left: u64,
    /// Whether the current frame is a close frame.
    closing: bool,
    /// Whether a whole close frame has gone by.
    closed: bool,
}

/// A stream that is not WebSocket frames.
struct NotFrames;

impl Framing {
    fn at_boundary(&self) -> bool {
        self.header.is_empty() && self.left == 0
    }

    /// Follows `bytes` and says how many belong to the stream up to the first frame boundary
    /// (`stop`) or in all.
    fn advance(&mut self, bytes: &[u8], stop: bool) -> Result<usize, NotFrames> {
        let mut used = 0;
        loop {
            if self.at_boundary() && (stop || used == bytes.len()) {
                return Ok(used);
            }
            if used == bytes.len() {
                return Ok(used);
            }
            if self.left > 0 {
                let take = self.left.min((bytes.len() - used) as u64);
                self.left -= take;
                used += take as usize;
                self.closed |= self.closing && self.left == 0;
                continue;
            }
            // A header: 2 to 14 bytes, perhaps split across reads.
            let before = self.header.len();
            let more = (14 - before).min(bytes.len() - used);
            self.header.extend_from_slice(&bytes[used..used + more]);
            let mut cursor = Cursor::new(&self.header);
            match FrameHeader::parse(&mut cursor) {
                Ok(Some((header, length))) => {
                    let length_of_header = cursor.position() as usize;
                    used += length_of_header - before;
                    self.header.clear();
                    self.left = length;
                    self.closing = header.opcode == OpCode::Control(Control::Close);
                    self.closed |= self.closing && length == 0;
                }
                // Fourteen bytes always hold a whole header: anything else is not a frame.
                Ok(None) if more == 0 => return Err(NotFrames),
                Ok(None) => used += more,
                Err(_) => return Err(NotFrames),
            }
        }
    }
}

/// What one direction of a relay reads into at first, and at most.
const FIRST_READ: usize = 1024;
const LARGEST_READ: usize = 16 * 1024;

/// How one direction of the relay ended.
enum End {
    /// Its reader closed (or failed): the other side was told with a half-close.
    Closed,
    /// Stopped between two frames at Portero's request: its writer can take a close frame.
    Stopped,
}

/// One direction, when it has ended: its halves, where its frames were, and what it read
/// past the boundary it stopped at.
struct Pumped<R, W> {
    from: R,
    to: W,
    framing: Framing,
    end: End,
    unsent: Vec<u8>,
}

/// Copies frames `from` → `to` until `from` closes, or until `stop` says so and a frame
/// boundary is reached. Every read moves `seen` (milliseconds since `since`).
async fn pump<R, W>(
    mut from: R,
    mut to: W,
    mut stop: watch::Receiver<bool>,
    seen: Arc<AtomicU64>,
    since: Instant,
) -> Pumped<R, W>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut framing = Framing::default();
    // Small while the socket carries small messages (a game's moves, a chat's lines), so that
    // thousands of idle sockets cost little; doubled each time a read fills it, up to
    // `LARGEST_READ`, for sockets that carry more.
    let mut buffer = vec![0u8; FIRST_READ];
    let mut unsent = Vec::new();
    let end = loop {
        let stopping = *stop.borrow();
        if stopping && framing.at_boundary() {
            break End::Stopped;
        }
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            changed = stop.changed(), if !stopping => {
                if changed.is_ok() {
                    continue;
                }
                // The relay is gone without a word: nothing will close this side but us.
                let _ = to.shutdown().await;
                break End::Closed;
            }
        };
        let n = match read {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                break End::Closed;
            }
            Ok(n) => n,
        };
        seen.store(since.elapsed().as_millis() as u64, Ordering::Relaxed);
        let Ok(used) = framing.advance(&buffer[..n], stopping) else {
            tracing::info!("a WebSocket carried something other than frames; closed");
            let _ = to.shutdown().await;
            break End::Closed;
        };
        if to.write_all(&buffer[..used]).await.is_err() {
            break End::Closed;
        }
        if used < n {
            unsent.extend_from_slice(&buffer[used..n]);
            break End::Stopped;
        }
        if n == buffer.len() && n < LARGEST_READ {
            buffer.resize(n * 2, 0);
        }
    };
    Pumped {
        from,
        to,
        framing,
        end,
        unsent,
    }
}

/// When a relay last carried anything.
pub struct Clock {
    seen: Arc<AtomicU64>,
    since: Instant,
}

impl Clock {
    pub fn last_seen(&self) -> Instant {
        self.since + Duration::from_millis(self.seen.load(Ordering::Relaxed))
    }
}

/// An open WebSocket relayed between the browser and the app.
pub struct Relay {
    /// Browser → app, and app → browser.
    up: Option<JoinHandle<Pumped<ReadHalf<Io>, WriteHalf<Io>>>>,
    down: Option<JoinHandle<Pumped<ReadHalf<Io>, WriteHalf<Io>>>>,
    stop: watch::Sender<bool>,
    seen: Arc<AtomicU64>,
    since: Instant,
}

impl Relay {
    /// Starts relaying between the browser's upgraded connection and the app's.
    pub fn start(client: Upgraded, app: Upgraded) -> Relay {
        let (client_in, client_out) = tokio::io::split(TokioIo::new(client));
        let (app_in, app_out) = tokio::io::split(TokioIo::new(app));
        let (stop, stopped) = watch::channel(false);
        let (seen, since) = (Arc::new(AtomicU64::new(0)), Instant::now());
        let up = pump(client_in, app_out, stopped.clone(), seen.clone(), since);
        let down = pump(app_in, client_out, stopped, seen.clone(), since);
        Relay {
            up: Some(tokio::spawn(up)),
            down: Some(tokio::spawn(down)),
            stop,
            seen,
            since,
        }
    }

    /// When a frame (or any byte) last went either way, to be read while the relay runs.
    pub fn clock(&self) -> Clock {
        Clock {
            seen: self.seen.clone(),
            since: self.since,
        }
    }

    /// Resolves once both directions have ended on their own (each side closed).
    pub async fn finished(&mut self) {
        for half in [&mut self.up, &mut self.down] {
            if let Some(handle) = half {
                let _ = handle.await;
                *half = None;
            }
        }
    }

    /// Ends the socket: each direction stops at its next frame boundary (waiting up to a
    /// second for a frame under way), the browser gets a close frame with `code` and `reason`,
    /// the app one too (masked, as a client's must be, RFC 6455 §5.3), and the browser's answer
    /// is waited for briefly before both connections are dropped.
    pub async fn close(mut self, code: u16, reason: &str) {
        let _ = self.stop.send(true);
        let down = finish(self.down.take()).await;
        let up = finish(self.up.take()).await;
        let frame = |masked: bool| {
            let mut frame = Frame::close(Some(CloseFrame {
                code: CloseCode::from(code),
                reason: reason.into(),
            }));
            if masked {
                frame.header_mut().mask = Some(rand::random());
            }
            let mut bytes = Vec::with_capacity(4 + 2 + reason.len());
            frame
                .format(&mut bytes)
                .expect("a close frame formats into memory");
            bytes
        };
        if let Some(Pumped {
            to: mut browser,
            end: End::Stopped,
            ..
        }) = down
        {
            let _ = browser.write_all(&frame(false)).await;
            let _ = browser.shutdown().await;
        }
        if let Some(mut up) = up {
            if matches!(up.end, End::Stopped) {
                let _ = up.to.write_all(&frame(true)).await;
                let _ = up.to.shutdown().await;
            }
            // The browser's own close frame, or its leaving: then the connection is done.
            let _ = tokio::time::timeout(FINISH, drain_until_closed(&mut up)).await;
        }
    }
}

/// A direction's end, waited for up to [`FINISH`]; `None` when it did not come (a frame stuck
/// half way) or it had ended before.
async fn finish<T>(half: Option<JoinHandle<T>>) -> Option<T> {
    let mut half = half?;
    match tokio::time::timeout(FINISH, &mut half).await {
        Ok(done) => done.ok(),
        Err(_) => {
            half.abort();
            None
        }
    }
}

/// Reads (and drops) what `half` still receives until a whole close frame has gone by, or the
/// other end leaves.
async fn drain_until_closed<W>(half: &mut Pumped<ReadHalf<Io>, W>) {
    let unsent = std::mem::take(&mut half.unsent);
    if half.framing.advance(&unsent, false).is_err() {
        return;
    }
    let mut buffer = vec![0u8; 4096];
    while !half.framing.closed {
        match half.from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if half.framing.advance(&buffer[..n], false).is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(opcode: OpCode, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let header = FrameHeader {
            opcode,
            mask,
            ..FrameHeader::default()
        };
        let mut bytes = Vec::new();
        Frame::from_payload(header, payload.to_vec().into())
            .format(&mut bytes)
            .unwrap();
        bytes
    }

    #[test]
    fn boundaries_are_found_across_reads_of_any_size() {
        use tungstenite::protocol::frame::coding::Data;
        let text = frame(OpCode::Data(Data::Text), b"hello", Some([1, 2, 3, 4]));
        let big = frame(OpCode::Data(Data::Binary), &[7u8; 70_000], None);
        let close = frame(OpCode::Control(Control::Close), &[0x03, 0xe8], None);
        let stream: Vec<u8> = [text.clone(), big.clone(), close.clone()].concat();
        let boundaries = [0, text.len(), text.len() + big.len(), stream.len()];
        for chunk in [1, 2, 3, 13, 14, 1000, stream.len()] {
            let mut framing = Framing::default();
            let mut offset = 0;
            for piece in stream.chunks(chunk) {
                assert_eq!(framing.advance(piece, false).ok(), Some(piece.len()));
                offset += piece.len();
                assert_eq!(
                    framing.at_boundary(),
                    boundaries.contains(&offset),
                    "chunk {chunk}, offset {offset}"
                );
            }
            assert!(framing.closed, "chunk {chunk}: the close frame went by");
        }
        // Stopping: a read that holds the end of a frame and the start of the next is used up
        // to the boundary only.
        let mut framing = Framing::default();
        assert_eq!(framing.advance(&stream[..3], false).ok(), Some(3));
        let next = text.len() + 5;
        assert_eq!(
            framing.advance(&stream[3..next], true).ok(),
            Some(text.len() - 3)
        );
        assert!(framing.at_boundary());
        assert_eq!(framing.advance(&stream[text.len()..], true).ok(), Some(0));
    }

    #[test]
    fn a_stream_that_is_not_frames_is_told_apart() {
        // Opcode 3 is reserved (RFC 6455 §5.2).
        assert!(Framing::default().advance(&[0x83, 0x00], false).is_err());
    }
}
