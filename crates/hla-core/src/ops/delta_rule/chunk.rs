//! The delta rule chunk-parallel (the WY / UT transform). For a chunk of `c` tokens after state
//! `S_0`, with `E_i = Π_{u≤i} α_u` and `D_ij = Π_{j<u≤i} α_u` (i ≥ j):
//!
//! ```text
//! A = strictly_lower(β_i (k_i·k_j) D_ij)
//! Δ = (I + A)⁻¹ (diag(β) V − diag(β E) K S_0)          (rows are the δ_i of the recurrence)
//! o_i = E_i q_iᵀ S_0 + Σ_{j≤i} D_ij (q_i·k_j) δ_j
//! S_c = E_{c−1} S_0 + (diag(D_{c−1,·}) K)ᵀ Δ
//! ```
//!
//! FLA forms `T = (I + A)⁻¹` and then `U = T diag(β) V`, `W = T diag(β E) K`, `Δ = U − W S_0`;
//! here the same Δ comes from one forward substitution on the right-hand side (c²·dv/2
//! multiply-adds, no c×c inverse). Every decay factor is a product of decays (≤ 1), taken in
//! float64 along each column so a long chunk of strong gates underflows to 0 rather than
//! dividing two underflowed prefixes.

use super::super::gated::load_qk;
use super::super::options::GatedOptions;
use super::super::shape::HeadIo;
use super::beta_g;
use crate::exp::exp;
use crate::gemm::{gemm, gemm_acc, transpose, MatRef};
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
    let [kq, kt, kk, qk, dec, mix, kd, ks, delta, out, small] = ws.parts([
        2 * cm * dk,
        cm * dk,
        cm * cm,
        cm * cm,
        cm * cm,
        cm * cm,
        cm * dk,
        2 * cm * dv,
        cm * dv,
        cm * dv,
        3 * cm,
    ]);
    for t0 in (0..io.len).step_by(chunk_size) {
        let c = chunk_size.min(io.len - t0);
        // [K; Q] stacked, so one GEMM gives both K S_0 and Q S_0.
        let (k, q) = kq[..2 * c * dk].split_at_mut(c * dk);
        for t in 0..c {
            let row = t * dk..(t + 1) * dk;
            load_qk(io, t0 + t, opts, &mut q[row.clone()], &mut k[row]);
        }
        transpose(c, dk, k, kt);
        gemm::<S>(c, c, dk, MatRef::rows(k, dk), kt, c, kk, c);
        gemm::<S>(c, c, dk, MatRef::rows(q, dk), kt, c, qk, c);
        let (k, kq) = (&kq[..c * dk], &kq[..2 * c * dk]);
        for (j, s) in st.chunks_exact_mut(dk * dv).enumerate() {
            let (alpha, rest) = small.split_at_mut(cm);
            let (beta, e) = rest.split_at_mut(cm);
            chunk_gates(io, t0, c, j, alpha, beta, e, dec);
            gemm::<S>(2 * c, dv, dk, MatRef::rows(kq, dk), s, dv, ks, dv);
            // Right-hand side β_i (v_i − E_i k_iᵀ S_0), then forward substitution with A.
            for i in 0..c {
                let v = io.v_row(t0 + i, j);
                let (ksi, di) = (&ks[i * dv..(i + 1) * dv], &mut delta[i * dv..(i + 1) * dv]);
                for ((d, x), y) in di.iter_mut().zip(v).zip(ksi) {
                    *d = beta[i] * (x - e[i] * y);
                }
                let (done, rest) = delta.split_at_mut(i * dv);
                let di = &mut rest[..dv];
                for jj in 0..i {
                    let aij = beta[i] * kk[i * c + jj] * dec[i * c + jj];
                    axpy::<S>(di, -aij, &done[jj * dv..(jj + 1) * dv]);
                }
            }
            // Outputs: E_i (Q S_0)_i + (QKᵀ ⊙ D, lower) Δ.
            for i in 0..c {
                for (x, y) in out[i * dv..(i + 1) * dv]
                    .iter_mut()
                    .zip(&ks[(c + i) * dv..(c + i + 1) * dv])
                {
                    *x = e[i] * y;
                }
                for jj in 0..c {
                    mix[i * c + jj] = if jj <= i {
                        qk[i * c + jj] * dec[i * c + jj]
                    } else {
                        0.0
                    };
                }
            }
            gemm_acc::<S>(c, dv, c, MatRef::rows(mix, c), delta, dv, out, dv);
            for t in 0..c {
                let off = io.v_offset(t0 + t, j);
                o[off..off + dv].copy_from_slice(&out[t * dv..(t + 1) * dv]);
            }
            // State: E_{c−1} S_0 + (D_{c−1,·} ⊙ K)ᵀ Δ.
            for t in 0..c {
                let w = dec[(c - 1) * c + t];
                for (x, y) in kd[t * dk..(t + 1) * dk].iter_mut().zip(&k[t * dk..]) {
                    *x = w * y;
                }
            }
            let ec = e[c - 1];
            for x in s.iter_mut() {
                *x *= ec;
            }
            gemm_acc::<S>(dk, dv, c, MatRef::transposed(kd, dk), delta, dv, s, dv);
        }
    }
}

