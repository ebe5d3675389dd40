//! The segment split of gla and deltaRule (docs/math.md, section g): from a random initial
//! state, the carry folded segment by segment with `combine(carry, summary)` equals the state
//! of one serial run at every cut, and each segment's forward from its carry gives that run's
//! outputs; both against the float64 token loops of common/gated.rs. Every instruction set
//! compiled in; weak and strong gates, deltaRule with and without g and qkL2norm on and off,
//! GQA value heads, odd head sizes, summary chunk sizes 1 to longer than a segment.

#[allow(dead_code)]
#[macro_use]
mod common;
use common::gated::GatedCase;
use common::isa::dims;
use common::{rand_vec, rel_err};
use hla_core::ops::{combine_with, forward_with, segment_summary_with, summary_len};
use hla_core::simd::Simd;
use hla_core::workspace::Workspace;
use hla_core::{Dims, Mode, Op};

const TOL: f64 = 1e-4;

/// Log gates in (lo, 0].
fn gates(n: usize, lo: f32, seed: u64) -> Vec<f32> {
    rand_vec(n, seed)
        .iter()
        .map(|x| lo * (x + 1.0) / 2.0)
        .collect()
}

fn case(op: Op, d: Dims, lo: f32, qk_l2norm: bool, no_g: bool, seed: u64) -> GatedCase {
    let rows = d.t;
    let nq = rows * d.h * d.dk;
    let mut k = rand_vec(nq, seed + 2);
    if op == Op::DeltaRule && !qk_l2norm {
        // ‖k‖² ≈ 1/3 keeps β‖k‖² < 2, where the recurrence itself is stable.
        let f = 1.0 / (d.dk as f32).sqrt();
        k.iter_mut().for_each(|x| *x *= f);
    }
    GatedCase {
        op,
        d,
        scale: 0.8,
        qk_l2norm,
        q: rand_vec(nq, seed + 1),
        k,
        v: rand_vec(rows * d.hv * d.dv, seed + 3),
        gk: if op == Op::Gla {
            gates(nq, lo, seed + 4)
        } else {
            vec![]
        },
        beta: if op == Op::DeltaRule {
            rand_vec(rows * d.hv, seed + 5)
                .iter()
                .map(|x| 0.05 + 0.45 * (x + 1.0))
                .collect()
        } else {
            vec![]
        },
        g: if op == Op::DeltaRule && !no_g {
            gates(rows * d.hv, lo, seed + 6)
        } else {
            vec![]
        },
        cu: None,
    }
}

/// Tokens [t0, t1) of every input of `c` (one sequence).
fn rows(c: &GatedCase, t0: usize, t1: usize) -> Vec<Vec<f32>> {
    let d = c.d;
    c.inputs()
        .iter()
        .map(|x| {
            let w = x.len() / d.t;
            x[t0 * w..t1 * w].to_vec()
        })
        .collect()
}

fn check<S: Simd>(c: &GatedCase, cuts: &[usize], chunk: usize, what: &str) {
    let d = c.d;
    let opts = c.options();
    let init: Vec<f32> = rand_vec(c.state_len(), 77)
        .iter()
        .map(|x| 0.5 * x)
        .collect();
    let (o_ref, st_ref) = c.reference(&init);
    let mut ws = Workspace::default();
    let mut carry = init.clone();
    let mut o = vec![0f32; d.t * d.hv * d.dv];
    for w in cuts.windows(2) {
        let (t0, t1) = (w[0], w[1]);
        let dt = Dims { t: t1 - t0, ..d };
        let seg = rows(c, t0, t1);
        let inputs: Vec<&[f32]> = seg.iter().map(|x| x.as_slice()).collect();
        // The segment's forward from its carry (the chunk form, as a worker runs it).
        let mut st = carry.clone();
        let n = d.hv * d.dv;
        forward_with::<S>(
            c.op,
            Mode::Chunk(16),
            &dt,
            &opts,
            &inputs,
            &mut o[t0 * n..t1 * n],
            &mut st,
            None,
            &mut ws,
        )
        .unwrap();
        let s = segment_summary_with::<S>(c.op, &dt, &opts, &inputs, chunk, &mut ws).unwrap();
        assert_eq!(Some(s.len()), summary_len(c.op, &dt, &opts));
        combine_with::<S>(c.op, &dt, &opts, &mut carry, &s).unwrap();
        let e = rel_err(&carry, &st.iter().map(|&x| x as f64).collect::<Vec<_>>());
        assert!(
            e < TOL,
            "{what} chunk {chunk} cut {t1}: carry vs forward {e}"
        );
    }
    let e = rel_err(&carry, &st_ref);
    assert!(e < TOL, "{what} chunk {chunk}: final carry {e}");
    let e = rel_err(&o, &o_ref);
    assert!(e < TOL, "{what} chunk {chunk}: outputs {e}");
}

