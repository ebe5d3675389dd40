import { BACKENDS, type Glue, type Loaded } from './loader.js';
import type { Pool } from './pool.js';
import { restoreSession, Session, type SessionOptions } from './session.js';
import { HlaState } from './state.js';
import { OP_CODES, type Backend, type OpName, type Tensor } from './types.js';
import { checkForward, type ForwardOptions } from './validate.js';

/** What every operator returns. */
export interface ForwardResult {
  /** `[B, T, HV, dv]` */
  o: Tensor;
  /** Present when `outputFinalState` was set. */
  finalState?: HlaState;
}

type Engine = InstanceType<Glue['Engine']>;

/** An initialised hla-wasm instance: the operators, sessions and their backend. */
export class Hla {
  /** The SIMD flavour in use: 'relaxed', 'simd128' or 'scalar'. */
  readonly backend: Backend;
  #glue: Glue;
  #memory: WebAssembly.Memory;
  #engine: Engine;
  #pool: Pool | null;

  /** @internal Use `init()`. */
  constructor({ glue, memory }: Loaded, pool: Pool | null = null) {
    this.#glue = glue;
    this.#memory = memory;
    this.#pool = pool;
    this.backend = glue.backend() as Backend;
    if (!BACKENDS.includes(this.backend)) throw new Error(`hla-wasm: unknown backend ${this.backend}`);
    this.#engine = new glue.Engine();
  }

  /** Worker threads behind {@link Hla.run} (1 = none: everything runs on the calling thread). */
  get threads(): number {
    return this.#pool?.size ?? 1;
  }

