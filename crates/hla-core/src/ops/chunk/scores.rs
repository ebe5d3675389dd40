//! What the value heads of a chunk share: the rows (Q scaled, K, their decayed and transposed
//! forms), the scores A_L and A_D, the second-order mixer, the denominators, R1, and the
//! updates of the key-side and vector moments.

use super::{Mixer, Rows, Weights};
use crate::gemm::{gemm, gemm_acc, transpose, MatRef};
use crate::ops::options::Params;
use crate::ops::shape::HeadIo;
use crate::simd::Simd;
use crate::size::{floats, total};
use crate::workspace::carve;

pub(crate) struct Scores<'w> {
    pub c: usize,
    dk: usize,
    /// γ^i for i = 0..=c_max.
    pub(super) decay_powers: &'w mut [f32],
    /// Rows of the chunk, c×dk: Q (scaled), K, Qᵀ (dk×c), Kd and Qd (row i × γ^{c−1−i}).
    pub(super) queries: &'w mut [f32],
    keys: &'w mut [f32],
    queries_t: &'w mut [f32],
    pub(super) keys_decayed: &'w mut [f32],
    pub(super) queries_decayed: &'w mut [f32],
    /// c×dk staging (Kᵀ, Q S0, γ-weighted Q, A_Dᵀ Q).
    rows_scratch: &'w mut [f32],
    /// c×c: A_L, A_D, Mix, and staging (A_Lᵀ, Q S0 Qᵀ, Q Qᵀ).
    pub(super) scores: &'w mut [f32],
    pub(super) scores_decayed: &'w mut [f32],
    pub(super) mix: &'w mut [f32],
    square_scratch: &'w mut [f32],
    /// Per token: the denominators, and R1 (rows q_uᵀ m_u).
    pub(super) den: &'w mut [f32],
    r1: &'w mut [f32],
    /// dk: `Qᵀ w` of the last vector update, and its S0 product.
    query_weights: &'w mut [f32],
    vec_scratch: &'w mut [f32],
}

impl<'w> Scores<'w> {
    /// The buffers' sizes (in field order), checked; `None` past one wasm32 buffer.
    fn sizes(c_max: usize, dk: usize) -> Option<[usize; 15]> {
        let (cc, cd) = (floats(&[&[c_max, c_max]])?, floats(&[&[c_max, dk]])?);
        let gp = c_max.checked_add(1)?;
        Some([
            gp, cd, cd, cd, cd, cd, cd, cc, cc, cc, cc, c_max, c_max, dk, dk,
        ])
    }

    pub fn len(c_max: usize, dk: usize) -> Option<usize> {
        total(&Self::sizes(c_max, dk)?)
    }

    /// `buf` of [`Self::len`] floats (validated) as this chunk's buffers.
    pub fn new(buf: &'w mut [f32], c_max: usize, dk: usize) -> Self {
        let [decay_powers, queries, keys, queries_t, keys_decayed, queries_decayed, rows_scratch, scores, scores_decayed, mix, square_scratch, den, r1, query_weights, vec_scratch] =
            carve(
                buf,
                Self::sizes(c_max, dk).expect("chunk workspace validated"),
            );
        Scores {
            c: 0,
            dk,
            decay_powers,
            queries,
            keys,
            queries_t,
            keys_decayed,
            queries_decayed,
            rows_scratch,
            scores,
            scores_decayed,
            mix,
            square_scratch,
            den,
            r1,
            query_weights,
            vec_scratch,
        }
    }

    /// Gathers tokens `t0 .. t0+c` of this head and forms the scores.
    #[inline(never)]
    pub fn load<S: Simd>(&mut self, io: &HeadIo, t0: usize, c: usize, p: &Params) {
        self.load_rows(io, t0, c, p);
        transpose(c, self.dk, self.queries, self.queries_t);
        self.form_scores::<S>();
    }

    /// Gathers tokens `t0 .. t0+c` (Q scaled) and their end-of-chunk decayed rows Kd, Qd; no
    /// scores. Enough for first-order state updates (la1's segment summary needs only Kdᵀ V).
    #[inline(never)]
    pub fn load_rows(&mut self, io: &HeadIo, t0: usize, c: usize, p: &Params) {
        let dk = self.dk;
        self.c = c;
        self.decay_powers[0] = 1.0;
        for i in 1..=c {
            self.decay_powers[i] = self.decay_powers[i - 1] * p.gamma;
        }
        for t in 0..c {
            io.load_q(t0 + t, p.scale, &mut self.queries[t * dk..(t + 1) * dk]);
            self.keys[t * dk..(t + 1) * dk].copy_from_slice(io.k_row(t0 + t));
            let w = self.decay_powers[c - 1 - t];
            for i in 0..dk {
                self.keys_decayed[t * dk + i] = w * self.keys[t * dk + i];
                self.queries_decayed[t * dk + i] = w * self.queries[t * dk + i];
            }
        }
    }

