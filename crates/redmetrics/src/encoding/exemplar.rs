//! The exemplar after an OpenMetrics sample:
//! ` # {trace_id="<32 hex>",span_id="<16 hex>"} <value> <seconds.millis>`.
//!
//! Its labels hold at most 63 characters (`trace_id` + 32, `span_id` + 16), within the
//! specification's 128; the timestamp is in seconds, as client_golang writes it.

use crate::collect::Exemplar;
use crate::number::{write_f64, write_u64};

/// Appends ` # {…} value timestamp` (no newline) for `e`.
pub(super) fn write(out: &mut Vec<u8>, e: &Exemplar) {
    out.extend_from_slice(b" # {trace_id=\"");
    hex(out, &e.trace.trace_id());
    if let Some(span) = e.trace.span_id() {
        out.extend_from_slice(b"\",span_id=\"");
        hex(out, &span);
    }
    out.extend_from_slice(b"\"} ");
    write_f64(out, e.value);
    out.push(b' ');
    write_u64(out, e.timestamp_ms / 1000);
    let millis = e.timestamp_ms % 1000;
    out.extend_from_slice(&[
        b'.',
        b'0' + (millis / 100) as u8,
        b'0' + (millis / 10 % 10) as u8,
        b'0' + (millis % 10) as u8,
    ]);
}

/// Lowercase hex, as W3C Trace Context and OpenTelemetry write ids.
pub(super) fn hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0xf)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::TraceContext;

    #[test]
    fn writes_ids_value_and_seconds() {
        let mut trace = [0u8; 16];
        trace[0] = 0x4b;
        trace[15] = 0x36;
        let e = Exemplar {
            trace: TraceContext::new(trace, Some([0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]))
                .unwrap(),
            value: 0.012,
            timestamp_ms: 1_700_000_000_045,
        };
        let mut out = Vec::new();
        write(&mut out, &e);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#" # {trace_id="4b000000000000000000000000000036",span_id="00f067aa0ba902b7"} 0.012 1700000000.045"#
        );
        let mut out = Vec::new();
        write(
            &mut out,
            &Exemplar {
                trace: TraceContext::new([0xff; 16], None).unwrap(),
                value: 1.0,
                timestamp_ms: 7,
            },
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#" # {trace_id="ffffffffffffffffffffffffffffffff"} 1 0.007"#
        );
    }
}
