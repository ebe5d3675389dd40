// The worker pool behind `init({ threads })`: n workers, each with its own wasm instance of the
// same flavour, and the transport between them and the calling thread. What each worker does is
// planned in ts/plan.ts. Two transports:
// - shared: the call's tensors live in SharedArrayBuffers (copied there once, unless the caller
//   built them there with `hla.tensor`) and every worker reads its window and writes its outputs
//   in place; messages carry only views and window bounds. Node always; browsers when
//   `crossOriginIsolated` (COOP/COEP headers), where SharedArrayBuffer exists.
// - copy: the calling thread gathers each worker's window into a compact copy, transfers it, and
//   scatters the returned outputs. Any browser.
// A worker that throws, exits or cannot read a message is replaced and its pending jobs rejected.
import type { Crash, Job, Reply, Stall, Start, Started } from './protocol.js';
import type { Backend } from './types.js';

/** How jobs reach the workers: see the file comment. */
export type Transport = 'shared' | 'copy';

/**
 * @internal Tests only (the testing bundle, scripts/bundle.mjs): `globalThis[Symbol.for(
 * 'hla-wasm.transport')] = 'copy'` before `init` makes a pool copy where it would share.
 */
const TRANSPORT_KNOB = Symbol.for('hla-wasm.transport');
declare const __HLA_TESTING__: boolean;

/**
 * `n` zeroed floats in shared memory. A shared WebAssembly.Memory is mapped by the page
 * allocator, zero and untouched until written: a SharedArrayBuffer of 0.1–32 MiB comes from
 * malloc, which zeroes it on the calling thread (~10 ms for 16 MiB on the 16-core Xeon).
 */
export function sharedFloats(n: number): Float32Array {
  const pages = Math.max(1, Math.ceil((4 * n) / 65536));
  if (pages <= 65536) {
    try {
      return new Float32Array(new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }).buffer as unknown as SharedArrayBuffer, 0, n);
    } catch {
      /* no shared wasm memory here: a plain SharedArrayBuffer */
    }
  }
  return new Float32Array(new SharedArrayBuffer(4 * n));
}

/** The transport this runtime allows. */
export function transportHere(): Transport {
  const testing = typeof __HLA_TESTING__ !== 'undefined' && __HLA_TESTING__;
  if (testing && (globalThis as Record<symbol, unknown>)[TRANSPORT_KNOB] === 'copy') return 'copy';
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  return typeof SharedArrayBuffer === 'function' && (isNode || isolated === true) ? 'shared' : 'copy';
}

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

/** A job before the pool numbers it. */
export type Unsent = Job extends infer J ? (J extends Job ? Omit<J, 'id'> : never) : never;

/** Per worker, where the last call's time went (ms, summed over its jobs); for the benchmark. */
export interface WorkerProfile {
  jobs: number;
  /** Worker time (ms) per job part: see `Timing` in ts/protocol.ts. */
  io: number;
  compute: number;
  carry: number;
  /** Parts of `io` (forward jobs). */
  touch: number;
  copyIn: number;
  copyOut: number;
  /** From posting each job to its start in the worker, and from its end to its reply here. */
  wait: number;
  back: number;
}

export class Pool {
  readonly transport: Transport;
  #slots: Slot[];
  #next = 0;
  /** @internal Filled by the jobs of the current call (ts/plan.ts resets it). */
  profile: WorkerProfile[] = [];

  private constructor(slots: Slot[], transport: Transport) {
    this.#slots = slots;
    this.transport = transport;
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
    return new Pool(slots, transportHere());
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Shared copies of plain inputs, reused across calls (fresh ones cost a page fault per 4 KiB). */
  #staging: SharedArrayBuffer[] = [];

  /**
   * `x` in shared memory: itself if it is there already, else its copy in a staging buffer
   * (not copied yet with `copy` false: the caller fills it), listed in `taken` until
   * {@link Pool.unshare} gives it back.
   */
  share(x: Float32Array, taken: SharedArrayBuffer[], copy = true): Float32Array {
    if (x.buffer instanceof SharedArrayBuffer) return x;
    let best = -1;
    this.#staging.forEach((b, i) => {
      if (b.byteLength >= x.byteLength && (best < 0 || b.byteLength < this.#staging[best].byteLength)) best = i;
    });
    const buffer = best >= 0 ? this.#staging.splice(best, 1)[0] : (sharedFloats(x.length).buffer as SharedArrayBuffer);
    taken.push(buffer);
    const y = new Float32Array(buffer, 0, x.length);
    if (copy) y.set(x);
    return y;
  }

  /** Gives staging buffers back (the largest few are kept). */
  unshare(taken: SharedArrayBuffer[]): void {
    this.#staging.push(...taken);
    this.#staging.sort((a, b) => b.byteLength - a.byteLength).splice(6);
  }

  /**
   * Posts a job to worker `w`; `transfer` lists the buffers it moves (the copying transport's
   * windows). An error reply rejects as the Error the synchronous call would have thrown.
   */
  async send(w: number, job: Unsent, transfer: ArrayBuffer[] = []): Promise<Reply> {
    const id = this.#next++;
    const slot = this.#slots[w];
    if (!slot) throw closed();
    const posted = performance.timeOrigin + performance.now();
    const r = await slot.send(id, { ...job, id }, transfer);
    const replied = performance.timeOrigin + performance.now();
    if ('error' in r) {
      const E = r.name === 'RangeError' ? RangeError : r.name === 'TypeError' ? TypeError : Error;
      throw new E(r.error);
    }
    if ('skipped' in r) return r;
    const p = (this.profile[w] ??= { jobs: 0, io: 0, compute: 0, carry: 0, touch: 0, copyIn: 0, copyOut: 0, wait: 0, back: 0 });
    p.jobs++;
    p.io += r.ms.io;
    p.touch += r.ms.touch ?? 0;
    p.copyIn += r.ms.copyIn ?? 0;
    p.copyOut += r.ms.copyOut ?? 0;
    p.compute += r.ms.compute;
    p.carry += r.ms.carry;
    p.wait += Math.max(0, r.ms.start - posted);
    p.back += Math.max(0, replied - r.ms.end);
    return r;
  }

  /** @internal Tests only: makes worker `w` throw an uncaught exception or exit. */
  _crashForTests(w: number, how: 'throw' | 'exit'): void {
    this.#slots[w].endpoint?.post({ crash: how } satisfies Crash);
  }

  /** @internal Tests only: keeps worker `w` busy for `ms` before its next job, as a slow core would. */
  _stallForTests(w: number, ms: number): void {
    this.#slots[w].endpoint?.post({ stall: ms } satisfies Stall);
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
