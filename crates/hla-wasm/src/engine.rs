//! The functional API's context: scratch memory reused across calls. One per `init()`
//! facade; after a trap the facade drops it and makes a new one.

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
