//! sse and rla against their base operators, interleaved in one process (the machine may be
//! loaded: only the ratios mean something). B=1, H=8, dk=dv=64 as `npm run bench`; 4-lane SSE
//! by default (wasm's width), the build's widest ISA with HLA_RACE_ISA=native.
//! `cargo run --release --example second_race` (HLA_BENCH_T=…, HLA_BENCH_RUNS=…)
//!
//! Rows: prefill tok/s of sse (N = 2, 4, 8, 16; topK = 1, 2) with its cost over
//! (1 + topK)× the base; rla (la over gla, deltaRule) over its base; decode µs per token step
//! (T = 1 calls carrying the state) of each.

mod common;
use common::{bench_dims, env, race_main, Inputs};
use hla_core::ops::forward_with;
use hla_core::ops::rla::{Residual, RlaBase, RlaOptions};
use hla_core::ops::sse::{self, SseBase, SseOptions};
use hla_core::simd::Simd;
use hla_core::workspace::Workspace;
use hla_core::{state_len, Dims, GatedOptions, Mode, Op, Options};
use std::time::Instant;

/// One contender: runs `t` tokens of its inputs (from token 0) in `mode`, the state carried.
type Run<'a> = Box<dyn FnMut(Mode, usize, &mut Workspace) + 'a>;

fn slice(x: &[f32], t: usize, total: usize) -> &[f32] {
    if x.is_empty() {
        x
    } else {
        &x[..x.len() / total * t]
    }
}

/// One contender: `op` with `opts` on the inputs `ins(x, t)` gives for `t` tokens.
fn contender<'a, S: Simd>(
    x: &'a Inputs,
    d: Dims,
    op: Op,
    opts: Options,
    ins: impl Fn(&'a Inputs, usize) -> Vec<&'a [f32]> + 'a,
) -> Run<'a> {
    let mut st = vec![0f32; state_len(op, 1, &d, &opts).unwrap()];
    let mut o = vec![0f32; d.t * d.hv * d.dv];
    Box::new(move |mode, t, ws| {
        forward_with::<S>(
            op,
            mode,
            &d.with_t(t),
            &opts,
            &ins(x, t),
            &mut o[..t * d.hv * d.dv],
            &mut st,
            None,
            ws,
        )
        .unwrap();
    })
}

fn base<'a, S: Simd>(x: &'a Inputs, d: Dims, op: Op) -> Run<'a> {
    let opts = Options::Gated(GatedOptions {
        scale: 0.125,
        qk_l2norm: op == Op::DeltaRule,
    });
    contender::<S>(x, d, op, opts, move |x, t| {
        let s = |y: &'a [f32]| slice(y, t, d.t);
        match op {
            Op::Gla => vec![s(&x.q), s(&x.k), s(&x.v), s(&x.gk)],
            _ => vec![s(&x.q), s(&x.k), s(&x.v), s(&x.beta), s(&x.g)],
        }
    })
}

fn sse_run<'a, S: Simd>(x: &'a Inputs, d: Dims, b: SseBase, n: usize, k: usize) -> Run<'a> {
    let opts = SseOptions {
        base: b,
        partitions: n,
        top_k: k,
        weight_query: true,
        weight_key: true,
        qk_l2norm: b == SseBase::DeltaRule,
        scale: 0.125,
    };
    contender::<S>(x, d, sse::op(b), Options::Sse(opts), move |x, t| {
        let s = |y: &'a [f32]| slice(y, t, d.t);
        // The first `t·n` logits as `[t, n]` (N of the 16 generated per token, as before).
        let r = &x.router[..t * n];
        match b {
            SseBase::Gla => vec![
                s(&x.q),
                s(&x.k),
                s(&x.q2),
                s(&x.k2),
                s(&x.v),
                r,
                s(&x.gk),
                s(&x.gk),
            ],
            SseBase::DeltaRule => vec![
                s(&x.q),
                s(&x.k),
                s(&x.q2),
                s(&x.k2),
                s(&x.v),
                r,
                s(&x.g),
                s(&x.g),
                s(&x.beta),
                s(&x.beta),
            ],
        }
    })
}

