// Streaming sessions of the gated operators (gla, deltaRule): as ts/session.ts, the state lives
// in wasm memory beside one input view per per-token tensor (q, k, v, gk / q, k, v, beta, g),
// so `stepInPlace` copies and allocates nothing on the JS side. Gate values are checked by the
// kernel's own validator on every step (a bad gate is a RangeError and the state is untouched).
import { Detail, rangeError, typeError } from './errors.js';
import { SessionCore, sessionDims } from './session-core.js';
import { checkGated, type DeltaRuleOptions, type GlaOptions } from './gated.js';
import { checkSizes, stateFloats } from './limits.js';
import type { SessionHost } from './session.js';
import { encodeSnapshot } from './snapshot.js';
import type { GatedOpName, Tensor } from './types.js';
import { checkKnown, f32View } from './validate.js';

/** Shape and options of a gla / deltaRule session. */
export interface GatedSessionOptions {
  /** Batch rows decoded together. Default 1. */
  batch?: number;
  /** Query-key heads H. */
  heads: number;
  /** Value heads HV, a multiple of H. Default H. */
  valueHeads?: number;
  dk: number;
  dv: number;
  /** Multiplies q (after qkL2norm). Default dk^-0.5. */
  scale?: number;
  /** deltaRule: L2-normalise q and k first. Default false. */
  qkL2norm?: boolean;
}

const KNOWN = new Set(['batch', 'heads', 'valueHeads', 'dk', 'dv', 'scale', 'qkL2norm']);

/** The per-token inputs of each operator, in the binding's order. */
const INPUT_NAMES: Record<GatedOpName, readonly string[]> = { gla: ['q', 'k', 'v', 'gk'], deltaRule: ['q', 'k', 'v', 'beta', 'g'] };

/** A streaming decoder for gla or deltaRule: `step` token by token, `prefill` many at once. */
export class GatedSession {
  readonly op: GatedOpName;
  readonly batch: number;
  readonly heads: number;
  readonly valueHeads: number;
  readonly dk: number;
  readonly dv: number;
  readonly scale: number;
  readonly qkL2norm: boolean;
  #core: SessionCore;

  /** @internal Use `hla.session('gla' | 'deltaRule', options)`. */
  constructor(host: SessionHost, op: GatedOpName, options: GatedSessionOptions) {
    if (typeof options !== 'object' || options === null) throw typeError('options', 'an object { heads, dk, dv, … }', options);
    checkKnown(options, KNOWN, 'session options');
    this.op = op;
    ({ batch: this.batch, heads: this.heads, valueHeads: this.valueHeads, dk: this.dk, dv: this.dv } = sessionDims(options));
    this.scale = 1 / Math.sqrt(this.dk);
    if (options.scale !== undefined) {
      if (typeof options.scale !== 'number') throw typeError('scale', 'a finite number', options.scale);
      if (!Number.isFinite(Math.fround(options.scale))) throw rangeError('scale', 'a finite number representable as float32', options.scale);
      this.scale = options.scale;
    }
    this.qkL2norm = false;
    if (options.qkL2norm !== undefined) {
      if (typeof options.qkL2norm !== 'boolean') throw typeError('qkL2norm', 'a boolean', options.qkL2norm);
      if (options.qkL2norm && op === 'gla') throw rangeError('qkL2norm', 'false or absent (gla has no qkL2norm; deltaRule does)', true);
      this.qkL2norm = options.qkL2norm;
    }
    const nq = this.batch * this.heads * this.dk, nv = this.batch * this.valueHeads * this.dv;
    const ns = stateFloats(op, this.batch, this.heads, this.valueHeads, this.dk, this.dv, false);
    checkSizes({
      buffers: [
        ['dk', 'inputs q, k of batch·heads·dk', nq],
        ['dv', 'inputs v, output o of batch·valueHeads·dv', nv],
        ['state', `a ${op} state (batch=${this.batch}, valueHeads=${this.valueHeads}, dk=${this.dk}, dv=${this.dv})`, ns],
      ],
      total: 3 * nq + 2 * nv + 2 * this.batch * this.valueHeads + ns + 16 * this.dk + 4 * this.dv,
    });
    const dims = { B: this.batch, T: 1, H: this.heads, HV: this.valueHeads, dk: this.dk, dv: this.dv };
    this.#core = new SessionCore(host, op, INPUT_NAMES[op], nv, { family: 'gated', op, scale: this.scale, qkL2norm: this.qkL2norm }, dims);
  }

  /**
   * Zero-copy input views into wasm memory, one per per-token tensor, row-major for one token:
   * `q`, `k` (and gla's `gk`) `[B·H·dk]`, `v` `[B·HV·dv]`, deltaRule's `beta`, `g` `[B·HV]`
   * (g = 0: no decay). Write the next token there and call `stepInPlace()`. Read them again
   * after anything that may grow wasm memory: growth detaches old views.
   */
  get inputs(): Readonly<Record<string, Float32Array>> {
    return this.#core.inputs;
  }

  /** Zero-copy view of the last step's output `[B·HV·dv]` (overwritten by the next step). */
  get output(): Float32Array {
    return this.#core.output;
  }

  /** Tokens consumed so far (per batch row). */
  get position(): number {
    return this.#core.live().position;
  }

