//! From a [`Snapshot`] to an OTLP `ExportMetricsServiceRequest`, named and attributed by the
//! OpenTelemetry HTTP semantic conventions. Cumulative points start at the exporter's start
//! time; delta points are the difference against the last delivered snapshot and start at
//! its time, so consecutive deltas tile the timeline without gaps or overlaps.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint, metric, number_data_point,
    summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::Temporality;
use super::snapshot::{Buckets, Route, Size, Snapshot};
use crate::contract::UNMATCHED;
use crate::metrics::bounded::OVERFLOW_SLOT;
use crate::middleware::RouteId;

/// Metric names: the semantic conventions', plus one of ours for the per-status count.
pub(crate) mod names {
    /// Latency histogram per (method, route, status), or per (method, route) when the
    /// contract keeps no latency per status (see the module docs).
    pub(crate) const DURATION: &str = "http.server.request.duration";
    /// Requests per (method, route, status): `<prefix>_http_requests_total`.
    pub(crate) const REQUESTS: &str = "redmetrics.http.server.requests";
    /// Requests in flight.
    pub(crate) const ACTIVE: &str = "http.server.active_requests";
    /// Request body sizes per (method, route).
    pub(crate) const REQUEST_SIZE: &str = "http.server.request.body.size";
    /// Response body sizes per (method, route).
    pub(crate) const RESPONSE_SIZE: &str = "http.server.response.body.size";
}

/// What stays the same from one export to the next: resource, temporality, start time.
#[derive(Debug, Clone)]
pub(crate) struct Convert {
    resource: Resource,
    temporality: Temporality,
    /// Start of every cumulative series, in nanoseconds since the Unix epoch.
    start_unix_nano: u64,
}

impl Convert {
    /// A converter for one service.
    pub(crate) fn new(
        service_name: &str,
        service_version: &str,
        temporality: Temporality,
        start_unix_nano: u64,
    ) -> Self {
        Self {
            resource: Resource {
                attributes: vec![
                    string("service.name", service_name),
                    string("service.version", service_version),
                ],
                ..Default::default()
            },
            temporality,
            start_unix_nano,
        }
    }

