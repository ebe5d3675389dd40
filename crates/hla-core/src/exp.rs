//! `exp` over a slice of log-space gates, written so LLVM vectorises it (wasm SIMD128, SSE,
//! AVX2): gla turns `dk` gates into decays every token, and the library `expf` (a call per
//! element, not vectorised on wasm) would cost as much as a value head's state update.
//!
//! Cody–Waite reduction `x = n ln2 + r`, |r| ≤ ln2/2, then a degree-7 Taylor polynomial for
//! `e^r` (truncation < 6e-9 relative, below float32 rounding) and `2^n` built from its bits.
//! Results for x < −87 (e^x < 1.7e−38, near the smallest normal float) are returned as 0: a
//! gate that strong has wiped the state to below float32's normal range.

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split so that `n · LN2_HI` is exact for |n| < 2^9.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// 1.5 · 2^23: adding it rounds to an integer held in the low mantissa bits.
const ROUND: f32 = 12_582_912.0;

/// `e^x` for one float (the slice version's element; also for the scalar gates).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // Clamp so every path computes finite bit patterns; the select below restores 0 / ∞.
    let xc = x.clamp(-87.0, 88.0);
    let m = xc * LOG2E + ROUND;
    let n = m - ROUND;
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // m's low bits hold n + 2^22 (the ROUND offset); 2^n has exponent field n + 127.
    let e = (m.to_bits() as i32)
        .wrapping_sub(0x4B40_0000)
        .wrapping_add(127) as u32;
    let y = p * f32::from_bits(e << 23);
    if x < -87.0 {
        0.0
    } else if x > 88.0 {
        f32::INFINITY
    } else {
        y
    }
}

/// `dst[i] = e^{src[i]}`.
pub fn exp_slice(src: &[f32], dst: &mut [f32]) {
    for (d, &x) in dst.iter_mut().zip(src) {
        *d = exp(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_f64_exp() {
        let mut worst = 0f64;
        let mut x = -90.0f32;
        while x < 10.0 {
            let want = (x as f64).exp();
            let got = exp(x) as f64;
            if x >= -87.0 {
                worst = worst.max((got - want).abs() / want);
            } else {
                assert_eq!(got, 0.0, "exp({x}) (true value {want:e} < 1.7e-38)");
            }
            x += 0.000_731;
        }
        assert!(worst < 4e-7, "worst relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
    }
}
