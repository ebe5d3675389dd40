//! rla token by token, per value head: one sweep over the rows of S and R per token updates
//! both states with token t's writes and, in the same pass, accumulates token t+1's four reads
//! (`Sᵀq̂, Sᵀk̂, Rᵀq̂, Rᵀk̂`, all from the states before token t+1); a sweep before the first
//! token reads the initial state. R's read after its update needs no sweep:
//! `R_tᵀ q̂ = α R_{t−1}ᵀ q̂ + (k̂·q̂) δR`.

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
    if io.len == 0 {
        return;
    }
    let [q, k, qn, kn, reads, ds, dr] = ws.parts([dk, dk, dk, dk, 4 * dv, dv, dv]);
    let (s_all, r_all) = st.split_at_mut(g * mat);
    for j in 0..g {
        let s = &mut s_all[j * mat..(j + 1) * mat];
        let r = &mut r_all[j * mat..(j + 1) * mat];
        load_qk(io, 0, opts, qn, kn);
        reads.fill(0.0);
        {
            let (sr, rr) = reads.split_at_mut(2 * dv);
            let (sq, sk) = sr.split_at_mut(dv);
            let (rq, rk) = rr.split_at_mut(dv);
            for i in 0..dk {
                let row = i * dv..(i + 1) * dv;
                axpy2::<S>(sq, sk, qn[i], kn[i], &s[row.clone()]);
                axpy2::<S>(rq, rk, qn[i], kn[i], &r[row]);
            }
        }
        for t in 0..io.len {
            q.copy_from_slice(qn);
            k.copy_from_slice(kn);
            let kq: f32 = k.iter().zip(q.iter()).map(|(a, b)| a * b).sum();
            let (alpha, beta, corr) = rates(io, t, j);
            let v = io.v_row(t, j);
            let pk = match opts.residual {
                Residual::Undecayed => 1.0,
                Residual::Decayed => alpha,
            };
            let c = opts.clip;
            let out = &mut o[io.v_offset(t, j)..][..dv];
            {
                let (sq, rest) = reads.split_at(dv);
                let (sk, rest) = rest.split_at(dv);
                let (rq, rk) = rest.split_at(dv);
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
            }
            if t + 1 == io.len {
                // The last token: nothing reads the new rows (a decode step is this alone).
                for i in 0..dk {
                    let row = i * dv..(i + 1) * dv;
                    decay_axpy::<S>(&mut s[row.clone()], alpha, k[i], ds);
                    decay_axpy::<S>(&mut r[row], alpha, k[i], dr);
                }
                break;
            }
            load_qk(io, t + 1, opts, qn, kn);
            reads.fill(0.0);
            let (sr, rr) = reads.split_at_mut(2 * dv);
            let (sq, sk) = sr.split_at_mut(dv);
            let (rq, rk) = rr.split_at_mut(dv);
            for i in 0..dk {
                let row = i * dv..(i + 1) * dv;
                update_read::<S>(&mut s[row.clone()], alpha, k[i], ds, qn[i], kn[i], sq, sk);
                update_read::<S>(&mut r[row], alpha, k[i], dr, qn[i], kn[i], rq, rk);
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

/// `y ← α y + a δ`, then `ya += qa y`, `yb += kb y` (the next token's reads of the new row).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn update_read<S: Simd>(
    y: &mut [f32],
    alpha: f32,
    a: f32,
    delta: &[f32],
    qa: f32,
    kb: f32,
    ya: &mut [f32],
    yb: &mut [f32],
) {
    let n = y.len();
    assert!(delta.len() >= n && ya.len() >= n && yb.len() >= n);
    let l = S::LANES;
    let (gv, av, qv, kv) = (S::splat(alpha), S::splat(a), S::splat(qa), S::splat(kb));
    let mut i = 0;
    // SAFETY: i + l ≤ n ≤ the length of each slice.
    unsafe {
        while i + l <= n {
            let p = y.as_mut_ptr().add(i);
            let nv = S::mul_add(av, S::load(delta.as_ptr().add(i)), S::mul(gv, S::load(p)));
            S::store(p, nv);
            let pa = ya.as_mut_ptr().add(i);
            let pb = yb.as_mut_ptr().add(i);
            S::store(pa, S::mul_add(qv, nv, S::load(pa)));
            S::store(pb, S::mul_add(kv, nv, S::load(pb)));
            i += l;
        }
    }
    while i < n {
        y[i] = a * delta[i] + alpha * y[i];
        ya[i] += qa * y[i];
        yb[i] += kb * y[i];
        i += 1;
    }
}
