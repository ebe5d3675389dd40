//! Segment split (ops::segment): forward over [0, T) equals forward over A = [0, s), then
//! carry ⊕ summary(B = [s, T)); and the forward over B from that carry gives the tail of the
//! full run. Every operator × decay × normalize × ridge × GQA, odd dk/dv, several splits and
//! summary chunk sizes; states against the serial recurrence, outputs against the float64
//! brute force.

mod common;
use common::{brute_force, rand_vec, rel_err, Case};
use hla_core::ops::{combine, forward, key_summary, segment_summary, summary_len};
use hla_core::workspace::Workspace;
use hla_core::{Dims, HlaOptions, Mode, Op, Options};

const TOL: f64 = 1e-4;

/// max|a − ref| / max(1, max|ref|) for two float32 results.
fn rel32(a: &[f32], r: &[f32]) -> f64 {
    assert_eq!(a.len(), r.len());
    let scale = r.iter().fold(1f64, |m, x| m.max(x.abs() as f64));
    let err = a
        .iter()
        .zip(r)
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .fold(
            0.0,
            |m: f64, e| if e.is_nan() { f64::INFINITY } else { m.max(e) },
        );
    err / scale
}

struct Run<'a> {
    c: &'a Case,
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
}

impl Run<'_> {
    fn opts(&self) -> Options {
        self.c.options()
    }
    fn dims(&self, t: usize) -> Dims {
        Dims { t, ..self.c.d }
    }
    fn rows(&self, t0: usize, t1: usize) -> (&[f32], &[f32], &[f32]) {
        let d = self.c.d;
        let (wq, wv) = (d.h * d.dk, d.hv * d.dv);
        (
            &self.q[t0 * wq..t1 * wq],
            &self.k[t0 * wq..t1 * wq],
            &self.v[t0 * wv..t1 * wv],
        )
    }
    fn zero_state(&self) -> Vec<f32> {
        vec![0f32; self.c.state_len(1)]
    }
    /// Forward over tokens [t0, t1) from `state` (updated in place); returns the outputs.
    fn forward(&self, mode: Mode, t0: usize, t1: usize, state: &mut [f32]) -> Vec<f32> {
        let d = self.dims(t1 - t0);
        let (q, k, v) = self.rows(t0, t1);
        let mut o = vec![0f32; (t1 - t0) * d.hv * d.dv];
        let opts = self.opts();
        forward(
            self.c.op,
            mode,
            &d,
            &opts,
            &[q, k, v],
            &mut o,
            state,
            None,
            &mut Workspace::default(),
        )
        .unwrap();
        o
    }
    fn summary(&self, t0: usize, t1: usize, chunk: usize) -> Vec<f32> {
        let d = self.dims(t1 - t0);
        let (q, k, v) = self.rows(t0, t1);
        let opts = self.opts();
        let s = segment_summary(
            self.c.op,
            &d,
            &opts,
            &[q, k, v],
            chunk,
            &mut Workspace::default(),
        )
        .unwrap();
        assert_eq!(s.len(), summary_len(self.c.op, &d, &opts).unwrap());
        s
    }
    fn combine(&self, carry: &mut [f32], summary: &[f32]) {
        let opts = self.opts();
        combine(self.c.op, &self.dims(0), &opts, carry, summary).unwrap();
    }
}

