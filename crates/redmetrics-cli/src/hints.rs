//! Hints for flags people reach for that mean something else here, added to clap's
//! "unexpected argument" error.

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
pub(crate) fn with_hint(mut e: clap::Error, args: &[String]) -> clap::Error {
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
