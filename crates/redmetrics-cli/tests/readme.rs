//! The documented `redmetrics` commands (README.md and docs/*.md), run as written at the
//! repository root with the real binary, and the documentation's own consistency: every
//! command shown is one a test runs, every relative link resolves. Only the peers' addresses
//! change: `localhost:3000` becomes a demo on an ephemeral port, `localhost:9090` a real
//! Prometheus on loopback, and `helm template … charts/ojeomneo` (the team's chart, not in this
//! repository) the generated chart rendered with Helm's Go SDK for Ojeomneo.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::Output;
use std::time::Duration;

use common::{
    code_blocks, code_spans, doc, docs, found_in, helm_template, http_get, redmetrics_with_input,
    repo, start_demo_in, start_prometheus,
};

/// Every inline code span of the documentation file `path` that holds a
/// `redmetrics <subcommand> …` command with arguments, from `redmetrics` on (`\|` unescaped);
/// none is a failure.
fn doc_commands(path: &str, subcommand: &str) -> Vec<String> {
    let marker = format!("redmetrics {subcommand} ");
    let found = code_spans(path)
        .iter()
        .filter_map(|span| span.find(&marker).map(|i| span[i..].replace("\\|", "|")))
        .collect();
    found_in(path, &format!("`{marker}…` command"), found)
}

/// Runs a README command line (`redmetrics …`, optionally fed by `stdin`) at the repository
/// root, with `replace` applied to its words.
fn run(command: &str, replace: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut words = command.split_whitespace();
    assert_eq!(words.next(), Some("redmetrics"));
    let args: Vec<String> = words
        .map(|w| {
            replace
                .iter()
                .fold(w.to_owned(), |w, (from, to)| w.replace(from, to))
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    redmetrics_with_input(&repo(), &args, stdin)
}

fn report(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Starts a README `redmetrics demo …` command on an ephemeral port at the repository root
/// and sends it one request, so its families have series.
async fn demo(command: &str) -> (common::Running, SocketAddr) {
    let args: Vec<&str> = command
        .strip_prefix("redmetrics demo ")
        .unwrap()
        .split_whitespace()
        .collect();
    let (running, addr) = start_demo_in(&repo(), &args);
    http_get(&format!("http://{addr}/v1/campaigns"))
        .await
        .unwrap();
    (running, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_check_commands_run_as_written() {
    let checks = doc_commands("docs/check.md", "check");
    assert_eq!(
        checks,
        [
            "redmetrics check endpoint http://localhost:3000/metrics",
            "redmetrics check endpoint http://localhost:3000/ojeomneo/metrics --config redmetrics.toml --app ojeomneo",
            "redmetrics check manifests - --namespace ojeomneo --config redmetrics.toml --stack-release kube-prometheus-stack",
            "redmetrics check prometheus http://localhost:9090 --job ojeomneo-server",
            "redmetrics check endpoint http://localhost:3000/metrics --bearer-token s3cret",
            "redmetrics check manifests deploy/ --config redmetrics.toml",
            "redmetrics check alertmanager http://localhost:9093 --config redmetrics.toml --app reviewmaps",
        ],
        "the check commands of docs/check.md changed: run the new ones here too"
    );
    let demos = doc_commands("docs/demo.md", "demo");
    let ojeomneo_demo = "redmetrics demo --config redmetrics.toml --app ojeomneo";
    assert!(demos.iter().any(|d| d == ojeomneo_demo), "{demos:?}");

    // Phase 2 on the default demo, then on Ojeomneo's demo against its configured contract.
    let (_reviewmaps, reviewmaps) = demo("redmetrics demo --traffic").await;
    let at = reviewmaps.to_string();
    let out = run(&checks[0], &[("localhost:3000", &at)], None);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    let (_ojeomneo, ojeomneo) = demo(ojeomneo_demo).await;
    let at = ojeomneo.to_string();
    let out = run(&checks[1], &[("localhost:3000", &at)], None);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    assert!(
        report(&out)
            .contains("PASS  contract: prefix ojeomneo (configured): the contract of app ojeomneo"),
        "{}",
        report(&out)
    );

    // Before merging: the rendered chart, piped in.
    let values = r#"{"fullnameOverride":"ojeomneo-server","service":{"portName":"fiber"},"metrics":{"prefix":"ojeomneo","path":"/ojeomneo/metrics","serviceMonitor":{"enabled":true},"prometheusRule":{"enabled":true},"dashboard":{"enabled":true}}}"#;
    let chart = repo().join("deploy/helm/redmetrics-service");
    let stream = helm_template(&chart, "ojeomneo", "ojeomneo", values);
    let out = run(&checks[2], &[], Some(&stream));
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));

    // After the sync: Prometheus scrapes Ojeomneo's demo as job ojeomneo-server.
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n\
         - job_name: ojeomneo-server\n  metrics_path: /ojeomneo/metrics\n  static_configs: [{{targets: ['{ojeomneo}']}}]\n"
    );
    let prom = start_prometheus(&config, &[]);
    prom.wait_for_targets("ojeomneo-server", 1, "up", Duration::from_secs(30))
        .await;
    prom.wait_for_series(
        "ojeomneo_http_requests_total{job=\"ojeomneo-server\"}",
        Duration::from_secs(30),
    )
    .await;
    let at = prom.addr.to_string();
    let out = run(&checks[3], &[("localhost:9090", &at)], None);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));

    // Phase 2 on a protected demo: 401 without the token, every check passes with it.
    let protected_demo = "redmetrics demo --metrics-token s3cret";
    assert!(demos.iter().any(|d| d == protected_demo), "{demos:?}");
    let (_protected, protected) = demo(protected_demo).await;
    let at = protected.to_string();
    let out = run(&checks[0], &[("localhost:3000", &at)], None);
    assert_eq!(out.status.code(), Some(1), "{}", report(&out));
    assert!(report(&out).contains("(401)"), "{}", report(&out));
    let out = run(&checks[4], &[("localhost:3000", &at)], None);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));

    // Phase 3 on the committed artifacts (the chart in deploy/helm is rendered when `helm`
    // is on PATH; tests/check_limits.rs runs it both ways).
    let out = run(&checks[5], &[], None);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));

    // Alerts reach people: an Alertmanager running the committed generated routing.
    let routing =
        std::fs::read_to_string(repo().join("deploy/reviewmaps/alertmanager.yaml")).unwrap();
    let am = common::start_alertmanager(&routing);
    let at = am.addr.to_string();
    let out = run(&checks[6], &[("localhost:9093", &at)], None);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
}

