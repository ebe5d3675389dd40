//! Every operator × form × option against the float64 brute force (native build).

mod common;
use common::{brute_force, rand_vec, rel_err, run, Case};
use hla_core::ops::forward_with;
use hla_core::simd::{Isa, Scalar};
use hla_core::workspace::Workspace;
use hla_core::{Dims, HlaOptions, Mode, Op};

const TOL: f64 = 1e-4;

fn n_state(c: &Case, n_seq: usize) -> usize {
    c.state_len(n_seq)
}

/// Signed inputs; with `positive`, q and k in [0, 1): normalised operators divide by a sum
/// that signed random features can cancel to ~0, which measures conditioning, not the kernel.
fn inputs_for(d: &Dims, seed: u64, positive: bool) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let nq = d.b * d.t * d.h * d.dk;
    let nv = d.b * d.t * d.hv * d.dv;
    let f = |x: Vec<f32>| {
        if positive {
            x.into_iter().map(|x| 0.5 * (x + 1.0)).collect()
        } else {
            x
        }
    };
    (
        f(rand_vec(nq, seed)),
        f(rand_vec(nq, seed + 1)),
        rand_vec(nv, seed + 2),
    )
}

fn inputs(d: &Dims, seed: u64) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    inputs_for(d, seed, false)
}

fn modes(t: usize) -> Vec<Mode> {
    vec![
        Mode::Recurrent,
        Mode::Chunk(1),
        Mode::Chunk(3),
        Mode::Chunk(16),
        Mode::Chunk(64),
        Mode::Chunk(t + 5),
    ]
}

fn check_case(c: &Case, seed: u64) {
    let d = c.d;
    let (q, k, v) = inputs_for(&d, seed, c.normalize);
    let seqs: Vec<_> = (0..d.b).map(|b| (b * d.t, d.t)).collect();
    let r = brute_force(c, &q, &k, &v, &seqs);
    for mode in modes(d.t) {
        for (name, o) in [
            (
                "isa",
                run::<Isa>(c, mode, &q, &k, &v, &mut vec![0.0; n_state(c, d.b)], None),
            ),
            (
                "scalar",
                run::<Scalar>(c, mode, &q, &k, &v, &mut vec![0.0; n_state(c, d.b)], None),
            ),
        ] {
            let e = rel_err(&o, &r);
            assert!(
                e <= TOL,
                "{:?} {mode:?} {name} normalize={} decay={:?} ridge={} {d:?}: rel err {e:e}",
                c.op,
                c.normalize,
                c.decay,
                c.ridge
            );
        }
    }
}

fn case(op: Op, d: Dims, decay: f32, normalize: bool, ridge: f32) -> Case {
    Case {
        op,
        d,
        scale: (d.dk as f32).powf(-0.5),
        decay: vec![decay],
        normalize,
        eps: 1e-6,
        ridge,
    }
}

#[test]
fn every_operator_mode_and_option_matches_brute_force() {
    let shapes = [
        Dims {
            b: 2,
            t: 37,
            h: 2,
            hv: 4,
            dk: 7,
            dv: 5,
        },
        Dims {
            b: 1,
            t: 70,
            h: 1,
            hv: 1,
            dk: 16,
            dv: 12,
        },
    ];
    for op in Op::HLA {
        for d in shapes {
            let d = if op == Op::Hla3 {
                Dims {
                    t: d.t.min(32),
                    ..d
                }
            } else {
                d
            };
            // 1e-4 and 1e-7: token-blocked sweeps scale q by γ^{1−NT}; tiny γ falls back.
            for decay in [1.0, 0.9, 1e-4, 1e-7] {
                for normalize in [false, true] {
                    check_case(&case(op, d, decay, normalize, 0.0), 11);
                }
            }
        }
    }
}

#[test]
fn hla2_ridge_matches_brute_force() {
    let d = Dims {
        b: 2,
        t: 33,
        h: 2,
        hv: 4,
        dk: 7,
        dv: 5,
    };
    for decay in [1.0, 0.9] {
        for normalize in [false, true] {
            check_case(&case(Op::Hla2, d, decay, normalize, 0.3), 5);
        }
    }
}

#[test]
fn per_head_decay() {
    let d = Dims {
        b: 1,
        t: 20,
        h: 3,
        hv: 3,
        dk: 4,
        dv: 3,
    };
    for op in Op::HLA {
        let mut c = case(op, d, 1.0, false, 0.0);
        c.decay = vec![1.0, 0.8, 0.95];
        check_case(&c, 3);
    }
}

