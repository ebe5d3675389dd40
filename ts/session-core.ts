// What every session over the binding's generic `Session` shares (every operator): the wasm
// object's lifetime (free, reset epoch, the finalizer), zero-copy views of its named inputs and
// its output, stepping and prefill. The public session classes keep their own validation and
// snapshots.
import { withSpec, type CallDims, type ConfigSpec } from './config.js';
import type { Glue } from './loader.js';
import { rangeError, typeError } from './errors.js';
import { RESET_MESSAGE, type Runtime } from './runtime.js';
import type { SessionHost } from './session.js';
import { hook } from './trap.js';

type Inner = InstanceType<Glue['Session']>;

interface Owned {
  inner: Inner;
  runtime: Runtime;
  epoch: number;
}

// Safety net for sessions that are dropped without free(): their wasm memory is returned
// when the core (held by its public session alone) is garbage-collected, unless their instance
// was replaced since (a reset disowned them: their pointers mean nothing in the new one).
// Explicit free() is the way.
const registry = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry<Owned>(({ inner, runtime, epoch }) => {
    if (runtime.epoch !== epoch) return;
    runtime.untrack(inner);
    inner.free();
  })
  : null;

/** @internal */
export class SessionCore {
  #op: string;
  #names: readonly string[];
  #outputLen: number;
  #host: SessionHost;
  #rt: Runtime;
  #inner: Inner | null;
  #epoch: number;
  #buffer: ArrayBufferLike | null = null;
  #inputs: Record<string, Float32Array> = {};
  #output = new Float32Array(0);

  /** Builds the binding's session of `spec` and `dims` (inside the host's trap guard). */
  constructor(host: SessionHost, op: string, names: readonly string[], outputLen: number, spec: ConfigSpec, dims: CallDims) {
    this.#op = op;
    this.#names = names;
    this.#outputLen = outputLen;
    this.#host = host;
    this.#rt = host.runtime;
    const glue: Glue = this.#rt.glue;
    this.#inner = this.#rt.track(host.guard(() => withSpec(glue, spec, dims, (config) => new glue.Session(config))));
    this.#epoch = this.#rt.epoch;
    registry?.register(this, { inner: this.#inner, runtime: this.#rt, epoch: this.#epoch }, this);
  }

  live(): Inner {
    if (!this.#inner) throw new Error(`session (${this.#op}): used after free()`);
    if (this.#rt.epoch !== this.#epoch) throw new Error(`session (${this.#op}): ${RESET_MESSAGE}`);
    return this.#inner;
  }

  /** Views are re-derived whenever wasm memory has grown (which detaches old views). */
  #views() {
    const inner = this.live();
    const buf = this.#rt.memory.buffer;
    if (buf !== this.#buffer) {
      const inputs: Record<string, Float32Array> = {};
      this.#names.forEach((name, i) => (inputs[name] = new Float32Array(buf, inner.inputPtr(i), inner.inputLen(i))));
      this.#inputs = Object.freeze(inputs);
      this.#output = new Float32Array(buf, inner.outputPtr(), this.#outputLen);
      this.#buffer = buf;
    }
  }

  get inputs(): Readonly<Record<string, Float32Array>> {
    this.#views();
    return this.#inputs;
  }

  get output(): Float32Array {
    this.#views();
    return this.#output;
  }

  /** The wasm memory an argument must not alias (it is copied out before the input writes). */
  get buffer(): ArrayBufferLike {
    return this.#rt.memory.buffer;
  }

  /** A view of the state floats (valid until wasm memory grows). */
  state(): Float32Array {
    const inner = this.live();
    return new Float32Array(this.#rt.memory.buffer, inner.statePtr(), inner.stateLen());
  }

  stepInPlace(): Float32Array {
    const inner = this.live();
    this.#host.guard(() => inner.step());
    if (this.#rt.memory.buffer !== this.#buffer) this.#views();
    return this.#output;
  }

  /** `t` tokens of checked, binding-ordered inputs; returns the outputs `[B, T, HV, dv]` flat. */
  prefill(inputs: readonly Parameters<Inner["setInput"]>[1][], t: number, chunkSize: number, outputLen: number): Float32Array {
    const inner = this.live();
    const o = new Float32Array(outputLen);
    this.#host.guard(() => {
      inputs.forEach((x, i) => inner.setInput(i, x));
      inner.prefill(t, chunkSize, o);
    });
    return o;
  }

  /** Loads state and position decoded from a snapshot of the same shape. */
  load(state: Float32Array, position: number): void {
    const inner = this.live();
    if (state.length !== inner.stateLen()) throw rangeError('snapshot state', `${inner.stateLen()} floats`, state.length);
    new Float32Array(this.#rt.memory.buffer, inner.statePtr(), state.length).set(state);
    inner.position = position;
  }

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
    this.#inputs = {};
    this.#output = new Float32Array(0);
  }

  /** For the containment test only: a Rust panic inside a session call (a testing build). */
  panicForTests(): void {
    const panic = hook(this.live(), 'panicForTests');
    this.#host.guard(() => panic());
  }

  get freed(): boolean {
    return this.#inner === null;
  }
}

/** @internal A positive integer option, else a TypeError / RangeError naming it. */
export function positiveInt(name: string, x: unknown): number {
  if (typeof x !== 'number') throw typeError(name, 'a positive integer', x);
  if (!Number.isInteger(x) || x < 1) throw rangeError(name, 'a positive integer', x);
  return x;
}

/** @internal Every session's dims from its options: batch (default 1), heads, valueHeads (default heads; a multiple of it), dk, dv. */
export function sessionDims(o: { batch?: unknown; heads: unknown; valueHeads?: unknown; dk: unknown; dv: unknown }) {
  const batch = o.batch === undefined ? 1 : positiveInt('batch', o.batch);
  const heads = positiveInt('heads', o.heads);
  const valueHeads = o.valueHeads === undefined ? heads : positiveInt('valueHeads', o.valueHeads);
  if (valueHeads % heads !== 0) throw rangeError('valueHeads', `a multiple of heads = ${heads}`, valueHeads);
  return { batch, heads, valueHeads, dk: positiveInt('dk', o.dk), dv: positiveInt('dv', o.dv) };
}
