//! Rendering a chart folder with the `helm` binary, bounded in time and output, so that a
//! chart is judged by what it renders rather than passing unread.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::check::CheckError;
use crate::tether::SpawnTethered;

/// How long `helm template` may run.
const HELM_TIMEOUT: Duration = Duration::from_secs(120);

/// The most output read from `helm template`.
const MAX_RENDERED_BYTES: u64 = 64 << 20;

/// `helm` on PATH, if any.
pub(super) fn find() -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("helm"))
        .find(|p| p.is_file())
}

/// The output of `helm template RELEASE DIR --namespace NAMESPACE`.
pub(super) fn template(
    helm: &Path,
    release: &str,
    dir: &Path,
    namespace: &str,
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
        let read = stdout.take(MAX_RENDERED_BYTES + 1).read_to_end(&mut out);
        read.map(|_| out)
    });
    let errors = std::thread::spawn(move || {
        let mut err = String::new();
        let _ = stderr.take(64 * 1024).read_to_string(&mut err);
        err
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| failed(e.to_string()))? {
            Some(status) => break status,
            None if started.elapsed() > HELM_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "no result within {}s",
                    HELM_TIMEOUT.as_secs()
                )));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let out = reader
        .join()
        .map_err(|_| failed("reading its output failed".to_owned()))?
        .map_err(|e| failed(e.to_string()))?;
    let err = errors.join().unwrap_or_default();
    if !status.success() {
        return Err(failed(format!("{status}: {}", err.trim())));
    }
    if out.len() as u64 > MAX_RENDERED_BYTES {
        return Err(failed(format!(
            "more than {MAX_RENDERED_BYTES} bytes of output"
        )));
    }
    String::from_utf8(out).map_err(|_| failed("its output is not UTF-8".to_owned()))
}
