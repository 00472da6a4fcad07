//! Choosing a format from an `Accept` header.

use super::Format;

/// The protobuf media type and the parameters that select the delimited `MetricFamily`
/// stream (client_golang's `expfmt` requires the same two).
#[cfg(feature = "protobuf")]
const PROTOBUF: &str = "application/vnd.google.protobuf";

/// The format a scraper prefers: the highest quality among the ranges redmetrics can serve.
/// Protobuf (feature `protobuf`) needs `proto=io.prometheus.client.MetricFamily` and
/// `encoding=delimited`; OpenMetrics a version of 1.0.0, 0.0.1 or none; text is
/// `text/plain`, `text/*` or `*/*`. Ties go to protobuf, then OpenMetrics; a missing or
/// unparsable header gets text, as client_golang does.
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
    let Some(accept) = accept else {
        return Format::Text;
    };
    let mut om = 0.0f32;
    let mut text = 0.0f32;
    #[cfg(feature = "protobuf")]
    let mut pb = 0.0f32;
    for range in accept.split(',') {
        let mut params = range.split(';').map(str::trim);
        let media = params.next().unwrap_or_default();
        let mut q = 1.0f32;
        let mut version = None;
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
            } else if k.eq_ignore_ascii_case("proto") {
                proto = Some(v);
            } else if k.eq_ignore_ascii_case("encoding") {
                encoding = Some(v);
            }
        }
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            if matches!(version, None | Some("1.0.0") | Some("0.0.1")) {
                om = om.max(q);
            }
        } else if media.eq_ignore_ascii_case("text/plain")
            || media == "*/*"
            || media.eq_ignore_ascii_case("text/*")
        {
            text = text.max(q);
        } else {
            #[cfg(feature = "protobuf")]
            if media.eq_ignore_ascii_case(PROTOBUF)
                && proto == Some("io.prometheus.client.MetricFamily")
                && encoding == Some("delimited")
            {
                pb = pb.max(q);
            }
            let _ = (proto, encoding);
        }
    }
    #[cfg(feature = "protobuf")]
    if pb > 0.0 && pb >= om && pb >= text {
        return Format::Protobuf;
    }
    if om > 0.0 && om >= text {
        Format::OpenMetrics
    } else {
        Format::Text
    }
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
    }

    #[cfg(not(feature = "protobuf"))]
    #[test]
    fn without_the_feature_protobuf_falls_back() {
        assert_eq!(negotiate(Some(NATIVE_2_42)), Format::OpenMetrics);
    }
}
