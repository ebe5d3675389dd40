//! The binding's one error type (automerge-wasm's `mod error` model): every argument error a
//! method returns reaches JS as a `RangeError`, the class the TS facade's own checks throw.

use hla_core::HlaError;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = RangeError)]
    type JsRangeError;
    #[wasm_bindgen(constructor, js_class = "RangeError")]
    fn new(message: &str) -> JsRangeError;
}

/// An argument the kernels refused (or the binding could not decode).
#[derive(Debug)]
pub struct Error(HlaError);

impl Error {
    pub fn new(
        arg: &'static str,
        expected: impl Into<String>,
        actual: impl std::fmt::Display,
    ) -> Self {
        Error(HlaError::new(arg, expected, actual))
    }
}

impl From<HlaError> for Error {
    fn from(e: HlaError) -> Self {
        Error(e)
    }
}

impl From<Error> for JsValue {
    fn from(e: Error) -> JsValue {
        JsRangeError::new(&e.0.to_string()).into()
    }
}
