//! Pieces shared by the chunk-parallel forms. A chunk of `c` tokens (local index t = 0..c,
//! i.e. position t+1 after the carry-in state) is handled in matmul form:
//!
//! - scores `A = Q Kᵀ`; `A_L` = A on and below the diagonal; `A_D[t,i] = γ^{t−i} A[t,i]`;
//! - carry-in reads decay by γ^{t+1}; the carry-out combine decays the carry by γ^c and
//!   weights token i's contribution by γ^{c−1−i} (the rows of `Kd`, `Qd`).
//!
//! The per-operator modules combine these into "carry ⊕ chunk summary" exactly as derived in
//! docs/math.md; all loops here are O(c²·d) or O(c·d²) matmuls plus O(c²) masks.

use super::{write_output, HeadIo, Params};
use crate::gemm::{gemm, gemm_acc, transpose, MatRef};
use crate::simd::Simd;
use crate::workspace::Workspace;

/// Which c×c matrix mixes tokens into outputs.
#[derive(Clone, Copy)]
pub(crate) enum Mixer {
    /// `A_D` (first order in the scores: la1, ahla).
    Decayed,
    /// `Mix` from [`Chunk::second_order_mix`] (hla2, hla3).
    Second,
}

/// Which c×dv matrix is mixed: the values, or `R` (ahla, hla3: rows q_uᵀ P_u).
#[derive(Clone, Copy)]
pub(crate) enum Vals {
    V,
    R,
}

pub(crate) struct Chunk<'w> {
    pub c: usize,
    dk: usize,
    dv: usize,
    /// γ^i for i = 0..=c_max.
    gp: &'w mut [f32],
    q: &'w mut [f32],
    k: &'w mut [f32],
    qt: &'w mut [f32],
    kd: &'w mut [f32],
    qd: &'w mut [f32],
    y: &'w mut [f32],
    a: &'w mut [f32],
    ad: &'w mut [f32],
    mix: &'w mut [f32],
    cc: &'w mut [f32],
    v: &'w mut [f32],
    r: &'w mut [f32],
    num: &'w mut [f32],
    cdv: &'w mut [f32],
    kv: &'w mut [f32],
    kv2: &'w mut [f32],
    den: &'w mut [f32],
    r1: &'w mut [f32],
    vec: &'w mut [f32],
    vec2: &'w mut [f32],
}

impl<'w> Chunk<'w> {
    pub fn new(ws: &'w mut Workspace, c_max: usize, dk: usize, dv: usize) -> Self {
        // Checked: `Workspace::parts` trusts none of these products to be unwrapped.
        let mul = |a: usize, b: usize| a.checked_mul(b).expect("chunk workspace validated");
        let (cc, cd, cv) = (mul(c_max, c_max), mul(c_max, dk), mul(c_max, dv));
        let [gp, q, k, qt, kd, qd, y, a, ad, mix, ccs, v, r, num, cdv, kv, kv2, den, r1, vec, vec2] =
            ws.parts([
                c_max + 1,
                cd,
                cd,
                cd,
                cd,
                cd,
                cd,
                cc,
                cc,
                cc,
                cc,
                cv,
                cv,
                cv,
                cv,
                mul(dk, dv),
                mul(dk, dv),
                c_max,
                c_max,
                dk,
                dk,
            ]);
        Chunk {
            c: 0,
            dk,
            dv,
            gp,
            q,
            k,
            qt,
            kd,
            qd,
            y,
            a,
            ad,
            mix,
            cc: ccs,
            v,
            r,
            num,
            cdv,
            kv,
            kv2,
            den,
            r1,
            vec,
            vec2,
        }
    }

    /// Gathers tokens `t0 .. t0+c` of this head and forms the scores.
    pub fn load<S: Simd>(&mut self, io: &HeadIo, t0: usize, c: usize, p: &Params) {
        self.load_rows(io, t0, c, p);
        transpose(c, self.dk, self.q, self.qt);
        self.form_scores::<S>();
    }

