//! Third-order HLA (§7), strictly causal:
//! o_t = Σ_{u≤t} Σ_{i≤u} Σ_{j≤u} γ^{t−u} γ^{u−i} γ^{u−j} (q_t·k_i)(q_u·k_i)(q_u·k_j) v_j.
//! Streaming: S ← γS + k⊗k;  P ← γP + k⊗v;  F ← γF + (S q)⊗(qᵀP);  o = qᵀF.
//! Normalised: m ← γm + k;  η ← γη + (q·m) S q;  den = q·η.
//! (Not the paper's Eq. 7.5 / Algorithm 3, which keeps the wrong index triples: docs/math.md,
//! erratum 1.)

use super::chunk::{Chunk, Mixer, Rows, Vals, Weights};
use super::operator::Operator;
use super::options::hla_family;
use super::options::{Options, Params};
use super::recurrent::{panel, run, write_block, Common, Recurrence, NT};
use super::segment::{add, for_chunks, Products};
use super::shape::{Dims, GroupDims, HeadIo};
use super::validate::Ridge;
use super::Op;
use crate::simd::Simd;
use crate::size::floats;
use crate::sweep::{split, update_read};
use crate::vector::decay_axpy_dot;
use crate::workspace::Workspace;

pub struct Hla3;

/// One group's state: `S[dk×dk], m[dk], η[dk]`, then `g × (P[dk×dv], F[dk×dv])` (`heads`).
pub struct State<'a> {
    pub s: &'a mut [f32],
    pub m: &'a mut [f32],
    pub eta: &'a mut [f32],
    pub heads: &'a mut [f32],
}

/// A summary's extra moments per group (u the 1-based position in B):
/// `S^{Q,γ}_B[dk×dk]` = Σ γ^u q_u⊗q_u, `U_B[dk×dk]` = Σ S_{B,≤u} q_u⊗q_u,
/// `R1_B[dk]` = Σ q_u (q_u·m_{B,≤u}), then `g × R_B[dk×dv]`, R_B = Σ q_u⊗(q_uᵀ P_{B,≤u}).
struct Extra<'a> {
    sqg: &'a mut [f32],
    u: &'a mut [f32],
    r1: &'a mut [f32],
    rb: &'a mut [f32],
}

fn extra(x: &mut [f32], dk: usize) -> Extra<'_> {
    let (sqg, rest) = x.split_at_mut(dk * dk);
    let (u, rest) = rest.split_at_mut(dk * dk);
    let (r1, rb) = rest.split_at_mut(dk);
    Extra { sqg, u, r1, rb }
}

impl Operator for Hla3 {
    const OP: Op = Op::Hla3;
    hla_family!(Ridge::Refused);
    type State<'a> = State<'a>;

