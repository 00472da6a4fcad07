//! The official OpenMetrics 1.0 parser test suite, found beside the repository or named by
//! `$REDMETRICS_OM_SUITE` (not run, said loudly, when absent; a failure in CI): every case
//! that must parse parses, every case that must not is rejected with a line number inside the
//! input. The suite's own `shouldParse` is the oracle.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use redmetrics_parse::parse_openmetrics;

/// Cases in the vendored snapshot (see its `SOURCE.md`).
const CASES: usize = 211;

/// How to supply the suite, said when it is not there.
const SUPPLY: &str = "set REDMETRICS_OM_SUITE to the `parsers` folder of the OpenMetrics \
     parser suite (`tests/testdata/parsers` in https://github.com/prometheus/OpenMetrics), or \
     put the project's `shared/vendor/openmetrics-parser-suite` beside the repository";

/// `$REDMETRICS_OM_SUITE`, else `shared/vendor/…/parsers` beside the repository as the
/// project lays it out, else none: the suite is not redistributed with the repository.
fn suite() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("REDMETRICS_OM_SUITE") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("simple_counter/test.json").is_file(),
            "REDMETRICS_OM_SUITE={} holds no OpenMetrics parser suite: {SUPPLY}",
            dir.display()
        );
        return Some(dir);
    }
    let beside = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vendor/openmetrics-parser-suite/parsers");
    beside
        .join("simple_counter/test.json")
        .is_file()
        .then_some(beside)
}

#[test]
fn agrees_with_every_case_of_the_openmetrics_suite() {
    let Some(dir) = suite() else {
        // In CI a missing judge is a failure; elsewhere the test says loudly that it did not
        // run (straight to stderr: the harness hides what passing tests print).
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "OpenMetrics parser suite not found: {SUPPLY}"
        );
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n*** NOT RUN: agrees_with_every_case_of_the_openmetrics_suite: the OpenMetrics \
             parser suite was not found; {SUPPLY} ***\n"
        );
        return;
    };
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
