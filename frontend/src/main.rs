//! Portero's own single-page app: what trunk builds from frontend/index.html.

fn main() {
    portero_leptos::spa::start();
}
