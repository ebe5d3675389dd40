//! First-order linear attention: o_t = Σ_{j≤t} γ^{t−j} (q_t·k_j) v_j.
//! Streaming: P ← γP + k⊗v;  o = qᵀP;  z ← γz + k,  den = q·z.

use super::chunk::{Chunk, Mixer, Vals};
use super::recurrent::{run, write_block, Common, Recurrence};
use super::{HeadIo, Params};
use crate::simd::Simd;
use crate::sweep::update_read;
use crate::vector::decay_axpy_dot;
use crate::workspace::Workspace;

pub(crate) fn recurrent<S: Simd>(
    io: &HeadIo,
    p: &Params,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
) {
    let (z, heads) = st.split_at_mut(io.dk);
    let [q, panel_k, num] = ws.parts(Common::sizes(io.dk, io.dv));
    let c = Common { q, panel_k, num };
    run::<S, _>(&mut Block { z, heads, c }, io, p, o);
}

/// The state of one group and the scratch of one token block.
struct Block<'a> {
    z: &'a mut [f32],
    heads: &'a mut [f32],
    c: Common<'a>,
}

impl Recurrence for Block<'_> {
    /// One sweep of each value head's P for the whole block.
    fn block<S: Simd, const B: usize>(
        &mut self,
        io: &HeadIo,
        p: &Params,
        t0: usize,
        o: &mut [f32],
    ) {
        let gamma = p.gamma;
        let mut x = self.c.load::<B>(io, p, t0);
        let den: [f32; B] =
            core::array::from_fn(|t| decay_axpy_dot::<S>(self.z, gamma, 1.0, x.k[t], x.q[t]));
        let rho = gamma.powi(B as i32);
        for (j, pm) in self.heads.chunks_exact_mut(io.dk * io.dv).enumerate() {
            let v: [&[f32]; B] = core::array::from_fn(|t| io.v_row(t0 + t, j));
            update_read::<S, B>(pm, rho, &x.pk, v, &mut x.num);
            write_block(io, p, t0, j, &x.num, &den, o);
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
