//! The segment split's binding (hla-core `ops::segment`): the summary of one segment of one
//! sequence, and `carry ← carry ⊕ summary`. The worker pool (ts/sequence.ts) uses them to
//! spread one long sequence over workers. No math here.

use crate::{dims_from, op_from, to_js};
use hla_core::ops::{
    combine, defer_values, key_summary, segment_summary, settle_values, OwnedOptions,
};
use hla_core::workspace::Workspace;
use hla_core::{Dims, HlaError, Op, Options};
use wasm_bindgen::prelude::*;

/// One operator with its options (those of the call being split), and scratch memory.
#[wasm_bindgen]
pub struct SegmentScan {
    op: Op,
    opts: OwnedOptions,
    ws: Workspace,
}

impl SegmentScan {
    /// Runs `f` on this scan's operator and options with `dims` decoded.
    fn with<T>(
        &mut self,
        dims: &[u32],
        f: impl FnOnce(Op, &Dims, &Options, &mut Workspace) -> Result<T, HlaError>,
    ) -> Result<T, JsError> {
        let d = dims_from(dims)?;
        f(self.op, &d, &self.opts.as_options(), &mut self.ws).map_err(to_js)
    }
}

#[wasm_bindgen]
impl SegmentScan {
    #[wasm_bindgen(constructor)]
    pub fn new(
        op: u32,
        scale: f32,
        decay: &[f32],
        normalize: bool,
        eps: f32,
        ridge: f32,
    ) -> Result<SegmentScan, JsError> {
        let opts = Options {
            scale,
            decay,
            normalize,
            eps,
            ridge,
        };
        Ok(SegmentScan {
            op: op_from(op)?,
            opts: opts.to_owned(),
            ws: Workspace::default(),
        })
    }

    /// The summary of the segment `q, k, v` (`dims` = [1, t, h, hv, dk, dv]) from a zero
    /// state, computed in chunks of `chunk_size` ≥ 1; no outputs.
    pub fn summary(
        &mut self,
        chunk_size: u32,
        dims: &[u32],
        q: &[f32],
        k: &[f32],
        v: &[f32],
    ) -> Result<Vec<f32>, JsError> {
        self.with(dims, |op, d, opts, ws| {
            segment_summary(op, d, opts, q, k, v, chunk_size as usize, ws)
        })
    }

    /// `state ← state ⊕ summary` for one sequence (`dims[0]` = 1; `dims[1]` is not used).
    pub fn combine(
        &mut self,
        dims: &[u32],
        state: &mut [f32],
        summary: &[f32],
    ) -> Result<(), JsError> {
        self.with(dims, |op, d, opts, _| combine(op, d, opts, state, summary))
    }

    /// hla2 without normalize: the summary of the keys `k` alone (ρ and S; values zero).
    pub fn key_summary(
        &mut self,
        chunk_size: u32,
        dims: &[u32],
        k: &[f32],
    ) -> Result<Vec<f32>, JsError> {
        self.with(dims, |op, d, opts, ws| {
            key_summary(op, d, opts, k, chunk_size as usize, ws)
        })
    }

    /// Zeroes the value moments of `state`: the carry of a deferred segment.
    pub fn defer_values(&mut self, dims: &[u32], state: &mut [f32]) -> Result<(), JsError> {
        self.with(dims, |op, d, opts, _| defer_values(op, d, opts, state))
    }

    /// Settles a deferred segment with its true carry: `o` (empty: state only) and `state`.
    pub fn settle_values(
        &mut self,
        dims: &[u32],
        q: &[f32],
        o: &mut [f32],
        carry: &[f32],
        state: &mut [f32],
    ) -> Result<(), JsError> {
        self.with(dims, |op, d, opts, _| {
            settle_values(op, d, opts, q, o, carry, state)
        })
    }
}
