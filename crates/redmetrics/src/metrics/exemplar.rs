//! Exemplars: the trace behind one observation, kept per histogram bucket or counter so that
//! a latency spike on a dashboard links to a trace.
//!
//! Each [`ExemplarSlot`] is a fixed block of atomics written with a sequence counter (a
//! seqlock made only of atomics): the writer never waits and never allocates, a reader that
//! raced a writer retries a few times and otherwise reports nothing for that scrape, and no
//! reader ever sees half of one trace id and half of another.

use std::sync::atomic::{AtomicU64, Ordering, fence};

use once_cell::race::OnceBox;

use crate::collect::{Exemplar, TraceContext};

/// How many times a scrape re-reads a slot a writer is rewriting before giving up on it.
const READ_ATTEMPTS: usize = 4;

/// The latest exemplar of one bucket or counter: 48 bytes of atomics, no allocation after
/// creation, written lock-free and read without tearing.
#[derive(Debug, Default)]
pub(crate) struct ExemplarSlot {
    /// Even when stable, odd while a writer rewrites the fields; 0 means never written.
    seq: AtomicU64,
    trace_hi: AtomicU64,
    trace_lo: AtomicU64,
    span: AtomicU64,
    value: AtomicU64,
    timestamp_ms: AtomicU64,
}

impl ExemplarSlot {
    /// Replaces the exemplar. When another writer holds the slot at this instant its
    /// exemplar wins and this one is dropped: exemplars are samples, and waiting would make
    /// the request path block.
    #[inline]
    pub(crate) fn record(&self, trace: &TraceContext, value: f64, timestamp_ms: u64) {
        let seq = self.seq.load(Ordering::Relaxed);
        if seq & 1 == 1
            || self
                .seq
                .compare_exchange(seq, seq + 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        // Orders the odd sequence number before the field stores, for readers that see any
        // of them (Boehm, "Can seqlocks get along with programming language memory models?").
        fence(Ordering::Release);
        let trace_id = trace.trace_id();
        let (hi, lo) = trace_id.split_at(8);
        self.trace_hi.store(word(hi), Ordering::Relaxed);
        self.trace_lo.store(word(lo), Ordering::Relaxed);
        self.span.store(
            u64::from_be_bytes(trace.span_id().unwrap_or([0; 8])),
            Ordering::Relaxed,
        );
        self.value.store(value.to_bits(), Ordering::Relaxed);
        self.timestamp_ms.store(timestamp_ms, Ordering::Relaxed);
        self.seq.store(seq + 2, Ordering::Release);
    }

    /// The latest exemplar, or `None` when none was recorded or a writer kept rewriting it
    /// during every attempt.
    pub(crate) fn read(&self) -> Option<Exemplar> {
        for _ in 0..READ_ATTEMPTS {
            let before = self.seq.load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            if before & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let hi = self.trace_hi.load(Ordering::Relaxed);
            let lo = self.trace_lo.load(Ordering::Relaxed);
            let span = self.span.load(Ordering::Relaxed);
            let value = f64::from_bits(self.value.load(Ordering::Relaxed));
            let timestamp_ms = self.timestamp_ms.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) != before {
                continue;
            }
            let mut trace_id = [0; 16];
            trace_id[..8].copy_from_slice(&hi.to_be_bytes());
            trace_id[8..].copy_from_slice(&lo.to_be_bytes());
            return Some(Exemplar {
                trace: TraceContext::from_parts(trace_id, span.to_be_bytes()),
                value,
                timestamp_ms,
            });
        }
        None
    }
}

/// Eight bytes, big-endian, as one word.
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(bytes);
    u64::from_be_bytes(w)
}

/// One slot per histogram bucket (`+Inf` included), allocated the first time a traced
/// observation arrives (once per label set, like the series itself; lock-free, losers of a
/// race drop their copy): a service that never sees a trace pays one pointer per series.
#[derive(Debug, Default)]
pub(crate) struct BucketExemplars(OnceBox<Box<[ExemplarSlot]>>);

impl BucketExemplars {
    /// Records `value` in the slot of the bucket it fell in, `bounds` being the finite
    /// upper bounds (inclusive) of the histogram. NaN lands in `+Inf`, as in the histogram.
    #[inline]
    pub(crate) fn record(
        &self,
        bounds: &[f64],
        value: f64,
        trace: &TraceContext,
        timestamp_ms: u64,
    ) {
        let slots = self.0.get_or_init(|| {
            Box::new(
                (0..=bounds.len())
                    .map(|_| ExemplarSlot::default())
                    .collect(),
            )
        });
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        let i = bounds.partition_point(|&b| !(b >= value));
        if let Some(slot) = slots.get(i) {
            slot.record(trace, value, timestamp_ms);
        }
    }

