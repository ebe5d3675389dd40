//! Every instruction set this build has, on shapes chosen for the lane tails: head sizes that
//! are not multiples of 4 or 8, value widths that reach the kernels' widest column blocks
//! (64 floats at 8 lanes) and leave a remainder, chunk lengths that leave ragged GEMM panels.
//! `ops.rs` tests `Isa` and `Scalar`; this file adds `Sse` next to `Avx2` when the build
//! targets AVX2 + FMA (`RUSTFLAGS="-C target-cpu=native" cargo test -p hla-core --release`).

#[macro_use]
mod common;
use common::{brute_force, rand_vec, rel_err, Case};
use hla_core::gemm::{gemm_acc, MatRef};
use hla_core::ops::{
    combine_with, defer_values, key_summary, segment_summary_with, settle_values_with,
};
use hla_core::simd::Simd;
use hla_core::workspace::Workspace;
use hla_core::{Dims, Mode, Op};

const TOL: f64 = 1e-4;

fn run<S: Simd>(c: &Case, mode: Mode, q: &[f32], k: &[f32], v: &[f32]) -> Vec<f32> {
    let d = c.d;
    let mut state = vec![0f32; c.state_len(d.b)];
    common::run::<S>(c, mode, q, k, v, &mut state, None)
}

/// (dk, dv): tails of 1..7 floats past whole vectors at 4 and at 8 lanes; dv = 72 and 75
/// cross the 64-float column block of the 8-lane recurrence.
const HEADS: [(usize, usize); 5] = [(7, 5), (12, 20), (20, 12), (9, 72), (33, 75)];

fn operators_match_brute_force<S: Simd>() {
    for op in Op::HLA {
        for (dk, dv) in HEADS {
            let d = Dims {
                b: 1,
                t: if op == Op::Hla3 { 24 } else { 45 },
                h: 1,
                hv: 2,
                dk,
                dv,
            };
            for (decay, normalize, ridge) in
                [(1.0, false, 0.0), (0.9, true, 0.0), (0.95, false, 0.4)]
            {
                if ridge != 0.0 && op != Op::Hla2 {
                    continue;
                }
                let c = Case {
                    op,
                    d,
                    scale: (dk as f32).powf(-0.5),
                    decay: vec![decay],
                    normalize,
                    eps: 1e-6,
                    ridge,
                };
                let n = d.b * d.t * d.h * d.dk;
                let pos = |x: Vec<f32>| -> Vec<f32> {
                    // Normalised operators get q, k ≥ 0 (see ops.rs: signed features can
                    // cancel the denominator, which tests conditioning, not the kernel).
                    if normalize {
                        x.into_iter().map(|x| 0.5 * (x + 1.0)).collect()
                    } else {
                        x
                    }
                };
                let (q, k) = (pos(rand_vec(n, 21)), pos(rand_vec(n, 22)));
                let v = rand_vec(d.b * d.t * d.hv * d.dv, 23);
                let r = brute_force(&c, &q, &k, &v, &[(0, d.t)]);
                for mode in [
                    Mode::Recurrent,
                    Mode::Chunk(1),
                    Mode::Chunk(5),
                    Mode::Chunk(16),
                    Mode::Chunk(32),
                    Mode::Chunk(d.t + 3),
                ] {
                    let e = rel_err(&run::<S>(&c, mode, &q, &k, &v), &r);
                    assert!(
                        e <= TOL,
                        "{} {op:?} {mode:?} dk={dk} dv={dv} decay={decay} normalize={normalize} \
                         ridge={ridge}: rel err {e:e}",
                        S::NAME
                    );
                }
            }
        }
    }
}

#[test]
fn every_isa_matches_brute_force_on_lane_tails() {
    for_each_isa!(operators_match_brute_force);
}

/// Every row remainder of the register block (1..6 rows) and every column path (two vectors,
/// one vector, the overlapping last vector, plain loops below one vector), with A read both
/// row-major and transposed and padded rows in B and C.
fn gemm_matches_f64<S: Simd>() {
    for m in 1..=14 {
        for n in [1, 3, 4, 7, 8, 9, 12, 15, 16, 17, 20, 24, 31, 33, 40] {
            for k in [1, 5, 17] {
                for transposed in [false, true] {
                    let a = rand_vec(m * k, (m * 1000 + n * 10 + k) as u64);
                    // Padded leading dimensions: B and C rows longer than n.
                    let (ldb, ldc) = (n + 2, n + 3);
                    let b = rand_vec(k * ldb, 7);
                    let c0 = rand_vec(m * ldc, 8);
                    // The same A, stored row-major or as Aᵀ (k × m, row-major).
                    let mut at = vec![0f32; m * k];
                    hla_core::gemm::transpose(m, k, &a, &mut at);
                    let view = if transposed {
                        MatRef::transposed(&at, m)
                    } else {
                        MatRef::rows(&a, k)
                    };
                    let mut c = c0.clone();
                    gemm_acc::<S>(m, n, k, view, &b, ldb, &mut c, ldc);
                    // Every element, the padding included (which must stay as it was).
                    let want: Vec<f64> = (0..m * ldc)
                        .map(|ij| {
                            let (i, j) = (ij / ldc, ij % ldc);
                            let ab = if j < n {
                                (0..k)
                                    .map(|p| a[i * k + p] as f64 * b[p * ldb + j] as f64)
                                    .sum::<f64>()
                            } else {
                                0.0
                            };
                            c0[ij] as f64 + ab
                        })
                        .collect();
                    let e = rel_err(&c, &want);
                    assert!(
                        e <= 1e-5,
                        "{} gemm m={m} n={n} k={k} transposed={transposed}: rel err {e:e}",
                        S::NAME
                    );
                }
            }
        }
    }
}

