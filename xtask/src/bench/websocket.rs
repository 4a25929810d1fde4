//! Section 8, WebSockets: a Pong game's traffic — 32-byte paddle updates, each echoed by the app
//! before the next — over 64 sockets that reach the app directly, through nginx as a WebSocket
//! proxy, and through Portero's gateway with a logged-in session, in one run; then what an idle
//! socket open through Portero costs in memory, with 10,000 of them (`idle`). The app is an echo
//! in a process of its own (`app`); the sockets and their closed loop are `talk`.

mod app;
mod idle;
mod talk;

use std::{fmt::Write as _, time::Duration};

use anyhow::{Context, Result};

use super::{
    backend::{Backend, Spec},
    gateway::added_ms,
    load::Load,
    logins,
    nginx::{self, Nginx},
    report::{kb, minutes, ms, Budget, Report, Section},
    Env,
};
use crate::step;
use app::EchoApp;
pub use app::{serve as serve_echo, FLAG as ECHO_FLAG};
pub use idle::raise_open_files_limit;
use idle::{idle_sockets, Idle, AT_ONCE, SESSIONS};
use talk::{close, converse, echo, paddle, Way};

/// As many sockets as the HTTP load has connections.
const SOCKETS: usize = 64;
/// Each way's seconds are split into this many rounds, the ways alternating.
const ROUNDS: u32 = 2;
const WARM_UP: Duration = Duration::from_secs(1);
/// The app's path, and where Portero's `[upstreams.pong]` forwards it from.
const APP_PATH: &str = "/game";
const PREFIX: &str = "/api/pong";

pub async fn sockets(env: &Env, report: &mut Report) -> Result<()> {
    step("8 sockets: echoes directly, through nginx, through Portero; then 10,000 idle sockets");
    let app = EchoApp::start(&env.work)?;
    let upstream = format!(
        "\n[upstreams.pong]\nprefix = \"{PREFIX}\"\nurl = \"http://127.0.0.1:{}\"\n\
         login = \"required\"\n",
        app.port
    );
    let talks = talk_three_ways(env, &app, &upstream, report).await?;
    let idle = idle_sockets(env, &upstream, report).await?;
    report.sections.push(section(env.seconds, &talks, &idle));
    Ok(())
}

/// One way's figures over the whole run.
struct Talk {
    way: Way,
    load: Load,
    errors: Vec<String>,
}

/// The ways, and Portero's CPU time (seconds) over its rounds.
struct Talks {
    ways: Vec<Talk>,
    cpu: f64,
}

async fn talk_three_ways(
    env: &Env,
    app: &EchoApp,
    upstream: &str,
    report: &mut Report,
) -> Result<Talks> {
    let proxy = match nginx::binary() {
        Some(binary) => Some(Nginx::start(&binary, &env.work, "websocket", |port| {
            proxy_servers(port, app.port)
        })?),
        None => {
            report.unmeasured.push(
                "sockets: no nginx on this machine, so no WebSocket proxy to compare with \
                 (`apt-get install nginx`, Debian's package)"
                    .into(),
            );
            None
        }
    };
    let backend = backend(env, "sockets", "", upstream).await?;
    let (cookie, _) = logins::login(&logins::http_client(1)?, &backend.origin, "ada")
        .await
        .context("a login at the sockets backend")?;
    let mut ways = vec![way(
        "the app directly",
        app_addr(app),
        APP_PATH,
        None,
        vec![],
    )];
    if let Some(proxy) = &proxy {
        ways.push(way("nginx", proxy.addr(), APP_PATH, None, vec![]));
    }
    ways.push(way(
        "Portero's gateway",
        backend.addr,
        &format!("{PREFIX}{APP_PATH}"),
        Some(backend.origin.clone()),
        vec![cookie],
    ));
    // Each way must work before anything is timed.
    for way in &ways {
        let works = async {
            let mut socket = way.open(0).await?;
            echo(&mut socket, &paddle(0, 0)).await?;
            close(socket).await
        };
        works
            .await
            .with_context(|| format!("a WebSocket through {}", way.name))?;
    }
    let mut talks: Vec<Talk> = ways
        .into_iter()
        .map(|way| Talk {
            way,
            load: Load::default(),
            errors: Vec::new(),
        })
        .collect();
    // Warm-up, then the ways in alternating rounds, so that a change in what else the machine
    // does meanwhile weighs on all of them alike.
    for talk in &mut talks {
        let (_, errors) = converse(&talk.way, SOCKETS, WARM_UP).await?;
        talk.errors.extend(errors);
    }
    // Portero works only in its own rounds: its CPU time over all of them is its messages'.
    let cpu_before = backend.cpu_seconds()?;
    let round = Duration::from_secs(env.seconds) / ROUNDS;
    for _ in 0..ROUNDS {
        for talk in &mut talks {
            let (load, errors) = converse(&talk.way, SOCKETS, round).await?;
            talk.load.merge(load);
            talk.errors.extend(errors);
        }
    }
    let cpu = backend.cpu_seconds()? - cpu_before;
    for talk in &talks {
        fail_with(report, talk.way.name, &talk.errors);
    }
    Ok(Talks { ways: talks, cpu })
}

fn fail_with(report: &mut Report, way: &str, errors: &[String]) {
    if errors.is_empty() {
        return;
    }
    let mut distinct = errors.to_vec();
    distinct.sort();
    distinct.dedup();
    let first: Vec<String> = distinct.iter().take(3).map(|e| format!("`{e}`")).collect();
    report.failures.push(format!(
        "sockets: {} failure(s) through {way} (first distinct: {}; see target/bench/\
         portero-sockets*.log, nginx-websocket/error.log and websocket-echo.log)",
        errors.len(),
        first.join("; ")
    ));
}

