//! The (gated) delta rule, FLA's `chunk_gated_delta_rule` / `fused_recurrent_gated_delta_rule`:
//! `S' = exp(g_t) S_{t−1}`, `δ_t = β_t (v_t − S'ᵀ k_t)`, `S_t = S' + k_t δ_tᵀ`,
//! `o_t = S_tᵀ (scale · q_t)`, with q, k optionally L2-normalised first (qkL2norm).
//! Inputs q, k, v, beta (`[B, T, HV]`), g (`[B, T, HV]` log decay ≤ 0, optional: none is the
//! plain delta rule). State per value head: `S[dk×dv]`. Derivations: docs/math.md, section g.

mod chunk;
mod recurrent;

pub(crate) use chunk::{axpy, decay_products, dot};

use super::gated::{check_finite, check_log_gates, flat_state_forms, gated_options, group_len};
use super::operator::Operator;
use super::options::{GatedOptions, Options};
use super::segment::Products;
use super::shape::{Dims, HeadIo, InputKind, InputSpec, QKV};
use super::Op;
use crate::error::HlaError;
use crate::simd::Simd;
use crate::workspace::Workspace;

pub struct DeltaRule;

/// Indices of `beta` and `g` in the inputs.
pub(crate) const BETA: usize = 3;
pub(crate) const G: usize = 4;

/// `(β, g)` of token `t`, value head `j` of the group; g = 0 when `g` is absent.
#[inline(always)]
pub(crate) fn beta_g(io: &HeadIo, t: usize, j: usize) -> (f32, f32) {
    let g = if io.inputs[G].is_empty() {
        0.0
    } else {
        io.value_scalar(G, t, j)
    };
    (io.value_scalar(BETA, t, j), g)
}

impl Operator for DeltaRule {
    const OP: Op = Op::DeltaRule;
    const INPUTS: &'static [InputSpec] = &[
        QKV[0],
        QKV[1],
        QKV[2],
        InputSpec::required("beta", InputKind::ValueScalar),
        InputSpec::optional("g", InputKind::ValueScalar),
    ];
    type Params = GatedOptions;
    flat_state_forms!(
        /// `g × S[dk×dv]`, one matrix per value head.
    );
    fn check_options(_: &Dims, opts: &Options) -> Result<(), HlaError> {
        gated_options(Self::OP, opts).map(|_| ())
    }
    fn check_inputs(_: &Dims, inputs: &[&[f32]]) -> Result<(), HlaError> {
        check_finite("beta", inputs[BETA])?;
        check_log_gates("g", inputs[G])
    }
    fn params(opts: &Options, _: usize) -> GatedOptions {
        *opts.gated(Self::OP).expect("checked")
    }
    fn group_len(d: &Dims, _: &Options) -> Option<usize> {
        group_len(d)
    }

    // Segment split (docs/math.md, section g): a segment maps a carry S to `A S + B` per
    // value head, `A = Π_t α_t (I − β_t k_t k_tᵀ)` (newest on the left); the extra moments are
    // the group's `A`s, `g × dk×dk`. ρ is unused (1).
    const HAS_SUMMARY: bool = true;
    fn extra_len(d: &Dims, _: &Options) -> Option<usize> {
        crate::size::floats(&[&[d.group(), d.dk, d.dk]])
    }
    fn summary<S: Simd>(
        io: &HeadIo,
        p: &GatedOptions,
        st: &mut [f32],
        extra: &mut [f32],
        ws: &mut Workspace,
        chunk_size: usize,
    ) -> f32 {
        chunk::summary::<S>(io, p, st, extra, ws, chunk_size);
        1.0
    }
    fn combine_group<S: Simd>(
        d: &Dims,
        _: &GatedOptions,
        a: &mut [f32],
        summary: &[f32],
        scratch: &mut [f32],
        _: &mut Workspace,
    ) {
        let glen = a.len();
        let (sb, trans) = (&summary[1..1 + glen], &summary[1 + glen..]);
        let (sz, products) = (d.dk * d.dv, Products::<S>::new(d.dk));
        for (((s, b), m), tmp) in a
            .chunks_exact_mut(sz)
            .zip(sb.chunks_exact(sz))
            .zip(trans.chunks_exact(d.dk * d.dk))
            .zip(scratch.chunks_exact_mut(sz))
        {
            products.product(m, s, d.dv, tmp);
            for ((x, t), y) in s.iter_mut().zip(&*tmp).zip(b) {
                *x = t + y;
            }
        }
    }
}
