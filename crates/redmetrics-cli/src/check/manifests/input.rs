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