async fn backend(env: &Env, label: &str, server: &str, upstream: &str) -> Result<Backend> {
    let spec = Spec {
        server,
        extra: upstream,
        ..Spec::new(label, "memory")
    };
    Backend::start(env, &spec).await
}

fn way(
    name: &'static str,
    addr: std::net::SocketAddr,
    path: &str,
    origin: Option<String>,
    cookies: Vec<String>,
) -> Way {
    Way {
        name,
        addr,
        path: path.to_owned(),
        origin,
        cookies,
    }
}

fn app_addr(app: &EchoApp) -> std::net::SocketAddr {
    ([127, 0, 0, 1], app.port).into()
}

/// nginx as a WebSocket reverse proxy, as its documentation has it: HTTP/1.1 to the app, the
/// `Upgrade` passed on and `Connection: upgrade`; sockets quiet for as long as Portero's
/// `websocket_idle_timeout_secs` (300 s) are kept.
fn proxy_servers(port: u16, app: u16) -> String {
    format!(
        "server {{\n  listen 127.0.0.1:{port};\n  location / {{\n    \
         proxy_pass http://127.0.0.1:{app};\n    proxy_http_version 1.1;\n    \
         proxy_set_header Upgrade $http_upgrade;\n    proxy_set_header Connection \"upgrade\";\n    \
         proxy_set_header Host $host;\n    \
         proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    \
         proxy_read_timeout 300s;\n    proxy_send_timeout 300s;\n  }}\n}}\n"
    )
}

fn section(seconds: u64, talks: &Talks, idle: &Idle) -> Section {
    let mut section = Section::new(
        "8. WebSockets",
        format!(
            "Measured: {SOCKETS} sockets per way, each sending a 32-byte text message and \
             waiting for its echo before the next (closed loop, every echo checked), {seconds} s \
             per way in {ROUNDS} alternating rounds after {} s of warm-up each; the app is a \
             tokio-tungstenite echo in a process of its own; Portero with the memory store, \
             `login = \"required\"`, the handshake with a session cookie and the public origin. \
             Then {} idle sockets through a second backend (memory store, \
             `server.max_connections = {}` instead of 512: an open socket keeps its \
             connection's place), {SESSIONS} logged-in people, opened {AT_ONCE} at a time, each \
             answered 101 and one message echoed.{}",
            WARM_UP.as_secs(),
            idle.open,
            idle.max_connections,
            idle.fewer.as_deref().unwrap_or_default(),
        ),
    );
    let find = |name: &str| {
        talks
            .ways
            .iter()
            .find(|t| t.way.name == name)
            .map(|t| &t.load)
    };
    let direct = find("the app directly").expect("the direct way is always measured");
    let portero = find("Portero's gateway").expect("Portero is always measured");
    if let Some(nginx) = find("nginx") {
        let ratio = portero.rate() / nginx.rate();
        section.budgeted(
            "WebSocket messages/s, Portero vs nginx",
            ratio,
            format!(
                "{ratio:.2}× ({:.0} of {:.0} messages/s)",
                portero.rate(),
                nginx.rate()
            ),
            Budget::at_least(0.8, "≥ 0.8×"),
        );
    }
    let added = |load: &Load, p: f64| {
        format!(
            "{:+.2} ms ({} against {})",
            added_ms(load, direct, p),
            ms(load.p(p)),
            ms(direct.p(p))
        )
    };
    section.budgeted(
        "WebSocket added p99 over direct, Portero",
        added_ms(portero, direct, 99.0),
        added(portero, 99.0),
        Budget::at_most(1.0, "≤ 1 ms"),
    );
    if let Some(nginx) = find("nginx") {
        section.info("WebSocket added p99 over direct, nginx", added(nginx, 99.0));
        section.info("WebSocket added p50 over direct, nginx", added(nginx, 50.0));
    }
    section.info(
        "WebSocket added p50 over direct, Portero",
        added(portero, 50.0),
    );
    section.info(
        "Portero's CPU per message (a frame each way)",
        format!(
            "{:.1} µs ({:.2} s of CPU for {} messages)",
            talks.cpu * 1e6 / portero.ok().max(1) as f64,
            talks.cpu,
            portero.ok()
        ),
    );
    let per_socket =
        idle.after_kib.saturating_sub(idle.before_kib) as f64 * 1024.0 / idle.open.max(1) as f64;
    section.budgeted(
        "memory per open WebSocket, Portero",
        per_socket / 1024.0,
        format!(
            "{} ({} sockets: {} → {} resident)",
            kb(per_socket as usize),
            idle.open,
            mb(idle.before_kib),
            mb(idle.after_kib)
        ),
        Budget::at_most(20.0, "≤ 20 KB"),
    );
    section.info(
        format!("opening {} WebSockets through Portero", idle.open),
        format!(
            "{} ({:.0} handshakes/s, {AT_ONCE} at a time)",
            minutes(idle.opened_in),
            idle.open as f64 / idle.opened_in.as_secs_f64()
        ),
    );
    section.info(
        "closing them (a close frame each, answered)",
        minutes(idle.closed_in),
    );
    section.details = "| way | messages/s | p50 | p99 | errors |\n|---|---|---|---|---|\n".into();
    for talk in &talks.ways {
        let _ = writeln!(
            section.details,
            "| {} | {:.0} | {} | {} | {} |",
            talk.way.name,
            talk.load.rate(),
            ms(talk.load.p(50.0)),
            ms(talk.load.p(99.0)),
            talk.load.failed,
        );
    }
    section
}

fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}
