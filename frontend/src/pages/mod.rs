//! One component per route (see `App` in lib.rs).

mod callback;
mod home;
mod not_found;
mod profile;

pub use callback::Callback;
pub use home::Home;
pub use not_found::NotFound;
pub use profile::Profile;
