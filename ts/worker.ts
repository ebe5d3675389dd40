// A pool worker: its own wasm instance of the pool's flavour, driven directly through the binding
// (Engine, SegmentScan): the pool has validated the call already. A job names windows of the
// call's tensors (ts/protocol.ts `Slab`); the worker reads them in place where they are
// contiguous, gathers them otherwise, and writes its outputs back into the shared output (or
// returns them, with the copying transport).
import { loadGlue, type Glue } from './loader.js';
import type { Crash, Dims, ForwardJob, Job, Reply, Scalars, SettleJob, Slab, Start, Started, SummaryJob } from './protocol.js';
import { OP_CODES, type Backend, type OpName } from './types.js';

interface Port {
  postMessage(msg: unknown, transfer?: Transferable[]): void;
}

type Engine = InstanceType<Glue['Engine']>;
type Scan = InstanceType<Glue['SegmentScan']>;

let ready: Promise<Glue> | null = null;
let backend: Backend = 'scalar';
let engine: Engine | null = null;

export function handle(port: Port, msg: Start | Crash | Job): void {
  if ('backend' in msg) {
    backend = msg.backend;
    ready = loadGlue(msg.backend).then(({ glue }) => glue);
    ready.then(
      () => port.postMessage({ started: true } satisfies Started),
      (e: Error) => port.postMessage({ started: e?.message ?? String(e) } satisfies Started),
    );
    return;
  }
  if ('crash' in msg) {
    // Node only: a browser worker that closes itself sends no event to its host.
    if (msg.crash === 'exit' && typeof process !== 'undefined') process.exit(3);
    throw new Error("hla-wasm: deliberate worker crash (test of the pool's fault handling)");
  }
  void ready!.then((glue) => run(glue, msg)).then(
    (r) => port.postMessage(r, transferOf(r)),
    (e: Error) => port.postMessage({ id: msg.id, error: e.message, name: e.name } satisfies Reply),
  );
}

function transferOf(r: Reply): Transferable[] {
  if ('summary' in r) return [r.summary.buffer];
  if (!('o' in r)) return [];
  const out: Transferable[] = [];
  for (const x of [r.o, r.state]) if (x && x.buffer instanceof ArrayBuffer) out.push(x.buffer);
  return out;
}

/** Runs a job; a trap (a bug) becomes a readable Error and the engine is replaced. */
function run(glue: Glue, job: Job): Reply {
  try {
    return job.kind === 'summary' ? summarise(glue, job) : job.kind === 'settle' ? settle(glue, job) : forward(glue, job);
  } catch (e) {
    if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    engine = null;
    let why = '';
    try {
      why = glue.last_panic().replace(/\s+/g, ' ');
    } catch {
      /* best effort */
    }
    throw new Error(`hla-wasm internal error in the ${backend} kernel (pool worker): ${why || e.message}. This is a bug; please report it.`);
  }
}

/** The window as one contiguous `[r1 − r0, h1 − h0, d]` array: a view where it is one, else a copy. */
function read(s: Slab): Float32Array {
  const { data, heads, d, r0, r1, h0, h1 } = s;
  if (h0 === 0 && h1 === heads) return data.subarray(r0 * heads * d, r1 * heads * d);
  const w = (h1 - h0) * d;
  const out = new Float32Array((r1 - r0) * w);
  for (let r = r0; r < r1; r++) out.set(data.subarray((r * heads + h0) * d, (r * heads + h1) * d), (r - r0) * w);
  return out;
}

/** Writes `x` (from {@link read} of the same window) back into the window, unless it is a view of it. */
function write(s: Slab, x: Float32Array): void {
  const { data, heads, d, r0, r1, h0, h1 } = s;
  if (x.buffer === data.buffer) return;
  const w = (h1 - h0) * d;
  for (let r = r0; r < r1; r++) data.set(x.subarray((r - r0) * w, (r - r0 + 1) * w), (r * heads + h0) * d);
}

