//! rla (bases la and deltaRule): every form (recurrent, chunk sizes 1, 3, 16, T+5) on every
//! instruction set compiled in, against the float64 token loop (common/second.rs) and, over
//! la, the closed form: both residual readings, clip active (some residuals clipped) and
//! inactive (none), GQA, B > 1, strong and extreme gates (α down to e^−30 and 0: the undecayed
//! read never divides by α), g and beta absent, qkL2norm, an initial state, cuSeqlens,
//! continuation, and the argument errors (nothing touched).

#[allow(dead_code)]
#[macro_use]
mod common;
use common::isa::{dims, modes};
use common::second::{assert_continuation, token_slice, RlaCase};
use common::{rand_vec, rel_err};
use hla_core::ops::rla::{self, Residual, RlaBase, RlaOptions};
use hla_core::simd::Simd;
use hla_core::workspace::Workspace;
use hla_core::{Dims, Mode};

const TOL: f64 = 2e-4;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Gates {
    /// In (−0.05, 0].
    Weak,
    /// Down to log(1e-4).
    Strong,
    /// Down to −30 and some −∞ (full resets).
    Extreme,
}

fn log_gates(n: usize, s: Gates, seed: u64) -> Vec<f32> {
    rand_vec(n, seed)
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let x = (x + 1.0) / 2.0;
            match s {
                Gates::Weak => -0.05 * x,
                Gates::Strong => (1e-4f32).ln() * x,
                Gates::Extreme if i % 13 == 4 => f32::NEG_INFINITY,
                Gates::Extreme if i % 3 == 0 => -30.0 * x,
                Gates::Extreme => (1e-4f32).ln() * x,
            }
        })
        .collect()
}

fn case(base: RlaBase, d: Dims, gates: Gates, clip: f32, residual: Residual, seed: u64) -> RlaCase {
    let rows = d.b * d.t;
    let nq = rows * d.h * d.dk;
    let nv = rows * d.hv;
    // ‖k‖² ≈ 1/3 keeps β‖k‖² < 2 (the delta rule's stable range) and la's states moderate.
    let kf = 1.0 / (d.dk as f32).sqrt();
    let rate = |s| -> Vec<f32> {
        rand_vec(nv, s)
            .iter()
            .map(|x| 0.05 + 0.45 * (x + 1.0))
            .collect()
    };
    RlaCase {
        d,
        opts: RlaOptions {
            base,
            clip,
            residual,
            qk_l2norm: false,
            scale: (d.dk as f32).powf(-0.5),
        },
        inputs: vec![
            rand_vec(nq, seed + 1),
            rand_vec(nq, seed + 2).iter().map(|x| kf * x).collect(),
            rand_vec(rows * d.hv * d.dv, seed + 3),
            log_gates(nv, gates, seed + 4),
            rate(seed + 5),
            rate(seed + 6),
        ],
        cu: None,
    }
}

/// Checks every form against the token loop; returns how many residual elements were clipped.
fn check<S: Simd>(c: &RlaCase, init: &[f32], what: &str) -> usize {
    let (o_ref, st_ref, clipped) = c.reference(init);
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
    clipped
}

#[test]
fn every_form_every_isa_against_the_token_loop() {
    fn f<S: Simd>() {
        for base in [RlaBase::La, RlaBase::DeltaRule] {
            for residual in [Residual::Undecayed, Residual::Decayed] {
                for gates in [Gates::Weak, Gates::Strong, Gates::Extreme] {
                    let seed = 7 + gates as u64;
                    // Clip active: residuals of ~unit values clipped at 0.2.
                    let c = case(base, dims(2, 23, 2, 4, 8, 6), gates, 0.2, residual, seed);
                    let n = check::<S>(&c, &vec![0.0; c.state_len()], "clip 0.2");
                    assert!(n > 10, "clip 0.2 clips ({n})");
                    // Clip inactive.
                    let c = case(base, dims(2, 23, 2, 4, 8, 6), gates, 1e6, residual, seed);
                    let init: Vec<f32> =
                        rand_vec(c.state_len(), 9).iter().map(|x| 0.3 * x).collect();
                    assert_eq!(check::<S>(&c, &init, "clip 1e6"), 0);
                }
            }
        }
    }
    for_each_isa!(f);
}

#[test]
fn the_two_residual_readings_differ() {
    let mk = |r| {
        case(
            RlaBase::La,
            dims(1, 12, 1, 1, 4, 4),
            Gates::Strong,
            1e6,
            r,
            3,
        )
    };
    let (a, b) = (mk(Residual::Undecayed), mk(Residual::Decayed));
    let (oa, _, _) = a.reference(&vec![0.0; a.state_len()]);
    let (ob, _, _) = b.reference(&vec![0.0; b.state_len()]);
    let oa32: Vec<f32> = oa.iter().map(|&x| x as f32).collect();
    assert!(rel_err(&oa32, &ob) > 1e-2);
}

