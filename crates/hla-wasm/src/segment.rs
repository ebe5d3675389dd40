//! The segment split's binding (hla-core `ops::segment`): the summary of one segment of one
//! sequence, and `carry ← carry ⊕ summary`. The worker pool (ts/sequence.ts) uses them to
//! spread one long sequence over workers. No math here.

use crate::with_args;
use hla_core::ops::{combine, defer_values, key_summary, segment_summary, settle_values};
use hla_core::workspace::Workspace;
use wasm_bindgen::prelude::*;

/// Scratch memory for segment summaries, reused across calls (one per pool worker).
#[wasm_bindgen]
#[derive(Default)]
pub struct SegmentScan {
    ws: Workspace,
}

#[wasm_bindgen]
impl SegmentScan {
    #[wasm_bindgen(constructor)]
    pub fn new() -> SegmentScan {
        SegmentScan::default()
    }

    /// The summary of the segment `q, k, v` (`dims` = [1, t, h, hv, dk, dv]) from a zero
    /// state, computed in chunks of `chunk_size` ≥ 1; no outputs.
    #[allow(clippy::too_many_arguments)]
    pub fn summary(
        &mut self,
        op: u32,
        chunk_size: u32,
        dims: &[u32],
        scale: f32,
        decay: &[f32],
        normalize: bool,
        eps: f32,
        ridge: f32,
        q: &[f32],
        k: &[f32],
        v: &[f32],
    ) -> Result<Vec<f32>, JsError> {
        with_args(
            op,
            dims,
            scale,
            decay,
            normalize,
            eps,
            ridge,
            |op, d, opts| segment_summary(op, d, opts, q, k, v, chunk_size as usize, &mut self.ws),
        )
    }

    /// `state ← state ⊕ summary` for one sequence (`dims[0]` = 1; `dims[1]` is not used).
    #[allow(clippy::too_many_arguments)]
    pub fn combine(
        &mut self,
        op: u32,
        dims: &[u32],
        scale: f32,
        decay: &[f32],
        normalize: bool,
        eps: f32,
        ridge: f32,
        state: &mut [f32],
        summary: &[f32],
    ) -> Result<(), JsError> {
        with_args(
            op,
            dims,
            scale,
            decay,
            normalize,
            eps,
            ridge,
            |op, d, opts| combine(op, d, opts, state, summary),
        )
    }

    /// hla2 without normalize: the summary of the keys `k` alone (ρ and S; values zero).
    #[allow(clippy::too_many_arguments)]
    pub fn key_summary(
        &mut self,
        op: u32,
        chunk_size: u32,
        dims: &[u32],
        scale: f32,
        decay: &[f32],
        normalize: bool,
        eps: f32,
        ridge: f32,
        k: &[f32],
    ) -> Result<Vec<f32>, JsError> {
        with_args(
            op,
            dims,
            scale,
            decay,
            normalize,
            eps,
            ridge,
            |op, d, opts| key_summary(op, d, opts, k, chunk_size as usize, &mut self.ws),
        )
    }

    /// Zeroes the value moments of `state`: the carry of a deferred segment.
    #[allow(clippy::too_many_arguments)]
    pub fn defer_values(
        &mut self,
        op: u32,
        dims: &[u32],
        scale: f32,
        decay: &[f32],
        normalize: bool,
        eps: f32,
        ridge: f32,
        state: &mut [f32],
    ) -> Result<(), JsError> {
        with_args(
            op,
            dims,
            scale,
            decay,
            normalize,
            eps,
            ridge,
            |op, d, opts| defer_values(op, d, opts, state),
        )
    }

    /// Settles a deferred segment with its true carry: `o` (empty: state only) and `state`.
    #[allow(clippy::too_many_arguments)]
    pub fn settle_values(
        &mut self,
        op: u32,
        dims: &[u32],
        scale: f32,
        decay: &[f32],
        normalize: bool,
        eps: f32,
        ridge: f32,
        q: &[f32],
        o: &mut [f32],
        carry: &[f32],
        state: &mut [f32],
    ) -> Result<(), JsError> {
        with_args(
            op,
            dims,
            scale,
            decay,
            normalize,
            eps,
            ridge,
            |op, d, opts| settle_values(op, d, opts, q, o, carry, state),
        )
    }
}
