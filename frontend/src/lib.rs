//! "Log in with GitHub, 42 Intra, Google or any OAuth 2.0 / OpenID Connect provider" for a
//! Leptos app (client-side rendered), with Portero's backend keeping the client secret and the
//! provider's tokens: the browser only ever holds an HttpOnly session cookie.
//!
//! ```no_run
//! use leptos::prelude::*;
//! use leptos_router::{components::{Route, Router, Routes}, path};
//! use portero_leptos::{api, provide_portero, use_portero, Callback, LoginButtons, LogoutButton, RequireLogin};
//!
//! #[component]
//! fn App() -> impl IntoView {
//!     provide_portero();
//!     view! {
//!         <Router>
//!             <Routes fallback=|| "Not found">
//!                 <Route path=path!("/") view=|| view! { <LoginButtons return_to="/games" /> } />
//!                 <Route path=path!("/callback/:provider") view=Callback />
//!                 <Route path=path!("/games") view=|| view! { <RequireLogin><Games /></RequireLogin> } />
//!             </Routes>
//!         </Router>
//!     }
//! }
//!
//! #[component]
//! fn Games() -> impl IntoView {
//!     let portero = use_portero();
//!     view! {
//!         <p>"Hello, " {move || portero.user().map(|user| user.display_name().to_owned())}</p>
//!         <LogoutButton />
//!     }
//! }
//! ```
//!
//! - [`provide_portero`], once at the root, asks Portero who is signed in; [`use_portero`]
//!   gives any component below the answer.
//! - [`LoginButtons`] lists the providers Portero's backend offers; [`Callback`] finishes the
//!   login on `/callback/:provider` and goes back to the page it started for; [`LogoutButton`]
//!   ends it; [`RequireLogin`] keeps a page for signed-in people (with `policy`, for those a
//!   policy of Portero's admits, logging in again when it wants a more recent login).
//! - [`log_in_again`] does that step-up for a failed call of your own.
//! - [`api`] calls Portero and your own upstreams behind its gateway with `serde` types.
//!
//! The components use `leptos_router` and must be inside its `<Router>`. They speak English and
//! Spanish and carry the class names of Portero's stylesheet (`card`, `providers`, `notice`…),
//! which your own CSS may style.

#![warn(missing_docs)]

pub mod api;
mod brand_mark;
mod callback;
mod i18n;
mod login;
mod logout;
mod portero;
mod require_login;
#[cfg(feature = "spa")]
pub mod spa;
mod step_up;
mod views;

pub use callback::Callback;
pub use login::LoginButtons;
pub use logout::LogoutButton;
pub use portero::{provide_portero, use_portero, Portero};
pub use require_login::RequireLogin;
/// The signed-in person, as Portero's backend describes them (the `shared` crate's type).
pub use shared::User;
pub use step_up::log_in_again;
