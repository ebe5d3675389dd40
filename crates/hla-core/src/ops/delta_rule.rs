//! The (gated) delta rule, FLA's `chunk_gated_delta_rule` / `fused_recurrent_gated_delta_rule`:
//! `S' = exp(g_t) S_{t−1}`, `δ_t = β_t (v_t − S'ᵀ k_t)`, `S_t = S' + k_t δ_tᵀ`,
//! `o_t = S_tᵀ (scale · q_t)`, with q, k optionally L2-normalised first (qkL2norm).
//! State per value head: `S[dk×dv]`. Derivations: docs/math.md, deltaRule.

mod chunk;
mod recurrent;

pub(crate) use chunk::chunk;
pub(crate) use chunk::dot;
pub(crate) use recurrent::recurrent;
