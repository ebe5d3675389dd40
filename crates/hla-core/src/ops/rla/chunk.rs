//! rla chunk-parallel: the base operator's own chunk kernel (gla for `la`, with the scalar gate
//! broadcast over the key features and beta folded into k; deltaRule as it is) run per value
//! head as a one-head problem:
//!
//! 1. reads of S before each token, with the query shifted by one token: the base's output at
//!    token t−1 for the query x_t is `S_{t−1}ᵀ x_t` — the strictly causal read, undecayed, with
//!    no division by a (possibly tiny) α. Once for x = k̂ (on a copy of the initial state) and
//!    once for x = q̂ (on the state itself, which ends final). Token 0 reads the initial state.
//! 2. `r_t = clamp(v_t − P_tᵀ k̂_t)`, P_t = S_{t−1} or α_t S_{t−1}.
//! 3. R: the same kernel on `(q̂, k̂, r)` with rate `correction`; `o = α read(q̂) + correction · R
//!    read`.
//!
//! Three base passes (the two reads share nothing but the keys in this kernel interface).

use super::{load_qk, rates, Residual, RlaBase, RlaOptions};
use crate::ops::delta_rule::DeltaRule;
use crate::ops::gla::Gla;
use crate::ops::operator::Operator;
use crate::ops::options::GatedOptions;
use crate::ops::shape::{Dims, HeadIo};
use crate::simd::Simd;
use crate::workspace::Workspace;

/// One value head's one-head problem, in the base's input order.
#[derive(Default)]
struct Problem {
    /// The query of the pass.
    q: Vec<f32>,
    /// gla: `beta ⊙ k̂` (pass 1) or `correction ⊙ k̂` (pass 2); deltaRule: k̂.
    k: Vec<f32>,
    v: Vec<f32>,
    /// gla: g broadcast `[len, dk]`; deltaRule: the rate `[len]`.
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
    let (mut alpha, mut beta, mut corr) = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
    let (mut read_k, mut read_q, mut out2) = (
        vec![0.0f32; len * dv],
        vec![0.0f32; len * dv],
        vec![0.0f32; len * dv],
    );
    let mut scratch = vec![0.0f32; mat];
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
            scaled_rows(&mut pb.k, &kh, &beta, dk);
        } else {
            pb.k.clone_from(&kh);
            pb.gate.clone_from(&beta);
        }
        let s = &mut s_all[j * mat..(j + 1) * mat];
        // Token 0 reads the initial state.
        read_rows(s, &kh[..dk], &mut read_k[..dv]);
        read_rows(s, &qh[..dk], &mut read_q[..dv]);
        // Pass 1a: S_{t−1}ᵀ k̂_t on a copy of the initial state.
        shifted(&mut pb.q, &kh, dk);
        scratch.copy_from_slice(s);
        run::<S>(la, &one, &pb, &p, &mut scratch, &mut out2, ws, chunk_size);
        read_k[dv..].copy_from_slice(&out2[..(len - 1) * dv]);
        // Pass 1b: S_{t−1}ᵀ q̂_t on the state itself, which ends final.
        shifted(&mut pb.q, &qh, dk);
        run::<S>(la, &one, &pb, &p, s, &mut out2, ws, chunk_size);
        read_q[dv..].copy_from_slice(&out2[..(len - 1) * dv]);
        // The clipped residuals replace v.
        let c = opts.clip;
        for t in 0..len {
            let pk = match opts.residual {
                Residual::Undecayed => 1.0,
                Residual::Decayed => alpha[t],
            };
            for e in 0..dv {
                let i = t * dv + e;
                pb.v[i] = (pb.v[i] - pk * read_k[i]).clamp(-c, c);
            }
        }
        // Pass 2: R with rate `correction`.
        pb.q.clone_from(&qh);
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
                dst[e] = alpha[t] * rq[e] + corr[t] * o2[e];
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

/// `dst_t = x_{t+1}` (rows of `dk`), the last row zero.
fn shifted(dst: &mut Vec<f32>, x: &[f32], dk: usize) {
    dst.clear();
    dst.extend_from_slice(&x[dk..]);
    dst.extend(std::iter::repeat_n(0.0, dk));
}

/// `dst_t = w_t x_t` (rows of `dk`).
fn scaled_rows(dst: &mut Vec<f32>, x: &[f32], w: &[f32], dk: usize) {
    dst.clear();
    for (row, &wt) in x.chunks_exact(dk).zip(w) {
        dst.extend(row.iter().map(|a| wt * a));
    }
}

/// `dst = sᵀ x` for `s` a `dk×dv` matrix.
fn read_rows(s: &[f32], x: &[f32], dst: &mut [f32]) {
    let dv = dst.len();
    dst.fill(0.0);
    for (row, &xi) in s.chunks_exact(dv).zip(x) {
        for (d, a) in dst.iter_mut().zip(row) {
            *d += xi * a;
        }
    }
}
