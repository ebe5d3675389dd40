//! Deferred value moments, the segment split's second schedule (docs/math.md, section f), for
//! operators whose [`Operator::value_moments`] says where they are (hla2 without
//! normalisation).
//!
//! hla2's value-side moments (M, n and the ridge's C, m) enter the forward only additively:
//! from a carry (S0, X0), o_t = o_t|_{X0 = 0} + γ^{t+1} q_tᵀ (M0 + λ C0) and every value moment
//! ends as ρ X0 + X|_{X0 = 0}. So a segment can run as soon as its key moment S is known (a
//! key summary, dk² per token), from zero value moments, and be settled once the true value
//! carry is known (dk·dv per token).

use super::super::operator::{Operator, ValueMoments};
use super::super::options::Options;
use super::super::shape::{Dims, HeadIo};
use super::super::validate;
use super::{for_chunks, lens};
use crate::error::HlaError;
use crate::gemm::{gemm_acc, MatRef};
use crate::ops::options::Params;
use crate::ops::{Mode, Op};
use crate::simd::Simd;
use crate::size::{floats, MAX_CHUNK, MAX_FLOATS};
use crate::workspace::Workspace;

/// The value moments of `O` with `opts`, or the error naming the operator.
fn moments<O: Operator>(d: &Dims, opts: &Options) -> Result<ValueMoments, HlaError> {
    if !O::DEFERS_VALUES {
        return Err(not_deferred(O::OP));
    }
    validate::one_sequence(d)?;
    validate::dims(d)?;
    O::check_options(d, opts)?;
    O::value_moments(d, opts).ok_or_else(|| not_deferred(O::OP))
}

fn not_deferred(op: Op) -> HlaError {
    HlaError::new(
        "op",
        "hla2 without normalize (deferred value moments)",
        op.name(),
    )
}

/// Whether [`key_summary`], [`defer_values`] and [`settle_values`] apply to `O` with `opts`.
pub(crate) fn defers_values<O: Operator>(d: &Dims, opts: &Options) -> bool {
    O::value_moments(d, opts).is_some()
}

/// A summary (the segment summary's layout) of the keys `k` (`[1, t, h, dk]`) alone: ρ and
/// S_B; every value moment and extra is zero, so `combine` with it advances only S (and decays
/// the value moments, which are zero in a deferred carry).
pub(crate) fn key_summary<S: Simd, O: Operator>(
    d: &Dims,
    opts: &Options,
    k: &[f32],
    chunk_size: usize,
    ws: &mut Workspace,
) -> Result<Vec<f32>, HlaError> {
    moments::<O>(d, opts)?;
    let hla = opts.hla(O::OP)?;
    if floats(&[&[d.t, d.h, d.dk]]) != Some(k.len()) {
        return Err(HlaError::new(
            "k",
            format!("T·h·dk floats, at most {MAX_FLOATS}"),
            k.len(),
        ));
    }
    validate::mode(Mode::Chunk(chunk_size))?;
    let chunk_size = chunk_size.min(MAX_CHUNK);
    validate::workspace(Mode::Chunk(chunk_size), d)?;
    let [_, sg, _, summary] = lens::<O>(d, opts)?;
    let mut out = vec![0f32; summary];
    // Only the keys are read (`Scores::load_rows` also scales the "queries": here k again).
    let inputs: [&[f32]; 3] = [k, k, &[]];
    for head in 0..d.h {
        let io = HeadIo::new(d, &inputs, 0, d.t, head);
        let p = Params {
            scale: 1.0,
            ..Params::for_head(hla, head)
        };
        let grp = &mut out[head * sg..(head + 1) * sg];
        let s0 = &mut grp[1..1 + d.dk * d.dk];
        grp[0] = for_chunks(&io, ws, chunk_size, |sc, _, t0| {
            sc.load_rows(&io, t0, chunk_size.min(io.len - t0), &p);
            sc.key_moment_update::<S>(s0);
        });
    }
    Ok(out)
}

