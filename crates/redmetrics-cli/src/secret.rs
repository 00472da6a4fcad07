//! Reading a secret (a bearer token) from a flag, a file or an environment variable, bounded
//! and without its trailing newline, for `check endpoint --bearer-token*` and
//! `demo --metrics-token*`.

use std::path::Path;

/// Largest token file read.
const MAX_TOKEN_FILE: u64 = 64 * 1024;

/// The token from `flag`, else the file `file` (named `file_flag` in errors), else the
/// environment variable `env`; `None` when none is set.
pub(crate) fn token(
    flag: Option<&str>,
    file: Option<&Path>,
    file_flag: &str,
    env: &str,
) -> Result<Option<String>, String> {
    if let Some(t) = flag {
        return Ok(Some(t.to_owned()));
    }
    if let Some(path) = file {
        let meta =
            std::fs::metadata(path).map_err(|e| format!("{file_flag} {}: {e}", path.display()))?;
        if meta.len() > MAX_TOKEN_FILE {
            return Err(format!(
                "{file_flag} {}: {} bytes is not a token (at most {MAX_TOKEN_FILE})",
                path.display(),
                meta.len()
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{file_flag} {}: {e}", path.display()))?;
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            return Err(format!("{file_flag} {}: the file is empty", path.display()));
        }
        return Ok(Some(text.to_owned()));
    }
    Ok(std::env::var(env).ok().filter(|t| !t.is_empty()))
}
