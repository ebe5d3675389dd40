//! Asymmetric second-order HLA (§6): o_t = Σ_{i≤t} Σ_{j≤i} γ^{t−j} (q_t·k_i)(q_i·k_j) v_j.
//! Streaming: P ← γP + k⊗v;  E ← γE + k⊗(qᵀP);  o = qᵀE.
//! Normalised: m ← γm + k;  n ← γn + (q·m) k;  den = q·n.

use super::chunk::{Chunk, Mixer, Vals};
use super::{write_output, HeadIo, Params};
use crate::simd::Simd;
use super::recurrent::{panel, run, Recurrence, NT};
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
    let (dk, dv) = (io.dk, io.dv);
    let (m, n, heads) = split_state(st, dk);
    let [q, panel, r, num] = ws.parts([NT * dk, 2 * NT * dk, NT * dv, NT * dv]);
    run::<S, _>(&mut Block { m, n, heads, q, panel, r, num }, io, p, o);
}

/// The state of one group and the scratch of one token block.
struct Block<'a> {
    m: &'a mut [f32],
    n: &'a mut [f32],
    heads: &'a mut [f32],
    q: &'a mut [f32],
    panel: &'a mut [f32],
    r: &'a mut [f32],
    num: &'a mut [f32],
}

impl Recurrence for Block<'_> {
    /// Per value head: one sweep of P (reads r_t = q_tᵀP_t), then one of E with the r_t.
    fn block<S: Simd, const B: usize>(&mut self, io: &HeadIo, p: &Params, t0: usize, o: &mut [f32]) {
        let (dk, dv, gamma) = (io.dk, io.dv, p.gamma);
        let q = split::<B>(self.q, dk);
        let mut r = split::<B>(self.r, dv);
        let mut num = split::<B>(self.num, dv);
        let mut pk = panel::<B>(self.panel, dk);
        let mut den = [0f32; B];
        for t in 0..B {
            io.load_q(t0 + t, p.scale, q[t]);
            let k = io.k_row(t0 + t);
            pk.set_a(gamma, t, k);
            pk.set_q(gamma, t, q[t]);
            let qm = decay_axpy_dot::<S>(self.m, gamma, 1.0, k, q[t]);
            den[t] = decay_axpy_dot::<S>(self.n, gamma, qm, k, q[t]);
        }
        let rho = gamma.powi(B as i32);
        for (j, head) in self.heads.chunks_exact_mut(2 * dk * dv).enumerate() {
            let (pm, em) = head.split_at_mut(dk * dv);
            let v: [&[f32]; B] = core::array::from_fn(|t| io.v_row(t0 + t, j));
            update_read::<S, B>(pm, rho, &pk, v, &mut r);
            update_read::<S, B>(em, rho, &pk, r.each_ref().map(|x| &**x), &mut num);
            for t in 0..B {
                let off = io.v_offset(t0 + t, j);
                write_output(&mut o[off..off + dv], num[t], den[t], p);
            }
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
