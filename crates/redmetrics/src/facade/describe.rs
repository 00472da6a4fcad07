//! `describe_*` calls: kept by name as recorded, read when the registry is scraped, so a
//! description arriving before or after the first recording reaches HELP the same way.
//!
//! A unit of seconds or bytes whose name ends in `_seconds`/`_bytes` is the family's unit
//! (OpenMetrics writes `# UNIT`); any other unit is named at the end of HELP (`(unit: ms)`),
//! because renaming a series after it was first recorded would split it in two.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use metrics::Unit;

use crate::collect::{Desc, MetricType};

/// HELP text and unit by (type slot, name as recorded).
type ByName = HashMap<(u8, String), (String, Option<Unit>)>;

/// Descriptions by (kind, name as recorded).
#[derive(Debug, Default)]
pub(super) struct Descriptions(Mutex<ByName>);

/// A tag per facade type: summaries are facade histograms.
pub(super) fn slot(kind: MetricType) -> u8 {
    match kind {
        MetricType::Counter => 0,
        MetricType::Gauge => 1,
        _ => 2,
    }
}

impl Descriptions {
    /// Stores (or replaces) the description of `raw` of `kind`.
    pub(super) fn set(&self, kind: MetricType, raw: &str, unit: Option<Unit>, help: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((slot(kind), raw.to_owned()), (help.to_owned(), unit));
    }

    /// `desc` with the described HELP and unit of `raw`, if it was described.
    pub(super) fn desc(&self, desc: &Desc, raw: &str) -> Option<Desc> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (help, unit) = map.get(&(slot(desc.kind()), raw.to_owned()))?;
        let declared = desc.unit().map(|u| u.as_str());
        let help = match unit {
            Some(u) if Some(u.as_str()) != declared && *u != Unit::Count => {
                format!("{help} (unit: {})", u.as_canonical_label())
            }
            _ => help.clone(),
        };
        Desc::new(desc.name(), help, desc.kind())
            .ok()
            .map(Desc::with_inferred_unit)
    }
}