fn summaries_fold_to_the_serial_run<S: Simd>() {
    let cuts = [0, 11, 12, 30, 47];
    let ln = (1e-4f32).ln();
    for (n, &(h, hv, dk, dv)) in [(1, 1, 8, 8), (2, 4, 7, 5), (1, 3, 16, 9)]
        .iter()
        .enumerate()
    {
        let d = dims(1, 47, h, hv, dk, dv);
        for chunk in [1, 4, 16, 64] {
            for (lo, gate) in [(-0.05, "weak"), (ln, "strong")] {
                let c = case(Op::Gla, d, lo, false, false, 10 * n as u64);
                check::<S>(&c, &cuts, chunk, &format!("gla {gate} {d:?}"));
                for (l2, no_g) in [(false, false), (true, false), (false, true), (true, true)] {
                    let c = case(Op::DeltaRule, d, lo, l2, no_g, 10 * n as u64 + 1);
                    let what = format!("deltaRule {gate} qkL2norm {l2} no g {no_g} {d:?}");
                    check::<S>(&c, &cuts, chunk, &what);
                }
            }
        }
    }
}

#[test]
fn gated_summaries_fold_to_the_serial_run() {
    for_each_isa!(summaries_fold_to_the_serial_run);
}

/// 2000 tokens of strong gates in one segment: the carry's decay underflows to 0 (its true
/// value, ~1e-4^2000) instead of overflowing, and the summary stays the serial state.
#[test]
fn long_strong_segments_stay_finite() {
    let d = dims(1, 2000, 1, 1, 8, 8);
    let c = case(Op::Gla, d, -9.0, false, false, 5);
    check::<hla_core::simd::Isa>(&c, &[0, 700, 2000], 64, "gla strong long");
    let c = case(Op::DeltaRule, d, -9.0, true, false, 6);
    check::<hla_core::simd::Isa>(&c, &[0, 700, 2000], 64, "deltaRule strong long");
}

/// Gates of −30 and −∞ (full resets) inside segments: the carry's map becomes 0 (gla's decay,
/// deltaRule's A) from the reset on, and the folded carries stay the serial run.
fn resets_inside_segments<S: Simd>() {
    let d = dims(1, 60, 1, 2, 8, 6);
    for op in [Op::Gla, Op::DeltaRule] {
        let mut c = case(op, d, -3.0, op == Op::DeltaRule, false, 9);
        let g = if op == Op::Gla { &mut c.gk } else { &mut c.g };
        let w = g.len() / d.t;
        for (i, x) in g.iter_mut().enumerate() {
            match (i / w) % 23 {
                5 => *x = f32::NEG_INFINITY,
                17 => *x = -30.0,
                _ => {}
            }
        }
        for chunk in [1, 7, 64] {
            check::<S>(&c, &[0, 13, 29, 60], chunk, &format!("{op:?} resets"));
        }
    }
}

#[test]
fn gated_resets_inside_segments() {
    for_each_isa!(resets_inside_segments);
}

/// A long deltaRule segment's A (a product of contractions and decays) shrinks geometrically:
/// its entries are flushed to zero below 2⁻¹⁰⁰ instead of settling as subnormals, which Intel
/// cores multiply-add ~35× slower; the folded carry is still the serial run's.
#[test]
fn long_segments_leave_no_subnormals() {
    let d = dims(1, 8192, 1, 1, 64, 64);
    let c = case(Op::DeltaRule, d, -0.05, true, false, 11);
    check::<hla_core::simd::Isa>(&c, &[0, 3000, 8192], 16, "deltaRule long weak");
    let seg = rows(&c, 0, d.t);
    let inputs: Vec<&[f32]> = seg.iter().map(|x| x.as_slice()).collect();
    let mut ws = Workspace::default();
    let s = segment_summary_with::<hla_core::simd::Isa>(c.op, &d, &c.options(), &inputs, 16, &mut ws).unwrap();
    let a = &s[1 + c.state_len()..];
    assert_eq!(a.len(), d.hv * d.dk * d.dk);
    let sub = a.iter().filter(|x| **x != 0.0 && x.abs() < f32::MIN_POSITIVE).count();
    assert_eq!(sub, 0, "{sub} subnormal entries of A");
}
