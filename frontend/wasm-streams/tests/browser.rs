//! The stand-in against the browser's streams, in headless Chromium (`cargo xtask test`).
#![cfg(target_arch = "wasm32")]

use futures_util::{stream, StreamExt};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wasm_streams::ReadableStream;

wasm_bindgen_test_configure!(run_in_browser);

fn numbers(items: &[Result<f64, f64>]) -> Vec<Result<JsValue, JsValue>> {
    items
        .iter()
        .map(|item| item.map(JsValue::from).map_err(JsValue::from))
        .collect()
}

#[wasm_bindgen_test]
async fn a_stream_goes_through_the_browser_and_back() {
    let items = numbers(&[Ok(1.0), Ok(2.0), Ok(3.0)]);
    let raw = ReadableStream::from_stream(stream::iter(items.clone())).into_raw();
    let read: Vec<_> = ReadableStream::from_raw(raw).into_stream().collect().await;
    assert_eq!(read, items);
}

#[wasm_bindgen_test]
async fn an_error_item_errors_the_browser_stream() {
    let items = numbers(&[Ok(1.0), Err(7.0), Ok(2.0)]);
    let raw = ReadableStream::from_stream(stream::iter(items)).into_raw();
    let read: Vec<_> = ReadableStream::from_raw(raw).into_stream().collect().await;
    assert_eq!(read, numbers(&[Ok(1.0), Err(7.0)]));
}

#[wasm_bindgen_test]
async fn dropping_the_reader_early_cancels_the_stream() {
    let items = numbers(&[Ok(1.0), Ok(2.0)]);
    let raw = ReadableStream::from_stream(stream::iter(items)).into_raw();
    let mut read = ReadableStream::from_raw(raw.clone()).into_stream();
    assert_eq!(read.next().await, Some(Ok(JsValue::from(1.0))));
    drop(read);
    // Cancelled and released: the stream can be locked to a new reader, which finds it done.
    let rest: Vec<_> = ReadableStream::from_raw(raw).into_stream().collect().await;
    assert!(rest.is_empty());
}
