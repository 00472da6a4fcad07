//! Bounded series: a slot table of label sets, one overflow series past the bound, and a
//! count of what was folded into it.
//!
//! Labelled families and the HTTP middleware's tables both keep their series here, so the
//! bound, the overflow series and the `redmetrics_cardinality_overflow_total` count behave
//! the same everywhere. Lookups of existing series are the slot table's: lock-free and
//! allocation-free.
//!
//! Each series also keeps its start, the wall-clock time its key was first seen: read once,
//! when the key is inserted (the overflow series: when the first key is folded into it), and
//! written by the encoders as OpenMetrics `_created` and protobuf `created_timestamp`.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Counter;
use super::slots::SlotTable;

/// The label value every label takes in an overflow series.
/// Example: [`LabeledFamily`](crate::metrics::LabeledFamily).
pub const OVERFLOW: &str = "__overflow__";

/// Where a series lives in a [`BoundedSeries`]: a slot index, or [`OVERFLOW_SLOT`].
pub(crate) type SlotRef = u32;
/// The [`SlotRef`] of the overflow series.
pub(crate) const OVERFLOW_SLOT: SlotRef = u32::MAX;

/// Nanoseconds since the Unix epoch now; 1 for a clock set before the epoch, so that 0 can
/// mean "not yet".
fn now_unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .max(1)
}

/// The start a series was stamped with, as a wall-clock time.
fn start(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// A series and the time its key was first seen (nanoseconds since the Unix epoch).
#[derive(Debug)]
struct Stamped<E> {
    created: u64,
    series: E,
}

/// At most `bound` series `E`, plus one overflow series that takes every new key once the
/// table is full.
#[derive(Debug)]
pub(crate) struct BoundedSeries<E> {
    table: SlotTable<Stamped<E>>,
    overflow: E,
    /// When the first key was folded into `overflow`; 0 until then.
    overflow_created: AtomicU64,
    folded: Counter,
}

impl<E> BoundedSeries<E> {
    /// An empty table holding at most `bound` series, with `overflow` for the rest.
    pub(crate) fn new(bound: usize, overflow: E) -> Self {
        Self {
            table: SlotTable::new(bound),
            overflow,
            overflow_created: AtomicU64::new(0),
            folded: Counter::default(),
        }
    }

    /// Hashes a key with the table's seed.
    #[inline]
    pub(crate) fn hash<K: Hash + ?Sized>(&self, key: &K) -> u64 {
        self.table.hash(key)
    }

    /// The series for which `is_key` holds, inserting what `make()` returns when it is new;
    /// a new key gets the overflow series and counts as folded when the table is full or
    /// `make()` refuses it (`None`, e.g. a label value over the length cap). A new series is
    /// stamped with the time (one clock read, only then).
    #[inline]
    pub(crate) fn get_or_insert(
        &self,
        hash: u64,
        is_key: impl Fn(&E) -> bool,
        make: impl FnOnce() -> Option<E>,
    ) -> (SlotRef, &E) {
        let found = self.table.get_or_insert(
            hash,
            |s| is_key(&s.series),
            || {
                make().map(|series| Stamped {
                    created: now_unix_nanos(),
                    series,
                })
            },
        );
        match found {
            Some((slot, s)) => (slot, &s.series),
            None => self.fold(),
        }
    }

    #[cold]
    fn fold(&self) -> (SlotRef, &E) {
        if self.overflow_created.load(Ordering::Relaxed) == 0 {
            // Only the first fold reads the clock; a racing one that loses keeps the winner's.
            let _ = self.overflow_created.compare_exchange(
                0,
                now_unix_nanos(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        self.folded.inc();
        (OVERFLOW_SLOT, &self.overflow)
    }

    /// The series at `slot`, the overflow series for [`OVERFLOW_SLOT`].
    #[inline]
    pub(crate) fn get(&self, slot: SlotRef) -> &E {
        self.get_slot(slot).unwrap_or(&self.overflow)
    }

    /// The series at `slot` in the table, if any (never the overflow series).
    #[inline]
    pub(crate) fn get_slot(&self, slot: SlotRef) -> Option<&E> {
        self.table.get(slot).map(|s| &s.series)
    }

    /// Series in insertion order, then the overflow series if anything was folded into it.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &E> {
        self.iter_slots().map(|(_, e)| e)
    }

    /// Like [`iter`](Self::iter), with each series' slot ([`OVERFLOW_SLOT`] for overflow).
    pub(crate) fn iter_slots(&self) -> impl Iterator<Item = (SlotRef, &E)> {
        self.iter_stamped().map(|(slot, _, e)| (slot, e))
    }

    /// Like [`iter_slots`](Self::iter_slots), with each series' start: when its key was
    /// first seen (for the overflow series, the first fold).
    pub(crate) fn iter_stamped(&self) -> impl Iterator<Item = (SlotRef, SystemTime, &E)> {
        // Stamped before the fold is counted, so this is set whenever `folded() > 0` is.
        let created = self.overflow_created.load(Ordering::Relaxed);
        let overflow = (created != 0).then(|| (OVERFLOW_SLOT, start(created), &self.overflow));
        self.table
            .iter_slots()
            .map(|(slot, s)| (slot, start(s.created), &s.series))
            .chain(overflow)
    }

    /// How many times a new key was folded into the overflow series.
    pub(crate) fn folded(&self) -> u64 {
        self.folded.get()
    }

    /// How many series the table holds, not counting the overflow series.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// The most series the table holds.
    pub(crate) fn bound(&self) -> usize {
        self.table.bound()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_new_keys_past_the_bound_and_lists_overflow_last() {
        let t = BoundedSeries::new(2, "overflow");
        let key = |k: &'static str| t.get_or_insert(t.hash(k), move |e| *e == k, move || Some(k));
        let (a, _) = key("a");
        key("b");
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            [&"a", &"b"],
            "nothing folded yet"
        );
        assert_eq!(key("c"), (OVERFLOW_SLOT, &"overflow"));
        assert_eq!(key("a").0, a, "existing keys still resolve when full");
        assert_eq!(t.folded(), 1);
        assert_eq!(t.get(OVERFLOW_SLOT), &"overflow");
        assert_eq!(t.get_slot(OVERFLOW_SLOT), None);
        assert_eq!(t.get(a), &"a");
        assert_eq!(t.iter().collect::<Vec<_>>(), [&"a", &"b", &"overflow"]);
        assert_eq!((t.len(), t.bound()), (2, 2));
    }
}
