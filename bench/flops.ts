// The flop count behind every GFLOP/s figure of the benchmark (bench/run.ts, bench/matrix.ts).
import type { OpName } from '../dist/index.mjs';

/**
 * Flops per token and head of the recurrence at dk = dv = d (a multiply-add = 2; decay and
 * normalisation not counted): every state matrix is updated (rank 1) and read once, 4·(its
 * size) flops. Chunk forms, the TS baseline, tfjs and decode are reported on this same count,
 * so their GFLOP/s compare as throughput, not as work done; `peak_fraction` divides it by the
 * multiply-add peak of the row's flavour (hla-core `peak.rs`).
 */
export function flopsPerToken(op: OpName, d: number): number {
  const m = d * d; // one dk×dk or dk×dv matrix
  return { la1: 4 * m, hla2: 8 * m, ahla: 8 * m, hla3: 12 * m }[op];
}

/** GFLOP/s of `tokPerSec` tokens per second over `heads` heads. */
export function gflops(op: OpName, d: number, heads: number, tokPerSec: number): number {
  return (tokPerSec * heads * flopsPerToken(op, d)) / 1e9;
}
