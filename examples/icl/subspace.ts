// Out-of-distribution in-context regression vs the angle between subspaces, for one
// linear-attention layer (the model class of Kwon, Xu, Yaras, Balzano, Qu, arXiv 2505.14808;
// the closed forms are derived independently in docs/icl-math.md §1, the paper's own constants
// were not available).
//
// Data: x ~ N(0, I_d), task w ~ N(0, U Uᵀ) for a d×r orthonormal U, y = wᵀx (no noise).
// Model: ŷ = x_qᵀ Γ (1/n) Σ_i y_i x_i. Training on one subspace U₁ or on the union of U₁ and an
// orthogonal U₂ (a task from either with probability ½) gives the optimal Γ of §1; testing on
// U(θ) = cos θ·U₁ + sin θ·U₂, whose r principal angles to U₁ all equal θ (θ = 0: U₁ itself,
// θ = π/2: U₂), gives the risk curves. U(θ) stays inside span(U₁, U₂), so the union-trained
// layer sees no shift at all.
import { Mean, type Estimate, type La1, type Progress, type Tensor } from './estimate.ts';
import { apply, combine, identity, inverse, matmul, projector, trace, transpose, type Mat } from './linalg.ts';
import { gaussian, orthonormalFrame } from './random.ts';

/** The figure's setting. */
export const SUBSPACE = {
  d: 20,
  r: 2,
  ns: [5, 10, 20, 50, 200],
  /** Monte Carlo at θ = kπ/16, k = 0…8 (9 angles); closed-form lines at 65 angles. */
  mcAngles: 9,
  lineAngles: 65,
  /** Prompts per n (each prompt is scored at every angle and by both layers). */
  prompts: 4000,
  /** Prompts per la1 call: one sequence per prompt. */
  chunk: 250,
  seed: 250514808,
} as const;

export type Model = 'single' | 'union';
export const MODELS: Model[] = ['single', 'union'];

/** θ_k = kπ/(2(count − 1)), k = 0…count − 1. */
export function angles(count: number): number[] {
  return Array.from({ length: count }, (_, k) => (k * Math.PI) / (2 * (count - 1)));
}

/** The two orthogonal training subspaces U₁, U₂ (columns), a random frame of R^d. */
export interface Frames {
  d: number;
  r: number;
  u1: Float64Array[];
  u2: Float64Array[];
}

export function frames(d: number, r: number, seed: number): Frames {
  if (2 * r > d) throw new RangeError(`r: expected 2r ≤ d = ${d} (two orthogonal rank-r subspaces), got ${r}`);
  const cols = orthonormalFrame(d, 2 * r, gaussian(seed));
  return { d, r, u1: cols.slice(0, r), u2: cols.slice(r) };
}

/** Columns of U(θ) = cos θ·U₁ + sin θ·U₂: orthonormal, every principal angle to U₁ equal to θ
 *  (U₁ᵀU(θ) = cos θ·I_r). */
export function testBasis(f: Frames, theta: number): Float64Array[] {
  const c = Math.cos(theta), s = Math.sin(theta);
  return f.u1.map((u, j) => u.map((x, i) => c * x + s * f.u2[j][i]));
}

/** E[w wᵀ] of the training tasks: U₁U₁ᵀ, or ½(U₁U₁ᵀ + U₂U₂ᵀ) for the union. */
function taskCovariance(f: Frames, model: Model): Mat {
  return model === 'single' ? projector(f.u1) : combine([0.5, projector(f.u1)], [0.5, projector(f.u2)]);
}

/** E[h hᵀ] for h = (1/n) Σ y_i x_i when E[w wᵀ] = S (docs/icl-math.md §1, Wishart moments). */
function contextMoment(n: number, S: Mat): Mat {
  return combine([(n + 1) / n, S], [trace(S) / n, identity(S.d)]);
}

/** The risk-minimising Γ for training tasks of covariance S: Γ* = S (E[h hᵀ])⁻¹. */
export function optimalGamma(n: number, f: Frames, model: Model): Mat {
  const S = taskCovariance(f, model);
  return matmul(S, inverse(contextMoment(n, S)));
}

/** Test risk E(ŷ − y)² of Γ on tasks w ~ N(0, U Uᵀ), U = `test` (orthonormal columns):
 *  tr S − 2 tr(Γ S) + tr(Γ E[hhᵀ] Γᵀ), S = U Uᵀ (docs/icl-math.md §1). */
export function risk(n: number, gamma: Mat, test: Float64Array[]): number {
  const S = projector(test);
  return trace(S) - 2 * trace(matmul(gamma, S)) + trace(matmul(matmul(gamma, contextMoment(n, S)), transpose(gamma)));
}

/** The same risk in scalars (all r angles equal θ): R = r − 2c·s + c²((n+1)/n·s + r·m/n),
 *  s = r cos²θ (single) or r (union: U(θ) lies in the span), m = rank Γ = r or 2r,
 *  c = n/(n + 1 + m). */
