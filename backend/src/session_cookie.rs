//! Rule 7 for the cookie that ends a session. tower-sessions 0.14 removes a session (logout,
//! `flush`) with `Set-Cookie: NAME=; Path=/; Max-Age=0` and none of the other attributes, and
//! browsers refuse a `__Host-` cookie without `Secure`: over HTTPS the removal would be ignored
//! and the browser would keep the dead id. (Fixed upstream in tower-sessions PR #268; this layer
//! can go once the workspace moves to a release with it.)

use axum::{
    http::{header, HeaderValue},
    response::Response,
};

/// The attributes every session cookie carries (`routes::session_layer`).
const REQUIRED: [(&str, &str); 3] = [
    ("secure", "Secure"),
    ("httponly", "HttpOnly"),
    ("samesite", "SameSite=Lax"),
];

/// Adds whatever of `Secure; HttpOnly; SameSite=Lax` a `Set-Cookie` of the session cookie
/// `name` lacks. Other cookies and complete session cookies pass unchanged.
pub fn complete_attributes(name: &str, mut response: Response) -> Response {
    let headers = response.headers_mut();
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    if cookies.is_empty() {
        return response;
    }
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        let fixed = cookie
            .to_str()
            .ok()
            .filter(|text| text.split_once('=').is_some_and(|(n, _)| n.trim() == name))
            .map(complete)
            .and_then(|text| HeaderValue::from_str(&text).ok())
            .unwrap_or(cookie);
        headers.append(header::SET_COOKIE, fixed);
    }
    response
}

fn complete(cookie: &str) -> String {
    let present: Vec<String> = cookie
        .split(';')
        .skip(1)
        .map(|attr| {
            let name = attr.split_once('=').map_or(attr, |(n, _)| n);
            name.trim().to_ascii_lowercase()
        })
        .collect();
    let mut out = cookie.to_owned();
    for (name, attr) in REQUIRED {
        if !present.iter().any(|p| p == name) {
            out.push_str("; ");
            out.push_str(attr);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::complete;

    #[test]
    fn a_bare_removal_cookie_gets_the_attributes_and_a_complete_one_is_left_alone() {
        assert_eq!(
            complete("__Host-s=; Path=/; Max-Age=0"),
            "__Host-s=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax"
        );
        let full = "__Host-s=v; HttpOnly; SameSite=Lax; Secure; Path=/";
        assert_eq!(complete(full), full);
    }
}
