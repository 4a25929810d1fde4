//! docs/leptos.md shows this example's code: each block after `<!-- file: PATH -->` is that file
//! whole, each after `<!-- excerpt: PATH -->` a part of it, as it is in the repository.

use std::path::Path;

#[test]
fn every_step_of_the_leptos_guide_shows_the_code_the_example_has() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/leptos.md")).unwrap();
    let mut checked = 0;
    for (at, _) in doc.match_indices("<!-- ") {
        let Some((marker, after)) = doc[at + 5..].split_once(" -->") else {
            continue;
        };
        let Some((kind, path)) = marker.split_once(": ") else {
            continue;
        };
        // The fenced block right after the marker.
        let fence = after.find("```").expect("a code block after the marker");
        let body_start = fence + after[fence..].find('\n').unwrap() + 1;
        let block = &after[body_start..body_start + after[body_start..].find("```").unwrap()];
        let file = std::fs::read_to_string(root.join(path))
            .unwrap_or_else(|e| panic!("{path} named by docs/leptos.md: {e}"));
        match kind {
            "file" => assert_eq!(block, file, "{path} in docs/leptos.md is not the file"),
            "excerpt" => assert!(
                file.contains(block),
                "{path}: docs/leptos.md shows code it does not have:\n{block}"
            ),
            other => panic!("unknown marker {other:?}"),
        }
        checked += 1;
    }
    assert!(
        checked >= 8,
        "the guide shows the example ({checked} found)"
    );
}
