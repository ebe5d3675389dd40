//! What every form-against-reference test sweeps: the instruction sets compiled into this build
//! and the forms (recurrent, chunk sizes 1, 3, 16 and longer than the sequence).
// Not every test crate that includes `common` uses both.
#![allow(dead_code)]

use hla_core::{Dims, Mode};

/// Calls `$f::<S>()` for every instruction set compiled into this build.
#[allow(unused_macros)]
macro_rules! for_each_isa {
    ($f:ident) => {{
        $f::<hla_core::simd::Scalar>();
        #[cfg(target_arch = "x86_64")]
        $f::<hla_core::simd::Sse>();
        #[cfg(all(
            target_arch = "x86_64",
            target_feature = "avx2",
            target_feature = "fma"
        ))]
        $f::<hla_core::simd::Avx2>();
        // Elsewhere `Isa` may be none of the above (wasm32 SIMD128 under a wasm runner).
        #[cfg(not(target_arch = "x86_64"))]
        $f::<hla_core::simd::Isa>();
        #[cfg(all(
            target_arch = "x86_64",
            not(all(target_feature = "avx2", target_feature = "fma"))
        ))]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            eprintln!(
                "note: this CPU has AVX2 + FMA but the build does not target them; \
                 RUSTFLAGS=\"-C target-cpu=native\" also tests Avx2"
            );
        }
    }};
}

/// Recurrent, and chunk sizes 1, 3, 16 and `t + 5` (one chunk longer than the sequence).
pub fn modes(t: usize) -> Vec<Mode> {
    vec![
        Mode::Recurrent,
        Mode::Chunk(1),
        Mode::Chunk(3),
        Mode::Chunk(16),
        Mode::Chunk(t + 5),
    ]
}

pub fn dims(b: usize, t: usize, h: usize, hv: usize, dk: usize, dv: usize) -> Dims {
    Dims {
        b,
        t,
        h,
        hv,
        dk,
        dv,
    }
}
