// A pool worker: its own wasm instance of the pool's backend; runs one operator call on a
// range of query-key heads (already gathered by the main thread), or one step of the split of
// a long sequence (ts/sequence.ts: a segment's summary, or its forward from a folded carry),
// and posts the result back.
import { init } from './index.js';
import { loadGlue, type Glue } from './loader.js';
import { HlaState, stateData } from './state.js';
import { OP_CODES, type Backend, type OpName } from './types.js';
import type { Crash, Job, Reply, Scalars, SettleJob, Start, Started, SummaryJob } from './protocol.js';
import type { Hla } from './hla.js';

interface Port {
  postMessage(msg: unknown, transfer?: Transferable[]): void;
}

let hla: Promise<Hla> | null = null;
let backend: Backend = 'scalar';
type Scan = InstanceType<Glue['SegmentScan']>;

export function handle(port: Port, msg: Start | Crash | Job | SummaryJob | SettleJob): void {
  if ('backend' in msg) {
    backend = msg.backend;
    hla = init({ backend: msg.backend });
    hla.then(
      () => port.postMessage({ started: true } satisfies Started),
      (e: Error) => port.postMessage({ started: e?.message ?? String(e) } satisfies Started),
    );
    return;
  }
  if ('crash' in msg) {
    // Node only: a browser worker that closes itself sends no event to its host.
    if (msg.crash === 'exit' && typeof process !== 'undefined') process.exit(3);
    throw new Error('hla-wasm: deliberate worker crash (test of the pool\'s fault handling)');
  }
  const transfer = (r: Reply): Transferable[] =>
    'o' in r ? [r.o.buffer, ...(r.state ? [r.state.buffer] : [])] : 'summary' in r ? [r.summary.buffer] : [];
  const kind = 'kind' in msg ? msg.kind : 'forward';
  void (kind === 'summary' ? summarise(msg as SummaryJob) : kind === 'settle' ? settle(msg as SettleJob) : run(msg as Job)).then(
    (r) => port.postMessage(r, transfer(r)),
    (e: Error) => port.postMessage({ id: msg.id, error: e.message, name: e.name }),
  );
}

/**
 * Runs `f` with a segment scan of `op` and the call's options (same wasm instance as this
 * worker's facade), freed afterwards; a trap (a bug) becomes a readable Error.
 */
async function withScan<T>(op: OpName, s: Scalars, f: (scan: Scan, glue: Glue) => T): Promise<T> {
  await hla;
  const { glue } = await loadGlue(backend);
  const scan = new glue.SegmentScan(OP_CODES[op], s.scale, s.decay, s.normalize, s.eps, s.ridge);
  try {
    return f(scan, glue);
  } catch (e) {
    if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    let why = '';
    try {
      why = glue.last_panic().replace(/\s+/g, ' ');
    } catch {
      /* best effort */
    }
    throw new Error(`hla-wasm internal error in the ${backend} segment kernel: ${why || e.message}. This is a bug; please report it.`);
  } finally {
    try {
      scan.free();
    } catch {
      /* after a trap the instance may refuse; the pool reports the first error */
    }
  }
}

function dimsOf(qShape: number[], vShape: number[]): Uint32Array {
  return new Uint32Array([qShape[0], qShape[1], qShape[2], vShape[2], qShape[3], vShape[3]]);
}

async function summarise(job: SummaryJob): Promise<Reply> {
  const summary = await withScan(job.op, job.scalars, (scan) =>
    scan.summary(job.chunkSize, dimsOf(job.qShape, job.vShape), job.q, job.k, job.v),
  );
  return { id: job.id, summary };
}

async function settle(job: SettleJob): Promise<Reply> {
  await withScan(job.op, job.scalars, (scan) =>
    scan.settle_values(dimsOf(job.qShape, job.vShape), job.q, job.o, job.carry, job.state),
  );
  return { id: job.id, o: job.o, state: job.state };
}

async function run(job: Job): Promise<Reply> {
  const h = await hla!;
  const [, , H, dk] = job.qShape;
  const [, , HV, dv] = job.vShape;
  let state = job.state;
  if (job.keysBefore) {
    const s = job.scalars!, kb = job.keysBefore;
    state = await withScan(job.op, s, (scan, glue) => {
      const carry = state ?? new Float32Array(glue.state_len(OP_CODES[job.op], 1, H, HV, dk, dv, s.ridge !== 0));
      const dims = new Uint32Array([1, kb.t, H, HV, dk, dv]);
      scan.defer_values(dims, carry);
      scan.combine(dims, carry, scan.key_summary(kb.chunkSize, dims, kb.k));
      return carry;
    });
  }
  if (job.summaries?.length) {
    const s = job.scalars!;
    state = await withScan(job.op, s, (scan, glue) => {
      const carry = state ?? new Float32Array(glue.state_len(OP_CODES[job.op], 1, H, HV, dk, dv, s.ridge !== 0));
      const dims = dimsOf(job.qShape, job.vShape);
      for (const sum of job.summaries!) scan.combine(dims, carry, sum);
      return carry;
    });
  }
  const initialState = state
    ? new HlaState(job.op, job.sequences, H, HV, dk, dv, (job.options.ridge ?? 0) !== 0, state)
    : undefined;
  const r = h[job.op]({ data: job.q, shape: job.qShape }, { data: job.k, shape: job.qShape }, { data: job.v, shape: job.vShape }, { ...job.options, initialState, outputFinalState: true });
  return { id: job.id, o: r.o.data, state: r.finalState ? stateData(r.finalState) : null };
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
