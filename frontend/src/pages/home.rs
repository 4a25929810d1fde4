use leptos::prelude::*;
use shared::{MeResponse, ProviderInfo};

use crate::{
    api::{self, ApiFailure},
    components::{ErrorNotice, LogoutButton, ProviderButtons},
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
    let state = LocalResource::new(load);
    move || {
        match state.get() {
        None => view! { <p class="status" id="loading">"Loading…"</p> }.into_any(),
        Some(Err(failure)) => view! { <ErrorNotice failure /> }.into_any(),
        Some(Ok(HomeState::SignedIn(me))) => view! {
            <section class="card">
                <p class="greeting">
                    "Signed in as " <strong id="user-name">{me.user.display_name().to_owned()}</strong>
                </p>
                <div class="actions">
                    <a href="/profile" id="profile-link" class="button">"Your profile"</a>
                    <LogoutButton />
                </div>
            </section>
        }
        .into_any(),
        Some(Ok(HomeState::SignedOut(providers))) if providers.is_empty() => view! {
            <p class="notice" id="no-providers">
                "No login provider is configured on this server."
            </p>
        }
        .into_any(),
        Some(Ok(HomeState::SignedOut(providers))) => view! {
            <section class="card">
                <h1>"Log in"</h1>
                <ProviderButtons providers />
            </section>
        }
        .into_any(),
    }
    }
}
