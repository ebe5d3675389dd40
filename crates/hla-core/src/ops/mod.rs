//! The operator family, FLA style: one module per operator, each with a `recurrent` and a
//! `chunk` form of the same signature. This module holds what they share: shapes,
//! options, the state layout, validation and the driver that walks sequences and heads.

pub mod ahla;
mod chunk;
pub mod hla2;
pub mod hla3;
pub mod la1;
mod recurrent;
pub mod segment;

pub use segment::{combine, segment_summary, summary_len};
pub use segment::{defer_values, defers_values, key_summary, settle_values};

use crate::error::HlaError;
use crate::simd::{Isa, Simd};
use crate::size::{chunk_len, exact, floats, MAX_CHUNK, MAX_FLOATS};
use crate::workspace::Workspace;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    La1,
    Hla2,
    Ahla,
    Hla3,
}

impl Op {
    pub const ALL: [Op; 4] = [Op::La1, Op::Hla2, Op::Ahla, Op::Hla3];
    pub fn name(self) -> &'static str {
        match self {
            Op::La1 => "la1",
            Op::Hla2 => "hla2",
            Op::Ahla => "ahla",
            Op::Hla3 => "hla3",
        }
    }
    pub fn from_name(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == s)
    }
    pub fn from_code(c: u32) -> Option<Op> {
        Op::ALL.get(c as usize).copied()
    }
}

/// `q, k: [b, t, h, dk]`, `v, o: [b, t, hv, dv]`, `hv % h == 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    pub b: usize,
    pub t: usize,
    pub h: usize,
    pub hv: usize,
    pub dk: usize,
    pub dv: usize,
}

impl Dims {
    /// Value heads per query-key head.
    pub fn group(&self) -> usize {
        self.hv / self.h
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Options<'a> {
    pub scale: f32,
    /// γ per query-key head (length h) or one for all (length 1); 1 means no decay.
    pub decay: &'a [f32],
    pub normalize: bool,
    pub eps: f32,
    /// hla2 only; 0 disables it (and the ridge moments in the state).
    pub ridge: f32,
}

impl Options<'_> {
    /// An owned copy, for objects that keep their options across calls (sessions).
    pub fn to_owned(&self) -> OwnedOptions {
        OwnedOptions {
            scale: self.scale,
            decay: self.decay.to_vec(),
            normalize: self.normalize,
            eps: self.eps,
            ridge: self.ridge,
        }
    }
}

/// [`Options`] that own their decay values.
#[derive(Clone, Debug)]
pub struct OwnedOptions {
    pub scale: f32,
    pub decay: Vec<f32>,
    pub normalize: bool,
    pub eps: f32,
    pub ridge: f32,
}

impl OwnedOptions {
    pub fn as_options(&self) -> Options<'_> {
        Options {
            scale: self.scale,
            decay: &self.decay,
            normalize: self.normalize,
            eps: self.eps,
            ridge: self.ridge,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Recurrent,
    /// Chunk-parallel scan with this chunk length (≥ 1). Chunks are never longer than the
    /// sequence nor than [`MAX_CHUNK`] (crate::size): a longer one runs chunks of that length.
    Chunk(usize),
}

impl Mode {
    /// The bindings' encoding: 0 = recurrent, c ≥ 1 = chunks of c tokens.
    pub fn from_chunk_size(c: usize) -> Mode {
        if c == 0 {
            Mode::Recurrent
        } else {
            Mode::Chunk(c)
        }
    }

    /// The chunk length capped at [`MAX_CHUNK`], what the kernels run.
    pub fn capped(self) -> Mode {
        match self {
            Mode::Chunk(c) => Mode::Chunk(c.min(MAX_CHUNK)),
            m => m,
        }
    }
}

/// What one kernel call runs with (one query-key head).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Params {
    pub gamma: f32,
    pub scale: f32,
    pub normalize: bool,
    pub eps: f32,
    pub ridge: f32,
    pub has_ridge: bool,
}

impl Params {
    /// The options as seen by query-key head `h` (its decay).
    pub fn for_head(opts: &Options, h: usize) -> Params {
        Params {
            gamma: opts.decay[if opts.decay.len() == 1 { 0 } else { h }],
            scale: opts.scale,
            normalize: opts.normalize,
            eps: opts.eps,
            ridge: opts.ridge,
            has_ridge: opts.ridge != 0.0,
        }
    }
}

