//! hla-core: Higher-order Linear Attention kernels (arXiv 2510.27258), exact to the
//! brute-force definitions of docs/spec.md. No bindings here: the same source builds
//! natively (tests, the native anchor) and for wasm32 (SIMD128, relaxed-SIMD or scalar).

pub mod error;
pub mod exp;
pub mod gemm;
pub mod ops;
pub mod peak;
pub mod row_sweep;
pub mod simd;
pub mod size;
pub mod sweep;
pub mod vector;
pub mod workspace;

pub use error::HlaError;
pub use ops::{forward, state_len, Dims, GatedOptions, HlaOptions, Mode, Op, Options};
