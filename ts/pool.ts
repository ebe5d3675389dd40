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
import type { Crash, Job, Reply, Scalars, SettleJob, Start, Started, SummaryJob } from './protocol.js';

/** One worker as the pool sees it, whatever the runtime. */
interface Endpoint {
  post(msg: unknown, transfer?: Transferable[]): void;
  /** Node: keep the process alive only while a job is in flight. */
  busy(on: boolean): void;
  terminate(): void;
}

/** What a worker reports: a reply to a job, its start, or its death (error, exit, bad message). */
interface Listener {
  message(m: Reply | Started): void;
  fail(why: string): void;
}

declare const __HLA_NODE__: boolean;
const isNode = typeof process !== 'undefined' && process.versions?.node != null;
type NodeWorker = typeof import('node:worker_threads').Worker;
let NodeWorkerCtor: NodeWorker | null = null;

/** Loads what {@link spawn} needs, so that it can start a worker synchronously (a replacement too). */
async function prepareSpawn(): Promise<void> {
  if (__HLA_NODE__ && isNode) NodeWorkerCtor ??= (await import('node:worker_threads')).Worker;
}

/**
 * Starts one worker and wires every way it can end to `on.fail`: without an `error` listener,
 * an uncaught exception in a Node worker (or a missing worker.mjs) would crash the host.
 */
function spawn(on: Listener): Endpoint {
  if (__HLA_NODE__ && isNode) {
    const w = new NodeWorkerCtor!(new URL('./worker.mjs', import.meta.url));
    w.unref();
    w.on('message', (m) => on.message(m));
    w.on('error', (e: Error) => on.fail(e?.message ?? String(e)));
    w.on('messageerror', (e: Error) => on.fail(`a message could not be read (${e?.message ?? e})`));
    w.on('exit', (code: number) => on.fail(`it exited with code ${code}`));
    return {
      post: (m, t) => w.postMessage(m, t as never),
      busy: (b) => (b ? w.ref() : w.unref()),
      terminate: () => void w.terminate(),
    };
  }
  const w = new Worker(new URL('./worker.browser.mjs', import.meta.url), { type: 'module' });
  w.onmessage = (e: MessageEvent) => on.message(e.data);
  w.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    on.fail(e.message || 'its script failed to load or threw');
  };
  w.onmessageerror = () => on.fail('a message could not be read');
  return {
    post: (m, t) => w.postMessage(m, t ?? []),
    busy: () => {},
    terminate: () => w.terminate(),
  };
}

interface PendingJob {
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
}

/**
 * One place in the pool: its current worker, the jobs in flight on it, and what to do when the
 * worker dies (reject those jobs, start a replacement). A worker that fails before it has
 * started is not replaced again: the slot stays dead and rejects new jobs with the reason.
 */
class Slot {
  endpoint: Endpoint | null = null;
  pending = new Map<number, PendingJob>();
  dead: string | null = null;
  #generation = 0;

  constructor(readonly index: number, readonly backend: Backend) {}

  /** Starts (or restarts) this slot's worker; resolves once it has loaded its wasm instance. */
  start(): Promise<void> {
    const generation = ++this.#generation;
    let started = false;
    const current = () => generation === this.#generation;
    return new Promise<void>((resolve, reject) => {
      try {
        this.endpoint = spawn({
          message: (m) => {
            if (!current()) return;
            if ('started' in m) {
              if (m.started !== true) return this.#fail(`its wasm instance did not load: ${m.started}`, started, reject);
              started = true;
              if (this.pending.size === 0) this.endpoint?.busy(false);
              return resolve();
            }
            const p = this.pending.get(m.id);
            if (!p) return;
            this.pending.delete(m.id);
            if (this.pending.size === 0) this.endpoint?.busy(false);
            p.resolve(m);
          },
          fail: (why) => void (current() && this.#fail(why, started, reject)),
        });
      } catch (e) {
        return this.#fail((e as Error).message, false, reject);
      }
      this.endpoint.busy(true); // until it has started: a failing start must still be reported
      // Jobs posted from now on queue behind this in the worker, which loads its instance first.
      this.endpoint.post({ backend: this.backend } satisfies Start);
    });
  }

  #fail(why: string, started: boolean, reject: (e: Error) => void): void {
    this.#generation++; // later events of this worker are ignored
    this.endpoint?.terminate();
    this.endpoint = null;
    const error = new Error(`hla-wasm: pool worker ${this.index} failed (${why}); the runs it had were rejected${started ? ' and it is being replaced' : ''}`);
    this.#rejectAll(error);
    if (!started) {
      this.dead = why;
      reject(new Error(`hla-wasm: pool worker ${this.index} could not start: ${why}`));
      return;
    }
    this.start().catch(() => {}); // a replacement that cannot start marks the slot dead
  }

