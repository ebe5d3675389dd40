// Task-specific prompts and heads for in-context regression with one linear-attention layer
// (Chang, Li, Kara, Oymak, Roy-Chowdhury, arXiv 2503.02102; code UCR-Vision-and-Learning-Group/
// prompt_ICL). Closed forms: docs/icl-math.md §2.
//
// Data: K tasks, task k with probability π_k, β ~ N(μ_k, σ_k² I), x ~ N(0, I_d), y = xᵀβ.
// Model: ŷ = x_qᵀ W (Σ_i x_i y_i + b_k), where b_k comes from one extra key/value token (the
// task's prompt). Four regimes, from the least to the most task-specific:
//   plain      W trained on the mixture, no prompt;
//   fine-tune  that W frozen, the prompts trained per task;
//   joint      W and the prompts trained together;
//   heads      prompts and a per-task output head (a readout of the layer's output, as the
//              authors' `v_task`), W shared: the head removes x_iᵀμ_k from every value, the
//              prompt adds x_qᵀμ_k back, so in-context learning only has to explain β − μ_k.
import { mulberry32 } from '../browser/seeded.ts';
import { Mean, type Estimate, type La1, type Progress, type Tensor } from './estimate.ts';
import { apply, combine, identity, inverse, matmul, outer, trace, transpose, type Mat } from './linalg.ts';
import { gaussian } from './random.ts';

/** The paper's figure setting (the authors' `zero_cov_12` experiment: the mixture's mean
 *  0.3·1.4 − 0.7·0.6 is 0: without a prompt nothing tells the layer which task's mean applies). */
export const PROMPTS = {
  d: 10,
  weights: [0.3, 0.7],
  /** μ_k = means[k]·1 (the all-ones vector). */
  means: [1.4, -0.6],
  /** Σ_k = variances[k]·I. */
  variances: [1, 2],
  /** Monte Carlo at the authors' context lengths (n = 1, 10, …, 50); closed-form lines at every n. */
  ns: [1, 10, 20, 30, 40, 50],
  lineNs: Array.from({ length: 50 }, (_, i) => i + 1),
  prompts: 8000,
  chunk: 500,
  seed: 250302102,
} as const;

export type Regime = 'plain' | 'fineTune' | 'joint' | 'heads';
export const REGIMES: Regime[] = ['plain', 'fineTune', 'joint', 'heads'];
export const REGIME_LABELS: Record<Regime, string> = {
  plain: 'plain (no prompt)',
  fineTune: 'prompt fine-tune (W frozen)',
  joint: 'joint (W + prompts)',
  heads: 'prompt + task heads',
};

export interface Mixture {
  d: number;
  weights: readonly number[];
  means: readonly number[];
  variances: readonly number[];
}

function mu(mix: Mixture, k: number): Float64Array {
  return new Float64Array(mix.d).fill(mix.means[k]);
}

/** M = Σπ_k(Σ_k + μ_kμ_kᵀ), M_μ = Σπ_k μ_kμ_kᵀ, M_c = M − M_μ = Σπ_kΣ_k. */
export function moments(mix: Mixture): { M: Mat; Mmu: Mat; Mc: Mat } {
  const Mmu = combine(...mix.weights.map((p, k) => [p, outer(mu(mix, k))] as [number, Mat]));
  const Mc = identity(mix.d, mix.weights.reduce((s, p, k) => s + p * mix.variances[k], 0));
  return { M: combine([1, Mc], [1, Mmu]), Mmu, Mc };
}

/** L(W; A, B) = tr A − 2n tr(W A) + tr(W B Wᵀ): the loss of ŷ = x_qᵀW(Xᵀy + b) when the
 *  targets have second moment A and the (prompt-shifted) context vector has second moment B. */
function loss(n: number, W: Mat, A: Mat, B: Mat): number {
  return trace(A) - 2 * n * trace(matmul(W, A)) + trace(matmul(matmul(W, B), transpose(W)));
}

export interface RegimeSolution {
  /** The attention weights W (folded into la1's keys). */
  W: Mat;
  /** Per task: the prompt token's key c_k = W b_k (null: no prompt token). */
  promptKeys: (Float64Array | null)[];
  /** Per task: the readout of la1's output [x-part; y-part] (length d + 1). */
  heads: Float64Array[];
  /** Closed-form loss E(ŷ − y)² (docs/icl-math.md §2). */
  loss: number;
}

