//! A Pong lobby: a Leptos app of its own with Portero's login (docs/leptos.md walks through
//! it). `/` greets the player or offers the login buttons, `/games` is for signed-in players
//! and lists the open games from the lobby's own API behind Portero's gateway, `/settings` wants
//! a recent login (Portero's policy `recent`, with `max_age_secs`), and `/callback/:provider`
//! finishes a login.

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};
use pong_lobby_api::{Game, NewGame};
use portero_leptos::{
    api, provide_portero, use_portero, Callback, LoginButtons, LogoutButton, RequireLogin,
};

fn main() {
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    // Asks Portero who is signed in, once, for every component below.
    provide_portero();
    view! {
        <Router>
            <main id="content">
                <Routes fallback=|| view! { <p id="nowhere">"Nothing here."</p> }>
                    <Route path=path!("/") view=Home />
                    <Route path=path!("/callback/:provider") view=Callback />
                    <Route path=path!("/games") view=|| view! { <RequireLogin><Games /></RequireLogin> } />
                    <Route path=path!("/settings") view=|| view! { <RequireLogin policy="recent"><Settings /></RequireLogin> } />
                </Routes>
            </main>
        </Router>
    }
}

/// `/`: who is playing, or the ways to log in.
#[component]
fn Home() -> impl IntoView {
    let portero = use_portero();
    view! {
        <section class="card">
            <h1>"Pong lobby"</h1>
            {move || match portero.user() {
                Some(user) => view! {
                    <p id="welcome">"Welcome back, " {user.display_name().to_owned()} "."</p>
                    <div class="actions">
                        <a href="/games" class="button" id="to-games">"To the games"</a>
                        <LogoutButton />
                    </div>
                }
                .into_any(),
                None if portero.loading() => view! { <p>"Looking for you…"</p> }.into_any(),
                None => view! {
                    <p>"Log in to open a game or join one."</p>
                    <LoginButtons return_to="/games" />
                }
                .into_any(),
            }}
        </section>
    }
}

/// `/games`, behind `RequireLogin`: the open games, from the lobby's API.
#[component]
fn Games() -> impl IntoView {
    let portero = use_portero();
    let games = LocalResource::new(|| api::get::<Vec<Game>>("/api/lobby/games"));
    let open = Action::new_local(|title: &String| {
        let game = NewGame {
            title: title.clone(),
        };
        async move { api::post::<Game, _>("/api/lobby/games", &game).await }
    });
    // A game opened: ask for the list again.
    Effect::new(move |_| {
        if open.value().with(|opened| matches!(opened, Some(Ok(_)))) {
            games.refetch();
        }
    });
    let title = RwSignal::new(String::new());
    let player = move || {
        portero
            .user()
            .map(|user| user.login.unwrap_or(user.subject))
    };
    view! {
        <section class="card">
            <h1>"Open games"</h1>
            <p>"You play as " <strong id="player">{player}</strong> "."</p>
            <form on:submit=move |event| {
                event.prevent_default();
                open.dispatch(title.get());
            }>
                <label for="title">"Title of a new game"</label>
                <input id="title" bind:value=title required maxlength="60" />
                <button type="submit" id="open-game">"Open a game"</button>
            </form>
            {move || {
                open.value().get().and_then(Result::err).map(|failure| {
                    view! { <p class="notice error" role="alert" id="open-error">{failure.message().to_owned()}</p> }
                })
            }}
            <Suspense fallback=|| view! { <p>"Loading the games…"</p> }>
                {move || {
                    games.get().map(|answer| match answer {
                        Ok(list) if list.is_empty() => {
                            view! { <p id="no-games">"No open games yet."</p> }.into_any()
                        }
                        Ok(list) => view! {
                            <ul class="games" id="games">
                                {list
                                    .into_iter()
                                    .map(|game| view! {
                                        <li>{game.title} " — hosted by " <span class="host">{game.host}</span></li>
                                    })
                                    .collect_view()}
                            </ul>
                        }
                        .into_any(),
                        Err(failure) => view! {
                            <p class="notice error" role="alert" id="games-error">{failure.message().to_owned()}</p>
                        }
                        .into_any(),
                    })
                }}
            </Suspense>
            <div class="actions">
                <LogoutButton />
            </div>
        </section>
    }
}

/// `/settings`, behind `RequireLogin policy="recent"`: Portero's `[policies.recent]` has
/// `max_age_secs`, so a login older than that logs in again first, and comes back here.
#[component]
fn Settings() -> impl IntoView {
    let portero = use_portero();
    let player = move || portero.user().map(|user| user.display_name().to_owned());
    view! {
        <section class="card">
            <h1 id="settings-title">"Lobby settings"</h1>
            <p>"Changed by " <strong id="settings-player">{player}</strong> ", who logged in recently."</p>
        </section>
    }
}
