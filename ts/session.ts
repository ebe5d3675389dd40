// Streaming sessions of the HLA family (la1, hla2, ahla, hla3): the state lives in wasm memory
// next to input/output buffers that JS reads and writes through views, so `stepInPlace` copies
// and allocates nothing. The binding session's lifetime, views, stepping and prefill are
// ts/session-core.ts's, as for the other families; this class keeps its validation and snapshot.
import { Detail, rangeError, typeError } from './errors.js';
import { checkSizes, stateFloats, workspaceFloats } from './limits.js';
import type { Runtime } from './runtime.js';
import { SessionCore, sessionDims } from './session-core.js';
import { encodeSnapshot, type SnapshotHeader } from './snapshot.js';
import type { OpName, Tensor } from './types.js';
import { checkCommon, checkKnown, checkOp, checkTensorData, f32View, resolveMode } from './validate.js';

/** Shape and options of a session (the functional options, minus per-call ones). */
export interface SessionOptions {
  /** Batch rows decoded together. Default 1. */
  batch?: number;
  /** Query-key heads H. */
  heads: number;
  /** Value heads HV, a multiple of H. Default H. */
  valueHeads?: number;
  dk: number;
  dv: number;
  scale?: number;
  decay?: number | ArrayLike<number>;
  normalize?: boolean;
  eps?: number;
  ridge?: number;
}

const KNOWN = new Set(['batch', 'heads', 'valueHeads', 'dk', 'dv', 'scale', 'decay', 'normalize', 'eps', 'ridge']);

/** @internal What a session needs from its Hla instance. */
export interface SessionHost {
  runtime: Runtime;
  guard<T>(f: () => T): T;
}

/** A streaming decoder for one operator: `step` token by token, `prefill` many at once. */
export class Session {
  /** The operator this session runs. */
  readonly op: OpName;
  /** Batch rows B stepped together. */
  readonly batch: number;
  /** Query-key heads H. */
  readonly heads: number;
  /** Value heads HV (a multiple of H). */
  readonly valueHeads: number;
  /** Query/key size. */
  readonly dk: number;
  /** Value size. */
  readonly dv: number;
  /** Resolved `scale` (default dk^-0.5). */
  readonly scale: number;
  /** Resolved decay: one γ, or one per query-key head. */
  readonly decay: Float32Array;
  /** Whether outputs are normalised. */
  readonly normalize: boolean;
  /** Denominator floor when normalising. */
  readonly eps: number;
  /** hla2's ridge λ (0 = none). */
  readonly ridge: number;
  #core: SessionCore;

  /** @internal Use `hla.session(op, options)` or `hla.restore(bytes)`. */
  constructor(host: SessionHost, op: OpName, options: SessionOptions) {
    checkOp(op);
    if (typeof options !== 'object' || options === null) throw typeError('options', 'an object { heads, dk, dv, … }', options);
    checkKnown(options, KNOWN, 'session options');
    this.op = op;
    ({ batch: this.batch, heads: this.heads, valueHeads: this.valueHeads, dk: this.dk, dv: this.dv } = sessionDims(options));
    const c = checkCommon(op, options as unknown as Record<string, unknown>, this.heads, this.dk);
    this.scale = c.scale; this.decay = c.decay; this.normalize = c.normalize; this.eps = c.eps; this.ridge = c.ridge;
    const nq = this.batch * this.heads * this.dk, nv = this.batch * this.valueHeads * this.dv;
    const ns = stateFloats(op, this.batch, this.heads, this.valueHeads, this.dk, this.dv, c.ridge !== 0);
    const ws = workspaceFloats(0, 1, this.dk, this.dv);
    checkSizes({
      buffers: [
        ['dk', `inputs q, k of batch·heads·dk`, nq],
        ['dv', `inputs v, output o of batch·valueHeads·dv`, nv],
        ['state', `a ${op} state (batch=${this.batch}, heads=${this.heads}, valueHeads=${this.valueHeads}, dk=${this.dk}, dv=${this.dv})`, ns],
      ],
      total: 2 * nq + 2 * nv + ns + ws,
    });
    const dims = { B: this.batch, T: 1, H: this.heads, HV: this.valueHeads, dk: this.dk, dv: this.dv };
    this.#core = new SessionCore(host, op, ['q', 'k', 'v'], nv, { family: 'hla', op, ...c }, dims);
  }

