// A pool worker: its own wasm instance of the pool's flavour, driven directly through the binding
// (Engine, SegmentScan): the pool has validated the call already. A job names windows of the
// call's tensors (ts/protocol.ts `Slab`); a forward copies them once into the engine's buffers
// in wasm memory and its outputs once back into the shared output (or into an array it
// returns, with the copying transport); the split along T's own jobs read contiguous windows
// in place and gather the others.
import { withSpec, type ConfigSpec } from './config.js';
import { loadGlue, type Glue } from './loader.js';
import type { Crash, Dims, ForwardJob, Job, Reply, SettleJob, Slab, Stall, Start, Started, SummaryJob } from './protocol.js';
import type { Runtime } from './runtime.js';
import { trapReason } from './trap.js';
import type { Backend } from './types.js';

interface Port {
  postMessage(msg: unknown, transfer?: Transferable[]): void;
}

type Engine = InstanceType<Glue['Engine']>;
type Scan = InstanceType<Glue['SegmentScan']>;

let ready: Promise<Runtime> | null = null;
let backend: Backend = 'scalar';
let engine: Engine | null = null;

export function handle(port: Port, msg: Start | Crash | Stall | Job): void {
  if ('backend' in msg) {
    backend = msg.backend;
    ready = loadGlue(msg.backend);
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
  if ('stall' in msg) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, msg.stall);
    return;
  }
  void ready!.then((rt) => run(rt, msg)).then(
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

/**
 * Runs a job; a trap (a bug, or wasm memory exhausted) becomes a readable Error, and the
 * instance is replaced (ts/runtime.ts) with a fresh engine.
 */
function run(rt: Runtime, job: Job): Reply {
  const glue = rt.glue;
  try {
    return job.kind === 'summary' ? summarise(glue, job) : job.kind === 'settle' ? settle(glue, job) : forward(rt, job);
  } catch (e) {
    const why = trapReason(glue, e, rt.memory);
    if (why === null) throw e;
    engine = null;
    rt.reset();
    throw new Error(`hla-wasm internal error in the ${backend} kernel (pool worker): ${why}. This is a bug; please report it. The worker's instance was reset.`);
  }
}

/**
 * Scratch arrays for gathered windows, kept between jobs: a fresh multi-MB array per job costs
 * page faults and garbage collection on every call.
 */
const scratch: Float32Array[] = [];

function scratchOf(slot: number, n: number): Float32Array {
  if (!(scratch[slot]?.length >= n)) scratch[slot] = new Float32Array(Math.max(n, Math.ceil((scratch[slot]?.length ?? 0) * 1.25)));
  return scratch[slot].subarray(0, n);
}

const NONE = new Float32Array(0);

/**
 * The window as one contiguous `[r1 − r0, h1 − h0, d]` array: a view where it is one, else a
 * gathered copy in scratch `slot`; empty for an absent input (null).
 */
function read(s: Slab | null, slot: number): Float32Array {
  if (s === null) return NONE;
  const { data, heads, d, r0, r1, h0, h1 } = s;
  if (h0 === 0 && h1 === heads) return data.subarray(r0 * heads * d, r1 * heads * d);
  const out = scratchOf(slot, windowLen(s));
  copyIn(s, out);
  return out;
}

/** Writes `x` (from {@link read} of the same window) back into the window, unless it is a view of it. */
function write(s: Slab, x: Float32Array): void {
  if (x.buffer !== s.data.buffer) copyOut(x, s);
}

/** Wall-clock ms comparable across threads (each worker has its own `performance.timeOrigin`). */
const now = () => performance.timeOrigin + performance.now();

/** The call dims of a job (`[b, t, h, hv, dk, dv]`) as the binding's config takes them. */
const callDims = (d: Dims) => ({ B: d[0], T: d[1], H: d[2], HV: d[3], dk: d[4], dv: d[5] });

/** A segment scan with this config and the job's heads, freed after `f`. */
function withScan<T>(glue: Glue, spec: ConfigSpec, dims: Dims, f: (scan: Scan) => T): T {
  const scan = withSpec(glue, spec, callDims(dims), (config) => new glue.SegmentScan(config));
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

/** Rows read ahead of the copy in {@link copyIn}. */
const AHEAD = 16;
/** Where the loads of the read-ahead go, so that they are not dropped as unused. */
let sink = 0;

/**
 * Copies window `s` into `dst` (its compact `[r1 − r0, h1 − h0, d]` form, in wasm memory): one
 * `set` where the window is contiguous, else one per row. A `subarray` per row is an allocation,
 * but `set` copies with memcpy (0.46 ms for 2048 rows of 8 heads of 64 floats, against 1.2–1.8
 * ms for an element loop). A row of few heads is a short read every `heads · d` floats: a new
 * page each time, so the copy waits on one cache miss after another; loading each cache line
 * of row r + 16 while row r is copied keeps 16 rows of misses in flight (one head of 16, 2048
 * rows, from memory: 1.3 ms against 2.4 ms on the dev VM's AMD EPYC).
 */
function copyIn(s: Slab, dst: Float32Array): void {
  const { data, heads, d, r0, r1, h0, h1 } = s;
  if (h0 === 0 && h1 === heads) return dst.set(data.subarray(r0 * heads * d, r1 * heads * d));
  const w = (h1 - h0) * d, stride = heads * d, lines = Math.min(w, 64);
  let acc = 0;
  for (let r = r0; r < Math.min(r1, r0 + AHEAD); r++) for (let j = 0, a = r * stride + h0 * d; j < lines; j += 16) acc += data[a + j];
  for (let r = r0, at = 0; r < r1; r++, at += w) {
    if (r + AHEAD < r1) for (let j = 0, a = (r + AHEAD) * stride + h0 * d; j < lines; j += 16) acc += data[a + j];
    dst.set(data.subarray((r * heads + h0) * d, (r * heads + h1) * d), at);
  }
  sink += acc;
}

/** Copies `src` (compact, from wasm memory) into window `s`: the converse of {@link copyIn}. */
function copyOut(src: Float32Array, s: Slab): void {
  const { data, heads, d, r0, r1, h0, h1 } = s;
  if (h0 === 0 && h1 === heads) return data.set(src, r0 * heads * d);
  const w = (h1 - h0) * d;
  for (let r = r0, at = 0; r < r1; r++, at += w) data.set(src.subarray(at, at + w), (r * heads + h0) * d);
}

const windowLen = (s: Slab | null) => (s === null ? 0 : (s.r1 - s.r0) * (s.h1 - s.h0) * s.d);

/**
 * The forward job: each input window is copied once, straight from the call's tensors into the
 * engine's input buffers in this instance's memory, and the output once, straight from the
 * engine's output buffer into the shared output (or into the array sent back, with the copying
 * transport).
 */
function forward(rt: Runtime, job: ForwardJob): Reply {
  if (job.claim && Atomics.compareExchange(job.claim, job.task!, 0, 1) !== 0) return { id: job.id, skipped: true };
  const glue = rt.glue;
  const start = now();
  const [b, t, , hv, , dv] = job.dims;
  const sequences = job.cuSeqlens.length ? job.cuSeqlens.length - 1 : b;
  const state = job.state ?? withSpec(glue, job.spec, callDims(job.dims), (config) => new Float32Array(config.stateLen(sequences)));
  if (job.deferValues || job.summaries?.length) {
    withScan(glue, job.spec, job.dims, (scan) => {
      if (job.deferValues) scan.deferValues(state);
      for (const sum of job.summaries ?? []) scan.combine(state, sum);
    });
  }
  const t1 = now();
  engine ??= rt.track(new glue.Engine());
  const e = engine;
  // Size every buffer first: sizing one may grow the memory (and detach earlier views).
  const lens = job.inputs.map(windowLen);
  const ptrs = lens.map((n, i) => e.inputBuffer(i, n));
  const n = b * t * hv * dv;
  const outPtr = e.outputBuffer(n);
  const buf = rt.memory.buffer;
  job.inputs.forEach((x, i) => x && copyIn(x, new Float32Array(buf, ptrs[i], lens[i])));
  const t2 = now();
  withSpec(glue, job.spec, callDims(job.dims), (config) => e.forwardBuffers(config, job.chunkSize, job.inputs.length, state, job.cuSeqlens));
  const t3 = now();
  // Taken after the forward, which may have grown the memory.
  const out = new Float32Array(rt.memory.buffer, outPtr, n);
  let o: Float32Array | null = null;
  if (job.faulted) Atomics.wait(job.faulted, job.faultedAt ?? 0, 0);
  const t4 = now();
  if (job.o) copyOut(out, job.o);
  else o = out.slice();
  const end = now();
  const ms = { touch: t4 - t3, copyIn: t2 - t1, copyOut: end - t4 };
  return { id: job.id, o, state: job.wantState ? state : null, ms: { io: ms.touch + ms.copyIn + ms.copyOut, compute: t3 - t2, carry: t1 - start, start, end, ...ms } };
}

function summarise(glue: Glue, job: SummaryJob): Reply {
  const start = now();
  const inputs = job.keysOnly ? [] : job.inputs.map((x, i) => read(x, 1 + i));
  const k = job.keysOnly ? read(job.inputs[1], 2) : inputs[1];
  const t1 = now();
  const t = job.dims[1];
  const summary = withScan(glue, job.spec, job.dims, (scan) => {
    if (job.keysOnly) return scan.keySummary(t, job.chunkSize, k);
    inputs.forEach((x, i) => scan.setInput(i, x));
    return scan.summary(t, job.chunkSize);
  });
  const end = now();
  return { id: job.id, summary, ms: { io: t1 - start, compute: 0, carry: end - t1, start, end } };
}

function settle(glue: Glue, job: SettleJob): Reply {
  const start = now();
  const q = read(job.q, 1), o = read(job.o, 0);
  const t1 = now();
  withScan(glue, job.spec, job.dims, (scan) => scan.settleValues(job.dims[1], q, o, job.carry, job.state));
  const t2 = now();
  write(job.o, o);
  // The copying transport sent a compact copy: send it back.
  const shared = typeof SharedArrayBuffer === 'function' && job.o.data.buffer instanceof SharedArrayBuffer;
  const end = now();
  return { id: job.id, o: shared ? null : o, state: job.state, ms: { io: t1 - start + end - t2, compute: 0, carry: t2 - t1, start, end } };
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
