//! rla's pass 1 (docs/math.md, section i): one chunk-parallel sweep of S over a value head's
//! tokens that returns, per token, the two strictly causal reads the residual and the output
//! need, and leaves S final:
//!
//! ```text
//! read_k_t = P_tᵀ k̂_t          (P_t = S_{t−1}, or α_t S_{t−1} with residual 'decayed')
//! read_q_t = α_t S_{t−1}ᵀ q̂_t
//! ```
//!
//! The base chunk kernels (gla, deltaRule) return one inclusive read per token, so these two
//! took two full passes of them (each with a query shifted by a token). Here they are the base
//! kernel's own chunk algebra with a second query stream: rla's gate is one scalar per value
//! head, so with `E_i = Π_{u≤i} α_u` and `D_ij = Π_{j<u≤i} α_u` (products in float64 along
//! each column, as the deltaRule kernel takes them: a long chunk of strong gates underflows to
//! 0, nothing is divided) a chunk of `c` tokens after state `S_0` is
//!
//! ```text
//! W = diag(β) V                                         (la)
//! W = (I + strictly_lower(β_i (k̂_i·k̂_j) D_ij))⁻¹ diag(β) (V − diag(E) K S_0)   (deltaRule)
//! read_k = diag(E') K S_0 + (K Kᵀ ⊙ D', strictly lower) W
//! read_q = diag(E) Q S_0 + (Q Kᵀ ⊙ D, strictly lower) W
//! S_c    = E_{c−1} S_0 + (diag(D_{c−1,·}) K)ᵀ W
//! ```
//!
//! with `E'_i = E_{i−1}`, `D'_ij = D_{i−1,j}` (the products shifted back one token, taken
//! directly: never a decayed read divided by α) when undecayed, E and D when decayed. The rows
//! of W are what each token writes along k̂ (la: β v; deltaRule: the δ of the recurrence, by
//! forward substitution as in ops/delta_rule/chunk.rs). Both reads share the carry-in reads
//! `[K; Q] S_0`, the decays and W, and come from one stacked `2c×c` mixer times W: the cost is
//! one base pass plus a c×c×dk score product and a c×c×dv mix, against two base passes before.

use super::{Residual, RlaBase};
use super::super::delta_rule::{axpy, decay_products};
use crate::gemm::{gemm, gemm_acc, transpose, MatRef};
use crate::simd::Simd;
use crate::size::{chunk_len, floats, total};
use crate::workspace::Workspace;

/// One value head's pass-1 problem: rows of `len` tokens.
pub(crate) struct Pass1<'a> {
    pub base: RlaBase,
    pub residual: Residual,
    /// q̂ and k̂ (`len × dk`).
    pub q: &'a [f32],
    pub k: &'a [f32],
    /// `len × dv`.
    pub v: &'a [f32],
    /// α = exp(g) and β per token.
    pub alpha: &'a [f32],
    pub beta: &'a [f32],
    pub dk: usize,
    pub dv: usize,
}

