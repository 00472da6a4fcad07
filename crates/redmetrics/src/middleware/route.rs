//! The `path` label: a route template, never the raw request path.

use http::{Extensions, HeaderMap, Method, Uri};

/// What a [`Classify`] implementation may look at.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The request URI.
    pub uri: &'a Uri,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The request extensions (axum puts `MatchedPath` here).
    pub extensions: &'a Extensions,
}

/// Maps a request to its route template, or `None` when no route matched (recorded as
/// [`UNMATCHED`](crate::contract::UNMATCHED)). Runs on every request: keep it allocation-free.
///
/// Closures returning `'static` templates implement it, for stacks without axum's router:
///
/// ```
/// use redmetrics::middleware::{Classify, RequestParts};
///
/// let classify = |req: RequestParts<'_>| -> Option<&'static str> {
///     let path = req.uri.path();
///     match path {
///         "/v1/campaigns" => Some("/v1/campaigns"),
///         p if p.starts_with("/v1/campaigns/") => Some("/v1/campaigns/{id}"),
///         _ => None,
///     }
/// };
/// # fn takes(_: impl Classify) {}
/// # takes(classify);
/// ```
pub trait Classify: Send + Sync + 'static {
    /// The template for this request, borrowed from the request or from `self`.
    fn route<'a>(&'a self, req: RequestParts<'a>) -> Option<&'a str>;
}

impl<F> Classify for F
where
    F: Fn(RequestParts<'_>) -> Option<&'static str> + Send + Sync + 'static,
{
    fn route<'a>(&'a self, req: RequestParts<'a>) -> Option<&'a str> {
        self(req)
    }
}

/// Reads axum's `MatchedPath`, which `Router` inserts before calling a route's layers.
/// Example: [`middleware`](crate::middleware) (the default classifier with feature `axum`).
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
#[derive(Debug, Default, Clone, Copy)]
pub struct MatchedPathRoute;

#[cfg(feature = "axum")]
impl Classify for MatchedPathRoute {
    #[inline]
    fn route<'a>(&'a self, req: RequestParts<'a>) -> Option<&'a str> {
        req.extensions
            .get::<axum::extract::MatchedPath>()
            .map(axum::extract::MatchedPath::as_str)
    }
}
