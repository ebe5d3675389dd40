//! What gla and deltaRule share: per-token gate inputs beside q, k, v, their options, the state
//! layout (one `dk×dv` matrix per value head, FLA's `[N, HV, K, V]`) and a driver over
//! sequences and heads. Math: docs/math.md, sections gla and deltaRule.

use super::{delta_rule, gla, state_len, validate, Dims, HeadIo, Mode, Op, Options};
use crate::error::HlaError;
use crate::simd::{Isa, Simd};
use crate::workspace::Workspace;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatedOp {
    Gla,
    DeltaRule,
}

impl GatedOp {
    pub fn name(self) -> &'static str {
        match self {
            GatedOp::Gla => "gla",
            GatedOp::DeltaRule => "deltaRule",
        }
    }
}

/// Per-token inputs besides q, k, v, all log-space or rates as in FLA.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gates<'a> {
    /// gla: `gk [b·t, h, dk]`, log decay per key feature, ≤ 0.
    pub gk: &'a [f32],
    /// deltaRule: `beta [b·t, hv]`, the write rate.
    pub beta: &'a [f32],
    /// deltaRule: `g [b·t, hv]`, log decay ≤ 0; empty = no decay (the plain delta rule).
    pub g: &'a [f32],
}

#[derive(Clone, Copy, Debug)]
pub struct GatedOptions {
    pub scale: f32,
    /// deltaRule: q and k become `x / sqrt(Σx² + 1e-6)` before scaling.
    pub qk_l2norm: bool,
}

/// State floats for `n_seq` sequences: `n_seq · hv` matrices of `dk×dv`.
pub fn gated_state_len(n_seq: usize, hv: usize, dk: usize, dv: usize) -> usize {
    n_seq * hv * dk * dv
}

/// The gates of one (sequence, query-key head), indexed like [`HeadIo`].
pub(crate) struct HeadGates<'a> {
    pub gates: Gates<'a>,
}

impl HeadGates<'_> {
    /// `gk` of token `t` (gla).
    #[inline(always)]
    pub fn gk_row<'s>(&'s self, io: &HeadIo, t: usize) -> &'s [f32] {
        let o = ((io.row0 + t) * io.heads + io.h) * io.dk;
        &self.gates.gk[o..o + io.dk]
    }
    /// `(beta, g)` of token `t`, value head `j` of the group (deltaRule).
    #[inline(always)]
    pub fn beta_g(&self, io: &HeadIo, t: usize, j: usize) -> (f32, f32) {
        let o = (io.row0 + t) * io.vheads + io.h * io.g() + j;
        let g = if self.gates.g.is_empty() {
            0.0
        } else {
            self.gates.g[o]
        };
        (self.gates.beta[o], g)
    }
}

/// `qdst = scale · q_t` and `kdst = k_t`, each normalised first with qkL2norm. One
/// multiply per element even when it is by 1: a pure copy loop becomes a memcpy call, which
/// measured several times slower on these 64-float rows strided through large tensors.
#[inline]
pub(crate) fn load_qk(
    io: &HeadIo,
    t: usize,
    opts: &GatedOptions,
    qdst: &mut [f32],
    kdst: &mut [f32],
) {
    let (q, k) = (io.q_row(t), io.k_row(t));
    let (mut sq, mut sk) = (opts.scale, 1.0f32);
    if opts.qk_l2norm {
        sq *= inv_norm(q);
        sk = inv_norm(k);
    }
    for (d, s) in qdst.iter_mut().zip(q) {
        *d = sq * s;
    }
    for (d, s) in kdst.iter_mut().zip(k) {
        *d = sk * s;
    }
}

/// `1 / sqrt(Σx² + 1e-6)` (FLA's `l2norm`, qkL2norm).
#[inline]
fn inv_norm(x: &[f32]) -> f32 {
    let ss: f32 = x.iter().map(|v| v * v).sum();
    1.0 / (ss + 1e-6).sqrt()
}

macro_rules! ensure {
    ($cond:expr, $arg:expr, $expected:expr, $actual:expr $(,)?) => {
        if !$cond {
            return Err(HlaError::new($arg, $expected, $actual));
        }
    };
}

/// Log gates must be ≤ 0 (−∞ allowed: a full reset) and not NaN.
fn check_log_gates(arg: &'static str, g: &[f32]) -> Result<(), HlaError> {
    for (i, &x) in g.iter().enumerate() {
        ensure!(
            x <= 0.0,
            arg,
            "log decays ≤ 0 (not NaN)",
            format!("{x} at index {i}")
        );
    }
    Ok(())
}

