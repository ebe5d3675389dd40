//! Hooks for the test suite and the benchmark, compiled only with the `testing` feature (the
//! test and bench builds); the shipped `.wasm` files export none of them.

use crate::engine::Engine;
use crate::session::Session;
use hla_core::peak;
use hla_core::simd::Isa;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Engine {
    /// Panics on purpose: lets the test suite check that a Rust panic reaches JS as a readable
    /// Error and that the facade recovers.
    #[wasm_bindgen(js_name = panicForTests)]
    pub fn panic_for_tests(&self) {
        panic!("deliberate panic (test of panic reporting)");
    }
}

#[wasm_bindgen]
impl Session {
    /// Panics on purpose while `self` is mutably borrowed, as a trap inside `prefill` would:
    /// lets the tests check that the facade contains it.
    #[wasm_bindgen(js_name = panicForTests)]
    pub fn panic_for_tests(&mut self) {
        self.position = f64::NAN;
        panic!("deliberate panic inside a session call (test of containment)");
    }
}

/// The benchmark's arithmetic-peak probe for this flavour (hla-core's `peak`): runs `iters`
/// rounds of the multiply-add probe; the result only keeps the work alive.
#[wasm_bindgen(js_name = fmaProbe)]
pub fn fma_probe(iters: u32) -> f32 {
    peak::fma_probe::<Isa>(iters as usize)
}

/// Floating-point operations of `fmaProbe(iters)`.
#[wasm_bindgen(js_name = fmaProbeFlops)]
pub fn fma_probe_flops(iters: u32) -> f64 {
    peak::fma_probe_flops::<Isa>(iters as usize)
}
