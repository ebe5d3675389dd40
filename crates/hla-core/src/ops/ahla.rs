//! Asymmetric second-order HLA (§6): o_t = Σ_{i≤t} Σ_{j≤i} γ^{t−j} (q_t·k_i)(q_i·k_j) v_j.
//! Streaming: P ← γP + k⊗v;  E ← γE + k⊗(qᵀP);  o = qᵀE.
//! Normalised: m ← γm + k;  n ← γn + (q·m) k;  den = q·n.

use super::chunk::{Chunk, Mixer, Rows, Vals, Weights};
use super::operator::Operator;
use super::options::hla_family;
use super::options::{Options, Params};
use super::recurrent::{run, write_block, Common, Recurrence, NT};
use super::segment::{for_chunks, Products};
use super::shape::{Dims, GroupDims, HeadIo};
use super::validate::Ridge;
use super::Op;
use crate::simd::Simd;
use crate::size::floats;
use crate::sweep::{split, update_read};
use crate::vector::decay_axpy_dot;
use crate::workspace::Workspace;

pub struct Ahla;

/// One group's state: `m[dk], n[dk]`, then `g × (P[dk×dv], E[dk×dv])` (`heads`).
pub struct State<'a> {
    pub m: &'a mut [f32],
    pub n: &'a mut [f32],
    pub heads: &'a mut [f32],
}

impl Operator for Ahla {
    const OP: Op = Op::Ahla;
    hla_family!(Ridge::Refused);
    type State<'a> = State<'a>;

    fn split<'a>(st: &'a mut [f32], g: &GroupDims, _: &Params) -> State<'a> {
        let (m, rest) = st.split_at_mut(g.dk);
        let (n, heads) = rest.split_at_mut(g.dk);
        State { m, n, heads }
    }
    fn group_len(d: &Dims, _: &Options) -> Option<usize> {
        floats(&[&[2, d.dk], &[2, d.group(), d.dk, d.dv]])
    }

    fn recurrent<S: Simd>(
        io: &HeadIo,
        p: &Params,
        st: &mut [f32],
        o: &mut [f32],
        ws: &mut Workspace,
    ) {
        let State { m, n, heads } = Self::split(st, &io.group_dims(), p);
        let [cq, ck, cn] = Common::sizes(io.dk, io.dv);
        let [q, panel_k, num, r] = ws.parts([cq, ck, cn, NT * io.dv]);
        let c = Common { q, panel_k, num };
        run::<S, _>(&mut Block { m, n, heads, c, r }, io, p, o);
    }

    /// Carry ⊕ chunk: R = diag(γ^{u+1}) Q P0 + A_D V;  o = A_D R + diag(γ^{t+1}) Q E0;
    /// P ← γ^c P0 + Kdᵀ V;  E ← γ^c E0 + Kdᵀ R  (= ρ E0 + E_X + ρ (KᵀQ) P0).
    fn chunk<S: Simd>(
        io: &HeadIo,
        p: &Params,
        st: &mut [f32],
        o: &mut [f32],
        ws: &mut Workspace,
        chunk_size: usize,
    ) {
        let (dk, dv) = (io.dk, io.dv);
        let State { m, n, heads } = Self::split(st, &io.group_dims(), p);
        let Chunk { mut sc, mut va } = Chunk::new(ws, chunk_size.min(io.len).max(1), dk, dv);
        for t0 in (0..io.len).step_by(chunk_size) {
            sc.load::<S>(io, t0, chunk_size.min(io.len - t0), p);
            sc.form_r1(m);
            sc.denominators(Mixer::Decayed, Weights::R1, n);
            for (j, head) in heads.chunks_exact_mut(2 * dk * dv).enumerate() {
                let (pm, em) = head.split_at_mut(dk * dv);
                va.load_v(&sc, io, t0, j);
                va.form_r::<S>(&sc, pm);
                va.outputs::<S>(&sc, Mixer::Decayed, Vals::R, em);
                va.write_outputs(&sc, io, t0, j, o, p);
                va.decayed_outer_update::<S>(&sc, pm, Vals::V, Rows::Keys);
                va.decayed_outer_update::<S>(&sc, em, Vals::R, Rows::Keys);
            }
            sc.decayed_vec_update(n, Weights::R1, Rows::Keys);
            sc.decayed_vec_update(m, Weights::Ones, Rows::Keys);
        }
    }

    /// `R^{KQ}_B[dk×dk]` = Σ k⊗q (undecayed).
    const HAS_SUMMARY: bool = true;
    fn extra_len(d: &Dims, _: &Options) -> Option<usize> {
        floats(&[&[d.dk, d.dk]])
    }

    /// The chunk form's state update from zero, plus the raw R^{KQ}_B = Σ k⊗q.
    fn summary<S: Simd>(
        io: &HeadIo,
        p: &Params,
        st: &mut [f32],
        extra: &mut [f32],
        ws: &mut Workspace,
        cs: usize,
    ) -> f32 {
        let (dk, dv) = (io.dk, io.dv);
        let State { m, n, heads } = Self::split(st, &io.group_dims(), p);
        for_chunks(io, ws, cs, |sc, va, t0| {
            sc.load_rows(io, t0, cs.min(io.len - t0), p);
            sc.form_scores::<S>();
            sc.form_r1(m);
            for (j, head) in heads.chunks_exact_mut(2 * dk * dv).enumerate() {
                let (pm, em) = head.split_at_mut(dk * dv);
                va.load_v(sc, io, t0, j);
                va.form_r::<S>(sc, pm);
                va.decayed_outer_update::<S>(sc, pm, Vals::V, Rows::Keys);
                va.decayed_outer_update::<S>(sc, em, Vals::R, Rows::Keys);
            }
            sc.decayed_vec_update(n, Weights::R1, Rows::Keys);
            sc.decayed_vec_update(m, Weights::Ones, Rows::Keys);
            sc.key_query_moment_acc::<S>(extra);
        })
    }

    /// E += R^{KQ}_B P_A, n += R^{KQ}_B m_A.
    fn cross_terms<S: Simd>(
        d: &Dims,
        p: &Params,
        a: &mut [f32],
        extra: &[f32],
        cross: &mut [f32],
        _: &mut Workspace,
    ) {
        let (dk, dv, g) = (d.dk, d.dv, d.group_dims());
        let a = Self::split(a, &g, p);
        let x = Self::split(cross, &g, p);
        let rkq = &extra[..dk * dk];
        let mat = Products::<S>::new(dk);
        mat.product(rkq, a.m, 1, x.n);
        let per_head = 2 * dk * dv;
        for (ah, xh) in a
            .heads
            .chunks_exact(per_head)
            .zip(x.heads.chunks_exact_mut(per_head))
        {
            mat.product(rkq, &ah[..dk * dv], dv, &mut xh[dk * dv..]);
        }
    }
}

