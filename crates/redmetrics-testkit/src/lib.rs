//! Helpers shared by redmetrics' integration tests and its benchmark harness (dev-only,
//! never published).
//!
//! [`WrapBodies`] is the floor any body-wrapping middleware pays under axum: the allocation
//! test and the per-request benchmark compare redmetrics against it.

mod wrap_bodies;

pub use wrap_bodies::{Pass, WrapBodies, Wrapped};
