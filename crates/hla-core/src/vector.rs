//! Vector kernels for the streaming recurrences (the moments beside the matrices: z, n, m, η);
//! the matrices go through crate::sweep.

use crate::simd::Simd;

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
