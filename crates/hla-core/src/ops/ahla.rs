//! Asymmetric second-order HLA (§6): o_t = Σ_{i≤t} Σ_{j≤i} γ^{t−j} (q_t·k_i)(q_i·k_j) v_j.
//! Streaming: P ← γP + k⊗v;  E ← γE + k⊗(qᵀP);  o = qᵀE.
//! Normalised: m ← γm + k;  n ← γn + (q·m) k;  den = q·n.

use super::chunk::{Chunk, Mixer, Vals};
use super::{write_output, HeadIo, Params};
use crate::simd::Simd;
use crate::vector::{decay_axpy_dot, rank1_update_read};
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
    let (dk, dv, gamma) = (io.dk, io.dv, p.gamma);
    let (m, n, heads) = split_state(st, dk);
    let [q, r, num] = ws.parts([dk, dv, dv]);
    for t in 0..io.len {
        io.load_q(t, p.scale, q);
        let k = io.k_row(t);
        let qm = decay_axpy_dot::<S>(m, gamma, 1.0, k, q);
        let den = decay_axpy_dot::<S>(n, gamma, qm, k, q);
        for (j, head) in heads.chunks_exact_mut(2 * dk * dv).enumerate() {
            let (pm, em) = head.split_at_mut(dk * dv);
            rank1_update_read::<S>(pm, gamma, k, io.v_row(t, j), q, r);
            rank1_update_read::<S>(em, gamma, k, r, q, num);
            let off = io.v_offset(t, j);
            write_output(&mut o[off..off + dv], num, den, p);
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
