//! Float64 token loops for gla and deltaRule (docs/math.md §g), the references of tests/gated.rs.
// Not every test crate that includes `common` runs the gated family.
#![allow(dead_code)]

use hla_core::ops::forward_with;
use hla_core::simd::Simd;
use hla_core::workspace::Workspace;
use hla_core::{Dims, GatedOptions, Mode, Op, Options};

/// One test case: shapes, options and inputs.
pub struct GatedCase {
    pub op: Op,
    pub d: Dims,
    pub scale: f32,
    pub qk_l2norm: bool,
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    pub gk: Vec<f32>,
    pub beta: Vec<f32>,
    pub g: Vec<f32>,
    /// Sequences as (first row, length); `None` = the batch.
    pub cu: Option<Vec<i32>>,
}

impl GatedCase {
    pub fn seqs(&self) -> Vec<(usize, usize)> {
        match &self.cu {
            None => (0..self.d.b).map(|b| (b * self.d.t, self.d.t)).collect(),
            Some(cu) => cu
                .windows(2)
                .map(|w| (w[0] as usize, (w[1] - w[0]) as usize))
                .collect(),
        }
    }
    pub fn options(&self) -> Options {
        Options::Gated(GatedOptions {
            scale: self.scale,
            qk_l2norm: self.qk_l2norm,
        })
    }
    pub fn state_len(&self) -> usize {
        hla_core::state_len(self.op, self.seqs().len(), &self.d, &self.options()).unwrap()
    }
    /// The inputs in the operator's order.
    pub fn inputs(&self) -> Vec<&[f32]> {
        match self.op {
            Op::Gla => vec![&self.q, &self.k, &self.v, &self.gk],
            _ => vec![&self.q, &self.k, &self.v, &self.beta, &self.g],
        }
    }

    /// The kernel with instruction set `S`: outputs; `state` in/out.
    pub fn run<S: Simd>(&self, mode: Mode, state: &mut [f32]) -> Vec<f32> {
        let d = self.d;
        let mut o = vec![f32::NAN; d.b * d.t * d.hv * d.dv];
        let mut ws = Workspace::default();
        forward_with::<S>(
            self.op,
            mode,
            &d,
            &self.options(),
            &self.inputs(),
            &mut o,
            state,
            self.cu.as_deref(),
            &mut ws,
        )
        .unwrap();
        o
    }

    /// Float64 token loops: outputs, and the final state (from `init`, f32 as given).
    pub fn reference(&self, init: &[f32]) -> (Vec<f64>, Vec<f64>) {
        let d = self.d;
        let (dk, dv, g) = (d.dk, d.dv, d.hv / d.h);
        let mut o = vec![0f64; d.b * d.t * d.hv * d.dv];
        let mut state: Vec<f64> = init.iter().map(|&x| x as f64).collect();
        for (n, (row0, len)) in self.seqs().into_iter().enumerate() {
            for hv in 0..d.hv {
                let h = hv / g;
                let s = &mut state[(n * d.hv + hv) * dk * dv..(n * d.hv + hv + 1) * dk * dv];
                for t in row0..row0 + len {
                    let qo = (t * d.h + h) * dk;
                    let mut q: Vec<f64> = self.q[qo..qo + dk].iter().map(|&x| x as f64).collect();
                    let mut k: Vec<f64> = self.k[qo..qo + dk].iter().map(|&x| x as f64).collect();
                    let vo = (t * d.hv + hv) * dv;
                    let v: Vec<f64> = self.v[vo..vo + dv].iter().map(|&x| x as f64).collect();
                    if self.qk_l2norm {
                        for x in [&mut q, &mut k] {
                            let inv = 1.0 / (x.iter().map(|y| y * y).sum::<f64>() + 1e-6).sqrt();
                            x.iter_mut().for_each(|y| *y *= inv);
                        }
                    }
                    q.iter_mut().for_each(|y| *y *= self.scale as f64);
                    match self.op {
                        Op::Gla => {
                            for i in 0..dk {
                                let a = (self.gk[qo + i] as f64).exp();
                                for c in 0..dv {
                                    s[i * dv + c] = a * s[i * dv + c] + k[i] * v[c];
                                }
                            }
                        }
                        _ => {
                            let gi = t * d.hv + hv;
                            let a = if self.g.is_empty() {
                                1.0
                            } else {
                                (self.g[gi] as f64).exp()
                            };
                            let b = self.beta[gi] as f64;
                            s.iter_mut().for_each(|x| *x *= a);
                            for c in 0..dv {
                                let sk: f64 = (0..dk).map(|i| s[i * dv + c] * k[i]).sum();
                                let delta = b * (v[c] - sk);
                                for i in 0..dk {
                                    s[i * dv + c] += k[i] * delta;
                                }
                            }
                        }
                    }
                    for c in 0..dv {
                        o[vo + c] = (0..dk).map(|i| s[i * dv + c] * q[i]).sum();
                    }
                }
            }
        }
        (o, state)
    }
}
