//! "What your app sees": the identity the demo app behind Portero's gateway received in the
//! `X-Portero-*` headers, and whether it verified Portero's signed `X-Portero-Assertion`
//! (docs/design.md, "Your app behind Portero"). Where no demo app is configured (production), the
//! call answers 404 and the card never appears; any other failure hides it too, since it is a
//! demonstration, not part of the person's account.

use leptos::{prelude::*, task::spawn_local};
use shared::AppSees;

use super::{or_missing, text};
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
            view! {
                <section class="card" id="app-sees" aria-labelledby="app-sees-title">
                    <h2 id="app-sees-title">{text(|t| t.app_sees_title)}</h2>
                    <p class="intro">{text(|t| t.app_sees_intro)}</p>
                    <dl class="facts">
                        <dt>{text(|t| t.app_sees_app)}</dt>
                        <dd id="app-sees-app"><code>{seen.app}</code></dd>
                        <dt>{text(|t| t.app_sees_signature)}</dt>
                        <dd id="app-sees-verified" data-verified=verified.to_string()>
                            <span class=if verified { "badge ok" } else { "badge bad" }>
                                {text(if verified { |t| t.app_sees_verified } else { |t| t.app_sees_not_verified })}
                            </span>
                        </dd>
                        <dt>{text(|t| t.app_sees_subject)}</dt>
                        <dd id="app-sees-subject"><code>{seen.subject}</code></dd>
                        <dt>{text(|t| t.profile_login)}</dt>
                        <dd id="app-sees-login">{or_missing(seen.login, |t| t.not_sent)}</dd>
                        <dt>{text(|t| t.profile_email)}</dt>
                        <dd id="app-sees-email">{or_missing(seen.email, |t| t.not_sent)}</dd>
                        <dt>{text(|t| t.app_sees_name)}</dt>
                        <dd id="app-sees-name">{or_missing(seen.name, |t| t.not_sent)}</dd>
                    </dl>
                </section>
            }
        })
    }
}
