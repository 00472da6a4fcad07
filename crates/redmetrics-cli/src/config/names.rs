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
/// `/`, then at most 63 of `[A-Za-z0-9-_.]`, alphanumeric at both ends. As in Kubernetes, a
/// `/` needs a non-empty prefix, and the subdomain limits only its whole length (253).
fn qualified_name(k: &str) -> bool {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, k),
    };
    let name_ok = !name.is_empty() && check_label_value("", name).is_ok();
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty() && p.len() <= 253 && p.split('.').all(|l| dns_label_like(l, 253))
    });
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

#[cfg(test)]
mod tests {
    use regex_automata::meta::Regex;

    use super::*;

    /// Kubernetes' own rules, as `k8s.io/apimachinery/pkg/util/validation` states them: the
    /// formats (anchored here) and the length limits. The checks above are hand-written; these
    /// are the judge they must agree with on every string below.
    const DNS1123_LABEL: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
    const DNS1035_LABEL: &str = "^[a-z]([-a-z0-9]*[a-z0-9])?$";
    const QUALIFIED_NAME: &str = "^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$";
    const LABEL_VALUE: &str = "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$";
    const DNS1123_SUBDOMAIN: &str =
        "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

    fn matches(re: &str, v: &str) -> bool {
        Regex::new(re).unwrap().is_match(v)
    }

    /// `IsDNS1123Label`.
    fn k8s_dns_label(v: &str) -> bool {
        v.len() <= 63 && matches(DNS1123_LABEL, v)
    }

    /// `IsDNS1035Label`.
    fn k8s_service_name(v: &str) -> bool {
        v.len() <= 63 && matches(DNS1035_LABEL, v)
    }

    /// `IsValidPortName`: 1 to 15 of `[-a-z0-9]`, a letter, no `--`, no `-` at either end.
    fn k8s_port_name(v: &str) -> bool {
        (1..=15).contains(&v.len())
            && matches("^[-a-z0-9]+$", v)
            && matches("[a-z]", v)
            && !v.contains("--")
            && !v.starts_with('-')
            && !v.ends_with('-')
    }

    /// `IsValidLabelValue`.
    fn k8s_label_value(v: &str) -> bool {
        v.len() <= 63 && matches(LABEL_VALUE, v)
    }

    /// `IsQualifiedName`: `name` or `prefix/name`, the prefix a non-empty DNS-1123 subdomain
    /// of at most 253, the name at most 63.
    fn k8s_qualified_name(v: &str) -> bool {
        let parts: Vec<&str> = v.split('/').collect();
        let (prefix, name) = match parts[..] {
            [name] => (None, name),
            [prefix, name] => (Some(prefix), name),
            _ => return false,
        };
        let prefix_ok =
            prefix.is_none_or(|p| !p.is_empty() && p.len() <= 253 && matches(DNS1123_SUBDOMAIN, p));
        prefix_ok && !name.is_empty() && name.len() <= 63 && matches(QUALIFIED_NAME, name)
    }

    /// Strings at every length limit and on each side of each character rule.
    fn cases() -> Vec<String> {
        let mut v: Vec<String> = [
            "",
            "a",
            "z",
            "0",
            "9",
            "A",
            "ab",
            "a-b",
            "a--b",
            "-a",
            "a-",
            "-",
            "a_b",
            "a.b",
            "a b",
            "1",
            "123",
            "80",
            "a1",
            "1a",
            "1-2",
            "http",
            "http-metrics",
            "HTTP",
            "é",
            "a/b",
            "/a",
            "a/",
            "/",
            "a/b/c",
            "example.com/a",
            "Example.com/a",
            "a..b/c",
            ".a/b",
            "a./b",
            "-a.com/b",
            "a-.com/b",
            "a.b.c/d_e.f",
            "a.b/-c",
            "a.b/c-",
            "a.b/_c",
            "app.kubernetes.io/name",
            "grafana_folder",
            "x/A.b-c_D",
            "_a",
            "a_",
            ".a",
            "a.",
            "A-z",
            "a\u{0}",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for n in [14, 15, 16, 62, 63, 64] {
            v.push("a".repeat(n));
            v.push(format!("{}1", "a".repeat(n - 1)));
            v.push(format!("x/{}", "a".repeat(n)));
            v.push(format!("{}.com/name", "b".repeat(n)));
        }
        for n in [252, 253, 254] {
            // Labels of 63 joined by dots, trimmed to n, ending alphanumeric.
            let mut p = [0; 4].map(|_| "b".repeat(63)).join(".");
            p.truncate(n - 1);
            p.push('c');
            v.push(format!("{p}/name"));
        }
        v
    }

    #[test]
    fn every_check_agrees_with_kubernetes_rules() {
        type Check = fn(&str, &str) -> Result<(), ConfigError>;
        type Judge = fn(&str) -> bool;
        let pairs: [(&str, Check, Judge); 6] = [
            ("dns label", check_dns_label, k8s_dns_label),
            ("service name", check_service_name, k8s_service_name),
            ("port name", check_port_name, k8s_port_name),
            ("label value", check_label_value, k8s_label_value),
            ("label key", check_label_key, k8s_qualified_name),
            ("annotation key", check_annotation_key, k8s_qualified_name),
        ];
        for (what, ours, kubernetes) in pairs {
            for v in cases() {
                assert_eq!(
                    ours("field", &v).is_ok(),
                    kubernetes(&v),
                    "{what} `{v}`: the check and Kubernetes disagree"
                );
            }
        }
        let e = check_port_name("port", "3000").unwrap_err();
        assert_eq!(e.field, "port");
        assert!(e.rule.contains("is a port number"), "{e}");
    }
}
