//! What the recurrent forms share: the walk over blocks of [`NT`] tokens, each block one sweep
//! per state matrix (crate::sweep), and the block's panels.

use super::{HeadIo, Params};
use crate::simd::Simd;
use crate::sweep::{block_len, Panel};

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
    Panel { buf: &mut buf[..2 * B * rows] }
}
