//! Small dense matrix products for the chunk forms: `C += A · B` with A read through
//! arbitrary strides (so Aᵀ costs nothing) and B row-major. An `mr × 2`-vector register block
//! (4 rows at 4 lanes, 6 at 8) keeps `2·mr` accumulators live, so each loaded B vector feeds
//! `mr` multiply-adds.

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

/// Rows of the register block, which is `mr × 2` vectors: `2·mr` accumulators, two B vectors
/// and a broadcast of A must fit the 16 vector registers of x86-64 (V8's wasm backend on x86-64
/// has the same 16). 4 lanes: 4 × 8 floats, 11 registers. 8 lanes: 6 × 16, 15 registers, the
/// usual AVX2 sgemm block — 12 independent FMA chains cover the FMA latency on both ports,
/// where 8 would leave them idle part of the time.
const fn mr(lanes: usize) -> usize {
    // HLA_GEMM_MR=1..6 at build time overrides it (the tile measurement, bench/tiles.ts; on the
    // 16-core Xeon 3–6 rows measured within noise of each other, README "Benchmark").
    if let Some(v) = option_env!("HLA_GEMM_MR") {
        let d = v.as_bytes()[0];
        if v.len() == 1 && d >= b'1' && d <= b'6' {
            return (d - b'0') as usize;
        }
    }
    if lanes >= 8 {
        6
    } else {
        4
    }
}

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
    // The preconditions of `row_panel`'s pointer offsets, checked: usize is 32 bits in wasm32,
    // where a wrapped product would pass.
    let end = |rows: usize, ld: usize, cols: usize| rows.checked_mul(ld)?.checked_add(cols);
    assert!(end(k - 1, ldb, n).is_some_and(|e| b.len() >= e));
    assert!(end(m - 1, ldc, n).is_some_and(|e| c.len() >= e));
    let a_last = end(m - 1, a.rs, 0).and_then(|r| r.checked_add((k - 1).checked_mul(a.cs)?));
    assert!(a_last.is_some_and(|e| a.data.len() > e));
    let mr = mr(S::LANES);
    let mut i0 = 0;
    while i0 < m {
        // The last panel has fewer rows (odd head sizes, chunk tails): a smaller block, still
        // vectorised, rather than scalar loops over whole rows.
        let rows = mr.min(m - i0);
        let g = Geometry {
            i0,
            n,
            k,
            a,
            ldb,
            ldc,
        };
        // SAFETY: i0 + rows <= m, and the asserts above bound every index of these rows.
        unsafe {
            match rows {
                6 => row_panel::<S, 6>(&g, b, c),
                5 => row_panel::<S, 5>(&g, b, c),
                4 => row_panel::<S, 4>(&g, b, c),
                3 => row_panel::<S, 3>(&g, b, c),
                2 => row_panel::<S, 2>(&g, b, c),
                _ => row_panel::<S, 1>(&g, b, c),
            }
        }
        i0 += rows;
    }
}

/// Where one row panel sits in `C += A · B`.
struct Geometry<'a> {
    i0: usize,
    n: usize,
    k: usize,
    a: MatRef<'a>,
    ldb: usize,
    ldc: usize,
}

/// Rows `i0 .. i0 + R` of C: blocks of two vectors of columns, then one vector, then the
/// last `< LANES` columns.
///
/// # Safety
/// Rows `i0 .. i0 + R` and columns `0 .. n` of A, B and C must be in bounds.
#[inline(always)]
unsafe fn row_panel<S: Simd, const R: usize>(g: &Geometry, b: &[f32], c: &mut [f32]) {
    let (l, n) = (S::LANES, g.n);
    let cp = c.as_mut_ptr().add(g.i0 * g.ldc);
    let (n_vec, n_pair) = (n / l * l, n / (2 * l) * (2 * l));
    // The last `< LANES` columns, when n ≥ LANES: one vector block over the last LANES
    // columns, which overlaps columns the blocks below also update. C += A·B must add A·B to
    // each column once, so this block reads C before they write it and lands in a buffer; only
    // its own columns are copied back at the end. Scalar loops there would run up to 7 of
    // every n columns (at 8 lanes) 20–30× slower than the vector blocks.
    const TAIL: usize = 6 * 16;
    let mut tail = [0f32; TAIL];
    let vector_tail = n_vec < n && n >= l && R * l <= TAIL;
    if vector_tail {
        let c_in = cp.add(n - l);
        micro_kernel::<S, R, 1>(g, n - l, b, c_in, g.ldc, tail.as_mut_ptr(), l);
    }
    for j0 in (0..n_pair).step_by(2 * l) {
        micro_kernel::<S, R, 2>(g, j0, b, cp.add(j0), g.ldc, cp.add(j0), g.ldc);
    }
    if n_pair < n_vec {
        micro_kernel::<S, R, 1>(g, n_pair, b, cp.add(n_pair), g.ldc, cp.add(n_pair), g.ldc);
    }
    if vector_tail {
        for r in 0..R {
            let skip = l - (n - n_vec);
            for (u, x) in tail[r * l + skip..(r + 1) * l].iter().enumerate() {
                *cp.add(r * g.ldc + n_vec + u) = *x;
            }
        }
    } else {
        // n < LANES (tiny heads): plain loops.
        for i in g.i0..g.i0 + R {
            for j in n_vec..n {
                let mut s = 0.0;
                for p in 0..g.k {
                    s += g.a.at(i, p) * b[p * g.ldb + j];
                }
                c[i * g.ldc + j] += s;
            }
        }
    }
}

/// `out[R × NV·LANES] = c_in + A[i0 .. i0+R, :] · B[:, j0 .. j0+NV·LANES]`, the block in
/// registers for all of k. `c_in`, `out` point at the block's first element, with leading
/// dimensions `ld_in`, `ld_out`; they may be the same block (C += A·B in place).
///
/// # Safety
/// Both blocks, rows `i0 .. i0 + R` of A and columns `j0 .. j0 + NV·LANES` of B must be in
/// bounds.
#[inline(always)]
unsafe fn micro_kernel<S: Simd, const R: usize, const NV: usize>(
    g: &Geometry,
    j0: usize,
    b: &[f32],
    c_in: *const f32,
    ld_in: usize,
    out: *mut f32,
    ld_out: usize,
) {
    let l = S::LANES;
    let (i0, a) = (g.i0, g.a);
    let bp = b.as_ptr();
    let ap = a.data.as_ptr();
    let mut acc = [[S::splat(0.0); NV]; R];
    for (r, row) in acc.iter_mut().enumerate() {
        for (v, x) in row.iter_mut().enumerate() {
            *x = S::load(c_in.add(r * ld_in + v * l));
        }
    }
    for p in 0..g.k {
        let bv: [S::V; NV] = core::array::from_fn(|v| S::load(bp.add(p * g.ldb + j0 + v * l)));
        for (r, row) in acc.iter_mut().enumerate() {
            let ar = S::splat(*ap.add((i0 + r) * a.rs + p * a.cs));
            for (x, bv) in row.iter_mut().zip(bv) {
                *x = S::mul_add(ar, bv, *x);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (v, x) in row.iter().enumerate() {
            S::store(out.add(r * ld_out + v * l), *x);
        }
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
