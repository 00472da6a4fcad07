//! Why a check could not run at all (exit code 2), as opposed to a check that ran and failed.

/// A check that could not run: the peer was unreachable or the input unreadable.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckError {
    /// The URL does not parse.
    #[error("{url}: not a URL: {reason}")]
    BadUrl { url: String, reason: String },
    /// The request failed (connection refused, reset, …).
    #[error("{url}: {reason}{}", fix_for(reason))]
    Request { url: String, reason: String },
    /// The body is larger than the cap.
    #[error("{url}: the body is larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    /// The whole check took longer than its deadline.
    #[error(
        "{url}: the check did not finish within {seconds}s\n  fix: raise --timeout, or check why the endpoint is this slow"
    )]
    Deadline { url: String, seconds: u64 },
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
    /// `helm template` failed.
    #[error("`{command}` failed: {reason}")]
    Helm { command: String, reason: String },
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

/// A fix line for request failures a user can act on.
fn fix_for(reason: &str) -> &'static str {
    if reason.contains("onnection refused") {
        "\n  fix: nothing listens there: start the app, check the port in the URL, or reach a cluster service through `kubectl port-forward svc/<service> <port>`"
    } else if reason.contains("certificate") || reason.contains("UnknownIssuer") {
        "\n  fix: the server's certificate is not trusted: give its CA with --cacert FILE (PEM)"
    } else if reason.contains("dns error") || reason.contains("failed to lookup") {
        "\n  fix: the host name does not resolve: check its spelling, or use an IP address"
    } else {
        ""
    }
}
