//! sse over gla and deltaRule: every form (recurrent, chunk sizes 1, 3, 16, T+5) on every
//! instruction set compiled in, against the float64 token loop (common/second.rs) and, over
//! gla, the closed form: N ∈ {2, 4, 8}, topK ∈ {1, 2, N}, forced router ties, GQA, B > 1,
//! cuSeqlens, weights on and off, qkL2norm, an initial state, continuation, and the argument
//! errors (nothing touched).

#[allow(dead_code)]
#[macro_use]
mod common;
use common::isa::{dims, modes};
use common::second::{assert_continuation, token_slice, SseCase};
use common::{rand_vec, rel_err};
use hla_core::ops::sse::{self, route, SseBase, SseOptions};
use hla_core::simd::Simd;
use hla_core::workspace::Workspace;
use hla_core::{Dims, Mode};

const TOL: f64 = 2e-4;

/// Log gates in [log(1e-4), 0] (strong enough to matter over a run).
fn gates(n: usize, seed: u64) -> Vec<f32> {
    rand_vec(n, seed)
        .iter()
        .map(|x| (1e-4f32).ln() * (x + 1.0) / 2.0 * 0.3)
        .collect()
}

/// Router logits; every third token ties all partitions (all zero) and every fifth ties
/// partitions 1 and N−1 at the top.
fn router(rows: usize, n: usize, seed: u64) -> Vec<f32> {
    let mut r: Vec<f32> = rand_vec(rows * n, seed).iter().map(|x| 2.0 * x).collect();
    for t in 0..rows {
        let row = &mut r[t * n..(t + 1) * n];
        if t % 3 == 0 {
            row.fill(0.0);
        } else if t % 5 == 1 && n >= 2 {
            row.fill(-1.0);
            row[1] = 3.0;
            row[n - 1] = 3.0;
        }
    }
    r
}

fn case(base: SseBase, d: Dims, n: usize, top_k: usize, seed: u64) -> SseCase {
    let rows = d.b * d.t;
    let nq = rows * d.h * d.dk;
    let nv = rows * d.hv;
    let dr = base == SseBase::DeltaRule;
    // deltaRule without normalisation: ‖k‖² small keeps the recurrence stable.
    let kf = if dr { 1.0 / (d.dk as f32).sqrt() } else { 1.0 };
    let k = |s| -> Vec<f32> { rand_vec(nq, s).iter().map(|x| kf * x).collect() };
    let beta = |s| -> Vec<f32> {
        rand_vec(nv, s)
            .iter()
            .map(|x| 0.05 + 0.45 * (x + 1.0))
            .collect()
    };
    let mut inputs = vec![
        rand_vec(nq, seed + 1),
        k(seed + 2),
        rand_vec(nq, seed + 3),
        k(seed + 4),
        rand_vec(rows * d.hv * d.dv, seed + 5),
        router(rows, n, seed + 6),
    ];
    if dr {
        inputs.extend([
            gates(nv, seed + 7),
            gates(nv, seed + 8),
            beta(seed + 9),
            beta(seed + 10),
        ]);
    } else {
        inputs.extend([gates(nq, seed + 7), gates(nq, seed + 8)]);
    }
    SseCase {
        d,
        opts: SseOptions {
            base,
            partitions: n,
            top_k,
            weight_query: true,
            weight_key: true,
            qk_l2norm: dr,
            scale: (d.dk as f32).powf(-0.5),
        },
        inputs,
        cu: None,
    }
}

fn check<S: Simd>(c: &SseCase, init: &[f32], what: &str) {
    let (o_ref, st_ref) = c.reference(init);
    for mode in modes(c.d.t) {
        let mut st = init.to_vec();
        let o = c.run::<S>(mode, &mut st);
        let (eo, es) = (rel_err(&o, &o_ref), rel_err(&st, &st_ref));
        assert!(
            eo < TOL && es < TOL,
            "{what} {:?} {mode:?} {}: o err {eo:e}, state err {es:e}",
            c.opts,
            std::any::type_name::<S>()
        );
    }
}

#[test]
fn every_form_every_isa_against_the_token_loop() {
    fn f<S: Simd>() {
        for base in [SseBase::Gla, SseBase::DeltaRule] {
            for n in [2, 4, 8] {
                for k in [1, 2, n] {
                    let c = case(base, dims(2, 23, 2, 4, 8, 6), n, k, (n * 10 + k) as u64);
                    check::<S>(&c, &vec![0.0; c.state_len()], "zero state");
                    let init = rand_vec(c.state_len(), 99);
                    check::<S>(&c, &init, "initial state");
                }
            }
        }
    }
    for_each_isa!(f);
}