    fn split<'a>(st: &'a mut [f32], g: &GroupDims, _: &Params) -> State<'a> {
        let dk = g.dk;
        let (s, rest) = st.split_at_mut(dk * dk);
        let (m, rest) = rest.split_at_mut(dk);
        let (eta, heads) = rest.split_at_mut(dk);
        State { s, m, eta, heads }
    }
    fn group_len(d: &Dims, _: &Options) -> Option<usize> {
        floats(&[&[d.dk, d.dk], &[2, d.dk], &[2, d.group(), d.dk, d.dv]])
    }

    fn recurrent<S: Simd>(
        io: &HeadIo,
        p: &Params,
        st: &mut [f32],
        o: &mut [f32],
        ws: &mut Workspace,
    ) {
        let (dk, dv) = (io.dk, io.dv);
        let State { s, m, eta, heads } = Self::split(st, &io.group_dims(), p);
        let [cq, ck, cn] = Common::sizes(dk, dv);
        let [q, panel_k, num, sq, panel_s, r] =
            ws.parts([cq, ck, cn, NT * dk, 2 * NT * dk, NT * dv]);
        let c = Common { q, panel_k, num };
        let mut b = Block {
            s,
            m,
            eta,
            heads,
            c,
            sq,
            panel_s,
            r,
        };
        run::<S, _>(&mut b, io, p, o);
    }

    /// Carry ⊕ chunk: hla2's form with V replaced by R = diag(γ^{u+1}) Q P0 + A_D V:
    /// o = Mix R + diag(γ^{t+1}) Q F0;  F ← γ^c (F0 + S0 (Qᵀ R)) + Kdᵀ (A_Lᵀ R);  P ← γ^c P0 + Kdᵀ V.
    fn chunk<S: Simd>(
        io: &HeadIo,
        p: &Params,
        st: &mut [f32],
        o: &mut [f32],
        ws: &mut Workspace,
        chunk_size: usize,
    ) {
        let (dk, dv) = (io.dk, io.dv);
        let State {
            s: s0,
            m,
            eta,
            heads,
        } = Self::split(st, &io.group_dims(), p);
        let Chunk { mut sc, mut va } = Chunk::new(ws, chunk_size.min(io.len).max(1), dk, dv);
        for t0 in (0..io.len).step_by(chunk_size) {
            sc.load::<S>(io, t0, chunk_size.min(io.len - t0), p);
            sc.second_order_mix::<S>(s0);
            sc.form_r1(m);
            sc.denominators(Mixer::Second, Weights::R1, eta);
            for (j, head) in heads.chunks_exact_mut(2 * dk * dv).enumerate() {
                let (pm, fm) = head.split_at_mut(dk * dv);
                va.load_v(&sc, io, t0, j);
                va.form_r::<S>(&sc, pm);
                va.outputs::<S>(&sc, Mixer::Second, Vals::R, fm);
                va.write_outputs(&sc, io, t0, j, o, p);
                va.second_order_update::<S>(&sc, fm, s0, Vals::R);
                va.decayed_outer_update::<S>(&sc, pm, Vals::V, Rows::Keys);
            }
            sc.second_order_vec_update(eta, s0, Weights::R1);
            sc.decayed_vec_update(m, Weights::Ones, Rows::Keys);
            sc.key_moment_update::<S>(s0);
        }
    }

    const HAS_SUMMARY: bool = true;
    fn extra_len(d: &Dims, _: &Options) -> Option<usize> {
        floats(&[&[2, d.dk, d.dk], &[d.dk], &[d.group(), d.dk, d.dv]])
    }

    /// The chunk form's state update from zero, plus S^{Q,γ}_B, U_B, R1_B and R_B.
    fn summary<S: Simd>(
        io: &HeadIo,
        p: &Params,
        st: &mut [f32],
        ex: &mut [f32],
        ws: &mut Workspace,
        cs: usize,
    ) -> f32 {
        let (dk, dv) = (io.dk, io.dv);
        let State {
            s: s0,
            m,
            eta,
            heads,
        } = Self::split(st, &io.group_dims(), p);
        let Extra { sqg, u, r1, rb } = extra(ex, dk);
        let mut w = vec![0f32; dk * dk];
        let mut w0 = 1.0f32; // γ^{t0}
        for_chunks(io, ws, cs, |sc, va, t0| {
            sc.load_rows(io, t0, cs.min(io.len - t0), p);
            sc.form_scores::<S>();
            sc.form_r1(m);
            sc.query_moments_acc::<S>(s0, w0, sqg, u, &mut w);
            for (j, head) in heads.chunks_exact_mut(2 * dk * dv).enumerate() {
                let (pm, fm) = head.split_at_mut(dk * dv);
                va.load_v(sc, io, t0, j);
                va.form_r::<S>(sc, pm);
                va.second_order_update::<S>(sc, fm, s0, Vals::R);
                add(&mut rb[j * dk * dv..(j + 1) * dk * dv], va.raw_query_vals());
                va.decayed_outer_update::<S>(sc, pm, Vals::V, Rows::Keys);
            }
            sc.second_order_vec_update(eta, s0, Weights::R1);
            add(r1, sc.raw_query_weights());
            sc.decayed_vec_update(m, Weights::Ones, Rows::Keys);
            sc.key_moment_update::<S>(s0);
            w0 *= sc.rho();
        })
    }

    /// F += S_A (R_B + S^{Q,γ}_B P_A) + U_B P_A, η likewise with (R1_B, m_A).
    fn cross_terms<S: Simd>(
        d: &Dims,
        p: &Params,
        a: &mut [f32],
        ex: &[f32],
        cross: &mut [f32],
        ws: &mut Workspace,
    ) {
        let (dk, dv, g) = (d.dk, d.dv, d.group_dims());
        let a = Self::split(a, &g, p);
        let x = Self::split(cross, &g, p);
        let (sqg, rest) = ex.split_at(dk * dk);
        let (u, rest) = rest.split_at(dk * dk);
        let (r1, rb) = rest.split_at(dk);
        let mat = Products::<S>::new(dk);
        let [t1] = ws.parts([dk * dv.max(dk)]);
        // η: S_A (R1_B + S^{Q,γ}_B m_A) + U_B m_A
        let tv = &mut t1[..dk];
        mat.product(sqg, a.m, 1, tv);
        add(tv, r1);
        mat.product(a.s, tv, 1, x.eta);
        mat.product_acc(u, a.m, 1, x.eta);
        // F: S_A (R_B + S^{Q,γ}_B P_A) + U_B P_A
        let tm = &mut t1[..dk * dv];
        let per_head = 2 * dk * dv;
        for (j, (ah, xh)) in a
            .heads
            .chunks_exact(per_head)
            .zip(x.heads.chunks_exact_mut(per_head))
            .enumerate()
        {
            let pa = &ah[..dk * dv];
            let cf = &mut xh[dk * dv..];
            mat.product(sqg, pa, dv, tm);
            add(tm, &rb[j * dk * dv..(j + 1) * dk * dv]);
            mat.product(a.s, tm, dv, cf);
            mat.product_acc(u, pa, dv, cf);
        }
    }
}

