//! The wasm-bindgen binding of hla-core: memory in and out, errors to JS. No math here.
//!
//! Errors are returned (`Result<_, JsError>` → a thrown JS `Error`); a panic is a bug, and
//! its message is kept for [`last_panic`] so the facade can report it instead of an opaque
//! `unreachable` trap.

use hla_core::ops::{forward, state_len as core_state_len};
use hla_core::workspace::Workspace;
use hla_core::{Dims, HlaError, Mode, Op, Options};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

mod peak;
mod segment;
mod session;
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
#[wasm_bindgen]
pub fn last_panic() -> String {
    LAST_PANIC.with(|p| p.borrow().clone())
}

/// The SIMD flavour this module was compiled for: "relaxed", "simd128" or "scalar".
#[wasm_bindgen]
pub fn backend() -> String {
    use hla_core::simd::Simd;
    hla_core::simd::Isa::NAME.to_string()
}

pub(crate) fn to_js(e: HlaError) -> JsError {
    JsError::new(&e.to_string())
}

pub(crate) fn op_from(code: u32) -> Result<Op, JsError> {
    Op::from_code(code).ok_or_else(|| JsError::new(&format!("op: expected 0..3, got {code}")))
}

pub(crate) fn dims_from(d: &[u32]) -> Result<Dims, JsError> {
    if d.len() != 6 {
        return Err(JsError::new(&format!(
            "dims: expected 6 values [b, t, h, hv, dk, dv], got {}",
            d.len()
        )));
    }
    let u = |i: usize| d[i] as usize;
    Ok(Dims {
        b: u(0),
        t: u(1),
        h: u(2),
        hv: u(3),
        dk: u(4),
        dv: u(5),
    })
}

/// Floats of state for `n_seq` sequences.
#[wasm_bindgen]
pub fn state_len(
    op: u32,
    n_seq: u32,
    h: u32,
    hv: u32,
    dk: u32,
    dv: u32,
    ridge: bool,
) -> Result<u32, JsError> {
    if h == 0 || hv % h != 0 {
        return Err(JsError::new(&format!(
            "heads: expected value heads a multiple of {h}, got {hv}"
        )));
    }
    Ok(core_state_len(
        op_from(op)?,
        n_seq as usize,
        h as usize,
        hv as usize,
        dk as usize,
        dv as usize,
        ridge,
    ) as u32)
}

/// The functional API's context: scratch memory reused across calls. One per `init()`
/// facade; after a trap the facade drops it and makes a new one.
#[wasm_bindgen]
#[derive(Default)]
pub struct Engine {
    ws: Workspace,
}

#[wasm_bindgen]
impl Engine {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Engine {
        Engine::default()
    }

    /// Panics on purpose: lets the test suite check that a Rust panic reaches JS as a readable
    /// Error and that the facade recovers. Never called by the facade itself.
    pub fn panic_for_tests(&self) {
        panic!("deliberate panic (test of panic reporting)");
    }

    /// One forward pass. `chunk_size` 0 selects the recurrent form. `state` carries the
    /// initial state in (zeros for none) and the final state out; `cu_seqlens` empty = none.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &mut self,
        op: u32,
        chunk_size: u32,
        dims: &[u32],
        scale: f32,
        decay: &[f32],
        normalize: bool,
        eps: f32,
        ridge: f32,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        o: &mut [f32],
        state: &mut [f32],
        cu_seqlens: &[i32],
    ) -> Result<(), JsError> {
        let mode = Mode::from_chunk_size(chunk_size as usize);
        let cu = if cu_seqlens.is_empty() {
            None
        } else {
            Some(cu_seqlens)
        };
        let opts = Options {
            scale,
            decay,
            normalize,
            eps,
            ridge,
        };
        let (op, d) = (op_from(op)?, dims_from(dims)?);
        forward(op, mode, &d, &opts, q, k, v, o, state, cu, &mut self.ws).map_err(to_js)
    }
}
