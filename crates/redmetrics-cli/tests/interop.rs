//! The demo's facade metric: `reviewmaps_demo_cache_lookups_total`, recorded with the real
//! `metrics` macros inside the binary, served on the same endpoint as the RED families.
#![allow(clippy::unwrap_used)]

mod common;

use common::{http_get, start_demo};

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
