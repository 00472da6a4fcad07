//! `redmetrics generate`: the subcommand's arguments and its run, reading the config and
//! writing (or, with `--check`, comparing) the artifacts the rest of this module builds.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::config::Config;
use crate::output::outln;

/// `redmetrics generate`'s arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct GenerateArgs {
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

/// Writes every app's artifacts under `--out`, or with `--check` compares them with what is
/// there (exit 1 when they differ).
pub(crate) fn run(args: &GenerateArgs) -> Result<ExitCode> {
    if matches!(args.config.try_exists(), Ok(false)) {
        anyhow::bail!(
            "{} not found: start with `redmetrics init --name NAME --namespace NAMESPACE --service SERVICE --port PORT_NAME`, which writes it for your service, or point --config at your configuration",
            args.config.display()
        );
    }
    let config = Config::load(&args.config)?;
    let artifacts = super::artifacts(&config.apps)?;
    if args.check {
        let drift = super::drift(&args.out, &artifacts);
        if drift.is_empty() {
            outln!(
                "{} files under {} are up to date",
                artifacts.len(),
                args.out.display()
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        outln!("these files differ from what `redmetrics generate` writes:")?;
        for path in drift {
            outln!("  {}", args.out.join(path).display())?;
        }
        outln!(
            "run `redmetrics generate --config {} --out {}` and commit the result",
            args.config.display(),
            args.out.display()
        )?;
        return Ok(ExitCode::from(1));
    }
    super::write(&args.out, &artifacts)?;
    outln!(
        "wrote {} files under {}",
        artifacts.len(),
        args.out.display()
    )?;
    Ok(ExitCode::SUCCESS)
}