  /**
   * Zero-copy input views into wasm memory: `q`, `k` `[B·H·dk]`, `v` `[B·HV·dv]`. Write the next
   * token there and call `stepInPlace()`. Read them again after anything that may grow wasm
   * memory (creating sessions, functional calls): growth detaches old views.
   */
  get inputs(): { readonly q: Float32Array; readonly k: Float32Array; readonly v: Float32Array } {
    return this.#core.inputs as { readonly q: Float32Array; readonly k: Float32Array; readonly v: Float32Array };
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

  /** One token: q, k `[B·H·dk]`, v `[B·HV·dv]`. Returns a copy of the output `[B·HV·dv]` that the caller owns. */
  step(q: Float32Array, k: Float32Array, v: Float32Array): Float32Array {
    if (arguments.length !== 3) throw new TypeError(`step: expected 3 arguments (q, k, v), got ${arguments.length}`);
    const inputs = this.inputs;
    const nq = inputs.q.length, nv = inputs.v.length;
    const shapeQ = `[B=${this.batch}, H=${this.heads}, dk=${this.dk}]`;
    const args = [['q', q, nq, shapeQ], ['k', k, nq, shapeQ], ['v', v, nv, `[B=${this.batch}, HV=${this.valueHeads}, dv=${this.dv}]`]] as const;
    const views = args.map(([name, x, n, shape]) => {
      const view = f32View(name, x, `a Float32Array of ${n} floats ${shape}`);
      if (view.length !== n) throw rangeError(`${name}.length`, `${n} ${shape}`, view.length);
      return view;
    });
    // An argument may be one of this session's own views (s.step(q, s.inputs.q, v)): copy it
    // out before the writes below overwrite what it shows.
    const buf = this.#core.buffer;
    const [qv, kv, vv] = views.map((x) => (x.buffer === buf ? x.slice() : x));
    inputs.q.set(qv);
    inputs.k.set(kv);
    inputs.v.set(vv);
    return this.stepInPlace().slice();
  }

  /** One token read from `inputs`; returns `output` (a view, valid until the next step). */
  stepInPlace(): Float32Array {
    return this.#core.stepInPlace();
  }

  /**
   * Many tokens at once: q, k `[B, T, H, dk]`, v `[B, T, HV, dv]`; returns `[B, T, HV, dv]`.
   * Chunk-parallel by default where that is faster; the state advances by T.
   */
  prefill(q: Tensor, k: Tensor, v: Tensor, options: { mode?: 'chunk' | 'recurrent'; chunkSize?: number } = {}): Tensor {
    if (arguments.length < 3 || arguments.length > 4) throw new TypeError(`prefill: expected 3 or 4 arguments (q, k, v, options), got ${arguments.length}`);
    this.#core.live();
    const want = (name: string, t: Tensor, h: number, d: number) => {
      const { shape, data } = checkTensorData(name, t);
      const [B, , H, D] = shape;
      if (B !== this.batch || H !== h || D !== d) {
        throw rangeError(`${name}.shape`, `[${this.batch}, T, ${h}, ${d}] (the session's batch, heads, dim)`, new Detail(`[${shape.join(', ')}]`));
      }
      return { T: shape[1], data };
    };
    const [qt, kt, vt] = [want('q', q, this.heads, this.dk), want('k', k, this.heads, this.dk), want('v', v, this.valueHeads, this.dv)];
    const T = qt.T;
    if (kt.T !== T || vt.T !== T) throw rangeError('k/v.shape[1]', `T = ${T} (the length of q)`, new Detail(`${kt.T} and ${vt.T}`));
    if (typeof options !== 'object' || options === null) throw typeError('prefill options', "an object { mode?, chunkSize? }", options);
    checkKnown(options, new Set(['mode', 'chunkSize']), 'prefill options');
    const chunkSize = resolveMode(this.op, options.mode, options.chunkSize);
    const nq = this.batch * T * this.heads * this.dk, nv = this.batch * T * this.valueHeads * this.dv;
    const ws = workspaceFloats(chunkSize, T, this.dk, this.dv);
    checkSizes({
      buffers: [['q.shape', 'B·T·H·dk', nq], ['v.shape', 'B·T·HV·dv', nv], ['chunkSize', `a chunk workspace (dk=${this.dk}, dv=${this.dv})`, ws]],
      total: 2 * nq + 2 * nv + ws,
    });
    const o = this.#core.prefill([qt.data, kt.data, vt.data], T, chunkSize, nv);
    return { data: o, shape: [this.batch, T, this.valueHeads, this.dv] };
  }

  /** Self-describing bytes (operator, dims, options, position, state, CRC-32): see README "Snapshots". */
  snapshot(): Uint8Array {
    const state = this.#core.state();
    return encodeSnapshot({ ...this.#header(), position: this.position }, state);
  }

  #header(): Omit<SnapshotHeader, 'position'> {
    const { op, batch, heads, valueHeads, dk, dv, scale, eps, ridge, normalize, decay } = this;
    return { op, batch, heads, valueHeads, dk, dv, scale, eps, ridge, normalize, decay };
  }

  /** @internal Loads state and position decoded from a snapshot of the same shape. */
  _load(state: Float32Array, position: number): void {
    this.#core.load(state, position);
  }

  /** Back to the empty state, position 0. */
  reset(): void {
    this.#core.live().reset();
  }

  /** Returns the session's wasm memory. Idempotent: a second call does nothing. */
  free(): void {
    this.#core.free();
  }

  /** `using s = hla.session(…)` frees it at the end of the scope. */
  [Symbol.dispose](): void {
    this.free();
  }

  /** @internal For the containment test only: a Rust panic inside a session call. */
  _panicForTests(): void {
    this.#core.panicForTests();
  }

  /** Whether `free()` has been called. */
  get freed(): boolean {
    return this.#core.freed;
  }
}
