//! gla chunk-parallel. For a chunk of `c` tokens after state `S_0`, with in-chunk decay
//! products `P_t = Π_{u≤t} α_u` (per key feature) and `R_s = Π_{s<u<c} α_u`:
//!
//! ```text
//! o_t = (q_t ⊙ P_t)ᵀ S_0 + Σ_{s≤t} A_ts v_s,     A_ts = Σ_i q_t[i] k_s[i] Π_{s<u≤t} α_u[i]
//! S_c = diag(P_{c−1}) S_0 + (K ⊙ R)ᵀ V
//! ```
//!
//! Every factor is a product of decays, so ≤ 1: no `exp(−G)` is ever formed, and strong gates
//! over long chunks underflow towards 0 (the true value) instead of overflowing. `A` is built
//! pairwise (FLA's diagonal-block method, here for the whole chunk): for each key token s a
//! running product `w = k_s ⊙ Π α` walks down the column, one multiply and one dot per pair.
//! It is shared by the group's value heads; the rest is GEMMs per value head.

use super::super::delta_rule::dot;
use super::super::gated::load_qk;
use super::super::options::GatedOptions;
use super::super::shape::HeadIo;
use super::GK;
use crate::exp::exp_slice;
use crate::gemm::{gemm, gemm_acc, MatRef};
use crate::simd::Simd;
use crate::size::chunk_len;
use crate::workspace::Workspace;

pub(crate) fn chunk<S: Simd>(
    io: &HeadIo,
    opts: &GatedOptions,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
    chunk_size: usize,
) {
    let (dk, dv) = (io.dk, io.dv);
    // Chunks of at most crate::size::MAX_CHUNK tokens (results do not depend on it).
    let chunk_size = chunk_len(chunk_size, io.len);
    let cm = chunk_size;
    let [q, k, alpha, prefix, qp, kr, a, w, vals, out] = ws.parts([
        cm * dk,
        cm * dk,
        cm * dk,
        cm * dk,
        cm * dk,
        cm * dk,
        cm * cm,
        dk,
        cm * dv,
        cm * dv,
    ]);
    for t0 in (0..io.len).step_by(chunk_size) {
        let c = chunk_size.min(io.len - t0);
        for t in 0..c {
            let row = t * dk..(t + 1) * dk;
            load_qk(io, t0 + t, opts, &mut q[row.clone()], &mut k[row.clone()]);
            exp_slice(io.key_row(GK, t0 + t), &mut alpha[row]);
        }
        // P_t (prefix products) and Q ⊙ P.
        prefix[..dk].copy_from_slice(&alpha[..dk]);
        for t in 1..c {
            let (done, rest) = prefix.split_at_mut(t * dk);
            for ((p, prev), al) in rest[..dk]
                .iter_mut()
                .zip(&done[(t - 1) * dk..])
                .zip(&alpha[t * dk..(t + 1) * dk])
            {
                *p = prev * al;
            }
        }
        for i in 0..c * dk {
            qp[i] = q[i] * prefix[i];
        }
        // K ⊙ R, R built from the back (R_{c−1} = 1) in `w`.
        w.fill(1.0);
        for s in (0..c).rev() {
            for i in 0..dk {
                kr[s * dk + i] = k[s * dk + i] * w[i];
                w[i] *= alpha[s * dk + i];
            }
        }
        // A, lower triangle, column by column.
        a[..c * c].fill(0.0);
        for s in 0..c {
            w.copy_from_slice(&k[s * dk..(s + 1) * dk]);
            a[s * c + s] = dot::<S>(w, &q[s * dk..(s + 1) * dk]);
            for t in s + 1..c {
                let (qt, at) = (&q[t * dk..(t + 1) * dk], &alpha[t * dk..(t + 1) * dk]);
                a[t * c + s] = scale_dot::<S>(w, at, qt);
            }
        }
        let last = &prefix[(c - 1) * dk..c * dk];
        for (j, s) in st.chunks_exact_mut(dk * dv).enumerate() {
            for t in 0..c {
                vals[t * dv..(t + 1) * dv].copy_from_slice(io.v_row(t0 + t, j));
            }
            gemm::<S>(c, dv, dk, MatRef::rows(qp, dk), s, dv, out, dv);
            gemm_acc::<S>(c, dv, c, MatRef::rows(a, c), vals, dv, out, dv);
            for t in 0..c {
                let off = io.v_offset(t0 + t, j);
                o[off..off + dv].copy_from_slice(&out[t * dv..(t + 1) * dv]);
            }
            for (row, &p) in s.chunks_exact_mut(dv).zip(last) {
                for x in row {
                    *x *= p;
                }
            }
            gemm_acc::<S>(dk, dv, c, MatRef::transposed(kr, dk), vals, dv, s, dv);
        }
    }
}

