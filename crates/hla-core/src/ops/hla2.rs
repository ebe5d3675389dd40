//! Second-order HLA (§3): o_t = Σ_{j≤t} Σ_{i≤j} γ^{t−i} (q_t·k_i)(q_j·k_i) v_j.
//! Streaming: S ← γS + k⊗k;  M ← γM + (S q)⊗v;  o = qᵀM;  n ← γn + S q,  den = q·n.
//! Ridge λ (§5) reads S + λI: C ← γC + q⊗v, m ← γm + q, o += λ qᵀC, den += λ q·m.

use super::chunk::{Chunk, Mixer, Rows, Vals, Weights};
use super::operator::{Operator, ValueMoments};
use super::options::hla_family;
use super::options::{Options, Params};
use super::recurrent::{panel, run, write_block, Common, Recurrence, NT};
use super::segment::{add, for_chunks, Products};
use super::shape::{Dims, GroupDims, HeadIo};
use super::validate::Ridge;
use super::Op;
use crate::simd::Simd;
use crate::size::floats;
use crate::sweep::{split, update_read};
use crate::vector::decay_axpy_dot;
use crate::workspace::Workspace;

pub struct Hla2;

/// One group's state: `S[dk×dk], n[dk], (m[dk])`, then `g × (M[dk×dv], (C[dk×dv]))`
/// (`heads`, [`State::per_head`] floats each); () only with ridge (m is then empty).
pub struct State<'a> {
    pub s: &'a mut [f32],
    pub n: &'a mut [f32],
    pub m: &'a mut [f32],
    pub heads: &'a mut [f32],
    pub per_head: usize,
}

/// A summary's extra moments per group: `Σq[dk]`, then `g × C_B[dk×dv]`, C_B = Σ q⊗v.
struct Extra<'a> {
    qsum: &'a mut [f32],
    c_raw: &'a mut [f32],
}

fn extra<'a>(x: &'a mut [f32], dk: usize) -> Extra<'a> {
    let (qsum, c_raw) = x.split_at_mut(dk);
    Extra { qsum, c_raw }
}

impl Operator for Hla2 {
    const OP: Op = Op::Hla2;
    hla_family!(Ridge::Accepted);
    type State<'a> = State<'a>;

