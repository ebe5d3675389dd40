//! Asymmetric second-order HLA (§6): o_t = Σ_{i≤t} Σ_{j≤i} γ^{t−j} (q_t·k_i)(q_i·k_j) v_j.
//! Streaming: P ← γP + k⊗v;  E ← γE + k⊗(qᵀP);  o = qᵀE.
//! Normalised: m ← γm + k;  n ← γn + (q·m) k;  den = q·n.

use super::chunk::{Chunk, Mixer, Vals};
use super::recurrent::{run, write_block, Common, Recurrence, NT};
use super::{HeadIo, Params};
use crate::simd::Simd;
use crate::sweep::{split, update_read};
use crate::vector::decay_axpy_dot;
use crate::workspace::Workspace;

fn split_state(st: &mut [f32], dk: usize) -> (&mut [f32], &mut [f32], &mut [f32]) {
    let (m, rest) = st.split_at_mut(dk);
    let (n, heads) = rest.split_at_mut(dk);
    (m, n, heads)
}

pub(crate) fn recurrent<S: Simd>(
    io: &HeadIo,
    p: &Params,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
) {
    let (m, n, heads) = split_state(st, io.dk);
    let [cq, ck, cn] = Common::sizes(io.dk, io.dv);
    let [q, panel_k, num, r] = ws.parts([cq, ck, cn, NT * io.dv]);
    let c = Common { q, panel_k, num };
    run::<S, _>(&mut Block { m, n, heads, c, r }, io, p, o);
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

/// Carry ⊕ chunk: R = diag(γ^{u+1}) Q P0 + A_D V;  o = A_D R + diag(γ^{t+1}) Q E0;
/// P ← γ^c P0 + Kdᵀ V;  E ← γ^c E0 + Kdᵀ R  (= ρ E0 + E_X + ρ (KᵀQ) P0).
pub(crate) fn chunk<S: Simd>(
    io: &HeadIo,
    p: &Params,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
    chunk_size: usize,
) {
    let (dk, dv) = (io.dk, io.dv);
    let (m, n, heads) = split_state(st, dk);
    let mut ch = Chunk::new(ws, chunk_size.min(io.len).max(1), dk, dv);
    for t0 in (0..io.len).step_by(chunk_size) {
        ch.load::<S>(io, t0, chunk_size.min(io.len - t0), p);
        ch.form_r1(m);
        ch.denominators(Mixer::Decayed, true, n);
        for (j, head) in heads.chunks_exact_mut(2 * dk * dv).enumerate() {
            let (pm, em) = head.split_at_mut(dk * dv);
            ch.load_v(io, t0, j);
            ch.form_r::<S>(pm);
            ch.outputs::<S>(Mixer::Decayed, Vals::R, em);
            ch.write_outputs(io, t0, j, o, p);
            ch.decayed_outer_update::<S>(pm, Vals::V, false);
            ch.decayed_outer_update::<S>(em, Vals::R, false);
        }
        ch.decayed_vec_update(n, true, false);
        ch.decayed_vec_update(m, false, false);
    }
}