fn check(c: &Case, seed: u64) -> f64 {
    let d = c.d;
    let t = d.t;
    let positive = c.normalize;
    let f = |x: Vec<f32>| -> Vec<f32> {
        if positive {
            x.into_iter().map(|x| 0.5 * (x + 1.0)).collect()
        } else {
            x
        }
    };
    let q = f(rand_vec(t * d.h * d.dk, seed));
    let k = f(rand_vec(t * d.h * d.dk, seed + 1));
    let v = rand_vec(t * d.hv * d.dv, seed + 2);
    let run = Run {
        c,
        q: &q,
        k: &k,
        v: &v,
    };
    let reference = brute_force(c, &q, &k, &v, &[(0, t)]);
    let mut full_state = run.zero_state();
    let full = run.forward(Mode::Recurrent, 0, t, &mut full_state);
    let mut worst: f64 = 0.0;
    let what = format!(
        "{} decay {:?} normalize {} ridge {} dims {:?}",
        c.op.name(),
        c.decay,
        c.normalize,
        c.ridge,
        d
    );
    for s in [0, 1, 7, t / 2, t - 1] {
        for chunk in [1, 4, 16] {
            // A forward, then carry ⊕ summary(B): the final state of the full run.
            let mut carry = run.zero_state();
            run.forward(Mode::Recurrent, 0, s, &mut carry);
            let summary = run.summary(s, t, chunk);
            run.combine(&mut carry, &summary);
            let e = rel32(&carry, &full_state);
            assert!(
                e <= TOL,
                "{what}: split {s} chunk {chunk}: final state rel err {e:.2e}"
            );
            worst = worst.max(e);
            // B forward from the carry into B: the tail of the full run.
            let mut into_b = run.zero_state();
            run.forward(Mode::Recurrent, 0, s, &mut into_b);
            for mode in [Mode::Recurrent, Mode::Chunk(chunk)] {
                let mut st = into_b.clone();
                let tail = run.forward(mode, s, t, &mut st);
                let w = d.hv * d.dv;
                let e1 = rel32(&tail, &full[s * w..]);
                let e2 = rel_err(&tail, &reference[s * w..]);
                let e3 = rel32(&st, &full_state);
                assert!(
                    e1 <= TOL && e2 <= TOL && e3 <= TOL,
                    "{what}: split {s}: tail {e1:.2e} / brute {e2:.2e} / state {e3:.2e}"
                );
                worst = worst.max(e1).max(e2);
            }
        }
    }
    // Three segments, every carry from zero through two combines (the pool's exclusive scan).
    let (s1, s2) = (t / 3, 2 * t / 3);
    let mut carry = run.zero_state();
    run.combine(&mut carry, &run.summary(0, s1, 8));
    run.combine(&mut carry, &run.summary(s1, s2, 5));
    let mut st = carry.clone();
    let w = d.hv * d.dv;
    let tail = run.forward(Mode::Recurrent, s2, t, &mut st);
    let e = rel_err(&tail, &reference[s2 * w..]).max(rel32(&st, &full_state));
    assert!(e <= TOL, "{what}: three segments: {e:.2e}");
    worst.max(e)
}

fn case(op: Op, h: usize, hv: usize, decay: Vec<f32>, normalize: bool, ridge: f32) -> Case {
    let (dk, dv) = (5, 3);
    Case {
        op,
        d: Dims {
            b: 1,
            t: 37,
            h,
            hv,
            dk,
            dv,
        },
        scale: 1.0 / (dk as f32).sqrt(),
        decay,
        normalize,
        eps: 1e-6,
        ridge,
    }
}

#[test]
fn carry_combine_summary_equals_the_serial_run() {
    let mut worst: f64 = 0.0;
    let mut n = 0;
    for op in Op::HLA {
        for (h, hv) in [(1, 1), (1, 2), (2, 4)] {
            for decay in [1.0f32, 0.9] {
                for normalize in [false, true] {
                    let ridges: &[f32] = if op == Op::Hla2 { &[0.0, 0.3] } else { &[0.0] };
                    for &ridge in ridges {
                        let c = case(op, h, hv, vec![decay], normalize, ridge);
                        worst = worst.max(check(&c, 11 + n));
                        n += 1;
                    }
                }
            }
            // per-head decay
            let c = case(
                op,
                h,
                hv,
                (0..h).map(|i| 0.95 - 0.1 * i as f32).collect(),
                false,
                0.0,
            );
            worst = worst.max(check(&c, 300 + n));
            n += 1;
        }
    }
    eprintln!("segment split: {n} cases, worst relative error {worst:.2e}");
}

#[test]
fn long_decayed_segments_stay_finite() {
    // γ^|B| and γ^{t0} underflow to 0 for long segments: the combine must still be exact.
    for op in Op::HLA {
        let mut c = case(op, 1, 1, vec![0.5], false, 0.0);
        c.d.t = 400;
        check(&c, 900);
    }
}

