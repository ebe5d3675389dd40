//! rla token by token: per token and value head one sweep reads S and R at q̂ and k̂ (all four
//! reads come from the states before the token), then one sweep updates both states. R's
//! read after its update needs no second sweep: `R_tᵀ q̂ = α R_{t−1}ᵀ q̂ + (k̂·q̂) δR`.

use super::{load_qk, rates, Residual, RlaBase, RlaOptions};
use crate::ops::shape::HeadIo;
use crate::simd::Simd;
use crate::workspace::Workspace;

#[allow(clippy::needless_range_loop)]
pub(crate) fn recurrent<S: Simd>(
    io: &HeadIo,
    opts: &RlaOptions,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
) {
    let (dk, dv, g) = (io.dk, io.dv, io.group());
    let mat = dk * dv;
    let [q, k, sq, sk, rq, rk, ds, dr] = ws.parts([dk, dk, dv, dv, dv, dv, dv, dv]);
    let (s_all, r_all) = st.split_at_mut(g * mat);
    for t in 0..io.len {
        load_qk(io, t, opts, q, k);
        let kq: f32 = k.iter().zip(q.iter()).map(|(a, b)| a * b).sum();
        for j in 0..g {
            let (alpha, beta, corr) = rates(io, t, j);
            let s = &mut s_all[j * mat..(j + 1) * mat];
            let r = &mut r_all[j * mat..(j + 1) * mat];
            for x in [&mut *sq, &mut *sk, &mut *rq, &mut *rk] {
                x.fill(0.0);
            }
            for i in 0..dk {
                let row = i * dv..(i + 1) * dv;
                axpy2::<S>(sq, sk, q[i], k[i], &s[row.clone()]);
                axpy2::<S>(rq, rk, q[i], k[i], &r[row]);
            }
            let v = io.v_row(t, j);
            let pk = match opts.residual {
                Residual::Undecayed => 1.0,
                Residual::Decayed => alpha,
            };
            let c = opts.clip;
            let out = &mut o[io.v_offset(t, j)..][..dv];
            for e in 0..dv {
                let res = (v[e] - pk * sk[e]).clamp(-c, c);
                // δ: what each state adds along k̂ (the rank-one write k̂ δᵀ).
                (ds[e], dr[e]) = match opts.base {
                    RlaBase::La => (beta * v[e], corr * res),
                    RlaBase::DeltaRule => {
                        (beta * (v[e] - alpha * sk[e]), corr * (res - alpha * rk[e]))
                    }
                };
                out[e] = alpha * sq[e] + corr * (alpha * rq[e] + kq * dr[e]);
            }
            for i in 0..dk {
                let row = i * dv..(i + 1) * dv;
                decay_axpy::<S>(&mut s[row.clone()], alpha, k[i], ds);
                decay_axpy::<S>(&mut r[row], alpha, k[i], dr);
            }
        }
    }
}

/// `ya += a x`, `yb += b x`.
#[inline(always)]
fn axpy2<S: Simd>(ya: &mut [f32], yb: &mut [f32], a: f32, b: f32, x: &[f32]) {
    let n = x.len();
    assert!(ya.len() >= n && yb.len() >= n);
    let l = S::LANES;
    let (av, bv) = (S::splat(a), S::splat(b));
    let mut i = 0;
    // SAFETY: i + l ≤ n ≤ the length of each slice.
    unsafe {
        while i + l <= n {
            let xv = S::load(x.as_ptr().add(i));
            let pa = ya.as_mut_ptr().add(i);
            let pb = yb.as_mut_ptr().add(i);
            S::store(pa, S::mul_add(av, xv, S::load(pa)));
            S::store(pb, S::mul_add(bv, xv, S::load(pb)));
            i += l;
        }
    }
    while i < n {
        ya[i] += a * x[i];
        yb[i] += b * x[i];
        i += 1;
    }
}

/// `y ← α y + a x`.
#[inline(always)]
fn decay_axpy<S: Simd>(y: &mut [f32], alpha: f32, a: f32, x: &[f32]) {
    let n = y.len();
    assert!(x.len() >= n);
    let l = S::LANES;
    let (gv, av) = (S::splat(alpha), S::splat(a));
    let mut i = 0;
    // SAFETY: i + l ≤ n ≤ the length of both.
    unsafe {
        while i + l <= n {
            let p = y.as_mut_ptr().add(i);
            S::store(
                p,
                S::mul_add(av, S::load(x.as_ptr().add(i)), S::mul(gv, S::load(p))),
            );
            i += l;
        }
    }
    while i < n {
        y[i] = a * x[i] + alpha * y[i];
        i += 1;
    }
}