/// Floats of state for one (sequence, query-key head) group, which also holds the moments
/// of its `g` value heads. Layouts (contiguous, in this order):
/// - la1:  z[dk],                 g × P[dk×dv]
/// - hla2: S[dk×dk], n[dk], (m[dk]), g × (M[dk×dv], (C[dk×dv]))   — () only with ridge
/// - ahla: m[dk], n[dk],          g × (P[dk×dv], E[dk×dv])
/// - hla3: S[dk×dk], m[dk], η[dk], g × (P[dk×dv], F[dk×dv])
///
/// `None` when it would not fit one wasm32 buffer ([`MAX_FLOATS`]).
pub fn group_len(op: Op, dk: usize, dv: usize, g: usize, has_ridge: bool) -> Option<usize> {
    let r = has_ridge as usize;
    match op {
        Op::La1 => floats(&[&[dk], &[g, dk, dv]]),
        Op::Hla2 => floats(&[&[dk, dk], &[dk], &[r, dk], &[g, dk, dv], &[r, g, dk, dv]]),
        Op::Ahla => floats(&[&[2, dk], &[2, g, dk, dv]]),
        Op::Hla3 => floats(&[&[dk, dk], &[2, dk], &[2, g, dk, dv]]),
    }
}

/// State floats for `n_seq` sequences (the batch, or the sequences of `cu_seqlens`); `None`
/// when the state would not fit one wasm32 buffer ([`MAX_FLOATS`]).
pub fn state_len(
    op: Op,
    n_seq: usize,
    h: usize,
    hv: usize,
    dk: usize,
    dv: usize,
    has_ridge: bool,
) -> Option<usize> {
    let g = group_len(op, dk, dv, hv / h.max(1), has_ridge)?;
    floats(&[&[n_seq, h, g]])
}

/// An upper bound of the scratch floats any kernel takes for `mode` over `d` (one head at a
/// time): the chunk forms' [`chunk::Chunk`] buffers, or the recurrences' token panels.
/// `None` past [`MAX_FLOATS`].
pub fn workspace_len(mode: Mode, d: &Dims) -> Option<usize> {
    let (dk, dv) = (d.dk, d.dv);
    match mode {
        Mode::Recurrent => floats(&[&[8 * recurrent::NT, dk], &[2 * recurrent::NT, dv]]),
        Mode::Chunk(c) => {
            let c = chunk_len(c, d.t);
            floats(&[
                &[3, c],
                &[1],
                &[6, c, dk],
                &[4, c, c],
                &[4, c, dv],
                &[2, dk, dv],
                &[2, dk],
            ])
        }
    }
}

/// The rows of one (sequence, query-key head): tokens `row0 .. row0 + len` of the `[b·t]` rows.
pub(crate) struct HeadIo<'a> {
    pub q: &'a [f32],
    pub k: &'a [f32],
    pub v: &'a [f32],
    pub row0: usize,
    pub len: usize,
    pub h: usize,
    pub heads: usize,
    pub vheads: usize,
    pub dk: usize,
    pub dv: usize,
}

impl<'a> HeadIo<'a> {
    /// Head `h` of `d`'s tensors, tokens `row0 .. row0 + len`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        d: &Dims,
        q: &'a [f32],
        k: &'a [f32],
        v: &'a [f32],
        row0: usize,
        len: usize,
        h: usize,
    ) -> Self {
        HeadIo {
            q,
            k,
            v,
            row0,
            len,
            h,
            heads: d.h,
            vheads: d.hv,
            dk: d.dk,
            dv: d.dv,
        }
    }
    pub fn g(&self) -> usize {
        self.vheads / self.heads
    }
    #[inline(always)]
    pub fn q_row(&self, t: usize) -> &[f32] {
        let o = ((self.row0 + t) * self.heads + self.h) * self.dk;
        &self.q[o..o + self.dk]
    }
    #[inline(always)]
    pub fn k_row(&self, t: usize) -> &'a [f32] {
        let o = ((self.row0 + t) * self.heads + self.h) * self.dk;
        &self.k[o..o + self.dk]
    }
    /// Offset of value head `j` of this group at token `t` in `v` and `o`.
    #[inline(always)]
    pub fn v_offset(&self, t: usize, j: usize) -> usize {
        ((self.row0 + t) * self.vheads + self.h * self.g() + j) * self.dv
    }
    #[inline(always)]
    pub fn v_row(&self, t: usize, j: usize) -> &'a [f32] {
        let o = self.v_offset(t, j);
        &self.v[o..o + self.dv]
    }
    /// `dst = scale · q_t`.
    #[inline(always)]
    pub fn load_q(&self, t: usize, scale: f32, dst: &mut [f32]) {
        for (d, s) in dst.iter_mut().zip(self.q_row(t)) {
            *d = scale * s;
        }
    }
}