#[test]
fn bad_arguments_are_errors() {
    let d = Dims {
        b: 2,
        t: 4,
        h: 1,
        hv: 1,
        dk: 2,
        dv: 2,
    };
    let opts: Options = HlaOptions {
        scale: 1.0,
        decay: vec![1.0],
        normalize: false,
        eps: 1e-6,
        ridge: 0.0,
    }
    .into();
    let x = vec![0f32; 16];
    let e = segment_summary(
        Op::Hla2,
        &d,
        &opts,
        &[&x, &x, &x],
        4,
        &mut Workspace::default(),
    )
    .unwrap_err();
    assert_eq!(e.arg, "dims");
    let d1 = Dims { b: 1, ..d };
    let e = segment_summary(
        Op::Hla2,
        &d1,
        &opts,
        &[&x, &x, &x],
        4,
        &mut Workspace::default(),
    )
    .unwrap_err();
    assert_eq!(e.arg, "q");
    let mut carry = vec![0f32; 3];
    let e = combine(Op::La1, &d1, &opts, &mut carry, &[0.0; 7]).unwrap_err();
    assert_eq!(e.arg, "state");
    // la1 has no deferred schedule (its settle costs as much as its full summary).
    let e = key_summary(Op::La1, &d1, &opts, &x[..8], 4, &mut Workspace::default()).unwrap_err();
    assert_eq!(e.arg, "op");
}

/// hla2 without normalisation: a segment run from deferred value moments (S from a key
/// summary, M = n = C = m = 0), then settled with the true carry, gives
/// the serial tail.
#[test]
fn deferred_value_moments_settle_to_the_serial_run() {
    use hla_core::ops::{defer_values, settle_values};
    for (op, (h, hv)) in [(1, 1), (1, 2), (2, 4)].map(|x| (Op::Hla2, x)) {
        for decay in [
            vec![1.0f32],
            vec![0.9],
            (0..h).map(|i| 0.97 - 0.05 * i as f32).collect(),
        ] {
            let ridges: &[f32] = if op == Op::Hla2 { &[0.0, 0.3] } else { &[0.0] };
            for &ridge in ridges {
                let c = case(op, h, hv, decay.clone(), false, ridge);
                let d = c.d;
                let t = d.t;
                let q = rand_vec(t * h * d.dk, 41);
                let k = rand_vec(t * h * d.dk, 42);
                let v = rand_vec(t * hv * d.dv, 43);
                let run = Run {
                    c: &c,
                    q: &q,
                    k: &k,
                    v: &v,
                };
                let opts = run.opts();
                for p in [0, 5] {
                    for s in [p + 1, p + 9, (p + t) / 2, t - 1] {
                        // initial state = after tokens [0, p); segments [p, s) and [s, t)
                        let mut initial = run.zero_state();
                        run.forward(Mode::Recurrent, 0, p, &mut initial);
                        let mut full_state = initial.clone();
                        let full = run.forward(Mode::Recurrent, p, t, &mut full_state);
                        let mut carry = initial.clone(); // the true carry into [s, t)
                        run.forward(Mode::Recurrent, p, s, &mut carry);
                        let mut deferred = initial.clone();
                        defer_values(c.op, &run.dims(0), &opts, &mut deferred).unwrap();
                        let (_, kp, _) = run.rows(p, s);
                        let ks = key_summary(
                            c.op,
                            &run.dims(s - p),
                            &opts,
                            kp,
                            4,
                            &mut Workspace::default(),
                        )
                        .unwrap();
                        combine(c.op, &run.dims(0), &opts, &mut deferred, &ks).unwrap();
                        for mode in [Mode::Recurrent, Mode::Chunk(4)] {
                            let mut st = deferred.clone();
                            let mut o = run.forward(mode, s, t, &mut st);
                            let (qs, _, _) = run.rows(s, t);
                            settle_values(
                                c.op,
                                &run.dims(t - s),
                                &opts,
                                qs,
                                &mut o,
                                &carry,
                                &mut st,
                            )
                            .unwrap();
                            let w = hv * d.dv;
                            let e = rel32(&o, &full[(s - p) * w..]).max(rel32(&st, &full_state));
                            assert!(
                                e <= TOL,
                                "{} h {h} hv {hv} decay {decay:?} ridge {ridge} p {p} s {s}: {e:.2e}",
                                op.name()
                            );
                        }
                    }
                }
            }
        }
    }
    let opts: Options = HlaOptions {
        scale: 1.0,
        decay: vec![1.0],
        normalize: true,
        eps: 1e-6,
        ridge: 0.0,
    }
    .into();
    let d = Dims {
        b: 1,
        t: 2,
        h: 1,
        hv: 1,
        dk: 2,
        dv: 2,
    };
    assert_eq!(
        key_summary(Op::Hla2, &d, &opts, &[0.0; 4], 4, &mut Workspace::default())
            .unwrap_err()
            .arg,
        "op"
    );
}
