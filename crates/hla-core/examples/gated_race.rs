//! gla and deltaRule against la1, interleaved in one process (the machine may be loaded: only
//! the ratios mean something). B=1, H=8, dk=dv=64 as `npm run bench`; 4-lane SSE by default
//! (wasm's width), the build's widest ISA with HLA_RACE_ISA=native.
//! cargo run --release --example gated_race   (HLA_BENCH_T=…, HLA_BENCH_RUNS=…,
//! HLA_RACE_ONLY=gla/recurrent to run one row, e.g. under perf)

mod common;
use common::{bench_dims, env, race_main, Inputs};
use hla_core::ops::forward_with;
use hla_core::simd::Simd;
use hla_core::workspace::Workspace;
use hla_core::{state_len, GatedOptions, HlaOptions, Mode, Op, Options};
use std::time::Instant;

fn race<S: Simd>() {
    let t = env("HLA_BENCH_T", 2048);
    let runs = env("HLA_BENCH_RUNS", 5);
    let d = bench_dims(t);
    let n = d.t * d.h * d.dk;
    let Inputs {
        q,
        k,
        v,
        gk,
        beta,
        g,
        ..
    } = Inputs::new(&d);
    let la1 = Options::Hla(HlaOptions {
        scale: 0.125,
        decay: vec![0.99],
        normalize: false,
        eps: 1e-6,
        ridge: 0.0,
    });
    let gated = |qk_l2norm| {
        Options::Gated(GatedOptions {
            scale: 0.125,
            qk_l2norm,
        })
    };
    let mut ws = Workspace::default();
    let mut o = vec![0f32; n];
    let modes = [("recurrent", Mode::Recurrent), ("chunk64", Mode::Chunk(64))];
    let names = ["la1", "gla", "deltaRule"];
    let mut best = [[f64::MAX; 2]; 3];
    for _ in 0..runs {
        for (mi, (_, mode)) in modes.iter().enumerate() {
            for (oi, name) in names.iter().enumerate() {
                if let Ok(only) = std::env::var("HLA_RACE_ONLY") {
                    if only != format!("{name}/{}", modes[mi].0) {
                        continue;
                    }
                }
                let t0 = Instant::now();
                let (op, opts, inputs): (Op, Options, Vec<&[f32]>) = match oi {
                    0 => (Op::La1, la1.clone(), vec![&q, &k, &v]),
                    1 => (Op::Gla, gated(false), vec![&q, &k, &v, &gk]),
                    _ => (Op::DeltaRule, gated(true), vec![&q, &k, &v, &beta, &g]),
                };
                let mut st = vec![0f32; state_len(op, 1, &d, &opts).unwrap()];
                forward_with::<S>(
                    op, *mode, &d, &opts, &inputs, &mut o, &mut st, None, &mut ws,
                )
                .unwrap();
                let dt = t0.elapsed().as_secs_f64();
                best[oi][mi] = best[oi][mi].min(dt);
            }
        }
    }
    for (oi, name) in names.iter().enumerate() {
        for (mi, (mname, _)) in modes.iter().enumerate() {
            println!(
                "{{\"isa\":\"{}\",\"op\":\"{name}\",\"mode\":\"{mname}\",\"tok_s\":{:.0},\"vs_la1\":{:.2}}}",
                S::NAME,
                t as f64 / best[oi][mi],
                best[oi][mi] / best[0][mi]
            );
        }
    }
}

race_main!(race);
