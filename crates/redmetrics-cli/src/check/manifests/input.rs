//! Reading manifests: files, folders, chart folders and standard input, into objects.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::check::CheckError;
use crate::check::limits::parse_json;

/// A Kubernetes object and where it came from.
#[derive(Debug, Clone)]
pub(super) struct Object {
    pub(super) value: Value,
    pub(super) namespace: String,
}

impl Object {
    pub(super) fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }
    pub(super) fn name(&self) -> &str {
        self.value["metadata"]["name"]
            .as_str()
            .unwrap_or("<unnamed>")
    }
    pub(super) fn id(&self) -> String {
        format!("{} {}/{}", self.kind(), self.namespace, self.name())
    }
    pub(super) fn labels(&self) -> BTreeMap<String, String> {
        string_map(&self.value["metadata"]["labels"])
    }
}

pub(super) fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Everything read from the given paths.
#[derive(Debug, Default)]
pub(super) struct Inputs {
    pub(super) objects: Vec<Object>,
    /// Dashboards given as plain JSON files.
    pub(super) dashboards: Vec<(String, Value)>,
    /// Helm template sources (`templates/*.yaml` of a chart directory), unrendered.
    pub(super) templates: Vec<(String, String)>,
    /// Charts that could not be rendered (no `helm` on PATH).
    pub(super) unrendered: Vec<Unrendered>,
    /// Bytes of input read so far, against [`MAX_INPUT_BYTES`].
    bytes_read: u64,
}

/// A chart folder left unrendered, and the command that would render it.
#[derive(Debug, Clone)]
pub(super) struct Unrendered {
    /// The chart folder.
    pub(super) dir: String,
    /// `helm template … | redmetrics check manifests -`.
    pub(super) command: String,
    /// Named on the command line (else found inside a folder).
    pub(super) named: bool,
}

pub(super) fn read_paths(paths: &[String], default_ns: &str) -> Result<Inputs, CheckError> {
    let mut inputs = Inputs::default();
    for p in paths {
        if p == "-" {
            let text = read_capped(std::io::stdin(), "standard input", &mut inputs)?;
            add_yaml(&mut inputs, "<stdin>", &text, default_ns)?;
            continue;
        }
        let path = PathBuf::from(p);
        if path.is_dir() {
            if is_chart(&path) {
                add_chart(&mut inputs, &path, default_ns, true)?;
            } else {
                let mut charts = Vec::new();
                for file in walk(&path, &mut charts)? {
                    add_file(&mut inputs, &file, default_ns)?;
                }
                for chart in charts {
                    add_chart(&mut inputs, &chart, default_ns, false)?;
                }
            }
        } else if path.is_file() {
            add_file(&mut inputs, &path, default_ns)?;
        } else {
            return Err(CheckError::Missing { path: p.clone() });
        }
    }
    Ok(inputs)
}

/// Most bytes all inputs of one run may hold together; each is refused past it before it is
/// read whole (a rendered chart of every manifest of a cluster stays far below).
pub(crate) const MAX_INPUT_BYTES: u64 = 64 << 20;

/// `source` read as UTF-8 text, charged to the run's [`MAX_INPUT_BYTES`].
fn read_capped(source: impl Read, what: &str, inputs: &mut Inputs) -> Result<String, CheckError> {
    let left = MAX_INPUT_BYTES - inputs.bytes_read;
    let mut text = String::new();
    source
        .take(left + 1)
        .read_to_string(&mut text)
        .map_err(|reason| CheckError::Read {
            what: what.to_owned(),
            reason,
        })?;
    if text.len() as u64 > left {
        return Err(CheckError::Read {
            what: what.to_owned(),
            reason: std::io::Error::other(format!(
                "the inputs hold more than {} MiB together (the checker's budget)",
                MAX_INPUT_BYTES >> 20
            )),
        });
    }
    inputs.bytes_read += text.len() as u64;
    Ok(text)
}

