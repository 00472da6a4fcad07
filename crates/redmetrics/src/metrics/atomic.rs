//! An `f64` updated with atomic compare-and-swap.

use std::sync::atomic::{AtomicU64, Ordering};

/// An `f64` stored as its bits; `add` retries a compare-and-swap, lock-free.
#[derive(Debug, Default)]
pub(crate) struct AtomicF64(AtomicU64);

impl AtomicF64 {
    pub(crate) fn new(v: f64) -> Self {
        Self(AtomicU64::new(v.to_bits()))
    }

    pub(crate) fn add(&self, v: f64) {
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(cur) + v).to_bits();
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    pub(crate) fn load(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }

    pub(crate) fn store(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// `add` adds to the value held, also when threads race on the compare-and-swap (each
    /// loser retries from the value it lost to); `store` replaces it.
    #[test]
    fn adds_accumulate_and_store_replaces() {
        let a = AtomicF64::new(1.5);
        a.add(2.25);
        assert_eq!(a.load(), 3.75);
        a.store(-0.5);
        assert_eq!(a.load(), -0.5);
        let a = Arc::new(AtomicF64::default());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let a = Arc::clone(&a);
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        a.add(0.5);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(a.load(), 20_000.0, "every add counted once");
    }
}