  /** Bytes of streaming state this session holds. */
  get stateBytes(): number {
    return 4 * this.#core.live().stateLen();
  }

  /** A copy of the state floats `[batch, HV, dk, dv]` (the layout of `finalState`). */
  stateFloats(): Float32Array {
    return this.#core.state().slice();
  }

  /** One token read from `inputs`; returns `output` (a view, valid until the next step). */
  stepInPlace(): Float32Array {
    return this.#core.stepInPlace();
  }

  /**
   * One token: `q, k, v` and the gates, one array each in `inputs` order (gla: `gk`; deltaRule:
   * `beta`, and `g` or nothing for no decay). Returns a copy of the output `[B·HV·dv]`.
   */
  step(...args: Float32Array[]): Float32Array {
    const names = INPUT_NAMES[this.op];
    const min = this.op === 'deltaRule' ? names.length - 1 : names.length;
    if (args.length < min || args.length > names.length) throw new TypeError(`step: expected ${names.slice(0, min).join(', ')}${min < names.length ? ` (and ${names[names.length - 1]})` : ''}, got ${args.length} arguments`);
    const inputs = this.#core.inputs;
    const views = args.map((x, i) => {
      const want = inputs[names[i]].length;
      const view = f32View(names[i], x, `a Float32Array of ${want} floats`);
      if (view.length !== want) throw rangeError(`${names[i]}.length`, `${want}`, view.length);
      return view;
    });
    if (this.op === 'gla') checkGates('gk', views[3]);
    else {
      for (let i = 0; i < views[3].length; i++) if (!Number.isFinite(views[3][i])) throw rangeError(`beta[${i}]`, 'a finite rate', views[3][i]);
      if (views[4]) checkGates('g', views[4]);
    }
    // An argument may be one of this session's own views: copy it out before the writes below.
    const buf = this.#core.buffer;
    const copies = views.map((x) => (x.buffer === buf ? x.slice() : x));
    copies.forEach((x, i) => inputs[names[i]].set(x));
    if (this.op === 'deltaRule' && copies.length === 4) inputs.g.fill(0);
    return this.stepInPlace().slice();
  }

  /**
   * Many tokens at once: q, k `[B, T, H, dk]`, v `[B, T, HV, dv]` and the gates as in
   * `hla.gla` / `hla.deltaRule` (`gk`; `beta`, `g`), plus `mode` / `chunkSize`; returns
   * `[B, T, HV, dv]`. The state advances by T.
   */
  prefill(q: Tensor, k: Tensor, v: Tensor, options: GlaOptions | DeltaRuleOptions): Tensor {
    this.#core.live();
    if (typeof options !== 'object' || options === null) throw typeError('options', this.op === 'gla' ? 'an object { gk, mode?, chunkSize? }' : 'an object { beta, g?, mode?, chunkSize? }', options);
    checkKnown(options, new Set(this.op === 'gla' ? ['gk', 'mode', 'chunkSize'] : ['beta', 'g', 'mode', 'chunkSize']), 'prefill options');
    const full = { ...options, scale: this.scale, ...(this.op === 'deltaRule' ? { qkL2norm: this.qkL2norm } : {}) };
    const c = checkGated(this.op, q, k, v, full);
    if (c.B !== this.batch || c.H !== this.heads || c.HV !== this.valueHeads || c.dk !== this.dk || c.dv !== this.dv) {
      throw rangeError('q/v.shape', `[${this.batch}, T, ${this.heads}, ${this.dk}] / [${this.batch}, T, ${this.valueHeads}, ${this.dv}] (the session's)`, new Detail(`[${c.B}, ${c.T}, ${c.H}, ${c.dk}] / [${c.B}, ${c.T}, ${c.HV}, ${c.dv}]`));
    }
    const o = this.#core.prefill(c.inputs, c.T, c.chunkSize, c.B * c.T * c.HV * c.dv);
    return { data: o, shape: [c.B, c.T, c.HV, c.dv] };
  }

  /** Self-describing bytes (operator, dims, scale, qkL2norm, position, state, CRC-32): README "Snapshots". */
  snapshot(): Uint8Array {
    const state = this.#core.state();
    const { op, batch, heads, valueHeads, dk, dv, scale, qkL2norm } = this;
    return encodeSnapshot({ op, batch, heads, valueHeads, dk, dv, scale, eps: 1, ridge: 0, normalize: false, decay: new Float32Array([1]), qkL2norm, position: this.#core.live().position }, state);
  }

  /** @internal Loads state and position decoded from a snapshot of the same shape. */
  _load(state: Float32Array, position: number): void {
    this.#core.load(state, position);
  }

  /** Back to the empty state, position 0. */
  reset(): void {
    this.#core.live().reset();
  }

  /** Returns the session's wasm memory. Idempotent. */
  free(): void {
    this.#core.free();
  }

  [Symbol.dispose](): void {
    this.free();
  }

  /** Whether `free()` has been called. */
  get freed(): boolean {
    return this.#core.freed;
  }
}

function checkGates(name: string, x: Float32Array) {
  for (let i = 0; i < x.length; i++) if (!(x[i] <= 0)) throw rangeError(`${name}[${i}]`, 'a log decay ≤ 0 (not NaN)', x[i]);
}
