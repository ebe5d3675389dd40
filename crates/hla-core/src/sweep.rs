//! Token-blocked sweeps for the streaming recurrences: `NT` consecutive tokens go through a
//! state matrix in one pass, so the state is loaded and stored once per `NT` tokens instead
//! of once per token, with the same multiply-adds as the token-by-token recurrence (unlike the
//! chunk form, which does 2–3× more).
//!
//! For t = 1..NT, `X_t = γ X_{t−1} + a_t⊗b_t` and `out_t = q_tᵀ X_t`. With ρ = γ^NT,
//!
//! ```text
//! X_t = γ^{t−NT} (ρ X_0 + Σ_{u≤t} γ^{NT−u} a_u⊗b_u),
//! ```
//!
//! so a register holding `ρ X_0` takes each token's update as one FMA with `γ^{NT−u} a_u` and
//! each read as one FMA with `γ^{t−NT} q_t` ([`Panel`] holds both); there is no decay
//! multiply in the inner loop and every power but γ^{t−NT} is ≤ 1. Callers keep γ^{1−NT}
//! moderate ([`block_len`]); at NT = 1 this is exactly the per-token recurrence.

use crate::simd::{Scalar, Simd};

/// Tokens per block for decay `gamma`: `NT` unless γ^{1−NT} would be huge (tiny γ), then 1.
#[inline]
pub fn block_len<const NT: usize>(gamma: f32) -> usize {
    if gamma.powi(NT as i32 - 1) >= 1e-6 {
        NT
    } else {
        1
    }
}

/// The coefficients of one block, packed row by row as `[row][token][a, q]`: `a_u` scaled by
/// γ^{NT−u} and `q_t` by γ^{t−NT} (1-based u, t). One pointer walks them in the sweep, and
/// each is a broadcast load at a constant offset.
pub struct Panel<'w, const NT: usize> {
    pub buf: &'w mut [f32],
}

impl<const NT: usize> Panel<'_, NT> {
    /// Token `t` (0-based) of the update: `a_t ← γ^{NT−1−t} src`.
    pub fn set_a(&mut self, gamma: f32, t: usize, src: &[f32]) {
        let g = gamma.powi((NT - 1 - t) as i32);
        for (row, s) in self.buf.chunks_exact_mut(2 * NT).zip(src) {
            row[2 * t] = g * s;
        }
    }

    /// Token `t` (0-based) of the read: `q_t ← γ^{t+1−NT} src`.
    pub fn set_q(&mut self, gamma: f32, t: usize, src: &[f32]) {
        let g = gamma.powi(t as i32 + 1 - NT as i32);
        for (row, s) in self.buf.chunks_exact_mut(2 * NT).zip(src) {
            row[2 * t + 1] = g * s;
        }
    }

    fn rows(&self) -> usize {
        self.buf.len() / (2 * NT)
    }
}

/// One sweep of `NT` tokens over `x` (rows × len(b), row-major; rows = the panel's), see the
/// module docs; `rho` = γ^NT. Writes `out_t = q_tᵀ X_t` (length len(b)).
/// Never inlined: inside a large caller the sweep's registers compete with the caller's
/// (measured ~1.2× slower on wasm when LLVM inlined it).
#[inline(never)]
pub fn update_read<S: Simd, const NT: usize>(
    x: &mut [f32],
    rho: f32,
    panel: &Panel<NT>,
    b: [&[f32]; NT],
    out: &mut [&mut [f32]; NT],
) {
    let (m, n) = (panel.rows(), b[0].len());
    // The precondition of every pointer offset below (`i·n + j` for i < m, j < n), with the
    // product checked: usize is 32 bits in wasm32, where a wrapped m·n would pass.
    assert!(m.checked_mul(n).is_some_and(|mn| x.len() >= mn));
    for t in 0..NT {
        assert!(b[t].len() >= n && out[t].len() >= n);
    }
    let cp = panel.buf.as_ptr();
    let bp = b.map(|s| s.as_ptr());
    let op = out.each_mut().map(|s| s.as_mut_ptr());
    let l = S::LANES;
    let mut j = 0;
    unsafe {
        // One token (decode): twice the columns per pass, the registers allow it.
        if NT == 1 {
            while j + 2 * BL * l <= n {
                columns::<S, NT, { 2 * BL }>(x.as_mut_ptr(), m, n, j, rho, cp, bp, op);
                j += 2 * BL * l;
            }
        }
        while j + BL * l <= n {
            columns::<S, NT, BL>(x.as_mut_ptr(), m, n, j, rho, cp, bp, op);
            j += BL * l;
        }
        while j + l <= n {
            columns::<S, NT, 1>(x.as_mut_ptr(), m, n, j, rho, cp, bp, op);
            j += l;
        }
        while j < n {
            columns::<Scalar, NT, 1>(x.as_mut_ptr(), m, n, j, rho, cp, bp, op);
            j += 1;
        }
    }
}

/// Column vectors per block. Register budget (16 vector registers on x86-64, one kept by V8):
/// NT·BL values of b, NT·BL accumulators and BL state values stay in registers.
const BL: usize = 2;

/// Columns `j .. j + BL·LANES` of every row: the block's `b` and the accumulators in registers,
/// rows streamed through.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn columns<S: Simd, const NT: usize, const BL: usize>(
    x: *mut f32,
    m: usize,
    n: usize,
    j: usize,
    rho: f32,
    coef: *const f32,
    b: [*const f32; NT],
    out: [*mut f32; NT],
) {
    let l = S::LANES;
    let r = S::splat(rho);
    let bv: [[S::V; BL]; NT] =
        core::array::from_fn(|t| core::array::from_fn(|u| S::load(b[t].add(j + u * l))));
    let mut acc = [[S::splat(0.0); BL]; NT];
    for i in 0..m {
        let row = x.add(i * n + j);
        let c = coef.add(i * 2 * NT);
        let mut y: [S::V; BL] = core::array::from_fn(|u| S::mul(r, S::load(row.add(u * l))));
        for t in 0..NT {
            let (ai, qi) = (S::splat(*c.add(2 * t)), S::splat(*c.add(2 * t + 1)));
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

/// `buf` as `NT` consecutive slices of `len` floats.
#[inline]
pub fn split<const NT: usize>(buf: &mut [f32], len: usize) -> [&mut [f32]; NT] {
    let mut it = buf.chunks_exact_mut(len.max(1));
    core::array::from_fn(|_| it.next().expect("workspace holds NT slices"))
}
