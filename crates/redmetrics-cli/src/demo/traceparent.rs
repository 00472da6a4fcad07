//! W3C `traceparent` headers for the demo's built-in traffic: one request in four carries a
//! sampled trace, so the demo's OpenMetrics scrapes (and a `--with-prometheus` Prometheus,
//! which stores exemplars) show trace ids on the latency buckets.

/// How often the traffic generator sends a trace: every `EVERY`th request.
const EVERY: u64 = 4;

/// The `traceparent` of the `n`th generated request, if it carries one: a sampled version-00
/// header whose trace id is `run` (unique per demo run) and `n`, and whose parent id is `n`.
pub(super) fn for_request(run: u64, n: u64) -> Option<String> {
    n.is_multiple_of(EVERY)
        .then(|| format!("00-{:016x}{:016x}-{:016x}-01", run | 1, n, n + 1))
}

/// A per-run value for trace ids, so that two demo runs do not repeat each other's traces.
pub(super) fn run_id() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use redmetrics::middleware::{RequestParts, TraceSource, W3cTraceparent};

    #[test]
    fn every_fourth_request_carries_a_valid_sampled_trace() {
        let with: Vec<String> = (0..8).filter_map(|n| for_request(42, n)).collect();
        assert_eq!(with.len(), 2);
        for h in &with {
            // What the demo's own layer reads: the default source takes only sampled traces.
            let req = http::Request::get("/")
                .header("traceparent", h)
                .body(())
                .unwrap();
            let trace = W3cTraceparent
                .trace_context(RequestParts {
                    method: req.method(),
                    uri: req.uri(),
                    headers: req.headers(),
                    extensions: req.extensions(),
                })
                .unwrap();
            assert_eq!(trace.trace_id()[..8], 43u64.to_be_bytes());
        }
        assert_ne!(with[0], with[1]);
    }
}
