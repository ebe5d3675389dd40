//! The segment split's binding (hla-core `ops::segment`): the summary of one segment of one
//! sequence, and `carry ← carry ⊕ summary`, plus hla2's deferred schedule. The worker pool
//! (ts/sequence.ts) uses them to spread one long sequence over workers. No math here.

use crate::config::{mode_from, Config};
use crate::error::Error;
use crate::Staged;
use hla_core::ops::{combine, defer_values, key_summary, segment_summary, settle_values};
use hla_core::workspace::Workspace;
use hla_core::{Dims, Mode};
use wasm_bindgen::prelude::*;

/// One operator with its options and dims (those of the call being split; `b` = 1, `t` per
/// segment), and scratch memory.
#[wasm_bindgen]
pub struct SegmentScan {
    config: Config,
    inputs: Staged,
    ws: Workspace,
}

impl SegmentScan {
    fn dims(&self, t: f64) -> Result<Dims, Error> {
        Ok(Dims {
            b: 1,
            ..self.config.dims_t(t)?
        })
    }
}

/// A segment's chunk length (≥ 1).
fn chunk_of(chunk_size: f64) -> Result<usize, Error> {
    match mode_from(chunk_size)? {
        Mode::Chunk(c) => Ok(c),
        Mode::Recurrent => Err(Error::new("chunkSize", "an integer ≥ 1", 0)),
    }
}

#[wasm_bindgen]
impl SegmentScan {
    #[wasm_bindgen(constructor)]
    pub fn new(config: &Config) -> SegmentScan {
        SegmentScan {
            config: config.clone(),
            inputs: Staged::default(),
            ws: Workspace::default(),
        }
    }

    /// Per-token input `index` of the next `summary` (`[1, t, …]`).
    #[wasm_bindgen(js_name = setInput)]
    pub fn set_input(&mut self, index: u32, data: Vec<f32>) {
        self.inputs.set(index, data);
    }

    /// Floats of one sequence's state.
    #[wasm_bindgen(js_name = stateLen)]
    pub fn state_len(&self) -> Result<f64, Error> {
        self.config.state_len(1.0)
    }

    /// The summary of the staged segment (`t` tokens) from a zero state, computed in chunks
    /// of `chunk_size` ≥ 1; no outputs.
    pub fn summary(&mut self, t: f64, chunk_size: f64) -> Result<Vec<f32>, Error> {
        let chunk_size = chunk_of(chunk_size)?;
        let (d, c, ws) = (self.dims(t)?, &self.config, &mut self.ws);
        let s = self
            .inputs
            .take(|inputs| segment_summary(c.op, &d, &c.options, inputs, chunk_size, ws))?;
        Ok(s)
    }

    /// `state ← state ⊕ summary` for one sequence.
    pub fn combine(&mut self, state: &mut [f32], summary: &[f32]) -> Result<(), Error> {
        let c = &self.config;
        Ok(combine(c.op, &self.dims(0.0)?, &c.options, state, summary)?)
    }

    /// hla2 without normalize: the summary of the keys `k` (`t` tokens) alone (ρ and S).
    #[wasm_bindgen(js_name = keySummary)]
    pub fn key_summary(&mut self, t: f64, chunk_size: f64, k: &[f32]) -> Result<Vec<f32>, Error> {
        let chunk_size = chunk_of(chunk_size)?;
        let (d, c) = (self.dims(t)?, &self.config);
        Ok(key_summary(
            c.op,
            &d,
            &c.options,
            k,
            chunk_size,
            &mut self.ws,
        )?)
    }

    /// Zeroes the value moments of `state`: the carry of a deferred segment.
    #[wasm_bindgen(js_name = deferValues)]
    pub fn defer_values(&mut self, state: &mut [f32]) -> Result<(), Error> {
        let c = &self.config;
        Ok(defer_values(c.op, &self.dims(0.0)?, &c.options, state)?)
    }

    /// Settles a deferred segment (`t` tokens) with its true carry: `o` (empty: state only)
    /// and `state`.
    #[wasm_bindgen(js_name = settleValues)]
    pub fn settle_values(
        &mut self,
        t: f64,
        q: &[f32],
        o: &mut [f32],
        carry: &[f32],
        state: &mut [f32],
    ) -> Result<(), Error> {
        let (d, c) = (self.dims(t)?, &self.config);
        Ok(settle_values(c.op, &d, &c.options, q, o, carry, state)?)
    }
}