fn read(path: &Path, inputs: &mut Inputs) -> Result<String, CheckError> {
    let what = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|reason| CheckError::Read {
        what: what.clone(),
        reason,
    })?;
    read_capped(file, &what, inputs)
}

fn is_chart(dir: &Path) -> bool {
    dir.join("Chart.yaml").is_file()
}

/// A chart folder: its templates are linted as sources, and its objects come from
/// `helm template` when `helm` is on PATH (else it is listed as unrendered). Its `files/`
/// are inputs of the templates, never manifests of their own.
fn add_chart(
    inputs: &mut Inputs,
    dir: &Path,
    namespace: &str,
    named: bool,
) -> Result<(), CheckError> {
    for file in walk(&dir.join("templates"), &mut Vec::new())? {
        let text = read(&file, inputs)?;
        inputs.templates.push((file.display().to_string(), text));
    }
    let release = dir.file_name().map_or_else(
        || "release".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    match super::helm::find() {
        Some(helm) => {
            let rendered = super::helm::template(&helm, &release, dir, namespace)?;
            let what = format!("the output of helm template {release}");
            let rendered = read_capped(rendered.as_bytes(), &what, inputs)?;
            add_yaml(
                inputs,
                &format!("helm template {release} {}", dir.display()),
                &rendered,
                namespace,
            )
        }
        None => {
            inputs.unrendered.push(Unrendered {
                dir: dir.display().to_string(),
                command: format!(
                    "helm template {release} {} -n {namespace} | redmetrics check manifests - --namespace {namespace}",
                    dir.display()
                ),
                named,
            });
            Ok(())
        }
    }
}

/// The manifest files under `dir`, sorted; chart folders found inside go to `charts`.
fn walk(dir: &Path, charts: &mut Vec<PathBuf>) -> Result<Vec<PathBuf>, CheckError> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for e in entries {
        if e.is_dir() && is_chart(&e) {
            charts.push(e);
        } else if e.is_dir() {
            out.extend(walk(&e, charts)?);
        } else if e
            .extension()
            .is_some_and(|x| x == "yaml" || x == "yml" || x == "json" || x == "tpl")
        {
            out.push(e);
        }
    }
    Ok(out)
}

fn add_file(inputs: &mut Inputs, path: &Path, default_ns: &str) -> Result<(), CheckError> {
    let text = read(path, inputs)?;
    let source = path.display().to_string();
    if path.extension().is_some_and(|x| x == "json") {
        let v: Value = parse_json(text.as_bytes()).map_err(|e| CheckError::Json {
            origin: source.clone(),
            reason: e.to_string(),
        })?;
        if v.get("panels").is_some() {
            inputs.dashboards.push((source, v));
        } else {
            add_value(inputs, v, default_ns);
        }
        return Ok(());
    }
    let in_templates = path.components().any(|c| c.as_os_str() == "templates");
    if in_templates && text.contains("{{") {
        // An unrendered Helm template: lint it as a template, not as YAML.
        inputs.templates.push((source, text));
        return Ok(());
    }
    add_yaml(inputs, &source, &text, default_ns)
}

fn add_yaml(
    inputs: &mut Inputs,
    source: &str,
    text: &str,
    default_ns: &str,
) -> Result<(), CheckError> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| CheckError::Yaml {
        origin: source.to_owned(),
        reason: e.to_string(),
    })?;
    for doc in docs {
        add_value(inputs, doc, default_ns);
    }
    Ok(())
}

