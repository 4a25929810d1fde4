//! `pong-lobby-api ADDRESS`: the lobby's API on ADDRESS (e.g. `127.0.0.1:3904`), for an
//! `[upstreams.lobby]` of Portero's configuration to forward to.

#[tokio::main]
async fn main() {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3904".to_owned());
    let listener = match tokio::net::TcpListener::bind(&address).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("pong-lobby-api: cannot listen on {address}: {err}");
            std::process::exit(1);
        }
    };
    println!("pong-lobby-api: listening on http://{address}");
    if let Err(err) = axum::serve(listener, pong_lobby_api::router()).await {
        eprintln!("pong-lobby-api: {err}");
        std::process::exit(1);
    }
}