    /// Gathers tokens `t0 .. t0+c` (Q scaled) and their end-of-chunk decayed rows Kd, Qd; no
    /// scores. Enough for first-order state updates (la1's segment summary needs only Kdᵀ V).
    pub fn load_rows(&mut self, io: &HeadIo, t0: usize, c: usize, p: &Params) {
        let dk = self.dk;
        self.c = c;
        self.gp[0] = 1.0;
        for i in 1..=c {
            self.gp[i] = self.gp[i - 1] * p.gamma;
        }
        for t in 0..c {
            io.load_q(t0 + t, p.scale, &mut self.q[t * dk..(t + 1) * dk]);
            self.k[t * dk..(t + 1) * dk].copy_from_slice(io.k_row(t0 + t));
            let w = self.gp[c - 1 - t];
            for i in 0..dk {
                self.kd[t * dk + i] = w * self.k[t * dk + i];
                self.qd[t * dk + i] = w * self.q[t * dk + i];
            }
        }
    }

    /// `A = Q Kᵀ` masked to A_L, and A_D, for the rows of [`Self::load_rows`].
    pub fn form_scores<S: Simd>(&mut self) {
        let (c, dk) = (self.c, self.dk);
        // A = Q Kᵀ: Kᵀ staged in `y` (dk × c).
        transpose(c, dk, self.k, self.y);
        gemm::<S>(c, c, dk, MatRef::rows(self.q, dk), self.y, c, self.a, c);
        for t in 0..c {
            for i in 0..c {
                let x = &mut self.a[t * c + i];
                if i > t {
                    *x = 0.0;
                }
                self.ad[t * c + i] = if i <= t { self.gp[t - i] * *x } else { 0.0 };
            }
        }
    }

    /// Mix[t,u] = γ^{t+1} q_tᵀ S0 q_u + Σ_{i≤u} γ^{t−i} A[t,i] A[u,i] for u ≤ t, else 0.
    /// The second term is `(A_D A_Lᵀ) ⊙ L`; the first is the carried key moment's read.
    pub fn second_order_mix<S: Simd>(&mut self, s0: &[f32]) {
        let (c, dk) = (self.c, self.dk);
        transpose(c, c, self.a, self.cc);
        gemm::<S>(c, c, c, MatRef::rows(self.ad, c), self.cc, c, self.mix, c);
        gemm::<S>(c, dk, dk, MatRef::rows(self.q, dk), s0, dk, self.y, dk);
        gemm::<S>(c, c, dk, MatRef::rows(self.y, dk), self.qt, c, self.cc, c);
        for t in 0..c {
            let w = self.gp[t + 1];
            for u in 0..c {
                let x = &mut self.mix[t * c + u];
                *x = if u <= t {
                    *x + w * self.cc[t * c + u]
                } else {
                    0.0
                };
            }
        }
    }

    /// Ridge: Mix[t,u] += λ γ^{t−u} (q_t·q_u) for u ≤ t.
    pub fn add_ridge_mix<S: Simd>(&mut self, ridge: f32) {
        let (c, dk) = (self.c, self.dk);
        gemm::<S>(c, c, dk, MatRef::rows(self.q, dk), self.qt, c, self.cc, c);
        for t in 0..c {
            for u in 0..=t {
                self.mix[t * c + u] += ridge * self.gp[t - u] * self.cc[t * c + u];
            }
        }
    }

    pub fn load_v(&mut self, io: &HeadIo, t0: usize, j: usize) {
        let dv = self.dv;
        for t in 0..self.c {
            self.v[t * dv..(t + 1) * dv].copy_from_slice(io.v_row(t0 + t, j));
        }
    }

    /// `R = diag(γ^{u+1}) Q P0 + A_D V`: row u is q_uᵀ P_u with the carried P0.
    pub fn form_r<S: Simd>(&mut self, p0: &[f32]) {
        let (c, dv) = (self.c, self.dv);
        gemm::<S>(c, dv, c, MatRef::rows(self.ad, c), self.v, dv, self.r, dv);
        self.add_carry_read::<S>(p0, true);
    }

