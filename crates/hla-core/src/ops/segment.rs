//! Segment split of one long sequence (docs/math.md, sections d and f): the summary of a
//! segment B computed from a zero state, state only (no outputs), in chunk (matmul) form, and
//! the combine `carry ← carry ⊕ summary(B)` on the normal state layout. With them a sequence
//! can be cut into segments that run on different workers: summaries in parallel, an
//! exclusive scan of carries, then every segment's forward from its carry. The second
//! schedule, deferred value moments (la1, hla2), is in `segment/deferred.rs`.
//!
//! Summary layout per (sequence, query-key head) group, contiguous:
//! `ρ_B = γ^{|B|}`, then the group's state from zero (`group_len` floats, the state layout),
//! then the extra moments the cross terms need (all undecayed unless marked γ):
//! - la1:  nothing
//! - hla2: `Σq[dk], g × C_B[dk×dv]` with C_B = Σ q⊗v
//! - ahla: `R^{KQ}_B[dk×dk]` = Σ k⊗q
//! - hla3: `S^{Q,γ}_B[dk×dk], U_B[dk×dk], R1_B[dk], g × R_B[dk×dv]`
//!   (S^{Q,γ}_B = Σ γ^u q_u⊗q_u, U_B = Σ S_{B,≤u} q_u⊗q_u, R_B = Σ q_u⊗(q_uᵀ P_{B,≤u}),
//!   R1_B = the same with P → m, u the 1-based position in B)

use super::chunk::{Chunk, Vals};
use super::{group_len, state_len, validate, Dims, HeadIo, Mode, Op, Options, Params};
use crate::error::HlaError;
use crate::gemm::{gemm, gemm_acc, MatRef};
use crate::simd::{Isa, Simd};
use crate::size::{floats, MAX_CHUNK, MAX_FLOATS};
use crate::workspace::Workspace;

mod deferred;
pub use deferred::{defer_values, defers_values, key_summary, settle_values};

/// Floats of extra moments per group, after ρ and the state.
fn extra_len(op: Op, dk: usize, dv: usize, g: usize) -> Option<usize> {
    match op {
        Op::La1 => Some(0),
        Op::Hla2 => floats(&[&[dk], &[g, dk, dv]]),
        Op::Ahla => floats(&[&[dk, dk]]),
        Op::Hla3 => floats(&[&[2, dk, dk], &[dk], &[g, dk, dv]]),
    }
}

/// Floats of a segment summary per (sequence, query-key head) group.
pub fn summary_group_len(op: Op, dk: usize, dv: usize, g: usize, has_ridge: bool) -> Option<usize> {
    let (glen, extra) = (
        group_len(op, dk, dv, g, has_ridge)?,
        extra_len(op, dk, dv, g)?,
    );
    floats(&[&[1], &[glen], &[extra]])
}

/// Floats of the summary of one segment of one sequence with `h` query-key heads.
pub fn summary_len(
    op: Op,
    h: usize,
    hv: usize,
    dk: usize,
    dv: usize,
    has_ridge: bool,
) -> Option<usize> {
    floats(&[&[h, summary_group_len(op, dk, dv, hv / h.max(1), has_ridge)?]])
}

/// Floats of one group's state and summary, and of one sequence's state and summary (`h`
/// groups), all checked against [`MAX_FLOATS`].
pub(crate) fn lens(op: Op, d: &Dims, has_ridge: bool) -> Result<[usize; 4], HlaError> {
    let too_big = || {
        HlaError::new(
            "dims",
            format!("a state and summary of at most {MAX_FLOATS} floats (one wasm32 buffer)"),
            format!("more for {} with {d:?}", op.name()),
        )
    };
    let g = d.hv / d.h.max(1);
    let glen = group_len(op, d.dk, d.dv, g, has_ridge).ok_or_else(too_big)?;
    let sg = summary_group_len(op, d.dk, d.dv, g, has_ridge).ok_or_else(too_big)?;
    let state = floats(&[&[d.h, glen]]).ok_or_else(too_big)?;
    let summary = floats(&[&[d.h, sg]]).ok_or_else(too_big)?;
    Ok([glen, sg, state, summary])
}

/// The summary of the segment `q, k, v` (`d.b == 1`, `d.t` tokens, all heads) from a zero
/// state, computed chunk by chunk (`chunk_size` ≥ 1) without forming any output.
#[allow(clippy::too_many_arguments)]
pub fn segment_summary(
    op: Op,
    d: &Dims,
    opts: &Options,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    chunk_size: usize,
    ws: &mut Workspace,
) -> Result<Vec<f32>, HlaError> {
    segment_summary_with::<Isa>(op, d, opts, q, k, v, chunk_size, ws)
}