#[test]
fn continuation_equals_one_run() {
    let d = Dims {
        b: 2,
        t: 41,
        h: 2,
        hv: 4,
        dk: 6,
        dv: 5,
    };
    for op in Op::HLA {
        let c = case(op, d, 0.9, true, if op == Op::Hla2 { 0.2 } else { 0.0 });
        let (q, k, v) = inputs(&d, 9);
        let full = run::<Isa>(
            &c,
            Mode::Recurrent,
            &q,
            &k,
            &v,
            &mut vec![0.0; n_state(&c, 2)],
            None,
        );
        for split in [1, 13, 40] {
            for mode in [Mode::Recurrent, Mode::Chunk(4)] {
                let part = |x: &[f32], w: usize, t0: usize, t1: usize| -> Vec<f32> {
                    (0..d.b)
                        .flat_map(|b| x[(b * d.t + t0) * w..(b * d.t + t1) * w].to_vec())
                        .collect()
                };
                let (wk, wv) = (d.h * d.dk, d.hv * d.dv);
                let mut st = vec![0.0; n_state(&c, 2)];
                let mut c1 = Case {
                    d: Dims { t: split, ..d },
                    decay: c.decay.clone(),
                    ..c
                };
                let o1 = run::<Isa>(
                    &c1,
                    mode,
                    &part(&q, wk, 0, split),
                    &part(&k, wk, 0, split),
                    &part(&v, wv, 0, split),
                    &mut st,
                    None,
                );
                c1.d.t = d.t - split;
                let o2 = run::<Isa>(
                    &c1,
                    mode,
                    &part(&q, wk, split, d.t),
                    &part(&k, wk, split, d.t),
                    &part(&v, wv, split, d.t),
                    &mut st,
                    None,
                );
                let joined: Vec<f64> = (0..d.b)
                    .flat_map(|b| {
                        let a = o1[b * split * wv..(b + 1) * split * wv].iter();
                        let rest = d.t - split;
                        a.chain(o2[b * rest * wv..(b + 1) * rest * wv].iter())
                            .map(|&x| x as f64)
                            .collect::<Vec<_>>()
                    })
                    .collect();
                let e = rel_err(&full, &joined);
                assert!(e <= TOL, "{op:?} {mode:?} split {split}: {e:e}");
            }
        }
    }
}

#[test]
fn cu_seqlens_equals_separate_runs() {
    let d = Dims {
        b: 1,
        t: 30,
        h: 2,
        hv: 2,
        dk: 5,
        dv: 3,
    };
    let cu = [0, 7, 8, 30];
    for op in Op::HLA {
        let c = case(op, d, 0.9, false, 0.0);
        let (q, k, v) = inputs(&d, 4);
        let seqs: Vec<_> = cu
            .windows(2)
            .map(|w| (w[0] as usize, (w[1] - w[0]) as usize))
            .collect();
        let r = brute_force(&c, &q, &k, &v, &seqs);
        for mode in [Mode::Recurrent, Mode::Chunk(3)] {
            let o = run::<Isa>(
                &c,
                mode,
                &q,
                &k,
                &v,
                &mut vec![0.0; n_state(&c, 3)],
                Some(&cu),
            );
            let e = rel_err(&o, &r);
            assert!(e <= TOL, "{op:?} {mode:?}: {e:e}");
        }
    }
}

#[test]
fn bad_arguments_are_errors_not_panics() {
    let d = Dims {
        b: 1,
        t: 4,
        h: 2,
        hv: 3,
        dk: 2,
        dv: 2,
    };
    let opts = HlaOptions {
        scale: 1.0,
        decay: vec![1.0],
        normalize: false,
        eps: 1e-6,
        ridge: 0.0,
    };
    let mut o = vec![0.0; 24];
    let e = forward_with::<Isa>(
        Op::Hla2,
        Mode::Recurrent,
        &d,
        &opts.clone().into(),
        &[&[0.0; 16], &[0.0; 16], &[0.0; 24]],
        &mut o,
        &mut [],
        None,
        &mut Workspace::default(),
    );
    assert_eq!(e.unwrap_err().arg, "v");
    let d = Dims { hv: 2, ..d };
    let bad_decay = HlaOptions {
        decay: vec![1.5],
        ..opts.clone()
    };
    let e = forward_with::<Isa>(
        Op::La1,
        Mode::Recurrent,
        &d,
        &bad_decay.into(),
        &[&[0.0; 16], &[0.0; 16], &[0.0; 16]],
        &mut o[..16],
        &mut [0.0; 20],
        None,
        &mut Workspace::default(),
    );
    assert_eq!(e.unwrap_err().arg, "decay");
}

#[test]
fn signed_floor_keeps_the_sign_of_tiny_denominators() {
    // One token, dk = dv = 1: den = scale·q·k (la1). q·k = −1e-9 → floor −eps; 0 → +eps.
    let d = Dims {
        b: 1,
        t: 1,
        h: 1,
        hv: 1,
        dk: 1,
        dv: 1,
    };
    for (qk, want) in [
        (-1e-9f32, -1e-9 * 2.0 / -1e-3),
        (0.0, 0.0),
        (1e-9, 1e-9 * 2.0 / 1e-3),
    ] {
        let c = Case {
            op: Op::La1,
            d,
            scale: 1.0,
            decay: vec![1.0],
            normalize: true,
            eps: 1e-3,
            ridge: 0.0,
        };
        let o = run::<Isa>(
            &c,
            Mode::Recurrent,
            &[qk],
            &[1.0],
            &[2.0],
            &mut vec![0.0; n_state(&c, 1)],
            None,
        );
        assert!(
            (o[0] - want).abs() <= 1e-6 * want.abs().max(1.0),
            "q·k={qk}: {} vs {want}",
            o[0]
        );
    }
}
