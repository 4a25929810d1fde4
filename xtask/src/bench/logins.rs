//! Section 4, login cost: complete logins as the SPA and a person at devprovider's forms make
//! them, many at a time, with the backend's own CPU time per login from /proc; then every
//! session they made is read back.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use devprovider::form_login::{self, Decision};
use serde_json::{json, Value};

use super::{
    backend::{Backend, PROVIDER},
    load::concurrently,
    report::{ms, percentile, Budget, Report, Section},
};
use crate::processes::clock_ticks_per_second;

const LOGINS: usize = 1_000;
pub const CONCURRENCY: usize = 50;
pub const USERS: [&str; 3] = ["ada", "grace", "alan"];

/// A client like the SPA's: no redirects followed (devprovider's answer is the redirect).
pub fn http_client(pool: usize) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(pool)
        .timeout(Duration::from_secs(10))
        .build()?)
}

/// The `portero_session=…` pair of the response's last non-empty session cookie.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    named_cookie(response, "portero_session")
}

/// The `NAME=…` pair of the response's last non-empty cookie `name`.
fn named_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .rfind(|pair| {
            pair.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .is_some_and(|value| !value.is_empty())
        })
        .map(str::to_owned)
}

/// A POST to the API as the SPA makes it (CSRF header, same origin); an error unless 2xx.
pub async fn api_post(
    http: &reqwest::Client,
    origin: &str,
    path: &str,
    cookie: Option<&str>,
    body: &Value,
) -> Result<reqwest::Response> {
    let mut request = http
        .post(format!("{origin}{path}"))
        .header("x-csrf", "1")
        .header("origin", origin)
        .json(body);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await?;
    if !response.status().is_success() {
        let status = response.status();
        bail!(
            "{path} answered {status}: {}",
            response.text().await.unwrap_or_default()
        );
    }
    Ok(response)
}

/// How long one login took, in total and in the backend's two steps.
pub struct LoginTimes {
    total: Duration,
    start: Duration,
    finish: Duration,
}

/// One complete login: `POST /api/login/dev`, devprovider's pages, `POST /api/session`. The
/// session cookie it ends with, and its times.
pub async fn login(
    http: &reqwest::Client,
    origin: &str,
    user: &str,
) -> Result<(String, LoginTimes)> {
    let began = Instant::now();
    let path = format!("/api/login/{PROVIDER}");
    let response = api_post(http, origin, &path, None, &json!({})).await?;
    // The login's binding to this browser (its own cookie, no session yet).
    let attempt_cookie =
        named_cookie(&response, "portero_login").context("/api/login set no binding cookie")?;
    let answer: Value = response.json().await?;
    let start = began.elapsed();

    let mut authorize = url::Url::parse(answer["authorize_endpoint"].as_str().unwrap_or_default())
        .context("no authorize_endpoint")?;
    if let Some(params) = answer["params"].as_object() {
        let mut query = authorize.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v.as_str().unwrap_or_default());
        }
    }
    let callback = form_login::log_in(http, &authorize, user, Decision::Allow).await?;
    let query: BTreeMap<String, String> = callback.query_pairs().into_owned().collect();
    let mut body = json!({
        "provider": PROVIDER,
        "code": query.get("code").context("no code on the callback")?,
        "state": query.get("state").context("no state on the callback")?,
    });
    if let Some(iss) = query.get("iss") {
        body["iss"] = json!(iss);
    }
    let finish_began = Instant::now();
    let response = api_post(http, origin, "/api/session", Some(&attempt_cookie), &body).await?;
    let cookie = session_cookie(&response).context("/api/session set no session cookie")?;
    // Read to the end, so the connection goes back to the pool.
    response.bytes().await?;
    let finish = finish_began.elapsed();
    let times = LoginTimes {
        total: began.elapsed(),
        start,
        finish,
    };
    Ok((cookie, times))
}

/// The login section, filled store by store.
pub struct Logins {
    section: Section,
    table: String,
    errors: String,
}

impl Logins {
    pub fn new() -> Logins {
        Logins {
            section: Section::new(
                "4. Login cost",
                format!(
                    "Measured: {LOGINS} complete logins per store, {CONCURRENCY} at a time; CPU \
                     in clock ticks of 1/{} s; then `GET /api/me` with every session cookie.",
                    clock_ticks_per_second()
                ),
            ),
            table: "| store | logins/s | p50 | p99 | backend p99 of `/api/login` | backend p99 \
                    of `/api/session` | CPU per login | errors | sessions readable |\n\
                    |---|---|---|---|---|---|---|---|---|\n"
                .into(),
            errors: String::new(),
        }
    }

