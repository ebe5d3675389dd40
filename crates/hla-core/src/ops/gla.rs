//! Gated linear attention with per-key-feature decay (FLA's `chunk_gla` / `fused_recurrent_gla`):
//! `S_t = diag(exp(gk_t)) S_{t−1} + k_t v_tᵀ`, `o_t = S_tᵀ (scale · q_t)`.
//! Inputs q, k, v, gk (`[B, T, H, dk]`, log decay ≤ 0). State per value head: `S[dk×dv]`
//! (rows are key features). Derivations: docs/math.md, section g.

mod chunk;
mod recurrent;

use super::gated::{check_log_gates, flat_state_forms, gated_options, group_len};
use super::operator::Operator;
use super::options::{GatedOptions, Options};
use super::shape::{Dims, InputKind, InputSpec, QKV};
use super::Op;
use crate::error::HlaError;

pub struct Gla;

/// Index of `gk` in the inputs.
pub(crate) const GK: usize = 3;

impl Operator for Gla {
    const OP: Op = Op::Gla;
    const INPUTS: &'static [InputSpec] = &[
        QKV[0],
        QKV[1],
        QKV[2],
        InputSpec::required("gk", InputKind::QueryKey),
    ];
    type Params = GatedOptions;
    flat_state_forms!(
        /// `g × S[dk×dv]`, one matrix per value head.
    );
    fn check_options(_: &Dims, opts: &Options) -> Result<(), HlaError> {
        gated_options(Self::OP, opts).map(|_| ())
    }
    fn check_inputs(_: &Dims, inputs: &[&[f32]]) -> Result<(), HlaError> {
        check_log_gates("gk", inputs[GK])
    }
    fn params(opts: &Options, _: usize) -> GatedOptions {
        *opts.gated(Self::OP).expect("checked")
    }
    fn group_len(d: &Dims, _: &Options) -> Option<usize> {
        group_len(d)
    }
}
