//! The vocabulary [redmetrics](https://docs.rs/redmetrics) and
//! [redmetrics-parse](https://docs.rs/redmetrics-parse) share, and nothing else: the metric
//! types of Prometheus and OpenMetrics with the sample suffixes each writes, and (feature
//! `protobuf`) the protobuf exposition's message types. No runtime, no HTTP, no I/O, so a
//! parser or a checker can speak it without pulling in a server.
//!
//! Both crates re-export what they use (`redmetrics::collect::MetricType`,
//! `redmetrics::proto`, `redmetrics_parse::{MetricType, proto}`); depend on this crate directly
//! only to share the types without either of them.
//!
//! ```
//! use redmetrics_core::{MetricType, suffix};
//!
//! assert_eq!(MetricType::Counter.sample_suffixes(), [suffix::TOTAL, suffix::CREATED]);
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod metric_type;
#[cfg(feature = "protobuf")]
#[cfg_attr(docsrs, doc(cfg(feature = "protobuf")))]
pub mod proto;
pub mod suffix;

pub use metric_type::MetricType;
