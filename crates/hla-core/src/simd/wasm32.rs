use super::Simd;
use core::arch::wasm32::*;

/// WebAssembly SIMD128: 4 × f32. With the `relaxed-simd` target feature, `mul_add` is the
/// relaxed fused multiply-add (one rounding or two, as the engine's hardware does it).
#[derive(Clone, Copy)]
pub struct Wasm128;

impl Simd for Wasm128 {
    type V = v128;
    const LANES: usize = 4;
    #[cfg(target_feature = "relaxed-simd")]
    const NAME: &'static str = "relaxed";
    #[cfg(not(target_feature = "relaxed-simd"))]
    const NAME: &'static str = "simd128";

    #[inline(always)]
    unsafe fn load(p: *const f32) -> v128 {
        v128_load(p as *const v128)
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: v128) {
        v128_store(p as *mut v128, v)
    }
    #[inline(always)]
    fn splat(x: f32) -> v128 {
        f32x4_splat(x)
    }
    #[inline(always)]
    fn add(a: v128, b: v128) -> v128 {
        f32x4_add(a, b)
    }
    #[inline(always)]
    fn mul(a: v128, b: v128) -> v128 {
        f32x4_mul(a, b)
    }
    #[inline(always)]
    fn mul_add(a: v128, b: v128, c: v128) -> v128 {
        #[cfg(target_feature = "relaxed-simd")]
        {
            f32x4_relaxed_madd(a, b, c)
        }
        #[cfg(not(target_feature = "relaxed-simd"))]
        {
            f32x4_add(f32x4_mul(a, b), c)
        }
    }
    #[inline(always)]
    fn sum(v: v128) -> f32 {
        (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
            + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
    }
}
