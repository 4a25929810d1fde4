//! One-origin deployment (`server.static_dir`): the backend also serves the built SPA. Hashed
//! assets are cached for a year, everything else (index.html, boot.js) is revalidated on every
//! visit so a deploy shows at once, `.br`/`.gz` siblings made by `cargo xtask dist` are served
//! to browsers that accept them, and every client-side route (/callback/…, /profile) gets
//! index.html.

use std::path::Path;

use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::{self, Next},
    response::Response,
    Router,
};
use tower_http::services::{ServeDir, ServeFile};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

pub fn router<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    let index = ServeFile::new(dir.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(index);
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_control))
}

async fn cache_control(request: Request, next: Next) -> Response {
    let immutable = is_hashed_asset(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() {
        let policy = if immutable { IMMUTABLE } else { REVALIDATE };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// trunk names its outputs `name-<16 hex digits>.ext` (`_bg.wasm` for the module): a new build
/// means a new name, so such a file never changes and may be cached for good.
fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or("");
    let stem = file.split('.').next().unwrap_or("");
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::is_hashed_asset;

    #[test]
    fn only_trunks_hashed_outputs_count_as_immutable() {
        for hashed in [
            "/portero-frontend-8e8d9a4fa9cecf21.js",
            "/portero-frontend-8e8d9a4fa9cecf21_bg.wasm",
            "/style-8595adc3d57fbe10.css",
        ] {
            assert!(is_hashed_asset(hashed), "{hashed}");
        }
        for plain in [
            "/",
            "/index.html",
            "/boot.js",
            "/profile",
            "/callback/github",
            "/a-b.js",
        ] {
            assert!(!is_hashed_asset(plain), "{plain}");
        }
    }
}
