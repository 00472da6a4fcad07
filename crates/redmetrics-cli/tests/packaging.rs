//! What a user of the published crates and the repository gets: Cargo metadata, licence
//! files and the changelog, read with `cargo metadata` and from the files themselves.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn metadata() -> Value {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn published_crates_carry_honest_metadata() {
    let meta = metadata();
    let packages = meta["packages"].as_array().unwrap();
    let published: Vec<&Value> = packages
        .iter()
        .filter(|p| p["publish"] != serde_json::json!([]))
        .collect();
    let names: Vec<&str> = published
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    for p in published {
        let name = p["name"].as_str().unwrap();
        assert!(
            !p.to_string().contains("example.invalid"),
            "{name}: placeholder URL"
        );
        assert_eq!(p["license"], "MIT OR Apache-2.0", "{name}");
        let readme = p["readme"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no readme"));
        assert!(Path::new(readme).is_file(), "{name}: {readme} missing");
        let docs = &p["metadata"]["docs"]["rs"];
        assert_eq!(docs["all-features"], true, "{name}: docs.rs metadata");
        assert_eq!(
            docs["rustdoc-args"],
            serde_json::json!(["--cfg", "docsrs"]),
            "{name}"
        );
        assert!(
            !p["keywords"].as_array().unwrap().is_empty(),
            "{name}: keywords"
        );
        assert!(
            !p["categories"].as_array().unwrap().is_empty(),
            "{name}: categories"
        );
        let dir = Path::new(p["manifest_path"].as_str().unwrap())
            .parent()
            .unwrap();
        for licence in ["LICENSE-MIT", "LICENSE-APACHE"] {
            assert!(
                dir.join(licence).is_file(),
                "{name}: {licence} is not packaged"
            );
        }
    }
}

#[test]
fn licence_files_and_changelog_exist() {
    let mit = read("LICENSE-MIT");
    assert!(mit.contains("Copyright (c) the redmetrics developers"));
    assert!(mit.contains("Permission is hereby granted, free of charge"));
    let apache = read("LICENSE-APACHE");
    assert!(apache.contains("Apache License") && apache.contains("Version 2.0, January 2004"));
    let changelog = read("CHANGELOG.md");
    assert!(changelog.contains("Keep a Changelog"));
    assert!(changelog.contains("## [Unreleased]"));
}

/// Every item behind a feature is labelled on docs.rs with the feature it needs.
#[test]
fn feature_gated_public_items_are_labelled_for_docs_rs() {
    let server = read("crates/redmetrics/src/server.rs");
    let public = server.matches("\npub ").count();
    let labelled = server
        .matches("#[cfg_attr(docsrs, doc(cfg(feature = \"server\")))]\n")
        .count();
    assert!(public > 0);
    assert_eq!(public, labelled, "an unlabelled public item in server.rs");
    assert!(
        read("crates/redmetrics/src/lib.rs").contains("#![cfg_attr(docsrs, feature(doc_cfg))]")
    );
}