    /// The logins against one store's backend.
    pub async fn measure(
        &mut self,
        backend: &Backend,
        http: &reqwest::Client,
        store: &str,
        report: &mut Report,
    ) -> Result<()> {
        let cpu_before = backend.cpu_seconds()?;
        let began = Instant::now();
        let results = {
            let (http, origin) = (http.clone(), backend.origin.clone());
            concurrently(LOGINS, CONCURRENCY, Duration::from_secs(180), move |i| {
                let (http, origin) = (http.clone(), origin.clone());
                async move { login(&http, &origin, USERS[i % USERS.len()]).await }
            })
            .await?
        };
        let elapsed = began.elapsed();
        let cpu = backend.cpu_seconds()? - cpu_before;
        let mut errors = Vec::new();
        let mut cookies = Vec::new();
        let (mut totals, mut starts, mut finishes) = (Vec::new(), Vec::new(), Vec::new());
        for result in results {
            match result {
                Ok((cookie, times)) => {
                    cookies.push(cookie);
                    totals.push(times.total);
                    starts.push(times.start);
                    finishes.push(times.finish);
                }
                Err(e) => errors.push(format!("{e:#}")),
            }
        }
        totals.sort();
        starts.sort();
        finishes.sort();
        let readable = readable_sessions(http, &backend.origin, cookies).await?;
        let cpu_per_login = cpu / LOGINS as f64;
        let rate = totals.len() as f64 / elapsed.as_secs_f64();
        let _ = writeln!(
            self.table,
            "| {store} | {rate:.0} | {} | {} | {} | {} | {} | {} | {readable} of {} |",
            ms(percentile(&totals, 50.0)),
            ms(percentile(&totals, 99.0)),
            ms(percentile(&starts, 99.0)),
            ms(percentile(&finishes, 99.0)),
            ms(Duration::from_secs_f64(cpu_per_login)),
            errors.len(),
            totals.len(),
        );
        let section = &mut self.section;
        section.budgeted(
            format!("backend CPU per login, {store}"),
            cpu_per_login * 1000.0,
            format!("{:.2} ms", cpu_per_login * 1000.0),
            // 0.7 ms for the default store, 0.8 ms for Redis, 1 ms in memory (docs/BENCHMARKS.md).
            match store {
                "sqlite" => Budget::at_most(0.7, "≤ 0.7 ms"),
                "redis" => Budget::at_most(0.8, "≤ 0.8 ms"),
                _ => Budget::at_most(1.0, "≤ 1 ms"),
            },
        );
        section.budgeted(
            format!("login errors, {store}"),
            (errors.len() + (totals.len() - readable)) as f64,
            format!(
                "{} errors, {readable} of {} sessions readable",
                errors.len(),
                totals.len()
            ),
            Budget::at_most(0.0, "0 errors, all readable"),
        );
        section.info(format!("logins/s, {store}"), format!("{rate:.0}"));
        section.info(format!("login p99, {store}"), ms(percentile(&totals, 99.0)));
        if !errors.is_empty() || readable < totals.len() {
            report.failures.push(format!(
                "{store} store: {} of {LOGINS} logins failed, {} sessions unreadable",
                errors.len(),
                totals.len() - readable
            ));
        }
        if !errors.is_empty() {
            errors.sort();
            errors.dedup();
            let first: Vec<String> = errors.iter().take(5).map(|e| format!("`{e}`")).collect();
            let _ = writeln!(
                self.errors,
                "\nErrors with the {store} store (first 5 distinct): {}",
                first.join("; ")
            );
        }
        Ok(())
    }

    pub fn finish(mut self) -> Section {
        self.section.details = self.table + &self.errors;
        self.section
    }
}

/// How many of `cookies` `GET /api/me` answers with 200.
async fn readable_sessions(
    http: &reqwest::Client,
    origin: &str,
    cookies: Vec<String>,
) -> Result<usize> {
    let cookies = Arc::new(cookies);
    let (http, origin) = (http.clone(), origin.to_owned());
    let checks = concurrently(
        cookies.len(),
        CONCURRENCY,
        Duration::from_secs(120),
        move |i| {
            let (http, origin, cookies) = (http.clone(), origin.clone(), cookies.clone());
            async move {
                let status = http
                    .get(format!("{origin}/api/me"))
                    .header("x-csrf", "1")
                    .header("cookie", &cookies[i])
                    .send()
                    .await?
                    .status();
                Ok(status == reqwest::StatusCode::OK)
            }
        },
    )
    .await?;
    Ok(checks.iter().filter(|c| matches!(c, Ok(true))).count())
}