/** The optimal W, prompts and heads of each regime at context length n, with their losses. */
export function solve(mix: Mixture, n: number): Record<Regime, RegimeSolution> {
  const { d } = mix, K = mix.weights.length;
  const { M, Mmu, Mc } = moments(mix);
  const C = combine([n * trace(M), identity(d)], [n * (n + 1), M]);
  const Cshift = combine([1, C], [-n * n, Mmu]);
  const Ccentred = combine([n * trace(Mc), identity(d)], [n * (n + 1), Mc]);
  const Wplain = combine([n, matmul(M, inverse(C))]);
  const Wjoint = combine([n, matmul(Mc, inverse(Cshift))]);
  const Wheads = matmul(Mc, inverse(combine([trace(Mc), identity(d)], [n + 1, Mc])));
  const yOnly = () => { const h = new Float64Array(d + 1); h[d] = 1; return h; };
  // The prompt that cancels the task's mean error: E[W(Xᵀy) + c_k] = nWμ_k + c_k = μ_k.
  const meanPrompt = (W: Mat) => Array.from({ length: K }, (_, k) => {
    const m = mu(mix, k), nWm = apply(W, m);
    return m.map((x, i) => x - n * nWm[i]);
  });
  return {
    plain: { W: Wplain, promptKeys: Array(K).fill(null), heads: Array.from({ length: K }, yOnly), loss: loss(n, Wplain, M, C) },
    fineTune: { W: Wplain, promptKeys: meanPrompt(Wplain), heads: Array.from({ length: K }, yOnly), loss: loss(n, Wplain, Mc, Cshift) },
    joint: { W: Wjoint, promptKeys: meanPrompt(Wjoint), heads: Array.from({ length: K }, yOnly), loss: loss(n, Wjoint, Mc, Cshift) },
    heads: {
      W: Wheads,
      promptKeys: Array.from({ length: K }, (_, k) => mu(mix, k)),
      // y_i − μ_kᵀx_i: the head subtracts the task mean's prediction from every value.
      heads: Array.from({ length: K }, (_, k) => { const h = yOnly(); h.set(mu(mix, k).map((x) => -x)); return h; }),
      loss: loss(n, Wheads, Mc, Ccentred),
    },
  };
}

/** tr M: the loss of predicting 0, the figure's normaliser. */
export function normaliser(mix: Mixture): number {
  return trace(moments(mix).M);
}

// ---- Monte Carlo through la1 ---------------------------------------------------------------

export interface Batch {
  n: number;
  d: number;
  count: number;
  /** Task of each prompt. */
  task: Int32Array;
  /** [count, n, d] */
  x: Float64Array;
  /** [count, n] */
  y: Float64Array;
  /** [count, d] */
  xq: Float64Array;
  /** [count]: the query's true label */
  yq: Float64Array;
}

export function drawBatch(mix: Mixture, n: number, count: number, normal: () => number, uniform: () => number): Batch {
  const { d } = mix;
  const task = new Int32Array(count), x = new Float64Array(count * n * d), y = new Float64Array(count * n);
  const xq = new Float64Array(count * d), yq = new Float64Array(count), beta = new Float64Array(d);
  for (let b = 0; b < count; b++) {
    let u = (uniform() + 1) / 2, k = 0;
    while (k < mix.weights.length - 1 && u >= mix.weights[k]) u -= mix.weights[k++];
    task[b] = k;
    const sd = Math.sqrt(mix.variances[k]);
    for (let i = 0; i < d; i++) beta[i] = mix.means[k] + sd * normal();
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += (x[(b * n + i) * d + c] = normal()) * beta[c];
      y[b * n + i] = s;
    }
    let s = 0;
    for (let c = 0; c < d; c++) s += (xq[b * d + c] = normal()) * beta[c];
    yq[b] = s;
  }
  return { n, d, count, task, x, y, xq, yq };
}

/**
 * la1's inputs: one sequence per prompt (B = count), T = n + 2 tokens (the task's prompt, the n
 * examples, the query), one head per regime (H = 4), dk = d, dv = d + 1.
 *
 * la1 with no decay and scale 1 gives o_t = Σ_{j≤t} (q_t·k_j) v_j. Tokens carry the authors'
 * layout [x; y] as values; W is folded into the keys (k_i = W x_i, so q·k_i = x_qᵀW x_i with the
 * query q = x_q), and the prompt is token 0 with key c_k = W b_k and value [0; 1]. The query is
 * the last token (key x_q, value 0). At the last token
 *   o = Σ_i (x_qᵀW x_i)[x_i; y_i] + (x_qᵀc_k)[0; 1],
 * and the regime's readout h gives ŷ = hᵀo: h = [0; 1] reads x_qᵀW(Σ x_i y_i + b_k); the task
 * head h = [−μ_k; 1] reads x_qᵀW Σ x_i(y_i − x_iᵀμ_k) + x_qᵀc_k. Without a prompt (plain) token
 * 0 has key and value 0.
 */
