//! A streaming session: one operator's state plus input/output buffers that JS reads and
//! writes in place (views into wasm memory), so a decode step copies nothing and allocates
//! nothing. Snapshots are (de)serialised by the facade from `statePtr`/`stateLen`.

use crate::config::{mode_from, Config};
use crate::error::Error;
use crate::Staged;
use hla_core::ops::validate::MAX_INPUTS;
use hla_core::ops::{forward, state_len, validate};
use hla_core::size::floats;
use hla_core::workspace::Workspace;
use hla_core::Mode;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct Session {
    config: Config,
    /// One token of every per-token input, for every batch row (the operator's input order).
    inputs: Vec<Vec<f32>>,
    o: Vec<f32>,
    state: Vec<f32>,
    prefill_inputs: Staged,
    ws: Workspace,
    pub(crate) position: f64,
}

#[wasm_bindgen]
impl Session {
    /// A session of `config`'s operator, options and dims (`t` is not used: one token a step).
    #[wasm_bindgen(constructor)]
    pub fn new(config: &Config) -> Result<Session, Error> {
        let config = Config {
            dims: config.dims_t(1.0)?,
            ..config.clone()
        };
        let d = config.dims;
        validate::dims(&d)?;
        // Checked sizes (usize is 32 bits here); an oversized one fails `validate` below
        // (usize::MAX matches no buffer) before anything is allocated.
        let width = hla_core::ops::token_width(config.op, &config.options);
        let lens: Vec<usize> = (config.op.inputs().iter())
            .map(|spec| {
                let ([a, b], _) = spec.per_token(&d, width);
                floats(&[&[d.b, a, b]]).unwrap_or(usize::MAX)
            })
            .collect();
        let nv = floats(&[&[d.b, d.hv, d.dv]]).unwrap_or(usize::MAX);
        let ns = state_len(config.op, d.b, &d, &config.options).unwrap_or(usize::MAX);
        hla_core::ops::validate(
            config.op,
            Mode::Recurrent,
            &d,
            &config.options,
            &lens,
            nv,
            ns,
            None,
        )?;
        let inputs = lens.iter().map(|&n| vec![0.0; n]).collect();
        let mut s = Session {
            config,
            inputs,
            o: vec![0.0; nv],
            state: vec![0.0; ns],
            prefill_inputs: Staged::default(),
            ws: Workspace::default(),
            position: 0.0,
        };
        // Size the workspace now so the first step allocates nothing either.
        s.step()?;
        s.reset();
        Ok(s)
    }

    /// One token for every batch row: reads the input buffers, writes `o`.
    pub fn step(&mut self) -> Result<(), Error> {
        let c = &self.config;
        let [a, b, cc]: [&[f32]; 3] = match self.inputs.as_slice() {
            [a, b, c] => [a, b, c],
            _ => return self.step_any(),
        };
        // The common case (q, k, v) without a Vec of views: a step allocates nothing.
        forward(
            c.op,
            Mode::Recurrent,
            &c.dims,
            &c.options,
            &[a, b, cc],
            &mut self.o,
            &mut self.state,
            None,
            &mut self.ws,
        )?;
        self.position += 1.0;
        Ok(())
    }

    /// Per-token input `index` of the next `prefill` (`[b, t, …]`).
    #[wasm_bindgen(js_name = setInput)]
    pub fn set_input(&mut self, index: u32, data: Vec<f32>) {
        self.prefill_inputs.set(index, data);
    }

    /// `t` tokens per batch row over the staged inputs, chunk-parallel when `chunk_size` > 0.
    pub fn prefill(&mut self, t: f64, chunk_size: f64, o: &mut [f32]) -> Result<(), Error> {
        let d = self.config.dims_t(t)?;
        let mode = mode_from(chunk_size)?;
        let (c, state, ws) = (&self.config, &mut self.state, &mut self.ws);
        self.prefill_inputs
            .take(|inputs| forward(c.op, mode, &d, &c.options, inputs, o, state, None, ws))?;
        self.position += t;
        Ok(())
    }

    pub fn reset(&mut self) {
        self.state.fill(0.0);
        self.o.fill(0.0);
        self.position = 0.0;
    }

    #[wasm_bindgen(getter)]
    pub fn position(&self) -> f64 {
        self.position
    }
    #[wasm_bindgen(setter)]
    pub fn set_position(&mut self, p: f64) {
        self.position = p;
    }

    /// Where per-token input `index`'s one-token buffer is (`[b, …]`, the operator's order).
    #[wasm_bindgen(js_name = inputPtr)]
    pub fn input_ptr(&self, index: u32) -> usize {
        self.inputs[index as usize].as_ptr() as usize
    }
    #[wasm_bindgen(js_name = inputLen)]
    pub fn input_len(&self, index: u32) -> usize {
        self.inputs[index as usize].len()
    }
    #[wasm_bindgen(js_name = outputPtr)]
    pub fn output_ptr(&self) -> usize {
        self.o.as_ptr() as usize
    }
    #[wasm_bindgen(js_name = statePtr)]
    pub fn state_ptr(&self) -> usize {
        self.state.as_ptr() as usize
    }
    #[wasm_bindgen(js_name = stateLen)]
    pub fn state_len(&self) -> usize {
        self.state.len()
    }
}

impl Session {
    /// A step of an operator with other than three inputs.
    fn step_any(&mut self) -> Result<(), Error> {
        let c = &self.config;
        // The views in a fixed array, not a Vec: sse's step (8 or 10 inputs) allocates nothing.
        // The session's constructor validated at most MAX_INPUTS inputs.
        let mut views: [&[f32]; MAX_INPUTS] = [&[]; MAX_INPUTS];
        for (dst, src) in views.iter_mut().zip(&self.inputs) {
            *dst = src;
        }
        let views = &views[..self.inputs.len().min(MAX_INPUTS)];
        forward(
            c.op,
            Mode::Recurrent,
            &c.dims,
            &c.options,
            views,
            &mut self.o,
            &mut self.state,
            None,
            &mut self.ws,
        )?;
        self.position += 1.0;
        Ok(())
    }
}
