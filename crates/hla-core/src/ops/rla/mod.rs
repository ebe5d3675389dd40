//! Residual linear attention (Lai et al., arXiv 2509.25223): RLA (base `la`) and RDN (base
//! `deltaRule`). Per value head two states: S, the base operator's, and R, which learns the
//! clipped residual `r_t = clamp(v_t − P_tᵀ k_t, −c, c)` of S's prediction with the
//! correction rate; `o_t = exp(g_t) S_{t−1}ᵀ q_t + correction_t R_tᵀ q_t`. P_t is S_{t−1}
//! ('undecayed', the default) or exp(g_t) S_{t−1} ('decayed'). The paper has no public code:
//! docs/math.md, section rla, says which reading this is and why.
//!
//! Inputs q, k (`[B, T, H, dk]`), v (`[B, T, HV, dv]`), g (log decay ≤ 0, optional: none = no
//! decay), beta (optional: none = 1) and correction (`[B, T, HV]` each). State per value head:
//! S then R, both `dk×dv`; a group holds its g value heads' S matrices, then their R matrices.

mod chunk;
mod reads;
mod recurrent;

use super::driver::typed_forward;
use super::gated::{check_finite, check_log_gates, flat_state_forms};
use super::operator::Operator;
use super::options::Options;
use super::shape::{Dims, HeadIo, InputKind, InputSpec};
use super::Op;
use crate::error::{ensure, HlaError};
use crate::size::{chunk_len, floats, MAX_CHUNK, MAX_FLOATS};

/// The operator whose state S is (and which R follows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RlaBase {
    /// `S_t = exp(g_t) S_{t−1} + beta_t k_t v_tᵀ` (RLA).
    La,
    /// The gated delta rule (RDN).
    DeltaRule,
}

impl RlaBase {
    pub fn name(self) -> &'static str {
        match self {
            RlaBase::La => "la",
            RlaBase::DeltaRule => "deltaRule",
        }
    }
    pub fn from_name(s: &str) -> Option<RlaBase> {
        [RlaBase::La, RlaBase::DeltaRule]
            .into_iter()
            .find(|b| b.name() == s)
    }
}

/// What S predicts the residual from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Residual {
    /// `P_t = S_{t−1}`.
    Undecayed,
    /// `P_t = exp(g_t) S_{t−1}`.
    Decayed,
}

impl Residual {
    pub fn name(self) -> &'static str {
        match self {
            Residual::Undecayed => "undecayed",
            Residual::Decayed => "decayed",
        }
    }
    pub fn from_name(s: &str) -> Option<Residual> {
        [Residual::Undecayed, Residual::Decayed]
            .into_iter()
            .find(|r| r.name() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RlaOptions {
    pub base: RlaBase,
    /// c > 0 (+∞: no clipping).
    pub clip: f32,
    pub residual: Residual,
    pub qk_l2norm: bool,
    pub scale: f32,
}

pub const Q: usize = 0;
pub const K: usize = 1;
pub const V: usize = 2;
pub const G: usize = 3;
pub const BETA: usize = 4;
pub const CORRECTION: usize = 5;

pub const INPUTS: [InputSpec; 6] = [
    InputSpec::required("q", InputKind::QueryKey),
    InputSpec::required("k", InputKind::QueryKey),
    InputSpec::required("v", InputKind::Value),
    InputSpec::optional("g", InputKind::ValueScalar),
    InputSpec::optional("beta", InputKind::ValueScalar),
    InputSpec::required("correction", InputKind::ValueScalar),
];

/// Floats of state per (sequence, query-key head) group: S and R per value head.
pub fn group_len(d: &Dims) -> Option<usize> {
    floats(&[&[2, d.group(), d.dk, d.dv]])
}

/// State floats for `n_seq` sequences, laid out `[n_seq, h, {S, R}, group, dk, dv]`.
/// `None` past one wasm32 buffer (crate::size).
pub fn state_len(n_seq: usize, d: &Dims) -> Option<usize> {
    floats(&[&[n_seq, d.h, group_len(d)?]])
}

/// rla (docs/math.md, section i).
pub struct Rla;

impl Operator for Rla {
    const OP: Op = Op::Rla;
    const INPUTS: &'static [InputSpec] = &INPUTS;
    type Params = RlaOptions;
    flat_state_forms!(
        /// `g × S[dk×dv]` then `g × R[dk×dv]`.
    );
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    fn check_options(d: &Dims, opts: &Options) -> Result<(), HlaError> {
        let o = opts.rla(Self::OP)?;
        // `!(c > 0)` also refuses NaN.
        ensure!(
            o.clip > 0.0,
            "clip",
            "a number > 0 (Infinity: no clipping)",
            o.clip
        );
        ensure!(o.scale.is_finite(), "scale", "a finite number", o.scale);
        // The chunk form's one-head problems: q̂, k̂ and pass 2's q, k, gates (T·dk each); v,
        // the two reads and pass 2's output (T·dv each).
        ensure!(
            floats(&[&[d.t, 5, d.dk], &[d.t, 4, d.dv]]).is_some(),
            "dims",
            format!("T·(5·dk + 4·dv) ≤ {MAX_FLOATS} floats (one wasm32 buffer)"),
            format!("{d:?}"),
        );
        // Pass 1's scratch at the longest chunk any chunkSize gives.
        ensure!(
            reads::workspace_len(chunk_len(MAX_CHUNK, d.t), d.dk, d.dv).is_some(),
            "dims",
            format!("rla's chunk scratch ≤ {MAX_FLOATS} floats (one wasm32 buffer)"),
            format!("{d:?}"),
        );
        Ok(())
    }
    fn check_inputs(_: &Dims, inputs: &[&[f32]]) -> Result<(), HlaError> {
        check_log_gates("g", inputs[G])?;
        check_finite("beta", inputs[BETA])?;
        check_finite("correction", inputs[CORRECTION])
    }
    fn params(opts: &Options, _: usize) -> RlaOptions {
        *opts.rla(Self::OP).expect("checked")
    }
    fn group_len(d: &Dims, _: &Options) -> Option<usize> {
        group_len(d)
    }
}

typed_forward!(
    RlaOptions,
    "Runs rla over all sequences and heads: `inputs` in [`INPUTS`] order.",
    |opts| Op::Rla,
    Options::Rla(*opts)
);

/// `(α, β, correction)` of token `t`, value head `j` of the group: α = exp(g) (1 without g),
/// β = 1 without beta.
#[inline(always)]
pub(crate) fn rates(io: &HeadIo, t: usize, j: usize) -> (f32, f32, f32) {
    let alpha = if io.inputs[G].is_empty() {
        1.0
    } else {
        crate::exp::exp(io.value_scalar(G, t, j))
    };
    let beta = if io.inputs[BETA].is_empty() {
        1.0
    } else {
        io.value_scalar(BETA, t, j)
    };
    (alpha, beta, io.value_scalar(CORRECTION, t, j))
}

/// `q̂ = scale · n(q_t)`, `k̂ = n(k_t)` with n the L2 normalisation of qkL2norm (else 1).
#[inline]
pub(crate) fn load_qk(io: &HeadIo, t: usize, opts: &RlaOptions, qd: &mut [f32], kd: &mut [f32]) {
    let p = super::options::GatedOptions {
        scale: opts.scale,
        qk_l2norm: opts.qk_l2norm,
    };
    super::gated::load_qk(io, t, &p, qd, kd);
}
