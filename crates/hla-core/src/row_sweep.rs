//! Token-blocked sweeps with a decay per state row: gla's `S_t = diag(α_t) S_{t−1} + k_t v_tᵀ`,
//! where `α_t = exp(gk_t)` differs per key feature (row). crate::sweep's block trick carries
//! over row by row. For row i and tokens t = 1..NT of a block, with `Γ(t) = Π_{w≤t} α_w[i]`,
//!
//! ```text
//! X_t[i] = (Γ(t)/Γ(NT)) · (Γ(NT) X_0[i] + Σ_{u≤t} (Γ(NT)/Γ(u)) k_u[i] v_u),
//! ```
//!
//! so a register holding `ρ_i X_0[i]` (ρ_i = Γ(NT)) takes token u's update as one FMA with
//! `k_u[i] Π_{u<w≤NT} α_w[i]` (a factor ≤ 1) and token t's read as one FMA with
//! `q_t[i] / Π_{t<w≤NT} α_w[i]` (≥ 1). The only factor above 1 is that read weight; callers
//! keep it below [`MAX_GAIN`] ([`Gains::fits`]) and fall back to one token per sweep, where
//! every weight is 1 and the sweep is the per-token recurrence itself.

use crate::simd::{Scalar, Simd};

/// The largest read weight `1 / Π α` a block may use (as crate::sweep::block_len's 1e-6):
/// beyond it `ρ X_0` would lose the low bits of small states to subnormals.
pub const MAX_GAIN: f32 = 1e6;

/// The coefficients of one block as `1 + 2·NT` streams of one float per row: `ρ`, then
/// `a_t`, `q_t` for each token. Streams rather than interleaved rows so that [`RowPanel::fill`]
/// is a few contiguous (vectorised) loops; the sweep reads each stream at the same row index.
pub struct RowPanel<'w, const NT: usize> {
    pub buf: &'w mut [f32],
}

/// Floats per row of a [`RowPanel`].
pub const fn row_stride(nt: usize) -> usize {
    1 + 2 * nt
}

impl<const NT: usize> RowPanel<'_, NT> {
    /// Fills the panel from the block's decays `alpha[t]` (per row), keys `k[t]` and
    /// (scaled) queries `q[t]`.
    pub fn fill(&mut self, alpha: [&[f32]; NT], k: [&[f32]; NT], q: [&[f32]; NT]) {
        let rows = self.rows();
        let (rho, coef) = self.buf.split_at_mut(rows);
        // ρ doubles as the running suffix product Π_{t<w<NT} α_w (0-based), built from the
        // back: products of factors ≤ 1, never overflowing; it ends as Π α = ρ.
        rho.fill(1.0);
        for t in (0..NT).rev() {
            let (at, qt) = coef[2 * t * rows..(2 * t + 2) * rows].split_at_mut(rows);
            let (kt, qs, al) = (&k[t][..rows], &q[t][..rows], &alpha[t][..rows]);
            for i in 0..rows {
                at[i] = kt[i] * rho[i];
                qt[i] = qs[i] / rho[i];
                rho[i] *= al[i];
            }
        }
    }

    fn rows(&self) -> usize {
        self.buf.len() / row_stride(NT)
    }
}

/// True when a block of `NT` tokens keeps every read weight below [`MAX_GAIN`]: the product
/// of the decays of tokens 2..NT, per row, is at least 1/MAX_GAIN.
pub fn fits<const NT: usize>(alpha: [&[f32]; NT]) -> bool {
    let rows = alpha[0].len();
    let mut ok = true;
    for i in 0..rows {
        let p: f32 = alpha[1..].iter().map(|a| a[i]).product();
        // `&=` rather than `all`: no early exit, so the loop vectorises.
        ok &= p * MAX_GAIN >= 1.0;
    }
    ok
}

/// One sweep of `NT` tokens over `x` (rows × len(b), row-major; rows = the panel's).
/// Writes `out_t = q_tᵀ X_t` (length len(b)). Never inlined, as crate::sweep::update_read.
#[inline(never)]
pub fn update_read_rows<S: Simd, const NT: usize>(
    x: &mut [f32],
    panel: &RowPanel<NT>,
    b: [&[f32]; NT],
    out: &mut [&mut [f32]; NT],
) {
    let (m, n) = (panel.rows(), b[0].len());
    assert!(x.len() >= m * n && panel.buf.len() >= m * row_stride(NT));
    for t in 0..NT {
        assert!(b[t].len() >= n && out[t].len() >= n);
    }
    let cp = panel.buf.as_ptr();
    let bp = b.map(|s| s.as_ptr());
    let op = out.each_mut().map(|s| s.as_mut_ptr());
    let l = S::LANES;
    let mut j = 0;
    // SAFETY: every column block below stays inside 0..n, rows inside 0..m (asserted above).
    unsafe {
        if NT == 1 {
            while j + 2 * BL * l <= n {
                columns::<S, NT, { 2 * BL }>(x.as_mut_ptr(), m, n, j, cp, bp, op);
                j += 2 * BL * l;
            }
        }
        while j + BL * l <= n {
            columns::<S, NT, BL>(x.as_mut_ptr(), m, n, j, cp, bp, op);
            j += BL * l;
        }
        while j + l <= n {
            columns::<S, NT, 1>(x.as_mut_ptr(), m, n, j, cp, bp, op);
            j += l;
        }
        while j < n {
            columns::<Scalar, NT, 1>(x.as_mut_ptr(), m, n, j, cp, bp, op);
            j += 1;
        }
    }
}

/// Column vectors per block, as crate::sweep (the per-row ρ is one more broadcast, not a
/// register held across rows).
const BL: usize = 2;

#[inline(always)]
#[allow(clippy::needless_range_loop)] // the register blocks are indexed in lockstep
unsafe fn columns<S: Simd, const NT: usize, const BL: usize>(
    x: *mut f32,
    m: usize,
    n: usize,
    j: usize,
    coef: *const f32,
    b: [*const f32; NT],
    out: [*mut f32; NT],
) {
    let l = S::LANES;
    let bv: [[S::V; BL]; NT] =
        core::array::from_fn(|t| core::array::from_fn(|u| S::load(b[t].add(j + u * l))));
    let mut acc = [[S::splat(0.0); BL]; NT];
    for i in 0..m {
        let row = x.add(i * n + j);
        let c = coef.add(i);
        let r = S::splat(*c);
        let mut y: [S::V; BL] = core::array::from_fn(|u| S::mul(r, S::load(row.add(u * l))));
        for t in 0..NT {
            let (ai, qi) = (
                S::splat(*c.add((1 + 2 * t) * m)),
                S::splat(*c.add((2 + 2 * t) * m)),
            );
            for u in 0..BL {
                y[u] = S::mul_add(ai, bv[t][u], y[u]);
                acc[t][u] = S::mul_add(qi, y[u], acc[t][u]);
            }
        }
        for u in 0..BL {
            S::store(row.add(u * l), y[u]);
        }
    }
    for t in 0..NT {
        for u in 0..BL {
            S::store(out[t].add(j + u * l), acc[t][u]);
        }
    }
}
