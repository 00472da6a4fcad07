//! `check endpoint` as Prometheus 3 scrapes: its default `Accept` header (UTF-8 names
//! allowed) and the one it sends with `metric_name_validation_scheme: legacy`, judged the way
//! Prometheus 3 judges them: the `Content-Type` first (it fails a scrape whose type is blank,
//! unparsable or unknown unless `fallback_scrape_protocol` is set), then the names.

use std::collections::BTreeSet;

use redmetrics_parse::{Exposition, parse_openmetrics, parse_text};

use super::fetch::Fetched;
use super::report::Check;

/// Prometheus v3.4 to v3.9's default Accept header (scrape/scrape.go `acceptHeader` over
/// config/config.go `DefaultScrapeProtocols`, `metric_name_escaping_scheme: allow-utf-8`).
pub(super) const ACCEPT: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
/// The same with `metric_name_validation_scheme: legacy`, whose escaping is `underscores`.
pub(super) const LEGACY_ACCEPT: &str = "application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=underscores;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

/// The fix when Prometheus 3 cannot tell the format.
const CONTENT_TYPE_FIX: &str = "serve the Content-Type of the format written (`text/plain; version=0.0.4; charset=utf-8` for classic text), or set `fallback_scrape_protocol` in the scrape config";

/// The media types Prometheus 3 parses (model/textparse `extractMediaType`, v3.9.1).
const KNOWN: [&str; 3] = [
    "application/openmetrics-text",
    "application/vnd.google.protobuf",
    "text/plain",
];

/// How Prometheus 3 reads `content_type`: the media type it parses with, or why it fails the
/// scrape (without `fallback_scrape_protocol`). Parses as Go's `mime.ParseMediaType` does:
/// `type/subtype`, then `; name=value` parameters, each value a token or a quoted string.
pub(super) fn media_type(content_type: &str) -> Result<String, String> {
    if content_type.trim().is_empty() {
        return Err("blank Content-Type: Prometheus 3 fails the scrape (\"non-compliant scrape target sending blank Content-Type\")".into());
    }
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let valid_media = media
        .split_once('/')
        .is_some_and(|(t, s)| is_token(t) && is_token(s));
    let valid_params = parts.all(|p| {
        let p = p.trim();
        p.is_empty()
            || p.split_once('=').is_some_and(|(k, v)| {
                let v = v.trim();
                is_token(k.trim())
                    && (is_token(v) || (v.len() >= 2 && v.starts_with('"') && v.ends_with('"')))
            })
    });
    if !valid_media || !valid_params {
        return Err(format!(
            "Content-Type `{content_type}` does not parse: Prometheus 3 fails the scrape (\"cannot parse Content-Type\")"
        ));
    }
    if !KNOWN.contains(&media.as_str()) {
        return Err(format!(
            "Content-Type `{content_type}` is no exposition format: Prometheus 3 fails the scrape (\"received unsupported Content-Type\")"
        ));
    }
    Ok(media)
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

/// The `escaping=` parameter a Content-Type names, if any.
fn escaping(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("escaping").then(|| v.trim())
    })
}

