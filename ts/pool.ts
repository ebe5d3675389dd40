// The worker pool behind `init({ threads })`: n workers, each with its own wasm instance of the
// same backend. A call is split over query-key heads (with their value heads): every worker
// gets a compact copy of its heads, and the results are scattered back. When there are fewer
// (sequence × head) groups than workers and one sequence is long, it is split along T instead
// (ts/sequence.ts). Copies, not shared memory, so it works in any browser without
// cross-origin isolation.
import { gatherHeads, scatterHeads, splitHeads } from './heads.js';
import { KEY_CHUNK, planSegments, sliceTokens, SUMMARY_CHUNK } from './sequence.js';
import type { Backend, OpName } from './types.js';
import type { Checked } from './validate.js';
import type { Job, Reply, Scalars, SettleJob, SummaryJob } from './worker.js';

interface PoolWorker {
  post(msg: unknown, transfer?: Transferable[]): void;
  onReply(cb: (r: Reply) => void): void;
  /** Node: keep the process alive only while a job is in flight. */
  busy(on: boolean): void;
  terminate(): void;
}

declare const __HLA_NODE__: boolean;
const isNode = typeof process !== 'undefined' && process.versions?.node != null;

async function spawn(): Promise<PoolWorker> {
  if (__HLA_NODE__ && isNode) {
    const { Worker } = await import('node:worker_threads');
    const w = new Worker(new URL('./worker.mjs', import.meta.url));
    w.unref();
    return {
      post: (m, t) => w.postMessage(m, t as never),
      onReply: (cb) => w.on('message', cb),
      busy: (on) => (on ? w.ref() : w.unref()),
      terminate: () => void w.terminate(),
    };
  }
  const w = new Worker(new URL('./worker.browser.mjs', import.meta.url), { type: 'module' });
  return {
    post: (m, t) => w.postMessage(m, t ?? []),
    onReply: (cb) => (w.onmessage = (e: MessageEvent) => cb(e.data)),
    busy: () => {},
    terminate: () => w.terminate(),
  };
}

/** A checked call's options for the segment jobs: as scalars (summaries) and as operator options. */
function segmentOptions(c: Checked): { scalars: Scalars; options: Record<string, unknown> } {
  return {
    scalars: { scale: c.scale, decay: c.decay, normalize: c.normalize, eps: c.eps, ridge: c.ridge },
    options: {
      scale: c.scale, decay: Array.from(c.decay), normalize: c.normalize, eps: c.eps, ridge: c.ridge,
      ...(c.chunkSize ? { mode: 'chunk', chunkSize: c.chunkSize } : { mode: 'recurrent' }),
    },
  };
}

export class Pool {
  #workers: PoolWorker[];
  #pending = new Map<number, { resolve: (r: Reply) => void; worker: PoolWorker }>();
  #next = 0;

  private constructor(workers: PoolWorker[]) {
    this.#workers = workers;
    for (const w of workers) {
      w.onReply((r) => {
        const p = this.#pending.get(r.id);
        if (!p) return;
        this.#pending.delete(r.id);
        p.worker.busy(false);
        p.resolve(r);
      });
    }
  }

  static async start(threads: number, backend: Backend): Promise<Pool> {
    const workers = await Promise.all(Array.from({ length: threads }, spawn));
    for (const w of workers) w.post({ backend });
    return new Pool(workers);
  }

  get size(): number {
    return this.#workers.length;
  }

