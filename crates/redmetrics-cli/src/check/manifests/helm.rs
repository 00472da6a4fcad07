//! Rendering a chart folder with the `helm` binary, bounded in time and output, so that a
//! chart is judged by what it renders rather than passing unread.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::check::CheckError;
use crate::tether::SpawnTethered;

/// How long `helm template` may run.
const HELM_TIMEOUT: Duration = Duration::from_secs(120);

/// The most output read from `helm template`.
const MAX_RENDERED_BYTES: u64 = 64 << 20;

/// `helm` on PATH, if any.
pub(super) fn find() -> Option<PathBuf> {
    find_in(&std::env::var_os("PATH")?)
}

/// The first file named `helm` in the folders of `path` (a PATH-like list).
fn find_in(path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join("helm"))
        .find(|p| p.is_file())
}

/// The output of `helm template RELEASE DIR --namespace NAMESPACE`, within
/// [`HELM_TIMEOUT`] and [`MAX_RENDERED_BYTES`].
pub(super) fn template(
    helm: &Path,
    release: &str,
    dir: &Path,
    namespace: &str,
) -> Result<String, CheckError> {
    template_within(
        helm,
        release,
        dir,
        namespace,
        HELM_TIMEOUT,
        MAX_RENDERED_BYTES,
    )
}

/// [`template`] with its limits as arguments, so that tests can reach them with a small
/// chart: `helm` is stopped after `timeout` and its output refused past `max_bytes`.
fn template_within(
    helm: &Path,
    release: &str,
    dir: &Path,
    namespace: &str,
    timeout: Duration,
    max_bytes: u64,
) -> Result<String, CheckError> {
    let command = format!(
        "helm template {release} {} --namespace {namespace}",
        dir.display()
    );
    let failed = |reason: String| CheckError::Helm {
        command: command.clone(),
        reason,
    };
    let mut child = Command::new(helm)
        .arg("template")
        .arg(release)
        .arg(dir)
        .args(["--namespace", namespace])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn_tethered()
        .map_err(|e| failed(e.to_string()))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(failed("no output pipes".to_owned()));
    };
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let read = stdout.take(max_bytes + 1).read_to_end(&mut out);
        read.map(|_| out)
    });
    let errors = std::thread::spawn(move || {
        let mut err = String::new();
        let _ = stderr.take(64 * 1024).read_to_string(&mut err);
        err
    });
    let status = wait(&mut child, timeout)
        .map_err(|e| failed(e.to_string()))?
        .ok_or_else(|| failed(format!("no result within {}s", timeout.as_secs())))?;
    let out = reader
        .join()
        .map_err(|_| failed("reading its output failed".to_owned()))?
        .map_err(|e| failed(e.to_string()))?;
    let err = errors.join().unwrap_or_default();
    if !status.success() {
        return Err(failed(format!("{status}: {}", err.trim())));
    }
    if out.len() as u64 > max_bytes {
        return Err(failed(format!("more than {max_bytes} bytes of output")));
    }
    String::from_utf8(out).map_err(|_| failed("its output is not UTF-8".to_owned()))
}

/// The exit status of `child`, polled every 20 ms; `None` once `timeout` has passed
/// without one (the child is then killed and reaped).
fn wait(child: &mut Child, timeout: Duration) -> std::io::Result<Option<ExitStatus>> {
    let started = Instant::now();
    loop {
        match child.try_wait()? {
            Some(status) => return Ok(Some(status)),
            None if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(None);
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `helm` the tests put on PATH: Helm's own Go SDK (helm-python-sdk) behind it.
    fn judges() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/judges")
    }

    /// A chart named `t` whose one template is `template`.
    fn chart(template: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::create_dir(dir.path().join("templates")).expect("templates/");
        std::fs::write(
            dir.path().join("Chart.yaml"),
            "apiVersion: v2\nname: t\nversion: 0.1.0\n",
        )
        .expect("Chart.yaml");
        std::fs::write(dir.path().join("templates/a.yaml"), template).expect("a.yaml");
        dir
    }

    fn helm() -> PathBuf {
        find_in(judges().as_os_str()).expect("the tests' helm")
    }

    /// `helm` is the first file of that name on the path; a path without one has none.
    #[test]
    fn helm_is_found_on_the_path() {
        let path = std::env::join_paths([Path::new("/nonexistent"), &judges()]).expect("a path");
        assert_eq!(find_in(&path), Some(judges().join("helm")));
        assert_eq!(find_in(OsStr::new("/nonexistent")), None);
    }

    /// What Helm renders is returned whole when it fits the cap, exactly or with room (the
    /// default cap), and refused one byte past it.
    #[test]
    fn the_output_is_read_whole_up_to_the_cap_and_refused_past_it() {
        let dir = chart("kind: ConfigMap\n");
        let rendered = "---\n# Source: t/templates/a.yaml\nkind: ConfigMap\n\n";
        assert_eq!(rendered.len(), 50);
        let got = template(&helm(), "r", dir.path(), "ns").expect("renders");
        assert_eq!(got, rendered);
        let within = |max| template_within(&helm(), "r", dir.path(), "ns", HELM_TIMEOUT, max);
        assert_eq!(within(50).expect("exactly the cap"), rendered);
        match within(49) {
            Err(CheckError::Helm { command, reason }) => {
                assert_eq!(
                    command,
                    format!("helm template r {} --namespace ns", dir.path().display())
                );
                assert_eq!(reason, "more than 49 bytes of output");
            }
            other => panic!("{other:?}"),
        }
    }

    /// A failing render's error is Helm's whole message (up to 64 KiB of it).
    #[test]
    fn a_failed_render_carries_helms_message() {
        let message = "x".repeat(2000);
        let dir = chart(&format!("{{{{ fail \"{message}\" }}}}\n"));
        match template(&helm(), "r", dir.path(), "ns") {
            Err(CheckError::Helm { reason, .. }) => {
                assert!(reason.contains(&message), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// Past its time limit `helm` is stopped: with a limit of zero, the first poll after
    /// the start (the process cannot have ended within microseconds of its spawn) gives up.
    #[test]
    fn helm_is_stopped_past_its_time_limit() {
        let dir = chart("kind: ConfigMap\n");
        match template_within(&helm(), "r", dir.path(), "ns", Duration::ZERO, 1 << 20) {
            Err(CheckError::Helm { reason, .. }) => assert_eq!(reason, "no result within 0s"),
            other => panic!("{other:?}"),
        }
    }
}
