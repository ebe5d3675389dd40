// A pool worker: its own wasm instance of the pool's backend; runs one operator call on a
// range of query-key heads (already gathered by the main thread), or one step of the split of
// a long sequence (ts/sequence.ts: a segment's summary, or its forward from a folded carry),
// and posts the result back.
import { init } from './index.js';
import { withConfig } from './config.js';
import { loadGlue, type Glue } from './loader.js';
import { HlaState, stateData } from './state.js';
import { trapReason } from './trap.js';
import type { Backend, OpName } from './types.js';
import type { Hla } from './hla.js';

export interface Job {
  id: number;
  op: OpName;
  q: Float32Array; k: Float32Array; v: Float32Array;
  qShape: number[]; vShape: number[];
  options: Record<string, unknown>;
  /** Initial state of these heads, `[sequences, heads, group]`, or null. */
  state: Float32Array | null;
  sequences: number;
  /**
   * Sequence split: segment summaries to fold into the initial state (in order) before the
   * forward, `carry = state ⊕ summaries[0] ⊕ …`. One sequence only.
   */
  summaries?: Float32Array[];
  /** Sequence split: the operator's resolved scalars, for the summaries and the fold. */
  scalars?: Scalars;
  /**
   * Deferred split (hla2 without normalize): the keys `[1, t, H, dk]` of every token before
   * this segment. The carry becomes `state` with zero value moments ⊕ their key summary.
   */
  keysBefore?: { k: Float32Array; t: number; chunkSize: number };
}

/** Deferred split: settles a segment's outputs and end state with its true carry. */
export interface SettleJob {
  id: number;
  kind: 'settle';
  op: OpName;
  q: Float32Array; o: Float32Array;
  qShape: number[]; vShape: number[];
  carry: Float32Array; state: Float32Array;
  scalars: Scalars;
}

/** The checked options the segment calls take as they are (ts/validate.ts `Checked`). */
export interface Scalars {
  scale: number; decay: Float32Array; normalize: boolean; eps: number; ridge: number;
}

/** Sequence split: the summary of one segment (`[1, t, H, dk]`, all heads) from a zero state. */
export interface SummaryJob {
  id: number;
  kind: 'summary';
  op: OpName;
  q: Float32Array; k: Float32Array; v: Float32Array;
  qShape: number[]; vShape: number[];
  scalars: Scalars;
  chunkSize: number;
}

export type Reply =
  | { id: number; o: Float32Array; state: Float32Array | null }
  | { id: number; summary: Float32Array }
  | { id: number; error: string; name: string };

interface Port {
  postMessage(msg: unknown, transfer?: Transferable[]): void;
}

let hla: Promise<Hla> | null = null;
let backend: Backend = 'scalar';
type Scan = InstanceType<Glue['SegmentScan']>;

export function handle(port: Port, msg: { backend: Backend } | Job | SummaryJob | SettleJob): void {
  if ('backend' in msg) {
    backend = msg.backend;
    hla = init({ backend: msg.backend });
    return;
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
 * Runs `f` with a segment scan of `op` with the call's options and the heads of `qShape`,
 * `vShape` (same wasm instance as this worker's facade), freed afterwards; a trap (a bug)
 * becomes a readable Error.
 */
async function withScan<T>(op: OpName, s: Scalars, qShape: number[], vShape: number[], f: (scan: Scan) => T): Promise<T> {
  await hla;
  const { glue } = await loadGlue(backend);
  const dims = { B: 1, T: qShape[1], H: qShape[2], HV: vShape[2], dk: qShape[3], dv: vShape[3] };
  const scan = withConfig(glue, op, dims, s, (config) => new glue.SegmentScan(config));
  try {
    return f(scan);
  } catch (e) {
    const why = trapReason(glue, e);
    if (why === null) throw e;
    throw new Error(`hla-wasm internal error in the ${backend} segment kernel: ${why}. This is a bug; please report it.`);
  } finally {
    try {
      scan.free();
    } catch {
      /* after a trap the instance may refuse; the pool reports the first error */
    }
  }
}

async function summarise(job: SummaryJob): Promise<Reply> {
  const summary = await withScan(job.op, job.scalars, job.qShape, job.vShape, (scan) => {
    [job.q, job.k, job.v].forEach((x, i) => scan.setInput(i, x));
    return scan.summary(job.qShape[1], job.chunkSize);
  });
  return { id: job.id, summary };
}

async function settle(job: SettleJob): Promise<Reply> {
  await withScan(job.op, job.scalars, job.qShape, job.vShape, (scan) =>
    scan.settleValues(job.qShape[1], job.q, job.o, job.carry, job.state),
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
    state = await withScan(job.op, s, job.qShape, job.vShape, (scan) => {
      const carry = state ?? new Float32Array(scan.stateLen());
      scan.deferValues(carry);
      scan.combine(carry, scan.keySummary(kb.t, kb.chunkSize, kb.k));
      return carry;
    });
  }
  if (job.summaries?.length) {
    const s = job.scalars!;
    state = await withScan(job.op, s, job.qShape, job.vShape, (scan) => {
      const carry = state ?? new Float32Array(scan.stateLen());
      for (const sum of job.summaries!) scan.combine(carry, sum);
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
