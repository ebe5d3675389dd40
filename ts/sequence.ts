// One long sequence over the worker pool (docs/math.md, section f): the call is cut along T into
// W segments and worker w runs segment w. Worker 0 starts at once from the caller's initial
// state; the others first need their carry-in state, in one of two ways (hla-core
// ops/segment.rs):
// - full summaries: worker w computes the summary of segment w − 1 (from a zero state, state
//   only, chunk form), folds carry_w = initial ⊕ summary_0 ⊕ … ⊕ summary_{w−1} (an exclusive
//   scan; each ⊕ is O(dk²·dv)) and runs segment w from it;
// - deferred value moments (hla2 without normalize): the key summaries of all segments are
//   computed in parallel; worker w runs segment w from (S = initial ⊕ key summaries before it,
//   zero value moments); a chain of cheap state-only settles gives every segment its true carry
//   (value moments += γ^t × carry's), and each segment's outputs are settled with it in
//   parallel (o += diag(γ^{t+1}) Q M0).
//   hla-core supports this for la1 too, but there settling (dk·dv per token, after worker
//   w − 1) costs as much as la1's full summary, which overlaps with worker 0 instead.
// Full summaries run in one of two schedules, whichever the cost model (r = summary / forward
// time per token) predicts faster:
// - chain: worker w summarises segment w − 1 and then runs segment w, worker 0 starting at once;
//   segments shrink as L_w = L_0 (1 − r): gain 1 + (W − 1)(1 − r), nothing once r ≥ 1;
// - two phases: equal segments, worker w < W − 1 summarises its own segment w, then every
//   worker runs its segment from its carry: gain W / (1 + r). Better from W = 4 at r = 0.5,
//   and the only one that gains for deltaRule (r ≈ 1.3: its summary carries the dk×dk map A).
// The last segment's end state is the call's final state.
import { entryOf, OPERATORS, OPS, type OperatorName } from './operators.js';
import type { Checked } from './validate.js';

/** The operators with segment summaries (a `summary` in the operator table): the HLA family, gla, deltaRule. */
export type SplitOp = { [K in OperatorName]: (typeof OPERATORS)[K] extends { summary: object } ? K : never }[OperatorName];

/** Every {@link SplitOp}, in table order. */
export const SPLIT_OPS = OPS.filter((op) => entryOf(op).summary) as readonly SplitOp[];

/**
 * r = (full summary time per token) / (forward time per token) per operator, at dk = dv = 64,
 * T = 4096, decay 0.999, relaxed flavour, Node 20, medians of 7 interleaved rounds
 * (`HLA_SPLIT_T=4096 node --experimental-wasm-relaxed-simd scripts/split-bench.mjs`) against the
 * token-blocked recurrent forward: la1 0.49–0.53, hla2 1.27–1.29, ahla 1.14–1.31, hla3
 * 1.68–1.70 (before the forward was token-blocked, 1.3–1.5× slower: la1 0.26–0.42, hla2
 * 0.92–1.17). hla2's summary cannot be much cheaper: it needs S_u q_u for every token (2dk²)
 * plus M_B and the raw C_B (2dk·dv), the forward's own count (docs/math.md f). Two workers are
 * at best 2 − r times faster. The figures live in the operator table (ts/operators.ts `summary`).
 *
 * gla and deltaRule against their default (recurrent) forward, dk = dv = 64, T = 4096, relaxed
 * flavour, Node 20, medians of 15 interleaved rounds of CPU time (the shared 2-core machine's
 * wall time varied 3× with its load; `node --experimental-wasm-relaxed-simd
 * scripts/split-gated-bench.mjs`), two runs: gla 0.53 (summary 1.7–1.8 ms with chunks of 64 vs
 * forward 3.3–3.4 ms: the state half of its chunk form, k⊙R and one GEMM per chunk, against the
 * forward's decay-update-read sweep); deltaRule 1.26–1.29 (5.0–5.1 ms with chunks of 16 vs
 * 3.9–4.0 ms: the state recurrence on [B | A], dk + dv columns, twice the forward's width).
 * So deltaRule gains only in two phases, W / 2.3: 1.7× at 4 workers, 3.5× at 8, 7× at 16. The
 * operator table has r = 0.55 and 1.3.
 */
export const SUMMARY_COST = summaries('cost');

/**
 * Chunk length of the full summaries: the faster of 32 and 64 in the same measurement (gla,
 * deltaRule: of 16, 32 and 64 in theirs).
 */
export const SUMMARY_CHUNK = summaries('chunk');

/** Each operator's `summary[field]` from the operator table (ts/operators.ts). */
function summaries(field: 'cost' | 'chunk'): Record<SplitOp, number> {
  return Object.fromEntries(SPLIT_OPS.map((op) => [op, entryOf(op).summary![field]])) as Record<SplitOp, number>;
}

/**
 * The deferred split (hla2 without normalize), same measurement: key summary r_S = 0.21 per
 * token it covers, settling r_F = 0.20 per token of the segment (0.09–0.31 before the
 * token-blocked forward). On the 16-core Xeon (bench/results/threads.json) r_S ≈ 0.15–0.2.
 */
