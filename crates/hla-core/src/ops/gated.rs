//! What gla and deltaRule share (rla too, where it says): their options check, the check of
//! log-space gates, the loading of q and k (qkL2norm, scale), and the glue of a flat state. Both keep one `dk×dv` matrix per value head (FLA's
//! `[N, HV, K, V]`). Math: docs/math.md, section g.

use super::options::{GatedOptions, Options};
use super::shape::{Dims, HeadIo};
use super::Op;
use crate::error::{ensure, HlaError};
use crate::size::floats;

/// The [`Operator`](super::operator::Operator) items of an operator whose group state is one
/// flat slice (no named moments) and whose forms are its modules' `recurrent::recurrent` and
/// `chunk::chunk`: gla, deltaRule and rla. The attributes (the state's doc) go on `State`.
macro_rules! flat_state_forms {
    ($(#[$m:meta])*) => {
        $(#[$m])*
        type State<'a> = &'a mut [f32];

        fn split<'a>(
            st: &'a mut [f32],
            _: &$crate::ops::shape::GroupDims,
            _: &Self::Params,
        ) -> &'a mut [f32] {
            st
        }
        fn recurrent<S: $crate::simd::Simd>(
            io: &$crate::ops::shape::HeadIo,
            p: &Self::Params,
            st: &mut [f32],
            o: &mut [f32],
            ws: &mut $crate::workspace::Workspace,
        ) {
            recurrent::recurrent::<S>(io, p, st, o, ws)
        }
        fn chunk<S: $crate::simd::Simd>(
            io: &$crate::ops::shape::HeadIo,
            p: &Self::Params,
            st: &mut [f32],
            o: &mut [f32],
            ws: &mut $crate::workspace::Workspace,
            chunk_size: usize,
        ) {
            chunk::chunk::<S>(io, p, st, o, ws, chunk_size)
        }
    };
}
pub(crate) use flat_state_forms;

/// The gated family's options for `op`.
pub(crate) fn gated_options(op: Op, opts: &Options) -> Result<&GatedOptions, HlaError> {
    let o = opts.gated(op)?;
    ensure!(o.scale.is_finite(), "scale", "a finite number", o.scale);
    ensure!(
        !o.qk_l2norm || op == Op::DeltaRule,
        "qkL2norm",
        format!("false ({} has no qkL2norm)", op.name()),
        o.qk_l2norm,
    );
    Ok(o)
}

/// Floats of state per group: one `dk×dv` matrix per value head (`None` past one wasm32
/// buffer, crate::size).
pub(crate) fn group_len(d: &Dims) -> Option<usize> {
    floats(&[&[d.group(), d.dk, d.dv]])
}

/// Log gates must be ≤ 0 (−∞ allowed: a full reset) and not NaN.
pub(crate) fn check_log_gates(arg: &'static str, g: &[f32]) -> Result<(), HlaError> {
    for (i, &x) in g.iter().enumerate() {
        // `!(x <= 0)` also catches NaN.
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        let bad = !(x <= 0.0);
        ensure!(
            !bad,
            arg,
            "log decays ≤ 0 (not NaN)",
            format!("{x} at index {i}")
        );
    }
    Ok(())
}

/// Rates must be finite.
pub(crate) fn check_finite(arg: &'static str, x: &[f32]) -> Result<(), HlaError> {
    for (i, &b) in x.iter().enumerate() {
        ensure!(
            b.is_finite(),
            arg,
            "finite numbers",
            format!("{b} at index {i}")
        );
    }
    Ok(())
}

/// `qdst = scale · q_t` and `kdst = k_t`, each normalised first with qkL2norm. One
/// multiply per element even when it is by 1: a pure copy loop becomes a memcpy call per
/// 64-float row (no faster here, and an opaque call in the profile).
#[inline]
pub(crate) fn load_qk(io: &HeadIo, t: usize, p: &GatedOptions, qdst: &mut [f32], kdst: &mut [f32]) {
    let (q, k) = (io.q_row(t), io.k_row(t));
    let (mut sq, mut sk) = (p.scale, 1.0f32);
    if p.qk_l2norm {
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
