//! The trace context an exemplar carries, and the exemplar as a [`Sink`](super::Sink) reads it.

/// The trace an observation belongs to: a W3C trace id (16 bytes, not all zero) and, when
/// known, a span id (8 bytes, not all zero). Written on an exemplar as
/// `{trace_id="<32 hex>",span_id="<16 hex>"}`.
///
/// ```
/// use redmetrics::collect::TraceContext;
///
/// let t = TraceContext::new([0xab; 16], Some([0x01; 8])).unwrap();
/// assert_eq!(t.trace_id(), [0xab; 16]);
/// assert!(TraceContext::new([0; 16], None).is_none(), "the all-zero trace id is invalid");
/// assert_eq!(TraceContext::new([1; 16], Some([0; 8])).unwrap().span_id(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceContext {
    trace_id: [u8; 16],
    /// All zero when unknown (the W3C spec makes that value invalid as a span id).
    span_id: [u8; 8],
}

impl TraceContext {
    /// A trace context, or `None` when `trace_id` is all zero (invalid in W3C Trace
    /// Context and OpenTelemetry). An all-zero `span_id` counts as unknown.
    pub fn new(trace_id: [u8; 16], span_id: Option<[u8; 8]>) -> Option<Self> {
        (trace_id != [0; 16]).then_some(Self {
            trace_id,
            span_id: span_id.unwrap_or([0; 8]),
        })
    }

    /// Fields as stored, an all-zero span id meaning unknown; the trace id is known valid.
    pub(crate) fn from_parts(trace_id: [u8; 16], span_id: [u8; 8]) -> Self {
        Self { trace_id, span_id }
    }

    /// The trace id.
    pub fn trace_id(&self) -> [u8; 16] {
        self.trace_id
    }

    /// The span id, when known.
    pub fn span_id(&self) -> Option<[u8; 8]> {
        (self.span_id != [0; 8]).then_some(self.span_id)
    }
}

/// One exemplar as read for a scrape: its trace, the observed value and when it was
/// observed. Encoders write it after a bucket or counter sample, in OpenMetrics only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exemplar {
    /// The trace the observation belongs to.
    pub trace: TraceContext,
    /// The observed value (seconds for a latency, 1 for a counted request).
    pub value: f64,
    /// Wall-clock time of the observation, in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
}
