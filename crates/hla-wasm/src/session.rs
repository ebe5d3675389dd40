//! A streaming session: one operator's state plus input/output buffers that JS reads and
//! writes in place (views into wasm memory), so a decode step copies nothing and allocates
//! nothing. Snapshots are (de)serialised by the facade from `state_ptr`/`state_len`.

use crate::{mode_from, op_from, size_from, to_js};
use hla_core::ops::{forward, state_len, validate, OwnedOptions};
use hla_core::size::floats;
use hla_core::workspace::Workspace;
use hla_core::{Dims, Mode, Options};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct Session {
    op: hla_core::Op,
    dims: Dims,
    opts: OwnedOptions,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    o: Vec<f32>,
    state: Vec<f32>,
    ws: Workspace,
    position: f64,
}

#[wasm_bindgen]
impl Session {
    #[wasm_bindgen(constructor)]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        op: u32,
        b: f64,
        h: f64,
        hv: f64,
        dk: f64,
        dv: f64,
        scale: f32,
        decay: &[f32],
        normalize: bool,
        eps: f32,
        ridge: f32,
    ) -> Result<Session, JsError> {
        let op = op_from(op)?;
        let dims = Dims {
            b: size_from("batch", b)?,
            t: 1,
            h: size_from("heads", h)?,
            hv: size_from("valueHeads", hv)?,
            dk: size_from("dk", dk)?,
            dv: size_from("dv", dv)?,
        };
        let opts = Options {
            scale,
            decay,
            normalize,
            eps,
            ridge,
        };
        // Checked sizes (usize is 32 bits here); an oversized one fails `validate` below
        // (usize::MAX matches no buffer) before anything is allocated.
        let nq = floats(&[&[dims.b, dims.h, dims.dk]]).unwrap_or(usize::MAX);
        let nv = floats(&[&[dims.b, dims.hv, dims.dv]]).unwrap_or(usize::MAX);
        let ns = if dims.h >= 1 && dims.hv % dims.h == 0 {
            state_len(op, dims.b, dims.h, dims.hv, dims.dk, dims.dv, ridge != 0.0)
                .unwrap_or(usize::MAX)
        } else {
            0
        };
        validate(
            op,
            Mode::Recurrent,
            &dims,
            &opts,
            [nq, nq, nv, nv],
            ns,
            None,
        )
        .map_err(to_js)?;
        let mut s = Session {
            op,
            dims,
            opts: opts.to_owned(),
            q: vec![0.0; nq],
            k: vec![0.0; nq],
            v: vec![0.0; nv],
            o: vec![0.0; nv],
            state: vec![0.0; ns],
            ws: Workspace::default(),
            position: 0.0,
        };
        // Size the workspace now so the first step allocates nothing either.
        s.step()?;
        s.reset();
        Ok(s)
    }

    /// One token for every batch row: reads `q`, `k`, `v` buffers, writes `o`.
    pub fn step(&mut self) -> Result<(), JsError> {
        forward(
            self.op,
            Mode::Recurrent,
            &self.dims,
            &self.opts.as_options(),
            &self.q,
            &self.k,
            &self.v,
            &mut self.o,
            &mut self.state,
            None,
            &mut self.ws,
        )
        .map_err(to_js)?;
        self.position += 1.0;
        Ok(())
    }

    /// `t` tokens per batch row (`[b, t, h, dk]` …), chunk-parallel when `chunk_size` > 0.
    pub fn prefill(
        &mut self,
        t: f64,
        chunk_size: f64,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        o: &mut [f32],
    ) -> Result<(), JsError> {
        let d = Dims {
            t: size_from("T", t)?,
            ..self.dims
        };
        let mode = mode_from(chunk_size)?;
        forward(
            self.op,
            mode,
            &d,
            &self.opts.as_options(),
            q,
            k,
            v,
            o,
            &mut self.state,
            None,
            &mut self.ws,
        )
        .map_err(to_js)?;
        self.position += t;
        Ok(())
    }

    /// Panics on purpose while `self` is mutably borrowed, as a trap inside `prefill` would:
    /// lets the tests check that the facade contains it. Never called by the facade itself.
    pub fn panic_for_tests(&mut self) {
        self.position = f64::NAN;
        panic!("deliberate panic inside a session call (test of containment)");
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

    pub fn q_ptr(&self) -> usize {
        self.q.as_ptr() as usize
    }
    pub fn k_ptr(&self) -> usize {
        self.k.as_ptr() as usize
    }
    pub fn v_ptr(&self) -> usize {
        self.v.as_ptr() as usize
    }
    pub fn o_ptr(&self) -> usize {
        self.o.as_ptr() as usize
    }
    pub fn state_ptr(&self) -> usize {
        self.state.as_ptr() as usize
    }
    pub fn state_len(&self) -> usize {
        self.state.len()
    }
}
