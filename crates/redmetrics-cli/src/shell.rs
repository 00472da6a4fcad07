//! `redmetrics completions <shell>` and `redmetrics man`: shell completion scripts and roff
//! manual pages, generated from the same clap definition as the parser so they never drift.
//! Generated on demand rather than committed, so a changed flag needs no regeneration step.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap_complete::Shell;

/// Shell integration commands (flattened into the top-level command list).
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ShellCommand {
    /// Print a completion script, e.g. `redmetrics completions bash > /etc/bash_completion.d/redmetrics`.
    Completions {
        /// The shell to complete in.
        shell: Shell,
    },
    /// Print a man page in roff, e.g. `redmetrics man | man -l -`.
    Man {
        /// A subcommand's page (`redmetrics-check(1)`) instead of the overview.
        subcommand: Option<String>,
    },
}

/// Writes the requested script or page to stdout; `cli` is the full command definition.
pub(crate) fn run(command: ShellCommand, mut cli: clap::Command) -> Result<ExitCode> {
    let mut buf = Vec::new();
    match command {
        ShellCommand::Completions { shell } => {
            let name = cli.get_name().to_owned();
            clap_complete::generate(shell, &mut cli, name, &mut buf);
        }
        ShellCommand::Man { subcommand } => {
            cli.build();
            let page = match subcommand {
                None => cli,
                Some(name) => {
                    let names: Vec<String> = cli
                        .get_subcommands()
                        .map(|s| s.get_name().to_owned())
                        .filter(|n| n != "help")
                        .collect();
                    cli.find_subcommand(&name).cloned().with_context(|| {
                        format!(
                            "no subcommand `{name}`; man pages exist for: {}",
                            names.join(", ")
                        )
                    })?
                }
            };
            clap_mangen::Man::new(page)
                .render(&mut buf)
                .context("rendering the man page")?;
        }
    }
    crate::output::write(format_args!("{}", String::from_utf8_lossy(&buf)))?;
    Ok(ExitCode::SUCCESS)
}
