//! A real `redis-server` (Debian package `redis-server`; `cargo xtask test` installs it) on a random
//! loopback port, its data in a folder under target/, killed when dropped.

use std::{
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// Options beyond the port, the folder and the append-only file.
    options: Vec<String>,
}

impl RedisServer {
    /// A fresh server. Every write goes to an append-only file at once, so `kill` followed by
    /// `start_again` finds the data as it was (an outage, not a data loss).
    pub async fn start(name: &str) -> RedisServer {
        Self::start_with(name, &[]).await
    }

    /// [`RedisServer::start`] with more `redis-server` options (`--requirepass x`).
    pub async fn start_with(name: &str, options: &[&str]) -> RedisServer {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("redis-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = RedisServer {
            port,
            dir,
            child: None,
            options: options.iter().map(|o| o.to_string()).collect(),
        };
        server.start_again().await;
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server dies at once (SIGKILL), as in a crash or a network cut: its whole process
    /// group, so a child it forked (an append-only file rewrite) does not outlive it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(pid) = i32::try_from(child.id()) {
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
            }
            let _ = child.wait();
        }
    }

    /// On the same port, with the same data.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .args(&self.options)
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect(
                "redis-server runs (Debian package redis-server; `cargo xtask test` installs it)",
            );
        self.child = Some(child);
        for _ in 0..100 {
            if self
                .command(&["PING"])
                .await
                // A server that wants a password answers NOAUTH: it is up.
                .is_some_and(|r| r.contains("PONG") || r.contains("NOAUTH"))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not answer on port {}", self.port);
    }

    /// One command in RESP over a raw connection, then `QUIT` (so the server closes it after
    /// answering); the replies as text, or `None` when the server cannot be reached.
    pub async fn command(&self, args: &[&str]) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await.ok()?;
        let mut request = Vec::new();
        for command in [args, &["QUIT"]] {
            request.extend_from_slice(format!("*{}\r\n", command.len()).as_bytes());
            for arg in command {
                request.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
            }
        }
        stream.write_all(&request).await.ok()?;
        let mut reply = Vec::new();
        tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut reply))
            .await
            .ok()?
            .ok()?;
        Some(String::from_utf8_lossy(&reply).into_owned())
    }

    /// Every key and what it holds (strings, and the members of sets and sorted sets), as
    /// text: what a reader of the database (or of a dump of it) sees.
    pub async fn dump_values(&self) -> Vec<String> {
        let keys = self.command(&["KEYS", "*"]).await.expect("redis answers");
        let mut values = Vec::new();
        // `*N`, then `$len` / key pairs.
        let lines: Vec<&str> = keys.split("\r\n").collect();
        for pair in lines.iter().skip(1).collect::<Vec<_>>().chunks(2) {
            if let [len, key] = pair {
                if len.starts_with('$') && !key.is_empty() {
                    let kind = self.command(&["TYPE", key]).await.expect("redis answers");
                    let read: &[&str] = if kind.contains("zset") {
                        &["ZRANGE", key, "0", "-1"]
                    } else if kind.contains("set") {
                        &["SMEMBERS", key]
                    } else {
                        &["GET", key]
                    };
                    let value = self.command(read).await.expect("redis answers");
                    values.push(format!("{key} {value}"));
                }
            }
        }
        values
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
