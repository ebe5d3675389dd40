//! Gated linear attention with per-key-feature decay (FLA's `chunk_gla` / `fused_recurrent_gla`):
//! `S_t = diag(exp(gk_t)) S_{t−1} + k_t v_tᵀ`, `o_t = S_tᵀ (scale · q_t)`.
//! Inputs q, k, v, gk (`[B, T, H, dk]`, log decay ≤ 0). State per value head: `S[dk×dv]`
//! (rows are key features). Derivations: docs/math.md, section g.

mod chunk;
mod recurrent;

use super::gated::{check_log_gates, gated_options, group_len};
use super::operator::Operator;
use super::options::{GatedOptions, Options};
use super::shape::{Dims, GroupDims, HeadIo, InputKind, InputSpec, QKV};
use super::Op;
use crate::error::HlaError;
use crate::simd::Simd;
use crate::workspace::Workspace;

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
    /// `g × S[dk×dv]`, one matrix per value head.
    type State<'a> = &'a mut [f32];

    fn split<'a>(st: &'a mut [f32], _: &GroupDims, _: &GatedOptions) -> &'a mut [f32] {
        st
    }
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

    fn recurrent<S: Simd>(
        io: &HeadIo,
        p: &GatedOptions,
        st: &mut [f32],
        o: &mut [f32],
        ws: &mut Workspace,
    ) {
        recurrent::recurrent::<S>(io, p, st, o, ws)
    }
    fn chunk<S: Simd>(
        io: &HeadIo,
        p: &GatedOptions,
        st: &mut [f32],
        o: &mut [f32],
        ws: &mut Workspace,
        chunk_size: usize,
    ) {
        chunk::chunk::<S>(io, p, st, o, ws, chunk_size)
    }
}