/// [`segment_summary`] with an explicit instruction set.
#[allow(clippy::too_many_arguments)]
pub fn segment_summary_with<S: Simd>(
    op: Op,
    d: &Dims,
    opts: &Options,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    chunk_size: usize,
    ws: &mut Workspace,
) -> Result<Vec<f32>, HlaError> {
    check_one_sequence(d)?;
    let chunk_size = chunk_size.min(MAX_CHUNK);
    let has_ridge = opts.ridge != 0.0;
    let nv = floats(&[&[d.t, d.hv, d.dv]]).unwrap_or(usize::MAX);
    let slen = state_len(op, 1, d.h, d.hv, d.dk, d.dv, has_ridge).unwrap_or(usize::MAX);
    validate(
        op,
        Mode::Chunk(chunk_size),
        d,
        opts,
        [q.len(), k.len(), v.len(), nv],
        slen,
        None,
    )?;
    let [glen, sg, _, summary] = lens(op, d, has_ridge)?;
    let mut out = vec![0f32; summary];
    for h in 0..d.h {
        let io = HeadIo::new(d, q, k, v, 0, d.t, h);
        let p = Params::for_head(opts, h);
        let grp = &mut out[h * sg..(h + 1) * sg];
        let (rho, rest) = grp.split_first_mut().unwrap();
        let (st, extra) = rest.split_at_mut(glen);
        *rho = match op {
            Op::La1 => la1_summary::<S>(&io, &p, st, ws, chunk_size),
            Op::Hla2 => hla2_summary::<S>(&io, &p, st, extra, ws, chunk_size),
            Op::Ahla => ahla_summary::<S>(&io, &p, st, extra, ws, chunk_size),
            Op::Hla3 => hla3_summary::<S>(&io, &p, st, extra, ws, chunk_size),
        };
    }
    Ok(out)
}

fn check_one_sequence(d: &Dims) -> Result<(), HlaError> {
    if d.b != 1 {
        return Err(HlaError::new(
            "dims",
            "b = 1 (a segment of one sequence)",
            d.b,
        ));
    }
    Ok(())
}

/// The chunks of one head: calls `f(chunk, t0)` for each; returns ρ = γ^len.
fn for_chunks<'w>(
    io: &HeadIo,
    ws: &'w mut Workspace,
    chunk_size: usize,
    mut f: impl FnMut(&mut Chunk<'w>, usize),
) -> f32 {
    let mut ch = Chunk::new(ws, chunk_size.min(io.len).max(1), io.dk, io.dv);
    let mut rho = 1.0f32;
    for t0 in (0..io.len).step_by(chunk_size) {
        f(&mut ch, t0);
        rho *= ch.rho();
    }
    rho
}

/// la1: z_B = Σ γ^{|B|−u} k_u, P_B = Σ γ^{|B|−u} k_u⊗v_u (only Kd rows, no scores).
fn la1_summary<S: Simd>(
    io: &HeadIo,
    p: &Params,
    st: &mut [f32],
    ws: &mut Workspace,
    cs: usize,
) -> f32 {
    let (dk, dv) = (io.dk, io.dv);
    let (z, heads) = st.split_at_mut(dk);
    for_chunks(io, ws, cs, |ch, t0| {
        ch.load_rows(io, t0, cs.min(io.len - t0), p);
        for (j, pm) in heads.chunks_exact_mut(dk * dv).enumerate() {
            ch.load_v(io, t0, j);
            ch.decayed_outer_update::<S>(pm, Vals::V, false);
        }
        ch.decayed_vec_update(z, false, false);
    })
}

/// hla2: the chunk form's state update from zero, plus the raw Σ q and C_B = Σ q⊗v.
fn hla2_summary<S: Simd>(
    io: &HeadIo,
    p: &Params,
    st: &mut [f32],
    extra: &mut [f32],
    ws: &mut Workspace,
    cs: usize,
) -> f32 {
    let (dk, dv) = (io.dk, io.dv);
    let (s0, rest) = st.split_at_mut(dk * dk);
    let (n0, rest) = rest.split_at_mut(dk);
    let (m0, heads) = rest.split_at_mut(if p.has_ridge { dk } else { 0 });
    let (qsum, craw) = extra.split_at_mut(dk);
    let per_head = dk * dv * (1 + p.has_ridge as usize);
    for_chunks(io, ws, cs, |ch, t0| {
        ch.load_rows(io, t0, cs.min(io.len - t0), p);
        ch.form_scores::<S>();
        for (j, head) in heads.chunks_exact_mut(per_head).enumerate() {
            let (mm, cc) = head.split_at_mut(dk * dv);
            ch.load_v(io, t0, j);
            ch.second_order_update::<S>(mm, s0, Vals::V);
            add(
                &mut craw[j * dk * dv..(j + 1) * dk * dv],
                ch.raw_query_vals(),
            );
            if p.has_ridge {
                ch.decayed_outer_update::<S>(cc, Vals::V, true);
            }
        }
        ch.second_order_vec_update(n0, s0, false);
        add(qsum, ch.raw_query_weights());
        if p.has_ridge {
            ch.decayed_vec_update(m0, false, true);
        }
        ch.key_moment_update::<S>(s0);
    })
}

