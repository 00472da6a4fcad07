//! The official OpenMetrics 1.0 parser test suite, vendored beside the repository: every case
//! that must parse parses, every case that must not is rejected with a line number inside the
//! input. The suite's own `shouldParse` is the oracle.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use redmetrics_parse::parse_openmetrics;

/// Cases in the vendored snapshot (see its `SOURCE.md`).
const CASES: usize = 211;

/// `$REDMETRICS_OM_SUITE`, or `shared/vendor/…/parsers` beside the repository as the project
/// lays it out.
fn suite() -> PathBuf {
    let dir = std::env::var_os("REDMETRICS_OM_SUITE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/vendor/openmetrics-parser-suite/parsers")
        });
    assert!(
        dir.join("simple_counter/test.json").is_file(),
        "OpenMetrics parser suite not found in {}: put `shared/` beside the repository or set \
         REDMETRICS_OM_SUITE to the suite's `parsers` folder",
        dir.display()
    );
    dir
}

#[test]
fn agrees_with_every_case_of_the_openmetrics_suite() {
    let dir = suite();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("test.json").is_file())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), CASES, "cases found in {}", dir.display());
    let mut disagreements = Vec::new();
    for case in &cases {
        let spec: serde_json::Value =
            serde_json::from_slice(&std::fs::read(case.join("test.json")).unwrap()).unwrap();
        assert_eq!(spec["type"], "text", "{}", case.display());
        let should_parse = spec["shouldParse"].as_bool().unwrap();
        let file = spec["file"].as_str().unwrap();
        let input = std::fs::read(case.join(file)).unwrap();
        let name = case.file_name().unwrap().to_string_lossy();
        match (parse_openmetrics(&input), should_parse) {
            (Ok(_), true) => {}
            (Err(e), false) => {
                // The error points at a line of the input (or just past it: a missing `# EOF`).
                let lines = input.split(|&b| b == b'\n').count();
                assert!(
                    (1..=lines + 1).contains(&e.line),
                    "{name}: line {} outside 1..={}",
                    e.line,
                    lines + 1
                );
            }
            (Ok(_), false) => disagreements.push(format!("{name}: accepted, must be rejected")),
            (Err(e), true) => disagreements.push(format!("{name}: rejected ({e}), must parse")),
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {CASES} cases disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
