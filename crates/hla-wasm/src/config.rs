//! One call's configuration: the operator, the dimensions and the operator family's options,
//! built once by the facade (ts/config.ts) and passed by reference to the engine, a session
//! and a segment scan.

use crate::error::Error;
use hla_core::ops::rla::{Residual, RlaBase, RlaOptions};
use hla_core::ops::sse::{self, SseBase, SseOptions};
use hla_core::ops::{state_len, validate};
use hla_core::size::{MAX_CHUNK, MAX_FLOATS};
use hla_core::{Dims, GatedOptions, HlaOptions, Mode, Op, Options};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) op: Op,
    pub(crate) dims: Dims,
    pub(crate) options: Options,
}

fn op_named(name: &str) -> Result<Op, Error> {
    let names = Op::ALL.map(|op| op.name()).join(", ");
    Op::from_name(name).ok_or_else(|| Error::new("op", format!("one of {names}"), name))
}

/// A size argument from JS. Sizes cross as f64, not u32: a u32 parameter wraps 2³² + 2 to 2
/// in the glue, where nothing can see it. Accepts integers 0 ..= [`MAX_FLOATS`] (no single
/// dimension of a buffer that fits wasm32 is larger).
pub(crate) fn size_from(arg: &'static str, x: f64) -> Result<usize, Error> {
    if x.fract() == 0.0 && (0.0..=MAX_FLOATS as f64).contains(&x) {
        Ok(x as usize)
    } else {
        Err(Error::new(
            arg,
            format!("an integer in [0, {MAX_FLOATS}]"),
            x,
        ))
    }
}

/// `chunk_size` from JS: 0 (recurrent) or an integer ≥ 1; past [`MAX_CHUNK`] the kernels run
/// chunks of that length, so any larger integer is as good as it.
pub(crate) fn mode_from(chunk_size: f64) -> Result<Mode, Error> {
    if chunk_size.fract() == 0.0 && chunk_size >= 0.0 {
        let c = chunk_size.min(MAX_CHUNK as f64) as usize;
        Ok(Mode::from_chunk_size(c).capped())
    } else {
        Err(Error::new(
            "chunkSize",
            "0 (recurrent) or an integer ≥ 1",
            chunk_size,
        ))
    }
}

/// `[b, t, h, hv, dk, dv]` from JS as f64s (see [`size_from`]).
fn dims_from(d: &[f64]) -> Result<Dims, Error> {
    if d.len() != 6 {
        return Err(Error::new(
            "dims",
            "6 values [b, t, h, hv, dk, dv]",
            d.len(),
        ));
    }
    Ok(Dims {
        b: size_from("b", d[0])?,
        t: size_from("T", d[1])?,
        h: size_from("heads", d[2])?,
        hv: size_from("valueHeads", d[3])?,
        dk: size_from("dk", d[4])?,
        dv: size_from("dv", d[5])?,
    })
}

#[wasm_bindgen]
impl Config {
    /// An HLA-family operator (la1, hla2, ahla, hla3); `dims` = [b, t, h, hv, dk, dv].
    pub fn hla(
        op: &str,
        dims: &[f64],
        scale: f32,
        decay: Vec<f32>,
        normalize: bool,
        eps: f32,
        ridge: f32,
    ) -> Result<Config, Error> {
        let options = Options::Hla(HlaOptions {
            scale,
            decay,
            normalize,
            eps,
            ridge,
        });
        Ok(Config {
            op: op_named(op)?,
            dims: dims_from(dims)?,
            options,
        })
    }

    /// A gated-family operator (gla, deltaRule); `dims` = [b, t, h, hv, dk, dv]. Its gates
    /// (gk; beta, g) are per-token inputs after q, k, v (`inputNames`).
    pub fn gated(op: &str, dims: &[f64], scale: f32, qk_l2norm: bool) -> Result<Config, Error> {
        Ok(Config {
            op: op_named(op)?,
            dims: dims_from(dims)?,
            options: Options::Gated(GatedOptions { scale, qk_l2norm }),
        })
    }

    /// sse over `base` ('gla' | 'deltaRule'); `dims` = [b, t, h, hv, dk, dv]. Its inputs are
    /// q1, k1, q2, k2, v, router and the base's gates of each side (`inputNames`).
    #[allow(clippy::too_many_arguments)]
    pub fn sse(
        base: &str,
        dims: &[f64],
        partitions: f64,
        top_k: f64,
        weight_query: bool,
        weight_key: bool,
        qk_l2norm: bool,
        scale: f32,
    ) -> Result<Config, Error> {
        let base = SseBase::from_name(base)
            .ok_or_else(|| Error::new("base", "'gla' or 'deltaRule'", base))?;
        Ok(Config {
            op: sse::op(base),
            dims: dims_from(dims)?,
            options: Options::Sse(SseOptions {
                base,
                partitions: size_from("partitions", partitions)?,
                top_k: size_from("topK", top_k)?,
                weight_query,
                weight_key,
                qk_l2norm,
                scale,
            }),
        })
    }

    /// rla over `base` ('la' | 'deltaRule'); `dims` = [b, t, h, hv, dk, dv]. Its inputs are
    /// q, k, v, g, beta, correction (`inputNames`).
    pub fn rla(
        base: &str,
        dims: &[f64],
        clip: f32,
        residual: &str,
        qk_l2norm: bool,
        scale: f32,
    ) -> Result<Config, Error> {
        let base = RlaBase::from_name(base)
            .ok_or_else(|| Error::new("base", "'la' or 'deltaRule'", base))?;
        let residual = Residual::from_name(residual)
            .ok_or_else(|| Error::new("residual", "'undecayed' or 'decayed'", residual))?;
        Ok(Config {
            op: Op::Rla,
            dims: dims_from(dims)?,
            options: Options::Rla(RlaOptions {
                base,
                clip,
                residual,
                qk_l2norm,
                scale,
            }),
        })
    }

    /// Floats of state for `n_seq` sequences with these dimensions and options; an error past
    /// one wasm32 buffer.
    #[wasm_bindgen(js_name = stateLen)]
    pub fn state_len(&self, n_seq: f64) -> Result<f64, Error> {
        let n_seq = size_from("batch", n_seq)?;
        validate::dims(&self.dims)?;
        let n = state_len(self.op, n_seq, &self.dims, &self.options).ok_or_else(|| {
            Error::new(
                "state",
                format!("at most {MAX_FLOATS} floats (one wasm32 buffer)"),
                format!("more for {} with {:?}", self.op.name(), self.dims),
            )
        })?;
        Ok(n as f64)
    }

    /// The operator's per-token inputs, in the order `setInput` indexes them.
    #[wasm_bindgen(js_name = inputNames)]
    pub fn input_names(&self) -> Vec<String> {
        self.op
            .inputs()
            .iter()
            .map(|s| s.name.to_string())
            .collect()
    }
}

impl Config {
    /// The same call over `t` tokens.
    pub(crate) fn dims_t(&self, t: f64) -> Result<Dims, Error> {
        Ok(self.dims.with_t(size_from("T", t)?))
    }
}
