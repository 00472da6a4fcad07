//! Backslash escapes in HELP text and label values. Text 0.0.4 knows `\\`, `\n` and (in label
//! values) `\"`, and Prometheus rejects any other; OpenMetrics knows `\\`, `\n` and `\"` in
//! both places and keeps any other backslash as written, as its conformance suite requires.

/// Which format's escaping rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Prometheus text 0.0.4.
    Text,
    /// OpenMetrics 1.0.
    OpenMetrics,
}

/// What a backslash followed by one byte stands for.
pub(crate) enum Escaped {
    /// This byte.
    Byte(u8),
    /// The backslash and the byte, as written.
    Verbatim,
    /// Nothing: the sequence is an error.
    Invalid,
}

impl Dialect {
    /// The meaning of `\` + `next` in a label value (`label`) or HELP text.
    pub(crate) fn escape(self, next: u8, label: bool) -> Escaped {
        match (next, self) {
            (b'\\', _) => Escaped::Byte(b'\\'),
            (b'n', _) => Escaped::Byte(b'\n'),
            (b'"', Self::OpenMetrics) => Escaped::Byte(b'"'),
            (b'"', Self::Text) if label => Escaped::Byte(b'"'),
            (_, Self::OpenMetrics) => Escaped::Verbatim,
            (_, Self::Text) => Escaped::Invalid,
        }
    }
}

/// Unescapes HELP text; a lone backslash at the end is an error in text 0.0.4, kept in
/// OpenMetrics.
pub(crate) fn help_text(raw: &[u8], dialect: Dialect) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(&e) => match dialect.escape(e, false) {
                Escaped::Byte(u) => out.push(u),
                Escaped::Verbatim => out.extend_from_slice(&[b'\\', e]),
                Escaped::Invalid => {
                    return Err(format!("invalid escape sequence '\\{}'", e as char));
                }
            },
            None if dialect == Dialect::OpenMetrics => out.push(b'\\'),
            None => return Err("unexpected end of input stream".into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_keeps_its_own_escapes() {
        let raw = br#"a\\b\nc\"d"#;
        assert_eq!(help_text(raw, Dialect::OpenMetrics).unwrap(), b"a\\b\nc\"d");
        assert!(help_text(raw, Dialect::Text).is_err(), "\\\" in text HELP");
        assert_eq!(
            help_text(br"x\ty\", Dialect::OpenMetrics).unwrap(),
            br"x\ty\"
        );
        assert!(help_text(br"x\ty", Dialect::Text).is_err());
        assert!(help_text(br"x\", Dialect::Text).is_err());
    }
}
