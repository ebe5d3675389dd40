//! The operator family, FLA style: one module per operator (`la1`, `hla2`, `ahla`, `hla3`, `gla`,
//! `delta_rule`, `sse`, `rla`), each one type implementing [`Operator`] (its state view,
//! recurrent and chunk forms, segment summary and cross terms). What they share: shapes
//! (`shape`), options (`options`), the validator (`validate`), the driver (`driver`), the chunk
//! and recurrent machinery, and the segment split's generic drivers (`segment`). This file
//! names the operators, once, in the `operators!` list, which also writes the one `match`
//! that dispatches an [`Op`] to its type.

pub mod ahla;
mod chunk;
pub mod delta_rule;
mod driver;
pub mod gated;
pub mod gla;
pub mod hla2;
pub mod hla3;
pub mod la1;
mod operator;
pub mod options;
mod recurrent;
pub mod rla;
mod segment;
pub mod shape;
pub mod sse;
pub mod validate;

pub use operator::{Operator, ValueMoments};
pub use options::{GatedOptions, HlaOptions, Options, Params, RidgeMoments};
pub use shape::{Dims, GroupDims, InputKind, InputSpec, Presence};

use crate::error::HlaError;
use crate::simd::{Isa, Simd};
use crate::size::{chunk_len, floats, MAX_CHUNK};
use crate::workspace::Workspace;

