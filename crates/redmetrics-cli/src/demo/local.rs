//! A Prometheus-family server (Prometheus, Alertmanager) the demo runs on loopback: started
//! from PATH in a temporary directory, known to be up only once it logs the address it bound
//! and answers `/-/ready`, and reported with its own log when it dies at start (a port
//! already taken, a configuration it refuses) instead of printing URLs that answer nothing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::check::fetch;
use crate::tether::SpawnTethered;

/// How long a server may take to bind and become ready.
const START_DEADLINE: Duration = Duration::from_secs(60);
/// How many trailing log lines a failure report shows.
const LOG_TAIL: usize = 12;

/// A running server; killed (and waited for) on drop, and by the kernel when the demo dies
/// without dropping it.
pub(crate) struct Local {
    pub(crate) addr: SocketAddr,
    pub(crate) log: PathBuf,
    child: Child,
}

impl Drop for Local {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first of `names` found on PATH.
pub(crate) fn find(names: &[&str]) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// How long `--version` may take.
const VERSION_DEADLINE: Duration = Duration::from_secs(10);

/// The `(major, minor)` version `binary --version` reports (`prometheus, version 2.42.0+ds
/// (branch: …)`), or `None` when it cannot be run, says something else, or does not answer
/// within [`VERSION_DEADLINE`].
pub(crate) async fn version(binary: &Path) -> Option<(u32, u32)> {
    let mut child = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + VERSION_DEADLINE;
    while child.try_wait().ok()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = child.wait_with_output().ok()?;
    // Older releases print the version on stderr, newer ones on stdout.
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_version(&text)
}

/// `(major, minor)` from the first `version X.Y…` in `text`.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let rest = text.split("version ").nth(1)?;
    let mut parts = rest.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The last lines of a log, indented, for an error message.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(LOG_TAIL);
    lines[start..]
        .iter()
        .map(|l| format!("\n    {l}"))
        .collect()
}

/// The address a Prometheus-family server logs once it listens (`msg="Listening on"
/// address=…`, exporter-toolkit's line): the real port, also when asked for port 0.
fn bound_address(log: &Path) -> Option<SocketAddr> {
    std::fs::read_to_string(log)
        .ok()?
        .lines()
        .filter(|l| l.contains("msg=\"Listening on\""))
        .find_map(|l| l.split("address=").nth(1))
        .and_then(|a| a.split_whitespace().next())
        .and_then(|a| a.parse().ok())
}

/// Starts `binary` with `args` in `dir`, logging to `dir/<name>.log`, and waits until it
/// listens and `/-/ready` answers 200. A server that exits first, or is not ready in time, is
/// an error carrying its log.
pub(crate) async fn start(
    name: &'static str,
    binary: &Path,
    args: &[String],
    dir: &Path,
) -> Result<Local> {
    let log = dir.join(format!("{name}.log"));
    let file = std::fs::File::create(&log).with_context(|| format!("{}", log.display()))?;
    let child = Command::new(binary)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        // Dies with the demo even when the demo is killed (see `tether`).
        .spawn_tethered()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let mut local = Local {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        log,
        child,
    };
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        if let Some(status) = local.child.try_wait()? {
            bail!(
                "{name} ({}) exited at start ({status}); its log ({}):{}",
                binary.display(),
                local.log.display(),
                tail(&local.log)
            );
        }
        if local.addr.port() == 0
            && let Some(addr) = bound_address(&local.log)
        {
            local.addr = addr;
        }
        if local.addr.port() != 0 && answers(&format!("http://{}/-/ready", local.addr)).await {
            return Ok(local);
        }
        if Instant::now() > deadline {
            bail!(
                "{name} was not ready within {}s; its log ({}):{}",
                START_DEADLINE.as_secs(),
                local.log.display(),
                tail(&local.log)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether `url` answers 200 (redirects do not count: a URL printed must show its page).
pub(crate) async fn answers(url: &str) -> bool {
    fetch::get(url).await.is_ok_and(|f| f.status == 200)
}

/// The first of `paths` under `base` that answers 200, as a full URL.
pub(crate) async fn first_answering(base: SocketAddr, paths: &[&str]) -> Option<String> {
    for path in paths {
        let url = format!("http://{base}{path}");
        if answers(&url).await {
            return Some(url);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn versions_as_prometheus_prints_them() {
        assert_eq!(
            parse_version(
                "prometheus, version 2.42.0+ds (branch: debian/sid, revision: 2.42.0+ds-5)"
            ),
            Some((2, 42))
        );
        assert_eq!(
            parse_version("prometheus, version 3.9.1 (branch: HEAD, revision: abc)"),
            Some((3, 9))
        );
        assert_eq!(parse_version("prometheus, version unknown"), None);
        assert_eq!(parse_version(""), None);
    }
}
