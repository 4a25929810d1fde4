//! Who the client of a request is: the key of every per-address limit.
//!
//! The client address is the TCP peer (`startup.rs` serves with `ConnectInfo<SocketAddr>`),
//! unless that peer is one of `[server] trusted_proxies`: then it is read from
//! `X-Forwarded-For`, right to left, skipping the trusted proxies, so a client can only prepend
//! addresses no one reads. Off by default (anyone can write the header); `Forwarded` and
//! `X-Real-IP` are never read.

use std::{
    net::{IpAddr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use axum::{extract::ConnectInfo, http::Request};
use ipnet::IpNet;
use tower_governor::{key_extractor::KeyExtractor, GovernorError};

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The key of a client: its IPv4 address, or the /64 network of its IPv6 address (one host
/// usually holds a whole /64, and could otherwise take a fresh address for every request).
#[derive(Clone, Debug, Default)]
pub struct ClientAddress {
    trusted_proxies: Arc<[IpNet]>,
    untrusted_forwarding: Arc<std::sync::Mutex<ForwardingSeen>>,
}

/// Peers seen sending `X-Forwarded-For` while no proxy is trusted: the distinct values of each
/// (hashed), so a deployment behind a proxy that forgot `trusted_proxies` is told once.
#[derive(Debug, Default)]
struct ForwardingSeen {
    by_peer: std::collections::HashMap<IpAddr, std::collections::HashSet<u64>>,
    warned: std::collections::HashSet<IpAddr>,
}

/// This many different `X-Forwarded-For` values from one peer look like a proxy, not a client.
const PROXY_LIKE_VALUES: usize = 16;
/// Peers remembered, so the table cannot grow without bound.
const PEERS_REMEMBERED: usize = 1024;

impl ClientAddress {
    pub fn new(trusted_proxies: &[IpNet]) -> Self {
        ClientAddress {
            trusted_proxies: trusted_proxies.into(),
            untrusted_forwarding: Arc::default(),
        }
    }

    /// With no proxy trusted, a peer that sends many different `X-Forwarded-For` values is
    /// likely a proxy whose clients all count as one address: says so in the log, once.
    pub fn note_forwarded_for<'a>(&self, peer: IpAddr, values: impl Iterator<Item = &'a str>) {
        if !self.trusted_proxies.is_empty() {
            return;
        }
        let mut values = values.peekable();
        if values.peek().is_none() {
            return;
        }
        let hash = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            values.for_each(|v| v.hash(&mut hasher));
            hasher.finish()
        };
        let mut seen = self
            .untrusted_forwarding
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if seen.warned.contains(&peer) {
            return;
        }
        if !seen.by_peer.contains_key(&peer) && seen.by_peer.len() >= PEERS_REMEMBERED {
            seen.by_peer.clear();
        }
        let distinct = seen.by_peer.entry(peer).or_default();
        if distinct.len() < PROXY_LIKE_VALUES {
            distinct.insert(hash);
        }
        if distinct.len() >= PROXY_LIKE_VALUES {
            seen.by_peer.remove(&peer);
            seen.warned.insert(peer);
            tracing::warn!(
                %peer,
                "this peer sends many different X-Forwarded-For values while \
                 server.trusted_proxies is empty: if it is your proxy, name it there, or every \
                 client behind it shares one rate limit"
            );
        }
    }

    fn is_trusted(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.trusted_proxies.iter().any(|net| net.contains(&addr))
    }

    /// The client behind `peer`: `peer` itself, or when `peer` is a trusted proxy, the
    /// right-most address of `forwarded_for` (every `X-Forwarded-For` value, in order) that is
    /// not a trusted proxy. An entry that is not an address ends the walk at the last hop read,
    /// since what lies left of it cannot be told from what a client wrote.
    pub fn client_of<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> IpAddr {
        let mut client = peer;
        if !self.is_trusted(peer) {
            return client;
        }
        for entry in forwarded_for.rev().flat_map(|value| value.rsplit(',')) {
            match entry.trim().parse::<IpAddr>() {
                Ok(hop) => {
                    client = hop;
                    if !self.is_trusted(hop) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }

    /// `X-Forwarded-For` for an app behind the gateway: what trusted proxies said, then the
    /// peer; from any other peer, the peer alone (what it wrote is not passed on as true).
    pub fn forwarded_chain(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> String {
        let peer = peer.to_canonical();
        if !self.is_trusted(peer) {
            return peer.to_string();
        }
        let mut chain: Vec<String> = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect();
        chain.push(peer.to_string());
        chain.join(", ")
    }

    /// The client of the request whose parts are `parts` ([`ClientAddress::client_of`] its
    /// peer); `None` for an app served without connection info.
    pub fn client_in(&self, parts: &axum::http::request::Parts) -> Option<IpAddr> {
        let ConnectInfo(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>()?;
        let forwarded_for = parts
            .headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .map(|value| value.to_str().unwrap_or("not an address"));
        Some(self.client_of(peer.ip(), forwarded_for))
    }

    pub fn key_of(addr: IpAddr) -> IpAddr {
        match addr {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let network = u128::from(v6) & !((1u128 << 64) - 1);
                    IpAddr::V6(Ipv6Addr::from(network))
                }
            },
            v4 => v4,
        }
    }
}

impl KeyExtractor for ClientAddress {
    type Key = IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<IpAddr, GovernorError> {
        let ConnectInfo(peer) = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .ok_or(GovernorError::UnableToExtractKey)?;
        let forwarded_for = || {
            request
                .headers()
                .get_all(X_FORWARDED_FOR)
                .iter()
                .map(|value| value.to_str().unwrap_or("not an address"))
        };
        self.note_forwarded_for(peer.ip(), forwarded_for());
        Ok(Self::key_of(self.client_of(peer.ip(), forwarded_for())))
    }
}

/// The client's rate-limit key (`ClientAddress::key_of` of the address `client_of` finds), for
/// handlers that count per client themselves (the logins under way, rule 13). Unknown (an app
/// served without connection info) counts as one client, `0.0.0.0`.
pub struct ClientIp(pub IpAddr);

impl axum::extract::FromRequestParts<crate::state::AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        let client = state
            .client_address
            .client_in(parts)
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Ok(ClientIp(ClientAddress::key_of(client)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_host_counts_as_its_slash_64_and_a_mapped_ipv4_as_itself() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientAddress::key_of(a), ClientAddress::key_of(b));
        assert_ne!(ClientAddress::key_of(a), ClientAddress::key_of(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            ClientAddress::key_of(mapped),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies_and_right_to_left() {
        let trusting =
            ClientAddress::new(&["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]);
        let proxy = ip("10.1.2.3");
        // Not configured, or not from a trusted peer: the header is ignored.
        assert_eq!(
            ClientAddress::default().client_of(proxy, ["198.51.100.4"].into_iter()),
            proxy
        );
        assert_eq!(
            trusting.client_of(ip("192.0.2.1"), ["198.51.100.4"].into_iter()),
            ip("192.0.2.1")
        );
        // The client a trusted proxy saw; what the client wrote before it is never read.
        assert_eq!(
            trusting.client_of(proxy, ["203.0.113.66, 198.51.100.4"].into_iter()),
            ip("198.51.100.4")
        );
        // Several trusted hops, and several header lines, are walked through.
        assert_eq!(
            trusting.client_of(proxy, ["1.2.3.4, 198.51.100.4", "10.9.9.9"].into_iter()),
            ip("198.51.100.4")
        );
        // An IPv4-mapped peer is the same proxy.
        assert_eq!(
            trusting.client_of(ip("::ffff:10.1.2.3"), ["198.51.100.4"].into_iter()),
            ip("198.51.100.4")
        );
        // A garbled entry stops the walk at the last trusted hop.
        assert_eq!(
            trusting.client_of(proxy, ["198.51.100.4, junk"].into_iter()),
            proxy
        );
        assert_eq!(
            trusting.client_of(proxy, [" 10.2.2.2 , x"].into_iter()),
            proxy
        );
        // No header: the proxy itself.
        assert_eq!(trusting.client_of(proxy, std::iter::empty()), proxy);
    }
}
