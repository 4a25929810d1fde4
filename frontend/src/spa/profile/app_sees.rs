//! "What your app sees": the identity the demo app behind Portero's gateway received in the
//! `X-Portero-*` headers, and whether it verified Portero's signed `X-Portero-Assertion`
//! (docs/design.md, "Your app behind Portero"). Where no demo app is configured (production), the
//! call answers 404 and the card never appears; any other failure hides it too, since it is a
//! demonstration, not part of the person's account.

use leptos::{prelude::*, task::spawn_local};
use shared::AppSees;

use super::{facts, or_missing, text, Fact};
use crate::api;

#[component]
pub fn AppSeesCard() -> impl IntoView {
    let seen = RwSignal::new(None::<AppSees>);
    spawn_local(async move {
        if let Ok(answer) = api::get::<AppSees>("/api/demo/whoami").await {
            seen.set(Some(answer));
        }
    });
    move || {
        seen.get().map(|seen| {
            let verified = seen.verified;
            let badge = view! {
                <span class=if verified { "badge ok" } else { "badge bad" } data-verified=verified.to_string()>
                    {text(if verified { |t| t.app_sees_verified } else { |t| t.app_sees_not_verified })}
                </span>
            };
            view! {
                <section class="card" id="app-sees" aria-labelledby="app-sees-title">
                    <h2 id="app-sees-title">{text(|t| t.app_sees_title)}</h2>
                    <p class="intro">{text(|t| t.app_sees_intro)}</p>
                    {facts(
                        None,
                        vec![
                            Fact("app-sees-app", |t| t.app_sees_app, view! { <code>{seen.app}</code> }.into_any()),
                            Fact("app-sees-verified", |t| t.app_sees_signature, badge.into_any()),
                            Fact("app-sees-subject", |t| t.app_sees_subject, view! { <code>{seen.subject}</code> }.into_any()),
                            Fact("app-sees-login", |t| t.profile_login, or_missing(seen.login, |t| t.not_sent)),
                            Fact("app-sees-email", |t| t.profile_email, or_missing(seen.email, |t| t.not_sent)),
                            Fact("app-sees-name", |t| t.app_sees_name, or_missing(seen.name, |t| t.not_sent)),
                        ],
                    )}
                </section>
            }
        })
    }
}