/// ahla: the chunk form's state update from zero, plus the raw R^{KQ}_B = Σ k⊗q.
fn ahla_summary<S: Simd>(
    io: &HeadIo,
    p: &Params,
    st: &mut [f32],
    extra: &mut [f32],
    ws: &mut Workspace,
    cs: usize,
) -> f32 {
    let (dk, dv) = (io.dk, io.dv);
    let (m, rest) = st.split_at_mut(dk);
    let (n, heads) = rest.split_at_mut(dk);
    for_chunks(io, ws, cs, |ch, t0| {
        ch.load_rows(io, t0, cs.min(io.len - t0), p);
        ch.form_scores::<S>();
        ch.form_r1(m);
        for (j, head) in heads.chunks_exact_mut(2 * dk * dv).enumerate() {
            let (pm, em) = head.split_at_mut(dk * dv);
            ch.load_v(io, t0, j);
            ch.form_r::<S>(pm);
            ch.decayed_outer_update::<S>(pm, Vals::V, false);
            ch.decayed_outer_update::<S>(em, Vals::R, false);
        }
        ch.decayed_vec_update(n, true, false);
        ch.decayed_vec_update(m, false, false);
        ch.key_query_moment_acc::<S>(extra);
    })
}

/// hla3: the chunk form's state update from zero, plus S^{Q,γ}_B, U_B, R1_B and R_B.
fn hla3_summary<S: Simd>(
    io: &HeadIo,
    p: &Params,
    st: &mut [f32],
    extra: &mut [f32],
    ws: &mut Workspace,
    cs: usize,
) -> f32 {
    let (dk, dv) = (io.dk, io.dv);
    let (s0, rest) = st.split_at_mut(dk * dk);
    let (m, rest) = rest.split_at_mut(dk);
    let (eta, heads) = rest.split_at_mut(dk);
    let (sqg, rest) = extra.split_at_mut(dk * dk);
    let (u, rest) = rest.split_at_mut(dk * dk);
    let (r1, rb) = rest.split_at_mut(dk);
    let mut w = vec![0f32; dk * dk];
    let mut w0 = 1.0f32; // γ^{t0}
    for_chunks(io, ws, cs, |ch, t0| {
        ch.load_rows(io, t0, cs.min(io.len - t0), p);
        ch.form_scores::<S>();
        ch.form_r1(m);
        ch.query_moments_acc::<S>(s0, w0, sqg, u, &mut w);
        for (j, head) in heads.chunks_exact_mut(2 * dk * dv).enumerate() {
            let (pm, fm) = head.split_at_mut(dk * dv);
            ch.load_v(io, t0, j);
            ch.form_r::<S>(pm);
            ch.second_order_update::<S>(fm, s0, Vals::R);
            add(&mut rb[j * dk * dv..(j + 1) * dk * dv], ch.raw_query_vals());
            ch.decayed_outer_update::<S>(pm, Vals::V, false);
        }
        ch.second_order_vec_update(eta, s0, true);
        add(r1, ch.raw_query_weights());
        ch.decayed_vec_update(m, false, false);
        ch.key_moment_update::<S>(s0);
        w0 *= ch.rho();
    })
}

fn add(dst: &mut [f32], src: &[f32]) {
    for (a, b) in dst.iter_mut().zip(src) {
        *a += b;
    }
}

