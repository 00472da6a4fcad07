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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::Status;

    fn first(text: &str) -> Exposition {
        parse_text(text.as_bytes()).expect("parses")
    }

    fn second(text: &str) -> Fetched {
        Fetched {
            status: 200,
            content_type: "text/plain; version=0.0.4".to_owned(),
            body: text.to_owned().into(),
        }
    }

    fn messages(c: &Check) -> Vec<String> {
        c.findings.iter().map(|f| f.message.clone()).collect()
    }

    /// A counter that stays or grows passes; one that shrinks fails. The summary counts the
    /// cumulative series present in both scrapes (here a counter, a bucket and a count; the
    /// gauge, the sum and the series the second scrape lacks are not compared).
    #[test]
    fn counters_may_stay_or_grow_and_only_the_shared_ones_are_counted() {
        let before = "# TYPE a_total counter\na_total 5\n\
                      # TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n\
                      # TYPE g gauge\ng 3\n# TYPE gone_total counter\ngone_total 1\n";
        let same = "# TYPE a_total counter\na_total 5\n\
                    # TYPE h histogram\nh_bucket{le=\"+Inf\"} 3\nh_sum 0.5\nh_count 3\n\
                    # TYPE g gauge\ng 1\n";
        let c = monotonic_check(&first(before), &second(same), None);
        assert_eq!(c.name, "counters");
        assert_eq!(c.status, Status::Pass, "{:?}", messages(&c));
        assert_eq!(
            c.summary,
            "3 cumulative series compared across two scrapes 1s apart"
        );

        let shrunk = same.replace("a_total 5", "a_total 4");
        let c = monotonic_check(&first(before), &second(&shrunk), None);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(
            messages(&c),
            ["a_total{} went from 5 to 4 between two scrapes 1s apart"]
        );
    }

    /// The in-flight gauge of the contract may be zero or positive, never negative.
    #[test]
    fn the_in_flight_gauge_may_be_zero_and_never_negative() {
        let contract = Contract::new("shop").expect("a valid prefix");
        let text = |v: &str| {
            format!("# TYPE shop_http_active_connections gauge\nshop_http_active_connections {v}\n")
        };
        for v in ["0", "2"] {
            let c = monotonic_check(&first(&text("0")), &second(&text(v)), Some(&contract));
            assert_eq!(c.status, Status::Pass, "{v}: {:?}", messages(&c));
        }
        let c = monotonic_check(&first(&text("0")), &second(&text("-1")), Some(&contract));
        assert_eq!(c.status, Status::Fail);
        assert_eq!(messages(&c), ["shop_http_active_connections is -1"]);
    }

    /// A second scrape that does not parse fails the check.
    #[test]
    fn a_second_scrape_that_does_not_parse_fails() {
        let c = monotonic_check(&first("a 1\n"), &second("a{ 1\n"), None);
        assert_eq!(c.status, Status::Fail);
        assert_eq!(c.summary, "second scrape failed");
        assert_eq!(messages(&c), ["the second scrape does not parse"]);
    }
}