  /** Posts a job; its Float32Array fields (not nested ones) are transferred, not copied. */
  #send(w: PoolWorker, job: Omit<Job, 'id'> | Omit<SummaryJob, 'id'> | Omit<SettleJob, 'id'>): Promise<Reply> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, { resolve, worker: w });
      w.busy(true);
      const transfer = Object.values(job).filter((x): x is Float32Array => x instanceof Float32Array).map((x) => x.buffer);
      w.post({ ...job, id }, transfer);
    });
  }

  /** Whether {@link Pool.forward} spreads this call over more than one worker. */
  accepts(op: OpName, c: Checked): boolean {
    return c.H >= 2 || planSegments(op, c, this.#workers.length) !== null;
  }

  /** One checked call split over the workers; same results as one thread (within rounding). */
  async forward(op: OpName, c: Checked, q: Float32Array, k: Float32Array, v: Float32Array): Promise<{ o: Float32Array; state: Float32Array | null }> {
    const plan = planSegments(op, c, this.#workers.length);
    if (!plan) return this.#byHeads(op, c, q, k, v);
    return plan.deferred ? this.#deferred(op, c, plan.bounds, q, k, v) : this.#bySegments(op, c, plan.bounds, q, k, v);
  }

  async #byHeads(op: OpName, c: Checked, q: Float32Array, k: Float32Array, v: Float32Array): Promise<{ o: Float32Array; state: Float32Array | null }> {
    const g = c.HV / c.H;
    const rows = c.B * c.T;
    const ranges = splitHeads(c.H, this.#workers.length);
    const group = c.initial ? c.initial.length / (c.nSeq * c.H) : 0;
    const replies = await Promise.all(ranges.map(([h0, h1], i) => {
      const decay = c.decay.length === 1 ? c.decay : c.decay.slice(h0, h1);
      return this.#send(this.#workers[i], {
        op,
        q: gatherHeads(q, rows, c.H, c.dk, h0, h1),
        k: gatherHeads(k, rows, c.H, c.dk, h0, h1),
        v: gatherHeads(v, rows, c.HV, c.dv, h0 * g, h1 * g),
        qShape: [c.B, c.T, h1 - h0, c.dk],
        vShape: [c.B, c.T, (h1 - h0) * g, c.dv],
        options: {
          scale: c.scale, decay: Array.from(decay), normalize: c.normalize, eps: c.eps, ridge: c.ridge,
          ...(c.chunkSize ? { mode: 'chunk', chunkSize: c.chunkSize } : { mode: 'recurrent' }),
          ...(c.cuSeqlens.length ? { cuSeqlens: c.cuSeqlens } : {}),
        },
        state: c.initial ? gatherHeads(c.initial, c.nSeq, c.H, group, h0, h1) : null,
        sequences: c.nSeq,
      });
    }));
    const o = new Float32Array(rows * c.HV * c.dv);
    let state: Float32Array | null = null;
    replies.forEach((r, i) => {
      if (!('o' in r)) throw failure(r);
      const [h0, h1] = ranges[i];
      scatterHeads(o, r.o, rows, c.HV, c.dv, h0 * g, h1 * g);
      if (r.state) {
        const grp = r.state.length / (c.nSeq * (h1 - h0));
        state ??= new Float32Array(c.nSeq * c.H * grp);
        scatterHeads(state, r.state, c.nSeq, c.H, grp, h0, h1);
      }
    });
    return { o, state };
  }

  /**
   * One sequence split along T at `bounds` (ts/sequence.ts): worker 0 runs segment 0 at once;
   * worker w summarises segment w − 1, then runs segment w from initial ⊕ summaries 0..w−1.
   */
  async #bySegments(op: OpName, c: Checked, bounds: number[], q: Float32Array, k: Float32Array, v: Float32Array): Promise<{ o: Float32Array; state: Float32Array | null }> {
    const W = bounds.length - 1;
    const wq = c.H * c.dk, wv = c.HV * c.dv;
    const { scalars, options } = segmentOptions(c);
    const segment = (w: number) => {
      const [t0, t1] = [bounds[w], bounds[w + 1]];
      return {
        op, q: sliceTokens(q, wq, t0, t1), k: sliceTokens(k, wq, t0, t1), v: sliceTokens(v, wv, t0, t1),
        qShape: [1, t1 - t0, c.H, c.dk], vShape: [1, t1 - t0, c.HV, c.dv],
      };
    };
    const forwardOf = (w: number, summaries: Float32Array[]) =>
      this.#send(this.#workers[w], {
        ...segment(w), options, sequences: 1, scalars, summaries,
        state: c.initial ? c.initial.slice() : null,
      });
    const summaries = Array.from({ length: W - 1 }, (_, w) =>
      this.#send(this.#workers[w + 1], { ...segment(w), kind: 'summary', scalars, chunkSize: SUMMARY_CHUNK[op] })
        .then((r) => {
          if (!('summary' in r)) throw failure(r);
          return r.summary;
        }));
    // Each forward waits only for the summaries before it; a failed summary fails the call.
    const forwards = Array.from({ length: W }, (_, w) =>
      Promise.all(summaries.slice(0, w)).then((s) => forwardOf(w, s)));
    const replies = await Promise.all(forwards);
    const o = new Float32Array(c.T * wv);
    let state: Float32Array | null = null;
    replies.forEach((r, w) => {
      if (!('o' in r)) throw failure(r);
      o.set(r.o, bounds[w] * wv);
      state = r.state;
    });
    return { o, state };
  }

  /**
   * hla2 without normalize, split at `bounds` with deferred value moments (docs/math.md f):
   * worker 0 runs segment 0 at once; worker w summarises the keys before its segment and runs
   * it from (true S, zero value moments); then each segment is settled with the previous one's
   * end state, in order.
   */
  async #deferred(op: OpName, c: Checked, bounds: number[], q: Float32Array, k: Float32Array, v: Float32Array): Promise<{ o: Float32Array; state: Float32Array | null }> {
    const W = bounds.length - 1;
    const wq = c.H * c.dk, wv = c.HV * c.dv;
    const { scalars, options } = segmentOptions(c);
    const shapes = (w: number) => {
      const n = bounds[w + 1] - bounds[w];
      return { qShape: [1, n, c.H, c.dk], vShape: [1, n, c.HV, c.dv] };
    };
    const replies = await Promise.all(Array.from({ length: W }, (_, w) => {
      const [t0, t1] = [bounds[w], bounds[w + 1]];
      return this.#send(this.#workers[w], {
        op, q: sliceTokens(q, wq, t0, t1), k: sliceTokens(k, wq, t0, t1), v: sliceTokens(v, wv, t0, t1), ...shapes(w),
        options, sequences: 1, scalars, state: c.initial ? c.initial.slice() : null,
        ...(w > 0 ? { keysBefore: { k: sliceTokens(k, wq, 0, t0), t: t0, chunkSize: KEY_CHUNK } } : {}),
      });
    }));
    const o = new Float32Array(c.T * wv);
    let carry: Float32Array | null = null;
    for (const [w, r] of replies.entries()) {
      if (!('o' in r)) throw failure(r);
      if (w === 0) {
        o.set(r.o, 0);
        carry = r.state!;
        continue;
      }
      const settled = await this.#send(this.#workers[w], {
        kind: 'settle', op, q: sliceTokens(q, wq, bounds[w], bounds[w + 1]), o: r.o, ...shapes(w),
        carry: carry!, state: r.state!, scalars,
      });
      if (!('o' in settled)) throw failure(settled);
      o.set(settled.o, bounds[w] * wv);
      carry = settled.state;
    }
    return { o, state: carry };
  }

  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }
}

/** A worker's error reply as the Error the synchronous call would have thrown. */
function failure(r: Reply): Error {
  if (!('error' in r)) return new Error('hla-wasm: unexpected worker reply');
  const E = r.name === 'RangeError' ? RangeError : r.name === 'TypeError' ? TypeError : Error;
  return new E(r.error);
}