#[test]
fn weights_off_qk_l2norm_on_gla_and_deltarule_without_normalisation() {
    fn f<S: Simd>() {
        for base in [SseBase::Gla, SseBase::DeltaRule] {
            for (wq, wk, l2) in [
                (false, true, false),
                (true, false, true),
                (false, false, false),
            ] {
                let mut c = case(base, dims(1, 31, 1, 2, 5, 7), 4, 2, 7);
                c.opts.weight_query = wq;
                c.opts.weight_key = wk;
                c.opts.qk_l2norm = l2;
                c.opts.scale = 0.6;
                check::<S>(&c, &vec![0.0; c.state_len()], "options");
            }
        }
    }
    for_each_isa!(f);
}

#[test]
fn gla_base_matches_the_closed_form() {
    for n in [2, 4, 8] {
        for k in [1, 2, n] {
            let c = case(SseBase::Gla, dims(2, 17, 2, 4, 6, 5), n, k, 3 + n as u64);
            let closed = c.closed_form_gla();
            let (o_ref, _) = c.reference(&vec![0.0; c.state_len()]);
            assert!(
                rel_err(
                    &o_ref.iter().map(|&x| x as f32).collect::<Vec<_>>(),
                    &closed
                ) < 1e-6
            );
            for mode in modes(c.d.t) {
                let o = c.run::<hla_core::simd::Isa>(mode, &mut vec![0.0; c.state_len()]);
                let e = rel_err(&o, &closed);
                assert!(e < TOL, "N {n} topK {k} {mode:?}: {e:e}");
            }
        }
    }
}

#[test]
fn cu_seqlens_equal_separate_runs() {
    for base in [SseBase::Gla, SseBase::DeltaRule] {
        let mut c = case(base, dims(1, 30, 2, 2, 8, 4), 4, 2, 11);
        c.cu = Some(vec![0, 7, 8, 30]);
        let init = rand_vec(c.state_len(), 5);
        check::<hla_core::simd::Isa>(&c, &init, "cuSeqlens");
    }
}

#[test]
fn continuation_equals_one_run() {
    for base in [SseBase::Gla, SseBase::DeltaRule] {
        let c = case(base, dims(1, 26, 1, 2, 8, 8), 4, 2, 13);
        let split = 11;
        for mode in [Mode::Recurrent, Mode::Chunk(4)] {
            let mut st = vec![0.0; c.state_len()];
            let whole = c.run::<hla_core::simd::Isa>(mode, &mut st);
            let d = c.d;
            let part = |lo: usize, hi: usize| -> SseCase {
                let inputs = token_slice(
                    c.opts.base.inputs(),
                    &d,
                    c.opts.partitions,
                    &c.inputs,
                    lo,
                    hi,
                );
                SseCase {
                    d: d.with_t(hi - lo),
                    opts: c.opts,
                    inputs,
                    cu: None,
                }
            };
            let mut st2 = vec![0.0; c.state_len()];
            let mut o = part(0, split).run::<hla_core::simd::Isa>(mode, &mut st2);
            o.extend(part(split, d.t).run::<hla_core::simd::Isa>(mode, &mut st2));
            assert_continuation(&whole, &st, &o, &st2, &format!("{base:?} {mode:?}"));
        }
    }
}

#[test]
fn router_ties_go_to_the_lowest_index_without_renormalisation() {
    let mut p = [0.0f32; 4];
    route::softmax(&[1.0, 2.0, 2.0, 2.0], &mut p);
    let mut sel = [0usize; 2];
    route::top_k(&p, &mut sel);
    assert_eq!(sel, [1, 2]);
    route::softmax(&[0.0; 4], &mut p);
    let mut one = [0usize; 1];
    route::top_k(&p, &mut one);
    assert_eq!(one, [0]);
    assert_eq!(
        p, [0.25; 4],
        "probabilities are not renormalised over the selection"
    );
    // The runs keep token order within each partition.
    let runs = route::Runs::route(&[0.0, 1.0, 5.0, 0.0, 0.0, 1.0], 3, 2, 1);
    assert_eq!(runs.tokens, [1, 0, 2]);
    assert_eq!(runs.starts, [0, 1, 3]);
}

#[test]
fn unselected_partitions_are_untouched() {
    // Every token routes to partition 1 only (logit 9 there): partitions 2.. keep their
    // initial state exactly, though their gates would decay them.
    let mut c = case(SseBase::Gla, dims(1, 9, 1, 1, 4, 4), 4, 1, 17);
    for t in 0..9 {
        c.inputs[sse::ROUTER][t * 4..(t + 1) * 4].copy_from_slice(&[9.0, 0.0, 0.0, 0.0]);
    }
    let init = rand_vec(c.state_len(), 3);
    for mode in modes(9) {
        let mut st = init.clone();
        c.run::<hla_core::simd::Isa>(mode, &mut st);
        assert_eq!(st[2 * 16..], init[2 * 16..], "{mode:?}");
        assert_ne!(st[16..32], init[16..32]);
    }
}

