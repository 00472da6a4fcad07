//! `redmetrics check`: the seed's verification checklist as one command, in three modes:
//! a live endpoint (`URL`), Kubernetes manifests (`--manifests`), or a Prometheus server
//! (`--prometheus`). Exit codes: 0 every check passed, 1 a check failed, 2 it could not run.

mod endpoint;
mod fetch;
mod manifests;
mod prometheus;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::config::Config;

/// Options of `redmetrics check`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct CheckArgs {
    /// A metrics endpoint to scrape and judge, e.g. http://127.0.0.1:3000/metrics.
    pub(crate) url: Option<String>,
    /// The metric prefix (default: inferred from `<prefix>_http_requests_total`).
    #[arg(long)]
    pub(crate) prefix: Option<String>,
    /// Lint these manifests (files, folders, a chart folder, or `-` for standard input).
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub(crate) manifests: Vec<String>,
    /// With --manifests: the path every ServiceMonitor must scrape.
    #[arg(long)]
    pub(crate) metrics_path: Option<String>,
    /// With --manifests: a redmetrics.toml naming each app's Service, path and prefix.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// With --manifests: the kube-prometheus-stack release whose `release` label objects need.
    #[arg(long)]
    pub(crate) stack_release: Option<String>,
    /// With --manifests: namespace of objects that name none (as `helm template -n`).
    #[arg(long, default_value = "default")]
    pub(crate) namespace: String,
    /// A Prometheus server to ask, e.g. http://127.0.0.1:9090.
    #[arg(long, requires = "job")]
    pub(crate) prometheus: Option<String>,
    /// With --prometheus: the job label of the app's targets (the Service name).
    #[arg(long)]
    pub(crate) job: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub(crate) format: OutputFormat,
}

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    Human,
    Json,
}

/// Runs the one mode the arguments select and prints its report.
pub(crate) fn run(args: CheckArgs) -> Result<ExitCode> {
    let modes = usize::from(args.url.is_some())
        + usize::from(!args.manifests.is_empty())
        + usize::from(args.prometheus.is_some());
    if modes != 1 {
        bail!(
            "give exactly one of: a URL to scrape, --manifests PATH..., or --prometheus URL --job NAME"
        );
    }
    let report = if let Some(url) = &args.url {
        runtime()?
            .block_on(endpoint::check(url, args.prefix.as_deref()))
            .map_err(|e| anyhow::anyhow!("cannot scrape: {e}"))?
    } else if let Some(base) = &args.prometheus {
        let job = args.job.as_deref().unwrap_or_default();
        runtime()?
            .block_on(prometheus::check(base, job, args.prefix.as_deref()))
            .map_err(|e| anyhow::anyhow!("cannot ask Prometheus: {e}"))?
    } else {
        let apps = match &args.config {
            Some(path) => Config::load(path)?,
            None => Vec::new(),
        };
        let expect = manifests::Expectations {
            metrics_path: args.metrics_path.clone(),
            apps,
            stack_release: args.stack_release.clone(),
            prefix: args.prefix.clone(),
            namespace: args.namespace.clone(),
        };
        manifests::check(&args.manifests, &expect).map_err(anyhow::Error::msg)?
    };
    match args.format {
        OutputFormat::Human => crate::output::out!("{}", report.human())?,
        OutputFormat::Json => crate::output::outln!("{}", serde_json::to_string_pretty(&report)?)?,
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
