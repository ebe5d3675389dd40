//! Gated linear attention with per-key-feature decay (FLA's `chunk_gla` / `fused_recurrent_gla`):
//! `S_t = diag(exp(gk_t)) S_{t−1} + k_t v_tᵀ`, `o_t = S_tᵀ (scale · q_t)`.
//! Inputs q, k, v, gk (`[B, T, H, dk]`, log decay ≤ 0). State per value head: `S[dk×dv]`
//! (rows are key features). Derivations: docs/math.md, section g.

mod chunk;
mod recurrent;

use super::gated::{check_log_gates, flat_state_forms, gated_options, group_len};
use super::operator::Operator;
use super::options::{GatedOptions, Options};
use super::shape::{Dims, HeadIo, InputKind, InputSpec, QKV};
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

    // Segment split (docs/math.md, section g): a segment maps a carry S to
    // `diag(Π α) S + S_B` per value head; the extra moment is that per-row decay (dk floats,
    // shared by the group's value heads: gk is per query-key head). ρ is unused (1).
    const HAS_SUMMARY: bool = true;
    fn extra_len(d: &Dims, _: &Options) -> Option<usize> {
        Some(d.dk)
    }
    fn summary<S: Simd>(
        io: &HeadIo,
        _: &GatedOptions,
        st: &mut [f32],
        extra: &mut [f32],
        ws: &mut Workspace,
        chunk_size: usize,
    ) -> f32 {
        chunk::summary::<S>(io, st, extra, ws, chunk_size);
        1.0
    }
    fn combine_group<S: Simd>(
        d: &Dims,
        _: &GatedOptions,
        a: &mut [f32],
        summary: &[f32],
        _: &mut [f32],
        _: &mut Workspace,
    ) {
        let glen = a.len();
        let (sb, decay) = (&summary[1..1 + glen], &summary[1 + glen..]);
        for (rows, b) in a
            .chunks_exact_mut(d.dk * d.dv)
            .zip(sb.chunks_exact(d.dk * d.dv))
        {
            for ((row, brow), &p) in rows
                .chunks_exact_mut(d.dv)
                .zip(b.chunks_exact(d.dv))
                .zip(decay)
            {
                for (x, y) in row.iter_mut().zip(brow) {
                    *x = p * *x + y;
                }
            }
        }
    }
}
