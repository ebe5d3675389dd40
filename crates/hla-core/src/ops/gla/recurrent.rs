//! gla token by token, through crate::row_sweep: blocks of [`NT`] tokens share one pass over
//! each value head's state; a block whose gates are too strong for the block factorisation
//! (a read weight over row_sweep::MAX_GAIN) goes one token at a time, exactly the recurrence.

use super::super::gated::load_qk;
use super::super::options::GatedOptions;
use super::super::shape::HeadIo;
use super::GK;
use crate::exp::exp_slice;
use crate::row_sweep::{fits, row_stride, update_read_rows, RowPanel};
use crate::simd::Simd;
use crate::workspace::Workspace;

/// Tokens per sweep, as the other recurrences (ops::recurrent::NT).
const NT: usize = 2;

pub(crate) fn recurrent<S: Simd>(
    io: &HeadIo,
    opts: &GatedOptions,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
) {
    let dk = io.dk;
    let [q, k, alpha, panel] = ws.parts([NT * dk, NT * dk, NT * dk, row_stride(NT) * dk]);
    let mut b = Block { q, k, alpha, panel };
    let mut t0 = 0;
    while t0 < io.len {
        if t0 + NT <= io.len && b.load::<NT>(io, opts, t0) {
            b.sweep::<S, NT>(io, t0, st, o);
            t0 += NT;
        } else {
            b.load::<1>(io, opts, t0);
            b.sweep::<S, 1>(io, t0, st, o);
            t0 += 1;
        }
    }
}

/// Scratch of one block: scaled queries, keys, decays, the row panel.
struct Block<'w> {
    q: &'w mut [f32],
    k: &'w mut [f32],
    alpha: &'w mut [f32],
    panel: &'w mut [f32],
}

impl Block<'_> {
    /// Loads tokens `t0 .. t0 + B` and fills the panel; false (panel not filled) when the
    /// gates are too strong for a block of `B`.
    fn load<const B: usize>(&mut self, io: &HeadIo, opts: &GatedOptions, t0: usize) -> bool {
        let dk = io.dk;
        for t in 0..B {
            exp_slice(
                io.key_row(GK, t0 + t),
                &mut self.alpha[t * dk..(t + 1) * dk],
            );
        }
        let alpha: [&[f32]; B] = core::array::from_fn(|t| &self.alpha[t * dk..(t + 1) * dk]);
        if B > 1 && !fits::<B>(alpha) {
            return false;
        }
        for t in 0..B {
            load_qk(
                io,
                t0 + t,
                opts,
                &mut self.q[t * dk..(t + 1) * dk],
                &mut self.k[t * dk..(t + 1) * dk],
            );
        }
        let q: [&[f32]; B] = core::array::from_fn(|t| &self.q[t * dk..(t + 1) * dk]);
        let k: [&[f32]; B] = core::array::from_fn(|t| &self.k[t * dk..(t + 1) * dk]);
        let mut panel = RowPanel::<B> {
            buf: &mut self.panel[..row_stride(B) * dk],
        };
        panel.fill(alpha, k, q);
        true
    }

    /// One sweep per value head of the group over the loaded block; outputs written in place.
    fn sweep<S: Simd, const B: usize>(
        &mut self,
        io: &HeadIo,
        t0: usize,
        st: &mut [f32],
        o: &mut [f32],
    ) {
        let (dk, dv) = (io.dk, io.dv);
        let panel = RowPanel::<B> {
            buf: &mut self.panel[..row_stride(B) * dk],
        };
        for (j, s) in st.chunks_exact_mut(dk * dv).enumerate() {
            let v: [&[f32]; B] = core::array::from_fn(|t| io.v_row(t0 + t, j));
            let offs: [usize; B] = core::array::from_fn(|t| io.v_offset(t0 + t, j));
            let mut out = rows_mut::<B>(o, offs, dv);
            update_read_rows::<S, B>(s, &panel, v, &mut out);
        }
    }
}

/// The `len`-float rows of `o` at increasing offsets `offs`, as disjoint slices (the sweep
/// writes each token's outputs in place).
fn rows_mut<const B: usize>(o: &mut [f32], offs: [usize; B], len: usize) -> [&mut [f32]; B] {
    let mut rest = o;
    let mut at = 0;
    core::array::from_fn(|t| {
        let (_, tail) = core::mem::take(&mut rest).split_at_mut(offs[t] - at);
        let (row, tail) = tail.split_at_mut(len);
        rest = tail;
        at = offs[t] + len;
        row
    })
}