/// `w ← w ⊙ a`, then `w · q`.
#[inline]
fn scale_dot<S: Simd>(w: &mut [f32], a: &[f32], q: &[f32]) -> f32 {
    let n = w.len();
    assert!(a.len() >= n && q.len() >= n);
    let l = S::LANES;
    let mut acc = S::splat(0.0);
    let mut i = 0;
    // SAFETY: i + l ≤ n ≤ len of all three.
    unsafe {
        let wp = w.as_mut_ptr();
        while i + l <= n {
            let x = S::mul(S::load(wp.add(i)), S::load(a.as_ptr().add(i)));
            S::store(wp.add(i), x);
            acc = S::mul_add(x, S::load(q.as_ptr().add(i)), acc);
            i += l;
        }
    }
    let mut s = S::sum(acc);
    while i < n {
        w[i] *= a[i];
        s += w[i] * q[i];
        i += 1;
    }
    s
}

/// The segment summary of one group (docs/math.md, section g): `st` gets the state from zero,
/// `S_B = Σ_s diag(Π_{s<u} α_u) k_s v_sᵀ` per value head, and `decay` (dk floats) the carry's
/// per-row factor `Π_u α_u` across the segment. Chunk by chunk `S ← diag(P_{c−1}) S + (K ⊙ R)ᵀ V`
/// (the state half of [`chunk`], no scores, no outputs): every factor is a product of decays.
pub(crate) fn summary<S: Simd>(
    io: &HeadIo,
    st: &mut [f32],
    decay: &mut [f32],
    ws: &mut Workspace,
    chunk_size: usize,
) {
    let (dk, dv) = (io.dk, io.dv);
    let chunk_size = chunk_len(chunk_size, io.len);
    let cm = chunk_size;
    let [alpha, kr, w, vals] = ws.parts([cm * dk, cm * dk, dk, cm * dv]);
    st.fill(0.0);
    decay.fill(1.0);
    for t0 in (0..io.len).step_by(chunk_size) {
        let c = chunk_size.min(io.len - t0);
        for t in 0..c {
            exp_slice(io.key_row(GK, t0 + t), &mut alpha[t * dk..(t + 1) * dk]);
        }
        // K ⊙ R from the back; `w` ends as P_{c−1}, the chunk's decay.
        w.fill(1.0);
        for s in (0..c).rev() {
            let k = io.k_row(t0 + s);
            for i in 0..dk {
                kr[s * dk + i] = k[i] * w[i];
                w[i] *= alpha[s * dk + i];
            }
        }
        for (x, p) in decay.iter_mut().zip(&*w) {
            *x *= p;
        }
        for (j, s) in st.chunks_exact_mut(dk * dv).enumerate() {
            for t in 0..c {
                vals[t * dv..(t + 1) * dv].copy_from_slice(io.v_row(t0 + t, j));
            }
            for (row, &p) in s.chunks_exact_mut(dv).zip(&*w) {
                for x in row {
                    *x *= p;
                }
            }
            gemm_acc::<S>(dk, dv, c, MatRef::transposed(kr, dk), vals, dv, s, dv);
        }
    }
}
