//! float64 brute force, written straight from the table of docs/spec.md (quadratic, cubic for hla3).

use hla_core::ops::forward_with;
use hla_core::simd::Simd;
use hla_core::workspace::Workspace;
use hla_core::{Dims, HlaOptions, Mode, Op, Options};

#[macro_use]
pub mod isa;
pub mod gated;
pub mod second;

pub struct Case {
    pub op: Op,
    pub d: Dims,
    pub scale: f32,
    pub decay: Vec<f32>,
    pub normalize: bool,
    pub eps: f32,
    pub ridge: f32,
}

impl Case {
    /// The kernels' options for this case.
    pub fn options(&self) -> Options {
        Options::Hla(HlaOptions {
            scale: self.scale,
            decay: self.decay.clone(),
            normalize: self.normalize,
            eps: self.eps,
            ridge: self.ridge,
        })
    }

    /// Floats of state for `n_seq` sequences of this case.
    #[allow(dead_code)]
    pub fn state_len(&self, n_seq: usize) -> usize {
        hla_core::state_len(self.op, n_seq, &self.d, &self.options()).unwrap()
    }
}

/// The kernels' outputs for `c` in `mode` with ISA `S`; `state` in (initial) and out (final).
#[allow(dead_code)] // not every test crate that includes this module runs kernels through it
pub fn run<S: Simd>(
    c: &Case,
    mode: Mode,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    state: &mut [f32],
    cu: Option<&[i32]>,
) -> Vec<f32> {
    let d = c.d;
    let mut o = vec![0f32; d.b * d.t * d.hv * d.dv];
    let opts = c.options();
    forward_with::<S>(
        c.op,
        mode,
        &d,
        &opts,
        &[q, k, v],
        &mut o,
        state,
        cu,
        &mut Workspace::default(),
    )
    .unwrap();
    o
}

/// Outputs `[b, t, hv, dv]` over the token range `rows` of each batch row (state from zero).
pub fn brute_force(c: &Case, q: &[f32], k: &[f32], v: &[f32], seqs: &[(usize, usize)]) -> Vec<f64> {
    let d = c.d;
    let g = d.hv / d.h;
    let mut o = vec![0f64; d.b * d.t * d.hv * d.dv];
    for &(row0, len) in seqs {
        for h in 0..d.h {
            let gamma = c.decay[if c.decay.len() == 1 { 0 } else { h }] as f64;
            let pw = |n: usize| gamma.powi(n as i32);
            let qr = |t: usize| -> Vec<f64> {
                let o = ((row0 + t) * d.h + h) * d.dk;
                q[o..o + d.dk]
                    .iter()
                    .map(|&x| x as f64 * c.scale as f64)
                    .collect()
            };
            let kr = |t: usize| -> Vec<f64> {
                let o = ((row0 + t) * d.h + h) * d.dk;
                k[o..o + d.dk].iter().map(|&x| x as f64).collect()
            };
            let qs: Vec<Vec<f64>> = (0..len).map(qr).collect();
            let ks: Vec<Vec<f64>> = (0..len).map(kr).collect();
            let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
            let w: Vec<Vec<f64>> = (0..len)
                .map(|t| (0..len).map(|j| dot(&qs[t], &ks[j])).collect())
                .collect();
            // coef[t][j]: weight of v_j in o_t.
            let mut coef = vec![vec![0f64; len]; len];
            for t in 0..len {
                match c.op {
                    Op::La1 => (0..=t).for_each(|j| coef[t][j] = pw(t - j) * w[t][j]),
                    Op::Hla2 => {
                        for j in 0..=t {
                            for i in 0..=j {
                                coef[t][j] += pw(t - i) * w[t][i] * w[j][i];
                            }
                            coef[t][j] += c.ridge as f64 * pw(t - j) * dot(&qs[t], &qs[j]);
                        }
                    }
                    Op::Ahla => {
                        for i in 0..=t {
                            for j in 0..=i {
                                coef[t][j] += pw(t - j) * w[t][i] * w[i][j];
                            }
                        }
                    }
                    Op::Hla3 => {
                        for u in 0..=t {
                            let mut b = 0.0;
                            for i in 0..=u {
                                b += pw(u - i) * w[t][i] * w[u][i];
                            }
                            for j in 0..=u {
                                coef[t][j] += pw(t - u) * b * pw(u - j) * w[u][j];
                            }
                        }
                    }
                    // The gated family's references are common/gated.rs's token loops, sse's and
                    // rla's common/second.rs's.
                    Op::Gla | Op::DeltaRule | Op::SseGla | Op::SseDeltaRule | Op::Rla => {
                        unreachable!("{} is not an HLA operator", c.op.name())
                    }
                }
            }
            for jv in 0..g {
                let hv = h * g + jv;
                for t in 0..len {
                    let den: f64 = coef[t].iter().sum();
                    let fl = if den >= 0.0 {
                        den.max(c.eps as f64)
                    } else {
                        den.min(-(c.eps as f64))
                    };
                    for e in 0..d.dv {
                        let mut s = 0.0;
                        for j in 0..len {
                            s += coef[t][j] * v[((row0 + j) * d.hv + hv) * d.dv + e] as f64;
                        }
                        o[((row0 + t) * d.hv + hv) * d.dv + e] =
                            if c.normalize { s / fl } else { s };
                    }
                }
            }
        }
    }
    o
}

/// Deterministic inputs in [-1, 1).
pub fn rand_vec(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// max|a − ref| / max(1, max|ref|)
pub fn rel_err(a: &[f32], r: &[f64]) -> f64 {
    let scale = r.iter().fold(1f64, |m, x| m.max(x.abs()));
    a.iter()
        .zip(r)
        .map(|(x, y)| {
            // f64::max drops NaN: count it as an infinite error instead.
            if x.is_nan() {
                f64::INFINITY
            } else {
                (*x as f64 - y).abs()
            }
        })
        .fold(0.0, f64::max)
        / scale
}