    fn split<'a>(st: &'a mut [f32], g: &GroupDims, p: &Params) -> State<'a> {
        let (dk, r) = (g.dk, p.ridge_moments.count());
        let (s, rest) = st.split_at_mut(dk * dk);
        let (n, rest) = rest.split_at_mut(dk);
        let (m, heads) = rest.split_at_mut(r * dk);
        let per_head = dk * g.dv * (1 + r);
        State {
            s,
            n,
            m,
            heads,
            per_head,
        }
    }
    fn group_len(d: &Dims, opts: &Options) -> Option<usize> {
        let r = opts.hla(Self::OP).map_or(0, |o| o.ridge_moments().count());
        let (dk, dv, g) = (d.dk, d.dv, d.group());
        floats(&[&[dk, dk], &[dk], &[r, dk], &[g, dk, dv], &[r, g, dk, dv]])
    }

    fn recurrent<S: Simd>(
        io: &HeadIo,
        p: &Params,
        st: &mut [f32],
        o: &mut [f32],
        ws: &mut Workspace,
    ) {
        let (dk, dv) = (io.dk, io.dv);
        let State { s, n, m, heads, .. } = Self::split(st, &io.group_dims(), p);
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

    fn chunk<S: Simd>(
        io: &HeadIo,
        p: &Params,
        st: &mut [f32],
        o: &mut [f32],
        ws: &mut Workspace,
        chunk_size: usize,
    ) {
        let dk = io.dk;
        let State {
            s: s0,
            n: n0,
            m: m0,
            heads,
            per_head,
        } = Self::split(st, &io.group_dims(), p);
        let Chunk { mut sc, mut va } = Chunk::new(ws, chunk_size.min(io.len).max(1), dk, io.dv);
        for t0 in (0..io.len).step_by(chunk_size) {
            sc.load::<S>(io, t0, chunk_size.min(io.len - t0), p);
            sc.second_order_mix::<S>(s0);
            if p.has_ridge() {
                sc.add_ridge_mix::<S>(p.ridge);
            }
            // den_t = Σ_u Mix[t,u] + γ^{t+1} q_t·(n0 + λ m0)
            sc.denominators_ridge(Mixer::Second, Weights::Ones, n0, m0, p.ridge);
            for (j, head) in heads.chunks_exact_mut(per_head).enumerate() {
                let (mm, cc) = head.split_at_mut(dk * io.dv);
                va.load_v(&sc, io, t0, j);
                if p.has_ridge() {
                    va.outputs_ridge::<S>(&sc, mm, cc, p.ridge);
                } else {
                    va.outputs::<S>(&sc, Mixer::Second, Vals::V, mm);
                }
                va.write_outputs(&sc, io, t0, j, o, p);
                va.second_order_update::<S>(&sc, mm, s0, Vals::V);
                if p.has_ridge() {
                    va.decayed_outer_update::<S>(&sc, cc, Vals::V, Rows::Queries);
                }
            }
            sc.second_order_vec_update(n0, s0, Weights::Ones);
            if p.has_ridge() {
                sc.decayed_vec_update(m0, Weights::Ones, Rows::Queries);
            }
            sc.key_moment_update::<S>(s0);
        }
    }

    const HAS_SUMMARY: bool = true;
    fn extra_len(d: &Dims, _: &Options) -> Option<usize> {
        floats(&[&[d.dk], &[d.group(), d.dk, d.dv]])
    }

    /// The chunk form's state update from zero, plus the raw Σ q and C_B = Σ q⊗v.
    fn summary<S: Simd>(
        io: &HeadIo,
        p: &Params,
        st: &mut [f32],
        ex: &mut [f32],
        ws: &mut Workspace,
        cs: usize,
    ) -> f32 {
        let (dk, dv) = (io.dk, io.dv);
        let State {
            s: s0,
            n: n0,
            m: m0,
            heads,
            per_head,
        } = Self::split(st, &io.group_dims(), p);
        let Extra { qsum, c_raw } = extra(ex, dk);
        for_chunks(io, ws, cs, |sc, va, t0| {
            sc.load_rows(io, t0, cs.min(io.len - t0), p);
            sc.form_scores::<S>();
            for (j, head) in heads.chunks_exact_mut(per_head).enumerate() {
                let (mm, cc) = head.split_at_mut(dk * dv);
                va.load_v(sc, io, t0, j);
                va.second_order_update::<S>(sc, mm, s0, Vals::V);
                add(
                    &mut c_raw[j * dk * dv..(j + 1) * dk * dv],
                    va.raw_query_vals(),
                );
                if p.has_ridge() {
                    va.decayed_outer_update::<S>(sc, cc, Vals::V, Rows::Queries);
                }
            }
            sc.second_order_vec_update(n0, s0, Weights::Ones);
            add(qsum, sc.raw_query_weights());
            if p.has_ridge() {
                sc.decayed_vec_update(m0, Weights::Ones, Rows::Queries);
            }
            sc.key_moment_update::<S>(s0);
        })
    }

    /// M += S_A C_B, n += S_A Σq.
    fn cross_terms<S: Simd>(
        d: &Dims,
        p: &Params,
        a: &mut [f32],
        ex: &[f32],
        cross: &mut [f32],
        _: &mut Workspace,
    ) {
        let (dk, dv, g) = (d.dk, d.dv, d.group_dims());
        let a = Self::split(a, &g, p);
        let x = Self::split(cross, &g, p);
        let (qsum, c_raw) = ex.split_at(dk);
        let mat = Products::<S>::new(dk);
        mat.product(a.s, qsum, 1, x.n);
        for (j, head) in x.heads.chunks_exact_mut(x.per_head).enumerate() {
            mat.product(
                a.s,
                &c_raw[j * dk * dv..(j + 1) * dk * dv],
                dv,
                &mut head[..dk * dv],
            );
        }
    }

    const DEFERS_VALUES: bool = true;
    /// Without normalisation every moment but S enters additively: n, m, and per value
    /// head M (read) and C (read with weight λ).
    fn value_moments(d: &Dims, opts: &Options) -> Option<ValueMoments> {
        let o = opts.hla(Self::OP).ok()?;
        if o.normalize {
            return None;
        }
        let (dk, r) = (d.dk, o.ridge_moments().count());
        Some(ValueMoments {
            start: dk * dk,
            heads: dk * dk + dk + r * dk,
            per_head: dk * d.dv * (1 + r),
            ridge: o.ridge,
        })
    }
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
        let has_ridge = p.has_ridge();
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
            if has_ridge {
                pq.set_a(gamma, t, x.q[t]);
                pq.set_q(gamma, t, x.q[t]);
                den += p.ridge * decay_axpy_dot::<S>(self.m, gamma, 1.0, x.q[t], x.q[t]);
            }
            den
        });
        let per_head = dk * dv * (1 + p.ridge_moments.count());
        for (j, head) in self.heads.chunks_exact_mut(per_head).enumerate() {
            let (mm, cc) = head.split_at_mut(dk * dv);
            let v: [&[f32]; B] = core::array::from_fn(|t| io.v_row(t0 + t, j));
            update_read::<S, B>(mm, rho, &ps, v, &mut x.num);
            if has_ridge {
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