/// `carry ← carry ⊕ summary(B)` for one sequence (`d.b == 1`; `d.t` is not used), in place
/// on the state layout. Every moment X becomes `ρ_B (X_A + cross_X) + X_B`, where cross_X
/// is non-zero only for the moments that read an earlier moment (docs/math.md, section d):
/// - hla2: M += S_A C_B, n += S_A Σq
/// - ahla: E += R^{KQ}_B P_A, n += R^{KQ}_B m_A
/// - hla3: F += S_A (R_B + S^{Q,γ}_B P_A) + U_B P_A, η likewise with (R1_B, m_A)
pub fn combine(
    op: Op,
    d: &Dims,
    opts: &Options,
    carry: &mut [f32],
    summary: &[f32],
) -> Result<(), HlaError> {
    check_one_sequence(d)?;
    let has_ridge = opts.ridge != 0.0;
    let (h, dk, dv) = (d.h, d.dk, d.dv);
    if d.h == 0 || !d.hv.is_multiple_of(d.h) {
        return Err(HlaError::new(
            "dims",
            "hv a multiple of h ≥ 1",
            format!("{d:?}"),
        ));
    }
    let g = d.group();
    let [glen, sg, _, _] = lens(op, d, has_ridge)?;
    if carry.len() != h * glen {
        return Err(HlaError::new(
            "state",
            format!("{} floats", h * glen),
            carry.len(),
        ));
    }
    if summary.len() != h * sg {
        return Err(HlaError::new(
            "summary",
            format!("{} floats", h * sg),
            summary.len(),
        ));
    }
    let mut cross = vec![0f32; glen];
    let mut t1 = vec![0f32; dk * dv.max(dk)];
    for hh in 0..h {
        let a = &mut carry[hh * glen..(hh + 1) * glen];
        let s = &summary[hh * sg..(hh + 1) * sg];
        let (rho, sb, extra) = (s[0], &s[1..1 + glen], &s[1 + glen..]);
        cross.fill(0.0);
        cross_terms(op, dk, dv, g, has_ridge, a, extra, &mut cross, &mut t1);
        for ((x, c), b) in a.iter_mut().zip(&cross).zip(sb) {
            *x = rho * (*x + c) + b;
        }
    }
    Ok(())
}

/// The cross terms of [`combine`] for one group, read from the carry `a` (before the update).
#[allow(clippy::too_many_arguments)]
fn cross_terms(
    op: Op,
    dk: usize,
    dv: usize,
    g: usize,
    has_ridge: bool,
    a: &[f32],
    extra: &[f32],
    cross: &mut [f32],
    t1: &mut [f32],
) {
    let mat = |x: &[f32], y: &[f32], cols: usize, dst: &mut [f32]| {
        gemm::<Isa>(dk, cols, dk, MatRef::rows(x, dk), y, cols, dst, cols);
    };
    let mat_acc = |x: &[f32], y: &[f32], cols: usize, dst: &mut [f32]| {
        gemm_acc::<Isa>(dk, cols, dk, MatRef::rows(x, dk), y, cols, dst, cols);
    };
    match op {
        Op::La1 => {}
        Op::Hla2 => {
            let r = has_ridge as usize;
            let sa = &a[..dk * dk];
            let (qsum, craw) = extra.split_at(dk);
            mat(sa, qsum, 1, &mut cross[dk * dk..dk * dk + dk]);
            let base = dk * dk + dk + r * dk;
            let per_head = dk * dv * (1 + r);
            for j in 0..g {
                let o = base + j * per_head;
                mat(
                    sa,
                    &craw[j * dk * dv..(j + 1) * dk * dv],
                    dv,
                    &mut cross[o..o + dk * dv],
                );
            }
        }
        Op::Ahla => {
            let rkq = &extra[..dk * dk];
            mat(rkq, &a[..dk], 1, &mut cross[dk..2 * dk]);
            for j in 0..g {
                let o = 2 * dk + j * 2 * dk * dv;
                let pa = &a[o..o + dk * dv];
                mat(rkq, pa, dv, &mut cross[o + dk * dv..o + 2 * dk * dv]);
            }
        }
        Op::Hla3 => {
            let sa = &a[..dk * dk];
            let (sqg, rest) = extra.split_at(dk * dk);
            let (u, rest) = rest.split_at(dk * dk);
            let (r1, rb) = rest.split_at(dk);
            // η: S_A (R1_B + S^{Q,γ}_B m_A) + U_B m_A
            let ma = &a[dk * dk..dk * dk + dk];
            let (ce, cross_rest) = cross[dk * dk + dk..].split_at_mut(dk);
            let tv = &mut t1[..dk];
            mat(sqg, ma, 1, tv);
            add(tv, r1);
            mat(sa, tv, 1, ce);
            mat_acc(u, ma, 1, ce);
            // F: S_A (R_B + S^{Q,γ}_B P_A) + U_B P_A
            let tm = &mut t1[..dk * dv];
            for j in 0..g {
                let o = j * 2 * dk * dv; // within cross_rest / the heads part
                let pa = &a[dk * dk + 2 * dk + o..dk * dk + 2 * dk + o + dk * dv];
                let cf = &mut cross_rest[o + dk * dv..o + 2 * dk * dv];
                mat(sqg, pa, dv, tm);
                add(tm, &rb[j * dk * dv..(j + 1) * dk * dv]);
                mat(sa, tm, dv, cf);
                mat_acc(u, pa, dv, cf);
            }
        }
    }
}
