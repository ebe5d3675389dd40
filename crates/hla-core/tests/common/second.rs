//! Float64 references for sse and rla (docs/math.md, sections sse and rla): the token loops
//! exactly as defined, and the closed forms of sse over gla and rla over la. The router's
//! selection is computed in float32 here too (the definition ranks float32 probabilities);
//! its weights enter the float64 sums.
#![allow(dead_code, clippy::needless_range_loop)]

use hla_core::ops::rla::{self, Residual, RlaBase, RlaOptions};
use hla_core::ops::shape::InputSpec;
use hla_core::ops::sse::{self, SseBase, SseOptions};
use hla_core::simd::Simd;
use hla_core::workspace::Workspace;
use hla_core::{Dims, Mode};

pub fn seqs(d: &Dims, cu: &Option<Vec<i32>>) -> Vec<(usize, usize)> {
    match cu {
        None => (0..d.b).map(|b| (b * d.t, d.t)).collect(),
        Some(cu) => cu
            .windows(2)
            .map(|w| (w[0] as usize, (w[1] - w[0]) as usize))
            .collect(),
    }
}

/// `x / sqrt(Σx² + 1e-6)` when `on`.
fn l2n(x: &[f64], on: bool) -> Vec<f64> {
    if !on {
        return x.to_vec();
    }
    let n = (x.iter().map(|a| a * a).sum::<f64>() + 1e-6).sqrt();
    x.iter().map(|a| a / n).collect()
}

fn row(x: &[f32], i: usize, n: usize) -> Vec<f64> {
    x[i * n..(i + 1) * n].iter().map(|&a| a as f64).collect()
}

/// The float32 probabilities and the top-k selection (ties: lowest index), written
/// independently of the kernel's router.
pub fn route(logits: &[f32], k: usize) -> (Vec<f32>, Vec<usize>) {
    let m = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = logits.iter().map(|l| (l - m).exp()).collect();
    let s: f32 = e.iter().sum();
    let p: Vec<f32> = e.iter().map(|x| x * (1.0 / s)).collect();
    let mut idx: Vec<usize> = (0..p.len()).collect();
    // A stable sort by −p keeps equal probabilities in index order.
    idx.sort_by(|&a, &b| p[b].partial_cmp(&p[a]).unwrap());
    idx.truncate(k);
    (p, idx)
}

pub struct SseCase {
    pub d: Dims,
    pub opts: SseOptions,
    /// In `opts.base.inputs()` order.
    pub inputs: Vec<Vec<f32>>,
    pub cu: Option<Vec<i32>>,
}

impl SseCase {
    pub fn seqs(&self) -> Vec<(usize, usize)> {
        seqs(&self.d, &self.cu)
    }
    pub fn state_len(&self) -> usize {
        sse::state_len(self.seqs().len(), &self.d, &self.opts).unwrap()
    }
    pub fn run<S: Simd>(&self, mode: Mode, state: &mut [f32]) -> Vec<f32> {
        let d = self.d;
        let mut o = vec![f32::NAN; d.b * d.t * d.hv * d.dv];
        let ins: Vec<&[f32]> = self.inputs.iter().map(|x| x.as_slice()).collect();
        let mut ws = Workspace::default();
        sse::forward_with::<S>(
            mode,
            &d,
            &self.opts,
            &ins,
            &mut o,
            state,
            self.cu.as_deref(),
            &mut ws,
        )
        .unwrap();
        o
    }

