//! Why a check could not run at all (exit code 2), as opposed to a check that ran and failed.

/// A check that could not run: the peer was unreachable or the input unreadable.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckError {
    /// The URL does not parse.
    #[error("{url}: not a URL: {reason}")]
    BadUrl { url: String, reason: String },
    /// An `https://` URL; the checker speaks plain HTTP.
    #[error(
        "{url}: https is not supported; check through plain HTTP (e.g. `kubectl port-forward`)"
    )]
    Https { url: String },
    /// The request failed (connection refused, reset, …).
    #[error("{url}: {reason}")]
    Request { url: String, reason: String },
    /// No complete answer in time.
    #[error("{url}: no answer within {seconds}s")]
    Timeout { url: String, seconds: u64 },
    /// The answer is not JSON from Prometheus' HTTP API.
    #[error("{url}: answered {status} with something that is not Prometheus' API")]
    NotPrometheusApi { url: String, status: u16 },
    /// The answer is not Alertmanager's `/api/v2/status`.
    #[error("{url}: answered {status} with something that is not Alertmanager's API v2 ({reason})")]
    NotAlertmanager {
        url: String,
        status: u16,
        reason: String,
    },
    /// Prometheus' API answered with an error.
    #[error("{url}: {message}")]
    PrometheusApi { url: String, message: String },
    /// A file, folder or standard input could not be read.
    #[error("cannot read {what}: {reason}")]
    Read {
        what: String,
        reason: std::io::Error,
    },
    /// A path that does not exist.
    #[error("{path}: no such file or directory")]
    Missing { path: String },
    /// A `.json` file that does not parse.
    #[error("{origin}: not valid JSON: {reason}")]
    Json { origin: String, reason: String },
    /// A YAML input that does not parse.
    #[error(
        "{origin}: not valid YAML: {reason}\n  (render Helm charts first: `helm template … | redmetrics check manifests -`)"
    )]
    Yaml { origin: String, reason: String },
}