/// Value head `j`'s gates of tokens `t0 .. t0 + c`: α_t = exp(g_t) and β_t, then the decay
/// products D (`c × c`, lower triangle, diagonal 1: `D[i][s] = α_{s+1} ⋯ α_i`) and E
/// (`E[s] = α_0 ⋯ α_s`), accumulated in float64 (a chunk's product of up to 1024 gates).
#[allow(clippy::too_many_arguments)]
fn chunk_gates(
    io: &HeadIo,
    t0: usize,
    c: usize,
    j: usize,
    alpha: &mut [f32],
    beta: &mut [f32],
    e: &mut [f32],
    dec: &mut [f32],
) {
    for t in 0..c {
        let (b, g) = beta_g(io, t0 + t, j);
        alpha[t] = exp(g);
        beta[t] = b;
    }
    decay_products(&alpha[..c], dec, e);
}

/// The decay products of a chunk's gates `alpha` (c of them), in float64: D (`c × c`, lower
/// triangle, diagonal 1: `D[i][s] = α_{s+1} ⋯ α_i`) into `dec`, E (`E[s] = α_0 ⋯ α_s`) into
/// `e[..c]`. Shared with rla's first pass (ops/rla/reads.rs).
pub(crate) fn decay_products(alpha: &[f32], dec: &mut [f32], e: &mut [f32]) {
    let c = alpha.len();
    let mut ep = 1f64;
    for sj in 0..c {
        let mut d = 1f64;
        dec[sj * c + sj] = 1.0;
        for i in sj + 1..c {
            d *= alpha[i] as f64;
            dec[i * c + sj] = d as f32;
        }
        ep *= alpha[sj] as f64;
        e[sj] = ep as f32;
    }
}

/// `y ← y + a x`.
#[inline(always)]
pub(crate) fn axpy<S: Simd>(y: &mut [f32], a: f32, x: &[f32]) {
    let n = y.len();
    assert!(x.len() >= n);
    let l = S::LANES;
    let av = S::splat(a);
    let mut i = 0;
    // SAFETY: i + l ≤ n ≤ len of both.
    unsafe {
        let yp = y.as_mut_ptr();
        while i + l <= n {
            S::store(
                yp.add(i),
                S::mul_add(av, S::load(x.as_ptr().add(i)), S::load(yp.add(i))),
            );
            i += l;
        }
    }
    while i < n {
        y[i] += a * x[i];
        i += 1;
    }
}

/// `x · y`.
#[inline(always)]
pub(crate) fn dot<S: Simd>(x: &[f32], y: &[f32]) -> f32 {
    let n = x.len();
    assert!(y.len() >= n);
    let l = S::LANES;
    let mut acc = S::splat(0.0);
    let mut i = 0;
    // SAFETY: i + l ≤ n ≤ len of both.
    unsafe {
        while i + l <= n {
            acc = S::mul_add(S::load(x.as_ptr().add(i)), S::load(y.as_ptr().add(i)), acc);
            i += l;
        }
    }
    let mut s = S::sum(acc);
    while i < n {
        s += x[i] * y[i];
        i += 1;
    }
    s
}

