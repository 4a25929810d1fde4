//! Portero Dev: a local OAuth 2.0 / OpenID Connect authorization server for development and
//! tests. Never use it in production: its users are demo users and everything lives in memory.
//!
//! One provider speaks one [`Dialect`], and each dialect lives in a folder of its own with its
//! personas, endpoints and quirks:
//! - `standard/`: RFC 6749 code flow with PKCE S256 per RFC 7636, refresh token rotation, RFC
//!   7009 revocation, RFC 7662 introspection, RFC 9207 `iss` in authorization responses, OpenID
//!   Connect discovery, JWKS and RS256 id tokens, userinfo, and OpenID Connect Back-Channel
//!   Logout 1.0; for stricter clients ([`ClientMetadata`]), pushed authorization requests (RFC
//!   9126, [`Par`]), `private_key_jwt` client authentication (RFC 7523) and DPoP-bound tokens
//!   (RFC 9449, [`Dpop`]), whose JWTs `jose/` checks.
//! - `github/`: answers like github.com and api.github.com (an OAuth App), on one base URL.
//! - `intra42/`: answers like api.intra.42.fr (Doorkeeper).
//!
//! All three share the login page (one button per demo user), the consent page and the logout
//! page (`/logout`), in `pages/`, and the provider's memory in `state/`. Who belongs to which
//! group, organization or campus can change while people are logged in (`admin.rs`:
//! [`DevProvider::change_memberships`], or `PATCH /admin/users/{login}` from loopback). Each completed login
//! form starts a provider session; logging out (the page, or [`DevProvider::log_out`]) ends a
//! user's sessions and, in the standard dialect, POSTs a logout token to each client that got
//! tokens in them and registered a `backchannel_logout_uri`.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use devprovider::{Client, Config, DevProvider};
//! let provider = DevProvider::start(Config {
//!     clients: vec![Client::new(
//!         "portero",
//!         "secret",
//!         "http://127.0.0.1:8080/callback/dev",
//!     )],
//!     ..Config::default()
//! })
//! .await?;
//! println!("issuer: {}", provider.issuer());
//! provider.shutdown().await;
//! # Ok(()) }
//! ```

mod admin;
mod authorize;
mod config;
mod dialect;
#[cfg(feature = "form-login")]
pub mod form_login;
mod github;
mod html;
mod intra42;
mod jose;
mod keys;
mod oauth;
mod pages;
mod provider;
mod scope;
mod standard;
mod state;
mod token_endpoint;

pub use crate::admin::{AdminError, MembershipChange, Memberships};
pub use crate::config::file as config_file;
pub use crate::config::{
    demo_users, AuthMethod, Client, ClientMetadata, Config, DemoUser, Dpop, Par,
};
pub use crate::dialect::Dialect;
pub use crate::provider::{DevProvider, Stats};