/// `sign(x) · max(|x|, eps)` with sign(0) = +1; NaN passes through (never hidden).
#[inline(always)]
pub(crate) fn signed_floor(x: f32, eps: f32) -> f32 {
    if x >= 0.0 {
        x.max(eps)
    } else if x < 0.0 {
        x.min(-eps)
    } else {
        x
    }
}

/// `dst = num / floor(den)` when normalising, else `dst = num`.
#[inline(always)]
pub(crate) fn write_output(dst: &mut [f32], num: &[f32], den: f32, p: &Params) {
    if p.normalize {
        let inv = 1.0 / signed_floor(den, p.eps);
        for (d, n) in dst.iter_mut().zip(num) {
            *d = n * inv;
        }
    } else {
        dst.copy_from_slice(&num[..dst.len()]);
    }
}

/// `return Err(…)` unless `cond`; the message arguments are evaluated only on failure, so the
/// per-token path (a session step validates every call) formats and allocates nothing.
macro_rules! ensure {
    ($cond:expr, $arg:expr, $expected:expr, $actual:expr $(,)?) => {
        if !$cond {
            return Err(HlaError::new($arg, $expected, $actual));
        }
    };
}

/// Checks every argument of [`forward`]; returns the number of sequences (states).
pub fn validate(
    op: Op,
    mode: Mode,
    d: &Dims,
    opts: &Options,
    lens: [usize; 4],
    state_len_given: usize,
    cu_seqlens: Option<&[i32]>,
) -> Result<usize, HlaError> {
    ensure!(
        d.b >= 1 && d.h >= 1 && d.hv >= 1 && d.dk >= 1 && d.dv >= 1,
        "dims",
        "b, h, hv, dk, dv ≥ 1",
        format!("{d:?}"),
    );
    ensure!(
        d.hv % d.h == 0,
        "v",
        format!("value heads a multiple of {} (query heads)", d.h),
        d.hv,
    );
    let (q_terms, v_terms) = ([d.b, d.t, d.h, d.dk], [d.b, d.t, d.hv, d.dv]);
    let (nq, nv) = (floats(&[&q_terms]), floats(&[&v_terms]));
    ensure!(
        nq.is_some(),
        "q",
        format!("b·T·h·dk ≤ {MAX_FLOATS} floats (one wasm32 buffer)"),
        exact(&[&q_terms]),
    );
    ensure!(
        nv.is_some(),
        "v",
        format!("b·T·hv·dv ≤ {MAX_FLOATS} floats (one wasm32 buffer)"),
        exact(&[&v_terms]),
    );
    let (nq, nv) = (nq.unwrap_or(0), nv.unwrap_or(0));
    ensure!(lens[0] == nq, "q", format!("{nq} floats"), lens[0]);
    ensure!(lens[1] == nq, "k", format!("{nq} floats"), lens[1]);
    ensure!(lens[2] == nv, "v", format!("{nv} floats"), lens[2]);
    ensure!(lens[3] == nv, "o", format!("{nv} floats"), lens[3]);
    ensure!(
        opts.scale.is_finite(),
        "scale",
        "a finite number",
        opts.scale,
    );
    ensure!(
        opts.decay.len() == 1 || opts.decay.len() == d.h,
        "decay",
        format!("1 or {} values", d.h),
        opts.decay.len(),
    );
    for &g in opts.decay {
        ensure!(g > 0.0 && g <= 1.0, "decay", "a value in (0, 1]", g);
    }
    ensure!(
        opts.eps > 0.0 && opts.eps.is_finite(),
        "eps",
        "a finite number > 0",
        opts.eps,
    );
    ensure!(
        opts.ridge.is_finite(),
        "ridge",
        "a finite number",
        opts.ridge,
    );
    ensure!(
        opts.ridge == 0.0 || op == Op::Hla2,
        "ridge",
        format!("0 ({} has no ridge)", op.name()),
        opts.ridge,
    );
    if let Mode::Chunk(c) = mode {
        ensure!(c >= 1, "chunkSize", "an integer ≥ 1", c);
    }
    let n_seq = match cu_seqlens {
        None => d.b,
        Some(cu) => {
            ensure!(
                d.b == 1,
                "cuSeqlens",
                "batch size 1 (sequences packed along T)",
                format!("batch {}", d.b),
            );
            ensure!(cu.len() >= 2, "cuSeqlens", "at least 2 offsets", cu.len());
            ensure!(cu[0] == 0, "cuSeqlens[0]", "0", cu[0]);
            for i in 1..cu.len() {
                ensure!(
                    cu[i] > cu[i - 1],
                    "cuSeqlens",
                    "strictly increasing offsets",
                    format!("{} then {} at index {i}", cu[i - 1], cu[i]),
                );
            }
            let last = cu[cu.len() - 1];
            ensure!(
                last as i64 == d.t as i64,
                "cuSeqlens",
                format!("last offset = T = {}", d.t),
                last,
            );
            cu.len() - 1
        }
    };
    let want = state_len(op, n_seq, d.h, d.hv, d.dk, d.dv, opts.ridge != 0.0);
    ensure!(
        want.is_some(),
        "state",
        format!("at most {MAX_FLOATS} floats (one wasm32 buffer)"),
        format!("more for {} with {d:?}", op.name()),
    );
    let want = want.unwrap_or(0);
    ensure!(
        workspace_len(mode, d).is_some(),
        "dims",
        format!("a workspace of at most {MAX_FLOATS} floats (one wasm32 buffer)"),
        format!("more for {d:?}, {mode:?}"),
    );
    ensure!(
        state_len_given == want,
        "state",
        format!("{want} floats"),
        state_len_given,
    );
    Ok(n_seq)
}

