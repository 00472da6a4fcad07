//! An insert-only, bounded, lock-free hash table of series.
//!
//! Lookups of existing keys are a hash, a probe over `OnceBox` pointers and a key comparison:
//! no lock, no allocation. Inserting a new key allocates its entry once and publishes it with
//! a compare-and-swap; entries are never removed, so readers need no reclamation scheme. The
//! table refuses keys past its bound, which is how families cap their label sets. Written by
//! hand: concurrent maps on crates.io either lock shards on write, grow (and allocate) under
//! load, or need epoch reclamation; none is bounded.

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use foldhash::fast::RandomState;
use once_cell::race::OnceBox;

/// A bounded table of entries `E`, found by a caller-computed hash and a key predicate.
#[derive(Debug)]
pub(crate) struct SlotTable<E> {
    slots: Box<[OnceBox<E>]>,
    mask: usize,
    /// Indices into `slots` (+1; 0 = not yet written) in insertion order.
    order: Box<[AtomicU32]>,
    /// Entries reserved against the bound.
    reserved: AtomicUsize,
    /// Entries published, i.e. positions used in `order`.
    published: AtomicUsize,
    bound: usize,
    hasher: RandomState,
}

impl<E> SlotTable<E> {
    /// A table holding at most `bound` entries (at least 1) in at least 1.5 times as many
    /// slots: linear probing stays short even when the table is full.
    pub(crate) fn new(bound: usize) -> Self {
        let bound = bound.clamp(1, u32::MAX as usize / 4);
        let capacity = (bound + bound / 2 + 1).next_power_of_two();
        Self {
            slots: (0..capacity).map(|_| OnceBox::new()).collect(),
            mask: capacity - 1,
            order: (0..bound).map(|_| AtomicU32::new(0)).collect(),
            reserved: AtomicUsize::new(0),
            published: AtomicUsize::new(0),
            bound,
            hasher: RandomState::default(),
        }
    }

    /// Hashes a key with this table's seed.
    #[inline]
    pub(crate) fn hash<K: Hash + ?Sized>(&self, key: &K) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Finds the entry for which `is_key` holds, or inserts what `make()` returns; `None`
    /// when the key is new and the table is full or `make()` refuses it (`None`). `make` runs
    /// only for a new key, so refusing costs nothing on the path of existing ones.
    #[inline]
    pub(crate) fn get_or_insert(
        &self,
        hash: u64,
        is_key: impl Fn(&E) -> bool,
        make: impl FnOnce() -> Option<E>,
    ) -> Option<(u32, &E)> {
        let start = hash as usize & self.mask;
        let mut pos = start;
        loop {
            match self.slots[pos].get() {
                Some(e) if is_key(e) => return Some((pos as u32, e)),
                Some(_) => {
                    pos = (pos + 1) & self.mask;
                    // At most `bound` entries in at least 1.5 × `bound` slots: the probe
                    // meets a free slot before it comes back. Checked in debug builds only
                    // (the tests), where a wrong step fails here instead of spinning.
                    debug_assert_ne!(pos, start, "the probe went round a full table");
                }
                None => return self.insert(pos, is_key, make),
            }
        }
    }

    /// Claims a slot for a new key, from `start` (the free slot the lookup found) on. A
    /// slot taken meanwhile by another thread is skipped, or used if it holds this key.
    /// The probe visits each slot at most once, so it ends whatever happens.
    #[cold]
    fn insert(
        &self,
        start: usize,
        is_key: impl Fn(&E) -> bool,
        make: impl FnOnce() -> Option<E>,
    ) -> Option<(u32, &E)> {
        if self.reserved.fetch_add(1, Ordering::AcqRel) >= self.bound {
            self.reserved.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let Some(made) = make() else {
            self.reserved.fetch_sub(1, Ordering::AcqRel);
            return None;
        };
        let mut entry = Box::new(made);
        for step in 0..self.slots.len() {
            let pos = (start + step) & self.mask;
            match self.slots[pos].set(entry) {
                Ok(()) => {
                    let at = self.published.fetch_add(1, Ordering::AcqRel);
                    self.order[at].store(pos as u32 + 1, Ordering::Release);
                    return self.slots[pos].get().map(|e| (pos as u32, e));
                }
                Err(ours) => {
                    entry = ours;
                    if let Some(theirs) = self.slots[pos].get().filter(|e| is_key(e)) {
                        // Another thread inserted the same key first.
                        self.reserved.fetch_sub(1, Ordering::AcqRel);
                        return Some((pos as u32, theirs));
                    }
                }
            }
        }
        // Not reached: at most `bound` entries in at least 1.5 × `bound` slots.
        self.reserved.fetch_sub(1, Ordering::AcqRel);
        None
    }

    /// The entry at a slot index returned by [`get_or_insert`](Self::get_or_insert).
    #[inline]
    pub(crate) fn get(&self, index: u32) -> Option<&E> {
        self.slots.get(index as usize).and_then(OnceBox::get)
    }

    /// Published entries with their slot index, in insertion order.
    pub(crate) fn iter_slots(&self) -> impl Iterator<Item = (u32, &E)> {
        let n = self.published.load(Ordering::Acquire).min(self.order.len());
        self.order[..n].iter().filter_map(|o| {
            let pos = o.load(Ordering::Acquire).checked_sub(1)?;
            Some((pos, self.get(pos)?))
        })
    }

    /// Published entries in insertion order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &E> {
        self.iter_slots().map(|(_, e)| e)
    }