    /// The token loop of the definition: (o, final state).
    pub fn reference(&self, init: &[f32]) -> (Vec<f64>, Vec<f64>) {
        let (d, p) = (self.d, &self.opts);
        let (n, g, dk, dv) = (p.partitions, d.group(), d.dk, d.dv);
        let mat = dk * dv;
        let gla = p.base == SseBase::Gla;
        let x = &self.inputs;
        let mut o = vec![0.0f64; d.b * d.t * d.hv * dv];
        let mut st: Vec<f64> = init.iter().map(|&a| a as f64).collect();
        let glen = (n + 1) * g * mat;
        for (si, (row0, len)) in self.seqs().into_iter().enumerate() {
            for t in 0..len {
                let r = row0 + t;
                let (pr, sel) = route(&x[sse::ROUTER][r * n..(r + 1) * n], p.top_k);
                for h in 0..d.h {
                    let grp = &mut st[(si * d.h + h) * glen..(si * d.h + h + 1) * glen];
                    // (partition, q, k, side) for partition 0 and the selected ones.
                    let mut parts = vec![(0usize, 1.0f64, 1.0f64, 1usize)];
                    for &i in &sel {
                        let w = pr[i] as f64;
                        let wq = if p.weight_query { w } else { 1.0 };
                        let wk = if p.weight_key { w } else { 1.0 };
                        parts.push((i + 1, wq, wk, 2));
                    }
                    for (part, wq, wk, side) in parts {
                        let (qi, ki) = if side == 1 {
                            (sse::Q1, sse::K1)
                        } else {
                            (sse::Q2, sse::K2)
                        };
                        let qr: Vec<f64> = row(&x[qi], r * d.h + h, dk)
                            .iter()
                            .map(|a| a * wq)
                            .collect();
                        let kr: Vec<f64> = row(&x[ki], r * d.h + h, dk)
                            .iter()
                            .map(|a| a * wk)
                            .collect();
                        let q: Vec<f64> = l2n(&qr, p.qk_l2norm)
                            .iter()
                            .map(|a| a * p.scale as f64)
                            .collect();
                        let k = l2n(&kr, p.qk_l2norm);
                        for j in 0..g {
                            let vh = r * d.hv + h * g + j;
                            let v = row(&x[sse::V], vh, dv);
                            let s = &mut grp[(part * g + j) * mat..(part * g + j + 1) * mat];
                            if gla {
                                let gi = if side == 1 { sse::GK1 } else { sse::GK2 };
                                let gk = row(&x[gi], r * d.h + h, dk);
                                for a in 0..dk {
                                    for b in 0..dv {
                                        s[a * dv + b] = gk[a].exp() * s[a * dv + b] + k[a] * v[b];
                                    }
                                }
                            } else {
                                let (gi, bi) = if side == 1 {
                                    (sse::G1, sse::BETA1)
                                } else {
                                    (sse::G2, sse::BETA2)
                                };
                                let alpha = if x[gi].is_empty() {
                                    1.0
                                } else {
                                    (x[gi][vh] as f64).exp()
                                };
                                let beta = x[bi][vh] as f64;
                                s.iter_mut().for_each(|a| *a *= alpha);
                                let mut delta = v.clone();
                                for b in 0..dv {
                                    let sk: f64 = (0..dk).map(|a| s[a * dv + b] * k[a]).sum();
                                    delta[b] = beta * (v[b] - sk);
                                }
                                for a in 0..dk {
                                    for b in 0..dv {
                                        s[a * dv + b] += k[a] * delta[b];
                                    }
                                }
                            }
                            for b in 0..dv {
                                o[vh * dv + b] +=
                                    (0..dk).map(|a| s[a * dv + b] * q[a]).sum::<f64>();
                            }
                        }
                    }
                }
            }
        }
        (o, st)
    }

