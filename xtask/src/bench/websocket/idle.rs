//! The idle half of the WebSocket section: as many sockets as fit (10,000) open at once through
//! Portero, each answered 101 and one message echoed, Portero's resident memory before and with
//! them, then all closed cleanly and Portero seen letting go of each.

use std::{
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use anyhow::{Context, Result};

use super::{
    backend, fail_with,
    talk::{close, echo, paddle},
    way, APP_PATH, PREFIX,
};
use crate::bench::{load::concurrently, logins, report::Report, Env};

/// Idle sockets open at once through Portero, for its memory per socket.
const IDLE_SOCKETS: usize = 10_000;
/// Handshakes under way at once while they open, and closes while they close.
pub const AT_ONCE: usize = 100;
/// The idle sockets belong to this many people (real logins), spread evenly.
pub const SESSIONS: usize = 100;
/// Open files the bench asks for, for itself and what it starts: 10,000 sockets are 10,000
/// descriptors here, 10,000 in the echo app and 20,000 in Portero (the browser's and the app's).
const OPEN_FILES: u64 = 65_536;
/// Descriptors Portero needs beside its sockets' (its listener, log, epoll, the logins' and
/// `/metrics`' connections): a few dozen.
const SPARE_FILES: usize = 250;
/// Connections Portero serves beside the idle sockets (the logins, `/metrics`).
const SPARE_CONNECTIONS: usize = 1_000;
/// Why the limit of open files could not be raised, if it could not.
static LIMIT_REFUSED: OnceLock<String> = OnceLock::new();

/// Raises the limit of open files (soft and hard) to [`OPEN_FILES`] before anything is
/// started, so that the backend and the echo app inherit it; without the right to (raising the
/// hard limit takes CAP_SYS_RESOURCE, which a container's root may lack), the soft limit goes up
/// to the hard one, and the idle sockets are fewer (see `idle_count`).
pub fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0
        || limit.rlim_cur >= OPEN_FILES
    {
        return;
    }
    let wanted = libc::rlimit {
        rlim_cur: OPEN_FILES,
        rlim_max: OPEN_FILES.max(limit.rlim_max),
    };
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } != 0 {
        let _ = LIMIT_REFUSED.set(std::io::Error::last_os_error().to_string());
        limit.rlim_cur = limit.rlim_max;
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    }
}

/// How many idle sockets fit in the limit of open files: all 10,000, or fewer (and why).
fn idle_count() -> (usize, Option<String>) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    let limit = usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX);
    // Portero holds two descriptors per socket.
    let fits = limit.saturating_sub(SPARE_FILES) / 2;
    if fits >= IDLE_SOCKETS {
        (IDLE_SOCKETS, None)
    } else {
        (
            fits,
            Some(format!(
                " Only {fits} idle sockets: Portero holds two descriptors per socket, and the \
                 limit of open files stayed at {limit} here (raising it to {OPEN_FILES} takes \
                 root with CAP_SYS_RESOURCE; setrlimit answered: {}).",
                LIMIT_REFUSED.get().map_or("nothing", String::as_str)
            )),
        )
    }
}

/// The idle sockets through Portero, and what they cost.
pub struct Idle {
    /// Opened, each answered 101 and one message echoed.
    pub open: usize,
    /// Why fewer than 10,000, if so.
    pub fewer: Option<String>,
    pub max_connections: usize,
    pub before_kib: u64,
    pub after_kib: u64,
    pub opened_in: Duration,
    pub closed_in: Duration,
}

pub async fn idle_sockets(env: &Env, upstream: &str, report: &mut Report) -> Result<Idle> {
    let (count, fewer) = idle_count();
    // An open socket keeps its connection's place among `max_connections` (512 by default).
    let max_connections = count + SPARE_CONNECTIONS;
    let server = format!("max_connections = {max_connections}\n");
    let backend = backend(env, "sockets-idle", &server, upstream).await?;
    let cookies = {
        let (http, origin) = (logins::http_client(AT_ONCE)?, backend.origin.clone());
        concurrently(
            SESSIONS,
            logins::CONCURRENCY,
            Duration::from_secs(60),
            move |i| {
                let (http, origin) = (http.clone(), origin.clone());
                let user = logins::USERS[i % logins::USERS.len()];
                async move { Ok(logins::login(&http, &origin, user).await?.0) }
            },
        )
        .await?
        .into_iter()
        .collect::<Result<Vec<_>>>()
        .context("the logins of the idle sockets' people")?
    };
    let way = Arc::new(way(
        "Portero's gateway",
        backend.addr,
        &format!("{PREFIX}{APP_PATH}"),
        Some(backend.origin.clone()),
        cookies,
    ));
    // The first socket starts what all share (the pooled client to the app, the task that hears
    // the store's notices): before the baseline.
    let mut first = way.open(0).await?;
    echo(&mut first, &paddle(0, 0)).await?;
    close(first).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before_kib = backend.rss_kib()?;

    let began = Instant::now();
    let opening = {
        let way = way.clone();
        concurrently(count, AT_ONCE, Duration::from_secs(120), move |i| {
            let way = way.clone();
            async move {
                let mut socket = way.open(i).await?;
                echo(&mut socket, &paddle(i, 0)).await?;
                Ok(socket)
            }
        })
        .await?
    };
    let opened_in = began.elapsed();
    let mut errors = Vec::new();
    let mut sockets = Vec::with_capacity(count);
    for result in opening {
        match result {
            Ok(socket) => sockets.push(Mutex::new(Some(socket))),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    // Its tasks' first look at their sessions, under way as the echoes came back.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after_kib = backend.rss_kib()?;
    let open = sockets.len();
    let counted = open_sockets(&backend.origin).await?;
    if counted != open {
        errors.push(format!(
            "Portero's /metrics counts {counted} open WebSockets while {open} are open"
        ));
    }

    let began = Instant::now();
    let sockets = Arc::new(sockets);
    let closing = concurrently(open, AT_ONCE, Duration::from_secs(120), move |i| {
        let socket = sockets[i].lock().unwrap_or_else(|e| e.into_inner()).take();
        async move { close(socket.context("closed twice")?).await }
    })
    .await?;
    let closed_in = began.elapsed();
    errors.extend(
        closing
            .into_iter()
            .filter_map(|r| r.err().map(|e| format!("{e:#}"))),
    );
    // Portero lets go of each socket once both ends have closed.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut left = open_sockets(&backend.origin).await?;
    while left > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = open_sockets(&backend.origin).await?;
    }
    if left > 0 {
        errors.push(format!(
            "{left} WebSockets still open in Portero 10 s after all were closed"
        ));
    }
    fail_with(report, "Portero's gateway (idle sockets)", &errors);
    Ok(Idle {
        open,
        fewer,
        max_connections,
        before_kib,
        after_kib,
        opened_in,
        closed_in,
    })
}

/// `portero_websockets_open` of the backend's `/metrics`.
async fn open_sockets(origin: &str) -> Result<usize> {
    let text = reqwest::get(format!("{origin}/metrics"))
        .await?
        .error_for_status()?
        .text()
        .await?;
    text.lines()
        .find_map(|line| line.strip_prefix("portero_websockets_open "))
        .context("no portero_websockets_open in /metrics")?
        .trim()
        .parse()
        .context("an odd portero_websockets_open in /metrics")
}