/** A segment scan of `op` with these options, freed after `f`. */
function withScan<T>(glue: Glue, op: OpName, s: Scalars, f: (scan: Scan) => T): T {
  const scan = new glue.SegmentScan(OP_CODES[op], s.scale, s.decay, s.normalize, s.eps, s.ridge);
  try {
    return f(scan);
  } finally {
    try {
      scan.free();
    } catch {
      /* after a trap the instance may refuse; the first error is reported */
    }
  }
}

const u32 = (d: Dims) => new Uint32Array(d);

function forward(glue: Glue, job: ForwardJob): Reply {
  const t0 = performance.now();
  const [b, t, h, hv, dk, dv] = job.dims;
  const s = job.scalars;
  const q = read(job.q), k = read(job.k), v = read(job.v);
  const o = job.o ? read(job.o) : new Float32Array(b * t * hv * dv);
  const sequences = job.cuSeqlens.length ? job.cuSeqlens.length - 1 : b;
  let io = performance.now() - t0;
  const t1 = performance.now();
  let state = job.state ?? new Float32Array(glue.state_len(OP_CODES[job.op], sequences, h, hv, dk, dv, s.ridge !== 0));
  if (job.keysBefore || job.summaries?.length) {
    withScan(glue, job.op, s, (scan) => {
      if (job.keysBefore) {
        const kb = job.keysBefore;
        const dims = u32([1, kb.k.r1 - kb.k.r0, h, hv, dk, dv]);
        scan.defer_values(dims, state);
        scan.combine(dims, state, scan.key_summary(kb.chunkSize, dims, read(kb.k)));
      }
      for (const sum of job.summaries ?? []) scan.combine(u32(job.dims), state, sum);
    });
  }
  engine ??= new glue.Engine();
  engine.forward(OP_CODES[job.op], job.chunkSize, u32(job.dims), s.scale, s.decay, s.normalize, s.eps, s.ridge, q, k, v, o, state, job.cuSeqlens);
  const compute = performance.now() - t1;
  const t2 = performance.now();
  if (job.o) write(job.o, o);
  io += performance.now() - t2;
  return { id: job.id, o: job.o ? null : o, state: job.wantState ? state : null, ms: { io, compute } };
}

function summarise(glue: Glue, job: SummaryJob): Reply {
  const t0 = performance.now();
  const q = read(job.q), k = read(job.k), v = read(job.v);
  const t1 = performance.now();
  const summary = withScan(glue, job.op, job.scalars, (scan) => scan.summary(job.chunkSize, u32(job.dims), q, k, v));
  return { id: job.id, summary, ms: { io: t1 - t0, compute: performance.now() - t1 } };
}

function settle(glue: Glue, job: SettleJob): Reply {
  const t0 = performance.now();
  const q = read(job.q), o = read(job.o);
  const t1 = performance.now();
  withScan(glue, job.op, job.scalars, (scan) => scan.settle_values(u32(job.dims), q, o, job.carry, job.state));
  const t2 = performance.now();
  write(job.o, o);
  // The copying transport sent a compact copy: send it back.
  const shared = typeof SharedArrayBuffer === 'function' && job.o.data.buffer instanceof SharedArrayBuffer;
  return { id: job.id, o: shared ? null : o, state: job.state, ms: { io: t1 - t0 + performance.now() - t2, compute: t2 - t1 } };
}

// Entry point: Node worker_threads or a browser module Worker.
declare const __HLA_NODE__: boolean;
declare const WorkerGlobalScope: { new (): object; prototype: object } | undefined;
if (__HLA_NODE__ && typeof process !== 'undefined' && process.versions?.node) {
  const { parentPort } = await import('node:worker_threads');
  if (parentPort) parentPort.on('message', (m) => handle(parentPort as unknown as Port, m));
} else if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
  const scope = self as unknown as Port & { onmessage: ((e: MessageEvent) => void) | null };
  scope.onmessage = (e) => handle(scope, e.data);
}
