// Each operator's per-token inputs as the binding indexes them (`Config.inputNames()`, hla-core
// ops/shape.rs `InputSpec`), with the layout of each: how the worker pool (ts/plan.ts) cuts a
// call's inputs by heads and sequences without knowing which operator it runs.
import { entryOf, OPS, type InputSpec } from './operators.js';

/**
 * One input's shape per token (hla-core `InputKind`): `queryKey` `[H, dk]` (q, k, per-feature
 * gates), `value` `[HV, dv]` (v), `valueScalar` `[HV]` (scalar gates and rates), `token` `[n]`
 * (one row per token shared by every head: sse's router over its N partitions).
 */
export type InputKind = 'queryKey' | 'value' | 'valueScalar' | 'token';

/** Per binding operator name (`Op::name`), its inputs in `setInput` order: [name, kind] (ts/operators.ts). */
export const INPUTS: Record<string, readonly InputSpec[]> = Object.assign({}, ...OPS.map((op) => entryOf(op).kernels));

/** The kinds of `op`'s inputs, in order. */
export function inputKinds(op: string): InputKind[] {
  const specs = INPUTS[op];
  if (!specs) throw new Error(`hla-wasm: no input table for operator ${op}`);
  return specs.map(([, kind]) => kind);
}

/** Sizes a layout depends on: q, k `[B, T, H, dk]`, v `[B, T, HV, dv]`, token inputs `[B, T, width]`. */
export interface InputDims {
  H: number; HV: number; dk: number; dv: number; width: number;
}

/**
 * An input of `kind` as a `[rows, heads, d]` array, and the heads of it that query-key heads
 * `[h0, h1)` read: their own rows (q, k, gk), their value heads (v, beta, g), or all of it
 * (a token input, read-only by every job).
 */
export function windowOf(kind: InputKind, c: InputDims, h0: number, h1: number): { heads: number; d: number; h0: number; h1: number } {
  const g = c.HV / c.H;
  switch (kind) {
    case 'queryKey': return { heads: c.H, d: c.dk, h0, h1 };
    case 'value': return { heads: c.HV, d: c.dv, h0: h0 * g, h1: h1 * g };
    case 'valueScalar': return { heads: c.HV, d: 1, h0: h0 * g, h1: h1 * g };
    case 'token': return { heads: 1, d: c.width, h0: 0, h1: 1 };
  }
}
