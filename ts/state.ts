import type { OperatorName } from './operators.js';

const DATA = new WeakMap<HlaState, Float32Array>();

/**
 * The streaming state an operator leaves behind (`finalState`), accepted back as
 * `initialState` to continue exactly where the run stopped. Opaque: its floats are laid out
 * per (sequence, query-key head) group as documented in docs/math.md ("State layout").
 */
export class HlaState {
  /** @internal Use `finalState` from a forward call; the constructor is not public API. */
  constructor(
    readonly op: OperatorName,
    /** Batch rows, or sequences of `cuSeqlens`. */
    readonly sequences: number,
    readonly heads: number,
    readonly valueHeads: number,
    readonly dk: number,
    readonly dv: number,
    /** Whether it carries hla2's ridge moments. */
    readonly ridge: boolean,
    data: Float32Array,
  ) {
    DATA.set(this, data);
    Object.freeze(this);
  }

  /** Bytes of state (float32). */
  get byteLength(): number {
    return stateData(this).byteLength;
  }

  /** A copy of the raw state floats. */
  toFloat32Array(): Float32Array {
    return stateData(this).slice();
  }

  /** `hla2 state: 2 sequence(s), H=4, HV=8, dk=64, dv=64` */
  describe(): string {
    return `${this.op} state: ${this.sequences} sequence(s), H=${this.heads}, HV=${this.valueHeads}, dk=${this.dk}, dv=${this.dv}${this.ridge ? ', with ridge' : ''}`;
  }
}

/** @internal */
export function stateData(s: HlaState): Float32Array {
  const d = DATA.get(s);
  if (!d) throw new TypeError('initialState: expected a finalState returned by hla-wasm');
  return d;
}

/** @internal */
export function isHlaState(x: unknown): x is HlaState {
  return typeof x === 'object' && x !== null && DATA.has(x as HlaState);
}
