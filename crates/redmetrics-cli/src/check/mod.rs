//! `redmetrics check`: a deployment's verification checklist as one command, with one subcommand
//! per target: `endpoint URL` (a live scrape), `manifests PATH...` (Kubernetes objects,
//! rules, dashboards) and `prometheus URL --job J` (a Prometheus server). Each judges against
//! a contract: an app of a `redmetrics.toml` (`--config FILE --app NAME`), or the default
//! contract of a prefix. `alertmanager URL` follows the app's generated alerts through a
//! running Alertmanager's routing tree to the receivers that notify someone. Exit codes: 0 every check passed, 1 a check failed, 2 it could not
//! run.

mod alertmanager;
mod endpoint;
mod error;
pub(crate) mod fetch;
mod http_client;
mod limits;
mod manifests;
mod matchers;
mod prometheus;
mod prometheus3;
mod protobuf;
mod report;
mod series;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use redmetrics::collect::{Desc, MetricType};
use redmetrics::contract::{Contract, FamilySpec, Role};

pub(crate) use self::error::CheckError;
use self::report::Report;
use crate::config::{self, Config, ConfigError, Resolved};

/// Options of `redmetrics check`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct CheckArgs {
    #[command(subcommand)]
    pub(crate) target: Target,
}

/// What to check.
#[derive(Debug, Clone, clap::Subcommand)]
pub(crate) enum Target {
    /// Scrape a live metrics endpoint as Prometheus would and judge what it serves.
    Endpoint(EndpointArgs),
    /// Lint ServiceMonitors, Services, PrometheusRules and dashboards (files, folders, `-`).
    Manifests(ManifestsArgs),
    /// Ask a Prometheus server whether the app's target is up and its metrics arrive.
    Prometheus(PrometheusArgs),
    /// Ask a running Alertmanager whether each of the app's alerts reaches someone.
    Alertmanager(AlertmanagerArgs),
}

/// The contract to judge against: the contract flags of every check, declared once.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ContractArgs {
    /// The metric prefix (default: inferred from what is checked, e.g.
    /// `<prefix>_http_requests_total`).
    #[arg(long, conflicts_with = "config")]
    pub(crate) prefix: Option<String>,
    /// Judge against an app of this redmetrics.toml: its prefix, path, Service and exact
    /// contract.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// With --config: which app (needed when the file has several, except for `manifests`,
    /// which then judges every app).
    #[arg(long, value_name = "NAME", requires = "config")]
    pub(crate) app: Option<String>,
}

impl ContractArgs {
    /// With --config: the app named by --app, or every app of the file.
    fn apps(&self) -> Result<Vec<Resolved>> {
        let Some(path) = &self.config else {
            return Ok(Vec::new());
        };
        let config = Config::load(path)?;
        Ok(match &self.app {
            None => config.apps,
            Some(_) => vec![self.one_app(path, &config)?],
        })
    }

    /// The app named by --app, or the only one of `config`.
    fn one_app(&self, path: &std::path::Path, config: &Config) -> Result<Resolved> {
        config
            .app(self.app.as_deref())
            .cloned()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}

/// How the report is printed.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub(crate) format: OutputFormat,
}

