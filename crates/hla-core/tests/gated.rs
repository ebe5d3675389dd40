//! gla and deltaRule: every form (recurrent, chunk sizes 1, 3, 16, T+5) on every instruction set
//! compiled in, against the float64 token loops of common/gated.rs: GQA value heads, B > 1,
//! odd head sizes, cuSeqlens, weak / strong / extreme gates (down to −30 and −∞ per token, past
//! the block factorisation's limit), qkL2norm on and off, custom scale, an initial state, and
//! continuation (finalState → initialState) ≡ one run.

#[allow(dead_code)]
#[macro_use]
mod common;
use common::gated::GatedCase;
use common::isa::{dims, modes};
use common::{rand_vec, rel_err};
use hla_core::simd::Simd;
use hla_core::workspace::Workspace;
use hla_core::{forward, Dims, GatedOptions, Mode, Op, Options};

const TOL: f64 = 1e-4;

#[derive(Clone, Copy, Debug)]
enum Strength {
    /// log decays in (−0.05, 0]: long memory, large states.
    Weak,
    /// down to log(1e-4) per token.
    Strong,
    /// down to −30 per token and some −∞ (full resets): blocks fall back to single tokens.
    Extreme,
}

fn log_gates(n: usize, s: Strength, seed: u64) -> Vec<f32> {
    let u = rand_vec(n, seed);
    u.iter()
        .enumerate()
        .map(|(i, &x)| {
            let x = (x + 1.0) / 2.0; // [0, 1)
            match s {
                Strength::Weak => -0.05 * x,
                Strength::Strong => (1e-4f32).ln() * x,
                Strength::Extreme if i % 37 == 5 => f32::NEG_INFINITY,
                Strength::Extreme if i % 3 == 0 => -30.0 * x,
                Strength::Extreme => (1e-4f32).ln() * x,
            }
        })
        .collect()
}

struct Spec {
    d: Dims,
    strength: Strength,
    qk_l2norm: bool,
    scale: Option<f32>,
    cu: Option<Vec<i32>>,
    /// deltaRule without `g` (the plain delta rule).
    no_g: bool,
}

fn make(op: Op, s: &Spec, seed: u64) -> GatedCase {
    let d = s.d;
    let rows = d.b * d.t;
    let nq = rows * d.h * d.dk;
    let mut k = rand_vec(nq, seed + 2);
    if op == Op::DeltaRule && !s.qk_l2norm {
        // ‖k‖² ≈ 1/3 keeps β‖k‖² < 2, where the recurrence itself is stable.
        let f = 1.0 / (d.dk as f32).sqrt();
        k.iter_mut().for_each(|x| *x *= f);
    }
    let beta: Vec<f32> = rand_vec(rows * d.hv, seed + 5)
        .iter()
        .map(|x| 0.05 + 0.45 * (x + 1.0))
        .collect();
    GatedCase {
        op,
        d,
        scale: s.scale.unwrap_or((d.dk as f32).powf(-0.5)),
        qk_l2norm: s.qk_l2norm && op == Op::DeltaRule,
        q: rand_vec(nq, seed + 1),
        k,
        v: rand_vec(rows * d.hv * d.dv, seed + 3),
        gk: if op == Op::Gla {
            log_gates(nq, s.strength, seed + 4)
        } else {
            vec![]
        },
        beta: if op == Op::DeltaRule { beta } else { vec![] },
        g: if op == Op::DeltaRule && !s.no_g {
            log_gates(rows * d.hv, s.strength, seed + 6)
        } else {
            vec![]
        },
        cu: s.cu.clone(),
    }
}

fn specs() -> Vec<Spec> {
    vec![
        Spec {
            d: dims(1, 37, 1, 1, 8, 8),
            strength: Strength::Weak,
            qk_l2norm: false,
            scale: None,
            cu: None,
            no_g: false,
        },
        Spec {
            d: dims(2, 29, 2, 4, 7, 5),
            strength: Strength::Strong,
            qk_l2norm: true,
            scale: Some(0.7),
            cu: None,
            no_g: false,
        },
        Spec {
            d: dims(1, 41, 1, 2, 33, 75),
            strength: Strength::Extreme,
            qk_l2norm: true,
            scale: Some(1.3),
            cu: None,
            no_g: false,
        },
        Spec {
            d: dims(1, 40, 2, 2, 12, 20),
            strength: Strength::Strong,
            qk_l2norm: false,
            scale: None,
            cu: Some(vec![0, 7, 8, 40]),
            no_g: false,
        },
        Spec {
            d: dims(2, 23, 1, 3, 16, 9),
            strength: Strength::Weak,
            qk_l2norm: false,
            scale: None,
            cu: None,
            no_g: true,
        },
    ]
}

