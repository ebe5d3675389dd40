//! Deferred value moments (la1 and hla2 without normalisation), the segment split's second
//! schedule (docs/math.md, section f).
//!
//! hla2's value-side moments (M, n and the ridge's C, m) enter the forward only additively:
//! from a carry (S0, X0), o_t = o_t|_{X0 = 0} + γ^{t+1} q_tᵀ (M0 + λ C0) and every value moment
//! ends as ρ X0 + X|_{X0 = 0}. So a segment can run as soon as its key moment S is known (a
//! key summary, dk² per token), from zero value moments, and be settled once the true value
//! carry is known (dk·dv per token). la1's whole state (z, P) is such a moment: no key
//! summary at all. docs/math.md, section f.

use super::{check_one_sequence, for_chunks, lens};
use crate::error::HlaError;
use crate::gemm::{gemm_acc, MatRef};
use crate::ops::{workspace_len, Dims, HeadIo, Mode, Op, Options, Params};
use crate::simd::Isa;
use crate::size::{floats, MAX_CHUNK, MAX_FLOATS};
use crate::workspace::Workspace;

/// Whether [`key_summary`], [`defer_values`] and [`settle_values`] apply.
pub fn defers_values(op: Op, normalize: bool) -> bool {
    matches!(op, Op::La1 | Op::Hla2) && !normalize
}

fn check_deferred(op: Op, d: &Dims, opts: &Options) -> Result<(), HlaError> {
    check_one_sequence(d)?;
    if !defers_values(op, opts.normalize) {
        return Err(HlaError::new(
            "op",
            "la1 or hla2 without normalize (deferred value moments)",
            op.name(),
        ));
    }
    if d.h == 0 || !d.hv.is_multiple_of(d.h) || d.dk == 0 || d.dv == 0 {
        return Err(HlaError::new(
            "dims",
            "h, dk, dv ≥ 1 and hv a multiple of h",
            format!("{d:?}"),
        ));
    }
    if opts.decay.len() != 1 && opts.decay.len() != d.h {
        return Err(HlaError::new(
            "decay",
            format!("1 or {} values", d.h),
            opts.decay.len(),
        ));
    }
    Ok(())
}

/// A summary (the [`super::segment_summary`] layout) of the keys `k` (`[1, t, h, dk]`) alone: ρ and
/// S_B (la1: ρ only); every value moment and extra is zero, so `combine` with it advances only S (and decays
/// the value moments, which are zero in a deferred carry).
pub fn key_summary(
    op: Op,
    d: &Dims,
    opts: &Options,
    k: &[f32],
    chunk_size: usize,
    ws: &mut Workspace,
) -> Result<Vec<f32>, HlaError> {
    check_deferred(op, d, opts)?;
    let nk = floats(&[&[d.t, d.h, d.dk]]);
    if nk != Some(k.len()) {
        return Err(HlaError::new(
            "k",
            format!("T·h·dk floats, at most {MAX_FLOATS}"),
            k.len(),
        ));
    }
    if chunk_size == 0 {
        return Err(HlaError::new("chunkSize", "an integer ≥ 1", 0));
    }
    let chunk_size = chunk_size.min(MAX_CHUNK);
    if workspace_len(Mode::Chunk(chunk_size), d).is_none() {
        return Err(HlaError::new(
            "dims",
            format!("a workspace of at most {MAX_FLOATS} floats"),
            format!("more for {d:?}"),
        ));
    }
    let has_ridge = opts.ridge != 0.0;
    let [_, sg, _, summary] = lens(op, d, has_ridge)?;
    let mut out = vec![0f32; summary];
    for h in 0..d.h {
        let io = HeadIo::new(d, k, k, &[], 0, d.t, h);
        let p = Params {
            gamma: opts.decay[if opts.decay.len() == 1 { 0 } else { h }],
            scale: 1.0,
            normalize: false,
            eps: opts.eps,
            ridge: 0.0,
            has_ridge: false,
        };
        let grp = &mut out[h * sg..(h + 1) * sg];
        if op == Op::La1 {
            // no key moment: only ρ = γ^t
            grp[0] = (0..d.t).fold(1.0f32, |r, _| r * p.gamma);
            continue;
        }
        let s0 = &mut grp[1..1 + d.dk * d.dk];
        grp[0] = for_chunks(&io, ws, chunk_size, |ch, t0| {
            ch.load_rows(&io, t0, chunk_size.min(io.len - t0), &p);
            ch.key_moment_update::<Isa>(s0);
        });
    }
    Ok(out)
}

