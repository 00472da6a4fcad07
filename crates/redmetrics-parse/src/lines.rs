//! Splitting an exposition into numbered lines, in one pass and without copying.

/// One line of input, without its `\n`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// 1-based line number.
    pub(crate) number: usize,
    /// The bytes of the line.
    pub(crate) bytes: &'a [u8],
    /// Whether a `\n` ended the line (false only for the last line).
    pub(crate) terminated: bool,
}

/// The lines of `input`, numbered from 1.
pub(crate) fn lines(input: &[u8]) -> impl Iterator<Item = Line<'_>> {
    let mut rest = input;
    let mut number = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        number += 1;
        let (bytes, terminated) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let line = &rest[..i];
                rest = &rest[i + 1..];
                (line, true)
            }
            None => (std::mem::take(&mut rest), false),
        };
        Some(Line {
            number,
            bytes,
            terminated,
        })
    })
}
