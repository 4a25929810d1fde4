//! The load the bench puts on the backend: a closed-loop HTTP/1.1 generator (hyper, keep-alive
//! connections, each sending its next request when the previous answer is read, as oha and wrk
//! do) for the throughput figures, and a bounded pool of workers for logins and sessions.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Result};

use super::report::percentile;

#[derive(Default)]
pub struct Load {
    ok: usize,
    pub failed: usize,
    elapsed: Duration,
    /// Microseconds, sorted.
    latencies: Vec<u32>,
}

impl Load {
    /// What another generator measured (the WebSocket section's messages): `latencies` in
    /// microseconds, in any order.
    pub fn measured(ok: usize, failed: usize, elapsed: Duration, mut latencies: Vec<u32>) -> Load {
        latencies.sort_unstable();
        Load {
            ok,
            failed,
            elapsed,
            latencies,
        }
    }

    pub fn merge(&mut self, other: Load) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.latencies.sort_unstable();
    }

    /// How many succeeded.
    pub fn ok(&self) -> usize {
        self.ok
    }

    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    pub fn p(&self, p: f64) -> Duration {
        Duration::from_micros(u64::from(percentile(&self.latencies, p)))
    }
}

/// `GET path` over `connections` keep-alive HTTP/1.1 connections, each sending its next request
/// when the previous answer is read (closed loop, as oha and wrk do), for `duration`.
pub async fn hammer(
    addr: SocketAddr,
    path: &str,
    cookie: Option<&str>,
    connections: usize,
    duration: Duration,
) -> Result<Load> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let path = path.to_owned();
        let cookie = cookie.map(str::to_owned);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(16 * 1024);
            let (mut ok, mut failed) = (0, 0);
            while Instant::now() < deadline {
                if let Err(_e) = one_connection(
                    addr,
                    &path,
                    cookie.as_deref(),
                    deadline,
                    &mut latencies,
                    &mut ok,
                )
                .await
                {
                    failed += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            (ok, failed, latencies)
        }));
    }
    let mut load = Load::default();
    for task in tasks {
        let (ok, failed, latencies) = task.await?;
        load.ok += ok;
        load.failed += failed;
        load.latencies.extend(latencies);
    }
    load.elapsed = started.elapsed();
    load.latencies.sort_unstable();
    Ok(load)
}

async fn one_connection(
    addr: SocketAddr,
    path: &str,
    cookie: Option<&str>,
    deadline: Instant,
    latencies: &mut Vec<u32>,
    ok: &mut usize,
) -> Result<()> {
    use http_body_util::BodyExt;
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let host = addr.to_string();
    let result = async {
        while Instant::now() < deadline {
            let mut request = hyper::Request::get(path)
                .header(hyper::header::HOST, &host)
                .header("x-csrf", "1");
            if let Some(cookie) = cookie {
                request = request.header(hyper::header::COOKIE, cookie);
            }
            let request = request.body(http_body_util::Empty::<hyper::body::Bytes>::new())?;
            let began = Instant::now();
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            response.into_body().collect().await?;
            if status != hyper::StatusCode::OK {
                bail!("{path} answered {status}");
            }
            latencies.push(u32::try_from(began.elapsed().as_micros()).unwrap_or(u32::MAX));
            *ok += 1;
        }
        Ok(())
    }
    .await;
    driver.abort();
    result
}

/// Runs `job(i)` for i in 0..count with `concurrency` workers; stops at `limit`.
pub async fn concurrently<T, F, Fut>(
    count: usize,
    concurrency: usize,
    limit: Duration,
    job: F,
) -> Result<Vec<Result<T>>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let deadline = Instant::now() + limit;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, job) = (next.clone(), job.clone());
        workers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count || Instant::now() > deadline {
                    return done;
                }
                done.push(job(i).await);
            }
        }));
    }
    let mut results = Vec::with_capacity(count);
    for worker in workers {
        results.extend(worker.await?);
    }
    if results.len() < count {
        bail!("only {} of {count} done within {limit:?}", results.len());
    }
    Ok(results)
}
