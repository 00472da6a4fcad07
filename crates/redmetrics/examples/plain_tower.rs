//! Without axum's router: a hyper `service_fn` behind the layer, with a classifier that maps
//! paths to route templates (never returning the raw path).
//!
//! Run: `cargo run -p redmetrics --example plain_tower`.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use redmetrics::Contract;
use redmetrics::HttpMetrics;
use redmetrics::encoding::{Format, encode};
use redmetrics::middleware::RequestParts;
use tower::{Service, ServiceBuilder, ServiceExt};

fn route(req: RequestParts<'_>) -> Option<&'static str> {
    let path = req.uri.path();
    match path.strip_prefix("/v1/campaigns") {
        Some("") => Some("/v1/campaigns"),
        Some(rest) if rest.len() > 1 && !rest[1..].contains('/') => Some("/v1/campaigns/{id}"),
        _ => None,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let metrics = HttpMetrics::builder(Contract::new("reviewmaps")?)
        .classifier(route)
        .process_metrics(false)
        .build()?;
    let mut svc =
        ServiceBuilder::new()
            .layer(metrics.layer())
            .service_fn(|req: Request<_>| async move {
                let status = if route(RequestParts {
                    method: req.method(),
                    uri: req.uri(),
                    headers: req.headers(),
                    extensions: req.extensions(),
                })
                .is_some()
                {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                };
                let mut res = Response::new(Full::new(Bytes::from_static(b"hello")));
                *res.status_mut() = status;
                Ok::<_, Infallible>(res)
            });
    for path in [
        "/v1/campaigns",
        "/v1/campaigns/7",
        "/v1/campaigns/8",
        "/secret/../etc",
    ] {
        let req = Request::get(path).body(Full::new(Bytes::new()))?;
        let res = svc.ready().await?.call(req).await?;
        res.into_body().collect().await?;
    }
    print!(
        "{}",
        String::from_utf8(encode(metrics.registry(), Format::Text))?
    );
    Ok(())
}