impl Pass1<'_> {
    /// Runs the sweep over `s` (`dk×dv`, initial → final), writing `read_k` and `read_q`
    /// (`len × dv` each).
    #[inline(never)]
    pub fn run<S: Simd>(
        &self,
        s: &mut [f32],
        read_k: &mut [f32],
        read_q: &mut [f32],
        ws: &mut Workspace,
        chunk_size: usize,
    ) {
        let (dk, dv, len) = (self.dk, self.dv, self.alpha.len());
        if len == 0 {
            return;
        }
        let cm = chunk_len(chunk_size, len);
        let [kt, kk, qk, dec, mix, carry, w, kd, e] =
            ws.parts(sizes(cm, dk, dv).expect("rla: pass 1's workspace validated"));
        let delta = self.base == RlaBase::DeltaRule;
        let undecayed = self.residual == Residual::Undecayed;
        for t0 in (0..len).step_by(cm) {
            let c = cm.min(len - t0);
            let k = &self.k[t0 * dk..(t0 + c) * dk];
            let q = &self.q[t0 * dk..(t0 + c) * dk];
            let (alpha, beta) = (&self.alpha[t0..t0 + c], &self.beta[t0..t0 + c]);
            // Scores, shared by both streams.
            transpose(c, dk, k, kt);
            gemm::<S>(c, c, dk, MatRef::rows(k, dk), kt, c, kk, c);
            gemm::<S>(c, c, dk, MatRef::rows(q, dk), kt, c, qk, c);
            // D (lower triangle, diagonal 1), E_i in e[c + i] and E_{i−1} in e[i]; float64.
            decay_products(alpha, dec, &mut e[c..2 * c]);
            e[0] = 1.0;
            for j in 1..c {
                e[j] = e[c + j - 1];
            }
            // The carry-in reads [K; Q] S_0.
            let (ck, cq) = carry[..2 * c * dv].split_at_mut(c * dv);
            gemm::<S>(c, dv, dk, MatRef::rows(k, dk), s, dv, ck, dv);
            gemm::<S>(c, dv, dk, MatRef::rows(q, dk), s, dv, cq, dv);
            // W: what each token writes along k̂.
            let w = &mut w[..c * dv];
            for i in 0..c {
                let vi = &self.v[(t0 + i) * dv..(t0 + i + 1) * dv];
                let (done, rest) = w.split_at_mut(i * dv);
                let wi = &mut rest[..dv];
                if !delta {
                    for (x, y) in wi.iter_mut().zip(vi) {
                        *x = beta[i] * y;
                    }
                    continue;
                }
                // δ_i = β_i (v_i − E_i (K S_0)_i − Σ_{j<i} D_ij (k̂_i·k̂_j) δ_j).
                let ei = e[c + i];
                for ((x, y), z) in wi.iter_mut().zip(vi).zip(&ck[i * dv..(i + 1) * dv]) {
                    *x = beta[i] * (y - ei * z);
                }
                for j in 0..i {
                    let a = beta[i] * kk[i * c + j] * dec[i * c + j];
                    axpy::<S>(wi, -a, &done[j * dv..(j + 1) * dv]);
                }
            }
            // The stacked mixer: rows 0..c read k̂ (D' = D shifted back a row when undecayed),
            // rows c..2c read q̂; both strictly lower.
            let mix = &mut mix[..2 * c * c];
            for i in 0..c {
                let (mk, mq) = (i * c, (c + i) * c);
                for j in 0..c {
                    let (xk, xq) = if j < i {
                        let dk_ij = if undecayed {
                            dec[(i - 1) * c + j]
                        } else {
                            dec[i * c + j]
                        };
                        (dk_ij * kk[i * c + j], dec[i * c + j] * qk[i * c + j])
                    } else {
                        (0.0, 0.0)
                    };
                    mix[mk + j] = xk;
                    mix[mq + j] = xq;
                }
            }
            // reads = diag(E'; E) [K; Q] S_0 + mixer W.
            for i in 0..c {
                let ek = if undecayed { e[i] } else { e[c + i] };
                carry[i * dv..(i + 1) * dv]
                    .iter_mut()
                    .for_each(|x| *x *= ek);
                let eq = e[c + i];
                carry[(c + i) * dv..(c + i + 1) * dv]
                    .iter_mut()
                    .for_each(|x| *x *= eq);
            }
            gemm_acc::<S>(2 * c, dv, c, MatRef::rows(mix, c), w, dv, carry, dv);
            read_k[t0 * dv..(t0 + c) * dv].copy_from_slice(&carry[..c * dv]);
            read_q[t0 * dv..(t0 + c) * dv].copy_from_slice(&carry[c * dv..2 * c * dv]);
            // S_c = E_{c−1} S_0 + (D_{c−1,·} ⊙ K)ᵀ W.
            for t in 0..c {
                let d = dec[(c - 1) * c + t];
                for (x, y) in kd[t * dk..(t + 1) * dk].iter_mut().zip(&k[t * dk..]) {
                    *x = d * y;
                }
            }
            let ec = e[2 * c - 1];
            s.iter_mut().for_each(|x| *x *= ec);
            gemm_acc::<S>(dk, dv, c, MatRef::transposed(kd, dk), w, dv, s, dv);
        }
    }
}

/// Pass 1's scratch for chunks of `c` tokens, in [`Pass1::run`]'s order: Kᵀ, K Kᵀ, Q Kᵀ, D,
/// the stacked mixer, the reads, W, the decayed keys, E. `None` past one wasm32 buffer.
fn sizes(c: usize, dk: usize, dv: usize) -> Option<[usize; 9]> {
    let (cc, cd, cv) = (
        floats(&[&[c, c]])?,
        floats(&[&[c, dk]])?,
        floats(&[&[c, dv]])?,
    );
    let two = |x: usize| x.checked_mul(2);
    Some([cd, cc, cc, cc, two(cc)?, two(cv)?, cv, cd, two(c)?])
}

/// Floats of pass 1's scratch for chunks of `c` tokens; `None` past one wasm32 buffer (what
/// `Rla::check_options` checks at the longest chunk, so `run` never meets a size it cannot take).
pub(crate) fn workspace_len(c: usize, dk: usize, dv: usize) -> Option<usize> {
    total(&sizes(c, dk, dv)?)
}