    /// sse over gla from a zero state (qkL2norm off), in closed form: partition i's decay sums
    /// run only over the tokens routed to i.
    pub fn closed_form_gla(&self) -> Vec<f64> {
        let (d, p) = (self.d, &self.opts);
        assert!(p.base == SseBase::Gla && !p.qk_l2norm);
        let (n, g, dk, dv) = (p.partitions, d.group(), d.dk, d.dv);
        let x = &self.inputs;
        let mut o = vec![0.0f64; d.b * d.t * d.hv * dv];
        for (row0, len) in self.seqs() {
            let routes: Vec<(Vec<f32>, Vec<usize>)> = (0..len)
                .map(|t| route(&x[sse::ROUTER][(row0 + t) * n..(row0 + t + 1) * n], p.top_k))
                .collect();
            for h in 0..d.h {
                // Cumulative gates: side 1 over every token, partition i over its tokens.
                let mut g1 = vec![vec![0.0f64; dk]; len];
                let mut gi = vec![vec![vec![0.0f64; dk]; len]; n];
                for t in 0..len {
                    let r = row0 + t;
                    let gk1 = row(&x[sse::GK1], r * d.h + h, dk);
                    let gk2 = row(&x[sse::GK2], r * d.h + h, dk);
                    for a in 0..dk {
                        g1[t][a] = gk1[a] + if t > 0 { g1[t - 1][a] } else { 0.0 };
                        for i in 0..n {
                            let prev = if t > 0 { gi[i][t - 1][a] } else { 0.0 };
                            gi[i][t][a] = prev
                                + if routes[t].1.contains(&i) {
                                    gk2[a]
                                } else {
                                    0.0
                                };
                        }
                    }
                }
                for t in 0..len {
                    let r = row0 + t;
                    let q1 = row(&x[sse::Q1], r * d.h + h, dk);
                    let q2 = row(&x[sse::Q2], r * d.h + h, dk);
                    for s in 0..=t {
                        let rs = row0 + s;
                        let k1 = row(&x[sse::K1], rs * d.h + h, dk);
                        let k2 = row(&x[sse::K2], rs * d.h + h, dk);
                        let mut w: f64 = (0..dk)
                            .map(|a| q1[a] * (g1[t][a] - g1[s][a]).exp() * k1[a])
                            .sum();
                        for &i in &routes[t].1 {
                            if !routes[s].1.contains(&i) {
                                continue;
                            }
                            let wq = if p.weight_query {
                                routes[t].0[i] as f64
                            } else {
                                1.0
                            };
                            let wk = if p.weight_key {
                                routes[s].0[i] as f64
                            } else {
                                1.0
                            };
                            w += wq
                                * wk
                                * (0..dk)
                                    .map(|a| q2[a] * (gi[i][t][a] - gi[i][s][a]).exp() * k2[a])
                                    .sum::<f64>();
                        }
                        for j in 0..g {
                            let (vt, vs) = (r * d.hv + h * g + j, rs * d.hv + h * g + j);
                            for b in 0..dv {
                                o[vt * dv + b] +=
                                    p.scale as f64 * w * x[sse::V][vs * dv + b] as f64;
                            }
                        }
                    }
                }
            }
        }
        o
    }
}

pub struct RlaCase {
    pub d: Dims,
    pub opts: RlaOptions,
    /// q, k, v, g, beta, correction (g, beta may be empty).
    pub inputs: Vec<Vec<f32>>,
    pub cu: Option<Vec<i32>>,
}

impl RlaCase {
    pub fn seqs(&self) -> Vec<(usize, usize)> {
        seqs(&self.d, &self.cu)
    }
    pub fn state_len(&self) -> usize {
        rla::state_len(self.seqs().len(), &self.d).unwrap()
    }
    pub fn run<S: Simd>(&self, mode: Mode, state: &mut [f32]) -> Vec<f32> {
        let d = self.d;
        let mut o = vec![f32::NAN; d.b * d.t * d.hv * d.dv];
        let ins: Vec<&[f32]> = self.inputs.iter().map(|x| x.as_slice()).collect();
        let mut ws = Workspace::default();
        rla::forward_with::<S>(
            mode,
            &d,
            &self.opts,
            &ins,
            &mut o,
            state,
            self.cu.as_deref(),
            &mut ws,
        )
        .unwrap();
        o
    }

