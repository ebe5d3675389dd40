// The worker pool behind `init({ threads })`: n workers, each with its own wasm instance of the
// same backend. A call is split over query-key heads (with their value heads): every worker
// gets a compact copy of its heads, and the results are scattered back. Copies, not shared
// memory, so it works in any browser without cross-origin isolation.
import { gatherHeads, scatterHeads, splitHeads } from './heads.js';
import type { Backend, OpName } from './types.js';
import type { Checked } from './validate.js';
import type { Job, Reply } from './worker.js';

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

  #send(w: PoolWorker, job: Omit<Job, 'id'>): Promise<Reply> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, { resolve, worker: w });
      w.busy(true);
      const transfer = [job.q.buffer, job.k.buffer, job.v.buffer, ...(job.state ? [job.state.buffer] : [])];
      w.post({ ...job, id }, transfer);
    });
  }

  /** One checked call split over the workers by query-key heads; same results as one thread. */
  async forward(op: OpName, c: Checked, q: Float32Array, k: Float32Array, v: Float32Array): Promise<{ o: Float32Array; state: Float32Array | null }> {
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
      if ('error' in r) {
        const E = r.name === 'RangeError' ? RangeError : r.name === 'TypeError' ? TypeError : Error;
        throw new E(r.error);
      }
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

  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }
}