#[test]
fn absent_gates_and_rates_qk_l2norm_odd_sizes() {
    fn f<S: Simd>() {
        for base in [RlaBase::La, RlaBase::DeltaRule] {
            for (no_g, no_beta, l2) in [
                (true, false, false),
                (false, true, true),
                (true, true, true),
            ] {
                let mut c = case(
                    base,
                    dims(1, 19, 1, 3, 5, 7),
                    Gates::Strong,
                    0.5,
                    Residual::Undecayed,
                    5,
                );
                if no_g {
                    c.inputs[rla::G].clear();
                }
                if no_beta {
                    c.inputs[rla::BETA].clear();
                    // β = 1: keep the delta rule stable with normalised or small keys.
                    c.opts.qk_l2norm = true;
                }
                c.opts.qk_l2norm |= l2;
                c.opts.scale = 0.8;
                check::<S>(&c, &vec![0.0; c.state_len()], "absent inputs");
            }
        }
    }
    for_each_isa!(f);
}

#[test]
fn la_base_matches_the_closed_form() {
    for residual in [Residual::Undecayed, Residual::Decayed] {
        for clip in [0.2, 1e6] {
            let c = case(
                RlaBase::La,
                dims(2, 17, 2, 4, 6, 5),
                Gates::Strong,
                clip,
                residual,
                21,
            );
            let closed = c.closed_form_la();
            let (o_ref, _, _) = c.reference(&vec![0.0; c.state_len()]);
            let o32: Vec<f32> = o_ref.iter().map(|&x| x as f32).collect();
            assert!(rel_err(&o32, &closed) < 1e-6);
            for mode in modes(c.d.t) {
                let o = c.run::<hla_core::simd::Isa>(mode, &mut vec![0.0; c.state_len()]);
                let e = rel_err(&o, &closed);
                assert!(e < TOL, "{residual:?} clip {clip} {mode:?}: {e:e}");
            }
        }
    }
}

#[test]
fn cu_seqlens_and_continuation() {
    for base in [RlaBase::La, RlaBase::DeltaRule] {
        let mut c = case(
            base,
            dims(1, 30, 2, 2, 8, 4),
            Gates::Strong,
            0.3,
            Residual::Undecayed,
            11,
        );
        c.cu = Some(vec![0, 7, 8, 30]);
        let init: Vec<f32> = rand_vec(c.state_len(), 5).iter().map(|x| 0.3 * x).collect();
        check::<hla_core::simd::Isa>(&c, &init, "cuSeqlens");

        let c = case(
            base,
            dims(1, 26, 1, 2, 8, 8),
            Gates::Weak,
            0.3,
            Residual::Decayed,
            13,
        );
        let split = 11;
        for mode in [Mode::Recurrent, Mode::Chunk(4)] {
            let mut st = vec![0.0; c.state_len()];
            let whole = c.run::<hla_core::simd::Isa>(mode, &mut st);
            let d = c.d;
            let part = |lo: usize, hi: usize| -> RlaCase {
                let inputs = token_slice(&rla::INPUTS, &d, 0, &c.inputs, lo, hi);
                RlaCase {
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
fn bad_arguments_name_themselves_and_touch_nothing() {
    let c = case(
        RlaBase::La,
        dims(1, 5, 1, 1, 4, 4),
        Gates::Weak,
        1.0,
        Residual::Undecayed,
        19,
    );
    let ins: Vec<&[f32]> = c.inputs.iter().map(|x| x.as_slice()).collect();
    let d = c.d;
    let try_with = |opts: RlaOptions, ins: &[&[f32]], state_len: usize| -> String {
        let mut o = vec![7.0; d.t * d.hv * d.dv];
        let mut st = vec![3.0; state_len];
        let e = rla::forward(
            Mode::Chunk(2),
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
        try_with(
            RlaOptions {
                clip: 0.0,
                ..c.opts
            },
            &ins,
            sl
        ),
        "clip"
    );
    assert_eq!(
        try_with(
            RlaOptions {
                clip: -1.0,
                ..c.opts
            },
            &ins,
            sl
        ),
        "clip"
    );
    assert_eq!(
        try_with(
            RlaOptions {
                clip: f32::NAN,
                ..c.opts
            },
            &ins,
            sl
        ),
        "clip"
    );
    assert_eq!(try_with(c.opts, &ins, sl - 1), "state");
    let mut short = ins.clone();
    short[rla::CORRECTION] = &[];
    assert_eq!(try_with(c.opts, &short, sl), "correction");
    let pos = vec![0.5f32; c.inputs[rla::G].len()];
    let mut bad = ins.clone();
    bad[rla::G] = &pos;
    assert_eq!(try_with(c.opts, &bad, sl), "g");
}
