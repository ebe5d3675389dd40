//! The portable SIMD layer (rten style): one small trait, one file per instruction set.
//! Kernels are generic over [`Simd`]; [`Isa`] is the best implementation this build targets,
//! so native and wasm builds compile the same kernel source.

mod scalar;
pub use scalar::Scalar;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm32;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use wasm32::Wasm128;

#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(target_arch = "x86_64")]
pub use x86::Sse;

#[cfg(all(
    target_arch = "x86_64",
    target_feature = "avx2",
    target_feature = "fma"
))]
mod avx2;
#[cfg(all(
    target_arch = "x86_64",
    target_feature = "avx2",
    target_feature = "fma"
))]
pub use avx2::Avx2;

/// The instruction set the kernels are compiled for in this build.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub type Isa = Wasm128;
#[cfg(all(
    target_arch = "x86_64",
    target_feature = "avx2",
    target_feature = "fma"
))]
pub type Isa = Avx2;
#[cfg(all(
    target_arch = "x86_64",
    not(all(target_feature = "avx2", target_feature = "fma"))
))]
pub type Isa = Sse;
#[cfg(not(any(
    all(target_arch = "wasm32", target_feature = "simd128"),
    target_arch = "x86_64"
)))]
pub type Isa = Scalar;

/// A vector of `LANES` f32. Only the operations the kernels use.
pub trait Simd: Copy {
    type V: Copy;
    const LANES: usize;
    /// Name reported to users (`hla.backend`).
    const NAME: &'static str;

    /// # Safety
    /// `p .. p + LANES` must be readable.
    unsafe fn load(p: *const f32) -> Self::V;
    /// # Safety
    /// `p .. p + LANES` must be writable.
    unsafe fn store(p: *mut f32, v: Self::V);
    fn splat(x: f32) -> Self::V;
    fn add(a: Self::V, b: Self::V) -> Self::V;
    fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// `a * b + c`, fused where the instruction set has it.
    fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    fn sum(v: Self::V) -> f32;
}
