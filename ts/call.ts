// One checked call as the worker pool sees it, whatever the operator: its shapes, its per-token
// inputs in the binding's order with their kinds (ts/inputs.ts), and its config as data. The
// pool (ts/plan.ts) cuts every input by its kind, so a new operator needs a row in the input
// table, not a branch in the planner.
import { specOp, type ConfigSpec } from './config.js';
import type { GatedChecked } from './gated.js';
import { inputKinds, type InputDims, type InputKind } from './inputs.js';
import type { SecondChecked } from './second.js';
import type { SplitOp } from './sequence.js';
import type { OpName } from './types.js';
import type { Checked } from './validate.js';

export interface PoolCall extends InputDims {
  B: number; T: number;
  /** 0 = recurrent. */
  chunkSize: number;
  cuSeqlens: Int32Array;
  nSeq: number;
  /** `[nSeq, H, group]`, or null (zeros). */
  initial: Float32Array | null;
  outputFinalState: boolean;
  /** In `setInput` order; an absent optional input is empty. */
  inputs: Float32Array[];
  kinds: InputKind[];
  spec: ConfigSpec;
  /**
   * The HLA family (la1, hla2, ahla, hla3), gla and deltaRule have segment summaries
   * (docs/math.md §f, §g), so one long sequence may be split along T; null for the others
   * (by groups only).
   */
  alongT: { op: SplitOp; normalize: boolean } | null;
}

/** An HLA-family call (ts/validate.ts). */
export function hlaCall(op: OpName, c: Checked): PoolCall {
  const { scale, decay, normalize, eps, ridge } = c;
  return {
    ...shape(c), width: 0, inputs: [c.q, c.k, c.v], kinds: inputKinds(op),
    spec: { family: 'hla', op, scale, decay, normalize, eps, ridge }, alongT: { op, normalize },
  };
}

/** A gla / deltaRule call (ts/gated.ts). */
export function gatedCall(op: 'gla' | 'deltaRule', c: GatedChecked): PoolCall {
  return { ...shape(c), width: 0, inputs: c.inputs, kinds: inputKinds(op), spec: { family: 'gated', op, scale: c.scale, qkL2norm: c.qkL2norm }, alongT: { op, normalize: false } };
}

/** An sse / rla call (ts/second.ts). */
export function secondCall(c: SecondChecked): PoolCall {
  return { ...shape(c), width: c.partitions, inputs: c.inputs, kinds: inputKinds(specOp(c.spec)), spec: c.spec, alongT: null };
}

type Shaped = Pick<PoolCall, 'B' | 'T' | 'H' | 'HV' | 'dk' | 'dv' | 'chunkSize' | 'cuSeqlens' | 'nSeq' | 'initial' | 'outputFinalState'>;

function shape(c: Shaped): Shaped {
  const { B, T, H, HV, dk, dv, chunkSize, cuSeqlens, nSeq, initial, outputFinalState } = c;
  return { B, T, H, HV, dk, dv, chunkSize, cuSeqlens, nSeq, initial, outputFinalState };
}
