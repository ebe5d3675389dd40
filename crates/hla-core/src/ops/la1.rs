//! First-order linear attention: o_t = Σ_{j≤t} γ^{t−j} (q_t·k_j) v_j.
//! Streaming: P ← γP + k⊗v;  o = qᵀP;  z ← γz + k,  den = q·z.

use super::chunk::{Chunk, Mixer, Rows, Vals, Weights};
use super::operator::Operator;
use super::options::hla_family;
use super::options::{Options, Params};
use super::recurrent::{run, write_block, Common, Recurrence};
use super::segment::for_chunks;
use super::shape::{Dims, GroupDims, HeadIo};
use super::validate::Ridge;
use super::Op;
use crate::simd::Simd;
use crate::size::floats;
use crate::sweep::update_read;
use crate::vector::decay_axpy_dot;
use crate::workspace::Workspace;

pub struct La1;

/// One group's state: `z[dk]`, then `g × P[dk×dv]` (`heads`).
pub struct State<'a> {
    pub z: &'a mut [f32],
    pub heads: &'a mut [f32],
}

impl Operator for La1 {
    const OP: Op = Op::La1;
    hla_family!(Ridge::Refused);
    type State<'a> = State<'a>;

    fn split<'a>(st: &'a mut [f32], g: &GroupDims, _: &Params) -> State<'a> {
        let (z, heads) = st.split_at_mut(g.dk);
        State { z, heads }
    }
    fn group_len(d: &Dims, _: &Options) -> Option<usize> {
        floats(&[&[d.dk], &[d.group(), d.dk, d.dv]])
    }

    fn recurrent<S: Simd>(
        io: &HeadIo,
        p: &Params,
        st: &mut [f32],
        o: &mut [f32],
        ws: &mut Workspace,
    ) {
        let State { z, heads } = Self::split(st, &io.group_dims(), p);
        let [q, panel_k, num] = ws.parts(Common::sizes(io.dk, io.dv));
        let c = Common { q, panel_k, num };
        run::<S, _>(&mut Block { z, heads, c }, io, p, o);
    }

    /// Carry ⊕ chunk: o = A_D V + diag(γ^{t+1}) Q P0;  P ← γ^c P0 + Kdᵀ V.
    fn chunk<S: Simd>(
        io: &HeadIo,
        p: &Params,
        st: &mut [f32],
        o: &mut [f32],
        ws: &mut Workspace,
        chunk_size: usize,
    ) {
        let (dk, dv) = (io.dk, io.dv);
        let State { z, heads } = Self::split(st, &io.group_dims(), p);
        let Chunk { mut sc, mut va } = Chunk::new(ws, chunk_size.min(io.len).max(1), dk, dv);
        for t0 in (0..io.len).step_by(chunk_size) {
            sc.load::<S>(io, t0, chunk_size.min(io.len - t0), p);
            sc.denominators(Mixer::Decayed, Weights::Ones, z);
            for (j, pm) in heads.chunks_exact_mut(dk * dv).enumerate() {
                va.load_v(&sc, io, t0, j);
                va.outputs::<S>(&sc, Mixer::Decayed, Vals::V, pm);
                va.write_outputs(&sc, io, t0, j, o, p);
                va.decayed_outer_update::<S>(&sc, pm, Vals::V, Rows::Keys);
            }
            sc.decayed_vec_update(z, Weights::Ones, Rows::Keys);
        }
    }

    const HAS_SUMMARY: bool = true;

    /// z_B = Σ γ^{|B|−u} k_u, P_B = Σ γ^{|B|−u} k_u⊗v_u (only Kd rows, no scores); no extra
    /// moments and no cross terms: first order reads no earlier moment.
    fn summary<S: Simd>(
        io: &HeadIo,
        p: &Params,
        st: &mut [f32],
        _extra: &mut [f32],
        ws: &mut Workspace,
        cs: usize,
    ) -> f32 {
        let (dk, dv) = (io.dk, io.dv);
        let State { z, heads } = Self::split(st, &io.group_dims(), p);
        for_chunks(io, ws, cs, |sc, va, t0| {
            sc.load_rows(io, t0, cs.min(io.len - t0), p);
            for (j, pm) in heads.chunks_exact_mut(dk * dv).enumerate() {
                va.load_v(sc, io, t0, j);
                va.decayed_outer_update::<S>(sc, pm, Vals::V, Rows::Keys);
            }
            sc.decayed_vec_update(z, Weights::Ones, Rows::Keys);
        })
    }
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
