//! Section 7, the gateway: one trivial app (Debian's nginx answering a fixed
//! body with `return 200`) reached four ways, in one run with the same load — directly; through
//! a tuned nginx `proxy_pass` (the anchor: what a proxy in front of an app costs anyway); and
//! through Portero's gateway with a logged-in session, with the memory store and with SQLite.

use std::{fmt::Write as _, net::SocketAddr, time::Duration};

use anyhow::{bail, Context, Result};

use super::{
    backend::{self, Backend},
    load::{hammer, Load},
    logins,
    nginx::{self, Nginx},
    report::{ms, Budget, Report, Section},
    Env,
};
use crate::step;

/// The same load as the `/api/me` figures: 64 keep-alive connections.
const CONNECTIONS: usize = 64;
/// Each case's seconds are split into this many rounds, the cases alternating.
const ROUNDS: u32 = 2;
/// Then each case with a single connection, for this long.
const ALONE: Duration = Duration::from_secs(2);
/// What the app answers, a small fixed body.
const BODY: &str = "Hello from the app behind the proxy.\n";
/// The path the app is asked for, and where Portero's `[upstreams.bench]` forwards it from.
const APP_PATH: &str = "/hello";
const PREFIX: &str = "/api/bench";

pub async fn gateway(env: &Env, report: &mut Report) -> Result<()> {
    step("7 gateway: the app directly, through nginx proxy_pass, through Portero");
    let Some(nginx) = nginx::binary() else {
        report.unmeasured.push(
            "gateway: no nginx on this machine (`apt-get install nginx`, Debian's package)".into(),
        );
        return Ok(());
    };
    let app = Nginx::start(&nginx, &env.work, "app", app_servers)?;
    let proxy = Nginx::start(&nginx, &env.work, "proxy", |port| {
        proxy_servers(port, app.port)
    })?;
    let upstream = format!(
        "\n[upstreams.bench]\nprefix = \"{PREFIX}\"\nurl = \"http://127.0.0.1:{}\"\n\
         login = \"required\"\n",
        app.port
    );
    let sqlite_dir = env.work.join("gateway-sqlite");
    let _ = std::fs::remove_dir_all(&sqlite_dir);
    let sqlite = format!("sqlite://{}", sqlite_dir.join("sessions.db").display());
    let mut backends = Vec::new();
    for (label, store) in [("gateway-memory", "memory"), ("gateway-sqlite", &sqlite)] {
        let spec = backend::Spec {
            extra: &upstream,
            ..backend::Spec::new(label, store)
        };
        let backend = Backend::start(env, &spec).await?;
        let http = logins::http_client(1)?;
        let (cookie, _) = logins::login(&http, &backend.origin, "ada")
            .await
            .with_context(|| format!("a login at the {label} backend"))?;
        backends.push((backend, cookie));
    }
    let [(memory, memory_cookie), (sqlite, sqlite_cookie)] = &backends[..] else {
        unreachable!("two backends")
    };
    let gateway_path = format!("{PREFIX}{APP_PATH}");
    let cases = [
        Case::new("the app directly", app.addr(), APP_PATH, None),
        Case::new("nginx `proxy_pass`", proxy.addr(), APP_PATH, None),
        Case::new(
            "Portero's gateway, memory",
            memory.addr,
            &gateway_path,
            Some(memory_cookie),
        ),
        Case::new(
            "Portero's gateway, SQLite",
            sqlite.addr,
            &gateway_path,
            Some(sqlite_cookie),
        ),
    ];
    for case in &cases {
        case.check(BODY).await?;
    }
    // Warm-up (connection pools, caches), then the cases in alternating rounds, so that a change
    // in what else the machine does meanwhile weighs on all of them alike.
    for case in &cases {
        case.run(CONNECTIONS, Duration::from_secs(1)).await?;
    }
    let mut loads: Vec<Load> = cases.iter().map(|_| Load::default()).collect();
    // Portero's own CPU time while its cases ran: what one forwarded request costs it.
    let portero = [None, None, Some(memory), Some(sqlite)];
    let mut cpu = [0.0; 4];
    let round = Duration::from_secs(env.seconds) / ROUNDS;
    for _ in 0..ROUNDS {
        for (i, (case, load)) in cases.iter().zip(&mut loads).enumerate() {
            let before = portero[i].map(Backend::cpu_seconds).transpose()?;
            load.merge(case.run(CONNECTIONS, round).await?);
            if let (Some(backend), Some(before)) = (portero[i], before) {
                cpu[i] += backend.cpu_seconds()? - before;
            }
        }
    }
    // The same one request at a time: the cost of a hop without the queueing of the 64.
    let mut alone = Vec::new();
    for case in &cases {
        alone.push(case.run(1, ALONE).await?);
    }
    let section = section(env.seconds, &cases, &loads, &alone, &cpu, report);
    report.sections.push(section);
    Ok(())
}

/// One way of reaching the app.
struct Case<'a> {
    name: &'static str,
    addr: SocketAddr,
    path: &'a str,
    cookie: Option<&'a str>,
}

impl<'a> Case<'a> {
    fn new(
        name: &'static str,
        addr: SocketAddr,
        path: &'a str,
        cookie: Option<&'a String>,
    ) -> Case<'a> {
        Case {
            name,
            addr,
            path,
            cookie: cookie.map(String::as_str),
        }
    }

    async fn run(&self, connections: usize, duration: Duration) -> Result<Load> {
        hammer(self.addr, self.path, self.cookie, connections, duration).await
    }

    /// One request as the load sends it, answered 200 with the app's body.
    async fn check(&self, body: &str) -> Result<()> {
        let mut request = reqwest::Client::new()
            .get(format!("http://{}{}", self.addr, self.path))
            .header("x-csrf", "1");
        if let Some(cookie) = self.cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if status != reqwest::StatusCode::OK || text != body {
            bail!("{}: {} answered {status}: {text:?}", self.name, self.path);
        }
        Ok(())
    }
}