/// The one `toml` block of a documentation file that starts with `first`.
fn toml_block(path: &str, first: &str) -> String {
    let blocks: Vec<String> = code_blocks(path, "toml")
        .into_iter()
        .filter(|b| b.starts_with(first))
        .collect();
    let mut blocks = found_in(path, &format!("`toml` block starting {first}"), blocks);
    assert_eq!(blocks.len(), 1, "{path}: {blocks:?}");
    blocks.remove(0)
}

#[test]
fn the_documented_config_examples_are_a_valid_config() {
    let example = toml_block("docs/config.md", "[stack]");
    assert!(example.contains("[apps.metrics]"), "{example}");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("redmetrics.toml"), &example).unwrap();
    let out = common::redmetrics(tmp.path(), &["generate"]);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    assert!(tmp.path().join("deploy/ojeomneo/dashboard.json").is_file());
    // The [apps.slo] example of docs/slo.md, for the same app: its rules, tests and SLO dashboard.
    let slo = toml_block("docs/slo.md", "[apps.slo]");
    let example = format!("{example}{slo}");
    std::fs::write(tmp.path().join("redmetrics.toml"), &example).unwrap();
    let out = common::redmetrics(tmp.path(), &["generate"]);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    for file in ["rules.test.yaml", "slo-dashboard.json", "global-view.yaml"] {
        assert!(
            tmp.path().join("deploy/ojeomneo").join(file).is_file(),
            "{file}"
        );
    }
    // The [notify] example of docs/routing.md, for the same app.
    let notify = toml_block("docs/routing.md", "[notify]");
    std::fs::write(
        tmp.path().join("redmetrics.toml"),
        format!("{example}{notify}"),
    )
    .unwrap();
    let out = common::redmetrics(tmp.path(), &["generate"]);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    assert!(
        tmp.path()
            .join("deploy/ojeomneo/alertmanagerconfig.yaml")
            .is_file()
    );
}

