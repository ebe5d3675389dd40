// Streaming sessions: the state lives in wasm memory next to input/output buffers that JS
// reads and writes through views, so `stepInPlace` copies and allocates nothing.
import { Detail, rangeError, typeError } from './errors.js';
import { checkSizes, stateFloats, workspaceFloats } from './limits.js';
import type { Glue } from './loader.js';
import { RESET_MESSAGE, type Runtime } from './runtime.js';
import { decodeSnapshot, encodeSnapshot, type SnapshotHeader } from './snapshot.js';
import { withConfig } from './config.js';
import { hook } from './trap.js';
import type { GatedOpName, OpName, Tensor } from './types.js';
import { GatedSession } from './gated-session.js';
import { SecondSession } from './second-session.js';
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

type Inner = InstanceType<Glue['Session']>;

/** @internal What a session needs from its Hla instance. */
export interface SessionHost {
  runtime: Runtime;
  guard<T>(f: () => T): T;
}

interface Owned {
  inner: Inner;
  runtime: Runtime;
  epoch: number;
}

// Safety net for sessions that are dropped without free(): their wasm memory is returned
// when the wrapper is garbage-collected, unless their instance was replaced since (a reset
// disowned them: their pointers mean nothing in the new one). Explicit free() is the way.
const registry = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry<Owned>(({ inner, runtime, epoch }) => {
    if (runtime.epoch !== epoch) return;
    runtime.untrack(inner);
    inner.free();
  })
  : null;

