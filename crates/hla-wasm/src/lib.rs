//! The wasm-bindgen binding of hla-core: memory in and out, errors to JS. No math here.
//!
//! Errors are returned (`Result<_, JsError>` → a thrown JS `Error`); a panic is a bug, and
//! its message is kept for [`last_panic`] so the facade can report it instead of an opaque
//! `unreachable` trap.

use hla_core::ops::{forward, state_len as core_state_len};
use hla_core::size::MAX_FLOATS;
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

/// A size argument from JS. Sizes cross as f64, not u32: a u32 parameter wraps 2³² + 2 to 2
/// in the glue, where nothing can see it. Accepts integers 0 ..= [`MAX_FLOATS`] (no single
/// dimension of a buffer that fits wasm32 is larger).
pub(crate) fn size_from(arg: &'static str, x: f64) -> Result<usize, JsError> {
    if x.fract() == 0.0 && (0.0..=MAX_FLOATS as f64).contains(&x) {
        Ok(x as usize)
    } else {
        Err(to_js(HlaError::new(
            arg,
            format!("an integer in [0, {MAX_FLOATS}]"),
            x,
        )))
    }
}

/// `chunk_size` from JS: 0 (recurrent) or an integer ≥ 1; past [`hla_core::size::MAX_CHUNK`]
/// the kernels run chunks of that length, so any larger integer is as good as it.
pub(crate) fn mode_from(chunk_size: f64) -> Result<Mode, JsError> {
    if chunk_size.fract() == 0.0 && chunk_size >= 0.0 {
        let c = chunk_size.min(hla_core::size::MAX_CHUNK as f64) as usize;
        Ok(Mode::from_chunk_size(c).capped())
    } else {
        Err(to_js(HlaError::new(
            "chunkSize",
            "0 (recurrent) or an integer ≥ 1",
            chunk_size,
        )))
    }
}

/// `[b, t, h, hv, dk, dv]` from JS as f64s (see [`size_from`]).
pub(crate) fn dims_from_f64(d: &[f64]) -> Result<Dims, JsError> {
    if d.len() != 6 {
        return Err(JsError::new(&format!(
            "dims: expected 6 values [b, t, h, hv, dk, dv], got {}",
            d.len()
        )));
    }
    Ok(Dims {
        b: size_from("b", d[0])?,
        t: size_from("T", d[1])?,
        h: size_from("heads", d[2])?,
        hv: size_from("valueHeads", d[3])?,
        dk: size_from("dk", d[4])?,
        dv: size_from("dv", d[5])?,
    })
}

/// `[b, t, h, hv, dk, dv]` as u32s: the segment split's dims, which the worker takes from a
/// call the facade already validated.
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

/// Floats of state for `n_seq` sequences; an error past one wasm32 buffer.
#[wasm_bindgen]
pub fn state_len(
    op: u32,
    n_seq: f64,
    h: f64,
    hv: f64,
    dk: f64,
    dv: f64,
    ridge: bool,
) -> Result<f64, JsError> {
    let op = op_from(op)?;
    let (n_seq, h, hv) = (
        size_from("batch", n_seq)?,
        size_from("heads", h)?,
        size_from("valueHeads", hv)?,
    );
    let (dk, dv) = (size_from("dk", dk)?, size_from("dv", dv)?);
    if h == 0 || hv % h != 0 {
        return Err(JsError::new(&format!(
            "heads: expected value heads a multiple of {h}, got {hv}"
        )));
    }
    let n = core_state_len(op, n_seq, h, hv, dk, dv, ridge).ok_or_else(|| {
        to_js(HlaError::new(
            "state",
            format!("at most {MAX_FLOATS} floats (one wasm32 buffer)"),
            format!(
                "more for {} with heads {h}, valueHeads {hv}, dk {dk}, dv {dv}",
                op.name()
            ),
        ))
    })?;
    Ok(n as f64)
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
        chunk_size: f64,
        dims: &[f64],
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
        let mode = mode_from(chunk_size)?;
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
        let (op, d) = (op_from(op)?, dims_from_f64(dims)?);
        forward(op, mode, &d, &opts, q, k, v, o, state, cu, &mut self.ws).map_err(to_js)
    }
}
