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
mod grafana;
mod hints;
mod init;
mod output;
mod promql;
mod secret;
mod servicemonitor;
mod severity;
mod shell;
mod tether;
mod url;

use std::io::IsTerminal;
use std::process::ExitCode;

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
    Generate(generate::GenerateArgs),
    /// Verify a live endpoint, Kubernetes manifests or a Prometheus server against the contract.
    Check(check::CheckArgs),
    #[command(flatten)]
    Shell(shell::ShellCommand),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let e = hints::with_hint(e, &args);
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
        Command::Generate(args) => generate::run(&args),
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
