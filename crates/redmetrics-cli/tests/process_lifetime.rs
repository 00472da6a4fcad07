//! Every process the CLI starts dies with it (issue 23 item 10): a demo killed with SIGKILL,
//! which cannot clean up, takes its real Prometheus and Alertmanager with it. And the check
//! `scripts/test` ends with (`scripts/leftovers`) finds a process a run left behind.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::SpawnTethered;

/// How long the kernel may take to deliver a parent-death signal and the process to go; a
/// bound for failing, not a measured time.
const PATIENCE: Duration = Duration::from_secs(30);

/// A process as `/proc` shows it: its start time tells it from a later one with its pid.
#[derive(Debug, Clone, PartialEq)]
struct Proc {
    pid: u32,
    parent: u32,
    started: u64,
    zombie: bool,
    program: String,
    cwd: PathBuf,
}

fn read_proc(pid: u32) -> Option<Proc> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised name: state, ppid, ... starttime is field 22.
    let rest: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    Some(Proc {
        pid,
        parent: rest.get(1)?.parse().ok()?,
        started: rest.get(19)?.parse().ok()?,
        zombie: rest.first() == Some(&"Z"),
        program: Path::new(&*String::from_utf8_lossy(argv0))
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        cwd: std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default(),
    })
}

fn all_procs() -> Vec<Proc> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter_map(read_proc)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_killed_with_sigkill_takes_its_prometheus_and_alertmanager_along() {
    let (mut demo, _, prom_url, _) =
        common::start_demo_with_prometheus(&["--alertmanager-listen", "127.0.0.1:0"]).await;
    let pid = demo.child.id();
    let children: Vec<Proc> = all_procs()
        .into_iter()
        .filter(|p| p.parent == pid)
        .collect();
    let programs: Vec<&str> = children.iter().map(|p| p.program.as_str()).collect();
    assert!(programs.contains(&"prometheus"), "{children:?}");
    assert!(
        programs
            .iter()
            .any(|p| *p == "prometheus-alertmanager" || *p == "alertmanager"),
        "the demo starts Alertmanager too: {children:?}"
    );
    // Each runs in a temporary directory of the demo's: nothing else may run there.
    let tmp = std::env::temp_dir().canonicalize().unwrap();
    assert!(
        children.iter().all(|c| c.cwd.starts_with(&tmp)),
        "{children:?}"
    );

    // SIGKILL: the demo runs no code of its own after this.
    demo.child.kill().unwrap();
    demo.child.wait().unwrap();
    let deadline = Instant::now() + PATIENCE;
    let left = loop {
        let dirs: Vec<&PathBuf> = children.iter().map(|c| &c.cwd).collect();
        let left: Vec<Proc> = all_procs()
            .into_iter()
            .filter(|p| {
                let child = children
                    .iter()
                    .any(|c| (c.pid, c.started) == (p.pid, p.started));
                !p.zombie && (child || dirs.contains(&&p.cwd))
            })
            .collect();
        if left.is_empty() || Instant::now() > deadline {
            break left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if !left.is_empty() {
        // Not ours to leave running, even when the test fails.
        for p in &left {
            let _ = Command::new("kill")
                .args(["-KILL", &p.pid.to_string()])
                .status();
        }
        panic!("outlived the demo by {PATIENCE:?}: {left:?}");
    }
    assert!(
        common::http_get(&format!("{prom_url}/-/ready"))
            .await
            .is_err(),
        "something still answers on the demo's Prometheus port"
    );
}

#[test]
fn a_child_outlives_the_thread_that_started_it() {
    // PR_SET_PDEATHSIG fires when the forking *thread* ends: a child started from a thread
    // that ends (a test's, a tokio blocking thread) must not die with it.
    let child = std::thread::spawn(|| {
        Command::new("sleep")
            .arg("60")
            .stdin(Stdio::null())
            .spawn_tethered()
            .unwrap()
    })
    .join()
    .unwrap();
    let mut running = common::Running {
        child,
        name: "sleep",
    };
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        running.child.try_wait().unwrap(),
        None,
        "killed when its starting thread ended"
    );
}

/// `scripts/leftovers DIR SECONDS`: exit code and stderr.
fn leftovers(dir: &Path) -> (Option<i32>, String) {
    let out = Command::new(common::repo().join("scripts/leftovers"))
        .arg(dir)
        .arg("0")
        .env_remove("TMPDIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn_tethered()
        .unwrap()
        .wait_with_output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn scripts_leftovers_finds_what_a_run_left_running() {
    let run = tempfile::tempdir().unwrap();
    let here = run.path().join("a-test");
    std::fs::create_dir(&here).unwrap();
    assert_eq!(leftovers(run.path()).0, Some(0), "nothing started yet");
    // Found by its working directory, then by its TMPDIR.
    for how in ["cwd", "TMPDIR"] {
        let mut command = Command::new("sleep");
        command.arg("60").stdin(Stdio::null());
        if how == "cwd" {
            command.current_dir(&here);
        } else {
            command.env("TMPDIR", &here);
        }
        let sleeper = common::Running {
            child: command.spawn_tethered().unwrap(),
            name: "sleep",
        };
        let (code, says) = leftovers(run.path());
        assert_eq!(code, Some(1), "{how}: {says}");
        assert!(
            says.contains(&format!("pid {} (sleep)", sleeper.child.id())),
            "{how}: {says}"
        );
        drop(sleeper);
        assert_eq!(leftovers(run.path()).0, Some(0), "{how}: stopped");
    }
}
