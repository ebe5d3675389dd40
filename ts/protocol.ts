// The messages between the pool (ts/pool.ts) and its workers (ts/worker.ts). Types only: both
// sides import this file, neither imports the other.
import type { Backend, OpName } from './types.js';

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

