//! Where a request's trace comes from, for exemplars: the W3C `traceparent` header by default,
//! or whatever the application's tracing stack knows ([`TraceSource`]).

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::collect::TraceContext;

use super::route::RequestParts;

/// Supplies the trace a request belongs to, once per measured request when it arrives.
/// Runs on the request path: keep it allocation-free and lock-free.
///
/// The default is [`W3cTraceparent`]. Closures taking [`RequestParts`] implement it, e.g. to
/// read a context an outer layer put in the request extensions, or the current
/// OpenTelemetry span (`span.span_context()` gives `trace_id().to_bytes()` and
/// `span_id().to_bytes()`; check `is_sampled()` first):
///
/// ```
/// use redmetrics::middleware::{RequestParts, TraceContext, TraceSource};
///
/// /// What an outer layer of the application's tracing stack left for us.
/// #[derive(Clone)]
/// struct CurrentTrace(TraceContext);
///
/// let source = |req: RequestParts<'_>| req.extensions.get::<CurrentTrace>().map(|t| t.0);
/// # fn takes(_: impl TraceSource) {}
/// # takes(source);
/// ```
pub trait TraceSource: Send + Sync + 'static {
    /// The trace of this request, or `None` for no exemplar.
    fn trace_context(&self, req: RequestParts<'_>) -> Option<TraceContext>;
}

