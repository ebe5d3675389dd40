//! Vector and rank-1 kernels for the streaming recurrences. Each matrix is swept once per
//! token: the update `X ← γX + a⊗b` and the read (`X q` or `qᵀX`) happen in the same pass,
//! so the state is loaded and stored once (the recurrence is load/store bound, not FLOP bound).

use crate::simd::Simd;

/// `Σ a[i] b[i]` with two independent accumulators (hides add latency).
#[inline(always)]
pub fn dot<S: Simd>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let l = S::LANES;
    let (mut acc0, mut acc1) = (S::splat(0.0), S::splat(0.0));
    let mut i = 0;
    unsafe {
        while i + 2 * l <= n {
            acc0 = S::mul_add(S::load(a.as_ptr().add(i)), S::load(b.as_ptr().add(i)), acc0);
            acc1 = S::mul_add(
                S::load(a.as_ptr().add(i + l)),
                S::load(b.as_ptr().add(i + l)),
                acc1,
            );
            i += 2 * l;
        }
        while i + l <= n {
            acc0 = S::mul_add(S::load(a.as_ptr().add(i)), S::load(b.as_ptr().add(i)), acc0);
            i += l;
        }
    }
    let mut s = S::sum(S::add(acc0, acc1));
    while i < n {
        s += a[i] * b[i];
        i += 1;
    }
    s
}

/// `y ← γ y + a x`; returns `y·q` (after the update).
#[inline(always)]
pub fn decay_axpy_dot<S: Simd>(y: &mut [f32], gamma: f32, a: f32, x: &[f32], q: &[f32]) -> f32 {
    let n = y.len();
    assert!(x.len() >= n && q.len() >= n);
    let l = S::LANES;
    let (g, av) = (S::splat(gamma), S::splat(a));
    let (mut acc0, mut acc1) = (S::splat(0.0), S::splat(0.0));
    let mut i = 0;
    unsafe {
        let (yp, xp, qp) = (y.as_mut_ptr(), x.as_ptr(), q.as_ptr());
        while i + 2 * l <= n {
            let y0 = S::mul_add(av, S::load(xp.add(i)), S::mul(g, S::load(yp.add(i))));
            let y1 = S::mul_add(
                av,
                S::load(xp.add(i + l)),
                S::mul(g, S::load(yp.add(i + l))),
            );
            S::store(yp.add(i), y0);
            S::store(yp.add(i + l), y1);
            acc0 = S::mul_add(y0, S::load(qp.add(i)), acc0);
            acc1 = S::mul_add(y1, S::load(qp.add(i + l)), acc1);
            i += 2 * l;
        }
        while i + l <= n {
            let y0 = S::mul_add(av, S::load(xp.add(i)), S::mul(g, S::load(yp.add(i))));
            S::store(yp.add(i), y0);
            acc0 = S::mul_add(y0, S::load(qp.add(i)), acc0);
            i += l;
        }
    }
    let mut s = S::sum(S::add(acc0, acc1));
    while i < n {
        y[i] = gamma * y[i] + a * x[i];
        s += y[i] * q[i];
        i += 1;
    }
    s
}

/// `y ← γ y + a x`; `out += c y` (after the update).
#[inline(always)]
pub fn decay_axpy_read<S: Simd>(
    y: &mut [f32],
    gamma: f32,
    a: f32,
    x: &[f32],
    c: f32,
    out: &mut [f32],
) {
    let n = y.len();
    assert!(x.len() >= n && out.len() >= n);
    let l = S::LANES;
    let (g, av, cv) = (S::splat(gamma), S::splat(a), S::splat(c));
    let mut i = 0;
    unsafe {
        let (yp, xp, op) = (y.as_mut_ptr(), x.as_ptr(), out.as_mut_ptr());
        while i + l <= n {
            let y0 = S::mul_add(av, S::load(xp.add(i)), S::mul(g, S::load(yp.add(i))));
            S::store(yp.add(i), y0);
            S::store(op.add(i), S::mul_add(cv, y0, S::load(op.add(i))));
            i += l;
        }
    }
    while i < n {
        y[i] = gamma * y[i] + a * x[i];
        out[i] += c * y[i];
        i += 1;
    }
}

/// `X ← γX + a⊗b` (X is rows(a) × len(b), row-major) and `out = X q` after the update.
pub fn rank1_update_matvec<S: Simd>(
    x: &mut [f32],
    gamma: f32,
    a: &[f32],
    b: &[f32],
    q: &[f32],
    out: &mut [f32],
) {
    let n = b.len();
    for (i, (row, o)) in x.chunks_exact_mut(n).zip(out.iter_mut()).enumerate() {
        *o = decay_axpy_dot::<S>(row, gamma, a[i], b, q);
    }
}

/// `X ← γX + a⊗b` (X is len(a) × len(b), row-major) and `out = qᵀ X` after the update.
/// Column blocks of `BLOCK` vectors with the rows inside: `out`'s block stays in registers
/// for the whole sweep instead of being loaded and stored once per row.
pub fn rank1_update_read<S: Simd>(
    x: &mut [f32],
    gamma: f32,
    a: &[f32],
    b: &[f32],
    q: &[f32],
    out: &mut [f32],
) {
    const BLOCK: usize = 8;
    let (n, m) = (b.len(), a.len());
    assert!(x.len() >= m * n && q.len() >= m && out.len() >= n);
    let l = S::LANES;
    let g = S::splat(gamma);
    let mut j0 = 0;
    unsafe {
        let (xp, bp, op) = (x.as_mut_ptr(), b.as_ptr(), out.as_mut_ptr());
        while j0 + BLOCK * l <= n {
            let bv: [S::V; BLOCK] = core::array::from_fn(|u| S::load(bp.add(j0 + u * l)));
            let mut acc = [S::splat(0.0); BLOCK];
            for i in 0..m {
                let (ai, qi) = (S::splat(*a.get_unchecked(i)), S::splat(*q.get_unchecked(i)));
                let row = xp.add(i * n + j0);
                for u in 0..BLOCK {
                    let y = S::mul_add(ai, bv[u], S::mul(g, S::load(row.add(u * l))));
                    S::store(row.add(u * l), y);
                    acc[u] = S::mul_add(qi, y, acc[u]);
                }
            }
            for (u, acc) in acc.iter().enumerate() {
                S::store(op.add(j0 + u * l), *acc);
            }
            j0 += BLOCK * l;
        }
    }
    // Remaining columns (fewer than BLOCK vectors): row by row.
    if j0 < n {
        out[j0..n].fill(0.0);
        for (i, row) in x.chunks_exact_mut(n).enumerate() {
            decay_axpy_read::<S>(&mut row[j0..], gamma, a[i], &b[j0..], q[i], &mut out[j0..n]);
        }
    }
}

/// `y ← γ y + a x` (no read).
#[inline(always)]
pub fn decay_axpy(y: &mut [f32], gamma: f32, a: f32, x: &[f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi = gamma * *yi + a * xi;
    }
}