    /// The request carrying `now`; for deltas, against `delivered` (the last snapshot the
    /// receiver accepted; `None` before the first).
    pub(crate) fn request(
        &self,
        now: &Snapshot,
        delivered: Option<&Snapshot>,
    ) -> ExportMetricsServiceRequest {
        let (base, start) = match (self.temporality, delivered) {
            (Temporality::Delta, Some(d)) => (Some(d), d.time_unix_nano),
            _ => (None, self.start_unix_nano),
        };
        let temporality = match self.temporality {
            Temporality::Cumulative => AggregationTemporality::Cumulative,
            Temporality::Delta => AggregationTemporality::Delta,
        } as i32;
        let delta = self.temporality == Temporality::Delta;
        let at = Times {
            start,
            time: now.time_unix_nano,
        };
        let cumulative = Times {
            start: self.start_unix_nano,
            time: now.time_unix_nano,
        };

        // Latency per (route, status) when the contract keeps it, else per route.
        let by_status = now.requests.iter().any(|c| c.duration.is_some());
        let mut duration = Vec::with_capacity(now.requests.len());
        for c in now.requests.iter().filter(|_| by_status) {
            let (Some(route), Some(d)) = (now.route(c.route), &c.duration) else {
                continue;
            };
            let before = base
                .and_then(|b| b.requests(c.route, c.status))
                .and_then(|b| b.duration.as_ref());
            let d = diff(d, before);
            if !(delta && d.count() == 0) {
                let mut attrs = route_attributes(route);
                attrs.extend(status_attributes(c.status));
                duration.push(histogram_point(&d, attrs, at));
            }
        }
        let mut request_size = Vec::with_capacity(now.routes.len());
        let mut response_size = Vec::with_capacity(now.routes.len());
        for r in &now.routes {
            let before = base.and_then(|b| b.route(r.id));
            let attrs = route_attributes(r);
            let d = diff(&r.duration, before.map(|b| &b.duration));
            let unchanged = delta && d.count() == 0;
            if !by_status && !unchanged {
                duration.push(histogram_point(&d, attrs.clone(), at));
            }
            for (size, prev, out) in [
                (
                    &r.request_size,
                    before.map(|b| &b.request_size),
                    &mut request_size,
                ),
                (
                    &r.response_size,
                    before.map(|b| &b.response_size),
                    &mut response_size,
                ),
            ] {
                out.extend(size_point(size, prev, attrs.clone(), at, cumulative, delta));
            }
        }

        let mut requests = Vec::with_capacity(now.requests.len());
        for c in &now.requests {
            let Some(route) = now.route(c.route) else {
                continue;
            };
            let before = base
                .and_then(|b| b.requests(c.route, c.status))
                .map_or(0, |b| b.count);
            let n = c.count.saturating_sub(before);
            if delta && n == 0 {
                continue;
            }
            let mut attrs = route_attributes(route);
            attrs.extend(status_attributes(c.status));
            requests.push(number_point(attrs, at, saturating_i64(n)));
        }

        let size_metric = |name: &str, desc: &str, points: Vec<SizePoint>| {
            let mut hist = Vec::new();
            let mut summ = Vec::new();
            for p in points {
                match p {
                    SizePoint::Histogram(h) => hist.push(h),
                    SizePoint::Summary(s) => summ.push(s),
                }
            }
            let data = if summ.is_empty() {
                metric::Data::Histogram(Histogram {
                    data_points: hist,
                    aggregation_temporality: temporality,
                })
            } else {
                metric::Data::Summary(Summary { data_points: summ })
            };
            self::metric(name, desc, "By", data)
        };

        let metrics = vec![
            metric(
                names::DURATION,
                "Duration of HTTP server requests, from arrival to the end of the response body.",
                "s",
                metric::Data::Histogram(Histogram {
                    data_points: duration,
                    aggregation_temporality: temporality,
                }),
            ),
            metric(
                names::REQUESTS,
                "HTTP server requests by method, route and response status code.",
                "{request}",
                metric::Data::Sum(Sum {
                    data_points: requests,
                    aggregation_temporality: temporality,
                    is_monotonic: true,
                }),
            ),
            metric(
                names::ACTIVE,
                "Number of active HTTP server requests.",
                "{request}",
                metric::Data::Sum(Sum {
                    data_points: vec![number_point(Vec::new(), cumulative, now.in_flight)],
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: false,
                }),
            ),
            size_metric(
                names::REQUEST_SIZE,
                "Size of HTTP server request bodies.",
                request_size,
            ),
            size_metric(
                names::RESPONSE_SIZE,
                "Size of HTTP server response bodies.",
                response_size,
            ),
        ];
        let mut metrics = metrics;
        // A family with nothing to say (no route yet, or nothing new in a delta) is left out.
        metrics.retain(has_points);
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "redmetrics".to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..Default::default()
                    }),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Times {
    start: u64,
    time: u64,
}

enum SizePoint {
    Histogram(HistogramDataPoint),
    Summary(SummaryDataPoint),
}

/// A size point: histograms follow the temporality, summaries are always cumulative (OTLP
/// summaries have no temporality); an unchanged histogram is left out of a delta export.
fn size_point(
    size: &Size,
    before: Option<&Size>,
    attributes: Vec<KeyValue>,
    at: Times,
    cumulative: Times,
    delta: bool,
) -> Option<SizePoint> {
    match size {
        Size::Histogram(h) => {
            let prev = match before {
                Some(Size::Histogram(p)) => Some(p),
                _ => None,
            };
            let d = diff(h, prev);
            (!(delta && d.count() == 0))
                .then(|| SizePoint::Histogram(histogram_point(&d, attributes, at)))
        }
        Size::Summary {
            count,
            sum,
            quantiles,
        } => Some(SizePoint::Summary(SummaryDataPoint {
            attributes,
            start_time_unix_nano: cumulative.start,
            time_unix_nano: cumulative.time,
            count: *count,
            sum: *sum,
            quantile_values: quantiles
                .iter()
                // An empty window has no quantiles (NaN in the exposition): leave them out.
                .filter(|(_, v)| v.is_finite())
                .map(|&(quantile, value)| ValueAtQuantile { quantile, value })
                .collect(),
            flags: 0,
        })),
    }
}