    fn rates(&self, vh: usize) -> (f64, f64, f64) {
        let x = &self.inputs;
        let g = if x[rla::G].is_empty() {
            0.0
        } else {
            x[rla::G][vh] as f64
        };
        let b = if x[rla::BETA].is_empty() {
            1.0
        } else {
            x[rla::BETA][vh] as f64
        };
        (g, b, x[rla::CORRECTION][vh] as f64)
    }

    /// The token loop of the definition: (o, final state, clipped residual elements).
    pub fn reference(&self, init: &[f32]) -> (Vec<f64>, Vec<f64>, usize) {
        let (d, p) = (self.d, &self.opts);
        let (g, dk, dv) = (d.group(), d.dk, d.dv);
        let mat = dk * dv;
        let x = &self.inputs;
        let mut o = vec![0.0f64; d.b * d.t * d.hv * dv];
        let mut st: Vec<f64> = init.iter().map(|&a| a as f64).collect();
        let glen = 2 * g * mat;
        let c = p.clip as f64;
        let mut clipped = 0;
        for (si, (row0, len)) in self.seqs().into_iter().enumerate() {
            for t in 0..len {
                let r = row0 + t;
                for h in 0..d.h {
                    let q: Vec<f64> = l2n(&row(&x[rla::Q], r * d.h + h, dk), p.qk_l2norm)
                        .iter()
                        .map(|a| a * p.scale as f64)
                        .collect();
                    let k = l2n(&row(&x[rla::K], r * d.h + h, dk), p.qk_l2norm);
                    let grp = &mut st[(si * d.h + h) * glen..(si * d.h + h + 1) * glen];
                    let (s_all, r_all) = grp.split_at_mut(g * mat);
                    for j in 0..g {
                        let vh = r * d.hv + h * g + j;
                        let v = row(&x[rla::V], vh, dv);
                        let (lg, beta, corr) = self.rates(vh);
                        let alpha = lg.exp();
                        let s = &mut s_all[j * mat..(j + 1) * mat];
                        let rr = &mut r_all[j * mat..(j + 1) * mat];
                        let read = |m: &[f64], y: &[f64], b: usize| -> f64 {
                            (0..dk).map(|a| m[a * dv + b] * y[a]).sum()
                        };
                        let pk = if p.residual == Residual::Decayed {
                            alpha
                        } else {
                            1.0
                        };
                        let res: Vec<f64> = (0..dv)
                            .map(|b| {
                                let e = v[b] - pk * read(s, &k, b);
                                if e.abs() > c {
                                    clipped += 1;
                                }
                                e.clamp(-c, c)
                            })
                            .collect();
                        let read_q: Vec<f64> = (0..dv).map(|b| alpha * read(s, &q, b)).collect();
                        step(p.base, s, &k, &v, alpha, beta, dk, dv);
                        step(p.base, rr, &k, &res, alpha, corr, dk, dv);
                        for b in 0..dv {
                            o[vh * dv + b] = read_q[b] + corr * read(rr, &q, b);
                        }
                    }
                }
            }
        }
        (o, st, clipped)
    }

