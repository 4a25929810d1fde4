//! Properties of `ReturnTo::parse` (docs/design.md, rule 5) over arbitrary input: whatever comes in,
//! what comes out is the input unchanged or exactly `/`, and what is kept stays on the origin
//! when a WHATWG URL parser (the `url` crate, as browsers parse) resolves it — as written and
//! after every layer of percent-decoding a router might apply.

use proptest::prelude::*;
use shared::ReturnTo;
use url::Url;

const ORIGIN: &str = "https://app.example";

/// Pieces that make paths interesting to a URL parser: separators, their encodings, dots,
/// schemes, whitespace browsers strip, look-alike Unicode.
fn tricky_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/"),
        Just("//"),
        Just("\\"),
        Just("%2F"),
        Just("%2f"),
        Just("%5C"),
        Just("%25"),
        Just("%252F"),
        Just("%"),
        Just("%0"),
        Just("."),
        Just(".."),
        Just(":"),
        Just("@"),
        Just("?"),
        Just("#"),
        Just("\t"),
        Just("\n"),
        Just("\r"),
        Just(" "),
        Just("%09"),
        Just("%0A"),
        Just("%00"),
        Just("\u{0}"),
        Just("\u{3000}"),
        Just("\u{2028}"),
        Just("\u{FF0F}"),
        Just("\u{FF3C}"),
        Just("%E3%80%80"),
        Just("%C0%AF"),
        Just("http:"),
        Just("javascript:"),
        Just("evil.example"),
        Just("profile"),
        Just("a"),
    ]
    .prop_map(str::to_owned)
}

fn tricky_path() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(""), Just("/"), Just("/"), Just("\\"), Just(" ")],
        prop::collection::vec(tricky_piece(), 0..12),
    )
        .prop_map(|(start, pieces)| format!("{start}{}", pieces.concat()))
}

fn any_input() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => tricky_path(),
        1 => any::<String>(),
        1 => "/[ -~]{0,40}",
    ]
}

/// `%XX` decoded once; `None` when that is not valid UTF-8 or not an escape.
fn decode_once(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(s.get(i + 1..i + 3)?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn assert_same_origin(path: &str, given: &str) {
    let base = Url::parse(ORIGIN).unwrap();
    let resolved = base
        .join(path)
        .unwrap_or_else(|e| panic!("{given:?} was kept but {path:?} does not resolve ({e})"));
    assert_eq!(
        resolved.origin(),
        base.origin(),
        "{given:?} was kept and {path:?} leaves the origin: {resolved}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn the_answer_is_the_input_or_root_and_a_kept_input_stays_on_the_origin(given in any_input()) {
        let parsed = ReturnTo::parse(Some(&given)).into_string();
        prop_assert!(parsed == given || parsed == "/", "{given:?} became {parsed:?}");
        if parsed == given {
            prop_assert!(parsed.starts_with('/'));
            let mut layer = parsed.clone();
            for _ in 0..8 {
                assert_same_origin(&layer, &given);
                match decode_once(&layer) {
                    Some(next) if next != layer => layer = next,
                    _ => break,
                }
            }
        }
    }

    #[test]
    fn parsing_twice_changes_nothing(given in any_input()) {
        let once = ReturnTo::parse(Some(&given));
        let twice = ReturnTo::parse(Some(once.as_str()));
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn plain_paths_of_letters_digits_and_slashes_are_kept(path in "/[a-z0-9]{1,20}(/[a-z0-9._~-]{1,20}){0,5}") {
        prop_assert_eq!(ReturnTo::parse(Some(&path)).into_string(), path);
    }
}