/// Runs `op` over all sequences and heads. `state` holds the initial state on entry (zeros
/// for none) and the final state on return, laid out `[n_seq, h, group_len]`.
#[allow(clippy::too_many_arguments)]
pub fn forward(
    op: Op,
    mode: Mode,
    d: &Dims,
    opts: &Options,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    o: &mut [f32],
    state: &mut [f32],
    cu_seqlens: Option<&[i32]>,
    ws: &mut Workspace,
) -> Result<(), HlaError> {
    forward_with::<Isa>(op, mode, d, opts, q, k, v, o, state, cu_seqlens, ws)
}

/// [`forward`] with an explicit instruction set (tests compare them).
#[allow(clippy::too_many_arguments)]
pub fn forward_with<S: Simd>(
    op: Op,
    mode: Mode,
    d: &Dims,
    opts: &Options,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    o: &mut [f32],
    state: &mut [f32],
    cu_seqlens: Option<&[i32]>,
    ws: &mut Workspace,
) -> Result<(), HlaError> {
    let mode = mode.capped();
    let n_seq = validate(
        op,
        mode,
        d,
        opts,
        [q.len(), k.len(), v.len(), o.len()],
        state.len(),
        cu_seqlens,
    )?;
    let has_ridge = opts.ridge != 0.0;
    let glen = group_len(op, d.dk, d.dv, d.group(), has_ridge).expect("validated state size");
    for s in 0..n_seq {
        let (row0, len) = match cu_seqlens {
            None => (s * d.t, d.t),
            Some(cu) => (cu[s] as usize, (cu[s + 1] - cu[s]) as usize),
        };
        for h in 0..d.h {
            let io = HeadIo::new(d, q, k, v, row0, len, h);
            let p = Params::for_head(opts, h);
            let st = &mut state[(s * d.h + h) * glen..(s * d.h + h + 1) * glen];
            run_head::<S>(op, mode, &io, &p, st, o, ws);
        }
    }
    Ok(())
}

fn run_head<S: Simd>(
    op: Op,
    mode: Mode,
    io: &HeadIo,
    p: &Params,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
) {
    match (op, mode) {
        (Op::La1, Mode::Recurrent) => la1::recurrent::<S>(io, p, st, o, ws),
        (Op::La1, Mode::Chunk(c)) => la1::chunk::<S>(io, p, st, o, ws, c),
        (Op::Hla2, Mode::Recurrent) => hla2::recurrent::<S>(io, p, st, o, ws),
        (Op::Hla2, Mode::Chunk(c)) => hla2::chunk::<S>(io, p, st, o, ws, c),
        (Op::Ahla, Mode::Recurrent) => ahla::recurrent::<S>(io, p, st, o, ws),
        (Op::Ahla, Mode::Chunk(c)) => ahla::chunk::<S>(io, p, st, o, ws, c),
        (Op::Hla3, Mode::Recurrent) => hla3::recurrent::<S>(io, p, st, o, ws),
        (Op::Hla3, Mode::Chunk(c)) => hla3::chunk::<S>(io, p, st, o, ws, c),
    }
}
