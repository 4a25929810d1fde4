//! Pieces more than one page shows.

mod brand_mark;
mod error_notice;
mod lang_switch;
mod logout_button;
mod provider_buttons;
mod skeleton;

pub use brand_mark::BrandMark;
pub use error_notice::{failure_sentence, ErrorNotice};
pub use lang_switch::LangSwitch;
pub use logout_button::LogoutButton;
pub use provider_buttons::{remembered_name, ProviderButtons};
pub use skeleton::Skeleton;
