//! The functional API's context: scratch memory reused across calls. One per `init()`
//! facade; after a trap the facade drops it and makes a new one.
//!
//! A pool worker (ts/worker.ts) also uses the engine's own input and output buffers: it copies
//! its window of each shared input straight into them (views into wasm memory) and its outputs
//! straight out, one copy each way, instead of gathering into a JS array that `setInput`
//! copies again (and an output that wasm-bindgen copies in and out).

use crate::config::{mode_from, Config};
use crate::error::Error;
use crate::Staged;
use hla_core::ops::forward;
use hla_core::workspace::Workspace;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
#[derive(Default)]
pub struct Engine {
    pub(crate) ws: Workspace,
    inputs: Staged,
    /// Per-token inputs of `forwardBuffers`, kept across calls (no allocation once sized).
    buffers: Vec<Vec<f32>>,
    /// The output of `forwardBuffers`.
    out: Vec<f32>,
}

#[wasm_bindgen]
impl Engine {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Engine {
        Engine::default()
    }

    /// Per-token input `index` (in `config.inputNames()` order) of the next `forward`.
    #[wasm_bindgen(js_name = setInput)]
    pub fn set_input(&mut self, index: u32, data: Vec<f32>) {
        self.inputs.set(index, data);
    }

    /// Where per-token input `index`'s buffer of `len` floats is (its contents are whatever
    /// the last call left: the caller writes all of it). Sizing a buffer may grow the memory
    /// and move any buffer sized before it: take views only after the last `inputBuffer` /
    /// `outputBuffer` call.
    #[wasm_bindgen(js_name = inputBuffer)]
    pub fn input_buffer(&mut self, index: u32, len: usize) -> usize {
        let i = index as usize;
        if self.buffers.len() <= i {
            self.buffers.resize_with(i + 1, Vec::new);
        }
        let b = &mut self.buffers[i];
        b.resize(len, 0.0);
        b.as_ptr() as usize
    }

    /// Where the output buffer of `len` floats is, zeroed (the synchronous call's output
    /// starts as zeros too). The same caveat as `inputBuffer`.
    #[wasm_bindgen(js_name = outputBuffer)]
    pub fn output_buffer(&mut self, len: usize) -> usize {
        self.out.clear();
        self.out.resize(len, 0.0);
        self.out.as_ptr() as usize
    }

    /// `forward` over the first `inputs` input buffers, into the output buffer. The call may
    /// grow the memory: take the output's view after it.
    #[wasm_bindgen(js_name = forwardBuffers)]
    pub fn forward_buffers(
        &mut self,
        config: &Config,
        chunk_size: f64,
        inputs: u32,
        state: &mut [f32],
        cu_seqlens: &[i32],
    ) -> Result<(), Error> {
        let mode = mode_from(chunk_size)?;
        let cu = (!cu_seqlens.is_empty()).then_some(cu_seqlens);
        let n = (inputs as usize).min(self.buffers.len());
        let views: Vec<&[f32]> = self.buffers[..n].iter().map(|v| v.as_slice()).collect();
        forward(
            config.op,
            mode,
            &config.dims,
            &config.options,
            &views,
            &mut self.out,
            state,
            cu,
            &mut self.ws,
        )?;
        Ok(())
    }

    /// One forward pass over the staged inputs. `chunk_size` 0 selects the recurrent form.
    /// `state` carries the initial state in (zeros for none) and the final state out;
    /// `cu_seqlens` empty = none.
    pub fn forward(
        &mut self,
        config: &Config,
        chunk_size: f64,
        o: &mut [f32],
        state: &mut [f32],
        cu_seqlens: &[i32],
    ) -> Result<(), Error> {
        let mode = mode_from(chunk_size)?;
        let cu = (!cu_seqlens.is_empty()).then_some(cu_seqlens);
        let ws = &mut self.ws;
        self.inputs.take(|inputs| {
            forward(
                config.op,
                mode,
                &config.dims,
                &config.options,
                inputs,
                o,
                state,
                cu,
                ws,
            )
        })?;
        Ok(())
    }
}
