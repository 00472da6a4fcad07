//! Choosing a format and an escaping scheme from an `Accept` header.

use super::{Escaping, Exposition, Format};

/// The protobuf media type and the parameters that select the delimited `MetricFamily`
/// stream (client_golang's `expfmt` requires the same two).
#[cfg(feature = "protobuf")]
const PROTOBUF: &str = "application/vnd.google.protobuf";

/// The format a scraper prefers; see [`negotiate_exposition`], which also picks the
/// escaping scheme.
///
/// ```
/// use redmetrics::encoding::{Format, negotiate};
///
/// let prometheus_2_42 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// assert_eq!(negotiate(Some(prometheus_2_42)), Format::OpenMetrics);
/// assert_eq!(negotiate(Some("*/*")), Format::Text);
/// assert_eq!(negotiate(None), Format::Text);
/// ```
pub fn negotiate(accept: Option<&str>) -> Format {
    negotiate_exposition(accept).format
}

/// What a scraper prefers: the highest quality among the ranges redmetrics can serve, and
/// the `escaping=` scheme that range names (prometheus.io `instrumenting/content_negotiation`).
///
/// Protobuf (feature `protobuf`) needs `proto=io.prometheus.client.MetricFamily` and
/// `encoding=delimited`; OpenMetrics is version 1.0.0 (or none) or 0.0.1; `text/plain` is
/// version 1.0.0 or, for any other version or none, 0.0.4, as are `text/*` and `*/*`. Ties go
/// to protobuf, then OpenMetrics 1.0.0, 0.0.1, text 1.0.0, text 0.0.4, then to the first of
/// the tied ranges. A range without a
/// known `escaping=` gets legacy names ([`Escaping::Underscores`]) and a `Content-Type`
/// that names a scheme only where the format defines one. A missing or unparsable header
/// gets text 0.0.4, as client_golang does.
///
/// ```
/// use redmetrics::encoding::{Escaping, Format, negotiate_exposition};
///
/// // Prometheus 3.4+ by default (scrape/scrape.go `acceptHeader`).
/// let prometheus_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
/// let e = negotiate_exposition(Some(prometheus_3));
/// assert_eq!((e.format, e.escaping), (Format::OpenMetrics, Escaping::AllowUtf8));
/// assert_eq!(
///     e.content_type(),
///     "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
/// );
/// ```
pub fn negotiate_exposition(accept: Option<&str>) -> Exposition {
    let Some(accept) = accept else {
        return Format::Text.into();
    };
    // (quality, rank: lower wins ties, format, escaping named by the range)
    let mut best: Option<(f32, u8, Format, Option<Escaping>)> = None;
    for range in accept.split(',') {
        let mut params = range.split(';').map(str::trim);
        let media = params.next().unwrap_or_default();
        let mut q = 1.0f32;
        let mut version = None;
        let mut escaping = None;
        let (mut proto, mut encoding) = (None, None);
        for p in params {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim().trim_matches('"'));
            if k.eq_ignore_ascii_case("q") {
                q = v.parse().unwrap_or(0.0);
            } else if k.eq_ignore_ascii_case("version") {
                version = Some(v);
            } else if k.eq_ignore_ascii_case("escaping") {
                escaping = v.parse::<Escaping>().ok();
            } else if k.eq_ignore_ascii_case("proto") {
                proto = Some(v);
            } else if k.eq_ignore_ascii_case("encoding") {
                encoding = Some(v);
            }
        }
        let found = if media.eq_ignore_ascii_case("application/openmetrics-text") {
            match version {
                None | Some("1.0.0") => Some((1, Format::OpenMetrics)),
                Some("0.0.1") => Some((2, Format::OpenMetricsV0_0_1)),
                Some(_) => None,
            }
        } else if media.eq_ignore_ascii_case("text/plain") {
            match version {
                Some("1.0.0") => Some((3, Format::TextV1_0_0)),
                _ => Some((4, Format::Text)),
            }
        } else if media == "*/*" || media.eq_ignore_ascii_case("text/*") {
            Some((4, Format::Text))
        } else {
            protobuf_range(media, proto, encoding)
        };
        let Some((rank, format)) = found else {
            continue;
        };
        let better = match best {
            _ if q.is_nan() || q <= 0.0 => false,
            None => true,
            Some((bq, brank, ..)) => q > bq || (q == bq && rank < brank),
        };
        if better {
            best = Some((q, rank, format, escaping));
        }
    }
    match best {
        Some((_, _, format, Some(escaping))) => Exposition::new(format, escaping),
        Some((_, _, format, None)) => format.into(),
        None => Format::Text.into(),
    }
}

