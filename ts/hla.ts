import { typeError } from './errors.js';
import { checkSizes, stateFloats } from './limits.js';
import { withSpec } from './config.js';
import type { DeltaRuleOptions, GlaOptions } from './gated.js';
import type { RlaOptions, SseInputs, SseOptions } from './second-options.js';
import { BACKENDS, type Glue, type Loaded } from './loader.js';
import type { PoolCall } from './call.js';
import { checkCall, checkOperator, openSession, restoreSession, type AnySession } from './families.js';
import type { OperatorName } from './operators.js';
import { forwardOnPool, plan, type CallProfile } from './plan.js';
import { sharedFloats, type Pool, type Transport, type WorkerProfile } from './pool.js';
import type { Runtime } from './runtime.js';
import type { Session, SessionOptions } from './session.js';
import type { GatedSession, GatedSessionOptions } from './gated-session.js';
import type { SecondSession, SecondSessionOptions } from './second-session.js';
import { HlaState } from './state.js';
import { hook, trapReason } from './trap.js';
import type { Backend, GatedOpName, OpName, Tensor } from './types.js';
import { checkKnown, checkOp, type ForwardOptions } from './validate.js';

/** What every operator returns. */
export interface ForwardResult {
  /** `[B, T, HV, dv]` */
  o: Tensor;
  /** Present when `outputFinalState` was set. */
  finalState?: HlaState;
}

type Engine = InstanceType<Glue['Engine']>;

function positiveInteger(name: string, x: unknown): number {
  if (typeof x !== 'number') throw typeError(name, 'a positive integer', x);
  if (!Number.isInteger(x) || x < 1) throw new RangeError(`${name}: expected a positive integer, got ${x}`);
  return x;
}

/** An initialised hla-wasm instance: the operators, sessions and their backend. */
export class Hla {
  /** The SIMD flavour in use: 'relaxed', 'simd128' or 'scalar'. */
  readonly backend: Backend;
  #rt: Runtime;
  #glue: Glue;
  #engine: Engine | null = null;
  /** The runtime epoch #engine belongs to (a reset replaces the instance under it). */
  #engineEpoch = -1;
  #pool: Pool | null;

  /** @internal Use `init()`. */
  constructor(runtime: Loaded, pool: Pool | null = null) {
    this.#rt = runtime;
    this.#glue = runtime.glue;
    this.#pool = pool;
    this.backend = this.#glue.backend() as Backend;
    if (!BACKENDS.includes(this.backend)) throw new Error(`hla-wasm: unknown backend ${this.backend}`);
  }

