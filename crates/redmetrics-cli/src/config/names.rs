//! Kubernetes name rules: DNS-1123 labels, port names (`IANA_SVC_NAME`), label keys and
//! values. Each check names the field and the rule, so a mistake is fixed before Kubernetes
//! or the Prometheus Operator silently drops the object.

use super::ConfigError;

/// `Ok` when `ok`, else the error for `field` with the rule `rule()` states.
pub(super) fn require(
    ok: bool,
    field: &str,
    rule: impl FnOnce() -> String,
) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(field, rule()))
    }
}

/// Lowercase letters, digits and `-`, at most `max`, starting and ending alphanumeric.
fn dns_label_like(v: &str, max: usize) -> bool {
    !v.is_empty()
        && v.len() <= max
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !v.starts_with('-')
        && !v.ends_with('-')
}

/// A namespace or object name: DNS-1123 label.
pub(super) fn check_dns_label(field: &str, v: &str) -> Result<(), ConfigError> {
    require(dns_label_like(v, 63), field, || {
        format!(
            "`{v}` is not a DNS-1123 label: lowercase letters, digits and `-`, at most 63, starting and ending alphanumeric (e.g. `shop`)"
        )
    })
}

/// A Service name: a DNS-1035 label (a DNS-1123 label starting with a letter).
pub(super) fn check_service_name(field: &str, v: &str) -> Result<(), ConfigError> {
    check_dns_label(field, v)?;
    require(
        v.starts_with(|c: char| c.is_ascii_lowercase()),
        field,
        || {
            "a Service name must start with a lowercase letter (DNS-1035 label, e.g. `shop-server`)"
                .to_owned()
        },
    )
}

/// Kubernetes `IANA_SVC_NAME`: what a named Service port must look like.
pub(super) fn check_port_name(field: &str, v: &str) -> Result<(), ConfigError> {
    require(
        v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()),
        field,
        || {
            format!(
                "`{v}` is a port number, but a ServiceMonitor endpoint selects the Service port by its name: name the port in the Service (e.g. `http`) and give that name here"
            )
        },
    )?;
    let ok =
        dns_label_like(v, 15) && v.bytes().any(|b| b.is_ascii_lowercase()) && !v.contains("--");
    require(ok, field, || {
        format!(
            "`{v}` is not a valid port name (IANA_SVC_NAME): at most 15 lowercase letters, digits and single `-`, with at least one letter (e.g. `http`)"
        )
    })
}

/// A label value: at most 63 of `[A-Za-z0-9-_.]`, alphanumeric at both ends, or empty.
pub(super) fn check_label_value(field: &str, v: &str) -> Result<(), ConfigError> {
    let ok = v.len() <= 63
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && (v.is_empty()
            || (v.starts_with(|c: char| c.is_ascii_alphanumeric())
                && v.ends_with(|c: char| c.is_ascii_alphanumeric())));
    require(ok, field, || {
        format!(
            "`{v}` is not a Kubernetes label value: at most 63 of [A-Za-z0-9-_.], starting and ending alphanumeric (e.g. `shop-server`)"
        )
    })
}

/// A qualified name (label and annotation keys): an optional DNS-1123 subdomain prefix and
/// `/`, then at most 63 of `[A-Za-z0-9-_.]`, alphanumeric at both ends.
fn qualified_name(k: &str) -> bool {
    let (prefix, name) = k.rsplit_once('/').unwrap_or(("", k));
    let name_ok = !name.is_empty() && check_label_value("", name).is_ok();
    let prefix_ok = prefix.is_empty()
        || (prefix.len() <= 253 && prefix.split('.').all(|p| dns_label_like(p, 63)));
    name_ok && prefix_ok
}

/// A label key: an optional DNS prefix and `/`, then a name like a label value.
pub(super) fn check_label_key(field: &str, k: &str) -> Result<(), ConfigError> {
    require(qualified_name(k), field, || {
        format!(
            "`{k}` is not a Kubernetes label key: an optional DNS prefix and `/`, then at most 63 of [A-Za-z0-9-_.] (e.g. `app.kubernetes.io/name`)"
        )
    })
}

/// An annotation key: the same qualified-name rule as a label key; the API server refuses
/// the object otherwise.
pub(super) fn check_annotation_key(field: &str, k: &str) -> Result<(), ConfigError> {
    require(qualified_name(k), field, || {
        format!(
            "`{k}` is not a Kubernetes annotation key: an optional DNS prefix and `/`, then at most 63 of [A-Za-z0-9-_.], starting and ending alphanumeric (e.g. `grafana_folder` or `grafana.example.com/folder`)"
        )
    })
}
