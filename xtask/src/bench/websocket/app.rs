//! The app behind the WebSocket proxies: an echo (tokio-tungstenite) in a process of its own, so
//! that the direct way does not share the load generator's runtime and cores' queue; it is xtask
//! itself, run again with a hidden argument.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};

use crate::processes::{free_port, Process};

/// `xtask bench --websocket-echo PORT` runs the app instead of the bench.
pub const FLAG: &str = "--websocket-echo";

/// The echo app, listening on a loopback port; stopped when dropped.
pub struct EchoApp {
    pub port: u16,
    _process: Process,
}

impl EchoApp {
    pub fn start(work: &Path) -> Result<EchoApp> {
        let port = free_port()?;
        let log = std::fs::File::create(work.join("websocket-echo.log"))?;
        let mut process = Process::spawn(
            "the WebSocket echo app",
            Command::new(std::env::current_exe()?)
                .args(["bench", FLAG, &port.to_string()])
                // Held open by this process: the app ends when it reads the end of it.
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(log),
        )?;
        process
            .wait_listening(port)
            .context("see target/bench/websocket-echo.log")?;
        Ok(EchoApp {
            port,
            _process: process,
        })
    }
}

/// The app: on 127.0.0.1:PORT, every text and binary message sent back as it came, until the
/// process is stopped or its stdin ends (the xtask that started it is gone, however it went).
pub fn serve(args: &[String]) -> Result<()> {
    let [port] = args else {
        bail!("{FLAG} takes one argument, the port");
    };
    let port: u16 = port
        .parse()
        .with_context(|| format!("{FLAG}: {port:?} is not a port"))?;
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(listen(port))
}

async fn listen(port: u16) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(echo(stream));
            }
            // Out of file descriptors, say: the clients see it; the app goes on.
            Err(e) => {
                eprintln!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn echo(stream: tokio::net::TcpStream) {
    // As nginx and Portero do: a small message leaves at once.
    let _ = stream.set_nodelay(true);
    // A connection that is no WebSocket handshake (the readiness probe) just ends.
    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    // tungstenite answers pings and the close frame itself, on the next read or write.
    while let Some(Ok(message)) = socket.next().await {
        if (message.is_text() || message.is_binary()) && socket.send(message).await.is_err() {
            break;
        }
    }
}
