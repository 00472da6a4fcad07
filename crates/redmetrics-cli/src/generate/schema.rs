//! The Helm chart's `values.schema.json`: Helm refuses to install, template or lint with
//! values it rejects, so a mistyped key, a port number where a port name belongs, or a
//! duration Prometheus cannot read fails before anything reaches a cluster.

use serde_json::{Value, json};

use crate::severity::Severity;

/// Prometheus' duration syntax, as the Prometheus Operator's CRDs state it.
const DURATION: &str =
    "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$";

/// A Kubernetes port name (IANA_SVC_NAME); all digits would be a number.
const PORT_NAME: &str = "^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$";

fn object(properties: Value) -> Value {
    json!({ "type": "object", "additionalProperties": false, "properties": properties })
}

fn map_of_strings() -> Value {
    json!({ "type": "object", "additionalProperties": { "type": "string" } })
}

/// Any object or list Kubernetes defines (affinity, a security context): checked by the API.
fn free_object() -> Value {
    json!({ "type": "object" })
}

fn free_list() -> Value {
    json!({ "type": "array", "items": { "type": "object" } })
}

fn string() -> Value {
    json!({ "type": "string" })
}

fn boolean() -> Value {
    json!({ "type": "boolean" })
}

fn monitoring_object(extra: Value) -> Value {
    let mut props = json!({
        "enabled": boolean(),
        "namespace": string(),
        "labels": map_of_strings(),
    });
    if let (Some(p), Some(e)) = (props.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    object(props)
}

/// `metrics.prometheusRule`: the alerts' thresholds and `for` durations.
fn rule_values() -> Value {
    let duration = json!({ "type": "string", "pattern": DURATION });
    monitoring_object(json!({
        "errorRatio": { "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1 },
        "errorFor": duration,
        "latencyP95Seconds": { "type": "number", "exclusiveMinimum": 0 },
        "latencyFor": duration,
        "minRequestRate": { "type": "number", "minimum": 0 },
        "targetDownFor": duration,
        "targetAbsentFor": duration,
    }))
}

/// A key of a Kubernetes Secret (`SecretKeySelector`).
fn secret_ref() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "key"],
        "properties": {
            "name": { "type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$" },
            "key": { "type": "string", "pattern": "^[-._a-zA-Z0-9]{1,253}$" },
        },
    })
}

/// An http(s) URL without spaces, quotes, braces or a fragment, or empty.
fn url() -> Value {
    json!({ "type": "string", "pattern": "^(https?://[^\\s\"'{}#<>\\\\`]+)?$" })
}

/// `metrics.alertmanagerConfig`: receivers, routes by severity and secret references. The
/// patterns keep every string free of quotes, braces and spaces, so none is read as a Go
/// template by Alertmanager.
fn alertmanager_config_values() -> Value {
    let duration = json!({ "type": "string", "pattern": DURATION });
    let address = json!({ "type": "string", "pattern": "^[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+$" });
    let integrations = json!({
        "type": "array",
        "minItems": 1,
        "uniqueItems": true,
        "items": { "enum": ["slack", "email", "pagerduty"] },
    });
    let url = url();
    object(json!({
        "enabled": boolean(),
        "labels": map_of_strings(),
        "groupWait": duration,
        "groupInterval": duration,
        "repeatInterval": duration,
        "grafanaURL": url,
        "routes": {
            "type": "object",
            "additionalProperties": false,
            "required": Severity::ALL.map(Severity::as_str),
            "properties": Severity::ALL
                .iter()
                .map(|s| (s.to_string(), integrations.clone()))
                .collect::<serde_json::Map<_, _>>(),
        },
        "slack": object(json!({
            "channel": { "type": "string", "pattern": "^#?[a-z0-9._-]{1,80}$" },
            "apiURL": secret_ref(),
        })),
        "email": object(json!({
            "to": { "type": "array", "minItems": 1, "maxItems": 20, "items": address },
            "from": address,
            "smarthost": { "type": "string", "pattern": "^[A-Za-z0-9.\\[\\]:-]+:[0-9]{1,5}$" },
            "authUsername": { "type": "string", "pattern": "^[^\\s\"'{}\\\\`]*$" },
            "authPassword": secret_ref(),
            "requireTLS": boolean(),
        })),
        "pagerduty": object(json!({
            "routingKey": secret_ref(),
            "url": url,
        })),
    }))
}

