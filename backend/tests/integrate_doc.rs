//! docs/integrate.md shows the examples its tests run: each block after `<!-- file: PATH -->` is
//! that file whole, each after `<!-- excerpt: PATH -->` a part of it, as it is in the repository.

use std::path::Path;

#[test]
fn every_example_in_the_integration_guide_is_the_file_a_test_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("docs/integrate.md")).unwrap();
    let mut checked = 0;
    for (at, _) in doc.match_indices("<!-- ") {
        let rest = &doc[at + 5..];
        let Some((marker, after)) = rest.split_once(" -->") else {
            continue;
        };
        let Some((kind, path)) = marker.split_once(": ") else {
            continue;
        };
        // The fenced block right after the marker.
        let fence = after.find("```").expect("a code block after the marker");
        let body_start = fence + after[fence..].find('\n').unwrap() + 1;
        let body_end = body_start + after[body_start..].find("```").unwrap();
        let block = &after[body_start..body_end];
        let file = std::fs::read_to_string(root.join(path))
            .unwrap_or_else(|e| panic!("{path} named by docs/integrate.md: {e}"));
        match kind {
            "file" => assert_eq!(block, file, "{path} in docs/integrate.md is not the file"),
            "excerpt" => assert!(
                file.contains(block),
                "{path}: docs/integrate.md shows code it does not have:\n{block}"
            ),
            other => panic!("unknown marker {other:?}"),
        }
        checked += 1;
    }
    assert!(
        checked >= 4,
        "the guide shows its examples ({checked} found)"
    );
}
