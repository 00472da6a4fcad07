//! The response future: hands the record to the response body once headers exist.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;

use super::body::ResponseBody;
use super::record::Recorder;
use crate::contract::STATUS_PANIC;

pin_project! {
    /// Resolves to the inner response with its body wrapped in [`ResponseBody`]. Dropped
    /// before that, it records the request as 499 (or 500 while unwinding from a panic).
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        recorder: Option<Recorder>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, recorder: Option<Recorder>) -> Self {
        Self { inner, recorder }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let mut recorder = this.recorder.take();
        Poll::Ready(match result {
            Ok(response) => {
                if let Some(r) = recorder.as_mut() {
                    r.responded(response.status().as_u16());
                }
                Ok(response.map(|body| ResponseBody::new(body, recorder)))
            }
            Err(e) => {
                // No response from us: whatever turns the error into one decides the status;
                // record it as the server error it will almost always become.
                if let Some(mut r) = recorder {
                    r.responded(STATUS_PANIC);
                }
                Err(e)
            }
        })
    }
}
