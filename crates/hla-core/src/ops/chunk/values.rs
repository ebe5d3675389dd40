//! What one value head adds to a chunk: its values V, the reads R (rows q_uᵀ P_u), the
//! outputs' numerators, and the updates of its matrix moments; each step reads the chunk's
//! shared [`Scores`].

use super::{Mixer, Rows, Scores, Vals};
use crate::gemm::{gemm, gemm_acc, MatRef};
use crate::ops::options::{write_output, Params};
use crate::ops::shape::HeadIo;
use crate::simd::Simd;
use crate::size::{floats, total};
use crate::workspace::carve;

/// Where a carried read `diag(γ^{t+1}) Q X0` is added.
#[derive(Clone, Copy)]
enum ReadInto {
    R,
    Numerators,
}

/// V or R.
fn pick<'a>(values: &'a [f32], reads: &'a [f32], x: Vals) -> &'a [f32] {
    match x {
        Vals::V => values,
        Vals::R => reads,
    }
}

pub(crate) struct Values<'w> {
    dk: usize,
    dv: usize,
    /// c×dv: V, R, the numerators, and staging (Q X0, A_Lᵀ X).
    values: &'w mut [f32],
    reads: &'w mut [f32],
    numerators: &'w mut [f32],
    rows_scratch: &'w mut [f32],
    /// dk×dv: `Qᵀ X` of the last second-order update (also hla2's ridge carry X0 + λ Y0), and
    /// its S0 product.
    query_vals: &'w mut [f32],
    moment_scratch: &'w mut [f32],
}

impl<'w> Values<'w> {
    /// The buffers' sizes (in field order), checked; `None` past one wasm32 buffer.
    fn sizes(c_max: usize, dk: usize, dv: usize) -> Option<[usize; 6]> {
        let (cv, kv) = (floats(&[&[c_max, dv]])?, floats(&[&[dk, dv]])?);
        Some([cv, cv, cv, cv, kv, kv])
    }

    pub fn len(c_max: usize, dk: usize, dv: usize) -> Option<usize> {
        total(&Self::sizes(c_max, dk, dv)?)
    }

    pub fn new(buf: &'w mut [f32], c_max: usize, dk: usize, dv: usize) -> Self {
        let [values, reads, numerators, rows_scratch, query_vals, moment_scratch] = carve(
            buf,
            Self::sizes(c_max, dk, dv).expect("chunk workspace validated"),
        );
        Values {
            dk,
            dv,
            values,
            reads,
            numerators,
            rows_scratch,
            query_vals,
            moment_scratch,
        }
    }

    /// Value head `j`'s rows of the chunk.
    pub fn load_v(&mut self, sc: &Scores, io: &HeadIo, t0: usize, j: usize) {
        let dv = self.dv;
        for t in 0..sc.c {
            self.values[t * dv..(t + 1) * dv].copy_from_slice(io.v_row(t0 + t, j));
        }
    }

    /// `R = diag(γ^{u+1}) Q P0 + A_D V`: row u is q_uᵀ P_u with the carried P0.
    #[inline(never)]
    pub fn form_r<S: Simd>(&mut self, sc: &Scores, p0: &[f32]) {
        let (c, dv) = (sc.c, self.dv);
        gemm::<S>(
            c,
            dv,
            c,
            MatRef::rows(sc.scores_decayed, c),
            self.values,
            dv,
            self.reads,
            dv,
        );
        self.add_carry_read::<S>(sc, p0, ReadInto::R);
    }

    /// `dst[t] += γ^{t+1} (Q X0)[t]` for dst = R or the outputs' numerators.
    #[inline(never)]
    fn add_carry_read<S: Simd>(&mut self, sc: &Scores, x0: &[f32], into: ReadInto) {
        let (c, dk, dv) = (sc.c, self.dk, self.dv);
        gemm::<S>(
            c,
            dv,
            dk,
            MatRef::rows(sc.queries, dk),
            x0,
            dv,
            self.rows_scratch,
            dv,
        );
        let d: &mut [f32] = match into {
            ReadInto::R => self.reads,
            ReadInto::Numerators => self.numerators,
        };
        for t in 0..c {
            let w = sc.decay_powers[t + 1];
            for (x, y) in d[t * dv..(t + 1) * dv]
                .iter_mut()
                .zip(&self.rows_scratch[t * dv..(t + 1) * dv])
            {
                *x += w * y;
            }
        }
    }