fn section(
    seconds: u64,
    cases: &[Case],
    loads: &[Load],
    alone: &[Load],
    cpu: &[f64; 4],
    report: &mut Report,
) -> Section {
    let mut section = Section::new(
        "7. Gateway against nginx `proxy_pass`",
        format!(
            "Measured: {CONNECTIONS} keep-alive connections, {seconds} s per case in {ROUNDS} \
             alternating rounds after 1 s of warm-up each, then {} s each over one connection; \
             the app is nginx's `return 200` of {} bytes.",
            ALONE.as_secs(),
            BODY.len()
        ),
    );
    let [direct, nginx, memory, sqlite] = loads else {
        unreachable!("four cases")
    };
    for (store, gateway) in [("memory", memory), ("SQLite", sqlite)] {
        let ratio = gateway.rate() / nginx.rate();
        section.budgeted(
            format!("gateway vs nginx `proxy_pass`, {store}"),
            ratio,
            format!(
                "{ratio:.2}× ({:.0} of {:.0} requests/s)",
                gateway.rate(),
                nginx.rate()
            ),
            Budget::at_least(0.8, "≥ 0.8×"),
        );
    }
    for (store, gateway) in [("memory", memory), ("SQLite", sqlite)] {
        let added = added_ms(gateway, direct, 99.0);
        section.budgeted(
            format!("gateway added p99 over direct, {store}"),
            added,
            format!(
                "{added:+.2} ms ({} against {})",
                ms(gateway.p(99.0)),
                ms(direct.p(99.0))
            ),
            Budget::at_most(2.0, "≤ 2 ms"),
        );
    }
    for (store, (load, cpu)) in ["memory", "SQLite"]
        .iter()
        .zip([(memory, cpu[2]), (sqlite, cpu[3])])
    {
        section.info(
            format!("Portero's CPU per forwarded request, {store}"),
            format!(
                "{:.1} µs ({cpu:.2} s of CPU for {} requests)",
                cpu * 1e6 / load.ok().max(1) as f64,
                load.ok()
            ),
        );
    }
    let added = added_ms(nginx, direct, 99.0);
    section.info(
        "nginx `proxy_pass` added p99 over direct",
        format!(
            "{added:+.2} ms ({} against {})",
            ms(nginx.p(99.0)),
            ms(direct.p(99.0))
        ),
    );
    let [alone_direct, alone_nginx, alone_memory, alone_sqlite] = alone else {
        unreachable!("four cases")
    };
    for (way, load) in [
        ("nginx `proxy_pass`", alone_nginx),
        ("gateway, memory", alone_memory),
        ("gateway, SQLite", alone_sqlite),
    ] {
        section.info(
            format!("{way} added p50 over direct, one connection"),
            format!(
                "{:+.2} ms ({} against {})",
                added_ms(load, alone_direct, 50.0),
                ms(load.p(50.0)),
                ms(alone_direct.p(50.0))
            ),
        );
    }
    section.details = "| case | requests/s | p50 | p99 | errors | one connection: requests/s \
                       | p50 | p99 |\n|---|---|---|---|---|---|---|---|\n"
        .into();
    for ((case, load), alone) in cases.iter().zip(loads).zip(alone) {
        let _ = writeln!(
            section.details,
            "| {} | {:.0} | {} | {} | {} | {:.0} | {} | {} |",
            case.name,
            load.rate(),
            ms(load.p(50.0)),
            ms(load.p(99.0)),
            load.failed,
            alone.rate(),
            ms(alone.p(50.0)),
            ms(alone.p(99.0)),
        );
        let failed = load.failed + alone.failed;
        if failed > 0 {
            report.failures.push(format!(
                "gateway: {failed} request(s) to {} failed (see \
                 target/bench/portero-gateway-*.log and target/bench/nginx-*/error.log)",
                case.name
            ));
        }
    }
    section
}

/// How much later than `direct` the percentile `p` of `load` is, in ms.
pub(super) fn added_ms(load: &Load, direct: &Load, p: f64) -> f64 {
    (load.p(p).as_secs_f64() - direct.p(p).as_secs_f64()) * 1000.0
}

/// The app: a fixed body, no file read, no log line.
fn app_servers(port: u16) -> String {
    format!(
        "server {{\n  listen 127.0.0.1:{port};\n  location / {{\n    default_type text/plain;\n    \
         return 200 {BODY:?};\n  }}\n}}\n"
    )
}

/// nginx as a tuned reverse proxy: keep-alive connections to the app (HTTP/1.1, `Connection`
/// cleared), and the forwarding headers a proxy sets, as Portero's gateway does.
fn proxy_servers(port: u16, app: u16) -> String {
    format!(
        "upstream app {{\n  server 127.0.0.1:{app};\n  keepalive {CONNECTIONS};\n  \
         keepalive_requests 1000000;\n}}\n\
         server {{\n  listen 127.0.0.1:{port};\n  location / {{\n    proxy_pass http://app;\n    \
         proxy_http_version 1.1;\n    proxy_set_header Connection \"\";\n    \
         proxy_set_header Host $host;\n    \
         proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    \
         proxy_set_header X-Forwarded-Proto $scheme;\n  }}\n}}\n"
    )
}