/// `metrics.globalView`: the agent's remote write. The URL, tenant and external label names
/// are refused unless they are one (no spaces, quotes or braces); label values may hold
/// anything, the template writes them as JSON strings.
fn global_view_values() -> Value {
    object(json!({
        "agent": object(json!({
            "enabled": boolean(),
            "serviceAccountName": { "type": "string", "pattern": "^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)?$" },
        })),
        "remoteWrite": object(json!({
            "url": url(),
            "tenant": { "type": "string", "pattern": "^[A-Za-z0-9_.-]{0,150}$" },
        })),
        // Label names, `__` excepted (reserved); as patternProperties, so that Helm's
        // error names the field.
        "externalLabels": {
            "type": "object",
            "maxProperties": 20,
            "patternProperties": {
                "^([a-zA-Z]|_[a-zA-Z0-9])[a-zA-Z0-9_]*$": { "type": "string", "maxLength": 1024 },
            },
            "additionalProperties": false,
        },
    }))
}

/// The schema, pretty-printed with a trailing newline.
pub(crate) fn values_schema() -> String {
    let schema = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "redmetrics-service values",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "global": free_object(),
            "replicaCount": { "type": "integer", "minimum": 0 },
            "image": object(json!({
                "repository": { "type": "string", "minLength": 1 },
                "tag": string(),
                "pullPolicy": { "enum": ["Always", "IfNotPresent", "Never"] },
            })),
            "imagePullSecrets": {
                "type": "array",
                "items": object(json!({ "name": { "type": "string", "minLength": 1 } })),
            },
            "nameOverride": string(),
            "fullnameOverride": string(),
            "serviceAccount": object(json!({
                "create": boolean(),
                "automount": boolean(),
                "annotations": map_of_strings(),
                "name": string(),
            })),
            "podAnnotations": map_of_strings(),
            "podLabels": map_of_strings(),
            "podSecurityContext": free_object(),
            "securityContext": free_object(),
            "env": free_list(),
            "containerPort": { "type": "integer", "minimum": 1, "maximum": 65535 },
            "service": object(json!({
                "type": { "enum": ["ClusterIP", "NodePort", "LoadBalancer"] },
                "port": { "type": "integer", "minimum": 1, "maximum": 65535 },
                "portName": {
                    "type": "string",
                    "pattern": PORT_NAME,
                    "not": { "pattern": "^[0-9]+$" },
                    "description": "The Service port's NAME, which ServiceMonitors select; not a number.",
                },
            })),
            "healthPath": { "type": "string", "pattern": "^/" },
            "resources": free_object(),
            "nodeSelector": map_of_strings(),
            "tolerations": free_list(),
            "affinity": free_object(),
            "tests": object(json!({
                "image": object(json!({
                    "repository": { "type": "string", "minLength": 1 },
                    "tag": { "type": "string", "minLength": 1 },
                })),
            })),
            "metrics": object(json!({
                "enabled": boolean(),
                "prefix": { "type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$" },
                "path": { "type": "string", "pattern": "^/" },
                "job": string(),
                "serviceMonitor": monitoring_object(json!({
                    "jobLabel": string(),
                    "interval": { "type": "string", "pattern": DURATION },
                    "scrapeTimeout": { "type": "string", "pattern": DURATION },
                    "honorLabels": boolean(),
                    "relabelings": free_list(),
                    "metricRelabelings": free_list(),
                    "scrapeClassicHistograms": boolean(),
                })),
                "prometheusRule": rule_values(),
                "alertmanagerConfig": alertmanager_config_values(),
                "globalView": global_view_values(),
                "dashboard": monitoring_object(json!({
                    "folder": string(),
                    "folderAnnotation": { "type": "string", "minLength": 1 },
                })),
            })),
        },
    });
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use serde_json::json;

    use super::values_schema;

    /// Python's jsonschema (the judge `crd_judge` uses) reads the schema as valid draft-07,
    /// every subschema an object as the metaschema requires, and judges values as Helm would:
    /// a port name passes; a port number, a misspelt key and a bad duration do not.
    #[test]
    fn jsonschema_accepts_the_schema_and_judges_values_by_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("values.schema.json");
        std::fs::write(&file, values_schema()).unwrap();
        let cases = json!([
            [true, {
                "service": { "portName": "http", "port": 80 },
                "metrics": { "serviceMonitor": { "interval": "30s" } },
            }],
            [false, { "service": { "portName": "3000" } }],
            [false, { "metrics": { "serviceMonitr": { "enabled": true } } }],
            [false, { "metrics": { "serviceMonitor": { "interval": "30 seconds" } } }],
        ]);
        let script = "import json, sys\n\
            from jsonschema import Draft7Validator\n\
            schema = json.load(open(sys.argv[1]))\n\
            Draft7Validator.check_schema(schema)\n\
            judge = Draft7Validator(schema)\n\
            for ok, values in json.loads(sys.argv[2]):\n\
            \x20   errors = [e.message for e in judge.iter_errors(values)]\n\
            \x20   assert (not errors) == ok, (ok, values, errors)\n";
        crate::generate::peer_verdict(
            Command::new("python3")
                .args(["-c", script])
                .arg(&file)
                .arg(cases.to_string()),
            "python3 with jsonschema is installed by scripts/test",
        );
    }
}