/// The README's first step for a service of one's own, as written, in an empty directory:
/// `init` writes a config that `generate` turns into the app's files.
#[test]
fn the_readme_init_command_starts_a_service_of_ones_own() {
    let inits = doc_commands("README.md", "init");
    assert_eq!(
        inits,
        ["redmetrics init --name shop --namespace shop --service shop-api --port http"],
        "the README's init commands changed: run the new ones here too"
    );
    let tmp = tempfile::tempdir().unwrap();
    let args: Vec<&str> = inits[0].split_whitespace().skip(1).collect();
    let out = common::redmetrics(tmp.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    let out = common::redmetrics(tmp.path(), &["generate"]);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    for file in ["servicemonitor.yaml", "rules.yaml", "alertmanager.yaml"] {
        assert!(
            tmp.path().join("deploy/shop").join(file).is_file(),
            "{file}"
        );
    }
}

/// The programs whose command lines the documentation shows.
const PROGRAMS: [&str; 9] = [
    "redmetrics",
    "cargo",
    "curl",
    "amtool",
    "promtool",
    "helm",
    "kubectl",
    "apt-get",
    "scripts/test",
];

/// The command lines of one documentation file: each line of its `sh` blocks (continuation
/// lines joined, comments cut), and each inline span that starts with one of [`PROGRAMS`] and
/// has two words after it at least, with no `<placeholder>` (a bare `redmetrics check` or
/// `helm test <release>` names a command, it shows none to run).
fn command_lines(path: &str) -> Vec<String> {
    let mut out: Vec<String> = code_blocks(path, "sh")
        .iter()
        .flat_map(|b| {
            b.replace("\\\n", " ")
                .lines()
                .map(|l| {
                    l.split(" #")
                        .next()
                        .unwrap()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
        })
        .collect();
    out.extend(
        code_spans(path)
            .into_iter()
            .map(|s| s.replace("\\|", "|"))
            .filter(|s| {
                let words: Vec<&str> = s.split_whitespace().collect();
                words.len() >= 3 && PROGRAMS.contains(&words[0]) && !s.contains('<')
            }),
    );
    out
}

/// Every command line the documentation shows, by file, with the test that runs it as
/// written (or, for cluster steps, renders and judges it). A command added to a page fails
/// here until it is listed with its test; a page listed here that shows none fails too.
const DOCUMENTED: &[(&str, &[&str])] = &[
    (
        "README.md",
        &[
            "cargo run -p redmetrics-cli -- demo --traffic", // scripts/test's demo smoke; readme.rs runs `redmetrics demo --traffic`
            "scripts/test",                                  // what CI runs
            "cargo install --locked --path crates/redmetrics-cli", // packaging.rs
            "cargo run -p redmetrics --example plain_tower", // redmetrics/tests/readme_examples.rs
            "cargo run -p redmetrics --example axum_app",    // readme_examples.rs
            "cargo run -p redmetrics --features server --example separate_listener", // readme_examples.rs
            "redmetrics demo --traffic",                                             // readme.rs
            "redmetrics man check",                                                  // hardening.rs
            "redmetrics init --name shop --namespace shop --service shop-api --port http", // readme.rs
        ],
    ),
    (
        "docs/chart.md",
        &[
            // stack_wiring.rs: the chart alone, rendered with Helm's SDK and checked
            "helm template ojeomneo deploy/helm/redmetrics-service -n ojeomneo --set fullnameOverride=ojeomneo-server --set nameOverride=ojeomneo-server --set service.portName=fiber --set metrics.prefix=ojeomneo --set metrics.path=/ojeomneo/metrics --set metrics.serviceMonitor.enabled=true --set metrics.prometheusRule.enabled=true",
        ],
    ),
    (
        "docs/check.md",
        &[
            // readme.rs, every one
            "redmetrics check endpoint http://localhost:3000/metrics",
            "redmetrics check endpoint http://localhost:3000/ojeomneo/metrics --config redmetrics.toml --app ojeomneo",
            "helm template ojeomneo charts/ojeomneo -n ojeomneo | redmetrics check manifests - --namespace ojeomneo --config redmetrics.toml --stack-release kube-prometheus-stack",
            "redmetrics check prometheus http://localhost:9090 --job ojeomneo-server",
            "redmetrics demo --metrics-token s3cret",
            "redmetrics check endpoint http://localhost:3000/metrics --bearer-token s3cret",
            "redmetrics check manifests deploy/ --config redmetrics.toml",
            "redmetrics check alertmanager http://localhost:9093 --config redmetrics.toml --app reviewmaps",
        ],
    ),
    (
        "docs/demo.md",
        &[
            // prometheus_e2e.rs: the alerting steps as written
            "redmetrics demo --with-prometheus --fail-every 1 --traffic",
            "curl -s http://127.0.0.1:3000/notifications",
            "redmetrics check alertmanager http://127.0.0.1:9093 --config redmetrics.toml --app reviewmaps",
            "redmetrics demo --prefix ojeomneo --metrics-path /ojeomneo/metrics", // prometheus_e2e.rs
            "redmetrics demo --config redmetrics.toml --app ojeomneo",            // readme.rs
            "redmetrics demo --metrics-token s3cret",                             // readme.rs
            "redmetrics demo --traffic",                                          // readme.rs
            "redmetrics demo --traffic",
            "apt-get install prometheus",              // scripts/test
            "redmetrics demo --with-prometheus",       // prometheus_e2e.rs
            "apt-get install prometheus-alertmanager", // scripts/test
        ],
    ),
    ("docs/exposition.md", &["redmetrics demo --traffic"]), // readme.rs
    ("docs/generate.md", &["redmetrics generate --check"]), // operations.rs
    (
        "docs/library.md",
        &[
            // exemplars_e2e.rs: the exemplar steps as written
            "redmetrics demo",
            "curl -s -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' http://127.0.0.1:3000/v1/campaigns",
            "curl -s -H 'Accept: application/openmetrics-text; version=1.0.0' http://127.0.0.1:3000/metrics | grep trace_id",
            "redmetrics demo --otlp-endpoint http://127.0.0.1:4318 --otlp-interval 1s", // otlp.rs
            "promtool check metrics", // the endpoint's tests pipe each exposition into it
        ],
    ),
    (
        "docs/operations.md",
        &[
            // stack_wiring.rs: rendered, judged and ordered against kube-prometheus-stack 88.5.3
            "helm repo add prometheus-community https://prometheus-community.github.io/helm-charts",
            "helm upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack --version 88.5.3 -n monitoring --create-namespace -f deploy/kube-prometheus-stack-values.yaml",
            "kubectl create namespace reviewmaps",
            "kubectl create secret generic alertmanager-receivers -n reviewmaps --from-literal=slack-api-url=https://hooks.slack.com/services/T0/B0/change-me --from-literal=smtp-password=change-me --from-literal=pagerduty-routing-key=change-me",
            "helm upgrade --install reviewmaps deploy/helm/redmetrics-service -n reviewmaps --set fullnameOverride=reviewmaps-server --set nameOverride=reviewmaps-server",
            "kubectl apply -n reviewmaps -f deploy/reviewmaps/servicemonitor.yaml -f deploy/reviewmaps/prometheusrule.yaml -f deploy/reviewmaps/dashboard-configmap.yaml -f deploy/reviewmaps/alertmanagerconfig.yaml",
            "kubectl create namespace ojeomneo",
            "kubectl create secret generic alertmanager-receivers -n ojeomneo --from-literal=slack-api-url=https://hooks.slack.com/services/T0/B0/change-me --from-literal=smtp-password=change-me --from-literal=pagerduty-routing-key=change-me",
            "helm upgrade --install ojeomneo deploy/helm/redmetrics-service -n ojeomneo --set fullnameOverride=ojeomneo-server --set nameOverride=ojeomneo-server --set image.repository=ghcr.io/example/ojeomneo-server --set service.portName=fiber --set metrics.prefix=ojeomneo --set metrics.path=/ojeomneo/metrics",
            "kubectl apply -n ojeomneo -f deploy/ojeomneo/servicemonitor.yaml -f deploy/ojeomneo/prometheusrule.yaml -f deploy/ojeomneo/dashboard-configmap.yaml -f deploy/ojeomneo/alertmanagerconfig.yaml",
            "cargo build --release --locked -p redmetrics-cli", // packaging.rs reads it in both Dockerfiles
        ],
    ),
    (
        "docs/routing.md",
        &[
            // alert_routing.rs, every one
            "amtool check-config deploy/reviewmaps/alertmanager.yaml",
            "amtool config routes test --config.file=deploy/reviewmaps/alertmanager.yaml alertname=RedmetricsTargetDown severity=critical namespace=reviewmaps job=reviewmaps-server",
            "amtool config routes test --config.file=deploy/alertmanager.yaml alertname=RedmetricsErrorBudgetBurn severity=critical slo=latency long_window=1h namespace=ojeomneo job=ojeomneo-server",
        ],
    ),
    ("docs/runbooks.md", &["redmetrics check prometheus"]), // check.rs
    (
        "docs/slo.md",
        &["promtool test rules deploy/reviewmaps/rules.test.yaml"],
    ), // operations.rs
];

#[test]
fn every_documented_command_is_one_a_test_runs() {
    let pages: Vec<String> = docs().into_iter().map(|(p, _)| p).collect();
    for (page, listed) in DOCUMENTED {
        assert!(pages.iter().any(|p| p == page), "{page} is gone: {pages:?}");
        let mut shown = found_in(page, "command line", command_lines(page));
        let mut listed = listed.to_vec();
        shown.sort_unstable();
        listed.sort_unstable();
        assert_eq!(
            shown, listed,
            "{page}: its commands changed: run the new ones in a test and list them here"
        );
    }
    for page in &pages {
        if !DOCUMENTED.iter().any(|(p, _)| p == page) {
            assert_eq!(
                command_lines(page),
                Vec::<String>::new(),
                "{page} shows commands no test is listed for"
            );
        }
    }
}

/// GitHub's anchor for a heading: lowercase, punctuation other than `-` and `_` dropped,
/// spaces made `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown file's headings (outside code blocks).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

#[test]
fn every_relative_link_of_the_docs_resolves() {
    let mut checked = 0;
    for (page, text) in docs() {
        let dir = repo().join(&page).parent().unwrap().to_path_buf();
        for target in text.split("](").skip(1) {
            let target = &target[..target.find(')').unwrap()];
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
            let file = if file.is_empty() {
                repo().join(&page)
            } else {
                dir.join(file)
            };
            assert!(
                file.exists(),
                "{page}: link {target}: no {}",
                file.display()
            );
            if !fragment.is_empty() {
                let found = anchors(&std::fs::read_to_string(&file).unwrap());
                assert!(
                    found.contains(fragment),
                    "{page}: link {target}: no heading #{fragment} in {}: {found:?}",
                    file.display()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked > 20,
        "only {checked} links found: the link reader is broken"
    );
}

/// The README opens with the two set-up commands, and keeps build logs and the reference out.
#[test]
fn the_readme_is_short_and_opens_with_the_two_commands() {
    let readme = doc("README.md");
    let first = &code_blocks("README.md", "sh")[0];
    let commands: Vec<&str> = first
        .lines()
        .map(|l| l.split(" #").next().unwrap().trim())
        .collect();
    assert_eq!(
        commands,
        [
            "cargo run -p redmetrics-cli -- demo --traffic",
            "scripts/test"
        ]
    );
    assert!(
        readme.lines().count() < 150,
        "the reference belongs in docs/"
    );
    assert!(
        !readme.contains("--timings"),
        "build logs belong in BENCHMARKS.md"
    );
}

/// TESTING.md's mutation table is the one `scripts/mutants --summary` prints from the
/// committed results under `mutants/`, as on a clean clone: a figure edited by hand, or a
/// run whose results were not committed, fails. Runs no mutant.
#[test]
fn the_recorded_mutation_table_is_the_scripts() {
    let marker = "<!-- scripts/mutants --summary -->\n```\n";
    let text = doc("TESTING.md");
    let tables: Vec<&str> = text
        .split(marker)
        .skip(1)
        .map(|b| &b[..b.find("```").unwrap_or(b.len())])
        .collect();
    let [recorded] = found_in("TESTING.md", "mutation table", tables)[..] else {
        panic!("TESTING.md: more than one block marked {marker:?}");
    };
    let out = std::process::Command::new("bash")
        .args(["scripts/mutants", "--summary"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", report(&out));
    assert_eq!(
        recorded,
        String::from_utf8_lossy(&out.stdout),
        "TESTING.md's mutation table is not what `scripts/mutants --summary` prints"
    );
}
