//! The driver: walks the sequences (the batch, or `cu_seqlens`) and the query-key heads of
//! one call and runs an [`Operator`]'s recurrent or chunk form on each group's state.

use super::operator::Operator;
use super::options::Options;
use super::shape::{Dims, HeadIo};
use super::{validate, Mode};
use crate::error::HlaError;
use crate::simd::Simd;
use crate::workspace::Workspace;

/// Runs `O` over all sequences and heads. `state` holds the initial state on entry (zeros
/// for none) and the final state on return, laid out `[n_seq, h, group_len]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward<S: Simd, O: Operator>(
    mode: Mode,
    d: &Dims,
    opts: &Options,
    inputs: &[&[f32]],
    o: &mut [f32],
    state: &mut [f32],
    cu_seqlens: Option<&[i32]>,
    ws: &mut Workspace,
) -> Result<(), HlaError> {
    let lens = validate::Lengths::of(inputs)?;
    let n_seq =
        validate::forward::<O>(mode, d, opts, lens.get(), o.len(), state.len(), cu_seqlens)?;
    // Values (gates in range) after shapes, before anything is written.
    O::check_inputs(d, inputs)?;
    let glen = O::group_len(d, opts).expect("validated state size");
    for s in 0..n_seq {
        let (row0, len) = match cu_seqlens {
            None => (s * d.t, d.t),
            Some(cu) => (cu[s] as usize, (cu[s + 1] - cu[s]) as usize),
        };
        for head in 0..d.h {
            let io = HeadIo::new(d, inputs, row0, len, head);
            let p = O::params(opts, head);
            let g = s * d.h + head;
            run_form::<S, O>(mode, &io, &p, &mut state[g * glen..(g + 1) * glen], o, ws);
        }
    }
    Ok(())
}

/// Runs `O`'s recurrent or chunk form (as `mode` says) on one head's rows and state: the
/// driver's step, and sse's on each partition's run of tokens.
pub(crate) fn run_form<S: Simd, O: Operator>(
    mode: Mode,
    io: &HeadIo,
    p: &O::Params,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
) {
    match mode {
        Mode::Recurrent => O::recurrent::<S>(io, p, st, o, ws),
        Mode::Chunk(c) => O::chunk::<S>(io, p, st, o, ws, c),
    }
}

/// The typed entry points of an operator with its own options struct (sse, rla): `forward`
/// and `forward_with`, which wrap `$opts` into [`Options`] (`$options`, naming the options
/// `$o`) for [`super::forward_with`] as operator `$op`. `$doc` says which inputs, in what order.
macro_rules! typed_forward {
    ($opts:ty, $doc:literal, |$o:ident| $op:expr, $options:expr) => {
        #[doc = $doc]
        #[doc = "`state` holds the initial state on entry (zeros for none) and the final state \
                 on return."]
        #[allow(clippy::too_many_arguments)]
        pub fn forward(
            mode: $crate::ops::Mode,
            d: &$crate::ops::shape::Dims,
            $o: &$opts,
            inputs: &[&[f32]],
            o: &mut [f32],
            state: &mut [f32],
            cu_seqlens: Option<&[i32]>,
            ws: &mut $crate::workspace::Workspace,
        ) -> Result<(), $crate::error::HlaError> {
            forward_with::<$crate::simd::Isa>(mode, d, $o, inputs, o, state, cu_seqlens, ws)
        }

        /// [`forward`] with an explicit instruction set (tests compare them).
        #[allow(clippy::too_many_arguments)]
        pub fn forward_with<S: $crate::simd::Simd>(
            mode: $crate::ops::Mode,
            d: &$crate::ops::shape::Dims,
            $o: &$opts,
            inputs: &[&[f32]],
            o: &mut [f32],
            state: &mut [f32],
            cu_seqlens: Option<&[i32]>,
            ws: &mut $crate::workspace::Workspace,
        ) -> Result<(), $crate::error::HlaError> {
            $crate::ops::forward_with::<S>(
                $op, mode, d, &$options, inputs, o, state, cu_seqlens, ws,
            )
        }
    };
}
pub(crate) use typed_forward;
