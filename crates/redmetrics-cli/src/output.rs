//! Writing to stdout without panicking when the reader has gone: `println!` panics on a
//! closed pipe (`redmetrics check --format json | head`). As ripgrep does, a broken pipe
//! ends the output quietly; the command still exits with its own verdict.

use std::fmt;
use std::io::{self, Write};

/// Writes `args` to stdout and flushes; a reader that went away is not an error.
pub(crate) fn write(args: fmt::Arguments<'_>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// `print!` that returns an `io::Result` instead of panicking on a closed stdout.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write(format_args!($($arg)*)) };
}

/// `println!` that returns an `io::Result` instead of panicking on a closed stdout.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::output::write(format_args!("{}\n", format_args!($($arg)*))) };
}

pub(crate) use {out, outln};