impl<F> TraceSource for F
where
    F: Fn(RequestParts<'_>) -> Option<TraceContext> + Send + Sync + 'static,
{
    fn trace_context(&self, req: RequestParts<'_>) -> Option<TraceContext> {
        self(req)
    }
}

/// The default [`TraceSource`]: the request's one `traceparent` header, parsed strictly
/// (version 00, lowercase hex, non-zero ids, exactly 55 bytes), when its caller sampled the trace (flag `01`): an unsampled trace
/// was not recorded anywhere, so an exemplar would link to nothing. Two `traceparent`
/// headers are no trace, as W3C Trace Context says.
#[derive(Debug, Clone, Copy, Default)]
pub struct W3cTraceparent;

impl TraceSource for W3cTraceparent {
    #[inline]
    fn trace_context(&self, req: RequestParts<'_>) -> Option<TraceContext> {
        let value = only_traceparent(req.headers)?;
        let (trace, flags) = parse_traceparent(value.as_bytes())?;
        (flags & SAMPLED == SAMPLED).then_some(trace)
    }
}

/// The one `traceparent` value of `headers`; `None` for none or for two. A few headers are
/// scanned in order (most names are standard ones, told apart by their tag alone), which
/// costs less than hashing the name for the map's lookup; a longer list is looked up.
#[inline]
fn only_traceparent(headers: &HeaderMap) -> Option<&HeaderValue> {
    if headers.is_empty() {
        return None;
    }
    if headers.len() > SCAN_AT_MOST {
        let mut values = headers.get_all(&TRACEPARENT).iter();
        let value = values.next()?;
        return values.next().is_none().then_some(value);
    }
    let mut found = None;
    for (name, value) in headers {
        if *name == TRACEPARENT && found.replace(value).is_some() {
            return None;
        }
    }
    found
}

/// Header values up to which [`only_traceparent`] scans rather than looks up.
const SCAN_AT_MOST: usize = 8;

/// The W3C Trace Context request header, as a ready name: a lookup then skips parsing it.
static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The `sampled` bit of `trace-flags`.
const SAMPLED: u8 = 0x01;

/// The length of a version-00 `traceparent`: `00-` + 32 + `-` + 16 + `-` + 2.
const LEN: usize = 55;

/// Parses a version-00 W3C `traceparent` value strictly: exactly
/// `00-<32 lowercase hex trace-id, not all zero>-<16 lowercase hex parent-id, not all
/// zero>-<2 lowercase hex flags>`. Returns the trace (the parent-id as its span id: the
/// caller's span, the one this request belongs to) and the flags; anything else is `None`.
/// Looks at no more than 55 bytes.
fn parse_traceparent(value: &[u8]) -> Option<(TraceContext, u8)> {
    if value.len() != LEN || !value.starts_with(b"00-") || value[35] != b'-' || value[52] != b'-' {
        return None;
    }
    let (hi, bad_hi) = hex(&value[3..19]);
    let (lo, bad_lo) = hex(&value[19..35]);
    let (span, bad_span) = hex(&value[36..52]);
    let (flags, bad_flags) = hex(&value[53..55]);
    if (bad_hi | bad_lo | bad_span | bad_flags) & INVALID != 0 || span == 0 {
        return None;
    }
    let mut trace_id = [0; 16];
    trace_id[..8].copy_from_slice(&hi.to_be_bytes());
    trace_id[8..].copy_from_slice(&lo.to_be_bytes());
    let trace = TraceContext::new(trace_id, Some(span.to_be_bytes()))?;
    Some((trace, flags as u8))
}

/// Decodes up to 16 lowercase hex digits into one word, big-endian, and the OR of their
/// [`NIBBLE`] entries: [`INVALID`] is set in it when any byte was not a lowercase hex digit.
/// One table lookup per digit and no branch, so the whole value costs a few hundred
/// instructions.
fn hex(src: &[u8]) -> (u64, u8) {
    let mut word = 0u64;
    let mut seen = 0u8;
    for &c in src {
        let n = NIBBLE[usize::from(c)];
        seen |= n;
        // A sum, not `|`: the shifted word's low four bits are zero, so both give the same
        // word, and only the sum's mutants (`-`, `*`) change it.
        word = (word << 4) + u64::from(n & 0x0f);
    }
    (word, seen)
}

/// Marks a byte that is not a lowercase hex digit in [`NIBBLE`].
const INVALID: u8 = 0x10;

/// The value of each lowercase hex digit; [`INVALID`] for every other byte. Built from the
/// sixteen digits in order, each one's value being its position, so that no loop bound can
/// be stretched by one onto a byte that is not a digit.
static NIBBLE: [u8; 256] = {
    let mut t = [INVALID; 256];
    let digits = b"0123456789abcdef";
    let mut i = 0;
    while i < digits.len() {
        t[digits[i] as usize] = i as u8;
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn the_spec_example_parses() {
        let (t, flags) = parse_traceparent(VALID.as_bytes()).unwrap();
        assert_eq!(
            t.trace_id(),
            [
                0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e,
                0x47, 0x36
            ]
        );
        assert_eq!(
            t.span_id(),
            Some([0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7])
        );
        assert_eq!(flags, 1);
    }

    #[test]
    fn anything_but_a_strict_version_00_value_is_refused() {
        let bad = [
            "",
            "00",
            // other versions, and the forbidden ff
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            // uppercase hex
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
            // all-zero ids
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            // wrong lengths and separators
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
            " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            // ':' follows '9' in ASCII and is no digit
            "00-4bf92f3577b34da6a3ce929d0e0e473:-00f067aa0ba902b7-01",
            // bad digits in two parts at once: each part's verdict must survive the others
            "00-4bf92f3577b34da6a3ce929d0e0e473X-00f067aa0ba902bX-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bX-0X",
        ];
        for v in bad {
            assert!(parse_traceparent(v.as_bytes()).is_none(), "{v:?} accepted");
        }
    }

    #[test]
    fn the_default_source_needs_one_sampled_header() {
        for others in [0, 3, SCAN_AT_MOST - 2, SCAN_AT_MOST, 20] {
            one_sampled_header_among(others);
        }
    }

    /// The rule with `others` other headers around the `traceparent` ones: both the scan
    /// of a few headers and the map's lookup of many.
    fn one_sampled_header_among(others: usize) {
        let req = |values: &[&str]| {
            let mut b = http::Request::get("/");
            for i in 0..others / 2 {
                b = b.header(format!("x-before-{i}"), "1");
            }
            for v in values {
                b = b.header("traceparent", *v);
            }
            for i in others / 2..others {
                b = b.header(if i % 2 == 0 { "accept" } else { "x-after" }, "1");
            }
            b.body(()).unwrap()
        };
        let source = |r: &http::Request<()>| {
            W3cTraceparent.trace_context(RequestParts {
                method: r.method(),
                uri: r.uri(),
                headers: r.headers(),
                extensions: r.extensions(),
            })
        };
        assert!(source(&req(&[VALID])).is_some(), "{others} other headers");
        assert!(source(&req(&[])).is_none());
        assert!(source(&req(&[VALID, VALID])).is_none(), "two headers");
        assert!(source(&req(&[VALID, "x"])).is_none(), "two, the second bad");
        assert!(source(&req(&[VALID, VALID, VALID])).is_none(), "three");
        let unsampled = VALID.replace("-01", "-00");
        assert!(source(&req(&[&unsampled])).is_none(), "not sampled");
        let other_flags = VALID.replace("-01", "-03");
        assert!(
            source(&req(&[&other_flags])).is_some(),
            "sampled plus other flags"
        );
    }
}
