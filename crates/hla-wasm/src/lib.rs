//! The wasm-bindgen binding of hla-core: memory in and out, errors to JS. No math here.
//!
//! Argument errors are returned ([`error::Error`] → a thrown JS `RangeError`); a panic is a
//! bug, and its message is kept for [`last_panic`] so the facade can report it instead of an
//! opaque `unreachable` trap. Test and benchmark hooks exist only with the `testing` feature.

use std::cell::RefCell;
use wasm_bindgen::prelude::*;

mod config;
mod engine;
mod error;
mod segment;
mod session;
#[cfg(feature = "testing")]
mod testing;

pub use config::Config;
pub use engine::Engine;
pub use segment::SegmentScan;
pub use session::Session;

thread_local! {
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        LAST_PANIC.with(|p| *p.borrow_mut() = info.to_string());
    }));
}

/// The message of the last Rust panic (empty if none): read by the facade after a trap.
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> String {
    LAST_PANIC.with(|p| p.borrow().clone())
}

/// The SIMD flavour this module was compiled for: "relaxed", "simd128" or "scalar".
#[wasm_bindgen]
pub fn backend() -> String {
    use hla_core::simd::Simd;
    hla_core::simd::Isa::NAME.to_string()
}

/// Per-token inputs handed over one by one (`setInput(i, data)`, in the operator's input
/// order) before the call that reads them; the call takes them.
#[derive(Default)]
pub(crate) struct Staged(Vec<Vec<f32>>);

impl Staged {
    pub fn set(&mut self, index: u32, data: Vec<f32>) {
        let i = index as usize;
        if self.0.len() <= i {
            self.0.resize_with(i + 1, Vec::new);
        }
        self.0[i] = data;
    }
    /// The staged inputs (validation checks their number and lengths), cleared afterwards.
    pub fn take<T>(&mut self, f: impl FnOnce(&[&[f32]]) -> T) -> T {
        let staged = core::mem::take(&mut self.0);
        let views: Vec<&[f32]> = staged.iter().map(|v| v.as_slice()).collect();
        f(&views)
    }
}