  /**
   * Any operator over the worker pool of `init({ threads })`: split by query-key heads (with
   * their value heads) when there are enough (sequence × head) groups, otherwise one long
   * sequence (B = 1, T ≥ 2048) is split along T where the cost model predicts a gain (la1, and
   * hla2 without normalize; docs/math.md §f). The same results as the synchronous call, which it
   * falls back to when there is no pool or nothing to split.
   */
  async run(op: OpName, q: Tensor, k: Tensor, v: Tensor, options?: ForwardOptions): Promise<ForwardResult> {
    if (!(op in OP_CODES)) throw new RangeError(`op: expected one of ${Object.keys(OP_CODES).join(', ')}, got ${String(op)}`);
    const c = checkForward(op, q, k, v, options);
    if (!this.#pool || !this.#pool.accepts(op, c)) return this.#forward(op, q, k, v, options);
    const { o, state } = await this.#pool.forward(op, c, q.data, k.data, v.data);
    const result: ForwardResult = { o: { data: o, shape: [c.B, c.T, c.HV, c.dv] } };
    if (c.outputFinalState && state) result.finalState = new HlaState(op, c.nSeq, c.H, c.HV, c.dk, c.dv, c.ridge !== 0, state);
    return result;
  }

  /** Ends the worker pool (if any). The synchronous operators and sessions keep working. */
  close(): void {
    this.#pool?.close();
    this.#pool = null;
  }

  /** First-order linear attention: o_t = Σ_{j≤t} γ^{t−j} (q_t·k_j) v_j. */
  la1(q: Tensor, k: Tensor, v: Tensor, options?: ForwardOptions): ForwardResult {
    return this.#forward('la1', q, k, v, options);
  }

  /** Second-order HLA: o_t = Σ_{j≤t} Σ_{i≤j} γ^{t−i} (q_t·k_i)(q_j·k_i) v_j (+ ridge). */
  hla2(q: Tensor, k: Tensor, v: Tensor, options?: ForwardOptions): ForwardResult {
    return this.#forward('hla2', q, k, v, options);
  }

  /** Asymmetric second-order HLA: o_t = Σ_{i≤t} Σ_{j≤i} γ^{t−j} (q_t·k_i)(q_i·k_j) v_j. */
  ahla(q: Tensor, k: Tensor, v: Tensor, options?: ForwardOptions): ForwardResult {
    return this.#forward('ahla', q, k, v, options);
  }

  /** Third-order HLA (strictly causal (W Wᵀ W) V with chain decay). */
  hla3(q: Tensor, k: Tensor, v: Tensor, options?: ForwardOptions): ForwardResult {
    return this.#forward('hla3', q, k, v, options);
  }

  /**
   * A streaming session for `op`: `step`/`stepInPlace` token by token, `prefill` many tokens,
   * `snapshot` to bytes. Call `free()` when done (or `using s = hla.session(…)`).
   */
  session(op: OpName, options: SessionOptions): Session {
    return new Session(this.#host(), op, options);
  }

  /**
   * A session from `session.snapshot()` bytes (from any instance, runtime or package version
   * with the same format version). `expect.op` rejects a snapshot of another operator.
   */
  restore(bytes: Uint8Array, expect?: { op?: OpName }): Session {
    return restoreSession(this.#host(), bytes, expect);
  }

  #host() {
    return { glue: this.#glue, memory: this.#memory, guard: <T>(f: () => T) => this.guard(f) };
  }

  /** Current size of the wasm linear memory in bytes (a diagnostic: it must not creep). */
  get memoryBytes(): number {
    return this.#memory.buffer.byteLength;
  }

  /** Bytes of streaming state per (sequence, query-key head with its HV/H value heads). */
  stateBytes(op: OpName, dims: { heads?: number; valueHeads?: number; dk: number; dv: number; ridge?: boolean }): number {
    const h = dims.heads ?? 1;
    return 4 * this.#glue.state_len(OP_CODES[op], 1, h, dims.valueHeads ?? h, dims.dk, dims.dv, dims.ridge ?? false) / h;
  }

  #forward(op: OpName, q: Tensor, k: Tensor, v: Tensor, options?: ForwardOptions): ForwardResult {
    const c = checkForward(op, q, k, v, options);
    const n = this.#glue.state_len(OP_CODES[op], c.nSeq, c.H, c.HV, c.dk, c.dv, c.ridge !== 0);
    const state = c.initial ? c.initial.slice() : new Float32Array(n);
    const o = new Float32Array(c.B * c.T * c.HV * c.dv);
    const dims = new Float64Array([c.B, c.T, c.H, c.HV, c.dk, c.dv]);
    this.guard(() =>
      this.#engine.forward(OP_CODES[op], c.chunkSize, dims, c.scale, c.decay, c.normalize, c.eps, c.ridge,
        q.data, k.data, v.data, o, state, c.cuSeqlens),
    );
    const result: ForwardResult = { o: { data: o, shape: [c.B, c.T, c.HV, c.dv] } };
    if (c.outputFinalState) result.finalState = new HlaState(op, c.nSeq, c.H, c.HV, c.dk, c.dv, c.ridge !== 0, state);
    return result;
  }

  /**
   * @internal Runs a wasm call; a trap (a Rust panic: a bug) becomes a readable Error and the
   * scratch engine is replaced, so the instance keeps working.
   */
  guard<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      let why = '';
      try {
        why = this.#glue.last_panic().replace(/\s+/g, ' ');
      } catch {
        /* the panic message is best effort */
      }
      this.#engine = new this.#glue.Engine();
      throw new Error(`hla-wasm internal error in the ${this.backend} kernel: ${why || e.message}. This is a bug; please report it. The instance was reset and keeps working.`);
    }
  }

  /**
   * @internal For the benchmark (bench/): this flavour's arithmetic peak on this thread, in
   * GFLOP/s, from the multiply-add probe (hla-core `peak.rs`); the best of calls over ~`ms`.
   */
  _fmaPeakGflops(ms = 200): number {
    let iters = 1 << 14, best = 0;
    const end = performance.now() + ms;
    do {
      const t0 = performance.now();
      this.#glue.fma_probe(iters);
      const s = (performance.now() - t0) / 1e3;
      if (s < 5e-3) iters *= 2; // too short for the timer: lengthen the call
      else best = Math.max(best, this.#glue.fma_probe_flops(iters) / s / 1e9);
    } while (performance.now() < end || best === 0);
    return best;
  }

  /** @internal For the test of panic reporting only. */
  _panicForTests(): void {
    this.guard(() => this.#engine.panic_for_tests());
  }
}
