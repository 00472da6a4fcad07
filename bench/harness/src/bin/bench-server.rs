//! The benchmark router served over loopback, for wrk: `bench-server VARIANT ADDR`, where
//! VARIANT is bare, wrap-bodies, redmetrics or axum-prometheus.

use anyhow::{Context, bail};
use redmetrics_bench::{Variant, router};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(variant), Some(addr)) = (args.get(1), args.get(2)) else {
        bail!("usage: bench-server bare|wrap-bodies|redmetrics|axum-prometheus ADDR");
    };
    let Some(variant) = Variant::parse(variant) else {
        bail!("unknown variant {variant}");
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let app = router(variant);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("bind {addr}"))?;
        eprintln!("bench-server {variant:?} on http://{addr}");
        axum::serve(listener, app).await?;
        Ok(())
    })
}