fn add_value(inputs: &mut Inputs, v: Value, default_ns: &str) {
    if v["kind"] == "List" {
        for item in v["items"].as_array().cloned().unwrap_or_default() {
            add_value(inputs, item, default_ns);
        }
        return;
    }
    if !v.is_object() || v["kind"].as_str().is_none() {
        return;
    }
    let namespace = v["metadata"]["namespace"]
        .as_str()
        .unwrap_or(default_ns)
        .to_owned();
    inputs.objects.push(Object {
        value: v,
        namespace,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs;

    fn object(value: Value, namespace: &str) -> Object {
        Object {
            value,
            namespace: namespace.to_owned(),
        }
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn names(inputs: &Inputs) -> Vec<String> {
        inputs.objects.iter().map(Object::id).collect()
    }

    #[test]
    fn an_object_reads_its_kind_name_id_and_labels() {
        let o = object(
            json!({"kind": "Service", "metadata": {"name": "api", "labels": {"app": "api", "tier": 2}}}),
            "shop",
        );
        assert_eq!(o.kind(), "Service");
        assert_eq!(o.name(), "api");
        assert_eq!(o.id(), "Service shop/api");
        let labels = o.labels();
        let labels: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(labels, [("app", "api"), ("tier", "2")]);

        let bare = object(json!({"metadata": {}}), "ns");
        assert_eq!(bare.kind(), "");
        assert_eq!(bare.name(), "<unnamed>");
        assert_eq!(bare.id(), " ns/<unnamed>");
        assert!(bare.labels().is_empty());
    }

    #[test]
    fn string_map_keeps_strings_and_writes_other_values_as_json() {
        let m = string_map(&json!({"a": "x", "b": true, "c": null}));
        let pairs: Vec<(&str, &str)> = m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("a", "x"), ("b", "true"), ("c", "null")]);
        assert!(string_map(&json!(["a"])).is_empty());
        assert!(string_map(&json!({})).is_empty());
    }

    #[test]
    fn the_input_budget_is_64_mib() {
        assert_eq!(MAX_INPUT_BYTES, 67_108_864);
    }

    #[test]
    fn read_capped_returns_the_text_and_charges_it() {
        let mut inputs = Inputs::default();
        let text = read_capped("abc".as_bytes(), "t", &mut inputs).unwrap();
        assert_eq!(text, "abc");
        assert_eq!(inputs.bytes_read, 3);
        let text = read_capped("de".as_bytes(), "t", &mut inputs).unwrap();
        assert_eq!(text, "de");
        assert_eq!(inputs.bytes_read, 5);
    }

    #[test]
    fn read_capped_takes_exactly_what_is_left_and_refuses_one_byte_more() {
        // 10 bytes left: 4 fit.
        let mut inputs = Inputs {
            bytes_read: MAX_INPUT_BYTES - 10,
            ..Inputs::default()
        };
        assert_eq!(
            read_capped("abcd".as_bytes(), "t", &mut inputs).unwrap(),
            "abcd"
        );
        assert_eq!(inputs.bytes_read, MAX_INPUT_BYTES - 6);

        // 3 bytes left: exactly 3 fit, 4 do not.
        let mut inputs = Inputs {
            bytes_read: MAX_INPUT_BYTES - 3,
            ..Inputs::default()
        };
        let err = read_capped("abcd".as_bytes(), "the input", &mut inputs).unwrap_err();
        assert!(matches!(&err, CheckError::Read { what, .. } if what == "the input"));
        assert!(err.to_string().contains("64 MiB"), "{err}");
        assert_eq!(inputs.bytes_read, MAX_INPUT_BYTES - 3);
        assert_eq!(
            read_capped("abc".as_bytes(), "t", &mut inputs).unwrap(),
            "abc"
        );
        assert_eq!(inputs.bytes_read, MAX_INPUT_BYTES);

        // Nothing left: even one byte is refused, nothing is.
        assert!(read_capped("x".as_bytes(), "t", &mut inputs).is_err());
        assert_eq!(read_capped("".as_bytes(), "t", &mut inputs).unwrap(), "");
    }

    #[test]
    fn read_returns_a_files_text_or_says_which_file_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.yaml");
        write(&file, "kind: A\n");
        let mut inputs = Inputs::default();
        assert_eq!(read(&file, &mut inputs).unwrap(), "kind: A\n");
        assert_eq!(inputs.bytes_read, 8);
        let missing = dir.path().join("none.yaml");
        let err = read(&missing, &mut inputs).unwrap_err();
        assert!(
            matches!(&err, CheckError::Read { what, .. } if *what == missing.display().to_string())
        );
    }

    #[test]
    fn a_chart_is_a_folder_holding_chart_yaml() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_chart(dir.path()));
        write(&dir.path().join("Chart.yaml"), "name: c\n");
        assert!(is_chart(dir.path()));
        // A folder named Chart.yaml is not a chart file.
        let other = tempfile::tempdir().unwrap();
        fs::create_dir(other.path().join("Chart.yaml")).unwrap();
        assert!(!is_chart(other.path()));
    }

    #[test]
    fn walk_lists_manifest_files_sorted_and_sets_charts_aside() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "e.txt",
            "d.tpl",
            "c.json",
            "b.yml",
            "a.yaml",
            "sub/f.yaml",
            "sub/g.md",
        ] {
            write(&d.join(f), "x");
        }
        write(&d.join("chart/Chart.yaml"), "name: chart\n");
        write(&d.join("chart/templates/t.yaml"), "x");
        let mut charts = Vec::new();
        let files = walk(d, &mut charts).unwrap();
        let expected: Vec<PathBuf> = ["a.yaml", "b.yml", "c.json", "d.tpl", "sub/f.yaml"]
            .iter()
            .map(|f| d.join(f))
            .collect();
        assert_eq!(files, expected);
        assert_eq!(charts, [d.join("chart")]);

        // A folder that does not exist holds nothing.
        let mut charts = Vec::new();
        assert!(walk(&d.join("none"), &mut charts).unwrap().is_empty());
        assert!(charts.is_empty());
    }

    #[test]
    fn add_value_keeps_objects_with_a_kind_and_opens_lists() {
        let mut inputs = Inputs::default();
        add_value(
            &mut inputs,
            json!({"kind": "A", "metadata": {"name": "a"}}),
            "dflt",
        );
        add_value(
            &mut inputs,
            json!({"kind": "B", "metadata": {"name": "b", "namespace": "own"}}),
            "dflt",
        );
        add_value(
            &mut inputs,
            json!({"kind": "List", "items": [
                {"kind": "C", "metadata": {"name": "c"}},
                {"metadata": {"name": "no-kind"}}
            ]}),
            "dflt",
        );
        add_value(&mut inputs, json!({"kind": 3}), "dflt");
        add_value(&mut inputs, json!("kind"), "dflt");
        add_value(&mut inputs, json!({"kind": "List"}), "dflt");
        assert_eq!(names(&inputs), ["A dflt/a", "B own/b", "C dflt/c"]);
    }

    #[test]
    fn add_yaml_reads_every_document_or_names_the_source_it_cannot_parse() {
        let mut inputs = Inputs::default();
        add_yaml(
            &mut inputs,
            "s",
            "kind: A\nmetadata: {name: a}\n---\nkind: B\nmetadata: {name: b}\n",
            "ns",
        )
        .unwrap();
        assert_eq!(names(&inputs), ["A ns/a", "B ns/b"]);
        let err = add_yaml(&mut inputs, "bad.yaml", "a: [1,\n", "ns").unwrap_err();
        assert!(matches!(&err, CheckError::Yaml { origin, .. } if origin == "bad.yaml"));
    }

    #[test]
    fn add_file_sorts_dashboards_objects_and_templates() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(&d.join("dash.json"), r#"{"title": "d", "panels": []}"#);
        write(
            &d.join("obj.json"),
            r#"{"kind": "J", "metadata": {"name": "j"}}"#,
        );
        // Outside templates/, a YAML file holding `{{` (here in a comment) is plain YAML.
        write(
            &d.join("plain.yaml"),
            "# {{ not a template }}\nkind: Plain\nmetadata: {name: p}\n",
        );
        // Inside templates/: with `{{` a template, without it plain YAML.
        write(
            &d.join("templates/t.yaml"),
            "kind: T\nmetadata:\n  name: {{ .Values.n }}\n",
        );
        write(
            &d.join("templates/u.yaml"),
            "kind: U\nmetadata: {name: u}\n",
        );
        let mut inputs = Inputs::default();
        for f in [
            "dash.json",
            "obj.json",
            "plain.yaml",
            "templates/t.yaml",
            "templates/u.yaml",
        ] {
            add_file(&mut inputs, &d.join(f), "ns").unwrap();
        }
        assert_eq!(names(&inputs), ["J ns/j", "Plain ns/p", "U ns/u"]);
        assert_eq!(inputs.dashboards.len(), 1);
        assert_eq!(
            inputs.dashboards[0].0,
            d.join("dash.json").display().to_string()
        );
        assert_eq!(inputs.dashboards[0].1["title"], "d");
        assert_eq!(inputs.templates.len(), 1);
        assert_eq!(
            inputs.templates[0].0,
            d.join("templates/t.yaml").display().to_string()
        );
        assert!(inputs.templates[0].1.contains("{{ .Values.n }}"));

        write(&d.join("bad.json"), "{");
        let err = add_file(&mut inputs, &d.join("bad.json"), "ns").unwrap_err();
        assert!(matches!(err, CheckError::Json { .. }));
    }

    #[test]
    fn add_chart_keeps_its_templates_and_renders_or_lists_it() {
        let dir = tempfile::tempdir().unwrap();
        let chart = dir.path().join("shop");
        write(
            &chart.join("Chart.yaml"),
            "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
        );
        write(
            &chart.join("templates/cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
        );
        let mut inputs = Inputs::default();
        add_chart(&mut inputs, &chart, "prod", true).unwrap();
        assert_eq!(inputs.templates.len(), 1);
        assert_eq!(
            inputs.templates[0].0,
            chart.join("templates/cm.yaml").display().to_string()
        );
        if super::super::helm::find().is_none() {
            assert!(inputs.objects.is_empty());
            assert_eq!(inputs.unrendered.len(), 1);
            let u = &inputs.unrendered[0];
            assert_eq!(u.dir, chart.display().to_string());
            assert!(u.named);
            assert_eq!(
                u.command,
                format!(
                    "helm template shop {} -n prod | redmetrics check manifests - --namespace prod",
                    chart.display()
                )
            );
        } else {
            assert_eq!(names(&inputs), ["ConfigMap prod/shop"]);
        }
    }

    #[test]
    fn read_paths_reads_files_folders_and_charts_and_refuses_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(&d.join("one.yaml"), "kind: A\nmetadata: {name: a}\n");
        write(&d.join("folder/b.yaml"), "kind: B\nmetadata: {name: b}\n");
        write(
            &d.join("folder/inner/Chart.yaml"),
            "apiVersion: v2\nname: inner\nversion: 0.1.0\n",
        );
        write(
            &d.join("named/Chart.yaml"),
            "apiVersion: v2\nname: named\nversion: 0.1.0\n",
        );
        let paths: Vec<String> = ["one.yaml", "folder", "named"]
            .iter()
            .map(|p| d.join(p).display().to_string())
            .collect();
        let inputs = read_paths(&paths, "ns").unwrap();
        assert_eq!(names(&inputs), ["A ns/a", "B ns/b"]);
        if super::super::helm::find().is_none() {
            let charts: Vec<(String, bool)> = inputs
                .unrendered
                .iter()
                .map(|u| (u.dir.clone(), u.named))
                .collect();
            assert_eq!(
                charts,
                [
                    (d.join("folder/inner").display().to_string(), false),
                    (d.join("named").display().to_string(), true),
                ]
            );
        }

        let missing = d.join("none.yaml").display().to_string();
        let err = read_paths(std::slice::from_ref(&missing), "ns").unwrap_err();
        assert!(matches!(err, CheckError::Missing { path } if path == missing));
    }
}
