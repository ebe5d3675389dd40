//! The arithmetic peak of an instruction set: the benchmark divides a kernel's GFLOP/s by it
//! (`peak_fraction`). Multiply-adds on [`ACCUMULATORS`] independent vector chains, from
//! registers only: enough chains to cover the mul-add latency (4–5 cycles) times the issue
//! width (2 per cycle) of current x86 and Arm cores, few enough to stay in 16 registers.

use crate::simd::Simd;

/// Independent accumulator vectors of the probe.
pub const ACCUMULATORS: usize = 12;

/// `iters` rounds of one mul-add per accumulator (`acc ← acc·a + b`, a contraction with a
/// fixed point, so the values stay normal). Returns the sum of the accumulators so the work
/// is not optimised away. Does [`fma_probe_flops`]`(iters)` floating-point operations.
#[inline(never)]
pub fn fma_probe<S: Simd>(iters: usize) -> f32 {
    // Derived from `iters` so no constant folding can shorten the chains.
    let a = S::splat(0.999 - (iters & 1) as f32 * 1e-4);
    let b = S::splat(1e-3);
    let mut acc = [S::splat(0.0); ACCUMULATORS];
    for (i, x) in acc.iter_mut().enumerate() {
        *x = S::splat(i as f32 * 0.01);
    }
    for _ in 0..iters {
        // Unrolled by the array: ACCUMULATORS independent chains per iteration.
        for x in acc.iter_mut() {
            *x = S::mul_add(*x, a, b);
        }
    }
    let mut total = S::splat(0.0);
    for x in acc {
        total = S::add(total, x);
    }
    S::sum(total)
}

/// Floating-point operations of `fma_probe::<S>(iters)`: a multiply-add counts 2 per lane
/// (the convention of the benchmark's kernel flop counts).
pub fn fma_probe_flops<S: Simd>(iters: usize) -> f64 {
    2.0 * (ACCUMULATORS * S::LANES) as f64 * iters as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::{Isa, Scalar};

    #[test]
    fn probe_converges_to_the_fixed_point_on_every_isa() {
        // acc → b / (1 − a) = 1e-3 / 1e-3 = 1 per lane after many iterations.
        let s = fma_probe::<Scalar>(20_000);
        assert!((s - ACCUMULATORS as f32).abs() < 1e-2, "{s}");
        let v = fma_probe::<Isa>(20_000);
        assert!(
            (v - (ACCUMULATORS * <Isa as Simd>::LANES) as f32).abs() < 1e-2,
            "{v}"
        );
        assert_eq!(
            fma_probe_flops::<Scalar>(10),
            2.0 * ACCUMULATORS as f64 * 10.0
        );
    }
}
