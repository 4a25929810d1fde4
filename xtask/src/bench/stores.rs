//! Sections 3 and 4, once per session store (memory, SQLite, and Redis when redis-server is
//! installed): the login cost (logins.rs) and `/api/me` throughput against `/healthz` with the
//! load generator.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::{Context, Result};

use super::{
    backend::{self, Backend},
    load::{hammer, Load},
    logins::{self, Logins},
    report::{ms, Budget, Report, Section},
    Env, Options,
};
use crate::{
    processes::{free_port, Process},
    step,
};

/// Connections of the throughput test (64 connections for 10 s, the figure docs/BENCHMARKS.md states).
const CONNECTIONS: usize = 64;
/// The seconds of each endpoint are split into this many alternating rounds.
const ROUNDS: u32 = 2;

pub async fn stores(env: &Env, options: &Options, report: &mut Report) -> Result<()> {
    let sqlite_dir = env.work.join("sqlite");
    let _ = std::fs::remove_dir_all(&sqlite_dir);
    let mut runs = vec![
        ("memory", "memory".to_owned()),
        (
            "sqlite",
            format!("sqlite://{}", sqlite_dir.join("sessions.db").display()),
        ),
    ];
    let redis = Redis::start(&env.work)?;
    match &redis {
        Some(redis) => runs.push(("redis", redis.url.clone())),
        None => report.unmeasured.push(
            "Redis store: no redis-server on this machine (`apt-get install redis-server`)".into(),
        ),
    }

    let mut throughput = Throughput::new(env.seconds);
    let mut logins = Logins::new();
    for (label, store) in &runs {
        step(&format!("3+4/6 {label} store: logins and throughput"));
        let spec = backend::Spec::new(label, store);
        let backend = Backend::start(env, &spec).await?;
        let http = logins::http_client(logins::CONCURRENCY)?;
        // One login first: OIDC discovery and JWKS are fetched once per process, not per login.
        let (cookie, _) = logins::login(&http, &backend.origin, "ada")
            .await
            .context("a first login")?;
        if options.wants("logins") {
            logins.measure(&backend, &http, label, report).await?;
        }
        if options.wants("throughput") {
            let duration = Duration::from_secs(env.seconds);
            throughput
                .measure(&backend, &cookie, label, duration, report)
                .await?;
        }
    }
    drop(redis);
    if options.wants("throughput") {
        report.sections.push(throughput.finish());
    }
    if options.wants("logins") {
        report.sections.push(logins.finish());
    }
    Ok(())
}

/// The throughput section, filled store by store.
struct Throughput {
    section: Section,
    table: String,
    failures: String,
}

impl Throughput {
    fn new(seconds: u64) -> Throughput {
        Throughput {
            section: Section::new(
                "3. `/api/me` throughput against `/healthz`",
                format!(
                    "Measured: {CONNECTIONS} keep-alive connections, {seconds} s per endpoint \
                     in {ROUNDS} alternating rounds after 1 s of warm-up each."
                ),
            ),
            table:
                "| store | endpoint | requests/s | p50 | p99 | errors | backend CPU per request |\n\
                    |---|---|---|---|---|---|---|\n"
                    .into(),
            failures: String::new(),
        }
    }

    async fn measure(
        &mut self,
        backend: &Backend,
        cookie: &str,
        store: &str,
        duration: Duration,
        report: &mut Report,
    ) -> Result<()> {
        // Warm-up, then both endpoints in alternating rounds, so that a change in what else
        // the machine does meanwhile weighs on both alike.
        let endpoints = [("/healthz", None), ("/api/me", Some(cookie))];
        for (path, cookie) in endpoints {
            hammer(
                backend.addr,
                path,
                cookie,
                CONNECTIONS,
                Duration::from_secs(1),
            )
            .await?;
        }
        let mut loads = [Load::default(), Load::default()];
        // The backend's CPU time per request: the floor of its stack (`/healthz`) and a read
        // of the session.
        let mut cpu = [0.0; 2];
        for _ in 0..ROUNDS {
            for (((path, cookie), load), cpu) in endpoints.iter().zip(&mut loads).zip(&mut cpu) {
                let round = duration / ROUNDS;
                let before = backend.cpu_seconds()?;
                load.merge(hammer(backend.addr, path, *cookie, CONNECTIONS, round).await?);
                *cpu += backend.cpu_seconds()? - before;
            }
        }
        for (((endpoint, _), load), cpu) in endpoints.iter().zip(&loads).zip(cpu) {
            let _ = writeln!(
                self.table,
                "| {store} | `{endpoint}` | {:.0} | {} | {} | {} | {:.1} µs |",
                load.rate(),
                ms(load.p(50.0)),
                ms(load.p(99.0)),
                load.failed,
                cpu * 1e6 / load.ok().max(1) as f64,
            );
        }
        let [health, me] = &loads;
        let ratio = me.rate() / health.rate() * 100.0;
        let shown = format!(
            "{ratio:.0} % ({:.0} of {:.0} requests/s)",
            me.rate(),
            health.rate()
        );
        let section = &mut self.section;
        match store {
            // The budget: the default store (SQLite) at the memory store's speed, and Redis.
            "sqlite" => section.budgeted(
                "`/api/me` vs `/healthz`, SQLite",
                ratio,
                shown,
                Budget::at_least(60.0, "≥ 60 %"),
            ),
            "redis" => section.budgeted(
                "`/api/me` vs `/healthz`, Redis",
                ratio,
                shown,
                Budget::at_least(40.0, "≥ 40 %"),
            ),
            _ => section.info(format!("`/api/me` vs `/healthz`, {store}"), shown),
        }
        let failed = health.failed + me.failed;
        if failed > 0 {
            report.failures.push(format!(
                "{store} store: {failed} request(s) of the throughput test failed"
            ));
            let _ = writeln!(
                self.failures,
                "\n{failed} request(s) failed with the {store} store (see \
                 target/bench/portero-{store}.log)."
            );
        }
        Ok(())
    }

    fn finish(mut self) -> Section {
        self.section.details = self.table + &self.failures;
        self.section
    }
}

/// A throwaway redis-server on a free loopback port, without persistence.
struct Redis {
    _process: Process,
    url: String,
}

impl Redis {
    fn start(work: &Path) -> Result<Option<Redis>> {
        let Some(binary) = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
        else {
            return Ok(None);
        };
        let port = free_port()?;
        let mut process = Process::spawn(
            "redis-server",
            Command::new(binary)
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no"])
                .args(["--protected-mode", "yes"])
                .current_dir(work)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        process.wait_until(
            &format!("did not answer PING on port {port}"),
            Duration::from_secs(10),
            Duration::from_millis(20),
            || redis_ping(port),
        )?;
        Ok(Some(Redis {
            _process: process,
            url: format!("redis://127.0.0.1:{port}"),
        }))
    }
}

fn redis_ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 5];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG"
}