/// Where the value-side moments of a group state start: hla2 (n, m, value heads) after S;
/// la1 everything (z, P).
fn value_moments(op: Op, dk: usize) -> usize {
    if op == Op::Hla2 {
        dk * dk
    } else {
        0
    }
}

/// Zeroes the value moments of `state` (one sequence): the carry a deferred segment starts from.
pub fn defer_values(op: Op, d: &Dims, opts: &Options, state: &mut [f32]) -> Result<(), HlaError> {
    check_deferred(op, d, opts)?;
    let [glen, _, _, _] = lens(op, d, opts.ridge != 0.0)?;
    if state.len() != d.h * glen {
        return Err(HlaError::new(
            "state",
            format!("{} floats", d.h * glen),
            state.len(),
        ));
    }
    for grp in state.chunks_exact_mut(glen) {
        grp[value_moments(op, d.dk)..].fill(0.0);
    }
    Ok(())
}

/// Settles a segment (`q`: `[1, t, h, dk]`) that ran from deferred value moments: with `carry`
/// the true state at its start, `o += diag(γ^{t+1}) Q (M0 + λ C0)` per value head (skipped when
/// `o` is empty) and the value moments of `state` (its end state) `+= γ^t` × the carry's.
pub fn settle_values(
    op: Op,
    d: &Dims,
    opts: &Options,
    q: &[f32],
    o: &mut [f32],
    carry: &[f32],
    state: &mut [f32],
) -> Result<(), HlaError> {
    check_deferred(op, d, opts)?;
    let (h, hv, dk, dv, g) = (d.h, d.hv, d.dk, d.dv, d.group());
    let has_ridge = opts.ridge != 0.0;
    let [glen, _, _, _] = lens(op, d, has_ridge)?;
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
    let r = has_ridge as usize;
    for hh in 0..h {
        let gamma = opts.decay[if opts.decay.len() == 1 { 0 } else { hh }];
        let cg = &carry[hh * glen..(hh + 1) * glen];
        let sg = &mut state[hh * glen..(hh + 1) * glen];
        let mut rho = 1.0f32;
        for _ in 0..d.t {
            rho *= gamma;
        }
        for (x, c) in sg[value_moments(op, dk)..]
            .iter_mut()
            .zip(&cg[value_moments(op, dk)..])
        {
            *x += rho * c;
        }
        if o.is_empty() {
            continue;
        }
        // M0 (and C0) of value head j; la1: P0 after z
        let heads0 = if op == Op::Hla2 {
            dk * dk + dk + r * dk
        } else {
            dk
        };
        let per_head = dk * dv * (1 + r);
        let mut w = gamma; // γ^{t+1}
        for t0 in (0..d.t).step_by(BLOCK) {
            let c = BLOCK.min(d.t - t0);
            for t in 0..c {
                let row = &q[((t0 + t) * h + hh) * dk..((t0 + t) * h + hh + 1) * dk];
                let f = opts.scale * w;
                for (a, b) in qb[t * dk..(t + 1) * dk].iter_mut().zip(row) {
                    *a = f * b;
                }
                w *= gamma;
            }
            for j in 0..g {
                let m0 = &cg[heads0 + j * per_head..heads0 + j * per_head + dk * dv];
                x0.copy_from_slice(m0);
                if has_ridge {
                    let c0 = &cg[heads0 + j * per_head + dk * dv..heads0 + (j + 1) * per_head];
                    for (a, b) in x0.iter_mut().zip(c0) {
                        *a += opts.ridge * b;
                    }
                }
                let off = (t0 * hv + hh * g + j) * dv;
                gemm_acc::<Isa>(
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
