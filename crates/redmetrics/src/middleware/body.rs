//! Body wrappers that count bytes frame by frame and notice when a body ends or is dropped.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::record::{Recorder, RequestMeter, Tally};

/// What `poll_frame` returns for a body `B`.
type Polled<B> = Poll<Option<Result<Frame<<B as Body>::Data>, <B as Body>::Error>>>;

/// Polls `inner`, adding data bytes to `tally` and dropping it (which records) as soon as the
/// body has ended: after its last frame, on an error (marked as failed first), or at the end
/// of the stream.
fn poll_counted<B: Body, T: Tally>(
    mut inner: Pin<&mut B>,
    tally: &mut Option<T>,
    cx: &mut Context<'_>,
) -> Polled<B> {
    let frame = ready!(inner.as_mut().poll_frame(cx));
    match &frame {
        Some(Ok(f)) => {
            if let (Some(t), Some(data)) = (tally.as_mut(), f.data_ref()) {
                t.add(data.remaining());
            }
            if inner.is_end_stream() {
                // Dropped where it lies (records): `take()` would move it out first.
                *tally = None;
            }
        }
        Some(Err(_)) => {
            if let Some(t) = tally.as_mut() {
                t.failed();
            }
            *tally = None;
        }
        None => *tally = None,
    }
    Poll::Ready(frame)
}

pin_project! {
    /// A request body that counts the bytes the handler reads. The size is recorded when the
    /// body ends or is dropped (a handler that never reads it records 0).
    #[derive(Debug)]
    // The meter before the body: the wrapped request is then the old request's head, the
    // meter, and the old body, and the head moves in one copy instead of two (the compiler
    // merged head and body into one 256-byte copy through a temporary otherwise).
    #[repr(C)]
    pub struct RequestBody<B> {
        meter: Option<RequestMeter>,
        #[pin]
        inner: B,
    }
}

impl<B> RequestBody<B> {
    pub(crate) fn new(inner: B, meter: Option<RequestMeter>) -> Self {
        Self { inner, meter }
    }

    /// The wrapped body.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: Body> Body for RequestBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        poll_counted(this.inner, this.meter, cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// A response body that counts the bytes sent and finishes the request's record when the
    /// last frame is produced, on error, or when dropped mid-stream.
    #[derive(Debug)]
    // The record first, as in `RequestBody`: fewer moves when the response is re-wrapped.
    #[repr(C)]
    pub struct ResponseBody<B> {
        recorder: Option<Recorder>,
        #[pin]
        inner: B,
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn new(inner: B, recorder: Option<Recorder>) -> Self {
        Self { inner, recorder }
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        poll_counted(this.inner, this.recorder, cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
