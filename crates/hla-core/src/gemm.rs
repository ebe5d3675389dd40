//! Small dense matrix products for the chunk forms: `C += A · B` with A read through
//! arbitrary strides (so Aᵀ costs nothing) and B row-major. A 4 × 2-vector register block
//! keeps eight accumulators live, so each loaded B vector feeds four multiply-adds.

use crate::simd::Simd;

/// A read-only matrix view: element (i, p) is `data[i * rs + p * cs]`.
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> MatRef<'a> {
    /// Row-major with leading dimension `ld`.
    pub fn rows(data: &'a [f32], ld: usize) -> Self {
        MatRef {
            data,
            rs: ld,
            cs: 1,
        }
    }
    /// The transpose of a row-major matrix with leading dimension `ld`.
    pub fn transposed(data: &'a [f32], ld: usize) -> Self {
        MatRef {
            data,
            rs: 1,
            cs: ld,
        }
    }
    #[inline(always)]
    fn at(&self, i: usize, p: usize) -> f32 {
        self.data[i * self.rs + p * self.cs]
    }
}

const MR: usize = 4;

/// `C[m×n] += A[m×k] · B[k×n]`; B row-major (ld `ldb`), C row-major (ld `ldc`).
pub fn gemm_acc<S: Simd>(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert!(b.len() >= (k - 1) * ldb + n && c.len() >= (m - 1) * ldc + n);
    assert!(a.data.len() > (m - 1) * a.rs + (k - 1) * a.cs);
    let nr = 2 * S::LANES;
    let (m_full, n_full) = (m / MR * MR, n / nr * nr);
    for i0 in (0..m_full).step_by(MR) {
        for j0 in (0..n_full).step_by(nr) {
            // SAFETY: i0 + MR <= m, j0 + nr <= n, and the asserts above bound every index.
            unsafe { micro_kernel::<S>(i0, j0, k, a, b, ldb, c, ldc) };
        }
    }
    // Edges: plain loops (odd head sizes, chunk tails).
    for i in 0..m {
        let j_start = if i < m_full { n_full } else { 0 };
        for j in j_start..n {
            let mut s = 0.0;
            for p in 0..k {
                s += a.at(i, p) * b[p * ldb + j];
            }
            c[i * ldc + j] += s;
        }
    }
}

#[inline(always)]
unsafe fn micro_kernel<S: Simd>(
    i0: usize,
    j0: usize,
    k: usize,
    a: MatRef,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    let l = S::LANES;
    let cp = c.as_mut_ptr();
    let bp = b.as_ptr();
    let ap = a.data.as_ptr();
    let mut acc = [[S::splat(0.0); 2]; MR];
    for (r, row) in acc.iter_mut().enumerate() {
        row[0] = S::load(cp.add((i0 + r) * ldc + j0));
        row[1] = S::load(cp.add((i0 + r) * ldc + j0 + l));
    }
    for p in 0..k {
        let b0 = S::load(bp.add(p * ldb + j0));
        let b1 = S::load(bp.add(p * ldb + j0 + l));
        for (r, row) in acc.iter_mut().enumerate() {
            let ar = S::splat(*ap.add((i0 + r) * a.rs + p * a.cs));
            row[0] = S::mul_add(ar, b0, row[0]);
            row[1] = S::mul_add(ar, b1, row[1]);
        }
    }
    for (r, row) in acc.iter().enumerate() {
        S::store(cp.add((i0 + r) * ldc + j0), row[0]);
        S::store(cp.add((i0 + r) * ldc + j0 + l), row[1]);
    }
}

/// `C = A · B` (C overwritten).
pub fn gemm<S: Simd>(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    for i in 0..m {
        c[i * ldc..i * ldc + n].fill(0.0);
    }
    gemm_acc::<S>(m, n, k, a, b, ldb, c, ldc);
}

/// `dst[n×m] = srcᵀ` for a row-major `src[m×n]`.
pub fn transpose(m: usize, n: usize, src: &[f32], dst: &mut [f32]) {
    for i in 0..m {
        for j in 0..n {
            dst[j * m + i] = src[i * n + j];
        }
    }
}