function positiveInt(name: string, x: unknown): number {
  if (typeof x !== 'number') throw typeError(name, 'a positive integer', x);
  if (!Number.isInteger(x) || x < 1) throw rangeError(name, 'a positive integer', x);
  return x;
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
  #host: SessionHost;
  #rt: Runtime;
  /** The runtime epoch #inner was created in. */
  #epoch: number;
  #inner: Inner | null;
  #buffer: ArrayBuffer | null = null;
  #inputs = { q: new Float32Array(0), k: new Float32Array(0), v: new Float32Array(0) };
  #output = new Float32Array(0);

  /** @internal Use `hla.session(op, options)` or `hla.restore(bytes)`. */
  constructor(host: SessionHost, op: OpName, options: SessionOptions) {
    checkOp(op);
    if (typeof options !== 'object' || options === null) throw typeError('options', 'an object { heads, dk, dv, … }', options);
    checkKnown(options, KNOWN, 'session options');
    this.op = op;
    this.batch = options.batch === undefined ? 1 : positiveInt('batch', options.batch);
    this.heads = positiveInt('heads', options.heads);
    this.valueHeads = options.valueHeads === undefined ? this.heads : positiveInt('valueHeads', options.valueHeads);
    if (this.valueHeads % this.heads !== 0) throw rangeError('valueHeads', `a multiple of heads = ${this.heads}`, this.valueHeads);
    this.dk = positiveInt('dk', options.dk);
    this.dv = positiveInt('dv', options.dv);
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
    this.#host = host;
    this.#rt = host.runtime;
    const glue: Glue = this.#rt.glue;
    const dims = { B: this.batch, T: 1, H: this.heads, HV: this.valueHeads, dk: this.dk, dv: this.dv };
    this.#inner = this.#rt.track(host.guard(() => withConfig(glue, op, dims, c, (config) => new glue.Session(config))));
    this.#epoch = this.#rt.epoch;
    registry?.register(this, { inner: this.#inner, runtime: this.#rt, epoch: this.#epoch }, this);
  }

  #live(): Inner {
    if (!this.#inner) throw new Error(`session (${this.op}): used after free()`);
    if (this.#rt.epoch !== this.#epoch) throw new Error(`session (${this.op}): ${RESET_MESSAGE}`);
    return this.#inner;
  }

  /** Views are re-derived whenever wasm memory has grown (which detaches old views). */
  #views() {
    const inner = this.#live();
    const buf = this.#rt.memory.buffer;
    if (buf !== this.#buffer) {
      const f = (ptr: number, n: number) => new Float32Array(buf, ptr, n);
      const nq = this.batch * this.heads * this.dk, nv = this.batch * this.valueHeads * this.dv;
      this.#inputs = { q: f(inner.inputPtr(0), nq), k: f(inner.inputPtr(1), nq), v: f(inner.inputPtr(2), nv) };
      this.#output = f(inner.outputPtr(), nv);
      this.#buffer = buf;
    }
  }

  /**
   * Zero-copy input views into wasm memory: `q`, `k` `[B·H·dk]`, `v` `[B·HV·dv]`. Write the next
   * token there and call `stepInPlace()`. Read them again after anything that may grow wasm
   * memory (creating sessions, functional calls): growth detaches old views.
   */
  get inputs(): { readonly q: Float32Array; readonly k: Float32Array; readonly v: Float32Array } {
    this.#views();
    return this.#inputs;
  }

  /** Zero-copy view of the last step's output `[B·HV·dv]` (overwritten by the next step). */
  get output(): Float32Array {
    this.#views();
    return this.#output;
  }

  /** Tokens consumed so far (per batch row). */
  get position(): number {
    return this.#live().position;
  }

  /** Bytes of streaming state this session holds. */
  get stateBytes(): number {
    return 4 * this.#live().stateLen();
  }

  /** One token: q, k `[B·H·dk]`, v `[B·HV·dv]`. Returns a copy of the output `[B·HV·dv]` that the caller owns. */
  step(q: Float32Array, k: Float32Array, v: Float32Array): Float32Array {
    if (arguments.length !== 3) throw new TypeError(`step: expected 3 arguments (q, k, v), got ${arguments.length}`);
    this.#views();
    const nq = this.#inputs.q.length, nv = this.#inputs.v.length;
    const shapeQ = `[B=${this.batch}, H=${this.heads}, dk=${this.dk}]`;
    const args = [['q', q, nq, shapeQ], ['k', k, nq, shapeQ], ['v', v, nv, `[B=${this.batch}, HV=${this.valueHeads}, dv=${this.dv}]`]] as const;
    const views = args.map(([name, x, n, shape]) => {
      const view = f32View(name, x, `a Float32Array of ${n} floats ${shape}`);
      if (view.length !== n) throw rangeError(`${name}.length`, `${n} ${shape}`, view.length);
      return view;
    });
    // An argument may be one of this session's own views (s.step(q, s.inputs.q, v)): copy it
    // out before the writes below overwrite what it shows.
    const buf = this.#rt.memory.buffer;
    const [qv, kv, vv] = views.map((x) => (x.buffer === buf ? x.slice() : x));
    this.#inputs.q.set(qv);
    this.#inputs.k.set(kv);
    this.#inputs.v.set(vv);
    return this.stepInPlace().slice();
  }

  /** One token read from `inputs`; returns `output` (a view, valid until the next step). */
  stepInPlace(): Float32Array {
    const inner = this.#live();
    this.#host.guard(() => inner.step());
    if (this.#rt.memory.buffer !== this.#buffer) this.#views();
    return this.#output;
  }

  /**
   * Many tokens at once: q, k `[B, T, H, dk]`, v `[B, T, HV, dv]`; returns `[B, T, HV, dv]`.
   * Chunk-parallel by default where that is faster; the state advances by T.
   */
  prefill(q: Tensor, k: Tensor, v: Tensor, options: { mode?: 'chunk' | 'recurrent'; chunkSize?: number } = {}): Tensor {
    if (arguments.length < 3 || arguments.length > 4) throw new TypeError(`prefill: expected 3 or 4 arguments (q, k, v, options), got ${arguments.length}`);
    const inner = this.#live();
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
    const o = new Float32Array(nv);
    this.#host.guard(() => {
      [qt.data, kt.data, vt.data].forEach((x, i) => inner.setInput(i, x));
      inner.prefill(T, chunkSize, o);
    });
    return { data: o, shape: [this.batch, T, this.valueHeads, this.dv] };
  }

  /** Self-describing bytes (operator, dims, options, position, state, CRC-32): see README "Snapshots". */
  snapshot(): Uint8Array {
    const inner = this.#live();
    const state = new Float32Array(this.#rt.memory.buffer, inner.statePtr(), inner.stateLen());
    return encodeSnapshot({ ...this.#header(), position: inner.position }, state);
  }

  #header(): Omit<SnapshotHeader, 'position'> {
    const { op, batch, heads, valueHeads, dk, dv, scale, eps, ridge, normalize, decay } = this;
    return { op, batch, heads, valueHeads, dk, dv, scale, eps, ridge, normalize, decay };
  }

  /** @internal Loads state and position decoded from a snapshot of the same shape. */
  _load(state: Float32Array, position: number): void {
    const inner = this.#live();
    if (state.length !== inner.stateLen()) throw rangeError('snapshot state', `${inner.stateLen()} floats`, state.length);
    new Float32Array(this.#rt.memory.buffer, inner.statePtr(), state.length).set(state);
    inner.position = position;
  }

  /** Back to the empty state, position 0. */
  reset(): void {
    this.#live().reset();
  }

  /** Returns the session's wasm memory. Idempotent: a second call does nothing. */
  free(): void {
    if (!this.#inner) return;
    registry?.unregister(this);
    // A session of a replaced instance has nothing left to free (the reset disowned it).
    if (this.#rt.epoch === this.#epoch) {
      this.#rt.untrack(this.#inner);
      this.#inner.free();
    }
    this.#inner = null;
    this.#buffer = null;
    this.#inputs = { q: new Float32Array(0), k: new Float32Array(0), v: new Float32Array(0) };
    this.#output = new Float32Array(0);
  }

  /** `using s = hla.session(…)` frees it at the end of the scope. */
  [Symbol.dispose](): void {
    this.free();
  }

  /** @internal For the containment test only: a Rust panic inside a session call. */
  _panicForTests(): void {
    const panic = hook(this.#live(), 'panicForTests');
    this.#host.guard(() => panic());
  }

  /** Whether `free()` has been called. */
  get freed(): boolean {
    return this.#inner === null;
  }
}

/**
 * @internal `hla.restore`: decode and check everything (ts/snapshot.ts), then create and load.
 * Nothing is created if a check fails.
 */
export function restoreSession(host: SessionHost, bytes: unknown, expectOp?: OpName | GatedOpName | 'sse' | 'rla'): Session | GatedSession | SecondSession {
  const { header, state } = decodeSnapshot(bytes);
  if (expectOp !== undefined && expectOp !== header.op) throw rangeError('snapshot', `a ${expectOp} session (as asked)`, new Detail(`a ${header.op} session`));
  const { op, position, sse, rla, ...rest } = header;
  if (op === 'sse' || op === 'rla') {
    const { batch, heads, valueHeads, dk, dv, scale, qkL2norm } = rest;
    const s = new SecondSession(host, op, { batch, heads, valueHeads, dk, dv, scale, qkL2norm, ...(op === 'sse' ? sse : rla) });
    try {
      s._load(state, position);
    } catch (e) {
      s.free();
      throw e;
    }
    return s;
  }
  if (op === 'gla' || op === 'deltaRule') {
    const { batch, heads, valueHeads, dk, dv, scale, qkL2norm } = rest;
    const g = new GatedSession(host, op, { batch, heads, valueHeads, dk, dv, scale, ...(op === 'deltaRule' ? { qkL2norm } : {}) });
    try {
      g._load(state, position);
    } catch (e) {
      g.free();
      throw e;
    }
    return g;
  }
  const { qkL2norm: _unused, ...hla } = rest;
  const s = new Session(host, op, { ...hla, ridge: hla.ridge });
  try {
    s._load(state, position);
  } catch (e) {
    s.free();
    throw e;
  }
  return s;
}
