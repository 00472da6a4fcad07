//! The `redmetrics` binary under hostile or careless use: stalled clients on the demo's
//! listener, its notification sinks behind the metrics token, a closed stdout, and the shell
//! integration files it generates.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{http_get, start_demo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The demo uses the library's default 10 s header timeout; this bound is generous.
const EVENTUALLY: Duration = Duration::from_secs(60);

/// One request to the demo with a real HTTP client: the status.
async fn status_of(method: &str, url: &str, token: Option<&str>, body: &'static str) -> u16 {
    use http_body_util::Full;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = req.body(Full::new(bytes::Bytes::from_static(body.as_bytes())));
    let res = tokio::time::timeout(EVENTUALLY, client.request(req.unwrap()))
        .await
        .unwrap()
        .unwrap();
    res.status().as_u16()
}

/// Issue 23: with a metrics token, the demo's notification sinks and `/notifications` want it
/// too (nobody else reads what was notified, or posts a fake notification); without one they
/// stay open, as the metrics do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notification_sinks_follow_the_metrics_token() {
    let slack = r##"{"channel":"#ops","attachments":[{"title":"[FIRING:1] Test"}]}"##;
    let pagerduty = r#"{"event_action":"trigger","payload":{"summary":"Test"}}"#;
    let (_demo, addr) = start_demo(&["--metrics-token", "s3cret"]);
    let base = format!("http://{addr}");
    let sinks = [
        ("GET", "/notifications", "", 200),
        ("POST", "/sinks/slack", slack, 200),
        ("POST", "/sinks/pagerduty/v2/enqueue", pagerduty, 202),
    ];
    for (method, path, body, ok) in sinks {
        let url = format!("{base}{path}");
        assert_eq!(status_of(method, &url, None, body).await, 401, "{path}");
        assert_eq!(
            status_of(method, &url, Some("wrong"), body).await,
            401,
            "{path}"
        );
        assert_eq!(
            status_of(method, &url, Some("s3cret"), body).await,
            ok,
            "{path}"
        );
    }
    // Only the two notifications sent with the token arrived.
    let listed = common::http_get_with(
        &format!("{base}/notifications"),
        &[("authorization", "Bearer s3cret")],
    )
    .await
    .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&listed).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");

    let (_open, addr) = start_demo(&[]);
    let url = format!("http://{addr}/notifications");
    assert_eq!(status_of("GET", &url, None, "").await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_closes_half_sent_requests_and_keeps_serving() {
    let (_demo, addr) = start_demo(&[]);
    let mut stalled = Vec::new();
    for _ in 0..50 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        stalled.push(s);
    }
    let body = http_get(&format!("http://{addr}/metrics")).await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("reviewmaps_http_requests_total"));
    for s in &mut stalled {
        let mut buf = [0u8; 512];
        let closed = tokio::time::timeout(EVENTUALLY, async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "the demo kept a half-sent request open");
    }
}

/// Runs the real binary at the repository root with stdout a pipe whose reader is already
/// closed, as `redmetrics … | head` leaves it; then with stdout read in full.
fn closed_and_open_stdout(args: &[&str]) -> (std::process::Output, std::process::Output) {
    use std::process::{Command, Stdio};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let command = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_redmetrics"));
        c.args(args)
            .current_dir(&root)
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stderr(Stdio::piped());
        c
    };
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let closed = command().stdout(writer).output().unwrap();
    let open = command().stdout(Stdio::piped()).output().unwrap();
    (closed, open)
}

#[test]
fn a_closed_stdout_ends_every_command_quietly_with_its_own_verdict() {
    let commands: &[&[&str]] = &[
        &["generate", "--check"],
        &[
            "check",
            "manifests",
            "deploy/reviewmaps",
            "--format",
            "json",
        ],
        &["check", "manifests", "deploy/reviewmaps"],
        &[
            "check",
            "manifests",
            "deploy/ojeomneo",
            "--metrics-path",
            "/wrong",
            "--format",
            "json",
        ],
        &["--help"],
        &["completions", "bash"],
        &["man"],
        &["--version"],
    ];
    for args in commands {
        let (closed, open) = closed_and_open_stdout(args);
        let stderr = String::from_utf8_lossy(&closed.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{args:?} on a closed stdout: {stderr}"
        );
        assert_ne!(closed.status.code(), Some(101), "{args:?}: {stderr}");
        assert!(!open.stdout.is_empty(), "{args:?} printed nothing to check");
        assert_eq!(
            closed.status.code(),
            open.status.code(),
            "{args:?}: {stderr}"
        );
    }
}

/// Runs the binary with `args`; its stdout, after asserting it succeeded.
fn stdout_of(args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_redmetrics"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty(), "{args:?} printed nothing");
    out.stdout
}

/// Feeds `input` to a program (a real peer: bash, groff, man) and returns its output.
fn pipe_into(program: &str, args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} is needed for this test: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_bash_completion_script_parses_and_completes_subcommands() {
    let script = stdout_of(&["completions", "bash"]);
    let parsed = pipe_into("bash", &["-n"], &script);
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    // Load it into a real bash and ask for the completions of `redmetrics ch`.
    let mut session = script.clone();
    session.extend_from_slice(
        b"\nCOMP_WORDS=(redmetrics ch); COMP_CWORD=1; COMP_LINE='redmetrics ch'; \
          COMP_POINT=${#COMP_LINE}; _redmetrics redmetrics ch redmetrics; \
          printf '%s\\n' \"${COMPREPLY[@]}\"\n",
    );
    let completed = pipe_into("bash", &[], &session);
    let words = String::from_utf8_lossy(&completed.stdout);
    assert!(words.lines().any(|w| w == "check"), "{words}");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        stdout_of(&["completions", shell]);
    }
}

#[test]
fn the_man_pages_render_without_warnings() {
    for args in [&["man"][..], &["man", "check"], &["man", "demo"]] {
        let page = stdout_of(args);
        let text = String::from_utf8_lossy(&page);
        let name = args
            .get(1)
            .map_or("redmetrics".to_owned(), |s| format!("redmetrics-{s}"));
        assert!(text.contains(&format!(".TH {name} 1")), "{text}");
        // groff with every warning enabled is the judge of the roff.
        let checked = pipe_into("groff", &["-man", "-Tutf8", "-ww", "-z"], &page);
        assert!(
            checked.status.success() && checked.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
        let rendered = pipe_into("groff", &["-man", "-Tascii", "-P", "-cbou"], &page);
        let rendered = String::from_utf8_lossy(&rendered.stdout);
        assert!(
            rendered.contains("SYNOPSIS") && rendered.contains("NAME"),
            "{rendered}"
        );
    }
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_redmetrics"))
        .args(["man", "nope"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("man pages exist for: demo"));
}
