//! `[server]`: where the backend listens, the public origin the redirect URIs derive from, and
//! the limits on calls and clients.

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use ipnet::IpNet;
use serde::Deserialize;
use url::Url;

use super::{at_least_one, ConfigError};

#[derive(Debug, Clone)]
/// `[server]`.
#[doc(alias = "server")]
pub struct ServerConfig {
    /// Where the backend listens.
    pub bind: SocketAddr,
    /// Scheme, host and port only; redirect URIs are `{public_origin}/callback/{provider}`.
    pub public_origin: Url,
    /// The built SPA to serve beside the API (a one-origin deployment).
    pub static_dir: Option<PathBuf>,
    /// Upper bound for any one call to a provider (rule 9).
    pub provider_timeout: Duration,
    /// `POST /api/login/*` and `POST /api/session` per client address (`rate_limit/`): the
    /// steady rate and the burst allowed on top of it. 0 in either turns the limit off.
    pub rate_limit_per_minute: u32,
    /// The burst on top of `rate_limit_per_minute`.
    pub rate_limit_burst: u32,
    /// `trusted_proxies`: peers whose `X-Forwarded-For` names the client (`rate_limit/client.rs`).
    /// Empty by default: the header is then ignored, since any client can write it.
    pub trusted_proxies: Vec<IpNet>,
    /// Rule 16: how long a client may take to send a request's headers, and a whole request
    /// (headers and body) before its answer begins; connections served at once.
    pub header_read_timeout: Duration,
    /// Until a request's answer begins (upstreams have their own `timeout_secs`).
    pub request_timeout: Duration,
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Rule 16: calls to the provider on a person's behalf (`/api/profile`, upstreams with
    /// tokens) per session: the steady rate per minute and the burst on top of it.
    pub provider_calls_per_minute: u32,
    /// The burst on top of `provider_calls_per_minute`.
    pub provider_calls_burst: u32,
    /// `POST /api/backchannel-logout/{provider}` per client address and provider
    /// (`rate_limit/routes.rs`): the steady rate and the burst. 0 in either turns the limit off.
    pub backchannel_logouts_per_minute: u32,
    /// The burst on top of `backchannel_logouts_per_minute`.
    pub backchannel_logouts_burst: u32,
    /// Rule 19: a WebSocket through the gateway with no frame either way for this long is
    /// closed (1001).
    pub websocket_idle_timeout: Duration,
}

impl ServerConfig {
    /// Whether people reach Portero over HTTPS (the `__Host-` cookie, keys required).
    pub fn is_https(&self) -> bool {
        self.public_origin.scheme() == "https"
    }

    /// The origin as browsers write it in the `Origin` header (no trailing slash).
    pub fn origin(&self) -> String {
        self.public_origin.origin().ascii_serialization()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    bind: Option<String>,
    public_origin: String,
    static_dir: Option<PathBuf>,
    provider_timeout_secs: Option<u64>,
    rate_limit_per_minute: Option<u32>,
    rate_limit_burst: Option<u32>,
    /// A list, or one comma-separated string (what an environment variable gives).
    #[serde(default)]
    trusted_proxies: Vec<String>,
    header_read_timeout_secs: Option<u64>,
    request_timeout_secs: Option<u64>,
    max_connections: Option<u64>,
    provider_calls_per_minute: Option<u32>,
    provider_calls_burst: Option<u32>,
    backchannel_logouts_per_minute: Option<u32>,
    backchannel_logouts_burst: Option<u32>,
    websocket_idle_timeout_secs: Option<u64>,
}

impl RawServer {
    pub(super) fn validate(self) -> Result<ServerConfig, ConfigError> {
        let bind = self.bind.as_deref().unwrap_or("127.0.0.1:3000");
        let bind = bind.parse().map_err(|_| {
            ConfigError::new(format!(
                "server.bind: {bind:?} is not an address like 127.0.0.1:3000"
            ))
        })?;
        Ok(ServerConfig {
            bind,
            public_origin: parse_origin(&self.public_origin)?,
            static_dir: self.static_dir,
            provider_timeout: at_least_one(
                self.provider_timeout_secs,
                "server.provider_timeout_secs",
                Duration::from_secs(10),
            )?,
            rate_limit_per_minute: self.rate_limit_per_minute.unwrap_or(30),
            rate_limit_burst: self.rate_limit_burst.unwrap_or(10),
            trusted_proxies: parse_trusted_proxies(self.trusted_proxies)?,
            header_read_timeout: at_least_one(
                self.header_read_timeout_secs,
                "server.header_read_timeout_secs",
                Duration::from_secs(10),
            )?,
            request_timeout: at_least_one(
                self.request_timeout_secs,
                "server.request_timeout_secs",
                Duration::from_secs(30),
            )?,
            max_connections: match self.max_connections {
                Some(0) => {
                    return Err(ConfigError::new(
                        "server.max_connections: must be at least 1",
                    ))
                }
                Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
                None => 512,
            },
            provider_calls_per_minute: self.provider_calls_per_minute.unwrap_or(30),
            provider_calls_burst: self.provider_calls_burst.unwrap_or(10),
            backchannel_logouts_per_minute: self.backchannel_logouts_per_minute.unwrap_or(60),
            backchannel_logouts_burst: self.backchannel_logouts_burst.unwrap_or(30),
            websocket_idle_timeout: at_least_one(
                self.websocket_idle_timeout_secs,
                "server.websocket_idle_timeout_secs",
                Duration::from_secs(300),
            )?,
        })
    }
}

fn parse_origin(raw: &str) -> Result<Url, ConfigError> {
    let bad = |why: &str| ConfigError::new(format!("server.public_origin: {raw:?} {why}"));
    let url = Url::parse(raw).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must start with http:// or https://"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "must be an origin only, like https://app.example.com (no path)",
        ));
    }
    Ok(url)
}

/// `server.trusted_proxies`: addresses (`10.0.0.7`, `::1`) or networks (`10.0.0.0/8`).
fn parse_trusted_proxies(entries: Vec<String>) -> Result<Vec<IpNet>, ConfigError> {
    entries
        .iter()
        .map(|text| text.trim())
        .filter(|text| !text.is_empty())
        .map(|text| {
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    ConfigError::new(format!(
                        "server.trusted_proxies: {text:?} is not an IP address or network (like \
                         10.0.0.0/8)"
                    ))
                })
        })
        .collect()
}
