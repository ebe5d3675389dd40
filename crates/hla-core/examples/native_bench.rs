//! The native anchor: the same kernels compiled for this CPU, same shapes as `npm run bench`.
//! cargo run --release --example native_bench  (RUSTFLAGS="-C target-cpu=native" for AVX2/FMA)
//! Prints JSON lines: {"op":…, "mode":…, "tok_s":…}. HLA_BENCH_PEAK=1 prints the arithmetic peak
//! of this build's instruction set instead: {"isa":…, "peak_gflops":…} (hla-core `peak.rs`).

mod common;
use common::rand;
use hla_core::workspace::Workspace;
use hla_core::{forward, state_len, Dims, HlaOptions, Mode, Op, Options};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    if std::env::var("HLA_BENCH_PEAK").is_ok_and(|s| s == "1") {
        use hla_core::simd::{Isa, Simd};
        println!(
            "{{\"isa\":\"{}\",\"peak_gflops\":{:.2}}}",
            Isa::NAME,
            peak_rate()
        );
        return;
    }
    if let Some(n) = std::env::var("HLA_BENCH_GEMM")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        println!("{{\"gemm\":{n},\"gflops\":{:.2}}}", gemm_rate(n));
        return;
    }
    let t: usize = std::env::var("HLA_BENCH_T")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2048);
    let runs: usize = std::env::var("HLA_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let d = Dims {
        b: 1,
        t,
        h: 8,
        hv: 8,
        dk: 64,
        dv: 64,
    };
    let n = d.b * d.t * d.h * d.dk;
    let (q, k, v) = (rand(n, 1), rand(n, 2), rand(n, 3));
    let opts: Options = HlaOptions {
        scale: 0.125,
        decay: vec![0.999],
        normalize: false,
        eps: 1e-6,
        ridge: 0.0,
    }
    .into();
    let mut ws = Workspace::default();
    let ops: Vec<Op> = match std::env::args().nth(1) {
        Some(name) => vec![Op::from_name(&name).expect("op name")],
        None => Op::HLA.to_vec(),
    };
    for op in ops {
        for mode in [
            Mode::Recurrent,
            Mode::Chunk(32),
            Mode::Chunk(64),
            Mode::Chunk(128),
        ] {
            let mut o = vec![0f32; n];
            let mut state = vec![0f32; state_len(op, d.b, &d, &opts).unwrap()];
            let mut once = || {
                state.fill(0.0);
                let t0 = Instant::now();
                forward(
                    op,
                    mode,
                    &d,
                    &opts,
                    &[&q, &k, &v],
                    &mut o,
                    &mut state,
                    None,
                    &mut ws,
                )
                .unwrap();
                t0.elapsed().as_secs_f64()
            };
            once();
            let secs = median((0..runs).map(|_| once()).collect());
            let mode_s = match mode {
                Mode::Recurrent => "recurrent".to_string(),
                Mode::Chunk(c) => format!("chunk{c}"),
            };
            println!(
                "{{\"op\":\"{}\",\"mode\":\"{mode_s}\",\"tok_s\":{:.0},\"isa\":\"{}\"}}",
                op.name(),
                (d.b * d.t) as f64 / secs,
                <hla_core::simd::Isa as hla_core::simd::Simd>::NAME
            );
        }
    }
}

/// GFLOP/s of the multiply-add probe on this thread: the best call of ~0.3 s of calls.
fn peak_rate() -> f64 {
    use hla_core::peak::{fma_probe, fma_probe_flops};
    use hla_core::simd::Isa;
    let iters = 1 << 20;
    let (mut best, t_end) = (0f64, Instant::now() + std::time::Duration::from_millis(300));
    let mut keep = 0f32;
    while Instant::now() < t_end {
        let t0 = Instant::now();
        keep += fma_probe::<Isa>(std::hint::black_box(iters));
        best = best.max(fma_probe_flops::<Isa>(iters) / t0.elapsed().as_secs_f64() / 1e9);
    }
    std::hint::black_box(keep);
    best
}

/// GFLOP/s of the chunk form's GEMM at square size n (HLA_BENCH_GEMM=n).
#[allow(dead_code)]
pub fn gemm_rate(n: usize) -> f64 {
    use hla_core::gemm::{gemm, MatRef};
    use hla_core::simd::Isa;
    let (a, b) = (rand(n * n, 7), rand(n * n, 8));
    let mut c = vec![0f32; n * n];
    let reps = (1 << 26) / (n * n * n).max(1) + 1;
    let t0 = Instant::now();
    for _ in 0..reps {
        gemm::<Isa>(n, n, n, MatRef::rows(&a, n), &b, n, &mut c, n);
    }
    2.0 * (n * n * n * reps) as f64 / t0.elapsed().as_secs_f64() / 1e9
}
