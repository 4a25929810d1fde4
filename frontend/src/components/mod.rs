//! Pieces more than one page shows.

mod error_notice;
mod logout_button;
mod provider_buttons;

pub use error_notice::ErrorNotice;
pub use logout_button::LogoutButton;
pub use provider_buttons::ProviderButtons;