export function tensors(batch: Batch, solutions: RegimeSolution[]): { q: Tensor; k: Tensor; v: Tensor } {
  const { n, d, count } = batch, T = n + 2, H = solutions.length, dv = d + 1;
  const q = new Float32Array(count * T * H * d), k = new Float32Array(count * T * H * d), v = new Float32Array(count * T * H * dv);
  const sameW = solutions.map((s) => solutions.findIndex((t) => t.W === s.W));
  // Plain loops: TypedArray.set from a Float64Array into a Float32Array is a slow path in V8.
  for (let b = 0; b < count; b++) {
    for (let h = 0; h < H; h++) {
      const sol = solutions[h], key = sol.promptKeys[batch.task[b]], Wa = sol.W.a;
      const at = (t: number) => (b * T + t) * H + h;
      if (key) {
        for (let c = 0; c < d; c++) k[at(0) * d + c] = key[c];
        v[at(0) * dv + d] = 1;
      }
      for (let i = 0; i < n; i++) {
        const x0 = (b * n + i) * d, kt = at(i + 1) * d, vt = at(i + 1) * dv;
        if (sameW[h] < h) {
          // Plain and fine-tune share W: copy the keys computed for the earlier head.
          const src = ((b * T + i + 1) * H + sameW[h]) * d;
          k.copyWithin(kt, src, src + d);
        } else {
          for (let r = 0; r < d; r++) {
            let s = 0;
            for (let c = 0; c < d; c++) s += Wa[r * d + c] * batch.x[x0 + c];
            k[kt + r] = s;
          }
        }
        for (let r = 0; r < d; r++) v[vt + r] = batch.x[x0 + r];
        v[vt + d] = batch.y[b * n + i];
      }
      const qt = at(n + 1) * d;
      for (let c = 0; c < d; c++) q[qt + c] = k[qt + c] = batch.xq[b * d + c];
    }
  }
  return { q: { data: q, shape: [count, T, H, d] }, k: { data: k, shape: [count, T, H, d] }, v: { data: v, shape: [count, T, H, dv] } };
}

/** ŷ for every (prompt, regime): the regime's head applied to la1's last output; [count, H]. */
export function predict(hla: La1, batch: Batch, solutions: RegimeSolution[]): Float64Array {
  const { q, k, v } = tensors(batch, solutions);
  const { o } = hla.la1(q, k, v, { scale: 1 });
  const { n, d, count } = batch, T = n + 2, H = solutions.length, dv = d + 1;
  const out = new Float64Array(count * H);
  for (let b = 0; b < count; b++) {
    for (let h = 0; h < H; h++) {
      const head = solutions[h].heads[batch.task[b]], at = ((b * T + n + 1) * H + h) * dv;
      let s = 0;
      for (let j = 0; j < dv; j++) s += head[j] * o.data[at + j];
      out[b * H + h] = s;
    }
  }
  return out;
}

/** Monte Carlo loss of every regime at one n (the four regimes as four heads of each call). */
export async function monteCarlo(hla: La1, mix: Mixture, n: number, opts: { prompts: number; chunk: number; seed: number }, progress?: Progress): Promise<Record<Regime, Estimate>> {
  const sol = solve(mix, n), solutions = REGIMES.map((r) => sol[r]);
  const normal = gaussian(opts.seed + n), uniform = mulberry32(opts.seed + 7919 * n);
  const acc = REGIMES.map(() => new Mean());
  for (let done = 0; done < opts.prompts;) {
    const count = Math.min(opts.chunk, opts.prompts - done);
    const batch = drawBatch(mix, n, count, normal, uniform);
    const yhat = predict(hla, batch, solutions);
    for (let b = 0; b < count; b++) for (let h = 0; h < REGIMES.length; h++) acc[h].add((yhat[b * REGIMES.length + h] - batch.yq[b]) ** 2);
    done += count;
    await progress?.(done / opts.prompts);
  }
  return Object.fromEntries(REGIMES.map((r, h) => [r, acc[h].estimate])) as Record<Regime, Estimate>;
}

// ---- the figure's numbers --------------------------------------------------------------------

export interface PromptsResult {
  setting: Mixture & { ns: number[]; prompts: number; seed: number; normaliser: number };
  /** Closed-form loss / tr M per regime at every n of `lineNs`. */
  lines: { ns: number[]; loss: Record<Regime, number[]> };
  /** Monte Carlo through la1 (loss / tr M, standard error / tr M), with the closed form. */
  points: { n: number; regime: Regime; mean: number; se: number; closedForm: number }[];
}

export async function computePrompts(hla: La1, cfg: Mixture & { ns: readonly number[]; lineNs: readonly number[]; prompts: number; chunk: number; seed: number } = PROMPTS, progress?: Progress): Promise<PromptsResult> {
  const mix: Mixture = { d: cfg.d, weights: cfg.weights, means: cfg.means, variances: cfg.variances };
  const z = normaliser(mix);
  const sols = cfg.lineNs.map((n) => solve(mix, n));
  const lines = { ns: [...cfg.lineNs], loss: Object.fromEntries(REGIMES.map((r) => [r, sols.map((s) => s[r].loss / z)])) as Record<Regime, number[]> };
  const points: PromptsResult['points'] = [];
  const total = cfg.ns.reduce((s, n) => s + n + 2, 0);
  let before = 0;
  for (const n of cfg.ns) {
    const mc = await monteCarlo(hla, mix, n, cfg, (x) => progress?.((before + x * (n + 2)) / total));
    const closed = solve(mix, n);
    for (const r of REGIMES) points.push({ n, regime: r, mean: mc[r].mean / z, se: mc[r].se / z, closedForm: closed[r].loss / z });
    before += n + 2;
  }
  return { setting: { ...mix, weights: [...mix.weights], means: [...mix.means], variances: [...mix.variances], ns: [...cfg.ns], prompts: cfg.prompts, seed: cfg.seed, normaliser: z }, lines, points };
}