export function riskFormula(n: number, r: number, theta: number, model: Model): number {
  const m = model === 'single' ? r : 2 * r;
  const c = n / (n + 1 + m);
  const s = model === 'single' ? r * Math.cos(theta) ** 2 : r;
  return r - 2 * c * s + c * c * (((n + 1) / n) * s + (r * m) / n);
}

// ---- Monte Carlo through la1 ---------------------------------------------------------------

/** `count` prompts of length n, each scored on every test subspace (same x's, same task
 *  coefficients z, w_θ = U(θ) z): float64, the ground truth the la1 predictions are scored on. */
export interface Batch {
  n: number;
  d: number;
  count: number;
  /** Test subspaces per prompt. */
  m: number;
  /** [count, n, d] */
  x: Float64Array;
  /** [count, d] */
  xq: Float64Array;
  /** [count, n, m]: y_i = x_i·w_θ */
  y: Float64Array;
  /** [count, m]: the query's true label x_q·w_θ */
  yq: Float64Array;
  /** [count, r]: each prompt's task coefficients, w_θ = U(θ) z */
  z: Float64Array;
}

/** Draws the batch for test subspaces U(θ) at `angles`. Since w_θ = U(θ)z = cos θ·U₁z + sin θ·U₂z,
 *  every label is cos θ·(x·U₁z) + sin θ·(x·U₂z): two dot products per token, whatever the number
 *  of angles. */
export function drawBatch(n: number, count: number, f: Frames, angles: number[], normal: () => number): Batch {
  const { d, r } = f, m = angles.length;
  const cos = angles.map(Math.cos), sin = angles.map(Math.sin);
  const x = new Float64Array(count * n * d), xq = new Float64Array(count * d);
  const y = new Float64Array(count * n * m), yq = new Float64Array(count * m);
  const w1 = new Float64Array(d), w2 = new Float64Array(d), zs = new Float64Array(count * r);
  const label = (row: Float64Array, at: number, out: Float64Array, outAt: number) => {
    let s1 = 0, s2 = 0;
    for (let c = 0; c < d; c++) {
      s1 += row[at + c] * w1[c];
      s2 += row[at + c] * w2[c];
    }
    for (let t = 0; t < m; t++) out[outAt + t] = cos[t] * s1 + sin[t] * s2;
  };
  for (let b = 0; b < count; b++) {
    const z = zs.subarray(b * r, (b + 1) * r);
    for (let j = 0; j < r; j++) z[j] = normal();
    w1.fill(0);
    w2.fill(0);
    for (let j = 0; j < r; j++) {
      for (let c = 0; c < d; c++) {
        w1[c] += f.u1[j][c] * z[j];
        w2[c] += f.u2[j][c] * z[j];
      }
    }
    for (let i = 0; i < n; i++) {
      const row = (b * n + i) * d;
      for (let c = 0; c < d; c++) x[row + c] = normal();
      label(x, row, y, (b * n + i) * m);
    }
    for (let c = 0; c < d; c++) xq[b * d + c] = normal();
    label(xq, b * d, yq, b * m);
  }
  return { n, d, count, m, x, xq, y, yq, z: zs };
}

/**
 * la1's inputs for a batch: one sequence per prompt (B = count), T = n + 1 tokens, one head per
 * layer Γ_h, dk = d, dv = m (one value column per test subspace).
 *
 * la1 with no decay and scale 1 gives, at token t, o_t = Σ_{j≤t} (q_t·k_j) v_j. With
 * k_i = x_i, v_i = (y_i per test subspace) for the n context tokens, and the query as token n+1
 * (key x_q, value 0, query q = Γᵀx_q / n), its output is
 *   o_{n+1} = Σ_i (Γᵀx_q/n · x_i) y_i = x_qᵀ Γ (1/n) Σ_i y_i x_i = ŷ.
 * Γ is folded into the query; earlier tokens' queries are 0 (their outputs are not read).
 */
export function tensors(batch: Batch, gammas: Mat[]): { q: Tensor; k: Tensor; v: Tensor } {
  const { n, d, count, m } = batch, T = n + 1, H = gammas.length;
  const q = new Float32Array(count * T * H * d), k = new Float32Array(count * T * H * d), v = new Float32Array(count * T * H * m);
  const gt = gammas.map(transpose);
  const { x, xq, y } = batch;
  // Plain loops: TypedArray.set from a Float64Array into a Float32Array is a slow path in V8.
  for (let b = 0; b < count; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < n; t++) {
        const at = (b * T + t) * H + h, src = (b * n + t) * d, ys = (b * n + t) * m;
        for (let c = 0; c < d; c++) k[at * d + c] = x[src + c];
        for (let j = 0; j < m; j++) v[at * m + j] = y[ys + j];
      }
      const at = (b * T + n) * H + h, qh = apply(gt[h], xq.subarray(b * d, (b + 1) * d));
      for (let c = 0; c < d; c++) {
        k[at * d + c] = xq[b * d + c];
        q[at * d + c] = qh[c] / n;
      }
    }
  }
  return { q: { data: q, shape: [count, T, H, d] }, k: { data: k, shape: [count, T, H, d] }, v: { data: v, shape: [count, T, H, m] } };
}