#[test]
fn bad_arguments_name_themselves_and_touch_nothing() {
    let c = case(SseBase::Gla, dims(1, 5, 1, 1, 4, 4), 4, 2, 19);
    let ins: Vec<&[f32]> = c.inputs.iter().map(|x| x.as_slice()).collect();
    let d = c.d;
    let try_with = |opts: SseOptions, ins: &[&[f32]], state_len: usize| -> String {
        let mut o = vec![7.0; d.t * d.hv * d.dv];
        let mut st = vec![3.0; state_len];
        let e = sse::forward(
            Mode::Recurrent,
            &d,
            &opts,
            ins,
            &mut o,
            &mut st,
            None,
            &mut Workspace::default(),
        )
        .unwrap_err();
        assert!(o.iter().all(|&x| x == 7.0) && st.iter().all(|&x| x == 3.0));
        e.arg.to_string()
    };
    let sl = c.state_len();
    assert_eq!(
        try_with(SseOptions { top_k: 0, ..c.opts }, &ins, sl),
        "topK"
    );
    assert_eq!(
        try_with(SseOptions { top_k: 5, ..c.opts }, &ins, sl),
        "topK"
    );
    let mut short = ins.clone();
    short[sse::ROUTER] = &c.inputs[sse::ROUTER][..4];
    assert_eq!(try_with(c.opts, &short, sl), "router");
    assert_eq!(
        try_with(
            SseOptions {
                base: SseBase::DeltaRule,
                ..c.opts
            },
            &ins,
            sl
        ),
        "inputs",
        "a gla gate set with base deltaRule"
    );
    assert_eq!(try_with(c.opts, &ins, sl + 1), "state");
    let pos: Vec<f32> = c.inputs[sse::GK2].iter().map(|x| -x + 0.1).collect();
    let mut bad = ins.clone();
    bad[sse::GK2] = &pos;
    assert_eq!(try_with(c.opts, &bad, sl), "gk2");
    let nan = vec![f32::NAN; c.inputs[sse::ROUTER].len()];
    let mut bad = ins.clone();
    bad[sse::ROUTER] = &nan;
    assert_eq!(try_with(c.opts, &bad, sl), "router");
}

#[test]
fn one_dispatch_names_sizes_and_no_segment_split() {
    use hla_core::ops::{segment_summary, summary_len};
    use hla_core::{Op, Options};
    assert_eq!(Op::from_name("sseGla"), Some(Op::SseGla));
    assert_eq!(Op::from_name("sseDeltaRule"), Some(Op::SseDeltaRule));
    assert_eq!(Op::from_name("rla"), Some(Op::Rla));
    assert_eq!(Op::SseGla.inputs().len(), 8);
    assert_eq!(Op::SseDeltaRule.inputs().len(), 10);
    let c = case(SseBase::Gla, dims(1, 5, 2, 4, 8, 6), 4, 2, 23);
    let d = c.d;
    // (N + 1) matrices per value head.
    assert_eq!(sse::group_len(&d, &c.opts), Some(5 * 2 * 8 * 6));
    assert_eq!(c.state_len(), 2 * 5 * 2 * 8 * 6);
    let huge = SseOptions {
        partitions: 1 << 30,
        ..c.opts
    };
    assert_eq!(sse::group_len(&dims(1, 1, 1, 1, 64, 64), &huge), None);
    // The segment split has no sse summary: refused, not run.
    let opts = Options::Sse(c.opts);
    assert_eq!(summary_len(Op::SseGla, &d, &opts), None);
    let ins: Vec<&[f32]> = c.inputs.iter().map(|x| x.as_slice()).collect();
    assert!(segment_summary(Op::SseGla, &d, &opts, &ins, 4, &mut Workspace::default()).is_err());
    // Another family's options are refused (the router's width comes from sse's options, so
    // the length check of the router is what refuses them first), nothing touched.
    let wrong = Options::Gated(hla_core::GatedOptions {
        scale: 1.0,
        qk_l2norm: false,
    });
    let mut o = vec![0.0; d.t * d.hv * d.dv];
    let mut st = vec![0.0; c.state_len()];
    let e = hla_core::ops::forward(
        Op::SseGla,
        Mode::Recurrent,
        &d,
        &wrong,
        &ins,
        &mut o,
        &mut st,
        None,
        &mut Workspace::default(),
    )
    .unwrap_err();
    assert!(e.arg == "router" || e.arg == "options", "{e}");
    assert!(o.iter().all(|&x| x == 0.0) && st.iter().all(|&x| x == 0.0));
}
