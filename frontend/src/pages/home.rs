use leptos::prelude::*;
use shared::{MeResponse, ProviderInfo};

use crate::{
    api::{self, ApiFailure},
    components::{ErrorNotice, LogoutButton, ProviderButtons, Skeleton},
    i18n::tr,
    loader::Loaded,
};

/// What `/` shows: the signed-in person, or the ways to sign in.
#[derive(Clone)]
enum HomeState {
    SignedIn(MeResponse),
    SignedOut(Vec<ProviderInfo>),
}

/// Asks `/api/me` first and only lists the providers when there is no session.
async fn load() -> Result<HomeState, ApiFailure> {
    match api::me().await {
        Ok(me) => Ok(HomeState::SignedIn(me)),
        Err(err) if err.is_unauthorized() => api::providers().await.map(HomeState::SignedOut),
        Err(err) => Err(err),
    }
}

/// `/`
#[component]
pub fn Home() -> impl IntoView {
    let state = Loaded::new(load);
    move || match state.get() {
        None => view! {
            <section class="card">
                <Skeleton id="loading" lines=3 />
            </section>
        }
        .into_any(),
        Some(Err(failure)) => {
            let on_retry = Callback::new(move |()| state.reload());
            view! { <ErrorNotice failure on_retry /> }.into_any()
        }
        Some(Ok(HomeState::SignedIn(me))) => view! {
            <section class="card">
                <p class="greeting">
                    {tr(|t| t.signed_in_as)} " "
                    <strong id="user-name">{me.user.display_name().to_owned()}</strong>
                </p>
                <div class="actions">
                    <a href="/profile" id="profile-link" class="button">
                        {tr(|t| t.your_profile)}
                    </a>
                    <LogoutButton provider=me.user.provider.clone() />
                </div>
            </section>
        }
        .into_any(),
        Some(Ok(HomeState::SignedOut(providers))) if providers.is_empty() => view! {
            <p class="notice" id="no-providers">{tr(|t| t.no_providers)}</p>
        }
        .into_any(),
        Some(Ok(HomeState::SignedOut(providers))) => view! {
            <section class="card login" aria-labelledby="login-title">
                <h1 id="login-title">{tr(|t| t.log_in_title)}</h1>
                <p class="intro">{tr(|t| t.log_in_intro)}</p>
                <ProviderButtons providers />
            </section>
        }
        .into_any(),
    }
}
