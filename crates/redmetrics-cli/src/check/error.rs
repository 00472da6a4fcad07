//! Why a check could not run at all (exit code 2), as opposed to a check that ran and failed.

/// A check that could not run: the peer was unreachable or the input unreadable.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckError {
    /// The URL does not parse.
    #[error("{url}: not a URL: {reason}")]
    BadUrl { url: String, reason: String },
    /// The request failed (connection refused, reset, …); `kind`, decided where it failed,
    /// picks the fix.
    #[error("{url}: {reason}{}", kind.fix())]
    Request {
        url: String,
        reason: String,
        kind: RequestFailure,
    },
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

/// Why a request failed, as far as the user can act on it: decided from the typed error where
/// it happened (an I/O error's kind, a rustls error, the host lookup), never from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestFailure {
    /// Nothing listens at the address.
    Refused,
    /// The server's certificate did not verify against the trusted roots.
    Untrusted,
    /// The host name does not resolve.
    Unresolved,
    /// Anything else (reset, bad arguments, …): no particular fix.
    Other,
}

impl RequestFailure {
    /// The fix line a user can act on, if any.
    fn fix(self) -> &'static str {
        match self {
            Self::Refused => {
                "\n  fix: nothing listens there: start the app, check the port in the URL, or reach a cluster service through `kubectl port-forward svc/<service> <port>`"
            }
            Self::Untrusted => {
                "\n  fix: the server's certificate is not trusted: give its CA with --cacert FILE (PEM)"
            }
            Self::Unresolved => {
                "\n  fix: the host name does not resolve: check its spelling, or use an IP address"
            }
            Self::Other => "",
        }
    }

    /// The kind of a request error, from its chain: a refused connection's I/O error, or a
    /// rustls certificate error. I/O errors are opened with `get_ref`, since their `source`
    /// skips the error they wrap (hyper-rustls wraps the TLS error in two).
    pub(crate) fn of(e: &(dyn std::error::Error + 'static)) -> Self {
        let mut next = Some(e);
        while let Some(e) = next {
            if let Some(rustls::Error::InvalidCertificate(_)) = e.downcast_ref::<rustls::Error>() {
                return Self::Untrusted;
            }
            next = match e.downcast_ref::<std::io::Error>() {
                Some(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Self::Refused;
                }
                Some(io) => match io.get_ref() {
                    Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                    None => None,
                },
                None => e.source(),
            };
        }
        Self::Other
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    use super::*;

    /// A refused connection is found however deep the chain wraps it (an I/O error inside
    /// an I/O error is opened with `get_ref`); another I/O error, or none, is no kind.
    #[test]
    fn a_refused_connection_is_told_apart_from_other_io_errors() {
        let refused = Error::from(ErrorKind::ConnectionRefused);
        assert_eq!(RequestFailure::of(&refused), RequestFailure::Refused);
        let wrapped = Error::other(Error::from(ErrorKind::ConnectionRefused));
        assert_eq!(RequestFailure::of(&wrapped), RequestFailure::Refused);
        let reset = Error::from(ErrorKind::ConnectionReset);
        assert_eq!(RequestFailure::of(&reset), RequestFailure::Other);
        let wrapped_reset = Error::other(Error::from(ErrorKind::ConnectionReset));
        assert_eq!(RequestFailure::of(&wrapped_reset), RequestFailure::Other);
        let untrusted = Error::other(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        assert_eq!(RequestFailure::of(&untrusted), RequestFailure::Untrusted);
    }

    /// Each kind's message ends with its own fix line; a failure of no kind has none.
    #[test]
    fn each_request_failure_prints_its_fix() {
        let message = |kind| {
            CheckError::Request {
                url: "http://a:1/metrics".into(),
                reason: "boom".into(),
                kind,
            }
            .to_string()
        };
        assert_eq!(message(RequestFailure::Other), "http://a:1/metrics: boom");
        assert_eq!(
            message(RequestFailure::Unresolved),
            "http://a:1/metrics: boom\n  fix: the host name does not resolve: check its spelling, or use an IP address"
        );
        assert_eq!(
            message(RequestFailure::Untrusted),
            "http://a:1/metrics: boom\n  fix: the server's certificate is not trusted: give its CA with --cacert FILE (PEM)"
        );
        assert!(
            message(RequestFailure::Refused).starts_with(
                "http://a:1/metrics: boom\n  fix: nothing listens there: start the app"
            ),
        );
    }
}