    /// Fills `out` with each bucket's latest exemplar and returns it, or `None` when no
    /// bucket holds one (the exposition is then what it was without exemplars).
    pub(crate) fn read<'a>(
        &self,
        out: &'a mut Vec<Option<Exemplar>>,
    ) -> Option<&'a [Option<Exemplar>]> {
        let slots = self.0.get()?;
        out.clear();
        out.extend(slots.iter().map(ExemplarSlot::read));
        out.iter().any(Option::is_some).then_some(&out[..])
    }
}

/// The latest traced increment of one counter, allocated on the first one (as
/// [`BucketExemplars`]).
#[derive(Debug, Default)]
pub(crate) struct CounterExemplar(OnceBox<ExemplarSlot>);

impl CounterExemplar {
    /// Records one traced increment (value 1).
    #[inline]
    pub(crate) fn record(&self, trace: &TraceContext, timestamp_ms: u64) {
        self.0
            .get_or_init(|| Box::new(ExemplarSlot::default()))
            .record(trace, 1.0, timestamp_ms);
    }

    /// The latest exemplar, if any.
    pub(crate) fn read(&self) -> Option<Exemplar> {
        self.0.get()?.read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_slot_returns_what_was_written() {
        let slot = ExemplarSlot::default();
        assert_eq!(slot.read(), None, "never written");
        let t = TraceContext::new([7; 16], Some([9; 8])).unwrap();
        slot.record(&t, 0.25, 1_700_000_000_123);
        let e = slot.read().unwrap();
        assert_eq!(e.trace, t);
        assert_eq!(e.value, 0.25);
        assert_eq!(e.timestamp_ms, 1_700_000_000_123);
        let unknown_span = TraceContext::new([1; 16], None).unwrap();
        slot.record(&unknown_span, 1.0, 5);
        assert_eq!(slot.read().unwrap().trace.span_id(), None);
    }

    /// A slot caught mid-write (odd sequence number) is never read, and a writer that
    /// finds it held drops its exemplar instead of waiting.
    #[test]
    fn a_slot_being_written_is_neither_read_nor_rewritten() {
        let slot = ExemplarSlot::default();
        let t = TraceContext::new([7; 16], Some([9; 8])).unwrap();
        slot.record(&t, 0.25, 1);
        let stable = slot.seq.load(Ordering::Relaxed);
        slot.seq.store(stable + 1, Ordering::Relaxed);
        assert_eq!(slot.read(), None, "fields may be half rewritten");
        let other = TraceContext::new([8; 16], None).unwrap();
        slot.record(&other, 0.5, 2);
        assert_eq!(
            slot.seq.load(Ordering::Relaxed),
            stable + 1,
            "the held slot was taken"
        );
        slot.seq.store(stable, Ordering::Relaxed);
        assert_eq!(slot.read().map(|e| e.trace), Some(t));
    }

    #[test]
    fn exemplars_land_in_the_bucket_of_their_value() {
        let b = BucketExemplars::default();
        let mut out = Vec::new();
        assert!(b.read(&mut out).is_none(), "nothing recorded");
        let t = TraceContext::new([3; 16], None).unwrap();
        b.record(&[0.1, 1.0], 1.0, &t, 1);
        b.record(&[0.1, 1.0], f64::NAN, &t, 2);
        let read = b.read(&mut out).unwrap();
        assert_eq!(read[0], None);
        assert_eq!(read[1].unwrap().value, 1.0, "bounds are inclusive");
        assert_eq!(read[2].unwrap().timestamp_ms, 2, "NaN goes to +Inf");
        assert_eq!(read.len(), 3, "one slot per bucket");
        let c = CounterExemplar::default();
        assert_eq!(c.read(), None);
        c.record(&t, 9);
        assert_eq!(c.read().map(|e| (e.value, e.timestamp_ms)), Some((1.0, 9)));
    }

    #[test]
    fn concurrent_writers_never_tear_an_exemplar() {
        // Each writer writes a trace id, span id, value and timestamp all derived from one
        // byte; a torn read would mix two writers' bytes.
        let slot = Arc::new(ExemplarSlot::default());
        let writers: Vec<_> = (1..=3u8)
            .map(|k| {
                let slot = Arc::clone(&slot);
                std::thread::spawn(move || {
                    let t = TraceContext::new([k; 16], Some([k; 8])).unwrap();
                    for _ in 0..200_000 {
                        slot.record(&t, f64::from(k), u64::from(k));
                    }
                })
            })
            .collect();
        while !writers.iter().all(std::thread::JoinHandle::is_finished) {
            if let Some(e) = slot.read() {
                let k = e.trace.trace_id()[0];
                assert_eq!(e.trace.trace_id(), [k; 16]);
                assert_eq!(e.trace.span_id(), Some([k; 8]));
                assert_eq!(e.value, f64::from(k));
                assert_eq!(e.timestamp_ms, u64::from(k));
            }
        }
        for w in writers {
            w.join().unwrap();
        }
        assert!(slot.read().is_some(), "stable once the writers are done");
    }
}
