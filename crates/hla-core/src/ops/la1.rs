//! First-order linear attention: o_t = Σ_{j≤t} γ^{t−j} (q_t·k_j) v_j.
//! Streaming: P ← γP + k⊗v;  o = qᵀP;  z ← γz + k,  den = q·z.

use super::chunk::{Chunk, Mixer, Vals};
use super::{write_output, HeadIo, Params};
use crate::simd::Simd;
use crate::vector::{decay_axpy_dot, rank1_update_read};
use crate::workspace::Workspace;

pub(crate) fn recurrent<S: Simd>(
    io: &HeadIo,
    p: &Params,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
) {
    let (dk, dv) = (io.dk, io.dv);
    let (z, heads) = st.split_at_mut(dk);
    let [q, num] = ws.parts([dk, dv]);
    for t in 0..io.len {
        io.load_q(t, p.scale, q);
        let k = io.k_row(t);
        let den = decay_axpy_dot::<S>(z, p.gamma, 1.0, k, q);
        for (j, pm) in heads.chunks_exact_mut(dk * dv).enumerate() {
            rank1_update_read::<S>(pm, p.gamma, k, io.v_row(t, j), q, num);
            let off = io.v_offset(t, j);
            write_output(&mut o[off..off + dv], num, den, p);
        }
    }
}

/// Carry ⊕ chunk: o = A_D V + diag(γ^{t+1}) Q P0;  P ← γ^c P0 + Kdᵀ V.
pub(crate) fn chunk<S: Simd>(
    io: &HeadIo,
    p: &Params,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
    chunk_size: usize,
) {
    let (dk, dv) = (io.dk, io.dv);
    let (z, heads) = st.split_at_mut(dk);
    let mut ch = Chunk::new(ws, chunk_size.min(io.len).max(1), dk, dv);
    for t0 in (0..io.len).step_by(chunk_size) {
        ch.load::<S>(io, t0, chunk_size.min(io.len - t0), p);
        ch.denominators(Mixer::Decayed, false, z);
        for (j, pm) in heads.chunks_exact_mut(dk * dv).enumerate() {
            ch.load_v(io, t0, j);
            ch.outputs::<S>(Mixer::Decayed, Vals::V, pm);
            ch.write_outputs(io, t0, j, o, p);
            ch.decayed_outer_update::<S>(pm, Vals::V, false);
        }
        ch.decayed_vec_update(z, false, false);
    }
}