/// Whether Prometheus 2.x (and 3 with legacy validation) accepts `name` as a metric name.
fn legacy_metric(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// Whether Prometheus 2.x accepts `name` as a label name.
fn legacy_label(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Every metric and label name outside the legacy character set, as written.
pub(super) fn utf8_names(e: &Exposition) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in &e.families {
        if !legacy_metric(&f.name) {
            out.insert(f.name.clone());
        }
        for s in &f.samples {
            if !legacy_metric(&s.name) {
                out.insert(s.name.clone());
            }
            out.extend(
                s.labels
                    .iter()
                    .filter(|(n, _)| !legacy_label(n))
                    .map(|(n, _)| n.clone()),
            );
        }
    }
    out
}

/// A few names, shortened, for a message.
fn shown(names: &BTreeSet<String>) -> String {
    let mut list: Vec<String> = names
        .iter()
        .take(3)
        .map(|n| {
            // At most 60 bytes, cut on a character boundary (no loop a mutant could hang).
            format!("`{}`", &n[..n.floor_char_boundary(60)])
        })
        .collect();
    if names.len() > 3 {
        list.push(format!("and {} more", names.len() - 3));
    }
    list.join(", ")
}

/// Parses a body by the media type Prometheus 3 chose; `None` for protobuf, whose names
/// this check does not read.
fn parse(media: &str, body: &[u8]) -> Option<Result<Exposition, String>> {
    match media {
        "application/openmetrics-text" => Some(parse_openmetrics(body).map_err(|e| e.to_string())),
        "text/plain" => Some(parse_text(body).map_err(|e| e.to_string())),
        _ => None,
    }
}

/// The "Prometheus 3" check: `utf8` answered [`ACCEPT`], `legacy` [`LEGACY_ACCEPT`], and
/// `classic` is the text scrape without `escaping=` (what Prometheus 2.x reads).
pub(super) fn check(utf8: &Fetched, legacy: &Fetched, classic: &Exposition) -> Check {
    let mut c = Check::new("Prometheus 3");
    for (f, what) in [
        (utf8, "its default Accept header"),
        (legacy, "legacy name validation"),
    ] {
        if f.status != 200 {
            c.fail(
                format!("answered {} to Prometheus 3's {what}", f.status),
                "answer every Accept header with 200",
            );
            return c.summary("scrape failed");
        }
        if let Err(why) = media_type(&f.content_type) {
            c.fail(why, CONTENT_TYPE_FIX);
            return c.summary("Prometheus 3 would fail this scrape");
        }
    }
    let mut summary = format!("Content-Type `{}`", utf8.content_type);
    let media = media_type(&utf8.content_type).unwrap_or_default();
    match parse(&media, &utf8.body) {
        None => summary.push_str("; protobuf (names not read)"),
        Some(Err(e)) => c.fail(
            format!("does not parse: {e}"),
            "Prometheus 3 rejects the whole scrape on the first bad line: fix the encoder",
        ),
        Some(Ok(e)) => {
            let names = utf8_names(&e);
            if names.is_empty() {
                summary.push_str("; every name legacy-valid");
            } else {
                summary.push_str(&format!(
                    "; {} UTF-8 names served quoted ({}), escaping={}",
                    names.len(),
                    shown(&names),
                    escaping(&utf8.content_type).unwrap_or("not named")
                ));
            }
        }
    }
    let legacy_media = media_type(&legacy.content_type).unwrap_or_default();
    if let Some(Ok(e)) = parse(&legacy_media, &legacy.body) {
        let names = utf8_names(&e);
        if !names.is_empty() {
            c.fail(
                format!(
                    "{} names need UTF-8 but reach a scraper that asked for escaping=underscores: {}; Prometheus 3 with `metric_name_validation_scheme: legacy` rejects them",
                    names.len(),
                    shown(&names)
                ),
                "escape names as the Accept header's `escaping=` asks (underscores, dots or values)",
            );
        }
    }
    let names = utf8_names(classic);
    if !names.is_empty() {
        c.fail(
            format!(
                "{} names outside the legacy character set reach a scraper that named no escaping: {}; Prometheus 2.x cannot parse them",
                names.len(),
                shown(&names)
            ),
            "without `escaping=allow-utf-8` in the Accept header, write legacy names (escape them as `underscores`)",
        );
    }
    c.summary(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_as_prometheus_3_reads_them() {
        for ok in [
            "text/plain; version=0.0.4; charset=utf-8",
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
            "TEXT/PLAIN",
            "text/plain; charset=\"utf-8\"",
        ] {
            assert!(media_type(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("", "blank"),
            ("  ", "blank"),
            ("text/plain; version", "does not parse"),
            ("text", "does not parse"),
            ("text/plain; a=b c", "does not parse"),
            ("application/json", "no exposition format"),
            ("text/html; charset=utf-8", "no exposition format"),
        ] {
            let e = media_type(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert_eq!(
            escaping("text/plain; version=1.0.0; escaping=dots"),
            Some("dots")
        );
        assert_eq!(escaping("text/plain"), None);
    }

    #[test]
    fn names_outside_the_legacy_set_are_found() {
        let e = parse_text(
            b"# TYPE \"a.b\" gauge\n{\"a.b\",\"c.d\"=\"1\",ok=\"2\"} 1\nfine_name{x=\"1\"} 2\nre:cord 3\n",
        )
        .unwrap();
        let names: Vec<String> = utf8_names(&e).into_iter().collect();
        assert_eq!(names, ["a.b", "c.d"]);
    }

    #[test]
    fn media_types_parse_as_go_mime_does() {
        for bad in [
            "text/",
            "/plain",
            "text/pl(ain",
            "text/plain; =b",
            "text/plain; a=\"utf-8",
            "text/plain; a=utf-8\"",
            "text/plain; a=\"",
        ] {
            let e = media_type(bad).unwrap_err();
            assert!(e.contains("does not parse"), "{bad}: {e}");
        }
        assert_eq!(
            media_type("Application/OpenMetrics-Text; version=1.0.0").as_deref(),
            Ok("application/openmetrics-text")
        );
        assert_eq!(
            media_type("text/plain; a=b;; c=\"d e\"").as_deref(),
            Ok("text/plain")
        );
    }

    #[test]
    fn legacy_names_are_the_prometheus_2_character_sets() {
        for ok in ["a", "_a", ":a", "a_1:b", "A9"] {
            assert!(legacy_metric(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a.b", "é"] {
            assert!(!legacy_metric(bad), "{bad}");
        }
        for ok in ["a", "_a", "a_1", "Z9_"] {
            assert!(legacy_label(ok), "{ok}");
        }
        for bad in ["", "1a", ":a", "a:b", "a.b"] {
            assert!(!legacy_label(bad), "{bad}");
        }
    }

    #[test]
    fn shown_lists_three_names_cut_at_60_bytes() {
        let set = |names: &[&str]| -> BTreeSet<String> {
            names.iter().map(|n| (*n).to_owned()).collect()
        };
        assert_eq!(shown(&set(&["a", "b", "c"])), "`a`, `b`, `c`");
        assert_eq!(
            shown(&set(&["a", "b", "c", "d"])),
            "`a`, `b`, `c`, and 1 more"
        );
        assert_eq!(shown(&set(&["x"])), "`x`");
        // 59 ASCII bytes then a 2-byte `é` across byte 60: the cut falls back to 59 bytes.
        let long = format!("{}é{}", "a".repeat(59), "b".repeat(10));
        assert_eq!(shown(&set(&[&long])), format!("`{}`", "a".repeat(59)));
        let sixty = "c".repeat(70);
        assert_eq!(shown(&set(&[&sixty])), format!("`{}`", "c".repeat(60)));
    }

    #[test]
    fn bodies_parse_by_the_chosen_media_type() {
        let text = parse("text/plain", b"up 1\n").unwrap().unwrap();
        assert_eq!(text.families.len(), 1);
        assert_eq!(text.families[0].name, "up");
        let om = parse("application/openmetrics-text", b"up 1\n# EOF\n")
            .unwrap()
            .unwrap();
        assert_eq!(om.families[0].name, "up");
        // OpenMetrics needs `# EOF`; classic text does not.
        assert!(
            parse("application/openmetrics-text", b"up 1\n")
                .unwrap()
                .is_err()
        );
        assert!(parse("text/plain", b"up{ 1\n").unwrap().is_err());
        assert!(parse("application/vnd.google.protobuf", b"").is_none());
    }

    fn fetched(status: u16, content_type: &str, body: &'static [u8]) -> Fetched {
        Fetched {
            status,
            content_type: content_type.to_owned(),
            body: bytes::Bytes::from_static(body),
        }
    }

    const TEXT: &str = "text/plain; version=0.0.4";
    const UTF8_TEXT: &str = "text/plain; version=1.0.0; escaping=allow-utf-8";

    #[test]
    fn a_legacy_target_passes() {
        let ok = fetched(200, TEXT, b"up{job=\"a\"} 1\n");
        let classic = parse_text(b"up 1\n").unwrap();
        let c = check(&ok, &ok, &classic);
        assert_eq!(c.status, crate::check::report::Status::Pass, "{c:?}");
        assert_eq!(
            c.summary,
            "Content-Type `text/plain; version=0.0.4`; every name legacy-valid"
        );
    }

    #[test]
    fn utf8_names_pass_only_where_asked_for() {
        let utf8 = fetched(200, UTF8_TEXT, b"{\"a.b\"} 1\n");
        let escaped = fetched(200, TEXT, b"a_b 1\n");
        let classic = parse_text(b"a_b 1\n").unwrap();
        let c = check(&utf8, &escaped, &classic);
        assert_eq!(c.status, crate::check::report::Status::Pass, "{c:?}");
        assert_eq!(
            c.summary,
            "Content-Type `text/plain; version=1.0.0; escaping=allow-utf-8`; 1 UTF-8 names served quoted (`a.b`), escaping=allow-utf-8"
        );
        // The same quoted name to the legacy Accept header, and to the classic scrape.
        let c = check(&utf8, &utf8, &classic);
        assert_eq!(c.status, crate::check::report::Status::Fail);
        assert_eq!(c.findings.len(), 1, "{c:?}");
        assert!(
            c.findings[0].message.contains("escaping=underscores"),
            "{c:?}"
        );
        let quoted = parse_text(b"{\"a.b\"} 1\n").unwrap();
        let c = check(&utf8, &escaped, &quoted);
        assert_eq!(c.findings.len(), 1, "{c:?}");
        assert!(c.findings[0].message.contains("Prometheus 2.x"), "{c:?}");
    }

    #[test]
    fn failed_scrapes_stop_the_check() {
        let ok = fetched(200, TEXT, b"up 1\n");
        let classic = parse_text(b"up 1\n").unwrap();
        let c = check(&fetched(406, TEXT, b""), &ok, &classic);
        assert_eq!(c.status, crate::check::report::Status::Fail);
        assert_eq!(c.summary, "scrape failed");
        assert_eq!(
            c.findings[0].message,
            "answered 406 to Prometheus 3's its default Accept header"
        );
        let c = check(&ok, &fetched(200, "", b"up 1\n"), &classic);
        assert_eq!(c.summary, "Prometheus 3 would fail this scrape");
        assert!(c.findings[0].message.contains("blank"), "{c:?}");
        let c = check(&fetched(200, TEXT, b"up{ 1\n"), &ok, &classic);
        assert_eq!(c.status, crate::check::report::Status::Fail);
        assert!(c.findings[0].message.starts_with("does not parse"), "{c:?}");
        let proto = fetched(
            200,
            "application/vnd.google.protobuf; encoding=delimited",
            b"",
        );
        let c = check(&proto, &proto, &classic);
        assert_eq!(c.status, crate::check::report::Status::Pass, "{c:?}");
        assert!(c.summary.ends_with("; protobuf (names not read)"), "{c:?}");
    }
}