    /// `num = mixer · vals + diag(γ^{t+1}) Q X0`.
    #[inline(never)]
    pub fn outputs<S: Simd>(&mut self, sc: &Scores, m: Mixer, x: Vals, x0: &[f32]) {
        let (c, dv) = (sc.c, self.dv);
        let vals = pick(self.values, self.reads, x);
        gemm::<S>(
            c,
            dv,
            c,
            MatRef::rows(sc.mixer(m), c),
            vals,
            dv,
            self.numerators,
            dv,
        );
        self.add_carry_read::<S>(sc, x0, ReadInto::Numerators);
    }

    /// Like [`Self::outputs`] (second order, of V) with the carried read `X0 + λ Y0` (hla2's
    /// ridge: M0 + λ C0).
    #[inline(never)]
    pub fn outputs_ridge<S: Simd>(&mut self, sc: &Scores, x0: &[f32], y0: &[f32], ridge: f32) {
        for ((d, a), b) in self.query_vals.iter_mut().zip(x0).zip(y0) {
            *d = a + ridge * b;
        }
        let carried = core::mem::take(&mut self.query_vals);
        self.outputs::<S>(sc, Mixer::Second, Vals::V, carried);
        self.query_vals = carried;
    }

    /// `o` rows of value head `j`: `num_t / floor(den_t)` (or `num_t`).
    #[inline(never)]
    pub fn write_outputs(
        &self,
        sc: &Scores,
        io: &HeadIo,
        t0: usize,
        j: usize,
        o: &mut [f32],
        p: &Params,
    ) {
        let dv = self.dv;
        for t in 0..sc.c {
            let off = io.v_offset(t0 + t, j);
            write_output(
                &mut o[off..off + dv],
                &self.numerators[t * dv..(t + 1) * dv],
                sc.den[t],
                p,
            );
        }
    }

    /// Second-order carry update with X = V or R:
    /// `X0 ← γ^c (X0 + S0 (Qᵀ X)) + Kdᵀ (A_Lᵀ X)`  (docs/spec.md: M_AB = ρ_B M_A + M_B + ρ_B S_A C_B).
    #[inline(never)]
    pub fn second_order_update<S: Simd>(
        &mut self,
        sc: &Scores,
        x0: &mut [f32],
        s0: &[f32],
        x: Vals,
    ) {
        let (c, dk, dv) = (sc.c, self.dk, self.dv);
        let vals = pick(self.values, self.reads, x);
        gemm::<S>(
            dk,
            dv,
            c,
            MatRef::transposed(sc.queries, dk),
            vals,
            dv,
            self.query_vals,
            dv,
        );
        gemm::<S>(
            dk,
            dv,
            dk,
            MatRef::rows(s0, dk),
            self.query_vals,
            dv,
            self.moment_scratch,
            dv,
        );
        let rho = sc.rho();
        for (a, b) in x0.iter_mut().zip(&*self.moment_scratch) {
            *a = rho * (*a + b);
        }
        gemm::<S>(
            c,
            dv,
            c,
            MatRef::transposed(sc.scores, c),
            vals,
            dv,
            self.rows_scratch,
            dv,
        );
        gemm_acc::<S>(
            dk,
            dv,
            c,
            MatRef::transposed(sc.keys_decayed, dk),
            self.rows_scratch,
            dv,
            x0,
            dv,
        );
    }

    /// `X0 ← γ^c X0 + Kdᵀ X` (keys) or `+ Qdᵀ X` (queries, the ridge's C).
    #[inline(never)]
    pub fn decayed_outer_update<S: Simd>(
        &mut self,
        sc: &Scores,
        x0: &mut [f32],
        x: Vals,
        rows: Rows,
    ) {
        let (c, dk, dv) = (sc.c, self.dk, self.dv);
        let rho = sc.rho();
        x0.iter_mut().for_each(|a| *a *= rho);
        let vals = pick(self.values, self.reads, x);
        gemm_acc::<S>(
            dk,
            dv,
            c,
            MatRef::transposed(sc.decayed_rows(rows), dk),
            vals,
            dv,
            x0,
            dv,
        );
    }

    /// `Qᵀ X` (dk×dv, undecayed) as left by the last [`Self::second_order_update`]: the raw
    /// cross-term moment C_B = Σ q_u⊗v_u (hla2) or R_B = Σ q_u⊗(q_uᵀ P_u) (hla3) of this chunk.
    pub fn raw_query_vals(&self) -> &[f32] {
        self.query_vals
    }
}