/** ŷ for every (prompt, layer, test subspace), read from la1's last token: [count, H, m]. */
export function predict(hla: La1, batch: Batch, gammas: Mat[]): Float64Array {
  const { q, k, v } = tensors(batch, gammas);
  const { o } = hla.la1(q, k, v, { scale: 1 });
  const { n, count, m } = batch, H = gammas.length, T = n + 1;
  const out = new Float64Array(count * H * m);
  for (let b = 0; b < count; b++) out.set(o.data.subarray(((b * T + n) * H) * m, ((b * T + n) * H + H) * m), b * H * m);
  return out;
}

export interface SubspaceMC {
  n: number;
  angles: number[];
  /** Risk estimates per model, one per angle. */
  risk: Record<Model, Estimate[]>;
}

/** Monte Carlo risk at one n: `prompts` prompts through la1 in calls of `chunk` sequences,
 *  both layers (single, union) as two heads of the same call. */
export async function monteCarlo(hla: La1, n: number, opts: { f: Frames; angles: number[]; prompts: number; chunk: number; seed: number }, progress?: Progress): Promise<SubspaceMC> {
  const gammas = MODELS.map((model) => optimalGamma(n, opts.f, model));
  const normal = gaussian(opts.seed + n);
  const m = opts.angles.length;
  const acc = MODELS.map(() => opts.angles.map(() => new Mean()));
  for (let done = 0; done < opts.prompts;) {
    const count = Math.min(opts.chunk, opts.prompts - done);
    const batch = drawBatch(n, count, opts.f, opts.angles, normal);
    const yhat = predict(hla, batch, gammas);
    for (let b = 0; b < count; b++) {
      for (let h = 0; h < MODELS.length; h++) {
        for (let t = 0; t < m; t++) acc[h][t].add((yhat[(b * MODELS.length + h) * m + t] - batch.yq[b * m + t]) ** 2);
      }
    }
    done += count;
    await progress?.(done / opts.prompts);
  }
  return { n, angles: opts.angles, risk: { single: acc[0].map((a) => a.estimate), union: acc[1].map((a) => a.estimate) } };
}

// ---- the figure's numbers --------------------------------------------------------------------

export interface SubspaceResult {
  setting: { d: number; r: number; ns: number[]; prompts: number; seed: number };
  /** Closed-form lines: risk per n and model at `lineAngles`. */
  lines: { angles: number[]; risk: Record<string, Record<Model, number[]>> };
  /** Monte Carlo through la1 at `mcAngles`, with the closed form at the same points. */
  points: { n: number; model: Model; theta: number; mean: number; se: number; closedForm: number }[];
}

/** Everything the figure shows. `progress` sees the overall fraction done. */
export async function computeSubspace(hla: La1, cfg: { d: number; r: number; ns: readonly number[]; mcAngles: number; lineAngles: number; prompts: number; chunk: number; seed: number } = SUBSPACE, progress?: Progress): Promise<SubspaceResult> {
  const f = frames(cfg.d, cfg.r, cfg.seed);
  const lineAngles = angles(cfg.lineAngles), mcAngles = angles(cfg.mcAngles);
  const lines: SubspaceResult['lines'] = { angles: lineAngles, risk: {} };
  const points: SubspaceResult['points'] = [];
  // Work per n grows like n: weight the progress by it.
  const total = cfg.ns.reduce((s, n) => s + n + 1, 0);
  let before = 0;
  for (const n of cfg.ns) {
    const gammas = { single: optimalGamma(n, f, 'single'), union: optimalGamma(n, f, 'union') };
    lines.risk[n] = { single: [], union: [] };
    for (const model of MODELS) lines.risk[n][model] = lineAngles.map((th) => risk(n, gammas[model], testBasis(f, th)));
    const mc = await monteCarlo(hla, n, { f, angles: mcAngles, prompts: cfg.prompts, chunk: cfg.chunk, seed: cfg.seed }, (x) => progress?.((before + x * (n + 1)) / total));
    for (const model of MODELS) {
      mc.risk[model].forEach((e, i) => points.push({ n, model, theta: mcAngles[i], mean: e.mean, se: e.se, closedForm: risk(n, gammas[model], testBasis(f, mcAngles[i])) }));
    }
    before += n + 1;
  }
  return { setting: { d: cfg.d, r: cfg.r, ns: [...cfg.ns], prompts: cfg.prompts, seed: cfg.seed }, lines, points };
}
