//! The `redmetrics` command.
//!
//! Exit codes follow ripgrep and ruff: 0 success, 1 a check failed, 2 the command could not
//! run (bad arguments, unreachable peers, unreadable input).
// stdout goes through `output`, which survives a closed pipe; `println!` would panic.
#![deny(clippy::print_stdout)]

mod check;
mod config;
mod demo;
mod generate;
mod init;
mod output;
mod promql;
mod secret;
mod severity;
mod shell;
mod tether;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use clap::{Parser, Subcommand};

/// Prometheus RED metrics for HTTP services, end to end.
#[derive(Debug, Parser)]
#[command(name = "redmetrics", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an example instrumented API, with metrics, to try everything on.
    Demo(demo::DemoArgs),
    /// Start here for a service of your own: write a commented `redmetrics.toml` for it.
    Init(init::InitArgs),
    /// Write dashboards, alert rules, ServiceMonitors and the Helm chart from the contract.
    Generate(GenerateArgs),
    /// Verify a live endpoint, Kubernetes manifests or a Prometheus server against the contract.
    Check(check::CheckArgs),
    #[command(flatten)]
    Shell(shell::ShellCommand),
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// The configuration describing the apps (`redmetrics init` writes one).
    #[arg(long, default_value = "redmetrics.toml")]
    config: PathBuf,
    /// Directory to write into.
    #[arg(long, default_value = "deploy")]
    out: PathBuf,
    /// Write nothing; exit 1 if the files under --out differ from what would be written.
    #[arg(long)]
    check: bool,
}

fn generate(args: GenerateArgs) -> Result<ExitCode> {
    if matches!(args.config.try_exists(), Ok(false)) {
        anyhow::bail!(
            "{} not found: start with `redmetrics init --name NAME --namespace NAMESPACE --service SERVICE --port PORT_NAME`, which writes it for your service, or point --config at your configuration",
            args.config.display()
        );
    }
    let config = config::Config::load(&args.config)?;
    let artifacts = generate::artifacts(&config.apps)?;
    if args.check {
        let drift = generate::drift(&args.out, &artifacts);
        if drift.is_empty() {
            output::outln!(
                "{} files under {} are up to date",
                artifacts.len(),
                args.out.display()
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        output::outln!("these files differ from what `redmetrics generate` writes:")?;
        for path in drift {
            output::outln!("  {}", args.out.join(path).display())?;
        }
        output::outln!(
            "run `redmetrics generate --config {} --out {}` and commit the result",
            args.config.display(),
            args.out.display()
        )?;
        return Ok(ExitCode::from(1));
    }
    generate::write(&args.out, &artifacts)?;
    output::outln!(
        "wrote {} files under {}",
        artifacts.len(),
        args.out.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Flags people reach for that mean something else here, by subcommand: the flag, the one
/// to use instead (clap's "similar argument"), and a tip.
const FLAG_HINTS: [(&str, &str, &str, &str); 6] = [
    (
        "demo",
        "--prometheus",
        "--with-prometheus",
        "`--with-prometheus` starts a local Prometheus; `--prometheus-listen` only sets where",
    ),
    (
        "demo",
        "--port",
        "--listen",
        "give the whole address: `--listen 127.0.0.1:3000`",
    ),
    (
        "demo",
        "--host",
        "--listen",
        "give the whole address: `--listen 0.0.0.0:3000`",
    ),
    (
        "check",
        "--manifests",
        "",
        "checks are subcommands: `redmetrics check manifests PATH...`",
    ),
    (
        "check",
        "--prometheus",
        "",
        "checks are subcommands: `redmetrics check prometheus URL --job JOB`",
    ),
    (
        "check",
        "--config",
        "",
        "give the target first: `redmetrics check endpoint URL --config FILE --app NAME`",
    ),
];

/// Adds the hint of [`FLAG_HINTS`] to an "unexpected argument" error.
fn with_hint(mut e: clap::Error, args: &[String]) -> clap::Error {
    use clap::builder::StyledStr;
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::UnknownArgument {
        return e;
    }
    let Some(ContextValue::String(invalid)) = e.get(ContextKind::InvalidArg) else {
        return e;
    };
    let flag = invalid.split('=').next().unwrap_or_default().to_owned();
    let command = args.get(1).map(String::as_str).unwrap_or_default();
    if let Some((_, _, instead, tip)) = FLAG_HINTS
        .iter()
        .find(|(c, f, _, _)| *c == command && *f == flag)
    {
        if !instead.is_empty() {
            e.insert(
                ContextKind::SuggestedArg,
                ContextValue::String((*instead).to_owned()),
            );
            // clap's usage line would show the similar argument it guessed.
            e.insert(
                ContextKind::Usage,
                ContextValue::StyledStr(StyledStr::from(format!(
                    "Usage: redmetrics {command} [OPTIONS]"
                ))),
            );
        }
        e.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![StyledStr::from(*tip)]),
        );
    }
    e
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let e = with_hint(e, &args);
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let result = match cli.command {
        Command::Demo(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(demo::run(args)))
            .map(|()| ExitCode::SUCCESS),
        Command::Init(args) => init::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Generate(args) => generate(args),
        Command::Check(args) => check::run(args),
        Command::Shell(command) => shell::run(command, <Cli as clap::CommandFactory>::command()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("redmetrics: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
