//! Second-order HLA (§3): o_t = Σ_{j≤t} Σ_{i≤j} γ^{t−i} (q_t·k_i)(q_j·k_i) v_j.
//! Streaming: S ← γS + k⊗k;  M ← γM + (S q)⊗v;  o = qᵀM;  n ← γn + S q,  den = q·n.
//! Ridge λ (§5) reads S + λI: C ← γC + q⊗v, m ← γm + q, o += λ qᵀC, den += λ q·m.

use super::chunk::{Chunk, Mixer, Vals};
use super::{write_output, HeadIo, Params};
use crate::simd::Simd;
use crate::vector::{decay_axpy_dot, decay_axpy_read, rank1_update_matvec, rank1_update_read};
use crate::workspace::Workspace;

/// Splits a group's state into (S, n, m, value-head blocks); m is empty without ridge.
fn split_state(
    st: &mut [f32],
    dk: usize,
    has_ridge: bool,
) -> (&mut [f32], &mut [f32], &mut [f32], &mut [f32]) {
    let (s, rest) = st.split_at_mut(dk * dk);
    let (n, rest) = rest.split_at_mut(dk);
    let (m, heads) = rest.split_at_mut(if has_ridge { dk } else { 0 });
    (s, n, m, heads)
}

pub(crate) fn recurrent<S: Simd>(
    io: &HeadIo,
    p: &Params,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
) {
    let (dk, dv, gamma) = (io.dk, io.dv, p.gamma);
    let (s, n, m, heads) = split_state(st, dk, p.has_ridge);
    let per_head = dk * dv * (1 + p.has_ridge as usize);
    let [q, sq, num] = ws.parts([dk, dk, dv]);
    for t in 0..io.len {
        io.load_q(t, p.scale, q);
        let k = io.k_row(t);
        rank1_update_matvec::<S>(s, gamma, k, k, q, sq);
        let mut den = decay_axpy_dot::<S>(n, gamma, 1.0, sq, q);
        if p.has_ridge {
            den += p.ridge * decay_axpy_dot::<S>(m, gamma, 1.0, q, q);
        }
        for (j, head) in heads.chunks_exact_mut(per_head).enumerate() {
            let (mm, cc) = head.split_at_mut(dk * dv);
            let v = io.v_row(t, j);
            rank1_update_read::<S>(mm, gamma, sq, v, q, num);
            if p.has_ridge {
                for (i, row) in cc.chunks_exact_mut(dv).enumerate() {
                    decay_axpy_read::<S>(row, gamma, q[i], v, p.ridge * q[i], num);
                }
            }
            let off = io.v_offset(t, j);
            write_output(&mut o[off..off + dv], num, den, p);
        }
    }
}

pub(crate) fn chunk<S: Simd>(
    io: &HeadIo,
    p: &Params,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
    chunk_size: usize,
) {
    let dk = io.dk;
    let (s0, n0, m0, heads) = split_state(st, dk, p.has_ridge);
    let per_head = dk * io.dv * (1 + p.has_ridge as usize);
    let mut ch = Chunk::new(ws, chunk_size.min(io.len).max(1), dk, io.dv);
    for t0 in (0..io.len).step_by(chunk_size) {
        ch.load::<S>(io, t0, chunk_size.min(io.len - t0), p);
        ch.second_order_mix::<S>(s0);
        if p.has_ridge {
            ch.add_ridge_mix::<S>(p.ridge);
        }
        // den_t = Σ_u Mix[t,u] + γ^{t+1} q_t·(n0 + λ m0)
        ch.denominators2(Mixer::Second, false, n0, m0, p.ridge);
        for (j, head) in heads.chunks_exact_mut(per_head).enumerate() {
            let (mm, cc) = head.split_at_mut(dk * io.dv);
            ch.load_v(io, t0, j);
            if p.has_ridge {
                ch.outputs_ridge::<S>(mm, cc, p.ridge);
            } else {
                ch.outputs::<S>(Mixer::Second, Vals::V, mm);
            }
            ch.write_outputs(io, t0, j, o, p);
            ch.second_order_update::<S>(mm, s0, Vals::V);
            if p.has_ridge {
                ch.decayed_outer_update::<S>(cc, Vals::V, true);
            }
        }
        ch.second_order_vec_update(n0, s0, false);
        if p.has_ridge {
            ch.decayed_vec_update(m0, false, true);
        }
        ch.key_moment_update::<S>(s0);
    }
}
