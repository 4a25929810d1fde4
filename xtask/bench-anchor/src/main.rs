//! The smallest honest Leptos 0.8 CSR app on the packages portero-leptos uses: one
//! `leptos_router` route with a parameter, and one `gloo-net` call whose JSON `serde` reads.
//! `cargo xtask bench --only bundle` builds it with the same release settings as Portero's SPA
//! (the workspace's `wasm-release` profile, wasm-opt, terser) and reports the difference.

use leptos::prelude::*;
use leptos_router::{
    components::{FlatRoutes, Route, Router},
    hooks::use_params_map,
    path,
};
use serde::Deserialize;

#[derive(Clone, Deserialize)]
struct Provider {
    id: String,
    name: String,
}

async fn providers() -> Result<Vec<Provider>, String> {
    let response = gloo_net::http::Request::get("/api/providers")
        .header("x-csrf", "1")
        .send()
        .await
        .map_err(|err| err.to_string())?;
    response.json().await.map_err(|err| err.to_string())
}

#[component]
fn Greeting() -> impl IntoView {
    let params = use_params_map();
    let list = LocalResource::new(providers);
    view! {
        <h1>"Hello, " {move || params.read().get("name")}</h1>
        <ul>
            {move || match list.get() {
                None => view! { <li>"Loading…"</li> }.into_any(),
                Some(Err(err)) => view! { <li>{err}</li> }.into_any(),
                Some(Ok(list)) => list
                    .into_iter()
                    .map(|p| view! { <li data-id=p.id>{p.name}</li> })
                    .collect_view()
                    .into_any(),
            }}
        </ul>
    }
}

fn main() {
    mount_to_body(|| {
        view! {
            <Router>
                <FlatRoutes fallback=|| "Not found">
                    <Route path=path!("/hello/:name") view=Greeting />
                </FlatRoutes>
            </Router>
        }
    })
}