    /// `R1[u] = γ^{u+1} q_u·m0 + Σ_i A_D[u,i]`: R with every value replaced by 1.
    pub fn form_r1(&mut self, m0: &[f32]) {
        let (c, dk) = (self.c, self.dk);
        for u in 0..c {
            let carry: f32 = self.q[u * dk..(u + 1) * dk]
                .iter()
                .zip(m0)
                .map(|(a, b)| a * b)
                .sum();
            let local: f32 = self.ad[u * c..(u + 1) * c].iter().sum();
            self.r1[u] = self.gp[u + 1] * carry + local;
        }
    }

    /// `dst[t] += γ^{t+1} (Q X0)[t]` for dst = R or the outputs' numerators.
    fn add_carry_read<S: Simd>(&mut self, x0: &[f32], into_r: bool) {
        let (c, dk, dv) = (self.c, self.dk, self.dv);
        gemm::<S>(c, dv, dk, MatRef::rows(self.q, dk), x0, dv, self.cdv, dv);
        let d: &mut [f32] = if into_r { self.r } else { self.num };
        for t in 0..c {
            let w = self.gp[t + 1];
            for (x, y) in d[t * dv..(t + 1) * dv]
                .iter_mut()
                .zip(&self.cdv[t * dv..(t + 1) * dv])
            {
                *x += w * y;
            }
        }
    }

    /// `num = mixer · vals + diag(γ^{t+1}) Q X0`.
    pub fn outputs<S: Simd>(&mut self, m: Mixer, x: Vals, x0: &[f32]) {
        let (c, dv) = (self.c, self.dv);
        let mat: &[f32] = match m {
            Mixer::Decayed => self.ad,
            Mixer::Second => self.mix,
        };
        let vals: &[f32] = match x {
            Vals::V => self.v,
            Vals::R => self.r,
        };
        gemm::<S>(c, dv, c, MatRef::rows(mat, c), vals, dv, self.num, dv);
        self.add_carry_read::<S>(x0, false);
    }

    /// Like [`Self::outputs`] with the carried read `X0 + λ Y0` (hla2's ridge: M0 + λ C0).
    pub fn outputs_ridge<S: Simd>(&mut self, x0: &[f32], y0: &[f32], ridge: f32) {
        for ((d, a), b) in self.kv.iter_mut().zip(x0).zip(y0) {
            *d = a + ridge * b;
        }
        let kv = core::mem::take(&mut self.kv);
        self.outputs::<S>(Mixer::Second, Vals::V, kv);
        self.kv = kv;
    }

    /// `den[t] = Σ_u mixer[t,u] w[u] + γ^{t+1} q_t·carry` with w = 1 or R1.
    pub fn denominators(&mut self, m: Mixer, weighted: bool, carry: &[f32]) {
        self.denominators2(m, weighted, carry, &[], 0.0);
    }

    /// Like [`Self::denominators`] with the carry `a + λ b` (hla2's ridge: n0 + λ m0).
    pub fn denominators2(&mut self, m: Mixer, weighted: bool, a: &[f32], b: &[f32], ridge: f32) {
        let (c, dk) = (self.c, self.dk);
        let mat: &[f32] = match m {
            Mixer::Decayed => self.ad,
            Mixer::Second => self.mix,
        };
        for t in 0..c {
            let row = &mat[t * c..(t + 1) * c];
            let local: f32 = if weighted {
                row.iter().zip(&*self.r1).map(|(a, b)| a * b).sum()
            } else {
                row.iter().sum()
            };
            let qt = &self.q[t * dk..(t + 1) * dk];
            let mut read: f32 = qt.iter().zip(a).map(|(x, y)| x * y).sum();
            if !b.is_empty() {
                read += ridge * qt.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
            }
            self.den[t] = local + self.gp[t + 1] * read;
        }
    }

