//! The one validator: every argument check of the crate is here, and every entry point
//! (forward, sessions, the segment split) calls these. Errors name the argument, the
//! expected and the actual value (docs/spec.md, "Errors").

use super::operator::Operator;
use super::options::{HlaOptions, Options};
use super::shape::{Dims, InputSpec, Presence};
use super::{Mode, Op};
use crate::error::{ensure, HlaError};
use crate::size::{exact, floats, MAX_FLOATS};

/// `return Err(…)` unless `cond`; the message arguments are evaluated only on failure, so the
/// per-token path (a session step validates every call) formats and allocates nothing.
/// Dimensions ≥ 1 and value heads a multiple of the query-key heads.
pub fn dims(d: &Dims) -> Result<(), HlaError> {
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
    Ok(())
}

/// One sequence (the segment split works on one).
pub fn one_sequence(d: &Dims) -> Result<(), HlaError> {
    ensure!(d.b == 1, "dims", "b = 1 (a segment of one sequence)", d.b);
    Ok(())
}

/// The most per-token inputs an operator may declare.
pub const MAX_INPUTS: usize = 16;

/// The lengths of `inputs`, on the stack (a session step validates every call).
pub struct Lengths([usize; MAX_INPUTS], usize);

impl Lengths {
    pub fn of(inputs: &[&[f32]]) -> Result<Lengths, HlaError> {
        ensure!(
            inputs.len() <= MAX_INPUTS,
            "inputs",
            format!("at most {MAX_INPUTS} tensors"),
            inputs.len(),
        );
        let mut lens = [0usize; MAX_INPUTS];
        for (l, x) in lens.iter_mut().zip(inputs) {
            *l = x.len();
        }
        Ok(Lengths(lens, inputs.len()))
    }
    pub fn get(&self) -> &[usize] {
        &self.0[..self.1]
    }
}

/// Every per-token input (`specs`, the operator's; `lens`: their lengths in that order, 0 for
/// an absent optional one; `width`: the operator's token width) and the output `o`.
pub fn inputs(
    specs: &[InputSpec],
    width: usize,
    d: &Dims,
    lens: &[usize],
    o_len: usize,
) -> Result<(), HlaError> {
    ensure!(
        lens.len() == specs.len(),
        "inputs",
        format!("{} tensors ({})", specs.len(), input_names(specs)),
        lens.len(),
    );
    for (spec, &len) in specs.iter().zip(lens) {
        let ([a, b], names) = spec.per_token(d, width);
        let n = floats(&[&[d.b, d.t, a, b]]);
        ensure!(
            n.is_some(),
            spec.name,
            format!("b·T·{names} ≤ {MAX_FLOATS} floats (one wasm32 buffer)"),
            exact(&[&[d.b, d.t, a, b]]),
        );
        let n = n.unwrap_or(0);
        let absent = spec.presence == Presence::Optional && len == 0;
        ensure!(absent || len == n, spec.name, format!("{n} floats"), len);
    }
    let nv = floats(&[&[d.b, d.t, d.hv, d.dv]]).unwrap_or(usize::MAX);
    ensure!(o_len == nv, "o", format!("{nv} floats"), o_len);
    Ok(())
}

fn input_names(specs: &[InputSpec]) -> String {
    specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// Whether an HLA operator accepts a ridge.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Ridge {
    Accepted,
    Refused,
}