/// Zeroes the value moments of `state` (one sequence): the carry a deferred segment starts from.
pub(crate) fn defer_values<O: Operator>(
    d: &Dims,
    opts: &Options,
    state: &mut [f32],
) -> Result<(), HlaError> {
    let vm = moments::<O>(d, opts)?;
    let [glen, _, state_len, _] = lens::<O>(d, opts)?;
    validate::length("state", state_len, state.len())?;
    for grp in state.chunks_exact_mut(glen) {
        grp[vm.start..].fill(0.0);
    }
    Ok(())
}

/// Settles a segment (`q`: `[1, t, h, dk]`) that ran from deferred value moments: with `carry`
/// the true state at its start, `o += diag(γ^{t+1}) Q (M0 + λ C0)` per value head (skipped when
/// `o` is empty) and the value moments of `state` (its end state) `+= γ^t` × the carry's.
#[allow(clippy::too_many_arguments)]
pub(crate) fn settle_values<S: Simd, O: Operator>(
    d: &Dims,
    opts: &Options,
    q: &[f32],
    o: &mut [f32],
    carry: &[f32],
    state: &mut [f32],
) -> Result<(), HlaError> {
    let vm = moments::<O>(d, opts)?;
    let hla = opts.hla(O::OP)?;
    let (h, hv, dk, dv, g) = (d.h, d.hv, d.dk, d.dv, d.group());
    let [glen, _, _, _] = lens::<O>(d, opts)?;
    if state.len() != h * glen || carry.len() != h * glen {
        return Err(HlaError::new(
            "state",
            format!("{} floats", h * glen),
            format!("{} and {}", carry.len(), state.len()),
        ));
    }
    let (nq, no) = (
        floats(&[&[d.t, h, dk]]).unwrap_or(usize::MAX),
        floats(&[&[d.t, hv, dv]]).unwrap_or(usize::MAX),
    );
    if !o.is_empty() && (q.len() != nq || o.len() != no) {
        return Err(HlaError::new(
            "q, o",
            format!("{nq} and {no} floats"),
            format!("{} and {}", q.len(), o.len()),
        ));
    }
    const BLOCK: usize = 64;
    let mut qb = vec![0f32; BLOCK * dk];
    let mut x0 = vec![0f32; dk * dv];
    let scale = hla.scale;
    for hh in 0..h {
        let gamma = hla.gamma_for_head(hh);
        let cg = &carry[hh * glen..(hh + 1) * glen];
        let sg = &mut state[hh * glen..(hh + 1) * glen];
        let mut rho = 1.0f32;
        for _ in 0..d.t {
            rho *= gamma;
        }
        for (x, c) in sg[vm.start..].iter_mut().zip(&cg[vm.start..]) {
            *x += rho * c;
        }
        if o.is_empty() {
            continue;
        }
        let mut w = gamma; // γ^{t+1}
        for t0 in (0..d.t).step_by(BLOCK) {
            let c = BLOCK.min(d.t - t0);
            for t in 0..c {
                let row = &q[((t0 + t) * h + hh) * dk..((t0 + t) * h + hh + 1) * dk];
                let f = scale * w;
                for (a, b) in qb[t * dk..(t + 1) * dk].iter_mut().zip(row) {
                    *a = f * b;
                }
                w *= gamma;
            }
            for j in 0..g {
                // X0 = M0 (+ λ C0) of value head j
                let head = &cg[vm.heads + j * vm.per_head..vm.heads + (j + 1) * vm.per_head];
                x0.copy_from_slice(&head[..dk * dv]);
                if vm.ridge != 0.0 {
                    for (a, b) in x0.iter_mut().zip(&head[dk * dv..2 * dk * dv]) {
                        *a += vm.ridge * b;
                    }
                }
                let off = (t0 * hv + hh * g + j) * dv;
                gemm_acc::<S>(
                    c,
                    dv,
                    dk,
                    MatRef::rows(&qb, dk),
                    &x0,
                    dv,
                    &mut o[off..],
                    hv * dv,
                );
            }
        }
    }
    Ok(())
}