/// The protobuf range redmetrics serves, when the feature is on.
fn protobuf_range(
    media: &str,
    proto: Option<&str>,
    encoding: Option<&str>,
) -> Option<(u8, Format)> {
    #[cfg(feature = "protobuf")]
    if media.eq_ignore_ascii_case(PROTOBUF)
        && proto == Some("io.prometheus.client.MetricFamily")
        && encoding == Some("delimited")
    {
        return Some((0, Format::Protobuf));
    }
    let _ = (media, proto, encoding);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Prometheus 2.42 sends with `--enable-feature=native-histograms`.
    const NATIVE_2_42: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    #[test]
    fn quality_decides() {
        assert_eq!(
            negotiate(Some("text/plain;q=0.9, application/openmetrics-text;q=0.5")),
            Format::Text
        );
        assert_eq!(
            negotiate(Some("application/openmetrics-text; version=2.0.0")),
            Format::Text
        );
        assert_eq!(
            negotiate(Some("application/openmetrics-text;q=0")),
            Format::Text
        );
        assert_eq!(negotiate(Some("text/html, application/json")), Format::Text);
        // Protobuf without the delimited MetricFamily parameters is not what we serve.
        assert_eq!(
            negotiate(Some(
                "application/vnd.google.protobuf;encoding=text,application/openmetrics-text;q=0.6"
            )),
            Format::OpenMetrics
        );
    }

    #[test]
    fn escaping_comes_from_the_chosen_range() {
        let e = |accept: &str| {
            let x = negotiate_exposition(Some(accept));
            (x.format, x.escaping, x.content_type())
        };
        assert_eq!(
            e("text/plain;version=1.0.0;escaping=dots"),
            (
                Format::TextV1_0_0,
                Escaping::Dots,
                "text/plain; version=1.0.0; charset=utf-8; escaping=dots".to_owned()
            )
        );
        // An unknown scheme is ignored (client_golang does the same): legacy names.
        assert_eq!(
            e("application/openmetrics-text;version=1.0.0;escaping=utf8").1,
            Escaping::Underscores
        );
        // The scheme of a range that lost on quality does not apply.
        assert_eq!(
            e(
                "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.2,application/openmetrics-text;version=0.0.1;q=0.5"
            ),
            (
                Format::OpenMetricsV0_0_1,
                Escaping::Underscores,
                "application/openmetrics-text; version=0.0.1; charset=utf-8".to_owned()
            )
        );
        // Text 0.0.4 names a scheme only when the scraper asked for one.
        assert_eq!(
            e("text/plain;version=0.0.4").2,
            "text/plain; version=0.0.4; charset=utf-8"
        );
        assert_eq!(
            e("text/plain;version=0.0.4;escaping=allow-utf-8").2,
            "text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8"
        );
        assert_eq!(e("text/plain;version=1.0.0;q=0,*/*;q=0.1").0, Format::Text);
    }

    /// Equal qualities go to the better format whichever range comes first; between equal
    /// formats the first range wins, with its scheme. `*/*` and `text/*` are ranges like any
    /// other, not only the fallback.
    #[test]
    fn ties_and_wildcards() {
        let e = |accept: &str| {
            let x = negotiate_exposition(Some(accept));
            (x.format, x.escaping)
        };
        let om = (Format::OpenMetrics, Escaping::Underscores);
        assert_eq!(e("application/openmetrics-text, text/plain"), om);
        assert_eq!(e("text/plain, application/openmetrics-text"), om);
        assert_eq!(
            e("text/plain;version=1.0.0;q=0.5, application/openmetrics-text;version=0.0.1;q=0.5").0,
            Format::OpenMetricsV0_0_1
        );
        assert_eq!(
            e("text/plain;escaping=dots, */*"),
            (Format::Text, Escaping::Dots)
        );
        assert_eq!(
            e("*/*;escaping=values, text/plain;escaping=dots"),
            (Format::Text, Escaping::Values)
        );
        for wildcard in ["*/*", "text/*"] {
            assert_eq!(
                e(&format!("application/openmetrics-text;q=0.5, {wildcard}")).0,
                Format::Text,
                "{wildcard}"
            );
        }
    }

    #[cfg(feature = "protobuf")]
    #[test]
    fn protobuf_when_preferred() {
        assert_eq!(negotiate(Some(NATIVE_2_42)), Format::Protobuf);
        assert_eq!(
            negotiate(Some(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,application/openmetrics-text;version=1.0.0;q=0.6,text/plain;version=0.0.4;q=0.5"
            )),
            Format::Protobuf
        );
        assert_eq!(
            negotiate(Some(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;q=0.6"
            )),
            Format::OpenMetrics
        );
        // The media type and both parameters are each required.
        for partial in [
            "application/vnd.google.protobuf;encoding=delimited",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily",
            "application/json;proto=io.prometheus.client.MetricFamily;encoding=delimited",
        ] {
            assert_eq!(
                negotiate(Some(&format!(
                    "{partial},application/openmetrics-text;q=0.5"
                ))),
                Format::OpenMetrics,
                "{partial}"
            );
        }
    }

    #[cfg(not(feature = "protobuf"))]
    #[test]
    fn without_the_feature_protobuf_falls_back() {
        assert_eq!(negotiate(Some(NATIVE_2_42)), Format::OpenMetrics);
    }
}
