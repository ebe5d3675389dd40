use super::Simd;
use core::arch::x86_64::*;

/// SSE2 (baseline x86-64): 4 × f32, the same width as wasm SIMD128, so native tests exercise
/// the same lane logic the wasm build runs. The `Isa` of builds without AVX2 + FMA; with them
/// (`Avx2` is then the `Isa`) it stays for tests and 4- vs 8-lane comparisons, and
/// `mul_add` is fused.
#[derive(Clone, Copy)]
pub struct Sse;

impl Simd for Sse {
    type V = __m128;
    const LANES: usize = 4;
    const NAME: &'static str = "sse";

    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m128 {
        _mm_loadu_ps(p)
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m128) {
        _mm_storeu_ps(p, v)
    }
    #[inline(always)]
    fn splat(x: f32) -> __m128 {
        unsafe { _mm_set1_ps(x) }
    }
    #[inline(always)]
    fn add(a: __m128, b: __m128) -> __m128 {
        unsafe { _mm_add_ps(a, b) }
    }
    #[inline(always)]
    fn mul(a: __m128, b: __m128) -> __m128 {
        unsafe { _mm_mul_ps(a, b) }
    }
    #[inline(always)]
    fn mul_add(a: __m128, b: __m128, c: __m128) -> __m128 {
        #[cfg(target_feature = "fma")]
        unsafe {
            _mm_fmadd_ps(a, b, c)
        }
        #[cfg(not(target_feature = "fma"))]
        unsafe {
            _mm_add_ps(_mm_mul_ps(a, b), c)
        }
    }
    #[inline(always)]
    fn sum(v: __m128) -> f32 {
        let mut a = [0f32; 4];
        unsafe { _mm_storeu_ps(a.as_mut_ptr(), v) };
        (a[0] + a[1]) + (a[2] + a[3])
    }
}
