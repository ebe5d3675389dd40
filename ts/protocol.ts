// The messages between the pool (ts/pool.ts, ts/plan.ts) and its workers (ts/worker.ts). Types
// only: both sides import this file, neither imports the other.
import type { ConfigSpec } from './config-spec.js';
import type { Backend } from './types.js';

/** The first message to a worker: load this flavour. */
export interface Start {
  backend: Backend;
}

/** The worker's answer to {@link Start}: true, or why its wasm instance did not load. */
export interface Started {
  started: true | string;
}

/** Tests only: make the worker throw an uncaught exception or exit, as a crash would. */
export interface Crash {
  crash: 'throw' | 'exit';
}

/** Tests only: keep the worker busy for `stall` ms, as a slow core would. */
export interface Stall {
  stall: number;
}

/**
 * A window of a `[rows, heads, d]` array: rows `[r0, r1)`, heads `[h0, h1)`. With the shared
 * transport `data` is the whole tensor in a SharedArrayBuffer, read (and written) in place;
 * with the copying one it is the window's own compact copy (then r0 = h0 = 0).
 */
export interface Slab {
  data: Float32Array;
  heads: number;
  d: number;
  r0: number; r1: number;
  h0: number; h1: number;
}

/** The shape of one call on the binding: `[b, t, h, hv, dk, dv]`. */
export type Dims = [number, number, number, number, number, number];

/**
 * One forward call on the worker's own engine: the operator's per-token inputs from `inputs`
 * (in `setInput` order; null = an absent optional one), outputs into `o` (shared: written in
 * place and not sent back) or returned (`o` null).
 */
export interface ForwardJob {
  id: number;
  kind: 'forward';
  /** The config (per-head options already cut to the job's heads, ts/config.ts `specOfHeads`). */
  spec: ConfigSpec;
  dims: Dims;
  /** 0 = recurrent. */
  chunkSize: number;
  /** Rebased to the job's rows; empty = none. */
  cuSeqlens: Int32Array;
  inputs: (Slab | null)[];
  o: Slab | null;
  /** Initial state `[sequences, h, group]` of the job's heads, or null (zeros). */
  state: Float32Array | null;
  /** Send the final state back. */
  wantState: boolean;
  /**
   * Shared transport, a sequence split into many tasks by heads: each writes some heads of
   * every row, so the fresh output's pages there would be faulted in by all of them at once,
   * and page faults on one range do not run in parallel (they cost as much as the forward at
   * 16 workers). The calling thread faults those rows in while the workers copy and compute,
   * then stores 1 at `faulted[faultedAt]`; the worker waits for it before writing its output.
   */
  faulted?: Int32Array;
  faultedAt?: number;
  /**
   * Work stealing (shared transport, by groups): a task may be posted to a second worker while
   * it still waits in the first one's queue; whichever starts it first stores 1 at
   * `claim[task]` and runs it, the other replies {@link Skipped}.
   */
  claim?: Int32Array;
  task?: number;
  /**
   * Along T (ts/sequence.ts): segment summaries to fold into the initial state, in order,
   * before the forward (`carry = state ⊕ summaries[0] ⊕ …`).
   */
  summaries?: Float32Array[];
  /**
   * Along T, deferred (hla2 without normalize): zero the value moments of `state` first; then
   * `summaries` are key summaries (ρ and S only).
   */
  deferValues?: boolean;
}

/**
 * Along T (HLA family, gla, deltaRule): the summary of one segment from a zero state (state
 * only), or of its keys alone (then only `inputs[1]`, k, is read).
 */
export interface SummaryJob {
  id: number;
  kind: 'summary';
  keysOnly?: boolean;
  spec: ConfigSpec;
  dims: Dims;
  chunkSize: number;
  inputs: (Slab | null)[];
}

/**
 * Along T, deferred: settles a segment's outputs (`o`, in place or sent; an empty window:
 * state only) and end state with its true carry.
 */
export interface SettleJob {
  id: number;
  kind: 'settle';
  spec: ConfigSpec;
  dims: Dims;
  q: Slab;
  o: Slab;
  carry: Float32Array;
  state: Float32Array;
}

export type Job = ForwardJob | SummaryJob | SettleJob;

/**
 * Where a job's time went in the worker, in ms: copying windows in and out (`io`), the forward
 * (`compute`), the split along T's own work (`carry`: summaries, folds, settling), and when it
 * ran (`start`, `end`: `performance.timeOrigin + performance.now()`, comparable across
 * threads). A forward also splits `io` into its parts.
 */
export interface Timing {
  io: number;
  compute: number;
  carry: number;
  start: number;
  end: number;
  /** Waiting for the calling thread to fault in a fresh shared output (ForwardJob `faulted`). */
  touch?: number;
  /** Sizing the engine's input buffers and copying each input window into them. */
  copyIn?: number;
  /** Copying the output from the engine's buffer into the output window (or a new array). */
  copyOut?: number;
}

/** The reply to a forward job whose task another worker had started (ForwardJob `claim`). */
export interface Skipped {
  id: number;
  skipped: true;
}

export type Reply =
  | { id: number; o: Float32Array | null; state: Float32Array | null; ms: Timing }
  | Skipped
  | { id: number; summary: Float32Array; ms: Timing }
  | { id: number; error: string; name: string };
