//! The `method` label: the nine standard methods, everything else as `OTHER`.

use http::Method;

/// A method label value; a closed set, so a client inventing methods cannot add series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MethodLabel {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `CONNECT`
    Connect,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
    /// `PATCH`
    Patch,
    /// Any extension method.
    Other,
}

impl MethodLabel {
    /// Classifies a request method.
    #[inline]
    pub(crate) fn of(method: &Method) -> Self {
        match *method {
            Method::GET => Self::Get,
            Method::HEAD => Self::Head,
            Method::POST => Self::Post,
            Method::PUT => Self::Put,
            Method::DELETE => Self::Delete,
            Method::CONNECT => Self::Connect,
            Method::OPTIONS => Self::Options,
            Method::TRACE => Self::Trace,
            Method::PATCH => Self::Patch,
            _ => Self::Other,
        }
    }

    /// The label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Connect => "CONNECT",
            Self::Options => "OPTIONS",
            Self::Trace => "TRACE",
            Self::Patch => "PATCH",
            Self::Other => "OTHER",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_methods_fold_into_other() {
        assert_eq!(MethodLabel::of(&Method::GET).as_str(), "GET");
        let m = Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(MethodLabel::of(&m).as_str(), "OTHER");
    }
}