fn forms_match_reference<S: Simd>() {
    for op in [Op::Gla, Op::DeltaRule] {
        for (n, spec) in specs().iter().enumerate() {
            if op == Op::Gla && spec.no_g {
                continue;
            }
            let c = make(op, spec, 100 + n as u64);
            let init: Vec<f32> = rand_vec(c.state_len(), 7 + n as u64)
                .iter()
                .map(|x| 0.5 * x)
                .collect();
            let (o_ref, s_ref) = c.reference(&init);
            for mode in modes(spec.d.t) {
                let mut st = init.clone();
                let o = c.run::<S>(mode, &mut st);
                let (eo, es) = (rel_err(&o, &o_ref), rel_err(&st, &s_ref));
                let what = format!("{} {} {mode:?} spec {n} ({:?})", op.name(), S::NAME, spec.d);
                assert!(eo < TOL, "{what}: outputs off by {eo}");
                assert!(es < TOL, "{what}: final state off by {es}");
            }
        }
    }
}

#[test]
fn forms_match_float64_reference_on_every_isa() {
    for_each_isa!(forms_match_reference);
}

/// Tokens `a .. b` of every sequence of the batch (cuSeqlens not used).
fn time_slice(c: &GatedCase, a: usize, b: usize) -> GatedCase {
    let d = c.d;
    let cut = |x: &[f32], per: usize| -> Vec<f32> {
        (0..d.b)
            .flat_map(|s| x[(s * d.t + a) * per..(s * d.t + b) * per].to_vec())
            .collect()
    };
    let gk = if c.gk.is_empty() {
        vec![]
    } else {
        cut(&c.gk, d.h * d.dk)
    };
    let g = if c.g.is_empty() {
        vec![]
    } else {
        cut(&c.g, d.hv)
    };
    let beta = if c.beta.is_empty() {
        vec![]
    } else {
        cut(&c.beta, d.hv)
    };
    GatedCase {
        op: c.op,
        d: Dims { t: b - a, ..d },
        scale: c.scale,
        qk_l2norm: c.qk_l2norm,
        q: cut(&c.q, d.h * d.dk),
        k: cut(&c.k, d.h * d.dk),
        v: cut(&c.v, d.hv * d.dv),
        gk,
        beta,
        g,
        cu: None,
    }
}

fn continuation_is_one_run<S: Simd>() {
    for op in [Op::Gla, Op::DeltaRule] {
        for (n, spec) in specs().iter().enumerate() {
            if spec.cu.is_some() || (op == Op::Gla && spec.no_g) {
                continue;
            }
            let c = make(op, spec, 300 + n as u64);
            let t = spec.d.t;
            for mode in modes(t) {
                let mut whole = vec![0f32; c.state_len()];
                let o_whole = c.run::<S>(mode, &mut whole);
                for cut in [1, t / 2, t - 1] {
                    let (a, b) = (time_slice(&c, 0, cut), time_slice(&c, cut, t));
                    let mut st = vec![0f32; c.state_len()];
                    let oa = a.run::<S>(mode, &mut st);
                    let ob = b.run::<S>(mode, &mut st);
                    let what = format!("{} {} {mode:?} spec {n} cut {cut}", op.name(), S::NAME);
                    let joined = time_slice_join(&c, &oa, &ob, cut);
                    let w64: Vec<f64> = o_whole.iter().map(|&x| x as f64).collect();
                    let s64: Vec<f64> = whole.iter().map(|&x| x as f64).collect();
                    assert!(rel_err(&joined, &w64) < TOL, "{what}: outputs");
                    assert!(rel_err(&st, &s64) < TOL, "{what}: final state");
                }
            }
        }
    }
}

