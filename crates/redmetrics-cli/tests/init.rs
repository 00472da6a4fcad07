//! `redmetrics init`, the first step for a service of one's own, run as a user would in an
//! empty directory: `generate` without a config says how to start; `init` then `generate`
//! give a `deploy/` that promtool, amtool and the Prometheus Operator schemas accept; `init`
//! refuses bad values with the config's own errors and keeps an existing file.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{assert_valid_against_crd, redmetrics};

const INIT: [&str; 9] = [
    "init",
    "--name",
    "shop",
    "--namespace",
    "shop",
    "--service",
    "shop-api",
    "--port",
    "http",
];

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs a Prometheus tool; (exit code, stdout and stderr).
fn tool(name: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!("{name}: {e}: run scripts/test, which installs Debian's prometheus and prometheus-alertmanager")
    });
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn generate_without_a_config_says_how_to_start() {
    let tmp = tempfile::tempdir().unwrap();
    let out = redmetrics(tmp.path(), &["generate"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "redmetrics: error: redmetrics.toml not found: start with `redmetrics init --name NAME \
         --namespace NAMESPACE --service SERVICE --port PORT_NAME`, which writes it for your \
         service, or point --config at your configuration\n"
    );
    assert!(!tmp.path().join("deploy").exists());
}

#[test]
fn init_then_generate_gives_artifacts_the_real_tools_accept() {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = INIT.to_vec();
    args.extend([
        "--metrics-path",
        "/internal/metrics",
        "--prefix",
        "shop_api",
    ]);
    let out = redmetrics(tmp.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let config = read(&tmp.path().join("redmetrics.toml"));
    assert!(config.starts_with("# redmetrics.toml, written by `redmetrics init`"));

    let out = redmetrics(tmp.path(), &["generate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir = tmp.path().join("deploy/shop");

    let rules = dir.join("rules.yaml");
    let (code, report) = tool("promtool", &["check", "rules", rules.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("SUCCESS"), "{report}");
    assert!(read(&rules).contains("shop_api_http_requests_total"));

    let routing = dir.join("alertmanager.yaml");
    let (code, report) = tool("amtool", &["check-config", routing.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("SUCCESS"), "{report}");

    let monitor = read(&dir.join("servicemonitor.yaml"));
    assert!(monitor.contains("path: /internal/metrics"), "{monitor}");
    assert!(monitor.contains("port: http"), "{monitor}");
    assert_valid_against_crd("ServiceMonitor", &monitor, 1);
    assert_valid_against_crd("PrometheusRule", &read(&dir.join("prometheusrule.yaml")), 1);
    assert_valid_against_crd(
        "AlertmanagerConfig",
        &read(&dir.join("alertmanagerconfig.yaml")),
        1,
    );
}

#[test]
fn init_keeps_an_existing_file_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("redmetrics.toml");
    std::fs::write(&file, "# mine\n").unwrap();
    let out = redmetrics(tmp.path(), &INIT);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "redmetrics: error: redmetrics.toml already exists and is kept: pass --force to \
         overwrite it, or --config to write another file\n"
    );
    assert_eq!(read(&file), "# mine\n");

    let mut forced = INIT.to_vec();
    forced.push("--force");
    let out = redmetrics(tmp.path(), &forced);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(read(&file).contains("service = \"shop-api\""));
}

/// Each bad value is refused by `init` with exactly the error `generate` gives for a config
/// holding it, and nothing is written.
#[test]
fn init_refuses_bad_values_as_the_config_does() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("--name", "name", "Shop"),
        ("--namespace", "namespace", "shop_ns"),
        ("--service", "service", "api-"),
        ("--port", "port", "8080"),
        ("--metrics-path", "metrics_path", "metrics"),
        ("--prefix", "prefix", "9shop"),
    ];
    for (flag, field, bad) in cases {
        // The app `init` would write, with the one bad value.
        let mut config: String = [
            ("name", "shop"),
            ("namespace", "shop"),
            ("service", "shop-api"),
            ("port", "http"),
            ("prefix", "shop"),
            ("metrics_path", "/metrics"),
        ]
        .iter()
        .map(|(key, value)| {
            let value = if *key == field { bad } else { value };
            format!("{key} = \"{value}\"\n")
        })
        .collect();
        config.insert_str(0, "[[apps]]\n");
        std::fs::write(tmp.path().join("bad.toml"), &config).unwrap();
        let generate = redmetrics(tmp.path(), &["generate", "--config", "bad.toml"]);
        assert_eq!(generate.status.code(), Some(2), "{config}");
        let expected = stderr(&generate).replacen("bad.toml: ", "", 1);

        let mut args = INIT.to_vec();
        let at = args.iter().position(|a| *a == flag);
        match at {
            Some(i) => args[i + 1] = bad,
            None => args.extend([flag, bad]),
        }
        args.extend(["--config", "new.toml"]);
        let out = redmetrics(tmp.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{flag} {bad}");
        assert_eq!(stderr(&out), expected, "{flag} {bad}");
        assert!(expected.contains(field), "{expected}");
        assert!(!tmp.path().join("new.toml").exists(), "{flag} {bad}");
    }
}

/// The help an installed binary prints speaks to its user: nothing about this repository's
/// layout or its planning documents.
#[test]
fn help_texts_speak_to_a_user_of_the_installed_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let mut pages = vec![vec!["--help"]];
    for sub in ["demo", "init", "generate", "check", "completions", "man"] {
        pages.push(vec![sub, "--help"]);
    }
    for sub in ["endpoint", "manifests", "prometheus", "alertmanager"] {
        pages.push(vec!["check", sub, "--help"]);
    }
    for args in pages {
        let out = redmetrics(tmp.path(), &args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
        assert!(!text.is_empty(), "{args:?}");
        for word in ["repository", "seed", "the plan"] {
            assert!(!text.contains(word), "{args:?} says {word:?}: {text}");
        }
    }
}