/// The state of one group and the scratch of one token block.
struct Block<'a> {
    m: &'a mut [f32],
    n: &'a mut [f32],
    heads: &'a mut [f32],
    c: Common<'a>,
    /// r_t = q_tᵀ P_t.
    r: &'a mut [f32],
}

impl Recurrence for Block<'_> {
    /// Per value head: one sweep of P (reads r_t = q_tᵀP_t), then one of E with the r_t.
    fn block<S: Simd, const B: usize>(
        &mut self,
        io: &HeadIo,
        p: &Params,
        t0: usize,
        o: &mut [f32],
    ) {
        let (dk, dv, gamma) = (io.dk, io.dv, p.gamma);
        let mut x = self.c.load::<B>(io, p, t0);
        let mut r = split::<B>(self.r, dv);
        let den: [f32; B] = core::array::from_fn(|t| {
            let qm = decay_axpy_dot::<S>(self.m, gamma, 1.0, x.k[t], x.q[t]);
            decay_axpy_dot::<S>(self.n, gamma, qm, x.k[t], x.q[t])
        });
        let rho = gamma.powi(B as i32);
        for (j, head) in self.heads.chunks_exact_mut(2 * dk * dv).enumerate() {
            let (pm, em) = head.split_at_mut(dk * dv);
            let v: [&[f32]; B] = core::array::from_fn(|t| io.v_row(t0 + t, j));
            update_read::<S, B>(pm, rho, &x.pk, v, &mut r);
            update_read::<S, B>(em, rho, &x.pk, r.each_ref().map(|x| &**x), &mut x.num);
            write_block(io, p, t0, j, &x.num, &den, o);
        }
    }
}