#[cfg(test)]
mod tests {
    //! The two reads themselves (the operator's tests see them only through the clipped
    //! residual and the output) against a float64 token loop: both bases and residual readings,
    //! chunk sizes 1, 3, 16, len + 5, a nonzero initial state, and a full reset (α = 0) on the
    //! first token of a chunk of 16.
    use super::*;
    use crate::simd::{Isa, Scalar};

    fn rand(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// `(read_k, read_q, final S)` token by token in float64.
    fn reference(p: &Pass1, s0: &[f32]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (dk, dv, len) = (p.dk, p.dv, p.alpha.len());
        let mut s: Vec<f64> = s0.iter().map(|&x| x as f64).collect();
        let (mut rk, mut rq) = (vec![0f64; len * dv], vec![0f64; len * dv]);
        for t in 0..len {
            let a = p.alpha[t] as f64;
            let read = |s: &[f64], x: &[f32], e: usize| -> f64 {
                (0..dk).map(|i| s[i * dv + e] * x[t * dk + i] as f64).sum()
            };
            let pk = if p.residual == Residual::Decayed {
                a
            } else {
                1.0
            };
            let sk: Vec<f64> = (0..dv).map(|e| read(&s, p.k, e)).collect();
            for e in 0..dv {
                rk[t * dv + e] = pk * sk[e];
                rq[t * dv + e] = a * read(&s, p.q, e);
            }
            let b = p.beta[t] as f64;
            for e in 0..dv {
                let v = p.v[t * dv + e] as f64;
                let w = match p.base {
                    RlaBase::La => b * v,
                    RlaBase::DeltaRule => b * (v - a * sk[e]),
                };
                for i in 0..dk {
                    let x = &mut s[i * dv + e];
                    *x = a * *x + p.k[t * dk + i] as f64 * w;
                }
            }
        }
        (rk, rq, s)
    }

    fn err(a: &[f32], b: &[f64]) -> f64 {
        let num: f64 = a.iter().zip(b).map(|(&x, y)| (x as f64 - y).powi(2)).sum();
        let den: f64 = b.iter().map(|y| y * y).sum();
        (num / den.max(1e-30)).sqrt()
    }

    fn check<S: Simd>(p: &Pass1, s0: &[f32], chunk: usize, want: (&[f64], &[f64], &[f64])) {
        let len = p.alpha.len();
        let mut s = s0.to_vec();
        let (mut rk, mut rq) = (vec![0f32; len * p.dv], vec![0f32; len * p.dv]);
        p.run::<S>(&mut s, &mut rk, &mut rq, &mut Workspace::default(), chunk);
        let what = format!("{:?} {:?} chunk {chunk} {}", p.base, p.residual, S::NAME);
        for (name, got, want) in [
            ("read_k", &rk, want.0),
            ("read_q", &rq, want.1),
            ("S", &s, want.2),
        ] {
            let e = err(got, want);
            assert!(e < 1e-5, "{what}: {name} {e:e}");
        }
    }

    #[test]
    fn both_reads_are_strictly_causal_across_chunk_boundaries() {
        let (dk, dv, len) = (8, 6, 37);
        let q = rand(len * dk, 1);
        let k: Vec<f32> = rand(len * dk, 2).iter().map(|x| x / 8f32.sqrt()).collect();
        let v = rand(len * dv, 3);
        let mut alpha: Vec<f32> = rand(len, 4)
            .iter()
            .map(|x| (0.5 * (x - 1.0)).exp())
            .collect();
        alpha[16] = 0.0;
        let beta: Vec<f32> = rand(len, 5).iter().map(|x| 0.55 + 0.45 * x).collect();
        let s0: Vec<f32> = rand(dk * dv, 6).iter().map(|x| 0.5 * x).collect();
        for base in [RlaBase::La, RlaBase::DeltaRule] {
            for residual in [Residual::Undecayed, Residual::Decayed] {
                let p = Pass1 {
                    base,
                    residual,
                    q: &q,
                    k: &k,
                    v: &v,
                    alpha: &alpha,
                    beta: &beta,
                    dk,
                    dv,
                };
                let (rk, rq, sf) = reference(&p, &s0);
                for chunk in [1, 3, 16, len + 5] {
                    check::<Scalar>(&p, &s0, chunk, (&rk, &rq, &sf));
                    check::<Isa>(&p, &s0, chunk, (&rk, &rq, &sf));
                }
            }
        }
    }
}