    pub fn write_outputs(&self, io: &HeadIo, t0: usize, j: usize, o: &mut [f32], p: &Params) {
        let dv = self.dv;
        for t in 0..self.c {
            let off = io.v_offset(t0 + t, j);
            write_output(
                &mut o[off..off + dv],
                &self.num[t * dv..(t + 1) * dv],
                self.den[t],
                p,
            );
        }
    }

    /// Second-order carry update with X = V or R:
    /// `X0 ← γ^c (X0 + S0 (Qᵀ X)) + Kdᵀ (A_Lᵀ X)`  (SPEC: M_AB = ρ_B M_A + M_B + ρ_B S_A C_B).
    pub fn second_order_update<S: Simd>(&mut self, x0: &mut [f32], s0: &[f32], x: Vals) {
        let (c, dk, dv) = (self.c, self.dk, self.dv);
        let vals: &[f32] = match x {
            Vals::V => self.v,
            Vals::R => self.r,
        };
        gemm::<S>(
            dk,
            dv,
            c,
            MatRef::transposed(self.q, dk),
            vals,
            dv,
            self.kv,
            dv,
        );
        gemm::<S>(dk, dv, dk, MatRef::rows(s0, dk), self.kv, dv, self.kv2, dv);
        let rho = self.gp[c];
        for (a, b) in x0.iter_mut().zip(&*self.kv2) {
            *a = rho * (*a + b);
        }
        gemm::<S>(
            c,
            dv,
            c,
            MatRef::transposed(self.a, c),
            vals,
            dv,
            self.cdv,
            dv,
        );
        gemm_acc::<S>(
            dk,
            dv,
            c,
            MatRef::transposed(self.kd, dk),
            self.cdv,
            dv,
            x0,
            dv,
        );
    }

    /// The same update for a vector moment (X = 1 or R1): n or η.
    pub fn second_order_vec_update(&mut self, x0: &mut [f32], s0: &[f32], weighted: bool) {
        let (c, dk) = (self.c, self.dk);
        let w = |u: usize, r1: &[f32]| if weighted { r1[u] } else { 1.0 };
        // vec = Qᵀ x ; vec2 = S0 vec
        self.vec.fill(0.0);
        for u in 0..c {
            let wu = w(u, self.r1);
            for i in 0..dk {
                self.vec[i] += self.q[u * dk + i] * wu;
            }
        }
        for i in 0..dk {
            self.vec2[i] = s0[i * dk..(i + 1) * dk]
                .iter()
                .zip(&*self.vec)
                .map(|(a, b)| a * b)
                .sum();
        }
        let rho = self.gp[c];
        for i in 0..dk {
            x0[i] = rho * (x0[i] + self.vec2[i]);
        }
        // x0 += Kdᵀ (A_Lᵀ x)
        for i in 0..c {
            let g: f32 = (i..c).map(|u| self.a[u * c + i] * w(u, self.r1)).sum();
            for d in 0..dk {
                x0[d] += self.kd[i * dk + d] * g;
            }
        }
    }

    /// `X0 ← γ^c X0 + Kdᵀ X` (keys) or `+ Qdᵀ X` (queries, ridge's C).
    pub fn decayed_outer_update<S: Simd>(&mut self, x0: &mut [f32], x: Vals, by_queries: bool) {
        let (c, dk, dv) = (self.c, self.dk, self.dv);
        let rho = self.gp[c];
        x0.iter_mut().for_each(|a| *a *= rho);
        let rows = if by_queries { &*self.qd } else { &*self.kd };
        let vals: &[f32] = match x {
            Vals::V => self.v,
            Vals::R => self.r,
        };
        gemm_acc::<S>(dk, dv, c, MatRef::transposed(rows, dk), vals, dv, x0, dv);
    }