fn rla_run<'a, S: Simd>(x: &'a Inputs, d: Dims, b: RlaBase) -> Run<'a> {
    let opts = RlaOptions {
        base: b,
        clip: 1.0,
        residual: Residual::Undecayed,
        qk_l2norm: b == RlaBase::DeltaRule,
        scale: 0.125,
    };
    contender::<S>(x, d, Op::Rla, Options::Rla(opts), move |x, t| {
        let s = |y: &'a [f32]| slice(y, t, d.t);
        vec![s(&x.q), s(&x.k), s(&x.v), s(&x.g), s(&x.beta), s(&x.beta)]
    })
}

fn race<S: Simd>() {
    let t = env("HLA_BENCH_T", 2048);
    let runs = env("HLA_BENCH_RUNS", 3);
    let steps = env("HLA_BENCH_STEPS", 64);
    let d = bench_dims(t);
    let x = Inputs::new(&d);
    let mut names: Vec<String> = vec!["gla".into(), "deltaRule".into()];
    let mut rs: Vec<Run> = vec![base::<S>(&x, d, Op::Gla), base::<S>(&x, d, Op::DeltaRule)];
    for (bn, b) in [("gla", SseBase::Gla), ("deltaRule", SseBase::DeltaRule)] {
        for k in [1, 2] {
            for np in [2, 4, 8, 16] {
                names.push(format!("sse/{bn}/N{np}/top{k}"));
                rs.push(sse_run::<S>(&x, d, b, np, k));
            }
        }
    }
    for (bn, b) in [("la", RlaBase::La), ("deltaRule", RlaBase::DeltaRule)] {
        names.push(format!("rla/{bn}"));
        rs.push(rla_run::<S>(&x, d, b));
    }
    let modes = [("recurrent", Mode::Recurrent), ("chunk64", Mode::Chunk(64))];
    let mut ws = Workspace::default();
    // [contender][prefill recurrent, prefill chunk64, decode]
    let mut best = vec![[f64::MAX; 3]; rs.len()];
    for _ in 0..runs {
        for (ci, r) in rs.iter_mut().enumerate() {
            for (mi, (_, mode)) in modes.iter().enumerate() {
                let t0 = Instant::now();
                r(*mode, t, &mut ws);
                best[ci][mi] = best[ci][mi].min(t0.elapsed().as_secs_f64());
            }
            let t0 = Instant::now();
            for _ in 0..steps {
                r(Mode::Recurrent, 1, &mut ws);
            }
            best[ci][2] = best[ci][2].min(t0.elapsed().as_secs_f64() / steps as f64);
        }
    }
    for (ci, name) in names.iter().enumerate() {
        // The cost model's denominator: (1 + topK)× sse's base, 2× rla's (gla stands in for la).
        let (base_i, mult) = if let Some(rest) = name.strip_prefix("sse/") {
            let k: f64 = rest.rsplit("top").next().unwrap().parse().unwrap();
            (usize::from(rest.starts_with("deltaRule")), 1.0 + k)
        } else if let Some(rest) = name.strip_prefix("rla/") {
            (usize::from(rest == "deltaRule"), 2.0)
        } else {
            (ci, 1.0)
        };
        for (mi, (mname, _)) in modes.iter().enumerate() {
            println!(
                "{{\"isa\":\"{}\",\"op\":\"{name}\",\"mode\":\"{mname}\",\"tok_s\":{:.0},\"vs_model\":{:.2}}}",
                S::NAME,
                t as f64 / best[ci][mi],
                best[ci][mi] / (mult * best[base_i][mi])
            );
        }
        println!(
            "{{\"isa\":\"{}\",\"op\":\"{name}\",\"mode\":\"decode\",\"us_step\":{:.1},\"vs_model\":{:.2}}}",
            S::NAME,
            best[ci][2] * 1e6,
            best[ci][2] / (mult * best[base_i][2])
        );
    }
}

race_main!(race);
