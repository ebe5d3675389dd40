//! Pieces shared by the chunk-parallel forms. A chunk of `c` tokens (local index t = 0..c,
//! i.e. position t+1 after the carry-in state) is handled in matmul form:
//!
//! - scores `A = Q Kᵀ`; `A_L` = A on and below the diagonal; `A_D[t,i] = γ^{t−i} A[t,i]`;
//! - carry-in reads decay by γ^{t+1}; the carry-out combine decays the carry by γ^c and
//!   weights token i's contribution by γ^{c−1−i} (the rows of `Kd`, `Qd`).
//!
//! [`Scores`] holds what a chunk's value heads share (the rows, scores, mixers, denominators
//! and the vector moments' updates); [`Values`] what one value head adds (its values, reads
//! and outputs). The per-operator modules combine them into "carry ⊕ chunk summary" exactly as
//! derived in docs/math.md; all loops here are O(c²·d) or O(c·d²) matmuls plus O(c²) masks.
//!
//! Every step of [`Scores`] and [`Values`] that loops over a chunk is `#[inline(never)]`: a
//! call per chunk costs nothing, but inlined (LTO folds them through the generic driver into
//! `ops::forward_with`, one 50–60 KB wasm function holding every operator's forms) V8
//! compiles their loops slower. At b6925be that cost la1's chunk form 1.14× the pre-trait
//! build's time outside the GEMMs (whose `Chunk` methods were separate functions); whether it
//! happens depended on LLVM's inlining budget, i.e. on how many operators the crate had.
//! [`Values::load_v`] (one row copy per token) stays inlinable: outlined it measured no better.

mod scores;
mod values;

pub(crate) use scores::Scores;
pub(crate) use values::Values;

use crate::size::floats;
use crate::workspace::Workspace;

/// Which c×c matrix mixes tokens into outputs.
#[derive(Clone, Copy)]
pub(crate) enum Mixer {
    /// `A_D` (first order in the scores: la1, ahla).
    Decayed,
    /// `Mix` from [`Scores::second_order_mix`] (hla2, hla3).
    Second,
}

/// Which c×dv matrix is mixed: the values, or `R` (ahla, hla3: rows q_uᵀ P_u).
#[derive(Clone, Copy)]
pub(crate) enum Vals {
    V,
    R,
}

/// Per-token weights of a vector moment's update: 1, or `R1` (rows q_uᵀ m_u).
#[derive(Clone, Copy)]
pub(crate) enum Weights {
    Ones,
    R1,
}

/// Which decayed rows write an outer-product moment: the keys (`Kd`) or the queries (`Qd`,
/// hla2's ridge moments).
#[derive(Clone, Copy)]
pub(crate) enum Rows {
    Keys,
    Queries,
}

/// One chunk's scratch: the shared part and one value head's.
pub(crate) struct Chunk<'w> {
    pub sc: Scores<'w>,
    pub va: Values<'w>,
}

/// Floats of a chunk's scratch (chunks of `c_max` tokens); `None` past one wasm32 buffer.
pub(crate) fn workspace_len(c_max: usize, dk: usize, dv: usize) -> Option<usize> {
    floats(&[&[Scores::len(c_max, dk)?], &[Values::len(c_max, dk, dv)?]])
}

impl<'w> Chunk<'w> {
    pub fn new(ws: &'w mut Workspace, c_max: usize, dk: usize, dv: usize) -> Self {
        // Checked: `Workspace::parts` trusts none of these sizes to be unwrapped.
        let [s, v] = ws.parts([
            Scores::len(c_max, dk).expect("chunk workspace validated"),
            Values::len(c_max, dk, dv).expect("chunk workspace validated"),
        ]);
        Chunk {
            sc: Scores::new(s, c_max, dk),
            va: Values::new(v, c_max, dk, dv),
        }
    }
}
