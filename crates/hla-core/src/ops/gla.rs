//! Gated linear attention with per-key-feature decay (FLA's `chunk_gla` / `fused_recurrent_gla`):
//! `S_t = diag(exp(gk_t)) S_{t−1} + k_t v_tᵀ`, `o_t = S_tᵀ (scale · q_t)`.
//! State per value head: `S[dk×dv]` (rows are key features). Derivations: docs/math.md, gla.

mod chunk;
mod recurrent;

pub(crate) use chunk::chunk;
pub(crate) use recurrent::recurrent;
