//! The generated Grafana dashboard drawn from a real Prometheus: `scripts/dashboard-picture`
//! asks the local Prometheus of `demo --traffic --with-prometheus` every query of the
//! committed `deploy/reviewmaps/dashboard.json` and draws each panel; headless Chromium turns
//! the page into a picture, as `scripts/screenshots` does for the README. A panel that draws
//! nothing fails the script, so a dashboard query that finds no series is caught here.
#![allow(clippy::unwrap_used)]

mod common;

use common::SpawnTethered;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn script() -> PathBuf {
    common::repo().join("scripts/dashboard-picture")
}

fn dashboard() -> PathBuf {
    common::repo().join("deploy/reviewmaps/dashboard.json")
}

/// Runs the script with `args` (bounded: it is killed after 120 s).
fn picture(args: &[&str]) -> Output {
    let child = Command::new(script())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn_tethered()
        .expect("python3 runs scripts/dashboard-picture");
    common::output_within(child, Duration::from_secs(120), "scripts/dashboard-picture")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The titles of the committed dashboard's panels that draw data (rows excluded), read
/// from the JSON here rather than from the script.
fn drawn_titles() -> Vec<String> {
    let d: Value = serde_json::from_slice(&std::fs::read(dashboard()).unwrap()).unwrap();
    d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] != "row")
        .map(|p| p["title"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs the script until every panel draws (exit 0), for at most 90 s; the last output.
async fn picture_until_drawn(args: &[&str]) -> Output {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let out = picture(args);
        if out.status.code() == Some(0) || Instant::now() > deadline {
            return out;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// A PNG's width and height, from its IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_of_the_generated_dashboard_draws_the_demos_traffic() {
    let (_demo, _, prom, _) =
        common::start_demo_with_prometheus(&["--traffic", "--alertmanager-listen", "127.0.0.1:0"])
            .await;
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("dashboard.html");
    let args = |job: &str| {
        vec![
            "--dashboard".to_owned(),
            dashboard().display().to_string(),
            "--prometheus".to_owned(),
            prom.clone(),
            "--var".to_owned(),
            "namespace=reviewmaps".to_owned(),
            "--var".to_owned(),
            format!("job={job}"),
            "--range".to_owned(),
            "2m".to_owned(),
            "--out".to_owned(),
            html.display().to_string(),
        ]
    };

    // Rates need two scrapes 5 s apart inside `$__rate_interval` (1m): bounded wait.
    let ours = args("reviewmaps-server");
    let ours_ref: Vec<&str> = ours.iter().map(String::as_str).collect();
    let out = picture_until_drawn(&ours_ref).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    let titles = drawn_titles();
    assert!(titles.len() >= 10, "{titles:?}");
    for title in &titles {
        let escaped = title.replace('&', "&amp;");
        assert!(
            page.contains(&format!("data-title=\"{escaped}\"")),
            "no panel {title:?} on the page"
        );
    }
    assert!(!page.contains("No data"), "{page}");
    // One line per series at least for every time-series panel, and the table's busiest
    // routes with their figures in words.
    assert!(page.matches("<polyline").count() >= titles.len() - 1);
    assert!(page.contains("<td>/v1/campaigns/{id}</td>"), "{page}");
    assert!(
        page.contains(" req/s</td>") && page.contains(" ms</td>"),
        "{page}"
    );

    // Chromium draws it, at the size scripts/screenshots asks for.
    let png = dir.path().join("dashboard.png");
    let profile = tempfile::tempdir().unwrap();
    let status = Command::new("timeout")
        .arg("120")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1200,2200",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .stderr(Stdio::null())
        .status()
        .expect("chromium (Debian: apt-get install chromium; scripts/test installs it)");
    assert!(status.success());
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(png_size(&bytes), (1200, 2200));
    assert!(
        bytes.len() > 50_000,
        "an almost blank picture: {} bytes",
        bytes.len()
    );

    // The SLO dashboard, from the recorded series of the same Prometheus (the demo loads the
    // committed objectives' rules): every panel draws.
    let slo_board = common::repo().join("deploy/reviewmaps/slo-dashboard.json");
    let slo_html = dir.path().join("slo-dashboard.html");
    let mut slo_args = ours.clone();
    slo_args[1] = slo_board.display().to_string();
    let last = slo_args.len() - 1;
    slo_args[last] = slo_html.display().to_string();
    let slo_ref: Vec<&str> = slo_args.iter().map(String::as_str).collect();
    let out = picture_until_drawn(&slo_ref).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = std::fs::read_to_string(&slo_html).unwrap();
    let board: Value = serde_json::from_slice(&std::fs::read(&slo_board).unwrap()).unwrap();
    let slo_titles: Vec<&str> = board["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] != "row")
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(slo_titles.len(), 6, "{slo_titles:?}");
    assert!(!page.contains("No data"), "{page}");
    assert!(page.matches("<polyline").count() >= slo_titles.len() * 2);

    // The same dashboard for a job Prometheus never scraped draws nothing: exit 1, naming
    // every panel.
    let theirs = args("nobody");
    let out = picture(&theirs.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    for title in &titles {
        assert!(stderr(&out).contains(title.as_str()), "{}", stderr(&out));
    }
    // A quote in a variable is escaped for PromQL: Prometheus answers (nothing), not 400.
    let quoted = args("a\"b\\c");
    let out = picture(&quoted.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

/// Input errors are exit 2 with what to do, before anything is asked of a Prometheus.
#[test]
fn bad_input_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out_html = dir.path().join("out.html");
    let out = out_html.to_str().unwrap();
    let d = dashboard();
    let d = d.to_str().unwrap();
    let not_json = dir.path().join("not.json");
    std::fs::write(&not_json, "panels: []").unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r#"{"panels": []}"#).unwrap();
    let prom = "http://127.0.0.1:9";
    let cases: [(Vec<&str>, &str); 6] = [
        (
            vec![
                "--dashboard",
                d,
                "--prometheus",
                prom,
                "--var",
                "job",
                "--out",
                out,
            ],
            "write NAME=VALUE",
        ),
        (
            vec![
                "--dashboard",
                not_json.to_str().unwrap(),
                "--prometheus",
                prom,
                "--out",
                out,
            ],
            "not a dashboard with panels",
        ),
        (
            vec![
                "--dashboard",
                empty.to_str().unwrap(),
                "--prometheus",
                prom,
                "--out",
                out,
            ],
            "expected 1 to 200 panels, found 0",
        ),
        (
            vec![
                "--dashboard",
                d,
                "--prometheus",
                "127.0.0.1:9090",
                "--out",
                out,
            ],
            "give a URL such as",
        ),
        (
            vec![
                "--dashboard",
                d,
                "--prometheus",
                prom,
                "--range",
                "1y",
                "--out",
                out,
            ],
            "write e.g. 30s",
        ),
        (
            vec![
                "--dashboard",
                d,
                "--prometheus",
                prom,
                "--var",
                "job=x\ny",
                "--out",
                out,
            ],
            "control character",
        ),
    ];
    for (args, message) in cases {
        let result = picture(&args);
        assert_eq!(
            result.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&result)
        );
        assert!(
            stderr(&result).contains(message),
            "{args:?}: {}",
            stderr(&result)
        );
        assert!(!Path::new(out).exists(), "{args:?} wrote a page");
    }
    // A query variable nobody set: the fix is named.
    let result = picture(&["--dashboard", d, "--prometheus", prom, "--out", out]);
    assert_eq!(result.status.code(), Some(2));
    assert!(
        stderr(&result).contains("--var namespace=VALUE"),
        "{}",
        stderr(&result)
    );
}
