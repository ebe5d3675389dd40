//! The one trait every operator implements (rten-vecmath style: one type per operator,
//! parameters as named fields). The driver (`driver.rs`), the segment split (`segment.rs`) and
//! the deferred schedule (`segment/deferred.rs`) are generic over it; `mod.rs` dispatches an
//! [`super::Op`] to its type once. Adding an operator = one module implementing this trait,
//! one line in the `operators!` list of ops/mod.rs, one entry in the TS operator table.

use super::options::Options;
use super::shape::{Dims, GroupDims, HeadIo, InputSpec};
use super::Op;
use crate::error::HlaError;
use crate::simd::Simd;
use crate::workspace::Workspace;

/// The value-side moments of a group state that the deferred schedule starts at zero and
/// settles later (docs/math.md, section f): `state[start..]` are all such moments; value
/// head `j`'s read matrix `X0` is `state[heads + j·per_head ..][..dk·dv]`, followed (when
/// `ridge` ≠ 0) by a second `dk·dv` block read with weight `ridge`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValueMoments {
    pub start: usize,
    pub heads: usize,
    pub per_head: usize,
    pub ridge: f32,
}

pub trait Operator {
    const OP: Op;
    /// The per-token inputs, in the order `forward` takes them (docs/spec.md).
    const INPUTS: &'static [InputSpec];
    /// What one query-key head's kernel runs with.
    type Params: Copy;
    /// The typed view of one group's state: its moments by name.
    type State<'a>;

    /// One group's state (`group_len` floats) as named moments.
    fn split<'a>(st: &'a mut [f32], g: &GroupDims, p: &Self::Params) -> Self::State<'a>;

    /// The operator's own checks of `opts` (its family's options; the generic ones —
    /// dims, input lengths, state length, sequences — are `validate.rs`'s).
    fn check_options(d: &Dims, opts: &Options) -> Result<(), HlaError>;
    /// `opts` as seen by query-key head `head` (an index). Called after `check_options`.
    fn params(opts: &Options, head: usize) -> Self::Params;
    /// Floats of state per (sequence, query-key head) group, with its `d.group()` value heads;
    /// `None` past one wasm32 buffer (computed with `crate::size::floats`).
    fn group_len(d: &Dims, opts: &Options) -> Option<usize>;
    /// The operator's checks of its inputs' values (gates in range), after their lengths
    /// are checked (the driver calls it before running); none by default.
    fn check_inputs(_d: &Dims, _inputs: &[&[f32]]) -> Result<(), HlaError> {
        Ok(())
    }
    /// Width of [`super::InputKind::Token`] inputs (none by default).
    fn token_width(_opts: &Options) -> usize {
        0
    }

    /// Token by token (blocked), one group: `st` in (initial) and out (final).
    fn recurrent<S: Simd>(
        io: &HeadIo,
        p: &Self::Params,
        st: &mut [f32],
        o: &mut [f32],
        ws: &mut Workspace,
    );
    /// Chunk-parallel with chunks of `chunk_size` ≥ 1 tokens; the same results.
    fn chunk<S: Simd>(
        io: &HeadIo,
        p: &Self::Params,
        st: &mut [f32],
        o: &mut [f32],
        ws: &mut Workspace,
        chunk_size: usize,
    );

    // --- The segment split (docs/math.md, section d). Operators without one keep the
    // defaults: `HAS_SUMMARY` false makes `segment_summary` and `combine` refuse them.

    const HAS_SUMMARY: bool = false;
    /// Floats of extra moments per group after ρ and the state in a segment summary; `None`
    /// past one wasm32 buffer.
    fn extra_len(_d: &Dims, _opts: &Options) -> Option<usize> {
        Some(0)
    }
    /// One group's summary from a zero state, no outputs: fills `st` (state layout) and
    /// `extra`; returns ρ_B, the decay of a carry across the segment.
    fn summary<S: Simd>(
        _io: &HeadIo,
        _p: &Self::Params,
        _st: &mut [f32],
        _extra: &mut [f32],
        _ws: &mut Workspace,
        _chunk_size: usize,
    ) -> f32 {
        unreachable!("segment_summary refuses operators without HAS_SUMMARY")
    }
    /// The cross terms of `carry ⊕ summary` for one group: `cross` (state layout, zeroed)
    /// gets the terms that read the carry `a` (before the update) through `extra`.
    fn cross_terms<S: Simd>(
        _d: &Dims,
        _p: &Self::Params,
        _a: &mut [f32],
        _extra: &[f32],
        _cross: &mut [f32],
        _ws: &mut Workspace,
    ) {
    }

    /// `carry ← carry ⊕ summary` for one group: `a` is the carry (state layout, in place),
    /// `summary` the group's summary (ρ, state from zero, extra moments), `scratch` `group_len`
    /// floats. The default is the HLA family's `ρ (a + cross) + b` with
    /// [`Self::cross_terms`]; operators whose carry maps through a matrix or a per-row decay
    /// (gla, deltaRule: docs/math.md, section g) replace it.
    fn combine_group<S: Simd>(
        d: &Dims,
        p: &Self::Params,
        a: &mut [f32],
        summary: &[f32],
        scratch: &mut [f32],
        ws: &mut Workspace,
    ) {
        let glen = a.len();
        let (rho, sb, extra) = (summary[0], &summary[1..1 + glen], &summary[1 + glen..]);
        scratch.fill(0.0);
        Self::cross_terms::<S>(d, p, a, extra, scratch, ws);
        for ((x, c), b) in a.iter_mut().zip(&*scratch).zip(sb) {
            *x = rho * (*x + c) + b;
        }
    }

    /// Whether the deferred schedule can apply (a constant, so the other operators compile no
    /// deferred code); [`Self::value_moments`] then says whether it does for given options.
    const DEFERS_VALUES: bool = false;
    /// The deferred schedule (docs/math.md, section f): where the value moments are, if this
    /// operator with these options has it. The key moment is then the `dk×dk` block at the
    /// start of the state (a [`super::key_summary`] fills it).
    fn value_moments(_d: &Dims, _opts: &Options) -> Option<ValueMoments> {
        None
    }
}