/// The state of one group and the scratch of one token block.
struct Block<'a> {
    s: &'a mut [f32],
    m: &'a mut [f32],
    eta: &'a mut [f32],
    heads: &'a mut [f32],
    c: Common<'a>,
    /// S_t q_t; the panel of the F updates (S_t q_t)⊗·; r_t = q_tᵀ P_t.
    sq: &'a mut [f32],
    panel_s: &'a mut [f32],
    r: &'a mut [f32],
}

impl Recurrence for Block<'_> {
    /// One sweep of S (reads S_t q_t; S is symmetric); per value head one sweep of P (reads
    /// r_t = q_tᵀP_t), then one of F with the updates (S_t q_t)⊗r_t.
    fn block<S: Simd, const B: usize>(
        &mut self,
        io: &HeadIo,
        p: &Params,
        t0: usize,
        o: &mut [f32],
    ) {
        let (dk, dv, gamma) = (io.dk, io.dv, p.gamma);
        let mut x = self.c.load::<B>(io, p, t0);
        let mut sq = split::<B>(self.sq, dk);
        let mut r = split::<B>(self.r, dv);
        let mut ps = panel::<B>(self.panel_s, dk);
        let rho = gamma.powi(B as i32);
        update_read::<S, B>(self.s, rho, &x.pk, x.k, &mut sq);
        let den: [f32; B] = core::array::from_fn(|t| {
            ps.set_a(gamma, t, sq[t]);
            ps.set_q(gamma, t, x.q[t]);
            let qm = decay_axpy_dot::<S>(self.m, gamma, 1.0, x.k[t], x.q[t]);
            decay_axpy_dot::<S>(self.eta, gamma, qm, sq[t], x.q[t])
        });
        for (j, head) in self.heads.chunks_exact_mut(2 * dk * dv).enumerate() {
            let (pm, fm) = head.split_at_mut(dk * dv);
            let v: [&[f32]; B] = core::array::from_fn(|t| io.v_row(t0 + t, j));
            update_read::<S, B>(pm, rho, &x.pk, v, &mut r);
            update_read::<S, B>(fm, rho, &ps, r.each_ref().map(|x| &**x), &mut x.num);
            write_block(io, p, t0, j, &x.num, &den, o);
        }
    }
}
