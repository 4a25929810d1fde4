//! The provider's HTML pages: self-contained (inline CSS, no third-party resource), every
//! interpolated value escaped.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::DemoUser;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1f2328;margin:0}\
main{max-width:28rem;margin:3rem auto;background:#fff;border-radius:12px;padding:2rem;\
box-shadow:0 2px 12px rgba(0,0,0,.08)}\
h1{font-size:1.4rem;margin-top:0}\
.note{background:#fff8c5;border:1px solid #d4a72c;border-radius:8px;padding:.6rem .8rem;\
font-size:.9rem}\
form{margin:.5rem 0}\
button{display:flex;align-items:center;gap:.6rem;width:100%;padding:.6rem .8rem;\
font-size:1rem;border:1px solid #d0d7de;border-radius:8px;background:#f6f8fa;cursor:pointer}\
button:hover{background:#eaeef2}\
button img{width:2rem;height:2rem}\
.actions{display:flex;gap:.6rem}\
.actions button{justify-content:center}\
#allow{background:#1f883d;color:#fff;border-color:#1f883d}\
.error{color:#cf222e}\
.done{color:#1a7f37}\
code{background:#f6f8fa;padding:0 .2rem;border-radius:4px}";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>\n",
        title = escape(title),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            // No form-action: browsers would apply it to the consent form's redirect to the client.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'",
            ),
        ],
        html,
    )
        .into_response()
}

const EMULATOR_NOTE: &str = "<p class=\"note\">This is <strong>Portero Dev</strong>, a local \
    OAuth 2.0 / OpenID Connect emulator for development and tests. Its accounts are demo users: \
    there are no passwords, and nothing leaves this machine.</p>";

/// The login page: one form per demo user, so a click is a sign-in.
/// `note` names the provider the dialect imitates (HTML).
pub fn login_page(note: &str, client_id: &str, request_id: &str, users: &[DemoUser]) -> Response {
    let mut body = format!(
        "<h1>Portero Dev — sign in</h1>{EMULATOR_NOTE}{note}\
         <p>Choose a demo user to continue to <code>{client}</code>.</p>",
        client = escape(client_id),
    );
    let hidden = format!(
        "<input type=\"hidden\" name=\"request\" value=\"{}\">",
        escape(request_id)
    );
    for user in users {
        body.push_str(&user_form(
            "/authorize/login",
            &hidden,
            "data-user",
            user,
            "",
        ));
    }
    body.push_str("<p><a href=\"/logout\">Log out</a> of Portero Dev.</p>");
    page(StatusCode::OK, "Portero Dev — sign in", &body)
}

/// The logout page: one "Log out" form per user signed in here, and what the last logout did.
pub fn logout_page(note: &str, signed_in: &[(&DemoUser, String)], done: Option<&str>) -> Response {
    let mut body = format!("<h1>Portero Dev — log out</h1>{EMULATOR_NOTE}{note}");
    if let Some(done) = done {
        body.push_str(&format!("<p class=\"done\">{}</p>", escape(done)));
    }
    if signed_in.is_empty() {
        body.push_str("<p>Nobody is signed in here.</p>");
    }
    for (user, sessions) in signed_in {
        let label = format!(" · {} · Log out", escape(sessions));
        body.push_str(&user_form("/logout", "", "data-logout", user, &label));
    }
    page(StatusCode::OK, "Portero Dev — log out", &body)
}

/// A form that POSTs `user=<login>` (and `hidden`, HTML) to `action`, its button showing the
/// user and `label` (HTML) and carrying the attribute `data` for tests and scripts.
fn user_form(action: &str, hidden: &str, data: &str, user: &DemoUser, label: &str) -> String {
    let login = escape(&user.login);
    format!(
        "<form method=\"post\" action=\"{action}\">{hidden}\
         <button type=\"submit\" name=\"user\" value=\"{login}\" {data}=\"{login}\">\
         <img src=\"/avatars/{login}.svg\" alt=\"\">{name} ({login}){label}</button></form>",
        name = escape(&user.name),
    )
}

/// The consent page: what the client will get (`items`, list entries already escaped), and
/// allow / deny.
pub fn consent_page(note: &str, client_id: &str, request_id: &str, items: &[String]) -> Response {
    let items: String = items.iter().map(|i| format!("<li>{i}</li>")).collect();
    let body = format!(
        "<h1>Portero Dev wants to:</h1><ul>{items}</ul>{note}\
         <p>Requested by the client <code>{client}</code> of this local emulator.</p>\
         <form method=\"post\" action=\"/authorize/consent\">\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\
         <div class=\"actions\">\
         <button type=\"submit\" name=\"decision\" value=\"allow\" id=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button>\
         </div></form>",
        client = escape(client_id),
        request = escape(request_id),
    );
    page(StatusCode::OK, "Portero Dev — consent", &body)
}

/// An error the user sees instead of a redirect (the redirect target can't be trusted).
pub fn error_page(message: &str) -> Response {
    error_page_with(StatusCode::BAD_REQUEST, message)
}

pub fn error_page_with(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<h1>Portero Dev — error</h1><p class=\"error\">{}</p>{EMULATOR_NOTE}",
        escape(message)
    );
    page(status, "Portero Dev — error", &body)
}

/// A GitHub-like public profile page, so `html_url` leads somewhere.
pub fn profile_page(user: &DemoUser, bio: Option<&str>) -> Response {
    let login = escape(&user.login);
    let body = format!(
        "<h1><img src=\"/avatars/{login}.svg\" alt=\"\" width=\"48\" height=\"48\"> \
         {name}</h1><p><code>{login}</code></p>{bio}{EMULATOR_NOTE}",
        name = escape(&user.name),
        bio = bio
            .map(|b| format!("<p>{}</p>", escape(b)))
            .unwrap_or_default(),
    );
    page(
        StatusCode::OK,
        &format!("{} · Portero Dev", user.login),
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
