//! `generate` on hostile configs and hostile output trees, through the real binary: user text
//! survives literally (proved by `promtool check rules` and `promtool test rules`), values
//! Prometheus cannot hold are refused with exit 2 and nothing written, and no symbolic link
//! below `--out` is ever written through.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::redmetrics;

/// One app; `extra` lines go into its `[[apps]]` table, `stack` into `[stack]`.
fn config(extra: &str, stack: &str) -> String {
    format!(
        "[stack]\n{stack}\n[[apps]]\nname = \"a\"\nnamespace = \"a\"\nservice = \"a\"\nport = \"http\"\n{extra}\n"
    )
}

fn generate(dir: &Path, config_text: &str) -> Output {
    std::fs::write(dir.join("redmetrics.toml"), config_text).unwrap();
    redmetrics(dir, &["generate", "--out", "out"])
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn promtool(dir: &Path, args: &[&str]) -> Output {
    Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn template_braces_in_title_and_path_print_literally() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let title = r#"Shop {{ .Evil }} "x" }}{"#;
    let path = "/m{{x}}";
    let o = generate(
        dir,
        &config(&format!("title = '{title}'\nmetrics_path = '{path}'\n"), ""),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let check = promtool(dir, &["check", "rules", "out/a/rules.yaml"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    // The expected text is written here by hand, not taken from the generator.
    let test = format!(
        r#"rule_files: [out/a/rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{{namespace="a",job="a",instance="pod:80"}}'
        values: '0x10'
    alert_rule_test:
      - eval_time: 5m
        alertname: RedmetricsTargetDown
        exp_alerts:
          - exp_labels: {{namespace: a, job: a, instance: "pod:80", severity: critical, reason: down}}
            exp_annotations:
              summary: "a target pod:80 is down"
              description: {description:?}
"#,
        description = format!(
            "Prometheus could not scrape pod:80 of {title} for 2m: check the pod, then the ServiceMonitor's port name and path ({path})."
        )
    );
    std::fs::write(dir.join("literal.test.yaml"), test).unwrap();
    let run = promtool(dir, &["test", "rules", "literal.test.yaml"]);
    assert!(
        run.status.success(),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let board: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/a/dashboard.json")).unwrap())
            .unwrap();
    assert_eq!(board["title"], format!("{title} · HTTP"));
    let monitor = std::fs::read_to_string(dir.join("out/a/servicemonitor.yaml")).unwrap();
    let monitor: serde_json::Value = serde_saphyr::from_str(&monitor).unwrap();
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], path);
}

/// Refused with exit 2, the field and the fix named, and nothing written.
fn refused(config_text: &str, field: &str, fix: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let o = generate(tmp.path(), config_text);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains(field) && e.contains(fix), "{e}");
    assert!(!tmp.path().join("out").exists(), "something was written");
}

#[test]
fn durations_prometheus_cannot_hold_are_refused() {
    refused(
        // Type errors name the line of the key (line 8: `interval`) and the value.
        &config("interval = \"10000y\"\n", ""),
        "line 8: `10000y`",
        "longer than Prometheus can hold",
    );
    refused(
        &config("[apps.alerts]\nerror_for = \"293y\"\n", ""),
        "line 9: `293y`",
        "use a shorter duration",
    );
    // Each alone fits, but the default rate window (4 × interval) would not.
    refused(
        &config("interval = \"100000d\"\nscrape_timeout = \"10s\"\n", ""),
        "rate_window",
        "set a shorter interval or an explicit rate_window",
    );
}

#[test]
fn an_invalid_folder_annotation_is_refused() {
    for key in [
        "grafana folder",
        "-x",
        "UPPER.example.com/f",
        "a/b/c",
        "{{x}}",
    ] {
        refused(
            &config(
                "dashboard_folder = \"F\"\n",
                &format!("folder_annotation = \"{key}\""),
            ),
            "stack.folder_annotation",
            "not a Kubernetes annotation key",
        );
    }
}

#[cfg(unix)]
mod links {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A generated tree under `dir/out`, and a file outside it the links point at.
    fn tree(dir: &Path) -> std::path::PathBuf {
        let o = generate(dir, &config("", ""));
        assert!(o.status.success(), "{}", stderr(&o));
        let outside = dir.join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("keep.yaml"), "mine\n").unwrap();
        outside
    }

    fn rerun(dir: &Path) -> Output {
        redmetrics(dir, &["generate", "--out", "out"])
    }

    #[test]
    fn a_linked_file_is_refused_and_its_target_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let outside = tree(dir);
        let rules = dir.join("out/a/rules.yaml");
        std::fs::remove_file(&rules).unwrap();
        symlink(outside.join("keep.yaml"), &rules).unwrap();
        // An older, different dashboard: a refused run must leave it, not half-update.
        std::fs::write(dir.join("out/a/dashboard.json"), "old\n").unwrap();
        let o = rerun(dir);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(
            e.contains("symbolic link") && e.contains("remove the link"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(outside.join("keep.yaml")).unwrap(),
            "mine\n"
        );
        assert!(
            std::fs::symlink_metadata(&rules)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("out/a/dashboard.json")).unwrap(),
            "old\n"
        );
        let check = redmetrics(dir, &["generate", "--out", "out", "--check"]);
        assert_eq!(check.status.code(), Some(1), "a link is drift");
    }

    /// `path`'s permission bits in octal, as `stat -c %a` prints them.
    fn mode(path: &Path) -> String {
        use std::os::unix::fs::PermissionsExt;
        format!(
            "{:o}",
            std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
        )
    }

    /// Generated files start readable by everyone (`rw-r--r--`, not the temporary file's
    /// private mode), and a file regenerated keeps the mode its owner gave it.
    #[test]
    fn new_files_are_readable_and_replaced_files_keep_their_mode() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        tree(dir);
        let (rules, board) = (
            dir.join("out/a/rules.yaml"),
            dir.join("out/a/dashboard.json"),
        );
        assert_eq!(mode(&rules), "644", "a new file");
        for (file, m) in [(&rules, 0o640), (&board, 0o600)] {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(m)).unwrap();
            std::fs::write(file, "stale\n").unwrap();
        }
        let o = rerun(dir);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_ne!(std::fs::read_to_string(&rules).unwrap(), "stale\n");
        assert_eq!(mode(&rules), "640", "a replaced file keeps its mode");
        assert_eq!(mode(&board), "600", "a replaced file keeps its mode");
    }

    #[test]
    fn a_linked_directory_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let outside = tree(dir);
        std::fs::remove_dir_all(dir.join("out/a")).unwrap();
        symlink(&outside, dir.join("out/a")).unwrap();
        let o = rerun(dir);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let left: Vec<_> = std::fs::read_dir(&outside).unwrap().collect();
        assert_eq!(left.len(), 1, "only keep.yaml stays outside");
    }

    #[test]
    fn out_itself_may_be_a_link_and_files_are_replaced_atomically() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let real = dir.join("real");
        std::fs::create_dir(&real).unwrap();
        symlink(&real, dir.join("out")).unwrap();
        let o = generate(dir, &config("", ""));
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(real.join("a/rules.yaml").is_file());
        // Rewriting replaces files; no temporary file is left behind.
        std::fs::write(real.join("a/rules.yaml"), "stale\n").unwrap();
        assert!(rerun(dir).status.success());
        assert_ne!(
            std::fs::read_to_string(real.join("a/rules.yaml")).unwrap(),
            "stale\n"
        );
        let temps = std::fs::read_dir(real.join("a"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count();
        assert_eq!(temps, 0);
    }
}