    /// `A = Q Kᵀ` masked to A_L, and A_D, for the rows of [`Self::load_rows`].
    #[inline(never)]
    pub fn form_scores<S: Simd>(&mut self) {
        let (c, dk) = (self.c, self.dk);
        // A = Q Kᵀ: Kᵀ staged in `rows_scratch` (dk × c).
        transpose(c, dk, self.keys, self.rows_scratch);
        gemm::<S>(
            c,
            c,
            dk,
            MatRef::rows(self.queries, dk),
            self.rows_scratch,
            c,
            self.scores,
            c,
        );
        for t in 0..c {
            for i in 0..c {
                let x = &mut self.scores[t * c + i];
                if i > t {
                    *x = 0.0;
                }
                self.scores_decayed[t * c + i] = if i <= t {
                    self.decay_powers[t - i] * *x
                } else {
                    0.0
                };
            }
        }
    }

    /// Mix[t,u] = γ^{t+1} q_tᵀ S0 q_u + Σ_{i≤u} γ^{t−i} A[t,i] A[u,i] for u ≤ t, else 0.
    /// The second term is `(A_D A_Lᵀ) ⊙ L`; the first is the carried key moment's read.
    #[inline(never)]
    pub fn second_order_mix<S: Simd>(&mut self, s0: &[f32]) {
        let (c, dk) = (self.c, self.dk);
        transpose(c, c, self.scores, self.square_scratch);
        gemm::<S>(
            c,
            c,
            c,
            MatRef::rows(self.scores_decayed, c),
            self.square_scratch,
            c,
            self.mix,
            c,
        );
        gemm::<S>(
            c,
            dk,
            dk,
            MatRef::rows(self.queries, dk),
            s0,
            dk,
            self.rows_scratch,
            dk,
        );
        gemm::<S>(
            c,
            c,
            dk,
            MatRef::rows(self.rows_scratch, dk),
            self.queries_t,
            c,
            self.square_scratch,
            c,
        );
        for t in 0..c {
            let w = self.decay_powers[t + 1];
            for u in 0..c {
                let x = &mut self.mix[t * c + u];
                *x = if u <= t {
                    *x + w * self.square_scratch[t * c + u]
                } else {
                    0.0
                };
            }
        }
    }

    /// Ridge: Mix[t,u] += λ γ^{t−u} (q_t·q_u) for u ≤ t.
    #[inline(never)]
    pub fn add_ridge_mix<S: Simd>(&mut self, ridge: f32) {
        let (c, dk) = (self.c, self.dk);
        gemm::<S>(
            c,
            c,
            dk,
            MatRef::rows(self.queries, dk),
            self.queries_t,
            c,
            self.square_scratch,
            c,
        );
        for t in 0..c {
            for u in 0..=t {
                self.mix[t * c + u] +=
                    ridge * self.decay_powers[t - u] * self.square_scratch[t * c + u];
            }
        }
    }

    /// `R1[u] = γ^{u+1} q_u·m0 + Σ_i A_D[u,i]`: R with every value replaced by 1.
    #[inline(never)]
    pub fn form_r1(&mut self, m0: &[f32]) {
        let (c, dk) = (self.c, self.dk);
        for u in 0..c {
            let carry: f32 = self.queries[u * dk..(u + 1) * dk]
                .iter()
                .zip(m0)
                .map(|(a, b)| a * b)
                .sum();
            let local: f32 = self.scores_decayed[u * c..(u + 1) * c].iter().sum();
            self.r1[u] = self.decay_powers[u + 1] * carry + local;
        }
    }

    pub(super) fn mixer(&self, m: Mixer) -> &[f32] {
        match m {
            Mixer::Decayed => self.scores_decayed,
            Mixer::Second => self.mix,
        }
    }

    fn weight(&self, w: Weights, u: usize) -> f32 {
        match w {
            Weights::Ones => 1.0,
            Weights::R1 => self.r1[u],
        }
    }

    pub(super) fn decayed_rows(&self, rows: Rows) -> &[f32] {
        match rows {
            Rows::Keys => self.keys_decayed,
            Rows::Queries => self.queries_decayed,
        }
    }

    /// `den[t] = Σ_u mixer[t,u] w[u] + γ^{t+1} q_t·carry` with w = 1 or R1.
    pub fn denominators(&mut self, m: Mixer, w: Weights, carry: &[f32]) {
        self.denominators_ridge(m, w, carry, &[], 0.0);
    }

    /// Like [`Self::denominators`] with the carry `a + λ b` (hla2's ridge: n0 + λ m0).
    #[inline(never)]
    pub fn denominators_ridge(&mut self, m: Mixer, w: Weights, a: &[f32], b: &[f32], ridge: f32) {
        let (c, dk) = (self.c, self.dk);
        for t in 0..c {
            let row = &self.mixer(m)[t * c..(t + 1) * c];
            let local: f32 = match w {
                Weights::R1 => row.iter().zip(&*self.r1).map(|(a, b)| a * b).sum(),
                Weights::Ones => row.iter().sum(),
            };
            let qt = &self.queries[t * dk..(t + 1) * dk];
            let mut read: f32 = qt.iter().zip(a).map(|(x, y)| x * y).sum();
            if !b.is_empty() {
                read += ridge * qt.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
            }
            self.den[t] = local + self.decay_powers[t + 1] * read;
        }
    }

