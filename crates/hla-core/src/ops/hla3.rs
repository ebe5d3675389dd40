//! Third-order HLA (§7), strictly causal:
//! o_t = Σ_{u≤t} Σ_{i≤u} Σ_{j≤u} γ^{t−u} γ^{u−i} γ^{u−j} (q_t·k_i)(q_u·k_i)(q_u·k_j) v_j.
//! Streaming: S ← γS + k⊗k;  P ← γP + k⊗v;  F ← γF + (S q)⊗(qᵀP);  o = qᵀF.
//! Normalised: m ← γm + k;  η ← γη + (q·m) S q;  den = q·η.
//! (Not the paper's Eq. 7.5 / Algorithm 3, which keeps the wrong index triples: SPEC erratum 1.)

use super::chunk::{Chunk, Mixer, Vals};
use super::recurrent::{panel, run, write_block, Common, Recurrence, NT};
use super::{HeadIo, Params};
use crate::simd::Simd;
use crate::sweep::{split, update_read};
use crate::vector::decay_axpy_dot;
use crate::workspace::Workspace;

fn split_state(st: &mut [f32], dk: usize) -> (&mut [f32], &mut [f32], &mut [f32], &mut [f32]) {
    let (s, rest) = st.split_at_mut(dk * dk);
    let (m, rest) = rest.split_at_mut(dk);
    let (eta, heads) = rest.split_at_mut(dk);
    (s, m, eta, heads)
}

pub(crate) fn recurrent<S: Simd>(
    io: &HeadIo,
    p: &Params,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
) {
    let (dk, dv) = (io.dk, io.dv);
    let (s, m, eta, heads) = split_state(st, dk);
    let [cq, ck, cn] = Common::sizes(dk, dv);
    let [q, panel_k, num, sq, panel_s, r] = ws.parts([cq, ck, cn, NT * dk, 2 * NT * dk, NT * dv]);
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

/// Carry ⊕ chunk: hla2's form with V replaced by R = diag(γ^{u+1}) Q P0 + A_D V:
/// o = Mix R + diag(γ^{t+1}) Q F0;  F ← γ^c (F0 + S0 (Qᵀ R)) + Kdᵀ (A_Lᵀ R);  P ← γ^c P0 + Kdᵀ V.
pub(crate) fn chunk<S: Simd>(
    io: &HeadIo,
    p: &Params,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
    chunk_size: usize,
) {
    let (dk, dv) = (io.dk, io.dv);
    let (s0, m, eta, heads) = split_state(st, dk);
    let mut ch = Chunk::new(ws, chunk_size.min(io.len).max(1), dk, dv);
    for t0 in (0..io.len).step_by(chunk_size) {
        ch.load::<S>(io, t0, chunk_size.min(io.len - t0), p);
        ch.second_order_mix::<S>(s0);
        ch.form_r1(m);
        ch.denominators(Mixer::Second, true, eta);
        for (j, head) in heads.chunks_exact_mut(2 * dk * dv).enumerate() {
            let (pm, fm) = head.split_at_mut(dk * dv);
            ch.load_v(io, t0, j);
            ch.form_r::<S>(pm);
            ch.outputs::<S>(Mixer::Second, Vals::R, fm);
            ch.write_outputs(io, t0, j, o, p);
            ch.second_order_update::<S>(fm, s0, Vals::R);
            ch.decayed_outer_update::<S>(pm, Vals::V, false);
        }
        ch.second_order_vec_update(eta, s0, true);
        ch.decayed_vec_update(m, false, false);
        ch.key_moment_update::<S>(s0);
    }
}
