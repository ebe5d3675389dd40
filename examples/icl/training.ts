// Training the prompt paper's layer by stochastic gradient descent, every forward pass through
// hla.la1, and checking that it lands on the closed-form optimum (docs/icl-math.md §2–§3).
//
// Parameters: W (d×d, folded into la1's keys) and, for the "joint" run, the prompt keys c_k = W b_k
// (one extra key/value token per task). Each step draws a fresh batch of prompts, predicts with
// la1, and takes the gradient of the batch's squared error, which is linear in the residual:
//   ŷ = x_qᵀ(W h + c_k), h = Σ_i x_i y_i:  ∂/∂W = 2 E[r x_q hᵀ],  ∂/∂c_k = 2 E[r x_q 1{task k}].
// The population loss of any (W, c) has a closed form (populationLoss), so the curve it traces
// is exact, not a noisy estimate.
import { mulberry32 } from '../browser/seeded.ts';
import type { La1, Progress } from './estimate.ts';
import { combine, identity, matmul, outer, trace, transpose, type Mat } from './linalg.ts';
import { drawBatch, normaliser, predict, solve, type Mixture, type RegimeSolution } from './prompts.ts';
import { gaussian } from './random.ts';

export const TRAINING = {
  n: 10,
  steps: 200,
  batch: 500,
  /** Step = `rate` / (2 × curvature bound) per parameter block (see train). */
  rate: 0.5,
  seed: 250302103,
} as const;

/**
 * E(ŷ − y)² of ŷ = x_qᵀ(W Xᵀy + c_k) for any W and prompt keys (null: no prompt), summing per
 * task k (β = μ_k + δ): ‖(nW − I)μ_k + c_k‖² + tr(W(nμ_kμ_kᵀ + n‖μ_k‖²I)Wᵀ)
 *   + tr(W(n(n+1)Σ_k + n trΣ_k I)Wᵀ) − 2n tr(WΣ_k) + tr Σ_k      (by (*) of docs/icl-math.md).
 */
export function populationLoss(mix: Mixture, n: number, W: Mat, promptKeys: (Float64Array | null)[]): number {
  const { d } = mix, I = identity(d), WWt = trace(matmul(W, transpose(W)));
  let total = 0;
  mix.weights.forEach((p, k) => {
    const mu = new Float64Array(d).fill(mix.means[k]), mu2 = mix.means[k] ** 2 * d, s2 = mix.variances[k];
    const A = combine([n, W], [-1, I]);
    let mean = 0;
    for (let i = 0; i < d; i++) {
      let e = promptKeys[k]?.[i] ?? 0;
      for (let j = 0; j < d; j++) e += A.a[i * d + j] * mu[j];
      mean += e * e;
    }
    const WmuWt = trace(matmul(matmul(W, outer(mu)), transpose(W)));
    const fluct = n * WmuWt + n * mu2 * WWt + n * (n + 1) * s2 * WWt + n * s2 * d * WWt - 2 * n * s2 * trace(W) + s2 * d;
    total += p * (mean + fluct);
  });
  return total;
}

export interface TrainingRun {
  regime: 'plain' | 'joint';
  /** Population loss / tr M of the iterate after each step (index 0: the start, W = 0, c = 0). */
  loss: number[];
  /** Population loss / tr M of the average of the second half's iterates (Polyak–Ruppert). */
  averaged: number;
  /** The regime's closed-form optimum / tr M. */
  closedForm: number;
}

/** SGD from W = 0 (and c = 0) on fresh batches; `prompts` trains the prompt keys too. */
export async function train(hla: La1, mix: Mixture, cfg: { n: number; steps: number; batch: number; rate: number; seed: number }, prompts: boolean, progress?: Progress): Promise<TrainingRun> {
  const { d } = mix, K = mix.weights.length, { n } = cfg, z = normaliser(mix);
  const normal = gaussian(cfg.seed), uniform = mulberry32(cfg.seed + 1);
  let W = identity(d, 0);
  const keys = Array.from({ length: K }, () => new Float64Array(d));
  const avgW = identity(d, 0), avgKeys = keys.map(() => new Float64Array(d));
  let averagedOver = 0;
  const yOnly = Array.from({ length: K }, () => { const h = new Float64Array(d + 1); h[d] = 1; return h; });
  const lossNow = () => populationLoss(mix, n, W, prompts ? keys : keys.map(() => null)) / z;
  const loss = [lossNow()];
  // Curvature bounds: the loss is quadratic with Hessian 2E[(x_q x_qᵀ) ⊗ (h hᵀ)] in W, whose top
  // eigenvalue is at most 2E‖h‖² (measured on the first batch), and 2π_k in c_k.
  let hBound = 0;
  for (let step = 0; step < cfg.steps; step++) {
    const batch = drawBatch(mix, n, cfg.batch, normal, uniform);
    const sol: RegimeSolution = { W, promptKeys: prompts ? keys : keys.map(() => null), heads: yOnly, loss: NaN };
    const yhat = predict(hla, batch, [sol]);
    const gW = new Float64Array(d * d), gc = keys.map(() => new Float64Array(d)), h = new Float64Array(d);
    let hh = 0;
    for (let b = 0; b < batch.count; b++) {
      h.fill(0);
      for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) h[c] += batch.x[(b * n + i) * d + c] * batch.y[b * n + i];
      for (let c = 0; c < d; c++) hh += h[c] * h[c];
      const r = yhat[b] - batch.yq[b], xq = batch.xq.subarray(b * d, (b + 1) * d);
      for (let i = 0; i < d; i++) {
        const rx = (2 * r * xq[i]) / batch.count;
        for (let j = 0; j < d; j++) gW[i * d + j] += rx * h[j];
        gc[batch.task[b]][i] += rx;
      }
    }
    if (step === 0) hBound = 2 * (hh / batch.count);
    const next = identity(d, 0);
    for (let i = 0; i < d * d; i++) next.a[i] = W.a[i] - (cfg.rate / hBound) * gW[i];
    W = next;
    if (prompts) keys.forEach((c, k) => { for (let i = 0; i < d; i++) c[i] -= (cfg.rate / (2 * mix.weights[k])) * gc[k][i]; });
    if (step >= cfg.steps / 2) {
      averagedOver++;
      for (let i = 0; i < d * d; i++) avgW.a[i] += (W.a[i] - avgW.a[i]) / averagedOver;
      avgKeys.forEach((a, k) => { for (let i = 0; i < d; i++) a[i] += (keys[k][i] - a[i]) / averagedOver; });
    }
    loss.push(lossNow());
    await progress?.((step + 1) / cfg.steps);
  }
  const averaged = populationLoss(mix, n, avgW, prompts ? avgKeys : avgKeys.map(() => null)) / z;
  const closed = solve(mix, n)[prompts ? 'joint' : 'plain'].loss / z;
  return { regime: prompts ? 'joint' : 'plain', loss, averaged, closedForm: closed };
}