/// Options of `redmetrics check endpoint`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct EndpointArgs {
    /// The metrics endpoint, e.g. http://127.0.0.1:3000/metrics (no scheme: http://).
    pub(crate) url: String,
    /// Send `Authorization: Bearer TOKEN` (also --bearer-token-file, or the environment
    /// variable REDMETRICS_BEARER_TOKEN).
    #[arg(long, value_name = "TOKEN", conflicts_with = "bearer_token_file")]
    pub(crate) bearer_token: Option<String>,
    /// Read the bearer token from this file (its trailing newline is dropped).
    #[arg(long, value_name = "FILE")]
    pub(crate) bearer_token_file: Option<PathBuf>,
    /// Trust only the CA certificates of this PEM file for https:// (default: the system's).
    #[arg(long, value_name = "FILE")]
    pub(crate) cacert: Option<PathBuf>,
    /// An extra request header, `'Name: value'` (repeatable).
    #[arg(long = "header", value_name = "'NAME: VALUE'")]
    pub(crate) headers: Vec<String>,
    /// Largest body read per scrape (bytes, or KiB/MiB/GiB); a larger one fails the check.
    #[arg(long, value_name = "SIZE", default_value = http_client::DEFAULT_MAX_BODY, value_parser = limits::parse_size)]
    pub(crate) max_body_size: usize,
    /// Seconds the whole check may take (it scrapes three times, 1 s apart).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub(crate) timeout: u64,
    #[command(flatten)]
    pub(crate) contract: ContractArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// Options of `redmetrics check manifests`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ManifestsArgs {
    /// Files, folders, a chart folder, or `-` for standard input.
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<String>,
    /// The path every ServiceMonitor must scrape (default: each app's, from --config).
    #[arg(long)]
    pub(crate) metrics_path: Option<String>,
    /// The kube-prometheus-stack release whose `release` label objects need.
    #[arg(long)]
    pub(crate) stack_release: Option<String>,
    /// Namespace of objects that name none (as `helm template -n`).
    #[arg(long, default_value = "default")]
    pub(crate) namespace: String,
    #[command(flatten)]
    pub(crate) contract: ContractArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// Options of `redmetrics check prometheus`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct PrometheusArgs {
    /// The Prometheus server, e.g. http://127.0.0.1:9090.
    pub(crate) url: String,
    /// The job label of the app's targets (the Service name; default: the app's, from
    /// --config).
    #[arg(long, required_unless_present = "config")]
    pub(crate) job: Option<String>,
    #[command(flatten)]
    pub(crate) contract: ContractArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// Options of `redmetrics check alertmanager`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct AlertmanagerArgs {
    /// The Alertmanager, e.g. http://127.0.0.1:9093.
    pub(crate) url: String,
    /// Seconds the whole check may take (reading the configuration and following every alert).
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) timeout: u64,
    #[command(flatten)]
    pub(crate) contract: ContractArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    Human,
    Json,
}

/// What the endpoint and Prometheus checks judge against.
#[derive(Debug, Clone)]
pub(crate) enum Expected {
    /// The default contract of the prefix the target exports; sizes may be either type.
    Inferred,
    /// The default contract of this prefix; sizes may be either type.
    Prefix(String),
    /// Exactly this app's contract: types, buckets and quantiles.
    App(Box<Resolved>),
}

impl Expected {
    fn from_args(args: &ContractArgs) -> Result<Self> {
        Ok(match (&args.config, &args.prefix) {
            (Some(path), _) => Self::App(Box::new(args.one_app(path, &Config::load(path)?)?)),
            (None, Some(prefix)) => Self::Prefix(prefix.clone()),
            (None, None) => Self::Inferred,
        })
    }

    /// The app, when judged against a configured one.
    pub(crate) fn app(&self) -> Option<&Resolved> {
        match self {
            Self::App(r) => Some(r),
            _ => None,
        }
    }

    /// The prefix given or configured, if any.
    pub(crate) fn prefix(&self) -> Option<&str> {
        match self {
            Self::Inferred => None,
            Self::Prefix(p) => Some(p),
            Self::App(r) => Some(r.prefix()),
        }
    }

    /// The contract for `prefix` (the one found, or the one given) and whether it is exact.
    pub(crate) fn contract(&self, prefix: &str) -> Result<(Contract, bool), ConfigError> {
        match self {
            Self::App(r) => Ok((r.contract.clone(), true)),
            _ => Ok((config::default_contract(prefix)?, false)),
        }
    }
}