    /// `x0 ← γ^c x0 + Σ_i γ^{c−1−i} w_i k_i` (or q_i), w = 1 or R1.
    pub fn decayed_vec_update(&mut self, x0: &mut [f32], weighted: bool, by_queries: bool) {
        let (c, dk) = (self.c, self.dk);
        let rho = self.gp[c];
        x0.iter_mut().for_each(|a| *a *= rho);
        let rows = if by_queries { &*self.qd } else { &*self.kd };
        for i in 0..c {
            let w = if weighted { self.r1[i] } else { 1.0 };
            for d in 0..dk {
                x0[d] += w * rows[i * dk + d];
            }
        }
    }

    /// `S0 ← γ^c S0 + Kdᵀ K`.
    pub fn key_moment_update<S: Simd>(&mut self, s0: &mut [f32]) {
        let (c, dk) = (self.c, self.dk);
        let rho = self.gp[c];
        s0.iter_mut().for_each(|a| *a *= rho);
        gemm_acc::<S>(
            dk,
            dk,
            c,
            MatRef::transposed(self.kd, dk),
            self.k,
            dk,
            s0,
            dk,
        );
    }

    // --- State-only pieces for segment summaries (ops/segment.rs) ---

    /// γ^c: the decay of a carry across this chunk.
    pub fn rho(&self) -> f32 {
        self.gp[self.c]
    }

    /// `Qᵀ X` (dk×dv, undecayed) as left by the last [`Self::second_order_update`]: the raw
    /// cross-term moment C_B = Σ q_u⊗v_u (hla2) or R_B = Σ q_u⊗(q_uᵀ P_u) (hla3) of this chunk.
    pub fn raw_query_vals(&self) -> &[f32] {
        self.kv
    }

    /// `Qᵀ w` (dk, undecayed) as left by the last [`Self::second_order_vec_update`], w = 1 or R1.
    pub fn raw_query_weights(&self) -> &[f32] {
        self.vec
    }

    /// `dst += Kᵀ Q` (dk×dk, undecayed): ahla's R^{KQ} = Σ k_u⊗q_u.
    pub fn key_query_moment_acc<S: Simd>(&mut self, dst: &mut [f32]) {
        let (c, dk) = (self.c, self.dk);
        gemm_acc::<S>(
            dk,
            dk,
            c,
            MatRef::transposed(self.k, dk),
            self.q,
            dk,
            dst,
            dk,
        );
    }

    /// hla3's query moments of this chunk, with the running key moment `s0` (before this
    /// chunk's update) and `w0` = γ^{t0}, t0 = tokens before the chunk in the segment:
    /// `sqg += w0 W`, `u += s0 W + Kᵀ (A_Dᵀ Q)` with `W = Σ_u γ^{u+1} q_u⊗q_u` (into `w`).
    /// Needs [`Self::form_scores`] (A_D).
    pub fn query_moments_acc<S: Simd>(
        &mut self,
        s0: &[f32],
        w0: f32,
        sqg: &mut [f32],
        u: &mut [f32],
        w: &mut [f32],
    ) {
        let (c, dk) = (self.c, self.dk);
        for t in 0..c {
            let g = self.gp[t + 1];
            for i in 0..dk {
                self.y[t * dk + i] = g * self.q[t * dk + i];
            }
        }
        gemm::<S>(dk, dk, c, MatRef::transposed(self.q, dk), self.y, dk, w, dk);
        for (a, b) in sqg.iter_mut().zip(&*w) {
            *a += w0 * b;
        }
        gemm_acc::<S>(dk, dk, dk, MatRef::rows(s0, dk), w, dk, u, dk);
        // Σ_u S^loc_u q_u⊗q_u = Σ_i k_i ⊗ (Σ_{u≥i} γ^{u−i} A[u,i] q_u) = Kᵀ (A_Dᵀ Q)
        gemm::<S>(
            c,
            dk,
            c,
            MatRef::transposed(self.ad, c),
            self.q,
            dk,
            self.y,
            dk,
        );
        gemm_acc::<S>(dk, dk, c, MatRef::transposed(self.k, dk), self.y, dk, u, dk);
    }
}
