//! Third-order HLA (§7), strictly causal:
//! o_t = Σ_{u≤t} Σ_{i≤u} Σ_{j≤u} γ^{t−u} γ^{u−i} γ^{u−j} (q_t·k_i)(q_u·k_i)(q_u·k_j) v_j.
//! Streaming: S ← γS + k⊗k;  P ← γP + k⊗v;  F ← γF + (S q)⊗(qᵀP);  o = qᵀF.
//! Normalised: m ← γm + k;  η ← γη + (q·m) S q;  den = q·η.
//! (Not the paper's Eq. 7.5 / Algorithm 3, which keeps the wrong index triples: SPEC erratum 1.)

use super::chunk::{Chunk, Mixer, Vals};
use super::{write_output, HeadIo, Params};
use crate::simd::Simd;
use crate::vector::{decay_axpy_dot, rank1_update_matvec, rank1_update_read};
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
    let (dk, dv, gamma) = (io.dk, io.dv, p.gamma);
    let (s, m, eta, heads) = split_state(st, dk);
    let [q, sq, r, num] = ws.parts([dk, dk, dv, dv]);
    for t in 0..io.len {
        io.load_q(t, p.scale, q);
        let k = io.k_row(t);
        rank1_update_matvec::<S>(s, gamma, k, k, q, sq);
        let qm = decay_axpy_dot::<S>(m, gamma, 1.0, k, q);
        let den = decay_axpy_dot::<S>(eta, gamma, qm, sq, q);
        for (j, head) in heads.chunks_exact_mut(2 * dk * dv).enumerate() {
            let (pm, fm) = head.split_at_mut(dk * dv);
            rank1_update_read::<S>(pm, gamma, k, io.v_row(t, j), q, r);
            rank1_update_read::<S>(fm, gamma, sq, r, q, num);
            let off = io.v_offset(t, j);
            write_output(&mut o[off..off + dv], num, den, p);
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
