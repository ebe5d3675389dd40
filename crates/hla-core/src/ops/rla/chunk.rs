//! rla chunk-parallel, two passes per value head (docs/math.md, section i):
//!
//! 1. [`Pass1`] (reads.rs): the base's chunk algebra over S with a second query stream, giving
//!    per token the strictly causal reads `P_tᵀ k̂_t` and `α_t S_{t−1}ᵀ q̂_t` and leaving S final.
//! 2. `r_t = clamp(v_t − P_tᵀ k̂_t, −c, c)`; R: the base operator's own chunk kernel (gla for
//!    `la`, with the scalar gate broadcast over the key features and the rate folded into k;
//!    deltaRule as it is) run as a one-head problem on `(q̂, k̂, r)` with rate `correction`;
//!    `o = α S_{t−1}ᵀ q̂ + correction · R_tᵀ q̂`.
//!
//! Before pass 1 existed the two reads took two base passes (each with the query shifted by a
//! token): three in all, now ≈ two.

use super::reads::Pass1;
use super::{load_qk, rates, RlaBase, RlaOptions};
use crate::ops::delta_rule::DeltaRule;
use crate::ops::gla::Gla;
use crate::ops::operator::Operator;
use crate::ops::options::GatedOptions;
use crate::ops::shape::{Dims, HeadIo};
use crate::simd::Simd;
use crate::workspace::Workspace;

/// One value head's pass-2 problem, in the base's input order.
#[derive(Default)]
struct Problem {
    q: Vec<f32>,
    /// gla: `correction ⊙ k̂`; deltaRule: k̂.
    k: Vec<f32>,
    /// v (pass 1's input), then the clipped residuals.
    v: Vec<f32>,
    /// gla: g broadcast `[len, dk]`; deltaRule: the rate `correction` `[len]`.
    gate: Vec<f32>,
    /// deltaRule: g `[len]` (empty: no decay).
    g: Vec<f32>,
}

#[allow(clippy::needless_range_loop)]
pub(crate) fn chunk<S: Simd>(
    io: &HeadIo,
    opts: &RlaOptions,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
    chunk_size: usize,
) {
    let (dk, dv, g, len) = (io.dk, io.dv, io.group(), io.len);
    let mat = dk * dv;
    if len == 0 {
        return;
    }
    let mut qh = vec![0.0f32; len * dk];
    let mut kh = vec![0.0f32; len * dk];
    for t in 0..len {
        let row = t * dk..(t + 1) * dk;
        load_qk(io, t, opts, &mut qh[row.clone()], &mut kh[row]);
    }
    let (s_all, r_all) = st.split_at_mut(g * mat);
    let one = Dims {
        b: 1,
        t: len,
        h: 1,
        hv: 1,
        dk,
        dv,
    };
    let p = GatedOptions {
        scale: 1.0,
        qk_l2norm: false,
    };
    let la = opts.base == RlaBase::La;
    let has_g = !io.inputs[super::G].is_empty();
    let mut pb = Problem::default();
    pb.q.clone_from(&qh);
    if !la {
        pb.k.clone_from(&kh);
    }
    let (mut alpha, mut beta, mut corr) = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
    let (mut read_k, mut read_q, mut out2) = (
        vec![0.0f32; len * dv],
        vec![0.0f32; len * dv],
        vec![0.0f32; len * dv],
    );
    for j in 0..g {
        for t in 0..len {
            (alpha[t], beta[t], corr[t]) = rates(io, t, j);
        }
        pb.v.clear();
        for t in 0..len {
            pb.v.extend_from_slice(io.v_row(t, j));
        }
        pb.g.clear();
        if !la && has_g {
            pb.g.extend((0..len).map(|t| io.value_scalar(super::G, t, j)));
        }
        if la {
            pb.gate.clear();
            for t in 0..len {
                let gt = if has_g {
                    io.value_scalar(super::G, t, j)
                } else {
                    0.0
                };
                pb.gate.extend(std::iter::repeat_n(gt, dk));
            }
        }
        let s = &mut s_all[j * mat..(j + 1) * mat];
        // Pass 1: both strictly causal reads, S left final.
        Pass1 {
            base: opts.base,
            residual: opts.residual,
            q: &qh,
            k: &kh,
            v: &pb.v,
            alpha: &alpha,
            beta: &beta,
            dk,
            dv,
        }
        .run::<S>(s, &mut read_k, &mut read_q, ws, chunk_size);
        // The clipped residuals replace v.
        let c = opts.clip;
        for t in 0..len {
            for e in 0..dv {
                let i = t * dv + e;
                pb.v[i] = (pb.v[i] - read_k[i]).clamp(-c, c);
            }
        }
        // Pass 2: R with rate `correction`.
        if la {
            scaled_rows(&mut pb.k, &kh, &corr, dk);
        } else {
            pb.gate.clone_from(&corr);
        }
        let r = &mut r_all[j * mat..(j + 1) * mat];
        run::<S>(la, &one, &pb, &p, r, &mut out2, ws, chunk_size);
        for t in 0..len {
            let dst = &mut o[io.v_offset(t, j)..][..dv];
            let (rq, o2) = (&read_q[t * dv..(t + 1) * dv], &out2[t * dv..(t + 1) * dv]);
            for e in 0..dv {
                dst[e] = rq[e] + corr[t] * o2[e];
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run<S: Simd>(
    la: bool,
    one: &Dims,
    pb: &Problem,
    p: &GatedOptions,
    st: &mut [f32],
    out: &mut [f32],
    ws: &mut Workspace,
    chunk_size: usize,
) {
    if la {
        let ins: [&[f32]; 4] = [&pb.q, &pb.k, &pb.v, &pb.gate];
        let io = HeadIo::new(one, &ins, 0, one.t, 0);
        Gla::chunk::<S>(&io, p, st, out, ws, chunk_size);
    } else {
        let ins: [&[f32]; 5] = [&pb.q, &pb.k, &pb.v, &pb.gate, &pb.g];
        let io = HeadIo::new(one, &ins, 0, one.t, 0);
        DeltaRule::chunk::<S>(&io, p, st, out, ws, chunk_size);
    }
}

/// `dst_t = w_t x_t` (rows of `dk`).
fn scaled_rows(dst: &mut Vec<f32>, x: &[f32], w: &[f32], dk: usize) {
    dst.clear();
    for (row, &wt) in x.chunks_exact(dk).zip(w) {
        dst.extend(row.iter().map(|a| wt * a));
    }
}
