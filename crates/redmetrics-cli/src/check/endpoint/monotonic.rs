//! The counters check: counters and `_count`s that go backwards between two scrapes.

use std::collections::BTreeMap;

use redmetrics::contract::Contract;
use redmetrics_parse::{Exposition, parse_text};

use super::series;
use crate::check::fetch::Fetched;
use crate::check::report::Check;

pub(super) fn monotonic_check(
    first: &Exposition,
    second: &Fetched,
    contract: Option<&Contract>,
) -> Check {
    let mut c = Check::new("counters");
    let Ok(second) = parse_text(&second.body) else {
        c.fail(
            "the second scrape does not parse",
            "see the text exposition check",
        );
        return c.summary("second scrape failed");
    };
    let cumulative = |e: &Exposition| -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        for f in &e.families {
            for s in &f.samples {
                if f.is_monotonic(s) {
                    m.insert(series(s, &[]), s.value);
                }
            }
        }
        m
    };
    let (a, b) = (cumulative(first), cumulative(&second));
    let mut compared = 0;
    for (key, before) in &a {
        if let Some(after) = b.get(key) {
            compared += 1;
            if after < before {
                c.fail(
                    format!("{key} went from {before} to {after} between two scrapes 1s apart"),
                    "counters never decrease: was the process restarted, or are several pods behind this URL?",
                );
            }
        }
    }
    if let Some(contract) = contract {
        let gauge = contract.in_flight().desc().name();
        for s in second.family(gauge).into_iter().flat_map(|f| &f.samples) {
            if s.value < 0.0 {
                c.fail(
                    format!("{gauge} is {}", s.value),
                    "requests in flight cannot be negative: increments and decrements are unbalanced",
                );
            }
        }
    }
    let summary = format!("{compared} cumulative series compared across two scrapes 1s apart");
    c.summary(summary)
}