/// Outputs of a run over tokens `0..cut` and one over `cut..t`, interleaved back to `[B, T]`.
fn time_slice_join(c: &GatedCase, oa: &[f32], ob: &[f32], cut: usize) -> Vec<f32> {
    let d = c.d;
    let per = d.hv * d.dv;
    let mut out = Vec::with_capacity(oa.len() + ob.len());
    for s in 0..d.b {
        out.extend_from_slice(&oa[s * cut * per..(s + 1) * cut * per]);
        let r = d.t - cut;
        out.extend_from_slice(&ob[s * r * per..(s + 1) * r * per]);
    }
    out
}

#[test]
fn continuation_equals_one_run() {
    for_each_isa!(continuation_is_one_run);
}

#[test]
fn bad_gates_are_rejected_naming_the_argument() {
    let d = Dims {
        b: 1,
        t: 3,
        h: 1,
        hv: 1,
        dk: 2,
        dv: 2,
    };
    let (q, v) = (vec![0.5f32; 6], vec![0.5f32; 6]);
    let mut o = vec![7f32; 6];
    let mut st = vec![1f32; 4];
    let opts = Options::Gated(GatedOptions {
        scale: 1.0,
        qk_l2norm: false,
    });
    let mut ws = Workspace::default();
    let mut call = |op, gates: &[&[f32]], o: &mut [f32], st: &mut [f32]| {
        let mut inputs: Vec<&[f32]> = vec![&q, &q, &v];
        inputs.extend_from_slice(gates);
        forward(
            op,
            Mode::Recurrent,
            &d,
            &opts,
            &inputs,
            o,
            st,
            None,
            &mut ws,
        )
    };
    let bad_gk = [0.0, -1.0, 0.5, 0.0, 0.0, 0.0];
    let nan_gk = [0.0, f32::NAN, 0.0, 0.0, 0.0, 0.0];
    let short = [0.0; 5];
    for (gk, arg) in [(&bad_gk[..], "gk"), (&nan_gk[..], "gk"), (&short[..], "gk")] {
        let e = call(Op::Gla, &[gk], &mut o, &mut st).unwrap_err();
        assert_eq!(e.arg, arg, "{e}");
    }
    let beta_ok = [0.5f32; 3];
    for (beta, g, arg) in [
        (&[0.5, f32::INFINITY, 0.5][..], &[][..], "beta"),
        (&[0.5, f32::NAN, 0.5][..], &[][..], "beta"),
        (&[0.5, 0.5][..], &[][..], "beta"),
        (&[][..], &[][..], "beta"),
        (&beta_ok[..], &[0.0, 0.1, 0.0][..], "g"),
        (&beta_ok[..], &[0.0, f32::NAN, 0.0][..], "g"),
        (&beta_ok[..], &[0.0, 0.0][..], "g"),
    ] {
        let e = call(Op::DeltaRule, &[beta, g], &mut o, &mut st).unwrap_err();
        assert_eq!(e.arg, arg, "{e}");
    }
    // gla with qkL2norm, a gated operator with HLA options: refused by name.
    let l2 = Options::Gated(GatedOptions {
        scale: 1.0,
        qk_l2norm: true,
    });
    let gk = [0f32; 6];
    let e = forward(
        Op::Gla,
        Mode::Recurrent,
        &d,
        &l2,
        &[&q, &q, &v, &gk],
        &mut o,
        &mut st,
        None,
        &mut ws,
    )
    .unwrap_err();
    assert_eq!(e.arg, "qkL2norm", "{e}");
    let hla = Options::Hla(hla_core::HlaOptions {
        scale: 1.0,
        decay: vec![1.0],
        normalize: false,
        eps: 1e-6,
        ridge: 0.0,
    });
    let e = forward(
        Op::Gla,
        Mode::Recurrent,
        &d,
        &hla,
        &[&q, &q, &v, &gk],
        &mut o,
        &mut st,
        None,
        &mut ws,
    )
    .unwrap_err();
    assert_eq!(e.arg, "options", "{e}");
    assert!(
        o.iter().all(|&x| x == 7.0) && st.iter().all(|&x| x == 1.0),
        "nothing touched"
    );
}
