//! Section 5, footprint: the release backend's resident memory idle and with many sessions
//! (memory store), and its start-up time with a SQLite store.

use std::time::Duration;

use anyhow::Result;
use serde_json::json;

use super::{
    backend::{self, Backend, PROVIDER},
    load::concurrently,
    logins::{self, http_client, CONCURRENCY},
    report::{median, ms, Budget, Report, Section},
    Env,
};
use crate::step;

const SESSIONS: usize = 10_000;
const STARTUPS: usize = 5;

pub async fn footprint(env: &Env, report: &mut Report) -> Result<()> {
    step("5/6 footprint: resident memory and start-up time");
    let mut section = Section::new(
        "5. Footprint",
        format!(
            "Measured: VmRSS idle, after {SESSIONS} complete logins (memory store; each a \
             session with its provider tokens), then after {SESSIONS} logins started and never \
             finished (each a login attempt); {STARTUPS} starts with a SQLite store, the first \
             creating the file."
        ),
    );
    memory(env, &mut section, report).await?;
    startup(env, &mut section).await?;
    report.sections.push(section);
    Ok(())
}

async fn memory(env: &Env, section: &mut Section, report: &mut Report) -> Result<()> {
    let spec = backend::Spec::new("footprint", "memory");
    let backend = Backend::start(env, &spec).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = backend.rss_kib()?;
    let (failed, full) = fill(
        &backend,
        Duration::from_secs(180),
        |http, origin| async move { logins::login(&http, &origin, "ada").await.map(|_| ()) },
    )
    .await?;
    let mib = |kib: u64| kib as f64 / 1024.0;
    section.budgeted(
        "resident memory, idle",
        mib(idle),
        format!("{:.1} MB", mib(idle)),
        Budget::at_most(20.0, "≤ 20 MB"),
    );
    section.budgeted(
        format!("resident memory, {SESSIONS} sessions"),
        mib(full),
        format!("{:.1} MB", mib(full)),
        Budget::at_most(50.0, "≤ 50 MB"),
    );
    section.info(
        "memory per session",
        format!(
            "{:.2} KB ({failed} of {SESSIONS} logins failed)",
            (full.saturating_sub(idle)) as f64 / SESSIONS as f64
        ),
    );
    if failed > 0 {
        report.failures.push(format!(
            "footprint: {failed} of {SESSIONS} logins at the {PROVIDER} provider failed"
        ));
    }
    // As many logins started and never finished (what this figure measured until a login
    // under way stopped making a session): each an attempt in the store, no session.
    let (failed, pending) = fill(
        &backend,
        Duration::from_secs(120),
        |http, origin| async move {
            let path = format!("/api/login/{PROVIDER}");
            let response = logins::api_post(&http, &origin, &path, None, &json!({})).await?;
            response.bytes().await?;
            Ok(())
        },
    )
    .await?;
    section.info(
        format!("memory per login under way ({SESSIONS} more)"),
        format!(
            "{:.2} KB ({:.1} MB in all; {failed} of {SESSIONS} calls failed)",
            (pending.saturating_sub(full)) as f64 / SESSIONS as f64,
            mib(pending)
        ),
    );
    if failed > 0 {
        report.failures.push(format!(
            "footprint: {failed} of {SESSIONS} POST /api/login/{PROVIDER} calls failed"
        ));
    }
    Ok(())
}

/// `SESSIONS` calls of `call(client, origin)` to `backend`, `CONCURRENCY` at a time, then a
/// second of quiet: how many failed, and the backend's resident memory (KiB) after them.
async fn fill<F, Fut>(backend: &Backend, limit: Duration, call: F) -> Result<(usize, u64)>
where
    F: Fn(reqwest::Client, String) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let (http, origin) = (http_client(CONCURRENCY)?, backend.origin.clone());
    let results = concurrently(SESSIONS, CONCURRENCY, limit, move |_| {
        call(http.clone(), origin.clone())
    })
    .await?;
    let failed = results.iter().filter(|r| r.is_err()).count();
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok((failed, backend.rss_kib()?))
}

/// From just before the exec to the first `/healthz` answer, polled every millisecond.
async fn startup(env: &Env, section: &mut Section) -> Result<()> {
    let dir = env.work.join("startup");
    let _ = std::fs::remove_dir_all(&dir);
    let store = format!("sqlite://{}", dir.join("sessions.db").display());
    let spec = backend::Spec::new("startup", &store);
    let mut times = Vec::new();
    for _ in 0..STARTUPS {
        let mut backend = Backend::spawn(env, &spec).await?;
        times.push(backend.wait_ready()?);
    }
    let first = times[0];
    let mut seconds: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
    let middle = Duration::from_secs_f64(median(&mut seconds));
    section.budgeted(
        "start-up to `/healthz`, SQLite (median)",
        middle.as_secs_f64() * 1000.0,
        format!(
            "{} (first start, creating the file: {})",
            ms(middle),
            ms(first)
        ),
        Budget::at_most(100.0, "≤ 100 ms"),
    );
    Ok(())
}