/// The segment summary of one group (docs/math.md, section g): the end state is affine in the
/// start state, `S_c = A S_0 + B`. Both come from [`chunk`]'s state recurrence run on the
/// widened state `X = [B | A]` (`dk × (dv + dk)` per value head) from `[0 | I]` with values
/// `[v | 0]` (A is the state of a sequence with no values started from I), without scores or
/// outputs. `st` gets B (the state layout), `trans` the `dk×dk` A per value head.
pub(crate) fn summary<S: Simd>(
    io: &HeadIo,
    opts: &GatedOptions,
    st: &mut [f32],
    trans: &mut [f32],
    ws: &mut Workspace,
    chunk_size: usize,
) {
    let (dk, dv, g) = (io.dk, io.dv, io.group());
    let w = dv + dk;
    let chunk_size = chunk_len(chunk_size, io.len);
    let cm = chunk_size;
    let [k, kt, kk, dec, kd, kx, delta, xs, qrow, small] = ws.parts([
        cm * dk,
        cm * dk,
        cm * cm,
        cm * cm,
        cm * dk,
        cm * w,
        cm * w,
        g * dk * w,
        dk,
        3 * cm,
    ]);
    xs.fill(0.0);
    for x in xs.chunks_exact_mut(dk * w) {
        for i in 0..dk {
            x[i * w + dv + i] = 1.0;
        }
    }
    for t0 in (0..io.len).step_by(chunk_size) {
        let c = chunk_size.min(io.len - t0);
        for t in 0..c {
            load_qk(io, t0 + t, opts, qrow, &mut k[t * dk..(t + 1) * dk]);
        }
        transpose(c, dk, &k[..c * dk], kt);
        gemm::<S>(c, c, dk, MatRef::rows(k, dk), kt, c, kk, c);
        for (j, x) in xs.chunks_exact_mut(dk * w).enumerate() {
            let (alpha, rest) = small.split_at_mut(cm);
            let (beta, e) = rest.split_at_mut(cm);
            chunk_gates(io, t0, c, j, alpha, beta, e, dec);
            gemm::<S>(c, w, dk, MatRef::rows(k, dk), x, w, kx, w);
            // Δ = (I + A)⁻¹ (diag(β) [V | 0] − diag(β E) K X_0), by forward substitution.
            for i in 0..c {
                let v = io.v_row(t0 + i, j);
                let (kxi, di) = (&kx[i * w..(i + 1) * w], &mut delta[i * w..(i + 1) * w]);
                let (dv_part, dk_part) = di.split_at_mut(dv);
                for ((d, x), y) in dv_part.iter_mut().zip(v).zip(&kxi[..dv]) {
                    *d = beta[i] * (x - e[i] * y);
                }
                for (d, y) in dk_part.iter_mut().zip(&kxi[dv..]) {
                    *d = -beta[i] * e[i] * y;
                }
                let (done, rest) = delta.split_at_mut(i * w);
                let di = &mut rest[..w];
                for jj in 0..i {
                    let aij = beta[i] * kk[i * c + jj] * dec[i * c + jj];
                    axpy::<S>(di, -aij, &done[jj * w..(jj + 1) * w]);
                }
            }
            for t in 0..c {
                let wt = dec[(c - 1) * c + t];
                for (a, b) in kd[t * dk..(t + 1) * dk].iter_mut().zip(&k[t * dk..]) {
                    *a = wt * b;
                }
            }
            let ec = e[c - 1];
            for a in x.iter_mut() {
                *a *= ec;
            }
            gemm_acc::<S>(dk, w, c, MatRef::transposed(kd, dk), delta, w, x, w);
            flush_tiny(x, dv, w);
        }
    }
    for ((x, b), a) in xs
        .chunks_exact(dk * w)
        .zip(st.chunks_exact_mut(dk * dv))
        .zip(trans.chunks_exact_mut(dk * dk))
    {
        for i in 0..dk {
            b[i * dv..(i + 1) * dv].copy_from_slice(&x[i * w..i * w + dv]);
            a[i * dk..(i + 1) * dk].copy_from_slice(&x[i * w + dv..(i + 1) * w]);
        }
    }
}


/// Below this, an entry of A is set to zero after each chunk (docs/math.md, section g).
const A_FLUSH: f32 = 1.0 / (1u128 << 100) as f32;

/// Zeroes the entries of A (columns `dv..w` of each `w`-wide row of `x`) below [`A_FLUSH`].
/// A is a product of contractions and decays: its entries shrink geometrically into the
/// subnormal range, where round-to-nearest keeps the smallest of them from ever reaching zero
/// (the smallest subnormal times 0.9 rounds back to itself), and on Intel cores every
/// multiply-add on a subnormal takes a microcode assist: the 16-core Xeon ran deltaRule's
/// summary 35× slower per token than its forward. An entry under 2⁻¹⁰⁰ adds at most
/// dk · 2⁻¹⁰⁰ · |S| to the carry A S + B, far below float32 rounding of any state in use.
fn flush_tiny(x: &mut [f32], dv: usize, w: usize) {
    for row in x.chunks_exact_mut(w) {
        for a in &mut row[dv..] {
            if a.abs() < A_FLUSH {
                *a = 0.0;
            }
        }
    }
}
