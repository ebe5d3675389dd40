//! Segment split of one long sequence (docs/math.md, sections d and f): the summary of a
//! segment B computed from a zero state, state only (no outputs), in chunk (matmul) form, and
//! the combine `carry ← carry ⊕ summary(B)` on the normal state layout. With them a sequence
//! can be cut into segments that run on different workers: summaries in parallel, an
//! exclusive scan of carries, then every segment's forward from its carry. The second
//! schedule, deferred value moments (hla2 without normalisation), is in `segment/deferred.rs`.
//!
//! Generic drivers: each operator's summary, extra moments and cross terms are in its module
//! ([`Operator::summary`], [`Operator::extra_len`], [`Operator::cross_terms`]).
//!
//! Summary layout per (sequence, query-key head) group, contiguous: `ρ_B = γ^{|B|}`, then the
//! group's state from zero (`group_len` floats, the state layout), then the extra moments
//! (`extra_len` floats) the cross terms need.

use core::marker::PhantomData;

use super::chunk::{Chunk, Scores, Values};
use super::operator::Operator;
use super::options::Options;
use super::shape::{Dims, HeadIo};
use super::{validate, Mode};
use crate::error::HlaError;
use crate::gemm::{gemm, gemm_acc, MatRef};
use crate::simd::Simd;
use crate::size::{floats, MAX_CHUNK, MAX_FLOATS};
use crate::workspace::Workspace;

pub(crate) mod deferred;

/// Floats of a segment summary per (sequence, query-key head) group; `None` past one wasm32
/// buffer.
pub(crate) fn summary_group_len<O: Operator>(d: &Dims, opts: &Options) -> Option<usize> {
    floats(&[&[1], &[O::group_len(d, opts)?], &[O::extra_len(d, opts)?]])
}

/// Floats of one group's state and summary, and of one sequence's state and summary (`h`
/// groups), all checked against [`MAX_FLOATS`]; the error of an operator without a summary.
pub(crate) fn lens<O: Operator>(d: &Dims, opts: &Options) -> Result<[usize; 4], HlaError> {
    if !O::HAS_SUMMARY {
        return Err(HlaError::new(
            "op",
            "an operator with a segment summary",
            O::OP.name(),
        ));
    }
    let too_big = || {
        HlaError::new(
            "dims",
            format!("a state and summary of at most {MAX_FLOATS} floats (one wasm32 buffer)"),
            format!("more for {} with {d:?}", O::OP.name()),
        )
    };
    let glen = O::group_len(d, opts).ok_or_else(too_big)?;
    let sg = summary_group_len::<O>(d, opts).ok_or_else(too_big)?;
    let state = floats(&[&[d.h, glen]]).ok_or_else(too_big)?;
    let summary = floats(&[&[d.h, sg]]).ok_or_else(too_big)?;
    Ok([glen, sg, state, summary])
}

/// The summary of the segment `inputs` (`d.b == 1`, `d.t` tokens, all heads) from a zero
/// state, computed chunk by chunk (`chunk_size` ≥ 1) without forming any output.
pub(crate) fn summary<S: Simd, O: Operator>(
    d: &Dims,
    opts: &Options,
    inputs: &[&[f32]],
    chunk_size: usize,
    ws: &mut Workspace,
) -> Result<Vec<f32>, HlaError> {
    validate::one_sequence(d)?;
    let chunk_size = chunk_size.min(MAX_CHUNK);
    let nv = floats(&[&[d.t, d.hv, d.dv]]).unwrap_or(usize::MAX);
    let slen = O::group_len(d, opts)
        .and_then(|g| floats(&[&[d.h, g]]))
        .unwrap_or(usize::MAX);
    let input_lens = validate::Lengths::of(inputs)?;
    let mode = Mode::Chunk(chunk_size);
    validate::forward::<O>(mode, d, opts, input_lens.get(), nv, slen, None)?;
    let [glen, sg, _, summary] = lens::<O>(d, opts)?;
    let mut out = vec![0f32; summary];
    for head in 0..d.h {
        let io = HeadIo::new(d, inputs, 0, d.t, head);
        let p = O::params(opts, head);
        let grp = &mut out[head * sg..(head + 1) * sg];
        let (rho, rest) = grp.split_first_mut().unwrap();
        let (st, extra) = rest.split_at_mut(glen);
        *rho = O::summary::<S>(&io, &p, st, extra, ws, chunk_size);
    }
    Ok(out)
}

/// The chunks of one head: calls `f(scores, values, t0)` for each; returns ρ = γ^len.
pub(crate) fn for_chunks<'w>(
    io: &HeadIo,
    ws: &'w mut Workspace,
    chunk_size: usize,
    mut f: impl FnMut(&mut Scores<'w>, &mut Values<'w>, usize),
) -> f32 {
    let Chunk { mut sc, mut va } = Chunk::new(ws, chunk_size.min(io.len).max(1), io.dk, io.dv);
    let mut rho = 1.0f32;
    for t0 in (0..io.len).step_by(chunk_size) {
        f(&mut sc, &mut va, t0);
        rho *= sc.rho();
    }
    rho
}

pub(crate) fn add(dst: &mut [f32], src: &[f32]) {
    for (a, b) in dst.iter_mut().zip(src) {
        *a += b;
    }
}

/// Products of a `dk×dk` moment with a `dk×cols` one, for the cross terms.
pub(crate) struct Products<S> {
    dk: usize,
    isa: PhantomData<S>,
}

impl<S: Simd> Products<S> {
    pub fn new(dk: usize) -> Self {
        Products {
            dk,
            isa: PhantomData,
        }
    }
    /// `dst = x y`.
    pub fn product(&self, x: &[f32], y: &[f32], cols: usize, dst: &mut [f32]) {
        let dk = self.dk;
        gemm::<S>(dk, cols, dk, MatRef::rows(x, dk), y, cols, dst, cols);
    }
    /// `dst += x y`.
    pub fn product_acc(&self, x: &[f32], y: &[f32], cols: usize, dst: &mut [f32]) {
        let dk = self.dk;
        gemm_acc::<S>(dk, cols, dk, MatRef::rows(x, dk), y, cols, dst, cols);
    }
}

/// `carry ← carry ⊕ summary(B)` for one sequence (`d.b == 1`; `d.t` is not used), in place
/// on the state layout, group by group ([`Operator::combine_group`]). In the HLA family every
/// moment X becomes `ρ_B (X_A + cross_X) + X_B`, where cross_X is non-zero only for the
/// moments that read an earlier moment (docs/math.md, section d); gla and deltaRule map the
/// carry through a per-row decay or a `dk×dk` matrix (section g).
pub(crate) fn combine<S: Simd, O: Operator>(
    d: &Dims,
    opts: &Options,
    carry: &mut [f32],
    summary: &[f32],
) -> Result<(), HlaError> {
    validate::one_sequence(d)?;
    validate::dims(d)?;
    O::check_options(d, opts)?;
    let [glen, sg, state_len, summary_len] = lens::<O>(d, opts)?;
    validate::length("state", state_len, carry.len())?;
    validate::length("summary", summary_len, summary.len())?;
    let mut cross = vec![0f32; glen];
    let mut ws = Workspace::default();
    for head in 0..d.h {
        let a = &mut carry[head * glen..(head + 1) * glen];
        let s = &summary[head * sg..(head + 1) * sg];
        let p = O::params(opts, head);
        O::combine_group::<S>(d, &p, a, s, &mut cross, &mut ws);
    }
    Ok(())
}
