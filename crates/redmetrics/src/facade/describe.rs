//! `describe_*` calls: kept by name as recorded, read when the registry is scraped, so a
//! description arriving before or after the first recording reaches HELP the same way.
//!
//! A unit of seconds or bytes whose name ends in `_seconds`/`_bytes` is the family's unit
//! (OpenMetrics writes `# UNIT`); any other unit is named at the end of HELP (`(unit: ms)`),
//! because renaming a series after it was first recorded would split it in two.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use metrics::Unit;

use super::MAX_FAMILIES;
use crate::collect::{Desc, MetricType};
use crate::name::MAX_NAME_LEN;

/// The longest HELP text kept from a `describe_*` call, in bytes; longer text is cut.
pub const MAX_HELP_LEN: usize = 1024;

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
    /// Stores (or replaces) the description of `raw` of `kind`. Bounded like the families:
    /// at most [`MAX_FAMILIES`] names, none longer than [`MAX_NAME_LEN`], HELP cut at
    /// [`MAX_HELP_LEN`] bytes; what does not fit is ignored (its family reads the default HELP).
    pub(super) fn set(&self, kind: MetricType, raw: &str, unit: Option<Unit>, help: &str) {
        if raw.len() > MAX_NAME_LEN {
            return;
        }
        let mut cut = help.len().min(MAX_HELP_LEN);
        while !help.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (slot(kind), raw.to_owned());
        if map.len() >= MAX_FAMILIES && !map.contains_key(&key) {
            return;
        }
        map.insert(key, (help[..cut].to_owned(), unit));
    }

    /// How many names are described.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
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
        Desc::utf8(desc.name(), help, desc.kind())
            .ok()
            .map(Desc::with_inferred_unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_like_the_families() {
        let d = Descriptions::default();
        for i in 0..MAX_FAMILIES + 500 {
            d.set(MetricType::Gauge, &format!("g{i}"), None, "Help.");
        }
        assert_eq!(d.len(), MAX_FAMILIES);
        d.set(MetricType::Gauge, "g0", None, "Replaced.");
        assert_eq!(d.len(), MAX_FAMILIES, "replacing stays within the bound");
        let long = "x".repeat(MAX_NAME_LEN + 1);
        let fresh = Descriptions::default();
        fresh.set(MetricType::Gauge, &long, None, "Help.");
        fresh.set(MetricType::Gauge, "h", None, &"é".repeat(MAX_HELP_LEN));
        assert_eq!(fresh.len(), 1);
        let desc = Desc::new("h", "x", MetricType::Gauge).unwrap();
        let help = fresh.desc(&desc, "h").unwrap().help().len();
        assert!(help <= MAX_HELP_LEN && help > MAX_HELP_LEN - 4, "{help}");
    }
}
