//! The demo's facade metrics: `reviewmaps_demo_cache_lookups_total` and the dotted
//! `reviewmaps_demo.cache.entries`, recorded with the real `metrics` macros inside the
//! binary, served on the same endpoint as the RED families, in both name forms.
#![allow(clippy::unwrap_used)]

mod common;

use common::{http_get, http_get_with, start_demo};

/// The value of the sample line `series` (name and labels as written), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_counts_cache_lookups_through_the_facade() {
    let (_demo, addr) = start_demo(&[]);
    for id in ["7", "7", "77", "nope"] {
        // `nope` is a 404, which `http_get` reports as an error; it still looked the cache up.
        let _ = http_get(&format!("http://{addr}/v1/campaigns/{id}")).await;
    }
    let body = http_get(&format!("http://{addr}/metrics")).await.unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let name = "reviewmaps_demo_cache_lookups_total";
    assert!(
        text.contains(&format!(
            "# HELP {name} Campaign cache lookups in the demo, by result (hit or miss).\n# TYPE {name} counter\n"
        )),
        "{text}"
    );
    assert_eq!(
        sample(&text, &format!("{name}{{result=\"hit\"}}")),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, &format!("{name}{{result=\"miss\"}}")),
        Some(2.0)
    );
}

/// The dotted facade name in both forms: quoted for Prometheus 3's default Accept header
/// (v3.4+ scrape/scrape.go `acceptHeader`), underscored for Prometheus 2.42's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_its_dotted_name_quoted_and_underscored() {
    let (_demo, addr) = start_demo(&[]);
    let url = format!("http://{addr}/metrics");
    let p3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    let utf8 = http_get_with(&url, &[("accept", p3)]).await.unwrap();
    let utf8 = String::from_utf8(utf8.to_vec()).unwrap();
    assert!(
        utf8.contains("# TYPE \"reviewmaps_demo.cache.entries\" gauge\n")
            && utf8.contains("\n{\"reviewmaps_demo.cache.entries\"} 50\n"),
        "{utf8}"
    );
    let p2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let legacy = http_get_with(&url, &[("accept", p2)]).await.unwrap();
    let legacy = String::from_utf8(legacy.to_vec()).unwrap();
    assert!(
        legacy.contains("\nreviewmaps_demo_cache_entries 50\n")
            && !legacy.contains("{\"reviewmaps_demo.cache.entries\""),
        "{legacy}"
    );
}
