// The workloads of the threads benches (bench/threads.ts: the pool; bench/ceiling.ts: the same
// work on plain workers without a pool) and their options, in one place so the two measure the
// same calls.
import type { OpName, Tensor } from '../dist/index.mjs';
import { rand } from './matrix.js';

/** The HLA family, and gla / deltaRule (their extra inputs: `gatedData`). */
export type Op = OpName | 'gla' | 'deltaRule';

export interface Workload {
  /** How the pool splits it: 'by heads' (H), 'batch' (B) or 'long sequence' (T). */
  name: 'by heads' | 'batch' | 'long sequence';
  op: Op;
  B: number; H: number; T: number;
}

/** dk = dv (16 for HLA_THREADS_SMALL: a check of the scripts, not a measurement). */
export const headDim = (small: boolean) => (small ? 16 : 64);

export function workloads(small: boolean): Workload[] {
  const s = (n: number) => (small ? Math.max(2, n >> 4) : n);
  const long = small ? 4096 : 65536;
  return [
    { name: 'by heads', op: 'hla2', B: 1, H: 16, T: s(2048) },
    { name: 'by heads', op: 'hla3', B: 1, H: 16, T: s(2048) },
    { name: 'batch', op: 'la1', B: 16, H: 8, T: s(1024) },
    { name: 'batch', op: 'hla2', B: 16, H: 8, T: s(1024) },
    { name: 'long sequence', op: 'la1', B: 1, H: 1, T: long },
    { name: 'long sequence', op: 'hla2', B: 1, H: 1, T: long },
    { name: 'long sequence', op: 'gla', B: 1, H: 1, T: long },
    { name: 'long sequence', op: 'deltaRule', B: 1, H: 1, T: long },
  ];
}

export const OPTIONS = { decay: 0.999 };
/** gla: gk log decays in [−0.05, 0]; deltaRule: beta in [0.1, 0.9], g in [−0.05, 0], qkL2norm. */
export const GATED_OPTIONS = { deltaRule: { qkL2norm: true } };

/** q, k, v of `w` ([B, T, H, d] each), as plain Float32Arrays. */
export function qkvData(w: Workload, d: number): { data: Float32Array; shape: number[] }[] {
  const shape = [w.B, w.T, w.H, d];
  return [0, 1, 2].map((i) => ({ data: rand(w.B * w.T * w.H * d, 11 + i), shape }));
}

/** gla's gk, deltaRule's beta and g (`{}` for the HLA family), as plain Float32Arrays. */
export function gatedData(w: Workload, d: number): Record<string, { data: Float32Array; shape: number[] }> {
  const perKey = [w.B, w.T, w.H, d], perHead = [w.B, w.T, w.H];
  const make = (shape: number[], seed: number, lo: number, hi: number) => {
    const u = rand(shape.reduce((a, b) => a * b, 1), seed); // [−0.25, 0.25)
    return { data: u.map((x) => lo + (hi - lo) * (2 * x + 0.5)), shape };
  };
  if (w.op === 'gla') return { gk: make(perKey, 21, -0.05, 0) };
  if (w.op === 'deltaRule') return { beta: make(perHead, 22, 0.1, 0.9), g: make(perHead, 23, -0.05, 0) };
  return {};
}

/** The options of `w`'s call (with its gated inputs). */
export function optionsOf(w: Workload, extra: Record<string, Tensor>): Record<string, unknown> {
  if (w.op === 'gla') return extra;
  if (w.op === 'deltaRule') return { ...extra, ...GATED_OPTIONS.deltaRule };
  return OPTIONS;
}