    /// The second-order update of a vector moment (w = 1 or R1): n or η, as
    /// [`super::Values::second_order_update`] does for the matrices.
    #[inline(never)]
    pub fn second_order_vec_update(&mut self, x0: &mut [f32], s0: &[f32], w: Weights) {
        let (c, dk) = (self.c, self.dk);
        // query_weights = Qᵀ w ; vec_scratch = S0 query_weights
        self.query_weights.fill(0.0);
        for u in 0..c {
            let wu = self.weight(w, u);
            for i in 0..dk {
                self.query_weights[i] += self.queries[u * dk + i] * wu;
            }
        }
        for i in 0..dk {
            self.vec_scratch[i] = s0[i * dk..(i + 1) * dk]
                .iter()
                .zip(&*self.query_weights)
                .map(|(a, b)| a * b)
                .sum();
        }
        let rho = self.rho();
        for i in 0..dk {
            x0[i] = rho * (x0[i] + self.vec_scratch[i]);
        }
        // x0 += Kdᵀ (A_Lᵀ w)
        for i in 0..c {
            let g: f32 = (i..c)
                .map(|u| self.scores[u * c + i] * self.weight(w, u))
                .sum();
            for d in 0..dk {
                x0[d] += self.keys_decayed[i * dk + d] * g;
            }
        }
    }

    /// `x0 ← γ^c x0 + Σ_i γ^{c−1−i} w_i k_i` (or q_i), w = 1 or R1.
    #[inline(never)]
    pub fn decayed_vec_update(&mut self, x0: &mut [f32], w: Weights, rows: Rows) {
        let (c, dk) = (self.c, self.dk);
        let rho = self.rho();
        x0.iter_mut().for_each(|a| *a *= rho);
        let r = self.decayed_rows(rows);
        for i in 0..c {
            let wi = self.weight(w, i);
            for d in 0..dk {
                x0[d] += wi * r[i * dk + d];
            }
        }
    }

    /// `S0 ← γ^c S0 + Kdᵀ K`.
    #[inline(never)]
    pub fn key_moment_update<S: Simd>(&mut self, s0: &mut [f32]) {
        let (c, dk) = (self.c, self.dk);
        let rho = self.rho();
        s0.iter_mut().for_each(|a| *a *= rho);
        gemm_acc::<S>(
            dk,
            dk,
            c,
            MatRef::transposed(self.keys_decayed, dk),
            self.keys,
            dk,
            s0,
            dk,
        );
    }

    // --- State-only pieces for segment summaries (ops/segment.rs) ---

    /// γ^c: the decay of a carry across this chunk.
    pub fn rho(&self) -> f32 {
        self.decay_powers[self.c]
    }

    /// `Qᵀ w` (dk, undecayed) as left by the last [`Self::second_order_vec_update`], w = 1 or R1.
    pub fn raw_query_weights(&self) -> &[f32] {
        self.query_weights
    }

    /// `dst += Kᵀ Q` (dk×dk, undecayed): ahla's R^{KQ} = Σ k_u⊗q_u.
    #[inline(never)]
    pub fn key_query_moment_acc<S: Simd>(&mut self, dst: &mut [f32]) {
        let (c, dk) = (self.c, self.dk);
        gemm_acc::<S>(
            dk,
            dk,
            c,
            MatRef::transposed(self.keys, dk),
            self.queries,
            dk,
            dst,
            dk,
        );
    }

    /// hla3's query moments of this chunk, with the running key moment `s0` (before this
    /// chunk's update) and `w0` = γ^{t0}, t0 = tokens before the chunk in the segment:
    /// `sqg += w0 W`, `u += s0 W + Kᵀ (A_Dᵀ Q)` with `W = Σ_u γ^{u+1} q_u⊗q_u` (into `w`).
    /// Needs [`Self::form_scores`] (A_D).
    #[inline(never)]
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
            let g = self.decay_powers[t + 1];
            for i in 0..dk {
                self.rows_scratch[t * dk + i] = g * self.queries[t * dk + i];
            }
        }
        gemm::<S>(
            dk,
            dk,
            c,
            MatRef::transposed(self.queries, dk),
            self.rows_scratch,
            dk,
            w,
            dk,
        );
        for (a, b) in sqg.iter_mut().zip(&*w) {
            *a += w0 * b;
        }
        gemm_acc::<S>(dk, dk, dk, MatRef::rows(s0, dk), w, dk, u, dk);
        // Σ_u S^loc_u q_u⊗q_u = Σ_i k_i ⊗ (Σ_{u≥i} γ^{u−i} A[u,i] q_u) = Kᵀ (A_Dᵀ Q)
        gemm::<S>(
            c,
            dk,
            c,
            MatRef::transposed(self.scores_decayed, c),
            self.queries,
            dk,
            self.rows_scratch,
            dk,
        );
        gemm_acc::<S>(
            dk,
            dk,
            c,
            MatRef::transposed(self.keys, dk),
            self.rows_scratch,
            dk,
            u,
            dk,
        );
    }
}
