//! Where the SPA may go after a login (docs/design.md, rule 5): only a same-origin relative
//! path. Anything else becomes `/`, so no input can turn Portero into an open redirector.

use std::fmt;

/// Longer values are not paths a person navigated to; refusing them keeps session records small.
const MAX_LEN: usize = 1024;

/// A path that is safe to navigate to on this origin. Can only be built by [`ReturnTo::parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnTo(String);

impl ReturnTo {
    /// Keeps `raw` when it is a same-origin relative path, and answers `/` otherwise.
    ///
    /// A browser resolves `//host`, `/\host` and (after decoding) `/%2F%2Fhost` as another
    /// origin, so each of those, any scheme, backslash or control character is refused.
    pub fn parse(raw: Option<&str>) -> Self {
        match raw {
            Some(path) if is_safe(path) => ReturnTo(path.to_owned()),
            _ => ReturnTo::root(),
        }
    }

    pub fn root() -> Self {
        ReturnTo("/".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for ReturnTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_safe(path: &str) -> bool {
    if path.len() > MAX_LEN {
        return false;
    }
    // Check the value as given and as every layer of percent-decoding would reveal it.
    if path.chars().any(char::is_whitespace) {
        return false;
    }
    let mut current = path.to_owned();
    for _ in 0..4 {
        if !is_plain_relative_path(&current) {
            return false;
        }
        match percent_decode(&current) {
            Some(decoded) if decoded == current => return true,
            Some(decoded) => current = decoded,
            None => return false,
        }
    }
    // Still changing after four rounds of decoding: nobody types that by hand.
    false
}

fn is_plain_relative_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
}

/// Decodes `%XX` escapes; `None` when an escape is malformed or the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(raw: &str) -> String {
        ReturnTo::parse(Some(raw)).into_string()
    }

    #[test]
    fn same_origin_paths_are_kept() {
        for ok in [
            "/",
            "/profile",
            "/profile?tab=repos#top",
            "/a/b%20c",
            "/caf%C3%A9",
        ] {
            assert_eq!(parsed(ok), ok, "{ok} should be kept");
        }
    }

    #[test]
    fn everything_that_could_leave_the_origin_becomes_root() {
        let long = format!("/{}", "a".repeat(MAX_LEN));
        for bad in [
            "",
            "profile",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/%2F%2Fevil.example",
            "/%2f%2fevil.example",
            "/%252F%252Fevil.example",
            "/%5Cevil.example",
            "/\tevil",
            "/ok\r\nSet-Cookie: x",
            "/%zz",
            long.as_str(),
        ] {
            assert_eq!(parsed(bad), "/", "{bad:?} must become /");
        }
        assert_eq!(ReturnTo::parse(None).as_str(), "/");
    }
}
