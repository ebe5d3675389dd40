//! What the examples share: their inputs (the shapes of `npm run bench`), their environment
//! knobs and the instruction set they race on.
// Not every example uses every input.
#![allow(dead_code)]

use hla_core::Dims;

/// `n` floats in [−0.25, 0.25) from a linear congruential generator (the same in every example).
pub fn rand(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            (s as f32 / 4294967296.0 - 0.5) * 0.5
        })
        .collect()
}

/// The environment variable `name` as a number, else `default`.
pub fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// B=1, H=HV=8, dk=dv=64, as `npm run bench`.
pub fn bench_dims(t: usize) -> Dims {
    Dims {
        b: 1,
        t,
        h: 8,
        hv: 8,
        dk: 64,
        dv: 64,
    }
}

/// Every per-token input the gated family and its extensions take, for `d`.
pub struct Inputs {
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub q2: Vec<f32>,
    pub k2: Vec<f32>,
    pub v: Vec<f32>,
    /// Per key feature, in [−0.35, −0.1].
    pub gk: Vec<f32>,
    /// Per value head, in [0.25, 0.75).
    pub beta: Vec<f32>,
    /// Per value head, in [−0.3, −0.05].
    pub g: Vec<f32>,
    /// 16 · T logits, sharpened ×8 (sse over N partitions reads the first N · T as `[T, N]`).
    pub router: Vec<f32>,
}

impl Inputs {
    pub fn new(d: &Dims) -> Inputs {
        let n = d.t * d.h * d.dk;
        Inputs {
            q: rand(n, 1),
            k: rand(n, 2),
            q2: rand(n, 7),
            k2: rand(n, 8),
            v: rand(n, 3),
            gk: rand(n, 4).iter().map(|x| -0.1 - x.abs()).collect(),
            beta: rand(d.t * d.hv, 5).iter().map(|x| 0.5 + x).collect(),
            g: rand(d.t * d.hv, 6)
                .iter()
                .map(|x| -0.05 - x.abs())
                .collect(),
            router: rand(d.t * 16, 9).iter().map(|r| 8.0 * r).collect(),
        }
    }
}

/// `main` of a race: `$race::<S>()` on 4-lane SSE by default (wasm's width), on the build's
/// widest instruction set with HLA_RACE_ISA=native.
#[allow(unused_macros)]
macro_rules! race_main {
    ($race:ident) => {
        fn main() {
            if std::env::var("HLA_RACE_ISA").is_ok_and(|s| s == "native") {
                $race::<hla_core::simd::Isa>();
            } else {
                #[cfg(target_arch = "x86_64")]
                $race::<hla_core::simd::Sse>();
                #[cfg(not(target_arch = "x86_64"))]
                $race::<hla_core::simd::Isa>();
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use race_main;