#[test]
fn every_isa_gemm_matches_f64_on_ragged_blocks() {
    for_each_isa!(gemm_matches_f64);
}

/// The segment split on every instruction set: carry ⊕ summary(B) (summary and combine on
/// `S`) equals the serial state, and hla2's deferred segment settled on `S` equals the serial
/// tail, on head sizes with lane tails.
fn segment_split_matches_serial<S: Simd>() {
    let (t, s) = (30, 13);
    for op in Op::HLA {
        for (dk, dv) in [(7, 5), (9, 72)] {
            for ridge in [0.0, 0.4] {
                if ridge != 0.0 && op != Op::Hla2 {
                    continue;
                }
                let d = Dims {
                    b: 1,
                    t,
                    h: 1,
                    hv: 2,
                    dk,
                    dv,
                };
                let c = Case {
                    op,
                    d,
                    scale: (dk as f32).powf(-0.5),
                    decay: vec![0.93],
                    normalize: false,
                    eps: 1e-6,
                    ridge,
                };
                let opts = c.options();
                let (wq, wv) = (d.h * dk, d.hv * dv);
                let q = rand_vec(t * wq, 31);
                let k = rand_vec(t * wq, 32);
                let v = rand_vec(t * wv, 33);
                let part = |t0: usize, t1: usize| {
                    (
                        &q[t0 * wq..t1 * wq],
                        &k[t0 * wq..t1 * wq],
                        &v[t0 * wv..t1 * wv],
                    )
                };
                let fwd = |t0: usize, t1: usize, state: &mut [f32]| {
                    let (q, k, v) = part(t0, t1);
                    let sub = Case {
                        d: Dims { t: t1 - t0, ..d },
                        decay: c.decay.clone(),
                        ..c
                    };
                    common::run::<S>(&sub, Mode::Recurrent, q, k, v, state, None)
                };
                let mut full = vec![0f32; c.state_len(1)];
                let full_o = fwd(0, t, &mut full);
                let want: Vec<f64> = full.iter().map(|&x| x as f64).collect();
                let mut carry = vec![0f32; c.state_len(1)];
                fwd(0, s, &mut carry);
                let (qb, kb, vb) = part(s, t);
                let db = Dims { t: t - s, ..d };
                let mut ws = Workspace::default();
                let summary =
                    segment_summary_with::<S>(op, &db, &opts, &[qb, kb, vb], 8, &mut ws).unwrap();
                let mut combined = carry.clone();
                combine_with::<S>(op, &db, &opts, &mut combined, &summary).unwrap();
                let e = rel_err(&combined, &want);
                assert!(
                    e <= TOL,
                    "{} {op:?} dk={dk} dv={dv} combine: {e:e}",
                    S::NAME
                );
                if op != Op::Hla2 {
                    continue;
                }
                let mut deferred = vec![0f32; c.state_len(1)];
                defer_values(op, &db, &opts, &mut deferred).unwrap();
                let ks =
                    key_summary(op, &Dims { t: s, ..d }, &opts, &k[..s * wq], 8, &mut ws).unwrap();
                combine_with::<S>(op, &db, &opts, &mut deferred, &ks).unwrap();
                let mut o = fwd(s, t, &mut deferred);
                settle_values_with::<S>(op, &db, &opts, qb, &mut o, &carry, &mut deferred).unwrap();
                let tail: Vec<f64> = full_o[s * wv..].iter().map(|&x| x as f64).collect();
                let e = rel_err(&o, &tail).max(rel_err(&deferred, &want));
                assert!(e <= TOL, "{} hla2 dk={dk} dv={dv} settle: {e:e}", S::NAME);
            }
        }
    }
}

#[test]
fn every_isa_splits_segments_like_the_serial_run() {
    for_each_isa!(segment_split_matches_serial);
}