/// Checks every argument of [`forward_gated`]; returns the number of sequences.
#[allow(clippy::too_many_arguments)]
pub fn validate_gated(
    op: GatedOp,
    mode: Mode,
    d: &Dims,
    opts: &GatedOptions,
    lens: [usize; 4],
    gates: &Gates,
    state_len_given: usize,
    cu_seqlens: Option<&[i32]>,
) -> Result<usize, HlaError> {
    // Shapes, scale, chunk size and cuSeqlens are checked as for the HLA family (la1 has the
    // same q/k/v/o shapes); the state is checked below against this family's layout.
    let la1 = Options {
        scale: opts.scale,
        decay: &[1.0],
        normalize: false,
        eps: 1.0,
        ridge: 0.0,
    };
    let n_la1 = |n: usize| state_len(Op::La1, n, d.h, d.hv, d.dk, d.dv, false);
    let cu_n = cu_seqlens.map_or(d.b, |cu| cu.len().saturating_sub(1));
    let n_seq = validate(Op::La1, mode, d, &la1, lens, n_la1(cu_n), cu_seqlens)?;
    let rows = d.b * d.t;
    match op {
        GatedOp::Gla => {
            let want = rows * d.h * d.dk;
            ensure!(
                gates.gk.len() == want,
                "gk",
                format!("{want} floats [B, T, H, dk]"),
                gates.gk.len()
            );
            check_log_gates("gk", gates.gk)?;
            ensure!(
                !opts.qk_l2norm,
                "qkL2norm",
                "false (gla has no qkL2norm)",
                true
            );
        }
        GatedOp::DeltaRule => {
            let want = rows * d.hv;
            ensure!(
                gates.beta.len() == want,
                "beta",
                format!("{want} floats [B, T, HV]"),
                gates.beta.len()
            );
            for (i, &b) in gates.beta.iter().enumerate() {
                ensure!(
                    b.is_finite(),
                    "beta",
                    "finite rates",
                    format!("{b} at index {i}")
                );
            }
            ensure!(
                gates.g.is_empty() || gates.g.len() == want,
                "g",
                format!("{want} floats [B, T, HV] or none"),
                gates.g.len()
            );
            check_log_gates("g", gates.g)?;
        }
    }
    let want = gated_state_len(n_seq, d.hv, d.dk, d.dv);
    ensure!(
        state_len_given == want,
        "state",
        format!("{want} floats"),
        state_len_given
    );
    Ok(n_seq)
}

/// Runs `op` over all sequences and heads. `state` holds the initial state on entry (zeros for
/// none) and the final state on return, `[n_seq, hv, dk, dv]`.
#[allow(clippy::too_many_arguments)]
pub fn forward_gated(
    op: GatedOp,
    mode: Mode,
    d: &Dims,
    opts: &GatedOptions,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    gates: &Gates,
    o: &mut [f32],
    state: &mut [f32],
    cu_seqlens: Option<&[i32]>,
    ws: &mut Workspace,
) -> Result<(), HlaError> {
    forward_gated_with::<Isa>(op, mode, d, opts, q, k, v, gates, o, state, cu_seqlens, ws)
}

/// [`forward_gated`] with an explicit instruction set (tests compare them).
#[allow(clippy::too_many_arguments)]
pub fn forward_gated_with<S: Simd>(
    op: GatedOp,
    mode: Mode,
    d: &Dims,
    opts: &GatedOptions,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    gates: &Gates,
    o: &mut [f32],
    state: &mut [f32],
    cu_seqlens: Option<&[i32]>,
    ws: &mut Workspace,
) -> Result<(), HlaError> {
    let lens = [q.len(), k.len(), v.len(), o.len()];
    let n_seq = validate_gated(op, mode, d, opts, lens, gates, state.len(), cu_seqlens)?;
    let glen = d.group() * d.dk * d.dv;
    let hg = HeadGates { gates: *gates };
    for s in 0..n_seq {
        let (row0, len) = match cu_seqlens {
            None => (s * d.t, d.t),
            Some(cu) => (cu[s] as usize, (cu[s + 1] - cu[s]) as usize),
        };
        for h in 0..d.h {
            let io = HeadIo::new(d, q, k, v, row0, len, h);
            let st = &mut state[(s * d.h + h) * glen..(s * d.h + h + 1) * glen];
            match (op, mode) {
                (GatedOp::Gla, Mode::Recurrent) => gla::recurrent::<S>(&io, &hg, opts, st, o, ws),
                (GatedOp::Gla, Mode::Chunk(c)) => gla::chunk::<S>(&io, &hg, opts, st, o, ws, c),
                (GatedOp::DeltaRule, Mode::Recurrent) => {
                    delta_rule::recurrent::<S>(&io, &hg, opts, st, o, ws)
                }
                (GatedOp::DeltaRule, Mode::Chunk(c)) => {
                    delta_rule::chunk::<S>(&io, &hg, opts, st, o, ws, c)
                }
            }
        }
    }
    Ok(())
}
