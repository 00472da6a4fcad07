//! The documented example commands, run as written: each `cargo run -p redmetrics …` line of
//! the `sh` blocks of README.md and docs/*.md, and what each example must then serve.
//!
//! The nested cargo uses a target directory of its own (`target/readme-commands`) because
//! the outer `cargo test` holds the lock on the usual one while tests run.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README.md and every docs/*.md.
fn pages() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs.insert(0, root().join("README.md"));
    docs
}

/// The lines of the documentation's `sh` blocks that run an example; the README's install
/// block must show them (none found is a failure).
fn example_commands() -> Vec<String> {
    let mut commands = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for block in text.split("```sh\n").skip(1) {
            let block = &block[..block.find("```").unwrap_or(block.len())];
            commands.extend(
                block
                    .lines()
                    .map(|l| l.split('#').next().unwrap().trim().to_owned())
                    .filter(|l| l.starts_with("cargo run -p redmetrics ")),
            );
        }
    }
    assert!(
        !commands.is_empty(),
        "no `cargo run -p redmetrics …` example command found to check in README.md or docs/"
    );
    commands
}

fn cargo(command: &str) -> Command {
    let mut words = command.split_whitespace();
    assert_eq!(words.next(), Some("cargo"));
    let mut c = Command::new(env!("CARGO"));
    c.args(words)
        .current_dir(root())
        .env("CARGO_TARGET_DIR", root().join("target/readme-commands"))
        .stdin(Stdio::null());
    c
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A GET over a plain socket; `None` until something answers.
fn get(addr: &str, path: &str, token: Option<&str>) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut reply = String::new();
    s.read_to_string(&mut reply).ok()?;
    Some(reply)
}

/// Polls `addr` until it answers, for at most a minute (the example is already built).
fn wait_for(child: &mut Child, addr: &str, path: &str, token: Option<&str>) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(reply) = get(addr, path, token) {
            return reply;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the example exited ({status}) before serving {addr}; is the port taken by \
                 another program?"
            );
        }
        assert!(Instant::now() < deadline, "nothing answered on {addr}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_readme_example_commands_run_as_written() {
    let commands = example_commands();
    let names: Vec<&str> = commands
        .iter()
        .map(|c| c.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(names, ["plain_tower", "axum_app", "separate_listener"]);
    for command in &commands {
        // Build first (same arguments) so that compiling is not mistaken for a hung example.
        let build = cargo(&command.replacen("cargo run", "cargo build", 1))
            .status()
            .unwrap();
        assert!(build.success(), "{command}: the build failed");
        let mut child = cargo(command)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        match command.rsplit(' ').next().unwrap() {
            "plain_tower" => {
                let mut out = String::new();
                child
                    .stdout
                    .take()
                    .unwrap()
                    .read_to_string(&mut out)
                    .unwrap();
                assert!(child.wait().unwrap().success(), "{command}");
                assert!(out.contains("reviewmaps_http_requests_total{method=\"GET\",path=\"/v1/campaigns/{id}\",status=\"200\"} 2"), "{out}");
            }
            "axum_app" => {
                let mut child = Killed(child);
                let stdout = child.0.stdout.take().unwrap();
                let first = BufReader::new(stdout).lines().next().unwrap().unwrap();
                assert_eq!(first, "http://127.0.0.1:3000/metrics");
                let reply = wait_for(&mut child.0, "127.0.0.1:3000", "/metrics", None);
                assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
                assert!(reply.contains("reviewmaps_http_requests_total"), "{reply}");
                // A second copy finds the port taken: one plain sentence, not an OS struct.
                let second = cargo(command).stdout(Stdio::null()).output().unwrap();
                let err = String::from_utf8_lossy(&second.stderr);
                assert_eq!(second.status.code(), Some(1), "{err}");
                let last = err.lines().last().unwrap_or_default();
                assert!(
                    last.starts_with("cannot listen on 127.0.0.1:3000: ")
                        && last.ends_with("; stop what uses the port, or change `addr`"),
                    "{err}"
                );
            }
            "separate_listener" => {
                let mut child = Killed(child);
                let reply = wait_for(
                    &mut child.0,
                    "127.0.0.1:9100",
                    "/metrics",
                    Some("change-me"),
                );
                assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
                assert!(reply.contains("ojeomneo_http_requests_total"), "{reply}");
                let refused = get("127.0.0.1:9100", "/metrics", None).unwrap();
                assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
            }
            other => panic!("no check for example {other}"),
        }
    }
}
