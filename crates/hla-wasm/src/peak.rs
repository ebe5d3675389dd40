//! The benchmark's arithmetic-peak probe for this flavour (hla-core's `peak`), bound as is.

use hla_core::peak;
use hla_core::simd::Isa;
use wasm_bindgen::prelude::*;

/// Runs `iters` rounds of the multiply-add probe; the result only keeps the work alive.
#[wasm_bindgen]
pub fn fma_probe(iters: u32) -> f32 {
    peak::fma_probe::<Isa>(iters as usize)
}

/// Floating-point operations of `fma_probe(iters)`.
#[wasm_bindgen]
pub fn fma_probe_flops(iters: u32) -> f64 {
    peak::fma_probe_flops::<Isa>(iters as usize)
}