/// Declares [`Op`], [`Op::ALL`], [`Op::name`] and the [`dispatch!`] macro from one list of
/// `Variant = OperatorType, "jsName";` lines: the one place that names the operators. A new
/// operator is its module plus one line here. (`$d` is a literal `$`, passed in so that this
/// macro can write the metavariables of the macro it defines.)
macro_rules! operators {
    ($d:tt $($(#[$doc:meta])* $V:ident = $T:ty, $name:literal;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Op {
            $($(#[$doc])* $V,)*
        }

        /// Runs `$body` with `$O` the [`Operator`] type of `$op`: the one place that switches
        /// on the operator.
        macro_rules! dispatch {
            ($d op:expr, $d O:ident => $d body:expr) => {
                match $d op {
                    $(Op::$V => {
                        type $d O = $T;
                        $d body
                    })*
                }
            };
        }

        impl Op {
            /// Every operator; the bindings' code of an operator is its index here.
            pub const ALL: [Op; [$(Op::$V),*].len()] = [$(Op::$V),*];
            /// The JS name (and the TS operator table's key).
            pub fn name(self) -> &'static str {
                match self {
                    $(Op::$V => $name,)*
                }
            }
        }
    };
}

operators! { $
    La1 = la1::La1, "la1";
    Hla2 = hla2::Hla2, "hla2";
    Ahla = ahla::Ahla, "ahla";
    Hla3 = hla3::Hla3, "hla3";
    Gla = gla::Gla, "gla";
    DeltaRule = delta_rule::DeltaRule, "deltaRule";
    /// sse over gla (JS: `sse` with `base: 'gla'`).
    SseGla = sse::Sse<gla::Gla>, "sseGla";
    /// sse over deltaRule (JS: `sse` with `base: 'deltaRule'`).
    SseDeltaRule = sse::Sse<delta_rule::DeltaRule>, "sseDeltaRule";
    Rla = rla::Rla, "rla";
}

impl Op {
    /// The HLA family (the operators of [`Options::Hla`]).
    pub const HLA: [Op; 4] = [Op::La1, Op::Hla2, Op::Ahla, Op::Hla3];
    /// The gated family (the operators of [`Options::Gated`]).
    pub const GATED: [Op; 2] = [Op::Gla, Op::DeltaRule];
    pub fn from_name(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == s)
    }
    /// The bindings' encoding: the index in [`Op::ALL`].
    pub fn from_code(c: u32) -> Option<Op> {
        Op::ALL.get(c as usize).copied()
    }
    /// The per-token inputs, in the order [`forward`] takes them.
    pub fn inputs(self) -> &'static [InputSpec] {
        dispatch!(self, O => O::INPUTS)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Recurrent,
    /// Chunk-parallel scan with this chunk length (≥ 1). Chunks are never longer than the
    /// sequence nor than [`MAX_CHUNK`] (crate::size): a longer one runs chunks of that length.
    Chunk(usize),
}

impl Mode {
    /// The bindings' encoding: 0 = recurrent, c ≥ 1 = chunks of c tokens.
    pub fn from_chunk_size(c: usize) -> Mode {
        if c == 0 {
            Mode::Recurrent
        } else {
            Mode::Chunk(c)
        }
    }

    /// The chunk length capped at [`MAX_CHUNK`], what the kernels run.
    pub fn capped(self) -> Mode {
        match self {
            Mode::Chunk(c) => Mode::Chunk(c.min(MAX_CHUNK)),
            m => m,
        }
    }
}

/// Width of `op`'s [`InputKind::Token`] inputs with `opts` (sse's router: N), 0 for none.
pub fn token_width(op: Op, opts: &Options) -> usize {
    dispatch!(op, O => O::token_width(opts))
}

/// Floats of state per (sequence, query-key head) group, which also holds the moments of its
/// `d.group()` value heads (each operator module documents its layout). `None` when it would
/// not fit one wasm32 buffer ([`crate::size::MAX_FLOATS`]).
pub fn group_len(op: Op, d: &Dims, opts: &Options) -> Option<usize> {
    dispatch!(op, O => O::group_len(d, opts))
}

/// State floats for `n_seq` sequences (the batch, or the sequences of `cu_seqlens`); `None`
/// when the state would not fit one wasm32 buffer ([`crate::size::MAX_FLOATS`]).
pub fn state_len(op: Op, n_seq: usize, d: &Dims, opts: &Options) -> Option<usize> {
    floats(&[&[n_seq, d.h, group_len(op, d, opts)?]])
}

/// An upper bound of the scratch floats any kernel takes for `mode` over `d` (one head at a
/// time): the chunk forms' scores and values buffers, or the recurrences' token panels.
/// `None` past [`crate::size::MAX_FLOATS`].
pub fn workspace_len(mode: Mode, d: &Dims) -> Option<usize> {
    let (dk, dv) = (d.dk, d.dv);
    match mode {
        Mode::Recurrent => floats(&[&[8 * recurrent::NT, dk], &[2 * recurrent::NT, dv]]),
        Mode::Chunk(c) => chunk::workspace_len(chunk_len(c, d.t), dk, dv),
    }
}

/// Checks every argument of [`forward`] (`input_lens`, `o_len`, `state_len`: the lengths of
/// the inputs, `o` and `state`); returns the number of sequences (states).
#[allow(clippy::too_many_arguments)]
pub fn validate(
    op: Op,
    mode: Mode,
    d: &Dims,
    opts: &Options,
    input_lens: &[usize],
    o_len: usize,
    state_len: usize,
    cu_seqlens: Option<&[i32]>,
) -> Result<usize, HlaError> {
    dispatch!(op, O => validate::forward::<O>(mode, d, opts, input_lens, o_len, state_len, cu_seqlens))
}

/// Runs `op` over all sequences and heads: `inputs` in `op.inputs()` order (q, k, v for the
/// HLA family). `state` holds the initial state on entry (zeros for none) and the final state
/// on return, laid out `[n_seq, h, group_len]`.
#[allow(clippy::too_many_arguments)]
pub fn forward(
    op: Op,
    mode: Mode,
    d: &Dims,
    opts: &Options,
    inputs: &[&[f32]],
    o: &mut [f32],
    state: &mut [f32],
    cu_seqlens: Option<&[i32]>,
    ws: &mut Workspace,
) -> Result<(), HlaError> {
    forward_with::<Isa>(op, mode, d, opts, inputs, o, state, cu_seqlens, ws)
}

/// [`forward`] with an explicit instruction set (tests compare them).
#[allow(clippy::too_many_arguments)]
pub fn forward_with<S: Simd>(
    op: Op,
    mode: Mode,
    d: &Dims,
    opts: &Options,
    inputs: &[&[f32]],
    o: &mut [f32],
    state: &mut [f32],
    cu_seqlens: Option<&[i32]>,
    ws: &mut Workspace,
) -> Result<(), HlaError> {
    let mode = mode.capped();
    dispatch!(op, O => driver::forward::<S, O>(mode, d, opts, inputs, o, state, cu_seqlens, ws))
}

/// Floats of the summary of one segment of one sequence (`d.h` query-key heads); `None` for
/// an operator without a segment summary or past one wasm32 buffer.
pub fn summary_len(op: Op, d: &Dims, opts: &Options) -> Option<usize> {
    dispatch!(op, O => segment::lens::<O>(d, opts).ok().map(|l| l[3]))
}

/// The summary of the segment `inputs` (`d.b == 1`, `d.t` tokens, all heads) from a zero
/// state, computed chunk by chunk (`chunk_size` ≥ 1) without forming any output.
pub fn segment_summary(
    op: Op,
    d: &Dims,
    opts: &Options,
    inputs: &[&[f32]],
    chunk_size: usize,
    ws: &mut Workspace,
) -> Result<Vec<f32>, HlaError> {
    segment_summary_with::<Isa>(op, d, opts, inputs, chunk_size, ws)
}

/// [`segment_summary`] with an explicit instruction set.
pub fn segment_summary_with<S: Simd>(
    op: Op,
    d: &Dims,
    opts: &Options,
    inputs: &[&[f32]],
    chunk_size: usize,
    ws: &mut Workspace,
) -> Result<Vec<f32>, HlaError> {
    dispatch!(op, O => segment::summary::<S, O>(d, opts, inputs, chunk_size, ws))
}

/// `carry ← carry ⊕ summary(B)` for one sequence (`d.b == 1`; `d.t` is not used), in place on
/// the state layout (docs/math.md, section d).
pub fn combine(
    op: Op,
    d: &Dims,
    opts: &Options,
    carry: &mut [f32],
    summary: &[f32],
) -> Result<(), HlaError> {
    combine_with::<Isa>(op, d, opts, carry, summary)
}

/// [`combine`] with an explicit instruction set.
pub fn combine_with<S: Simd>(
    op: Op,
    d: &Dims,
    opts: &Options,
    carry: &mut [f32],
    summary: &[f32],
) -> Result<(), HlaError> {
    dispatch!(op, O => segment::combine::<S, O>(d, opts, carry, summary))
}

/// Whether [`key_summary`], [`defer_values`] and [`settle_values`] apply (hla2 without
/// normalize: docs/math.md, section f).
pub fn defers_values(op: Op, d: &Dims, opts: &Options) -> bool {
    dispatch!(op, O => segment::deferred::defers_values::<O>(d, opts))
}

/// A summary of the keys `k` (`[1, t, h, dk]`) alone: ρ and S_B, every other moment zero.
pub fn key_summary(
    op: Op,
    d: &Dims,
    opts: &Options,
    k: &[f32],
    chunk_size: usize,
    ws: &mut Workspace,
) -> Result<Vec<f32>, HlaError> {
    dispatch!(op, O => segment::deferred::key_summary::<Isa, O>(d, opts, k, chunk_size, ws))
}

/// Zeroes the value moments of `state` (one sequence): the carry a deferred segment starts from.
pub fn defer_values(op: Op, d: &Dims, opts: &Options, state: &mut [f32]) -> Result<(), HlaError> {
    dispatch!(op, O => segment::deferred::defer_values::<O>(d, opts, state))
}

/// Settles a deferred segment with its true carry: `o` (empty: state only) and `state`.
#[allow(clippy::too_many_arguments)]
pub fn settle_values(
    op: Op,
    d: &Dims,
    opts: &Options,
    q: &[f32],
    o: &mut [f32],
    carry: &[f32],
    state: &mut [f32],
) -> Result<(), HlaError> {
    settle_values_with::<Isa>(op, d, opts, q, o, carry, state)
}

/// [`settle_values`] with an explicit instruction set.
#[allow(clippy::too_many_arguments)]
pub fn settle_values_with<S: Simd>(
    op: Op,
    d: &Dims,
    opts: &Options,
    q: &[f32],
    o: &mut [f32],
    carry: &[f32],
    state: &mut [f32],
) -> Result<(), HlaError> {
    dispatch!(op, O => segment::deferred::settle_values::<S, O>(d, opts, q, o, carry, state))
}