/// The series names a contract family has in Prometheus. Unless `exact`, a size family may be
/// a summary or a histogram (a prefix alone does not say which), so both sets count.
pub(crate) fn sample_names(family: &FamilySpec, exact: bool) -> Vec<String> {
    let mut names = family.desc().sample_names();
    if !exact && matches!(family.role(), Role::RequestSize | Role::ResponseSize) {
        let desc = family.desc();
        for kind in [MetricType::Histogram, MetricType::Summary] {
            if let Ok(as_kind) = Desc::new(desc.name(), desc.help(), kind) {
                names.extend(as_kind.sample_names());
            }
        }
        names.sort();
        names.dedup();
    }
    names
}

/// Runs the selected check and prints its report.
pub(crate) fn run(args: CheckArgs) -> Result<ExitCode> {
    let (report, output) = match &args.target {
        Target::Endpoint(a) => (check_endpoint(a)?, &a.output),
        Target::Prometheus(a) => (check_prometheus(a)?, &a.output),
        Target::Alertmanager(a) => (check_alertmanager(a)?, &a.output),
        Target::Manifests(a) => (check_manifests(a)?, &a.output),
    };
    match output.format {
        OutputFormat::Human => crate::output::out!("{}", report.human())?,
        OutputFormat::Json => crate::output::outln!("{}", serde_json::to_string_pretty(&report)?)?,
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `check endpoint`: scrapes the URL within `--timeout` with the token, headers and CA given.
fn check_endpoint(a: &EndpointArgs) -> Result<Report> {
    let expected = Expected::from_args(&a.contract)?;
    let token = crate::secret::token(
        a.bearer_token.as_deref(),
        a.bearer_token_file.as_deref(),
        "--bearer-token-file",
        http_client::TOKEN_ENV,
    )
    .map_err(anyhow::Error::msg)?;
    let scraper = http_client::Scraper::new(
        &a.headers,
        token.as_deref(),
        a.max_body_size,
        a.cacert.as_deref(),
    )
    .map_err(anyhow::Error::msg)?;
    let url = http_client::with_scheme(&a.url);
    let deadline = std::time::Duration::from_secs(a.timeout);
    runtime()?
        .block_on(async {
            tokio::time::timeout(deadline, endpoint::check(&url, &expected, &scraper))
                .await
                .unwrap_or(Err(CheckError::Deadline {
                    url: url.clone(),
                    seconds: a.timeout,
                }))
        })
        .map_err(|e| anyhow::anyhow!("cannot scrape: {e}"))
}

/// `check prometheus`: the job given, else the configured app's.
fn check_prometheus(a: &PrometheusArgs) -> Result<Report> {
    let expected = Expected::from_args(&a.contract)?;
    let job = match (&a.job, expected.app()) {
        (Some(job), _) => job.clone(),
        (None, Some(app)) => app.job.clone(),
        (None, None) => anyhow::bail!("name the job with --job (the Service name)"),
    };
    runtime()?
        .block_on(prometheus::check(&a.url, &job, &expected))
        .map_err(|e| anyhow::anyhow!("cannot ask Prometheus: {e}"))
}

/// `check alertmanager`: the configured app's alerts, or those of a bare prefix's app.
fn check_alertmanager(a: &AlertmanagerArgs) -> Result<Report> {
    let app = match Expected::from_args(&a.contract)? {
        Expected::App(r) => *r,
        Expected::Prefix(p) => config::prefix_app(&p, "/metrics")
            .map_err(|e| anyhow::anyhow!("--prefix: {}", e.rule))?,
        Expected::Inferred => anyhow::bail!(
            "name the app whose alerts to follow: --config redmetrics.toml --app NAME \
             (or --prefix for the default contract's)"
        ),
    };
    runtime()?
        .block_on(alertmanager::check(
            &a.url,
            &app,
            std::time::Duration::from_secs(a.timeout),
        ))
        .map_err(|e| anyhow::anyhow!("cannot ask Alertmanager: {e}"))
}

/// `check manifests`: every configured app (or the one named), else the prefix given or found.
fn check_manifests(a: &ManifestsArgs) -> Result<Report> {
    let expect = manifests::Expectations {
        metrics_path: a.metrics_path.clone(),
        apps: a.contract.apps()?,
        stack_release: a.stack_release.clone(),
        prefix: a.contract.prefix.clone(),
        namespace: a.namespace.clone(),
    };
    Ok(manifests::check(&a.paths, &expect)?)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_APPS: &str = r#"
[[apps]]
name = "shop"
namespace = "shop"
service = "shop-server"
port = "http"

[[apps]]
name = "cart"
namespace = "cart"
service = "cart-server"
port = "http"
"#;

    fn contract_args(config: Option<PathBuf>, app: Option<&str>) -> ContractArgs {
        ContractArgs {
            prefix: None,
            config,
            app: app.map(str::to_owned),
        }
    }

    fn names(apps: &[Resolved]) -> Vec<&str> {
        apps.iter().map(|r| r.app.name.as_str()).collect()
    }

    fn shop_app() -> Expected {
        Expected::App(Box::new(config::prefix_app("shop", "/metrics").unwrap()))
    }

    #[test]
    fn the_apps_of_a_config_are_every_app_or_the_one_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redmetrics.toml");
        std::fs::write(&path, TWO_APPS).unwrap();
        let all = contract_args(Some(path.clone()), None).apps().unwrap();
        assert_eq!(names(&all), ["shop", "cart"]);
        let one = contract_args(Some(path.clone()), Some("cart"))
            .apps()
            .unwrap();
        assert_eq!(names(&one), ["cart"]);
        let e = contract_args(Some(path), Some("billing"))
            .apps()
            .unwrap_err();
        assert!(e.to_string().contains("redmetrics.toml: "), "{e}");
        assert!(contract_args(None, None).apps().unwrap().is_empty());
    }

    #[test]
    fn expected_says_its_app_and_prefix() {
        assert!(Expected::Inferred.app().is_none());
        assert!(Expected::Prefix("shop".to_owned()).app().is_none());
        assert_eq!(shop_app().app().map(|r| r.app.name.as_str()), Some("shop"));
        assert_eq!(Expected::Inferred.prefix(), None);
        assert_eq!(Expected::Prefix("cart".to_owned()).prefix(), Some("cart"));
        assert_eq!(shop_app().prefix(), Some("shop"));
    }

    #[test]
    fn only_a_configured_app_gives_an_exact_contract() {
        let (c, exact) = shop_app().contract("ignored").unwrap();
        assert_eq!((c.prefix().as_str(), exact), ("shop", true));
        let (c, exact) = Expected::Prefix("cart".to_owned())
            .contract("cart")
            .unwrap();
        assert_eq!((c.prefix().as_str(), exact), ("cart", false));
        let (c, exact) = Expected::Inferred.contract("billing").unwrap();
        assert_eq!((c.prefix().as_str(), exact), ("billing", false));
        assert!(Expected::Inferred.contract("bill-ing").is_err());
    }

    fn sorted(mut names: Vec<String>) -> Vec<String> {
        names.sort();
        names
    }

    #[test]
    fn a_size_family_may_be_either_type_unless_exact() {
        let contract = config::default_contract("shop").unwrap();
        assert_eq!(
            sample_names(contract.request_size(), false),
            [
                "shop_http_request_size_bytes",
                "shop_http_request_size_bytes_bucket",
                "shop_http_request_size_bytes_count",
                "shop_http_request_size_bytes_sum",
            ]
        );
        assert_eq!(
            sorted(sample_names(contract.response_size(), true)),
            [
                "shop_http_response_size_bytes",
                "shop_http_response_size_bytes_count",
                "shop_http_response_size_bytes_sum",
            ]
        );
        assert_eq!(
            sorted(sample_names(contract.duration(), false)),
            [
                "shop_http_request_duration_seconds_bucket",
                "shop_http_request_duration_seconds_count",
                "shop_http_request_duration_seconds_sum",
            ]
        );
        assert_eq!(
            sample_names(contract.requests(), false),
            ["shop_http_requests_total"]
        );
        assert_eq!(
            sample_names(contract.build_info(), true),
            ["shop_build_info"]
        );
    }
}
