//! Rule 20: no path climbs out of an upstream's base. The gateway appends the rest of the path
//! as the browser wrote it, and an app (or a proxy in front of it) that normalises paths would
//! read `/api/pub/../priv` as `/priv`: a prefix guarded one way reaching one guarded another.
//! So a rest with a `.` or `..` segment is refused before anything else happens — raw, or
//! behind any layer of percent-encoding (`%2e`, `%2E`, `%252e`), with `/`, `\`, `%2f` or `%5c`
//! as separators, and with the `;parameters` some servers strip (`..;/`).

use std::borrow::Cow;

use percent_encoding::percent_decode;

use crate::error::AppError;

/// Layers of percent-encoding looked through. A rest still changing after as many decodings is
/// refused too: nothing an app expects is encoded that deep.
const LAYERS: usize = 4;

/// `Ok` when `rest` (the path after an upstream's prefix, as the request wrote it) has no dot
/// segment under any layer of percent-encoding; 400 `bad_path` otherwise.
pub fn check_rest(rest: &str) -> Result<(), AppError> {
    let mut text: Cow<[u8]> = Cow::Borrowed(rest.as_bytes());
    for _ in 0..=LAYERS {
        if climbs(&text) {
            return Err(refused(rest));
        }
        let decoded: Cow<[u8]> = percent_decode(&text).into();
        if decoded == text {
            return Ok(());
        }
        text = Cow::Owned(decoded.into_owned());
    }
    Err(refused(rest))
}

/// Whether `path` has a segment that is `.` or `..`, once its parameters (`;…`) and any NUL
/// bytes are set aside.
fn climbs(path: &[u8]) -> bool {
    path.split(|b| *b == b'/' || *b == b'\\').any(|segment| {
        let segment = segment.split(|b| *b == b';').next().unwrap_or_default();
        let dots = segment.iter().filter(|b| **b != 0).count();
        (1..=2).contains(&dots) && segment.iter().all(|b| *b == b'.' || *b == 0)
    })
}

fn refused(rest: &str) -> AppError {
    // Shown to the browser that sent it: cut short, never an echo of something huge.
    AppError::BadPath(format!("{:?}", rest.chars().take(100).collect::<String>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_refused_however_they_are_spelled() {
        for rest in [
            "/../admin",
            "/./admin",
            "/a/..",
            "/%2e%2e/admin",
            "/%2E%2E/admin",
            "/.%2e/admin",
            "/%2e./admin",
            "/a%2f..%2fadmin",
            "/a%2F..%2Fadmin",
            "/..%5cadmin",
            "/..%5Cadmin",
            "/a\\..\\admin",
            "/%252e%252e/admin",
            "/%25252e%25252e/admin",
            "/..%252fadmin",
            "/..;/admin",
            "/..;jsessionid=x/admin",
            "/%2e%2e%3b/admin",
            "/..%00/admin",
            "/%2e",
        ] {
            let refused = check_rest(rest).expect_err(rest);
            assert_eq!(refused.code(), "bad_path", "{rest}");
        }
    }

    #[test]
    fn ordinary_paths_pass_dots_inside_names_and_encoded_slashes_included() {
        for rest in [
            "",
            "/",
            "/notes/42",
            "/v1.2/file.tar.gz",
            "/...",
            "/..hidden",
            "/a..b",
            "/caf%C3%A9",
            "/group%2Fproject",
            "/100%25",
            "/a;b=c",
            "//double",
        ] {
            assert!(check_rest(rest).is_ok(), "{rest}");
        }
    }

    #[test]
    fn a_rest_encoded_deeper_than_any_app_expects_is_refused() {
        let mut rest = "x".to_owned();
        for _ in 0..6 {
            rest = rest.replace('%', "%25").replace('x', "%78");
        }
        assert!(check_rest(&format!("/{rest}")).is_err());
    }
}