/// `now - before`, bucket by bucket (`now` itself without `before`).
fn diff(now: &Buckets, before: Option<&Buckets>) -> Buckets {
    match before {
        Some(b) if b.counts.len() == now.counts.len() => Buckets {
            bounds: now.bounds,
            counts: now
                .counts
                .iter()
                .zip(&b.counts)
                .map(|(n, p)| n.saturating_sub(*p))
                .collect(),
            sum: now.sum - b.sum,
        },
        _ => now.clone(),
    }
}

fn histogram_point(b: &Buckets, attributes: Vec<KeyValue>, at: Times) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes,
        start_time_unix_nano: at.start,
        time_unix_nano: at.time,
        count: b.count(),
        sum: Some(b.sum),
        bucket_counts: b.counts.clone(),
        explicit_bounds: b.bounds.to_vec(),
        ..Default::default()
    }
}

fn number_point(attributes: Vec<KeyValue>, at: Times, value: i64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: at.start,
        time_unix_nano: at.time,
        value: Some(number_data_point::Value::AsInt(value)),
        ..Default::default()
    }
}

fn has_points(m: &Metric) -> bool {
    match &m.data {
        Some(metric::Data::Histogram(h)) => !h.data_points.is_empty(),
        Some(metric::Data::Sum(s)) => !s.data_points.is_empty(),
        Some(metric::Data::Summary(s)) => !s.data_points.is_empty(),
        Some(metric::Data::Gauge(g)) => !g.data_points.is_empty(),
        Some(metric::Data::ExponentialHistogram(h)) => !h.data_points.is_empty(),
        None => false,
    }
}

fn metric(name: &str, description: &str, unit: &str, data: metric::Data) -> Metric {
    Metric {
        name: name.to_owned(),
        description: description.to_owned(),
        unit: unit.to_owned(),
        data: Some(data),
        ..Default::default()
    }
}

/// `http.response.status_code` of a status the client received (none for the overflow
/// series' 0), and `error.type` for a server error: the status code as a string, as the
/// stable HTTP conventions ask when a response status signals an error (5xx on a server).
fn status_attributes(status: u16) -> Vec<KeyValue> {
    let mut attrs = Vec::with_capacity(2);
    if status != 0 {
        attrs.push(int("http.response.status_code", i64::from(status)));
        if status >= 500 {
            attrs.push(string("error.type", itoa::Buffer::new().format(status)));
        }
    }
    attrs
}

/// `http.request.method` and `http.route` of a route, and `url.scheme` and
/// `network.protocol.version` where all its requests agreed on them: `OTHER` becomes the conventions'
/// `_OTHER`, an unmatched request has no `http.route`, and the overflow series (label sets
/// past the bound) is marked `otel.metric.overflow = true`, as the OpenTelemetry SDK marks
/// its own cardinality overflow.
fn route_attributes(r: &Route) -> Vec<KeyValue> {
    if r.id == RouteId(OVERFLOW_SLOT) {
        return vec![KeyValue {
            key: "otel.metric.overflow".to_owned(),
            value: Some(AnyValue {
                value: Some(any_value::Value::BoolValue(true)),
            }),
            ..Default::default()
        }];
    }
    let method = if r.method == "OTHER" {
        "_OTHER"
    } else {
        r.method
    };
    let mut attrs = vec![string("http.request.method", method)];
    if r.path != UNMATCHED {
        attrs.push(string("http.route", r.path));
    }
    if let Some(scheme) = r.protocol.scheme {
        attrs.push(string("url.scheme", scheme));
    }
    if let Some(version) = r.protocol.version {
        attrs.push(string("network.protocol.version", version));
    }
    attrs
}

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
