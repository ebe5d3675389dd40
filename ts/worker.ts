// A pool worker: its own wasm instance of the pool's backend; runs one operator call on a
// range of query-key heads (already gathered by the main thread) and posts the result back.
import { init } from './index.js';
import { HlaState, stateData } from './state.js';
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
}

export type Reply = { id: number; o: Float32Array; state: Float32Array | null } | { id: number; error: string; name: string };

interface Port {
  postMessage(msg: unknown, transfer?: Transferable[]): void;
}

let hla: Promise<Hla> | null = null;

export function handle(port: Port, msg: { backend: Backend } | Job): void {
  if ('backend' in msg) {
    hla = init({ backend: msg.backend });
    return;
  }
  void run(msg).then(
    (r) => port.postMessage(r, 'o' in r ? [r.o.buffer, ...(r.state ? [r.state.buffer] : [])] : []),
    (e: Error) => port.postMessage({ id: msg.id, error: e.message, name: e.name }),
  );
}

async function run(job: Job): Promise<Reply> {
  const h = await hla!;
  const [, , H, dk] = job.qShape;
  const [, , HV, dv] = job.vShape;
  const initialState = job.state
    ? new HlaState(job.op, job.sequences, H, HV, dk, dv, (job.options.ridge ?? 0) !== 0, job.state)
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
