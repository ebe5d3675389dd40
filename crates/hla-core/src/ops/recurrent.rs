//! What the recurrent forms share: the walk over blocks of [`NT`] tokens, each block one sweep
//! per state matrix (crate::sweep), and the block's panels.

use super::options::{write_output, Params};
use super::shape::HeadIo;
use crate::simd::Simd;
use crate::sweep::{block_len, split, Panel};

/// Tokens per sweep. 2 keeps 2×2 column vectors of `b` and 2×2 accumulators in registers
/// (crate::sweep::BL); measured on wasm relaxed (hla2, dk=dv=64): NT=2 1.25×, NT=3 1.09–1.25×,
/// NT=4 1.09–1.13× the token-by-token sweep.
pub(crate) const NT: usize = 2;

/// One operator's recurrence over a block of `B` tokens starting at `t0`.
pub(crate) trait Recurrence {
    fn block<S: Simd, const B: usize>(&mut self, io: &HeadIo, p: &Params, t0: usize, o: &mut [f32]);
}

/// All tokens of `io`: blocks of [`NT`], the remainder (and tiny γ) one token at a time.
pub(crate) fn run<S: Simd, R: Recurrence>(r: &mut R, io: &HeadIo, p: &Params, o: &mut [f32]) {
    let nt = block_len::<NT>(p.gamma);
    let mut t0 = 0;
    while t0 < io.len {
        if nt == NT && t0 + NT <= io.len {
            r.block::<S, NT>(io, p, t0, o);
            t0 += NT;
        } else {
            r.block::<S, 1>(io, p, t0, o);
            t0 += 1;
        }
    }
}

/// A panel of `B` tokens over `rows` rows, from scratch of `2·NT·rows` floats.
pub(crate) fn panel<const B: usize>(buf: &mut [f32], rows: usize) -> Panel<'_, B> {
    Panel {
        buf: &mut buf[..2 * B * rows],
    }
}

/// Scratch every recurrence uses: the block's queries (scale·q_t), the key panel (updates
/// k_t⊗·, reads q_t) and the numerators of the outputs.
pub(crate) struct Common<'a> {
    pub q: &'a mut [f32],
    pub panel_k: &'a mut [f32],
    pub num: &'a mut [f32],
}

/// [`Common`] for one block of `B` tokens: rows of `q`, `k` and `num`, and the key panel.
pub(crate) struct Tokens<'s, 'io, const B: usize> {
    pub q: [&'s mut [f32]; B],
    pub k: [&'io [f32]; B],
    pub pk: Panel<'s, B>,
    pub num: [&'s mut [f32]; B],
}

impl Common<'_> {
    /// Floats of scratch: `q`, `panel_k`, `num`, in that order.
    pub fn sizes(dk: usize, dv: usize) -> [usize; 3] {
        [NT * dk, 2 * NT * dk, NT * dv]
    }

    /// Loads tokens `t0 .. t0 + B`: the scaled queries and the key panel.
    pub fn load<'s, 'io, const B: usize>(
        &'s mut self,
        io: &HeadIo<'io>,
        p: &Params,
        t0: usize,
    ) -> Tokens<'s, 'io, B> {
        let (dk, dv) = (io.dk, io.dv);
        let q = split::<B>(self.q, dk);
        let mut pk = panel::<B>(self.panel_k, dk);
        let k: [&'io [f32]; B] = core::array::from_fn(|t| io.k_row(t0 + t));
        for t in 0..B {
            io.load_q(t0 + t, p.scale, q[t]);
            pk.set_a(p.gamma, t, k[t]);
            pk.set_q(p.gamma, t, q[t]);
        }
        let num = split::<B>(self.num, dv);
        Tokens { q, k, pk, num }
    }
}

/// Writes the outputs of value head `j` for the block: `num_t / floor(den_t)` (or `num_t`).
pub(crate) fn write_block<const B: usize>(
    io: &HeadIo,
    p: &Params,
    t0: usize,
    j: usize,
    num: &[&mut [f32]; B],
    den: &[f32; B],
    o: &mut [f32],
) {
    for t in 0..B {
        let off = io.v_offset(t0 + t, j);
        write_output(&mut o[off..off + io.dv], num[t], den[t], p);
    }
}
