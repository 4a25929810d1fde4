//! `ReturnTo::parse` (docs/design.md, rule 5) on arbitrary bytes: the answer is the input or `/`, a
//! kept input resolves on the origin, and parsing the answer again changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::ReturnTo;

fuzz_target!(|data: &[u8]| {
    let Ok(given) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = ReturnTo::parse(Some(given));
    let kept = parsed.as_str();
    assert!(kept == given || kept == "/", "{given:?} became {kept:?}");
    if kept == given {
        let base = url::Url::parse("https://app.example").unwrap();
        let resolved = base.join(kept).expect("a kept path resolves");
        assert_eq!(
            resolved.origin(),
            base.origin(),
            "{given:?} leaves the origin"
        );
    }
    assert_eq!(
        ReturnTo::parse(Some(kept)),
        parsed,
        "not idempotent on {given:?}"
    );
});