    /// rla over la from a zero state with finite gates, in closed form (Γ: cumulative g).
    pub fn closed_form_la(&self) -> Vec<f64> {
        let (d, p) = (self.d, &self.opts);
        assert!(p.base == RlaBase::La && !p.qk_l2norm);
        let (g, dk, dv) = (d.group(), d.dk, d.dv);
        let x = &self.inputs;
        let c = p.clip as f64;
        let mut o = vec![0.0f64; d.b * d.t * d.hv * dv];
        for (row0, len) in self.seqs() {
            for h in 0..d.h {
                let q: Vec<Vec<f64>> = (0..len)
                    .map(|t| row(&x[rla::Q], (row0 + t) * d.h + h, dk))
                    .collect();
                let k: Vec<Vec<f64>> = (0..len)
                    .map(|t| row(&x[rla::K], (row0 + t) * d.h + h, dk))
                    .collect();
                let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
                for j in 0..g {
                    let vh = |t: usize| (row0 + t) * d.hv + h * g + j;
                    let rates: Vec<(f64, f64, f64)> = (0..len).map(|t| self.rates(vh(t))).collect();
                    let mut gam = vec![0.0f64; len];
                    for t in 0..len {
                        gam[t] = rates[t].0 + if t > 0 { gam[t - 1] } else { 0.0 };
                    }
                    let v: Vec<Vec<f64>> = (0..len).map(|t| row(&x[rla::V], vh(t), dv)).collect();
                    let mut res = vec![vec![0.0f64; dv]; len];
                    for t in 0..len {
                        // P_tᵀ k_t: Σ_{s<t} e^{Γ_{t−1}−Γ_s} β_s (k_t·k_s) v_s, times α_t if decayed.
                        let pk = if p.residual == Residual::Decayed {
                            rates[t].0.exp()
                        } else {
                            1.0
                        };
                        for b in 0..dv {
                            let pred: f64 = (0..t)
                                .map(|s| {
                                    (gam[t - 1] - gam[s]).exp()
                                        * rates[s].1
                                        * dot(&k[t], &k[s])
                                        * v[s][b]
                                })
                                .sum();
                            res[t][b] = (v[t][b] - pk * pred).clamp(-c, c);
                        }
                        let sc = p.scale as f64;
                        for b in 0..dv {
                            let base: f64 = (0..t)
                                .map(|s| {
                                    (gam[t] - gam[s]).exp()
                                        * rates[s].1
                                        * dot(&q[t], &k[s])
                                        * v[s][b]
                                })
                                .sum();
                            let corr: f64 = (0..=t)
                                .map(|s| {
                                    (gam[t] - gam[s]).exp()
                                        * rates[s].2
                                        * dot(&q[t], &k[s])
                                        * res[s][b]
                                })
                                .sum();
                            o[vh(t) * dv + b] = sc * (base + rates[t].2 * corr);
                        }
                    }
                }
            }
        }
        o
    }
}

/// One base step of `m` with write rate `rate` (la: decay and add; deltaRule: the delta rule).
#[allow(clippy::too_many_arguments)]
fn step(
    base: RlaBase,
    m: &mut [f64],
    k: &[f64],
    v: &[f64],
    alpha: f64,
    rate: f64,
    dk: usize,
    dv: usize,
) {
    m.iter_mut().for_each(|a| *a *= alpha);
    let delta: Vec<f64> = match base {
        RlaBase::La => v.iter().map(|a| rate * a).collect(),
        RlaBase::DeltaRule => (0..dv)
            .map(|b| rate * (v[b] - (0..dk).map(|a| m[a * dv + b] * k[a]).sum::<f64>()))
            .collect(),
    };
    for a in 0..dk {
        for b in 0..dv {
            m[a * dv + b] += k[a] * delta[b];
        }
    }
}

/// Tokens `lo..hi` of each input of a one-sequence case (`width`: the router's, sse's N).
pub fn token_slice(
    specs: &[InputSpec],
    d: &Dims,
    width: usize,
    inputs: &[Vec<f32>],
    lo: usize,
    hi: usize,
) -> Vec<Vec<f32>> {
    specs
        .iter()
        .zip(inputs)
        .map(|(spec, x)| {
            let ([a, b], _) = spec.per_token(d, width);
            let w = a * b;
            x[lo * w..hi * w].to_vec()
        })
        .collect()
}

/// Two calls carrying the state (outputs `o`, final state `st2`) equal one (`whole`, `st`).
pub fn assert_continuation(whole: &[f32], st: &[f32], o: &[f32], st2: &[f32], what: &str) {
    let w64: Vec<f64> = whole.iter().map(|&x| x as f64).collect();
    let s64: Vec<f64> = st.iter().map(|&x| x as f64).collect();
    assert!(
        super::rel_err(o, &w64) < 1e-5 && super::rel_err(st2, &s64) < 1e-5,
        "{what}"
    );
}
