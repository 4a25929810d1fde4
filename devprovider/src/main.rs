//! `devprovider --config FILE`: runs Portero Dev, the local OAuth 2.0 / OIDC provider emulator.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use devprovider::{config_file, DevProvider};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: devprovider --config FILE\n\n\
    Runs Portero Dev, a local OAuth 2.0 / OpenID Connect provider for development only.\n\
    FILE is TOML: bind = \"127.0.0.1:3900\", dialect = \"standard\" | \"github\" | \"intra42\",\n\
    optional access_token_ttl_secs, code_ttl_secs and rate_limit_per_sec, (standard dialect)\n\
    par = \"off\" | \"on\" | \"required\", par_ttl_secs and dpop = \"off\" | \"on\" | \"nonce\",\n\
    and [[clients]] tables with id, secret, redirect_uris and (standard dialect)\n\
    backchannel_logout_uri, token_endpoint_auth_method, jwks, jwks_file or jwks_uri,\n\
    require_pushed_authorization_requests and dpop_bound_access_tokens.";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        // Colour codes only help a human at a terminal; they garble logs captured by xtask or CI.
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("devprovider: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let Some(path) = config_path()? else {
        println!("{USAGE}");
        return Ok(());
    };
    let file = config_file::load(&path)?;
    let listener = tokio::net::TcpListener::bind(file.bind)
        .await
        .with_context(|| format!("cannot listen on {} (`bind`)", file.bind))?;
    let provider = DevProvider::serve(file.config, listener).await?;
    tracing::info!(
        "devprovider ({} dialect) listening on {}",
        provider.dialect(),
        provider.base_url()
    );
    shutdown_signal().await?;
    tracing::info!("devprovider stopping");
    provider.shutdown().await;
    Ok(())
}

/// `Ok(None)` means help was asked for.
fn config_path() -> anyhow::Result<Option<PathBuf>> {
    let mut args = std::env::args_os().skip(1);
    let mut path = None;
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("-h" | "--help") => return Ok(None),
            Some("--config") => {
                let value = args.next().context("--config needs a FILE")?;
                path = Some(PathBuf::from(value));
            }
            Some(other) if other.starts_with("--config=") => {
                path = Some(PathBuf::from(&other["--config=".len()..]));
            }
            _ => anyhow::bail!("unexpected argument {arg:?}\n\n{USAGE}"),
        }
    }
    path.map(Some)
        .with_context(|| format!("--config FILE is required\n\n{USAGE}"))
}

async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("listening for Ctrl-C")?,
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("listening for Ctrl-C")?;
    Ok(())
}