  #rejectAll(e: Error): void {
    const jobs = [...this.pending.values()];
    this.pending.clear();
    for (const j of jobs) j.reject(e);
  }

  send(id: number, msg: unknown, transfer: Transferable[]): Promise<Reply> {
    if (this.dead !== null) return Promise.reject(new Error(`hla-wasm: pool worker ${this.index} could not be replaced: ${this.dead}`));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.endpoint!.busy(true);
      this.endpoint!.post(msg, transfer);
    });
  }

  close(why: Error): void {
    this.#generation++;
    this.endpoint?.terminate();
    this.endpoint = null;
    this.dead = why.message;
    this.#rejectAll(why);
  }
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
  #slots: Slot[];
  #next = 0;

  private constructor(slots: Slot[]) {
    this.#slots = slots;
  }

  /** Starts `threads` workers; rejects (ending those that started) if any cannot start. */
  static async start(threads: number, backend: Backend): Promise<Pool> {
    await prepareSpawn();
    const slots = Array.from({ length: threads }, (_, i) => new Slot(i, backend));
    const started = await Promise.allSettled(slots.map((s) => s.start()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      for (const s of slots) s.close(new Error('hla-wasm: init({ threads }) failed'));
      throw new Error(`${(failed.reason as Error).message} (init({ threads: ${threads} }))`);
    }
    return new Pool(slots);
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Posts a job; its Float32Array fields (not nested ones) are transferred, not copied. */
  #send(w: number, job: Omit<Job, 'id'> | Omit<SummaryJob, 'id'> | Omit<SettleJob, 'id'>): Promise<Reply> {
    const id = this.#next++;
    const transfer = Object.values(job).filter((x): x is Float32Array => x instanceof Float32Array).map((x) => x.buffer);
    const slot = this.#slots[w];
    if (!slot) return Promise.reject(closed());
    return slot.send(id, { ...job, id }, transfer);
  }

  /** @internal Tests only: makes worker `w` throw an uncaught exception or exit. */
  _crashForTests(w: number, how: 'throw' | 'exit'): void {
    this.#slots[w].endpoint?.post({ crash: how } satisfies Crash);
  }

  /** Whether {@link Pool.forward} spreads this call over more than one worker. */
  accepts(op: OpName, c: Checked): boolean {
    return c.H >= 2 || planSegments(op, c, this.#slots.length) !== null;
  }

  /** One checked call split over the workers; same results as one thread (within rounding). */
  async forward(op: OpName, c: Checked, q: Float32Array, k: Float32Array, v: Float32Array): Promise<{ o: Float32Array; state: Float32Array | null }> {
    const plan = planSegments(op, c, this.#slots.length);
    if (!plan) return this.#byHeads(op, c, q, k, v);
    return plan.deferred ? this.#deferred(op, c, plan.bounds, q, k, v) : this.#bySegments(op, c, plan.bounds, q, k, v);
  }

  async #byHeads(op: OpName, c: Checked, q: Float32Array, k: Float32Array, v: Float32Array): Promise<{ o: Float32Array; state: Float32Array | null }> {
    const g = c.HV / c.H;
    const rows = c.B * c.T;
    const ranges = splitHeads(c.H, this.#slots.length);
    const group = c.initial ? c.initial.length / (c.nSeq * c.H) : 0;
    const replies = await Promise.all(ranges.map(([h0, h1], i) => {
      const decay = c.decay.length === 1 ? c.decay : c.decay.slice(h0, h1);
      return this.#send(i, {
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
      this.#send(w, {
        ...segment(w), options, sequences: 1, scalars, summaries,
        state: c.initial ? c.initial.slice() : null,
      });
    const summaries = Array.from({ length: W - 1 }, (_, w) =>
      this.#send(w + 1, { ...segment(w), kind: 'summary', scalars, chunkSize: SUMMARY_CHUNK[op] })
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
      return this.#send(w, {
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
      const settled = await this.#send(w, {
        kind: 'settle', op, q: sliceTokens(q, wq, bounds[w], bounds[w + 1]), o: r.o, ...shapes(w),
        carry: carry!, state: r.state!, scalars,
      });
      if (!('o' in settled)) throw failure(settled);
      o.set(settled.o, bounds[w] * wv);
      carry = settled.state;
    }
    return { o, state: carry };
  }

  /** Ends the workers; every run still pending rejects. */
  close(): void {
    for (const s of this.#slots) s.close(closed());
    this.#slots = [];
  }
}

function closed(): Error {
  return new Error('hla-wasm: the worker pool was closed (hla.close()) while this run was pending');
}

/** A worker's error reply as the Error the synchronous call would have thrown. */
function failure(r: Reply): Error {
  if (!('error' in r)) return new Error('hla-wasm: unexpected worker reply');
  const E = r.name === 'RangeError' ? RangeError : r.name === 'TypeError' ? TypeError : Error;
  return new E(r.error);
}
