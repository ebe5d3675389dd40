//! The delta rule token by token. Each column c of S evolves on its own:
//! `s_c ← α s_c + k β (v_c − α k·s_c)`, and `o_t[c] = α q·s_c + (k·q) δ_t[c]` (the read of the
//! updated state, expanded), so a block of columns can stay in registers and L1 while it goes
//! through many tokens. Per token and column block there is ONE pass over the rows: it writes
//! token t's update `y = α s + k_t δ_t` and, from the same `y`, accumulates token t+1's reads
//! `k_{t+1}·y` and `q_{t+1}·y`. Only the first token of a block needs a read-only pass; a
//! single token (decode) costs a read and an update of each column block while it is in L1.

use super::super::gated::load_qk;
use super::super::options::GatedOptions;
use super::super::recurrent::NT;
use super::super::shape::HeadIo;
use super::super::shape::V;
use super::beta_g;
use super::chunk::dot;
use crate::exp::exp;
use crate::simd::{Scalar, Simd};
use crate::workspace::Workspace;

/// Tokens per block at most: their q and k stay in L1 while each column block of the state
/// goes through all of them.
const TB: usize = 64;

/// Tokens per block for these head sizes: within the recurrent workspace every operator is
/// sized for (ops::workspace_len), so the facade's size checks hold. At dk = dv = 64 that is 9
/// tokens: one read-only pass per 9 tokens (+~5% of the multiply-adds).
fn block_tokens(dk: usize, dv: usize) -> usize {
    let budget = 8 * NT * dk + 2 * NT * dv;
    (budget / (2 * dk + 3)).clamp(1, TB)
}

pub(crate) fn recurrent<S: Simd>(
    io: &HeadIo,
    opts: &GatedOptions,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
) {
    let (dk, dv) = (io.dk, io.dv);
    let tb = block_tokens(dk, dv).min(io.len).max(1);
    let [q, k, kq, alpha, beta] = ws.parts([tb * dk, tb * dk, tb, tb, tb]);
    let stride = io.value_heads * dv;
    for t0 in (0..io.len).step_by(tb) {
        let n = tb.min(io.len - t0);
        for t in 0..n {
            let (qt, kt) = (&mut q[t * dk..(t + 1) * dk], &mut k[t * dk..(t + 1) * dk]);
            load_qk(io, t0 + t, opts, qt, kt);
            kq[t] = dot::<S>(kt, qt);
        }
        for (j, s) in st.chunks_exact_mut(dk * dv).enumerate() {
            for t in 0..n {
                let (b, g) = beta_g(io, t0 + t, j);
                alpha[t] = exp(g);
                beta[t] = b;
            }
            let base = io.v_offset(t0, j);
            // The last token's rows end inside v and o (validated shapes).
            assert!(base + (n - 1) * stride + dv <= o.len().min(io.inputs[V].len()));
            let tok = Tokens {
                n,
                dk,
                q: q.as_ptr(),
                k: k.as_ptr(),
                kq: kq.as_ptr(),
                alpha: alpha.as_ptr(),
                beta: beta.as_ptr(),
                // SAFETY: in bounds by the assert above.
                v: unsafe { io.inputs[V].as_ptr().add(base) },
                o: unsafe { o.as_mut_ptr().add(base) },
                stride,
            };
            sweep::<S>(s, dv, &tok);
        }
    }
}

/// One block of tokens for one value head: `n` rows of q, k (dk each), per-token scalars,
/// and v, o rows `stride` floats apart.
struct Tokens {
    n: usize,
    dk: usize,
    q: *const f32,
    k: *const f32,
    kq: *const f32,
    alpha: *const f32,
    beta: *const f32,
    v: *const f32,
    o: *mut f32,
    stride: usize,
}

/// All tokens of the block over `x` (dk × dv), column block by column block.
#[inline(never)]
fn sweep<S: Simd>(x: &mut [f32], dv: usize, tok: &Tokens) {
    assert!(x.len() >= tok.dk * dv);
    let l = S::LANES;
    let mut j = 0;
    // SAFETY: column blocks stay inside 0..dv; the caller bounds the token rows.
    unsafe {
        while j + BL * l <= dv {
            columns::<S, BL>(x.as_mut_ptr(), dv, j, tok);
            j += BL * l;
        }
        while j + l <= dv {
            columns::<S, 1>(x.as_mut_ptr(), dv, j, tok);
            j += l;
        }
        while j < dv {
            columns::<Scalar, 1>(x.as_mut_ptr(), dv, j, tok);
            j += 1;
        }
    }
}

/// Column vectors per block: δ, two read accumulators and the updated row, BL each, plus four
/// broadcasts fit 16 vector registers at BL = 2.
const BL: usize = 2;

#[inline(always)]
#[allow(clippy::needless_range_loop)]
unsafe fn columns<S: Simd, const BL: usize>(x: *mut f32, n: usize, j: usize, tok: &Tokens) {
    let (l, dk) = (S::LANES, tok.dk);
    let zero = [S::splat(0.0); BL];
    // Token 0's reads: a read-only pass.
    let (mut acck, mut accq) = (zero, zero);
    for i in 0..dk {
        let (ki, qi) = (S::splat(*tok.k.add(i)), S::splat(*tok.q.add(i)));
        for u in 0..BL {
            let s = S::load(x.add(i * n + j + u * l));
            acck[u] = S::mul_add(ki, s, acck[u]);
            accq[u] = S::mul_add(qi, s, accq[u]);
        }
    }
    for t in 0..tok.n {
        let a = S::splat(*tok.alpha.add(t));
        let neg_a = S::splat(-*tok.alpha.add(t));
        let b = S::splat(*tok.beta.add(t));
        let kq = S::splat(*tok.kq.add(t));
        let (v, o) = (tok.v.add(t * tok.stride + j), tok.o.add(t * tok.stride + j));
        let mut delta = zero;
        for u in 0..BL {
            delta[u] = S::mul(b, S::mul_add(neg_a, acck[u], S::load(v.add(u * l))));
            S::store(o.add(u * l), S::mul_add(kq, delta[u], S::mul(a, accq[u])));
        }
        let kt = tok.k.add(t * dk);
        if t + 1 < tok.n {
            let (kn, qn) = (tok.k.add((t + 1) * dk), tok.q.add((t + 1) * dk));
            acck = zero;
            accq = zero;
            for i in 0..dk {
                let ki = S::splat(*kt.add(i));
                let (kni, qni) = (S::splat(*kn.add(i)), S::splat(*qn.add(i)));
                for u in 0..BL {
                    let p = x.add(i * n + j + u * l);
                    let y = S::mul_add(ki, delta[u], S::mul(a, S::load(p)));
                    S::store(p, y);
                    acck[u] = S::mul_add(kni, y, acck[u]);
                    accq[u] = S::mul_add(qni, y, accq[u]);
                }
            }
        } else {
            for i in 0..dk {
                let ki = S::splat(*kt.add(i));
                for u in 0..BL {
                    let p = x.add(i * n + j + u * l);
                    S::store(p, S::mul_add(ki, delta[u], S::mul(a, S::load(p))));
                }
            }
        }
    }
}
