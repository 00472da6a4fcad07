//! Sample name suffixes, each written once here; [`MetricType::sample_suffixes`] says which
//! type uses which, and the encoders and parsers spell a suffix only through these.
//!
//! [`MetricType::sample_suffixes`]: crate::MetricType::sample_suffixes

/// A counter's samples.
pub const TOTAL: &str = "_total";
/// When a counter, histogram or summary series was created (OpenMetrics).
pub const CREATED: &str = "_created";
/// A histogram's cumulative buckets.
pub const BUCKET: &str = "_bucket";
/// A histogram's or summary's sum of observations.
pub const SUM: &str = "_sum";
/// A histogram's or summary's count of observations.
pub const COUNT: &str = "_count";
/// A gauge histogram's current sum.
pub const GSUM: &str = "_gsum";
/// A gauge histogram's current count.
pub const GCOUNT: &str = "_gcount";
/// An info family's sample.
pub const INFO: &str = "_info";
