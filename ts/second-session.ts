// Streaming sessions of sse and rla: as ts/gated-session.ts, the state lives in wasm memory
// beside one input view per per-token tensor, named as in the functional call (sse: q1, k1, q2,
// k2, v, router and the base's gates; rla: q, k, v, g, beta, correction), so `stepInPlace`
// copies and allocates nothing on the JS side. Input values are checked by the kernel's own
// validator on every step (a bad gate is a RangeError and the state is untouched).
import { Detail, rangeError, typeError } from './errors.js';
import { checkSizes } from './limits.js';
import { positiveInt, SessionCore, sessionDims } from './session-core.js';
import { checkRla, checkSse } from './second.js';
import type { RlaOptions, SseInputs, SseOptions } from './second-options.js';
import type { SessionHost } from './session.js';
import type { Tensor } from './types.js';
import { encodeSnapshot } from './snapshot.js';
import { checkKnown, f32View } from './validate.js';

/** Shape and options of an sse or rla session. */
export interface SecondSessionOptions {
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
  /** sse: 'gla' | 'deltaRule' (required); rla: 'la' (default) | 'deltaRule'. */
  base?: 'gla' | 'deltaRule' | 'la';
  /** sse: N, the routed partitions (the router's width). */
  partitions?: number;
  /** sse: partitions per token, 1..N. Default 1. */
  topK?: number;
  /** sse: scale q2 / k2 by the router probability. Default true. */
  weightQuery?: boolean;
  weightKey?: boolean;
  /** L2-normalise q and k. Default: sse over deltaRule true, otherwise false. */
  qkL2norm?: boolean;
  /** rla: residual clip > 0. Default 1. */
  clip?: number;
  /** rla: 'undecayed' (default) or 'decayed'. */
  residual?: 'undecayed' | 'decayed';
}

const COMMON = ['batch', 'heads', 'valueHeads', 'dk', 'dv', 'scale', 'base', 'qkL2norm'];
const KNOWN = {
  sse: new Set([...COMMON, 'partitions', 'topK', 'weightQuery', 'weightKey']),
  rla: new Set([...COMMON, 'clip', 'residual']),
};
const NAMES = {
  gla: ['q1', 'k1', 'q2', 'k2', 'v', 'router', 'gk1', 'gk2'],
  deltaRule: ['q1', 'k1', 'q2', 'k2', 'v', 'router', 'g1', 'g2', 'beta1', 'beta2'],
  rla: ['q', 'k', 'v', 'g', 'beta', 'correction'],
} as const;



/** A streaming decoder for sse or rla: `step` token by token, `prefill` many at once. */
export class SecondSession {
  readonly op: 'sse' | 'rla';
  readonly batch: number;
  readonly heads: number;
  readonly valueHeads: number;
  readonly dk: number;
  readonly dv: number;
  /** The options every call of this session runs with (those of `hla.sse` / `hla.rla`). */
  readonly options: Readonly<SseOptions | Omit<RlaOptions, 'correction' | 'g' | 'beta'>>;
  readonly names: readonly string[];
  #core: SessionCore;
  /** sse: N (the router's width); rla: 0. */
  #partitions = 0;

  /** @internal Use `hla.session('sse' | 'rla', options)`. */
  constructor(host: SessionHost, op: 'sse' | 'rla', options: SecondSessionOptions) {
    if (typeof options !== 'object' || options === null) throw typeError('options', 'an object { heads, dk, dv, … }', options);
    checkKnown(options, KNOWN[op], 'session options');
    this.op = op;
    ({ batch: this.batch, heads: this.heads, valueHeads: this.valueHeads, dk: this.dk, dv: this.dv } = sessionDims(options));
    const [B, H, HV, dk, dv] = [this.batch, this.heads, this.valueHeads, this.dk, this.dv];
    const zeros = (shape: number[]) => ({ data: new Float32Array(shape.reduce((a, b) => a * b)), shape });
    // One token of zeros through the functional checks: every option is checked once, here.
    const { scale, qkL2norm } = options;
    let c;
    if (op === 'sse') {
      const N = options.partitions === undefined ? NaN : positiveInt('partitions', options.partitions);
      if (Number.isNaN(N)) throw typeError('partitions', 'a positive integer (N, the router width)', options.partitions);
      const base = options.base as SseOptions['base'];
      const o: SseOptions = { base, topK: options.topK, weightQuery: options.weightQuery, weightKey: options.weightKey, qkL2norm, scale };
      const qk = zeros([B, 1, H, dk]);
      const x: Record<string, Tensor> = { q1: qk, k1: qk, q2: qk, k2: qk, v: zeros([B, 1, HV, dv]), router: zeros([B, 1, N]) };
      if (base === 'gla') Object.assign(x, { gk1: qk, gk2: qk });
      else Object.assign(x, { beta1: zeros([B, 1, HV]), beta2: zeros([B, 1, HV]) });
      c = checkSse(x, o);
      this.options = Object.freeze(Object.fromEntries(Object.entries(o).filter(([, y]) => y !== undefined)) as unknown as SseOptions);
      this.names = NAMES[base];
      this.#partitions = N;
    } else {
      const o = { base: options.base as RlaOptions['base'], clip: options.clip, residual: options.residual, qkL2norm, scale };
      c = checkRla(zeros([B, 1, H, dk]), zeros([B, 1, H, dk]), zeros([B, 1, HV, dv]), { ...o, correction: zeros([B, 1, HV]) });
      this.options = Object.freeze(Object.fromEntries(Object.entries(o).filter(([, y]) => y !== undefined)));
      this.names = NAMES.rla;
    }
    checkSizes({ buffers: [['state', `an ${op} state`, c.stateFloats]], total: 2 * c.stateFloats });
    this.#core = new SessionCore(host, op, this.names, B * HV * dv, c.spec, { B, T: 1, H, HV, dk, dv });
    this.reset();
  }

