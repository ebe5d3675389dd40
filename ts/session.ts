// Streaming sessions: the state lives in wasm memory next to input/output buffers that JS
// reads and writes through views, so `stepInPlace` copies and allocates nothing.
import { Detail, rangeError, typeError } from './errors.js';
import type { Glue } from './loader.js';
import { decodeSnapshot, encodeSnapshot, type SnapshotHeader } from './snapshot.js';
import { OP_CODES, type OpName, type Tensor } from './types.js';
import { checkCommon, checkKnown, checkTensor, resolveMode } from './validate.js';

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
  glue: Glue;
  memory: WebAssembly.Memory;
  guard<T>(f: () => T): T;
}

// Safety net for sessions that are dropped without free(): their wasm memory is returned
// when the wrapper is garbage-collected. Explicit free() (or `using`) is the documented way.
const registry = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<Inner>((inner) => inner.free()) : null;

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
  #inner: Inner | null;
  #buffer: ArrayBuffer | null = null;
  #inputs = { q: new Float32Array(0), k: new Float32Array(0), v: new Float32Array(0) };
  #output = new Float32Array(0);

  /** @internal Use `hla.session(op, options)` or `hla.restore(bytes)`. */
  constructor(host: SessionHost, op: OpName, options: SessionOptions) {
    if (!(op in OP_CODES)) throw rangeError('op', `one of ${Object.keys(OP_CODES).join(', ')}`, op);
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
    this.#host = host;
    this.#inner = host.guard(() => new host.glue.Session(OP_CODES[op], this.batch, this.heads, this.valueHeads, this.dk, this.dv, c.scale, c.decay, c.normalize, c.eps, c.ridge));
    registry?.register(this, this.#inner, this);
  }

  #live(): Inner {
    if (!this.#inner) throw new Error(`session (${this.op}): used after free()`);
    return this.#inner;
  }

  /** Views are re-derived whenever wasm memory has grown (which detaches old views). */
  #views() {
    const inner = this.#live();
    const buf = this.#host.memory.buffer;
    if (buf !== this.#buffer) {
      const f = (ptr: number, n: number) => new Float32Array(buf, ptr, n);
      const nq = this.batch * this.heads * this.dk, nv = this.batch * this.valueHeads * this.dv;
      this.#inputs = { q: f(inner.q_ptr(), nq), k: f(inner.k_ptr(), nq), v: f(inner.v_ptr(), nv) };
      this.#output = f(inner.o_ptr(), nv);
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
    return 4 * this.#live().state_len();
  }

  /** One token: q, k `[B·H·dk]`, v `[B·HV·dv]`. Returns a copy of the output `[B·HV·dv]` that the caller owns. */
  step(q: Float32Array, k: Float32Array, v: Float32Array): Float32Array {
    this.#views();
    const nq = this.#inputs.q.length, nv = this.#inputs.v.length;
    const shapeQ = `[B=${this.batch}, H=${this.heads}, dk=${this.dk}]`;
    for (const [name, x, n, shape] of [['q', q, nq, shapeQ], ['k', k, nq, shapeQ], ['v', v, nv, `[B=${this.batch}, HV=${this.valueHeads}, dv=${this.dv}]`]] as const) {
      if (!(x instanceof Float32Array)) throw typeError(name, `a Float32Array of ${n} floats ${shape}`, x);
      if (x.length !== n) throw rangeError(`${name}.length`, `${n} ${shape}`, x.length);
    }
    this.#inputs.q.set(q);
    this.#inputs.k.set(k);
    this.#inputs.v.set(v);
    return this.stepInPlace().slice();
  }

  /** One token read from `inputs`; returns `output` (a view, valid until the next step). */
  stepInPlace(): Float32Array {
    const inner = this.#live();
    this.#host.guard(() => inner.step());
    if (this.#host.memory.buffer !== this.#buffer) this.#views();
    return this.#output;
  }

  /**
   * Many tokens at once: q, k `[B, T, H, dk]`, v `[B, T, HV, dv]`; returns `[B, T, HV, dv]`.
   * Chunk-parallel by default where that is faster; the state advances by T.
   */
  prefill(q: Tensor, k: Tensor, v: Tensor, options: { mode?: 'chunk' | 'recurrent'; chunkSize?: number } = {}): Tensor {
    const inner = this.#live();
    const want = (name: string, t: Tensor, h: number, d: number) => {
      const [B, , H, D] = checkTensor(name, t);
      if (B !== this.batch || H !== h || D !== d) {
        throw rangeError(`${name}.shape`, `[${this.batch}, T, ${h}, ${d}] (the session's batch, heads, dim)`, new Detail(`[${t.shape.join(', ')}]`));
      }
    };
    want('q', q, this.heads, this.dk);
    want('k', k, this.heads, this.dk);
    want('v', v, this.valueHeads, this.dv);
    const T = q.shape[1];
    if (k.shape[1] !== T || v.shape[1] !== T) throw rangeError('k/v.shape[1]', `T = ${T} (the length of q)`, new Detail(`${k.shape[1]} and ${v.shape[1]}`));
    checkKnown(options, new Set(['mode', 'chunkSize']), 'prefill options');
    const chunkSize = resolveMode(this.op, T, options.mode, options.chunkSize);
    const o = new Float32Array(this.batch * T * this.valueHeads * this.dv);
    this.#host.guard(() => inner.prefill(T, chunkSize, q.data, k.data, v.data, o));
    return { data: o, shape: [this.batch, T, this.valueHeads, this.dv] };
  }

  /** Self-describing bytes (operator, dims, options, position, state, CRC-32): see README "Snapshots". */
  snapshot(): Uint8Array {
    const inner = this.#live();
    const state = new Float32Array(this.#host.memory.buffer, inner.state_ptr(), inner.state_len());
    return encodeSnapshot({ ...this.#header(), position: inner.position }, state);
  }

  #header(): Omit<SnapshotHeader, 'position'> {
    const { op, batch, heads, valueHeads, dk, dv, scale, eps, ridge, normalize, decay } = this;
    return { op, batch, heads, valueHeads, dk, dv, scale, eps, ridge, normalize, decay };
  }

  /** @internal Loads state and position decoded from a snapshot of the same shape. */
  _load(state: Float32Array, position: number): void {
    const inner = this.#live();
    if (state.length !== inner.state_len()) throw rangeError('snapshot state', `${inner.state_len()} floats`, state.length);
    new Float32Array(this.#host.memory.buffer, inner.state_ptr(), state.length).set(state);
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
    this.#inner.free();
    this.#inner = null;
    this.#buffer = null;
    this.#inputs = { q: new Float32Array(0), k: new Float32Array(0), v: new Float32Array(0) };
    this.#output = new Float32Array(0);
  }

  /** `using s = hla.session(…)` frees it at the end of the scope. */
  [Symbol.dispose](): void {
    this.free();
  }

  /** Whether `free()` has been called. */
  get freed(): boolean {
    return this.#inner === null;
  }
}

/** @internal `hla.restore`: decode, check, create, load. Nothing is created if a check fails. */
export function restoreSession(host: SessionHost, bytes: unknown, expect?: { op?: OpName }): Session {
  const { header, state } = decodeSnapshot(bytes);
  if (expect?.op !== undefined && expect.op !== header.op) throw rangeError('snapshot', `a ${expect.op} session (as asked)`, new Detail(`a ${header.op} session`));
  const { op, position, ...rest } = header;
  const s = new Session(host, op, { ...rest, ridge: rest.ridge });
  try {
    s._load(state, position);
  } catch (e) {
    s.free();
    throw e;
  }
  return s;
}