/// The HLA family's options for `op` (with `d.h` query-key heads).
pub fn hla_options<'o>(
    op: Op,
    d: &Dims,
    opts: &'o Options,
    ridge: Ridge,
) -> Result<&'o HlaOptions, HlaError> {
    let o = opts.hla(op)?;
    ensure!(o.scale.is_finite(), "scale", "a finite number", o.scale);
    ensure!(
        o.decay.len() == 1 || o.decay.len() == d.h,
        "decay",
        format!("1 or {} values", d.h),
        o.decay.len(),
    );
    for &g in &o.decay {
        ensure!(g > 0.0 && g <= 1.0, "decay", "a value in (0, 1]", g);
    }
    ensure!(
        o.eps > 0.0 && o.eps.is_finite(),
        "eps",
        "a finite number > 0",
        o.eps,
    );
    ensure!(o.ridge.is_finite(), "ridge", "a finite number", o.ridge);
    ensure!(
        o.ridge == 0.0 || ridge == Ridge::Accepted,
        "ridge",
        format!("0 ({} has no ridge)", op.name()),
        o.ridge,
    );
    Ok(o)
}

/// `mode`'s chunk size.
pub fn mode(mode: Mode) -> Result<(), HlaError> {
    if let Mode::Chunk(c) = mode {
        ensure!(c >= 1, "chunkSize", "an integer ≥ 1", c);
    }
    Ok(())
}

/// The sequences: the batch, or those of `cu_seqlens` (then `d.b == 1`); returns their number.
pub fn sequences(d: &Dims, cu_seqlens: Option<&[i32]>) -> Result<usize, HlaError> {
    let Some(cu) = cu_seqlens else {
        return Ok(d.b);
    };
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
    Ok(cu.len() - 1)
}

/// The kernels' scratch for `mode` over `d` fits one wasm32 buffer.
pub fn workspace(mode: Mode, d: &Dims) -> Result<(), HlaError> {
    ensure!(
        super::workspace_len(mode, d).is_some(),
        "dims",
        format!("a workspace of at most {MAX_FLOATS} floats (one wasm32 buffer)"),
        format!("more for {d:?}, {mode:?}"),
    );
    Ok(())
}

/// A buffer of `want` floats named `arg` (a state, a summary).
pub fn length(arg: &'static str, want: usize, given: usize) -> Result<(), HlaError> {
    ensure!(given == want, arg, format!("{want} floats"), given);
    Ok(())
}

/// Checks every argument of a forward of `O` (`ins`: the inputs' lengths); returns the number
/// of sequences (states).
#[allow(clippy::too_many_arguments)]
pub fn forward<O: Operator>(
    m: Mode,
    d: &Dims,
    opts: &Options,
    ins: &[usize],
    o_len: usize,
    state_len: usize,
    cu_seqlens: Option<&[i32]>,
) -> Result<usize, HlaError> {
    // The operator's part as data and one callback: the checks below exist once, not once per
    // operator.
    let op = OpChecks {
        op: O::OP,
        inputs: O::INPUTS,
        token_width: O::token_width(opts),
        group_len: O::group_len(d, opts),
        options: &|| O::check_options(d, opts),
    };
    forward_checks(&op, m, d, ins, o_len, state_len, cu_seqlens)
}

/// What [`forward`] checks of one operator.
struct OpChecks<'a> {
    op: Op,
    inputs: &'static [InputSpec],
    token_width: usize,
    group_len: Option<usize>,
    options: &'a dyn Fn() -> Result<(), HlaError>,
}

#[inline(never)] // once, not inlined into every operator's driver
fn forward_checks(
    op: &OpChecks,
    m: Mode,
    d: &Dims,
    ins: &[usize],
    o_len: usize,
    state_len: usize,
    cu_seqlens: Option<&[i32]>,
) -> Result<usize, HlaError> {
    dims(d)?;
    inputs(op.inputs, op.token_width, d, ins, o_len)?;
    (op.options)()?;
    mode(m)?;
    let n_seq = sequences(d, cu_seqlens)?;
    let want = op.group_len.and_then(|g| floats(&[&[n_seq, d.h, g]]));
    ensure!(
        want.is_some(),
        "state",
        format!("at most {MAX_FLOATS} floats (one wasm32 buffer)"),
        format!("more for {} with {d:?}", op.op.name()),
    );
    workspace(m, d)?;
    length("state", want.unwrap_or(0), state_len)?;
    Ok(n_seq)
}
