//! The part of [wasm-streams](https://crates.io/crates/wasm-streams) 0.5 that server_fn's
//! "browser" client calls — `ReadableStream::{from_raw, into_raw, from_stream, into_stream}` —
//! put in its place by the root Cargo.toml's `[patch.crates-io]`.
//!
//! Why: leptos always builds server_fn with that feature, so wasm-streams is linked into the
//! SPA although it has no server functions. wasm-streams exports three classes to JavaScript
//! (`IntoUnderlyingSource`, `…ByteSource`, `…Sink`) with `#[wasm_bindgen]`; exports are roots,
//! so their code, the futures it boxes and the glue for them shipped to every visitor, even
//! after wasm-opt dropped the exports (the vtables keep them in the function table). ≈ 6.7 KB
//! of the gzipped bundle (docs/BENCHMARKS.md, "The bundle"). Everything below is generic or
//! unexported, so it costs nothing unless a server function streams.
//!
//! The same behaviour through the browser's own objects: `from_stream` gives the stream a
//! `pull` callback instead of an exported class, and `into_stream` reads with a default reader,
//! cancelled when dropped early and unlocked when dropped, as wasm-streams does.

use std::{
    cell::RefCell,
    future::Future,
    marker::PhantomData,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
};

use futures_util::{future::poll_fn, Stream};
use js_sys::{Promise, Reflect};
use wasm_bindgen::{closure::Closure, JsCast, JsValue, UnwrapThrowExt};
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{ReadableStreamDefaultController, ReadableStreamDefaultReader};

pub mod readable {
    pub use super::{IntoStream, ReadableStream};
}

/// A browser `ReadableStream`.
pub struct ReadableStream {
    raw: web_sys::ReadableStream,
}

type Pull = Closure<dyn FnMut(ReadableStreamDefaultController) -> Promise>;

impl ReadableStream {
    pub fn from_raw(raw: web_sys::ReadableStream) -> Self {
        Self { raw }
    }

    pub fn into_raw(self) -> web_sys::ReadableStream {
        self.raw
    }

    /// A browser stream of `stream`'s items; an `Err` item errors it. The browser calls
    /// `pull` again only once the promise of the last call has settled, so one item is read
    /// at a time. The callback is dropped when `stream` ends.
    pub fn from_stream<St>(stream: St) -> Self
    where
        St: Stream<Item = Result<JsValue, JsValue>> + 'static,
    {
        let stream = Rc::new(RefCell::new(Box::pin(stream)));
        let keep: Rc<RefCell<Option<Pull>>> = Rc::default();
        let pull = {
            let keep = keep.clone();
            Pull::new(move |controller: ReadableStreamDefaultController| {
                let stream = stream.clone();
                let keep = keep.clone();
                future_to_promise(async move {
                    let next = poll_fn(|cx| stream.borrow_mut().as_mut().poll_next(cx)).await;
                    if !matches!(next, Some(Ok(_))) {
                        keep.borrow_mut().take();
                    }
                    match next {
                        Some(Ok(chunk)) => controller.enqueue_with_chunk(&chunk)?,
                        Some(Err(error)) => return Err(error),
                        None => controller.close()?,
                    }
                    Ok(JsValue::UNDEFINED)
                })
            })
        };
        let source = web_sys::UnderlyingSource::new();
        source.set_pull(pull.as_ref().unchecked_ref());
        *keep.borrow_mut() = Some(pull);
        let raw = web_sys::ReadableStream::new_with_underlying_source(&source).unwrap_throw();
        Self { raw }
    }

    /// Reads the stream to its end; dropped before that, it cancels the stream. Dropped, it
    /// releases its lock on the stream either way.
    pub fn into_stream(self) -> IntoStream<'static> {
        IntoStream {
            reader: self.raw.get_reader().unchecked_into(),
            read: None,
            done: false,
            _reader: PhantomData,
        }
    }
}

/// The items of a browser stream, as [`ReadableStream::into_stream`] reads them.
pub struct IntoStream<'reader> {
    reader: ReadableStreamDefaultReader,
    read: Option<JsFuture>,
    done: bool,
    _reader: PhantomData<&'reader ()>,
}

impl Stream for IntoStream<'_> {
    type Item = Result<JsValue, JsValue>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let reader = &this.reader;
        let read = this
            .read
            .get_or_insert_with(|| JsFuture::from(reader.read()));
        let Poll::Ready(result) = Pin::new(read).poll(cx) else {
            return Poll::Pending;
        };
        this.read = None;
        let item = result.and_then(|result| {
            let done = Reflect::get(&result, &"done".into())?.is_truthy();
            (!done)
                .then(|| Reflect::get(&result, &"value".into()))
                .transpose()
        });
        match item {
            Ok(Some(chunk)) => Poll::Ready(Some(Ok(chunk))),
            Ok(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Err(error) => {
                this.done = true;
                Poll::Ready(Some(Err(error)))
            }
        }
    }
}

impl Drop for IntoStream<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.reader.cancel();
        }
        self.reader.release_lock();
    }
}