  /**
   * Zero-copy input views into wasm memory, one per per-token tensor, named as in the functional
   * call, one token row-major (`[B·H·dk]`, `[B·HV·dv]`, `[B·HV]`, the router `[B·N]`). rla's
   * `beta` view starts at 1 (its default) and `g` at 0 (no decay). Write the next token there and
   * call `stepInPlace()`. Read them again after anything that may grow wasm memory.
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

  /** A copy of the state floats (the layout of `finalState`). */
  stateFloats(): Float32Array {
    return this.#core.state().slice();
  }

  /** One token read from `inputs`; returns `output` (a view, valid until the next step). */
  stepInPlace(): Float32Array {
    return this.#core.stepInPlace();
  }

  /** One token: `{ name: Float32Array }` for every input (as `inputs`); returns a copy of the output. */
  step(token: Record<string, Float32Array>): Float32Array {
    if (typeof token !== 'object' || token === null) throw typeError('token', `an object { ${this.names.join(', ')} }`, token);
    checkKnown(token, new Set(this.names), 'step');
    const inputs = this.#core.inputs;
    const buf = this.#core.buffer;
    const copies: [string, Float32Array][] = [];
    for (const name of this.names) {
      if (token[name] === undefined) continue;
      const want = inputs[name].length;
      const view = f32View(name, token[name], `a Float32Array of ${want} floats`);
      if (view.length !== want) throw rangeError(`${name}.length`, `${want}`, view.length);
      copies.push([name, view.buffer === buf ? view.slice() : view]);
    }
    const missing = this.names.filter((n) => token[n] === undefined && !['g', 'beta', 'g1', 'g2'].includes(n));
    if (missing.length) throw typeError(`step.${missing[0]}`, 'a Float32Array (required)', undefined);
    for (const [name, x] of copies) inputs[name].set(x);
    return this.stepInPlace().slice();
  }

  /**
   * Many tokens at once, as the functional call takes them (sse: the inputs object; rla: q, k, v
   * and `{ g, beta, correction }`), plus `mode` / `chunkSize`; returns `[B, T, HV, dv]`. The
   * state advances by T.
   */
  prefill(...args: unknown[]): Tensor {
    this.#core.live();
    const call = this.op === 'sse' ? args[1] : args[3];
    if (call !== undefined && (typeof call !== 'object' || call === null)) throw typeError('prefill options', 'an object', call);
    const extra = (call ?? {}) as Record<string, unknown>;
    checkKnown(extra, new Set(this.op === 'sse' ? ['mode', 'chunkSize'] : ['g', 'beta', 'correction', 'mode', 'chunkSize']), 'prefill options');
    const c = this.op === 'sse'
      ? checkSse(args[0] as SseInputs, { ...(this.options as SseOptions), ...extra })
      : checkRla(args[0], args[1], args[2], { ...this.options, ...extra });
    if (c.B !== this.batch || c.H !== this.heads || c.HV !== this.valueHeads || c.dk !== this.dk || c.dv !== this.dv) {
      throw rangeError('shapes', `[${this.batch}, T, ${this.heads}, ${this.dk}] / [${this.batch}, T, ${this.valueHeads}, ${this.dv}] (the session's)`, new Detail(`[${c.B}, ${c.T}, ${c.H}, ${c.dk}] / [${c.B}, ${c.T}, ${c.HV}, ${c.dv}]`));
    }
    const o = this.#core.prefill(c.inputs, c.T, c.chunkSize, c.B * c.T * c.HV * c.dv);
    return { data: o, shape: [c.B, c.T, c.HV, c.dv] };
  }

  /**
   * Self-describing bytes (operator, dims, every option, position, state, CRC-32; format
   * version 2, README "Snapshot format"); `hla.restore(bytes)` continues bit for bit.
   */
  snapshot(): Uint8Array {
    const state = this.#core.state();
    const { op, batch, heads, valueHeads, dk, dv } = this;
    const o = this.options as Record<string, unknown>;
    // The options in effect (the defaults of ts/second.ts where the caller gave none).
    const scale = (o.scale as number | undefined) ?? 1 / Math.sqrt(dk);
    const common = { op, batch, heads, valueHeads, dk, dv, scale, eps: 1, ridge: 0, normalize: false, decay: new Float32Array([1]), position: this.#core.live().position };
    if (op === 'sse') {
      const base = o.base as 'gla' | 'deltaRule';
      const sse = { partitions: this.#partitions, topK: (o.topK as number | undefined) ?? 1, base, weightQuery: o.weightQuery !== false, weightKey: o.weightKey !== false };
      return encodeSnapshot({ ...common, qkL2norm: (o.qkL2norm as boolean | undefined) ?? base === 'deltaRule', sse }, state);
    }
    const rla = { base: (o.base as 'la' | 'deltaRule' | undefined) ?? 'la', residual: (o.residual as 'undecayed' | 'decayed' | undefined) ?? 'undecayed', clip: (o.clip as number | undefined) ?? 1 };
    return encodeSnapshot({ ...common, qkL2norm: o.qkL2norm === true, rla }, state);
  }

  /** @internal Loads state and position decoded from a snapshot of the same shape. */
  _load(state: Float32Array, position: number): void {
    this.#core.load(state, position);
  }

  /** Back to the empty state, position 0 (rla's `beta` view back to 1). */
  reset(): void {
    this.#core.live().reset();
    if (this.op === 'rla') this.inputs.beta.fill(1);
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
