use super::Simd;

/// One lane: the fallback for targets without SIMD (and the `scalar` wasm flavour).
#[derive(Clone, Copy)]
pub struct Scalar;

impl Simd for Scalar {
    type V = f32;
    const LANES: usize = 1;
    const NAME: &'static str = "scalar";

    #[inline(always)]
    unsafe fn load(p: *const f32) -> f32 {
        *p
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: f32) {
        *p = v
    }
    #[inline(always)]
    fn splat(x: f32) -> f32 {
        x
    }
    #[inline(always)]
    fn add(a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    fn mul(a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        // Not f32::mul_add: without hardware FMA that is a slow libm call.
        a * b + c
    }
    #[inline(always)]
    fn sum(v: f32) -> f32 {
        v
    }
}
