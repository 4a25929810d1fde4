//! The `portero` binary itself, as an operator runs it: `--check-config`, `--new-client-key` and
//! `--print-client-jwk`, request ids, JSON logs, plain human logs in a pipe, a SIGTERM during a
//! slow request that lets the request finish, and no secret in what start-up prints. The modules
//! run several processes: kill -9 (`crash.rs`), the audit trail in the log (`audit_trail.rs`),
//! replicas on one Redis (`replicas.rs`).

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::json;

mod audit_trail;
mod crash;
// The API tests' redis-server, whose dump is theirs alone.
#[allow(dead_code)]
#[path = "../api/redis_server.rs"]
mod redis_server;
mod replicas;
mod support;
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, ResponseTemplate,
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_config(issuer: &str, port: u16) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("portero-process-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("portero.toml");
    std::fs::write(
        &file,
        format!(
            r#"
            [server]
            bind = "127.0.0.1:{port}"
            public_origin = "http://127.0.0.1:8080"
            provider_timeout_secs = 5
            [session]
            store = "memory"
            secret_key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
            [providers.slow]
            kind = "oidc"
            issuer = "{issuer}"
            client_id = "c"
            client_secret = "s"
            "#
        ),
    )
    .unwrap();
    file
}

/// Whether `url` answers within 5 s.
async fn healthy(url: &str) -> bool {
    for _ in 0..100 {
        if reqwest::get(url).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[test]
fn check_config_validates_and_names_the_key_that_is_wrong() {
    let port = free_port();
    let good = write_config("http://127.0.0.1:1", port);
    let out = Command::new(env!("CARGO_BIN_EXE_portero"))
        .args(["--check-config", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("providers: slow"));

    let bad = good.with_file_name("bad.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&good)
            .unwrap()
            .replace("client_id = \"c\"", ""),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portero"))
        .args(["--check-config", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("client_id"), "{err}");
}

#[test]
fn a_new_client_key_is_private_never_overwritten_and_its_public_half_printed_again_on_demand() {
    let port = free_port();
    let config = write_config("http://127.0.0.1:1", port);
    let key = config.with_file_name("client.pem");
    let _ = std::fs::remove_file(&key);
    let portero = || Command::new(env!("CARGO_BIN_EXE_portero"));
    let made = portero()
        .arg("--new-client-key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
    assert_eq!(printed["keys"][0]["kty"], "EC");
    assert!(
        printed["keys"][0].get("d").is_none(),
        "the public half only"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let pem = std::fs::read_to_string(&key).unwrap();
    let again = portero()
        .arg("--new-client-key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        pem,
        "never overwritten"
    );

    // The provider `slow` signs with it; the JWK Set printed from the configuration is the same.
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "client_secret = \"s\"",
        "client_auth = \"private_key_jwt\"\nclient_key_file = \"client.pem\"",
    );
    std::fs::write(&config, text).unwrap();
    let print = |id: &str| {
        portero()
            .arg("--config")
            .arg(&config)
            .args(["--print-client-jwk", id])
            .output()
            .unwrap()
    };
    let out = print("slow");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_config, printed);
    let unknown = print("nope");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nope"));
}

/// The password of a Redis URL is a secret: a start-up that refuses the URL, at the check or
/// when the Redis client reads it, names the key and shows the URL with `***` in its place.
#[test]
fn a_redis_password_never_appears_in_a_start_up_error() {
    let config = write_config("http://127.0.0.1:1", free_port());
    for (store, args) in [
        ("redis://:hunter2-secret@", &["--check-config"][..]),
        ("redis://:hunter2-secret@127.0.0.1:6379/not-a-db", &[][..]),
    ] {
        let text = std::fs::read_to_string(&config)
            .unwrap()
            .replace("store = \"memory\"", &format!("store = \"{store}\""));
        let file = config.with_file_name("redis-password.toml");
        std::fs::write(&file, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_portero"))
            .args(args)
            .arg("--config")
            .arg(&file)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{store}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("session.store"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("***"), "the URL is shown masked: {err}");
    }
}

#[tokio::test]
async fn sigterm_during_a_slow_request_lets_it_finish_and_logs_are_json_with_request_ids() {
    // Discovery takes 1.5 s, so POST /api/login is in flight when SIGTERM arrives.
    let provider = MockServer::start().await;
    let issuer = provider.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "issuer": issuer,
                    "authorization_endpoint": format!("{issuer}/authorize"),
                    "token_endpoint": format!("{issuer}/token"),
                    "jwks_uri": format!("{issuer}/jwks"),
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                }))
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "keys": [] })))
        .mount(&provider)
        .await;

    let port = free_port();
    let config = write_config(&issuer, port);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_portero"))
        .args(["--log-json", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let slow = tokio::spawn({
        let client = client.clone();
        let url = format!("{base}/api/login/slow");
        async move {
            client
                .post(url)
                .header("x-csrf", "1")
                .send()
                .await
                .expect("the request in flight is answered")
        }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let pid = child.id().unwrap() as i32;
    // A plain signal to a child process this test owns.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);

    let reply = slow.await.unwrap();
    assert_eq!(
        reply.status(),
        200,
        "the in-flight login finished after SIGTERM"
    );
    assert!(reply.headers()["x-request-id"].to_str().unwrap().len() == 32);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("portero exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");

    let mut logs = String::new();
    use tokio::io::AsyncReadExt;
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .await
        .unwrap();
    let answered: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &serde_json::Value| l["message"] == "answered")
        .collect();
    assert!(!answered.is_empty(), "JSON lines: {logs}");
    assert!(
        answered.iter().any(|l| l["span"]["request_id"]
            .as_str()
            .is_some_and(|id| id.len() == 32)),
        "{logs}"
    );
    assert!(logs.contains("shutting down"), "{logs}");
}

/// A SQLite file serves one process (its sessions are kept in that process's memory): a second
/// `portero` on the same file stops at start and says why, and starts once the first is gone.
#[tokio::test]
async fn a_second_portero_on_the_same_sqlite_file_stops_at_start_and_says_why() {
    let db = std::env::temp_dir()
        .join(format!("portero-process-sqlite-{}", free_port()))
        .join("sessions.db");
    let with_sqlite = |port: u16| {
        let file = write_config("http://127.0.0.1:1", port);
        let text = std::fs::read_to_string(&file).unwrap().replace(
            "store = \"memory\"",
            &format!("store = \"sqlite://{}\"", db.display()),
        );
        std::fs::write(&file, text).unwrap();
        (port, file)
    };
    let start = |(port, file): &(u16, std::path::PathBuf)| {
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_portero"))
            .arg("--config")
            .arg(file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        (child, format!("http://127.0.0.1:{port}/healthz"))
    };
    let (mut first, first_url) = start(&with_sqlite(free_port()));
    assert!(healthy(&first_url).await, "the first one starts");
    let second_config = with_sqlite(free_port());
    let (second, _) = start(&second_config);
    let out = tokio::time::timeout(Duration::from_secs(10), second.wait_with_output())
        .await
        .expect("the second one stops by itself")
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is in use by another Portero process") && err.contains("redis://"),
        "{err}"
    );
    assert!(healthy(&first_url).await, "the first one is untouched");

    first.kill().await.unwrap();
    let (_again, again_url) = start(&second_config);
    assert!(
        healthy(&again_url).await,
        "the file is free once the first one is gone"
    );
}

/// Logs written to a file or a pipe, as a service manager or a collector takes them, are plain
/// text: no ANSI colour codes (those are for a terminal).
#[tokio::test]
async fn human_logs_to_a_pipe_have_no_colour_codes() {
    let port = free_port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_portero"))
        .arg("--config")
        .arg(write_config("http://127.0.0.1:1", port))
        .env_remove("PORTERO_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    assert!(healthy(&format!("http://127.0.0.1:{port}/healthz")).await);
    child.start_kill().unwrap();
    let out = child.wait_with_output().await.unwrap();
    let logs = String::from_utf8_lossy(&out.stdout);
    assert!(logs.contains("INFO"), "the backend logged: {logs}");
    assert!(!logs.contains('\u{1b}'), "colour codes in {logs:?}");
}
