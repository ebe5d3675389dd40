//! Second-order HLA (§3): o_t = Σ_{j≤t} Σ_{i≤j} γ^{t−i} (q_t·k_i)(q_j·k_i) v_j.
//! Streaming: S ← γS + k⊗k;  M ← γM + (S q)⊗v;  o = qᵀM;  n ← γn + S q,  den = q·n.
//! Ridge λ (§5) reads S + λI: C ← γC + q⊗v, m ← γm + q, o += λ qᵀC, den += λ q·m.

use super::chunk::{Chunk, Mixer, Vals};
use super::recurrent::{panel, run, write_block, Common, Recurrence, NT};
use super::{HeadIo, Params};
use crate::simd::Simd;
use crate::sweep::{split, update_read};
use crate::vector::decay_axpy_dot;
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
    let (dk, dv) = (io.dk, io.dv);
    let (s, n, m, heads) = split_state(st, dk, p.has_ridge);
    let [cq, ck, cn] = Common::sizes(dk, dv);
    let [q, panel_k, num, sq, panel_s, panel_q, cnum] =
        ws.parts([cq, ck, cn, NT * dk, 2 * NT * dk, 2 * NT * dk, NT * dv]);
    let c = Common { q, panel_k, num };
    let mut b = Block {
        s,
        n,
        m,
        heads,
        c,
        sq,
        panel_s,
        panel_q,
        cnum,
    };
    run::<S, _>(&mut b, io, p, o);
}

/// The state of one group and the scratch of one token block.
struct Block<'a> {
    s: &'a mut [f32],
    n: &'a mut [f32],
    m: &'a mut [f32],
    heads: &'a mut [f32],
    c: Common<'a>,
    /// S_t q_t; the panels of the M updates (S_t q_t)⊗· and the ridge's q_t⊗·; qᵀC.
    sq: &'a mut [f32],
    panel_s: &'a mut [f32],
    panel_q: &'a mut [f32],
    cnum: &'a mut [f32],
}

impl Recurrence for Block<'_> {
    /// One sweep of S (update, read S_t q_t; S is symmetric), the vectors token by token, then
    /// one sweep of each value head's M (and C).
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
        let mut cnum = split::<B>(self.cnum, dv);
        let mut ps = panel::<B>(self.panel_s, dk);
        let mut pq = panel::<B>(self.panel_q, dk);
        let rho = gamma.powi(B as i32);
        update_read::<S, B>(self.s, rho, &x.pk, x.k, &mut sq);
        let den: [f32; B] = core::array::from_fn(|t| {
            ps.set_a(gamma, t, sq[t]);
            ps.set_q(gamma, t, x.q[t]);
            let mut den = decay_axpy_dot::<S>(self.n, gamma, 1.0, sq[t], x.q[t]);
            if p.has_ridge {
                pq.set_a(gamma, t, x.q[t]);
                pq.set_q(gamma, t, x.q[t]);
                den += p.ridge * decay_axpy_dot::<S>(self.m, gamma, 1.0, x.q[t], x.q[t]);
            }
            den
        });
        let per_head = dk * dv * (1 + p.has_ridge as usize);
        for (j, head) in self.heads.chunks_exact_mut(per_head).enumerate() {
            let (mm, cc) = head.split_at_mut(dk * dv);
            let v: [&[f32]; B] = core::array::from_fn(|t| io.v_row(t0 + t, j));
            update_read::<S, B>(mm, rho, &ps, v, &mut x.num);
            if p.has_ridge {
                // Ridge: C ← γC + q⊗v, o += λ qᵀC.
                update_read::<S, B>(cc, rho, &pq, v, &mut cnum);
                for (num, c) in x.num.iter_mut().zip(&cnum) {
                    for (x, c) in num.iter_mut().zip(c.iter()) {
                        *x += p.ridge * c;
                    }
                }
            }
            write_block(io, p, t0, j, &x.num, &den, o);
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