    /// How many entries the table holds.
    pub(crate) fn len(&self) -> usize {
        self.published.load(Ordering::Acquire)
    }

    /// The most entries the table accepts.
    pub(crate) fn bound(&self) -> usize {
        self.bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn finds_inserts_and_refuses_past_the_bound() {
        let t: SlotTable<(u32, &str)> = SlotTable::new(3);
        for (i, k) in ["a", "b", "c"].iter().enumerate() {
            let (_, e) = t
                .get_or_insert(t.hash(k), |e| e.1 == *k, || Some((i as u32, *k)))
                .unwrap();
            assert_eq!(e.0, i as u32);
        }
        assert!(
            t.get_or_insert(t.hash("d"), |e| e.1 == "d", || Some((9, "d")))
                .is_none()
        );
        let (idx, e) = t
            .get_or_insert(t.hash("b"), |e| e.1 == "b", || Some((9, "b")))
            .unwrap();
        assert_eq!(e.0, 1);
        assert_eq!(t.get(idx).unwrap().1, "b");
        let order: Vec<&str> = t.iter().map(|e| e.1).collect();
        assert_eq!(order, ["a", "b", "c"]);
    }

    #[test]
    fn a_refused_key_takes_no_place() {
        let t: SlotTable<&str> = SlotTable::new(1);
        assert!(
            t.get_or_insert(t.hash("long"), |e| *e == "long", || None)
                .is_none()
        );
        assert_eq!(t.len(), 0);
        assert!(
            t.get_or_insert(t.hash("a"), |e| *e == "a", || Some("a"))
                .is_some()
        );
    }

    #[test]
    fn colliding_hashes_still_resolve() {
        let t: SlotTable<u64> = SlotTable::new(8);
        for k in 0..8u64 {
            t.get_or_insert(42, |e| *e == k, || Some(k)).unwrap();
        }
        for k in 0..8u64 {
            assert_eq!(*t.get_or_insert(42, |e| *e == k, || Some(99)).unwrap().1, k);
        }
    }

    /// Keys whose hash lands on the last slot take it, then wrap to the first slots in
    /// order: the probe steps forward by one and wraps, and a lookup walks the same run.
    #[test]
    fn colliding_hashes_at_the_last_slot_wrap_to_the_first() {
        let t: SlotTable<u64> = SlotTable::new(4);
        let last = t.slots.len() as u32 - 1;
        let slots: Vec<u32> = (0..4u64)
            .map(|k| {
                t.get_or_insert(u64::MAX, |e| *e == k, || Some(k))
                    .unwrap()
                    .0
            })
            .collect();
        assert_eq!(slots, [last, 0, 1, 2]);
        for k in 0..4u64 {
            let (slot, e) = t.get_or_insert(u64::MAX, |e| *e == k, || None).unwrap();
            assert_eq!((slot, *e), (slots[k as usize], k));
        }
    }

    #[test]
    fn concurrent_inserts_of_the_same_keys_make_one_entry_each() {
        let t: Arc<SlotTable<u64>> = Arc::new(SlotTable::new(64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let t = Arc::clone(&t);
                std::thread::spawn(move || {
                    for k in 0..100u64 {
                        let _ = t.get_or_insert(t.hash(&k), |e| *e == k, || Some(k));
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        assert_eq!(t.len(), 64);
        let mut keys: Vec<u64> = t.iter().copied().collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 64, "no key published twice");
    }

    /// Threads racing to insert distinct keys of one hash lose compare-and-swaps to each
    /// other on the same slot; the loser must probe on from there, so that every key ends up
    /// in the run a lookup from that hash walks, exactly once. Each insert yields before it
    /// claims its slot, and the whole is repeated, so that the race (the only way into the
    /// retry path) surely happens.
    #[test]
    fn racing_inserts_of_colliding_keys_stay_findable() {
        const THREADS: u64 = 8;
        const PER_THREAD: u64 = 16;
        for _ in 0..20 {
            let t: Arc<SlotTable<u64>> = Arc::new(SlotTable::new(256));
            let start = Arc::new(std::sync::Barrier::new(THREADS as usize));
            let threads: Vec<_> = (0..THREADS)
                .map(|th| {
                    let t = Arc::clone(&t);
                    let start = Arc::clone(&start);
                    std::thread::spawn(move || {
                        start.wait();
                        for k in th * PER_THREAD..(th + 1) * PER_THREAD {
                            // Yielding between finding the free slot and claiming it
                            // lets the other threads find the same one.
                            let make = || {
                                std::thread::yield_now();
                                Some(k)
                            };
                            t.get_or_insert(7, |e| *e == k, make).unwrap();
                        }
                    })
                })
                .collect();
            for th in threads {
                th.join().unwrap();
            }
            assert_eq!(t.len() as u64, THREADS * PER_THREAD);
            for k in 0..THREADS * PER_THREAD {
                let found = t.get_or_insert(7, |e| *e == k, || None).map(|(_, e)| *e);
                assert_eq!(found, Some(k), "key {k} not where a lookup finds it");
            }
        }
    }
}