  /** The scratch engine of the current instance (a new one after a reset). */
  #currentEngine(): Engine {
    if (!this.#engine || this.#engineEpoch !== this.#rt.epoch) {
      this.#engine = this.#rt.track(new this.#glue.Engine());
      this.#engineEpoch = this.#rt.epoch;
    }
    return this.#engine;
  }

  /** Worker threads behind {@link Hla.run} (1 = none: everything runs on the calling thread). */
  get threads(): number {
    return this.#pool?.size ?? 1;
  }

  /**
   * How {@link Hla.run} reaches its workers: 'shared' (inputs and outputs in SharedArrayBuffers,
   * read and written in place: Node, and browsers when `crossOriginIsolated`), 'copy' (each
   * worker gets a copy of its part: other browsers), or null without a pool.
   */
  get transport(): Transport | null {
    return this.#pool?.transport ?? null;
  }

  /**
   * A zero-filled tensor of `shape`, in a SharedArrayBuffer where the runtime has one (else a
   * plain Float32Array): build inputs of {@link Hla.run} in it and the pool reads them in place,
   * without the copy a plain Float32Array costs on the calling thread.
   */
  tensor(shape: number[]): Tensor {
    if (!Array.isArray(shape)) throw new TypeError(`shape: expected an array of integers, got ${String(shape)}`);
    let n = 1;
    shape.forEach((d, i) => {
      if (!Number.isInteger(d) || d < 0) throw new RangeError(`shape[${i}]: expected an integer ≥ 0, got ${String(d)}`);
      n *= d;
    });
    if (!(n <= 2 ** 30)) throw new RangeError(`shape: expected at most 2^30 elements (4 GiB), got ${n}`);
    const data = typeof SharedArrayBuffer === 'function' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false
      ? sharedFloats(n)
      : new Float32Array(n);
    return { data, shape: [...shape] };
  }

  /**
   * Any operator over the worker pool of `init({ threads })` (ts/plan.ts): by (sequence, head)
   * groups, in tasks that go to whichever worker is free (every operator: each input cut by its
   * kind, ts/inputs.ts),
   * or, for one sequence with fewer heads than workers, along T where the cost model predicts a
   * gain (la1, hla2, ahla, hla3, gla, deltaRule, which have segment summaries: docs/math.md §f,
   * §g). The same results as the synchronous call (bit-identical by groups, within float32
   * rounding along T), which it falls back to when there is no pool or nothing to split.
   */
  async run(op: OpName, q: Tensor, k: Tensor, v: Tensor, options?: ForwardOptions): Promise<ForwardResult>;
  /** gla and deltaRule over the pool, by (sequence, head) groups or along T (as above). */
  async run(op: 'gla', q: Tensor, k: Tensor, v: Tensor, options: GlaOptions): Promise<ForwardResult>;
  async run(op: 'deltaRule', q: Tensor, k: Tensor, v: Tensor, options: DeltaRuleOptions): Promise<ForwardResult>;
  /** sse over the pool, by (sequence, head) groups: `hla.run('sse', inputs, options)`. */
  async run(op: 'sse', inputs: SseInputs, options: SseOptions): Promise<ForwardResult>;
  /** rla over the pool, by (sequence, head) groups. */
  async run(op: 'rla', q: Tensor, k: Tensor, v: Tensor, options: RlaOptions): Promise<ForwardResult>;
  async run(op: OperatorName, ...args: unknown[]): Promise<ForwardResult> {
    const call = checkCall(op, args);
    if (!this.#pool || !plan(call, this.#pool.size)) return this.#here(op, call);
    const profile: CallProfile = { prepare: 0, run: 0, finish: 0 };
    const { o, state } = await forwardOnPool(this.#pool, call, profile);
    this._lastRunProfile = { ...profile, workers: this.#pool.profile };
    const result: ForwardResult = { o: { data: o, shape: [call.B, call.T, call.HV, call.dv] } };
    if (call.outputFinalState && state) result.finalState = finalState(op, call, state);
    return result;
  }

  /** @internal For the benchmark (bench/threads.ts): where the last pooled {@link Hla.run} spent its time. */
  _lastRunProfile: (CallProfile & { workers: WorkerProfile[] }) | null = null;

  /** Ends the worker pool (if any). The synchronous operators and sessions keep working. */
  close(): void {
    this.#pool?.close();
    this.#pool = null;
  }

  /** First-order linear attention: o_t = Σ_{j≤t} γ^{t−j} (q_t·k_j) v_j. */
  la1(q: Tensor, k: Tensor, v: Tensor, options?: ForwardOptions): ForwardResult {
    return this.#forward('la1', [q, k, v, options]);
  }

  /** Second-order HLA: o_t = Σ_{j≤t} Σ_{i≤j} γ^{t−i} (q_t·k_i)(q_j·k_i) v_j (+ ridge). */
  hla2(q: Tensor, k: Tensor, v: Tensor, options?: ForwardOptions): ForwardResult {
    return this.#forward('hla2', [q, k, v, options]);
  }

  /** Asymmetric second-order HLA: o_t = Σ_{i≤t} Σ_{j≤i} γ^{t−j} (q_t·k_i)(q_i·k_j) v_j. */
  ahla(q: Tensor, k: Tensor, v: Tensor, options?: ForwardOptions): ForwardResult {
    return this.#forward('ahla', [q, k, v, options]);
  }

  /** Third-order HLA (strictly causal (W Wᵀ W) V with chain decay). */
  hla3(q: Tensor, k: Tensor, v: Tensor, options?: ForwardOptions): ForwardResult {
    return this.#forward('hla3', [q, k, v, options]);
  }

  /**
   * Gated linear attention with per-key-feature decay (FLA's `chunk_gla`):
   * S_t = diag(exp(gk_t)) S_{t−1} + k_t v_tᵀ, o_t = S_tᵀ (scale·q_t). `gk` `[B, T, H, dk]` ≤ 0.
   */
  gla(q: Tensor, k: Tensor, v: Tensor, options: GlaOptions): ForwardResult {
    return this.#forward('gla', [q, k, v, options]);
  }

  /**
   * The (gated) delta rule (FLA's `chunk_gated_delta_rule`): S' = exp(g_t) S_{t−1},
   * δ = beta_t (v_t − S'ᵀk_t), S_t = S' + k_t δᵀ, o_t = S_tᵀ (scale·q_t). `beta` `[B, T, HV]`
   * required; `g` `[B, T, HV]` ≤ 0 optional; `qkL2norm` normalises q and k first.
   */
  deltaRule(q: Tensor, k: Tensor, v: Tensor, options: DeltaRuleOptions): ForwardResult {
    return this.#forward('deltaRule', [q, k, v, options]);
  }

  /**
   * Sparse state expansion (docs/math.md §h): N + 1 states of `base` per head; partition 0
   * sees every token through (q1, k1), each token is routed by softmax(router) to its top-k of
   * the N others, seen through (q2, k2) weighted by its probability (weightQuery, weightKey);
   * unselected partitions are untouched. `inputs`: q1, k1, q2, k2 `[B, T, H, dk]`, v
   * `[B, T, HV, dv]`, router `[B, T, N]`, and gk1, gk2 (base 'gla') or beta1, beta2 (+ g1, g2)
   * (base 'deltaRule').
   */
  sse(inputs: SseInputs, options: SseOptions): ForwardResult {
    return this.#forward('sse', [inputs, options]);
  }

  /**
   * Residual linear attention (docs/math.md §i): RLA (base 'la') and RDN (base 'deltaRule').
   * A second state R learns the clipped residual r_t = clamp(v_t − P_tᵀk_t, ±clip) at rate
   * `correction`; o_t = exp(g_t) S_{t−1}ᵀq_t + correction_t R_tᵀq_t. `correction` `[B, T, HV]`
   * required; `g`, `beta` optional.
   */
  rla(q: Tensor, k: Tensor, v: Tensor, options: RlaOptions): ForwardResult {
    return this.#forward('rla', [q, k, v, options]);
  }

  /** Any operator on this thread: its arguments as the public method takes them. */
  #forward(op: OperatorName, args: readonly unknown[]): ForwardResult {
    return this.#here(op, checkCall(op, args));
  }

  /** A checked call on this thread: its inputs are the views its check read once. */
  #here(op: OperatorName, c: PoolCall): ForwardResult {
    const state = c.initial ? c.initial.slice() : new Float32Array(stateFloats(op, c.nSeq, c.H, c.HV, c.dk, c.dv, ridgeOf(c), c.width));
    const o = new Float32Array(c.B * c.T * c.HV * c.dv);
    this.guard(() =>
      withSpec(this.#glue, c.spec, c, (config) => {
        const engine = this.#currentEngine();
        c.inputs.forEach((x, i) => engine.setInput(i, x));
        engine.forward(config, c.chunkSize, o, state, c.cuSeqlens);
      }),
    );
    const result: ForwardResult = { o: { data: o, shape: [c.B, c.T, c.HV, c.dv] } };
    if (c.outputFinalState) result.finalState = finalState(op, c, state);
    return result;
  }

  /**
   * A streaming session for `op`: `step`/`stepInPlace` token by token, `prefill` many tokens,
   * `snapshot` to bytes. Call `free()` when done (or `using s = hla.session(…)`).
   */
  session(op: OpName, options: SessionOptions): Session;
  /** A gla / deltaRule session: `inputs` holds q, k, v and the gates (gk / beta, g). */
  session(op: GatedOpName, options: GatedSessionOptions): GatedSession;
  /**
   * An sse or rla session: `inputs` holds one view per per-token tensor, named as in `hla.sse` /
   * `hla.rla` (q1, k1, q2, k2, v, router, gk1, gk2 | g1, g2, beta1, beta2; q, k, v, g, beta,
   * correction); sse takes `partitions` (N), `topK`, `base`, `weightQuery`, `weightKey`, rla
   * `base`, `clip`, `residual`; both `qkL2norm`, `scale`.
   */
  session(op: 'sse' | 'rla', options: SecondSessionOptions): SecondSession;
  session(op: OperatorName, options: SessionOptions | GatedSessionOptions | SecondSessionOptions): AnySession {
    return openSession(this.#host(), op, options);
  }

  /**
   * A session from `session.snapshot()` bytes (from any instance, runtime or package version
   * that reads its format version: 1 for la1 … deltaRule, 2 for sse and rla; README "Snapshot
   * format"). `expect.op` rejects a snapshot of another operator.
   */
  restore(bytes: Uint8Array, expect?: { op?: OpName }): Session;
  /** A gla / deltaRule session from its snapshot. */
  restore(bytes: Uint8Array, expect: { op: GatedOpName }): GatedSession;
  /** An sse / rla session from its snapshot (format version 2). */
  restore(bytes: Uint8Array, expect: { op: 'sse' | 'rla' }): SecondSession;
  restore(bytes: Uint8Array, expect?: { op?: OpName | GatedOpName | 'sse' | 'rla' }): Session | GatedSession | SecondSession;
  restore(bytes: Uint8Array, expect?: { op?: OpName | GatedOpName | 'sse' | 'rla' }): Session | GatedSession | SecondSession {
    if (expect !== undefined && (typeof expect !== 'object' || expect === null)) throw typeError('expect', "an object { op } (e.g. { op: 'la1' })", expect);
    if (expect !== undefined) checkKnown(expect, new Set(['op']), 'expect');
    const e = expect?.op;
    const op = e === undefined ? undefined : checkOperator(e, 'expect.op');
    return restoreSession(this.#host(), bytes, op);
  }

  #host() {
    return { runtime: this.#rt, guard: <T>(f: () => T) => this.guard(f) };
  }

  /** Current size of the wasm linear memory in bytes (a diagnostic: it must not creep). */
  get memoryBytes(): number {
    return this.#rt.memory.buffer.byteLength;
  }

  /** Bytes of streaming state per (sequence, query-key head with its HV/H value heads). */
  stateBytes(op: OpName, dims: { heads?: number; valueHeads?: number; dk: number; dv: number; ridge?: boolean }): number {
    checkOp(op);
    if (typeof dims !== 'object' || dims === null) throw typeError('dims', 'an object { heads, valueHeads, dk, dv, ridge }', dims);
    checkKnown(dims, new Set(['heads', 'valueHeads', 'dk', 'dv', 'ridge']), 'dims');
    const int = (name: string, x: unknown) => positiveInteger(`dims.${name}`, x);
    const h = dims.heads === undefined ? 1 : int('heads', dims.heads);
    const hv = dims.valueHeads === undefined ? h : int('valueHeads', dims.valueHeads);
    if (hv % h !== 0) throw new RangeError(`dims.valueHeads: expected a multiple of heads = ${h}, got ${hv}`);
    const dk = int('dk', dims.dk), dv = int('dv', dims.dv);
    if (dims.ridge !== undefined && typeof dims.ridge !== 'boolean') throw typeError('dims.ridge', 'a boolean', dims.ridge);
    if (dims.ridge && op !== 'hla2') throw new RangeError(`dims.ridge: expected false or absent (${op} has no ridge term; only hla2 does), got true`);
    const n = stateFloats(op, 1, h, hv, dk, dv, dims.ridge ?? false);
    checkSizes({ buffers: [['dims', `a ${op} state`, n]], total: n });
    return (4 * n) / h;
  }

  /**
   * @internal Runs a wasm call. A trap (a Rust panic, or running out of wasm memory) poisons
   * the instance (panic = "abort" unwinds nothing), so it is replaced by a fresh one
   * (ts/runtime.ts) and the trap becomes a readable Error saying what was lost.
   */
  guard<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      const why = trapReason(this.#glue, e, this.#rt.memory);
      if (why === null) throw e;
      this.#rt.reset();
      throw new Error(`hla-wasm internal error in the ${this.backend} kernel: ${why}. This call returned nothing. The wasm instance was replaced by a fresh one: sessions of the ${this.backend} flavour created before now lost their state and throw when used; new calls and sessions work.`);
    }
  }

  /**
   * @internal For the benchmark (bench/): this flavour's arithmetic peak on this thread, in
   * GFLOP/s, from the multiply-add probe (hla-core `peak.rs`); the best of calls over ~`ms`.
   * A testing build only (the shipped .wasm has no probe).
   */
  _fmaPeakGflops(ms = 200): number {
    const [fmaProbe, fmaProbeFlops] = [hook(this.#glue, 'fmaProbe'), hook(this.#glue, 'fmaProbeFlops')];
    let iters = 1 << 14, best = 0;
    const end = performance.now() + ms;
    do {
      const t0 = performance.now();
      fmaProbe(iters);
      const s = (performance.now() - t0) / 1e3;
      if (s < 5e-3) iters *= 2; // too short for the timer: lengthen the call
      else best = Math.max(best, fmaProbeFlops(iters) / s / 1e9);
    } while (performance.now() < end || best === 0);
    return best;
  }

  /** @internal For the tests of the pool's fault handling only: worker `w` throws or exits. */
  _crashWorkerForTests(w: number, how: 'throw' | 'exit'): void {
    this.#pool?._crashForTests(w, how);
  }

  /** @internal For the test of the pool's scheduling only: worker `w` is busy for `ms` first. */
  _stallWorkerForTests(w: number, ms: number): void {
    this.#pool?._stallForTests(w, ms);
  }

  /** @internal For the test of panic reporting only (a testing build). */
  _panicForTests(): void {
    const panic = hook(this.#currentEngine(), 'panicForTests');
    this.guard(() => panic());
  }
}

/** Whether a call's state carries hla2's ridge moments. */
function ridgeOf(c: PoolCall): boolean {
  return c.spec.family === 'hla' && c.spec.ridge !== 0;
}

/** The `finalState` of a call of `op`. */
function finalState(op: OperatorName, c: PoolCall, state: Float32Array): HlaState {
  return new HlaState(op, c.nSeq, c.H, c.HV, c.dk, c.dv, ridgeOf(c), state);
}
