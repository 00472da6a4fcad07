//! Bounded series: a slot table of label sets, one overflow series past the bound, and a
//! count of what was folded into it.
//!
//! Labelled families and the HTTP middleware's tables both keep their series here, so the
//! bound, the overflow series and the `redmetrics_cardinality_overflow_total` count behave
//! the same everywhere. Lookups of existing series are the slot table's: lock-free and
//! allocation-free.

use std::hash::Hash;

use super::Counter;
use super::slots::SlotTable;

/// The label value every label takes in an overflow series.
/// Example: [`LabeledFamily`](crate::metrics::LabeledFamily).
pub const OVERFLOW: &str = "__overflow__";

/// Where a series lives in a [`BoundedSeries`]: a slot index, or [`OVERFLOW_SLOT`].
pub(crate) type SlotRef = u32;
/// The [`SlotRef`] of the overflow series.
pub(crate) const OVERFLOW_SLOT: SlotRef = u32::MAX;

/// At most `bound` series `E`, plus one overflow series that takes every new key once the
/// table is full.
#[derive(Debug)]
pub(crate) struct BoundedSeries<E> {
    table: SlotTable<E>,
    overflow: E,
    folded: Counter,
}

impl<E> BoundedSeries<E> {
    /// An empty table holding at most `bound` series, with `overflow` for the rest.
    pub(crate) fn new(bound: usize, overflow: E) -> Self {
        Self {
            table: SlotTable::new(bound),
            overflow,
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
    /// `make()` refuses it (`None`, e.g. a label value over the length cap).
    #[inline]
    pub(crate) fn get_or_insert(
        &self,
        hash: u64,
        is_key: impl Fn(&E) -> bool,
        make: impl FnOnce() -> Option<E>,
    ) -> (SlotRef, &E) {
        match self.table.get_or_insert(hash, is_key, make) {
            Some(found) => found,
            None => self.fold(),
        }
    }

    #[cold]
    fn fold(&self) -> (SlotRef, &E) {
        self.folded.inc();
        (OVERFLOW_SLOT, &self.overflow)
    }

    /// The series at `slot`, the overflow series for [`OVERFLOW_SLOT`].
    #[inline]
    pub(crate) fn get(&self, slot: SlotRef) -> &E {
        self.table.get(slot).unwrap_or(&self.overflow)
    }

    /// The series at `slot` in the table, if any (never the overflow series).
    #[inline]
    pub(crate) fn get_slot(&self, slot: SlotRef) -> Option<&E> {
        self.table.get(slot)
    }

    /// Series in insertion order, then the overflow series if anything was folded into it.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &E> {
        let folded = self.folded() > 0;
        self.table.iter().chain(folded.then_some(&self.overflow))
    }

    /// Like [`iter`](Self::iter), with each series' slot ([`OVERFLOW_SLOT`] for overflow).
    pub(crate) fn iter_slots(&self) -> impl Iterator<Item = (SlotRef, &E)> {
        let folded = self.folded() > 0;
        self.table
            .iter_slots()
            .chain(folded.then_some((OVERFLOW_SLOT, &self.overflow)))
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
