//! Portero as a library: a small app of its own routes — notes, each person's their own — in
//! the same process as Portero's login. `GET /api/notes` lists this person's notes, `POST
//! /api/notes` (`{"text": "…"}`) adds one; both need a login (`CurrentUser`), and a note can ask
//! the provider for the person's live profile with a fresh token (`call_provider`).
//!
//! Run it with a Portero configuration, as the binary would:
//! `cargo run -p portero --example notes -- --config config/dev.toml` (with devprovider and the
//! SPA from `cargo xtask dev` stopped, since it takes the same port).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{extract::Extension, routing::get, Json, Router};
use portero::{AppError, AppState, Config, CurrentUser, Portero};
use serde::{Deserialize, Serialize};

/// The notes of every person, by `{provider}:{subject}` (an app would use its database).
#[derive(Clone, Default)]
struct Notes(Arc<Mutex<HashMap<String, Vec<Note>>>>);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Note {
    text: String,
    by: String,
}

#[derive(Deserialize)]
struct NewNote {
    text: String,
}

fn person(user: &CurrentUser) -> String {
    format!("{}:{}", user.user().provider, user.user().subject)
}

async fn list(user: CurrentUser, Extension(notes): Extension<Notes>) -> Json<Vec<Note>> {
    let notes = notes.0.lock().unwrap();
    Json(notes.get(&person(&user)).cloned().unwrap_or_default())
}

async fn add(
    user: CurrentUser,
    Extension(notes): Extension<Notes>,
    Json(new): Json<NewNote>,
) -> Result<Json<Note>, AppError> {
    if new.text.trim().is_empty() || new.text.len() > 1000 {
        return Err(AppError::BadRequest(
            "a note is 1 to 1000 characters".into(),
        ));
    }
    let note = Note {
        text: new.text,
        by: user.user().display_name().to_owned(),
    };
    let mut all = notes.0.lock().unwrap();
    all.entry(person(&user)).or_default().push(note.clone());
    Ok(Json(note))
}

/// The app's own routes, relative to `/api`.
fn notes_app() -> Router<AppState> {
    Router::new()
        .route("/notes", get(list).post(add))
        .layer(Extension(Notes::default()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .skip_while(|a| a != "--config")
        .nth(1)
        .or_else(|| std::env::var("PORTERO_CONFIG").ok())
        .ok_or_else(|| anyhow::anyhow!("usage: notes --config FILE"))?;
    let config = Config::load(path.as_ref())?;
    let listener = tokio::net::TcpListener::bind(config.server.bind).await?;
    let portero = Portero::build(config).await?;
    println!("notes on http://{}/api/notes", listener.local_addr()?);
    portero
        .serve(listener, portero.router_with(notes_app()))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use devprovider::{form_login, Client, Config as DevConfig, DevProvider};
    use serde_json::json;

    const ORIGIN: &str = "http://127.0.0.1:8080";

    /// A person logs in through devprovider's forms, as the SPA would; the session cookie.
    async fn log_in(base: &str, user: &str) -> String {
        let http = form_login::client();
        // The `NAME=value` pair of the cookie `name` the answer sets (the login's binding at
        // `/api/login`, the session at `/api/session`, which also clears the binding).
        let named = |r: &reqwest::Response, name: &str| {
            r.headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok()?.split(';').next())
                .find(|pair| pair.starts_with(&format!("{name}=")))
                .unwrap_or_else(|| panic!("no {name} cookie"))
                .to_owned()
        };
        let attempt = http
            .post(format!("{base}/api/login/dev"))
            .header("x-csrf", "1")
            .send()
            .await
            .unwrap();
        let attempt_cookie = named(&attempt, "portero_login");
        let login: shared::LoginResponse = attempt.json().await.unwrap();
        let mut authorize = url::Url::parse(&login.authorize_endpoint).unwrap();
        authorize.query_pairs_mut().extend_pairs(&login.params);
        let callback = form_login::log_in(&http, &authorize, user, form_login::Decision::Allow)
            .await
            .unwrap();
        let q: HashMap<_, _> = callback.query_pairs().into_owned().collect();
        let session = http
            .post(format!("{base}/api/session"))
            .header("x-csrf", "1")
            .header("cookie", attempt_cookie)
            .json(&json!({ "provider": "dev", "code": q["code"], "state": q["state"], "iss": q["iss"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(session.status(), 200);
        named(&session, "portero_session")
    }

    #[tokio::test]
    async fn each_person_sees_their_own_notes_and_no_one_without_a_session() {
        let provider = DevProvider::start(DevConfig {
            clients: vec![Client {
                id: "notes".into(),
                secret: "notes-secret".into(),
                redirect_uris: vec![format!("{ORIGIN}/callback/dev")],
                backchannel_logout_uri: None,
            }],
            ..DevConfig::default()
        })
        .await
        .unwrap();
        let config = Config::from_toml(
            &format!(
                "[server]\npublic_origin = \"{ORIGIN}\"\n[session]\nstore = \"memory\"\n\
                 [providers.dev]\nkind = \"oidc\"\nissuer = \"{}\"\nclient_id = \"notes\"\n\
                 client_secret = \"notes-secret\"\n",
                provider.issuer()
            ),
            std::iter::empty(),
            None,
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let portero = Portero::build(config).await.unwrap();
        let router = portero.router_with(notes_app());
        tokio::spawn(async move { portero.serve(listener, router).await });

        let http = reqwest::Client::new();
        let notes = |cookie: Option<&str>| {
            let mut request = http.get(format!("{base}/api/notes")).header("x-csrf", "1");
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            request.send()
        };
        assert_eq!(notes(None).await.unwrap().status(), 401);
        let ada = log_in(&base, "ada").await;
        let added = http
            .post(format!("{base}/api/notes"))
            .header("x-csrf", "1")
            .header("cookie", &ada)
            .json(&json!({ "text": "buy a loom" }))
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), 200);
        let hers: Vec<Note> = notes(Some(&ada)).await.unwrap().json().await.unwrap();
        assert_eq!(
            hers,
            [Note {
                text: "buy a loom".into(),
                by: "Ada Lovelace".into()
            }]
        );
        let grace = log_in(&base, "grace").await;
        let his: Vec<Note> = notes(Some(&grace)).await.unwrap().json().await.unwrap();
        assert!(his.is_empty(), "grace sees none of ada's notes");
        // Without `x-csrf`, as every /api route.
        let forged = http
            .get(format!("{base}/api/notes"))
            .header("cookie", &ada)
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403);
    }
}