export const KEY_COST = 0.2;
export const SETTLE_COST = 0.2;
export const KEY_CHUNK = 64;

/** Split only where the cost model promises at least this speed-up (overheads aside). */
export const MIN_GAIN = 1.2;

/**
 * Shortest T split along the sequence; shorter calls run whole on one worker (messages and
 * copies cost ~1 ms per segment; a 64×64 forward of 2048 tokens takes ~5–10 ms).
 */
export const SPLIT_MIN_T = 2048;

/**
 * @internal Tests only: `globalThis[Symbol.for('hla-wasm.splitMinT')] = n` splits from n tokens
 * on, and regardless of the cost model (r clamped below 1), so that every path runs on short
 * inputs.
 */
const KNOB = Symbol.for('hla-wasm.splitMinT');

// Replaced at bundle time (scripts/bundle.mjs): true only in the test and bench bundle, so the
// shipped one never reads the knob; vitest (tests importing ts/ directly) defines it true.
declare const __HLA_TESTING__: boolean;

function testKnob(): number | null {
  if (typeof __HLA_TESTING__ === 'undefined' || !__HLA_TESTING__) return null;
  const n = (globalThis as Record<symbol, unknown>)[KNOB];
  return typeof n === 'number' && n >= 2 ? n : null;
}

export interface SegmentPlan {
  /** `[0, t1, …, T]`: segment w is `[bounds[w], bounds[w + 1])`. */
  bounds: number[];
  /** hla2 without normalize: deferred value moments instead of full summaries. */
  deferred: boolean;
  /** Full summaries in two phases (each worker summarises its own segment), not the chain. */
  own: boolean;
}

/**
 * How to split one call along T over `workers` workers, or null when it should not be: as many
 * (sequence × head) groups as workers or more, several sequences or cuSeqlens, a short T, or a
 * predicted speed-up below {@link MIN_GAIN}. (ts/plan.ts also splits a subset of the heads
 * over a subset of the workers, with {@link boundsAlongT}.)
 */
export function planSegments(op: SplitOp, c: Checked, workers: number): SegmentPlan | null {
  if (c.B !== 1 || c.cuSeqlens.length > 0 || c.nSeq * c.H >= workers) return null;
  return boundsAlongT(op, c.T, c.normalize, workers);
}

/** Bounds of `T` tokens of one sequence over `workers` workers, or null (see {@link planSegments}). */
export function boundsAlongT(op: SplitOp, T: number, normalize: boolean, workers: number): SegmentPlan | null {
  const knob = testKnob();
  if (workers < 2 || T < (knob ?? SPLIT_MIN_T)) return null;
  const W = Math.min(workers, Math.floor(T / 2));
  const deferred = op === 'hla2' && !normalize;
  const r = knob ? Math.min(SUMMARY_COST[op], 0.5) : SUMMARY_COST[op];
  if (deferred) {
    // Three phases: every segment's key summary in parallel (segment 0's on the last worker),
    // each forward from (initial S ⊕ the key summaries before it, zero value moments), then
    // a cheap chain of state-only settles and every segment's outputs settled in parallel.
    // Worker 0 runs only its forward; the others wait ≈ r_S·L0 for segment 0's key summary and
    // settle afterwards: L0 (1 − r_S) = L (1 + r_F), and T = L0 + (W − 1) L.
    const l0 = (1 + SETTLE_COST) / (1 - KEY_COST);
    const gain = (W - 1 + l0) / l0;
    if (!(gain >= (knob ? 1 : MIN_GAIN))) return null;
    const L = T / (W - 1 + l0);
    const bounds = [0, ...Array.from({ length: W - 1 }, (_, w) => Math.round(T - (W - 1 - w) * L)), T];
    for (let w = 1; w <= W; w++) if (bounds[w] <= bounds[w - 1]) return null;
    return { bounds, deferred, own: false };
  }
  // Two phases: equal segments; worker w < W − 1 summarises its own, then all run theirs.
  const twoPhase = W / (1 + r);
  // a[w] = t_w / L0, every worker ending at ≈ L0: worker w ≥ 1 waits r L0 for summary_{w−1}
  // (segment 0's is the longest), then runs L_w = L0 (1 − r).
  const a = [0, 1];
  for (let w = 1; w < W; w++) a.push(a[w] + 1 - r);
  const chain = a[W] > a[W - 1] ? a[W] : 0;
  const own = twoPhase > chain;
  if (!(Math.max(chain, twoPhase) >= (knob ? 1 : MIN_GAIN))) return null;
  const l0 = T / a[W];
  const bounds = own ? a.map((_, w) => Math.round((w * T) / W)) : a.map((x) => Math.round(x * l0));
  bounds[W] = T;
  for (let w = 1; w <= W; w++) if (bounds[w] <= bounds[w - 1]) return null;
  return { bounds, deferred, own };
}
