//! Metric types: lock-free on the recording side, read only when Prometheus scrapes.
//!
//! One file per type, as in prometheus-client. Every recording operation is a handful of
//! relaxed atomic operations on memory allocated when the series was created: no lock, no
//! allocation. [`LabeledFamily`] adds labels with a bound on how many label sets it holds.

mod atomic;
pub(crate) mod bounded;
mod counter;
mod exemplar;
mod family;
mod gauge;
mod histogram;
mod native;
mod sketch;
mod slots;
mod summary;

pub use bounded::OVERFLOW;
pub use counter::Counter;
pub(crate) use exemplar::{BucketExemplars, CounterExemplar};
pub(crate) use family::Scratch;
pub use family::{FamilyMetric, LabeledFamily};
pub(crate) use gauge::StripedGauge;
pub use gauge::{Gauge, GaugeF64};
pub use histogram::{Buckets, BucketsError, Histogram};
pub(crate) use native::ZERO_THRESHOLD;
pub use native::{NativeError, NativeLayout};
pub use summary::{Objective, Summary, SummaryError, SummaryShape};

pub(crate) use atomic::AtomicF64;
